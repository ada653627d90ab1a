//! Rollback: a device presenting heads in which its own newest entry is
//! older than one of its entries already known (a device restored from an
//! old backup, a clone, or one lying about what it wrote).

use kith_wire::{DeviceId, EntryHash};

use super::{Compromise, DeviceLog};
use crate::error::{IdentityError, Result};
use crate::strong_remove::BitSet;

impl DeviceLog {
    /// Checks heads presented by `presenter` (in an invite or a sync) against
    /// what is known: if the presenter's own newest entry among them is older
    /// than one already seen, the log was rolled back and the account is
    /// marked compromised. Heads are judged only when all of them are known:
    /// fetch unknown ones first.
    pub fn observe_heads(&mut self, presenter: &DeviceId, heads: &[EntryHash]) -> Result<()> {
        let known = self.newest_seq(presenter);
        self.observe_heads_since(presenter, heads, known)
    }

    /// [`DeviceLog::observe_heads`] against `known`, the presenter's newest
    /// sequence number known before its claim could have been made (in a
    /// sync: when the connection began; an entry it wrote later may reach
    /// this device by another path before the claim it sent earlier).
    pub fn observe_heads_since(
        &mut self,
        presenter: &DeviceId,
        heads: &[EntryHash],
        known: Option<u64>,
    ) -> Result<()> {
        if !heads.iter().all(|h| self.by_hash.contains_key(h)) {
            return Ok(());
        }
        let mut closure = BitSet::default();
        for h in heads {
            if let Some(&i) = self.by_hash.get(h) {
                closure.insert(i);
                if let Some(n) = self.nodes.get(i) {
                    closure.union_with(&n.ancestors);
                }
            }
        }
        let presented = self.last_seen(presenter, &closure);
        match known {
            Some(known) if presented.is_none_or(|p| p < known) => {
                // Evidence already held costs nothing more.
                let new = self.rollbacks.insert(Compromise::Rollback {
                    device: *presenter,
                    presented: presented.unwrap_or(0),
                    known,
                });
                if new {
                    self.evaluate();
                }
                Err(IdentityError::Rollback)
            }
            _ => Ok(()),
        }
    }

    /// The newest sequence number of `device`'s entries held.
    pub fn newest_seq(&self, device: &DeviceId) -> Option<u64> {
        let chain = self.by_author.get(device)?;
        chain
            .iter()
            .filter_map(|&i| self.nodes.get(i))
            .map(|n| n.entry.seq)
            .max()
    }
}
