//! How much work incoming messages may cause: the message keys derived
//! ahead of a chain (skipped keys), counted across everything decrypted
//! since the budget was last renewed. The caller renews it once per batch
//! (kith-sync: once per received frame), so a batch of forged headers that
//! each claim to be far ahead costs at most one budget, not one per
//! envelope and per session state.

use crate::error::{Result, SessionError};

/// Message keys one batch may derive ahead: enough for one message that
/// starts a new chain as far ahead as allowed (the old chain's rest, then
/// the new chain's start), tried on every session state kept for its
/// sender (2 × `ratchet::MAX_SKIP` × `record::MAX_SESSIONS_PER_DEVICE`,
/// checked in sessions.rs): a genuine message alone in a batch always fits.
pub const SKIP_BUDGET: u32 = 250_000;

/// Message keys derived ahead, and how many more may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SkipBudget {
    left: u32,
    derived: u64,
}

impl Default for SkipBudget {
    fn default() -> Self {
        Self {
            left: SKIP_BUDGET,
            derived: 0,
        }
    }
}

impl SkipBudget {
    /// Takes `keys` derivations from the budget, or none if they do not fit.
    pub(crate) fn take(&mut self, keys: u32) -> Result<()> {
        self.left = self
            .left
            .checked_sub(keys)
            .ok_or(SessionError::OverBudget)?;
        self.derived = self.derived.saturating_add(u64::from(keys));
        Ok(())
    }

    /// A full budget again; the count of derived keys goes on.
    pub(crate) fn renew(&mut self) {
        self.left = SKIP_BUDGET;
    }

    /// Keys derived ahead since this budget was made.
    pub(crate) fn derived(&self) -> u64 {
        self.derived
    }
}
