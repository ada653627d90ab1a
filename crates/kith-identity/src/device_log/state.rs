//! What a device log says: its devices and their status, compromise
//! evidence, and what inserting or merging entries did.

use std::collections::{BTreeMap, BTreeSet};

use kith_wire::{DeviceId, DeviceRecord, EntryHash, RevokeReason, SignedPrekey};

use crate::error::IdentityError;

/// Whether a device may act for the account.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceStatus {
    /// Active: may send, add and revoke.
    Active,
    /// Revoked (permanently).
    Revoked {
        /// The device that revoked it.
        by: DeviceId,
        /// Why.
        reason: RevokeReason,
    },
}

/// A device of the account, as the log says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceState {
    /// Its published keys.
    pub record: DeviceRecord,
    /// Its newest signed prekey.
    pub prekey: SignedPrekey,
    /// Active or revoked.
    pub status: DeviceStatus,
    /// The device that added it (`None` for the genesis device).
    pub added_by: Option<DeviceId>,
    /// Whether its transport key proved it belongs to it
    /// (`DeviceOp::ProveTransport`); an unproven endpoint id is only a claim.
    pub transport_proven: bool,
}

/// Evidence that an account is compromised.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Compromise {
    /// Two different entries by `device` with sequence number `seq`.
    Equivocation {
        /// The equivocating device.
        device: DeviceId,
        /// The sequence number used twice.
        seq: u64,
    },
    /// A device of the account declared it compromised.
    Declared {
        /// The declaring device.
        by: DeviceId,
    },
    /// `device` presented heads in which its own newest entry is older than
    /// one already seen.
    Rollback {
        /// The device.
        device: DeviceId,
        /// Its newest sequence number in the presented heads.
        presented: u64,
        /// Its newest sequence number already known.
        known: u64,
    },
}

/// The state of the log: a pure function of its entry set.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogState {
    /// Every device ever validly added, active or revoked.
    pub devices: BTreeMap<DeviceId, DeviceState>,
    /// The account's display name.
    pub name: Option<String>,
    /// Evidence of compromise; empty for a healthy account.
    pub compromise: BTreeSet<Compromise>,
    /// The current heads (entries no other entry has as an ancestor).
    pub heads: Vec<EntryHash>,
}

impl LogState {
    /// Whether `device` is active.
    pub fn is_active(&self, device: &DeviceId) -> bool {
        self.devices
            .get(device)
            .is_some_and(|d| d.status == DeviceStatus::Active)
    }

    /// The active devices.
    pub fn active_devices(&self) -> impl Iterator<Item = &DeviceState> {
        self.devices
            .values()
            .filter(|d| d.status == DeviceStatus::Active)
    }
}

/// What inserting an entry did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Inserted {
    /// Stored; the state may have changed.
    New(EntryHash),
    /// Already held (merging is idempotent).
    Known(EntryHash),
    /// Held back until its parents arrive.
    Pending(EntryHash),
}

/// What a merge did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MergeReport {
    /// Entries stored.
    pub added: usize,
    /// Entries waiting for parents.
    pub pending: usize,
    /// Entries refused, with the reason.
    pub rejected: Vec<IdentityError>,
}
