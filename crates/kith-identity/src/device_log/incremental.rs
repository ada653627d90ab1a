//! Applying one new entry to the evaluated state without evaluating the
//! whole log again, in the two cases where that gives exactly the state a
//! full evaluation would (the argument is in `docs/identity.md`, "Cost"):
//!
//! * a **sink**: the entry has every stored entry in its causal past (an
//!   entry written on top of the log, or a stored log read back in order);
//! * a **sibling** of the last sink: the same parents, another author,
//!   neither of them a revocation.
//!
//! Both need the last full evaluation to have been decided by step 1 alone
//! (no contest resolved). Anything else is evaluated in full.
//!
//! Whether the author of an entry was active as it saw the log (checked
//! before storing it) is, likewise, known without evaluating its past when
//! its past is its previous entry's past and that entry: see
//! [`DeviceLog::active_by_chain`].

use std::collections::{BTreeMap, HashMap};

use kith_wire::{DeviceId, DeviceLogEntry, DeviceOp, EntryHash, RevokeReason};

use super::{Compromise, DeviceLog, DeviceState, DeviceStatus};

/// What the incremental steps need besides the state.
#[derive(Clone, Debug, Default)]
pub(super) struct Incremental {
    /// The state reflects every stored entry.
    pub(super) fresh: bool,
    /// Step 1 alone decided every entry.
    pub(super) pure: bool,
    /// The first kept revocation of each device, in canonical order.
    pub(super) removed: BTreeMap<DeviceId, (DeviceId, RevokeReason)>,
    /// Where the kept name comes from: (depth, hash) of its entry.
    pub(super) name_key: Option<(u64, EntryHash)>,
    /// Kept entries by (author, sequence number), for equivocation.
    pub(super) kept: HashMap<(DeviceId, u64), EntryHash>,
    /// The last entry applied as a sink, and its sorted parents.
    pub(super) last_sink: Option<(usize, Vec<EntryHash>)>,
}

/// Which shortcut a new entry takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shortcut {
    Sink,
    Sibling,
}

fn is_revocation(op: &DeviceOp) -> bool {
    matches!(op, DeviceOp::RevokeDevice { .. })
}

impl DeviceLog {
    /// Whether `entry` (not yet stored; `past` entries in its causal past)
    /// may be applied on its own.
    pub(super) fn shortcut(&self, entry: &DeviceLogEntry, past: usize) -> Option<Shortcut> {
        let inc = &self.incremental;
        if !inc.fresh || !inc.pure || matches!(entry.op, DeviceOp::Genesis { .. }) {
            return None;
        }
        if past == self.nodes.len() {
            return Some(Shortcut::Sink);
        }
        let (last, parents) = inc.last_sink.as_ref()?;
        let sibling = self.nodes.get(*last)?;
        let mut mine = entry.parents.clone();
        mine.sort();
        let added_author = matches!(&sibling.entry.op,
            DeviceOp::AddDevice { device, .. } if device.device == entry.author);
        let adds_known = matches!(&entry.op,
            DeviceOp::AddDevice { device, .. } if self.state.devices.contains_key(&device.device));
        let fits = *last + 1 == self.nodes.len()
            && mine == *parents
            && sibling.entry.author != entry.author
            && !is_revocation(&sibling.entry.op)
            && !is_revocation(&entry.op)
            && !matches!(entry.op, DeviceOp::AccountCompromised)
            && !added_author
            && !adds_known;
        fits.then_some(Shortcut::Sibling)
    }

    /// Applies the stored entry `index`, which took `shortcut`.
    pub(super) fn apply_shortcut(&mut self, index: usize, shortcut: Shortcut) {
        self.work.add(1);
        let Some(node) = self.nodes.get(index) else {
            return;
        };
        let (entry, hash, depth) = (&node.entry, node.hash, node.depth);
        let author = entry.author;
        let inc = &mut self.incremental;
        let state = &mut self.state;
        match &entry.op {
            DeviceOp::RevokeDevice { device, reason, .. } => {
                let (by, reason) = *inc.removed.entry(*device).or_insert((author, *reason));
                if let Some(d) = state.devices.get_mut(device) {
                    d.status = DeviceStatus::Revoked { by, reason };
                }
            }
            DeviceOp::AddDevice { device, prekey, .. } => {
                let status = match inc.removed.get(&device.device) {
                    Some((by, reason)) => DeviceStatus::Revoked {
                        by: *by,
                        reason: *reason,
                    },
                    None => DeviceStatus::Active,
                };
                state
                    .devices
                    .entry(device.device)
                    .or_insert_with(|| DeviceState {
                        record: device.clone(),
                        prekey: prekey.clone(),
                        status,
                        added_by: Some(author),
                        transport_proven: false,
                    });
            }
            DeviceOp::RotatePrekey { prekey } => {
                if let Some(d) = state.devices.get_mut(&author) {
                    d.prekey = prekey.clone();
                }
            }
            DeviceOp::Profile { name } => {
                if inc.name_key.is_none_or(|key| key < (depth, hash)) {
                    inc.name_key = Some((depth, hash));
                    state.name = Some(name.clone());
                }
            }
            DeviceOp::AccountCompromised => {
                let declared = state
                    .compromise
                    .iter()
                    .any(|c| matches!(c, Compromise::Declared { .. }));
                if !declared {
                    state.compromise.insert(Compromise::Declared { by: author });
                }
            }
            DeviceOp::ProveTransport { .. } => {
                if let Some(d) = state.devices.get_mut(&author) {
                    d.transport_proven = true;
                }
            }
            DeviceOp::Genesis { .. } => {}
        }
        if inc.kept.insert((author, entry.seq), hash).is_some() {
            state.compromise.insert(Compromise::Equivocation {
                device: author,
                seq: entry.seq,
            });
        }
        state.heads.retain(|h| !entry.parents.contains(h));
        state.heads.push(hash);
        state.heads.sort();
        inc.last_sink = match shortcut {
            Shortcut::Sink => {
                let mut parents = entry.parents.clone();
                parents.sort();
                Some((index, parents))
            }
            Shortcut::Sibling => None,
        };
    }
}

impl DeviceLog {
    /// Whether `entry`'s author was active in the view of its causal past,
    /// `past` entries, known without evaluating it: the author's previous
    /// entry `p` is stored, so its author was active in the view of `p`'s
    /// past; if the new entry's past is exactly `p`'s past and `p` (the
    /// author learned nothing since), adding `p` changed no fate but its
    /// own: `p` is a sink there, so it strikes and introduces nothing in
    /// that set, it contests no revocation (any in its past has it outside
    /// theirs only one way), and no kept revocation of its author is in its
    /// past. Only a revocation of the author by itself makes it inactive.
    /// `false` means: evaluate the past.
    pub(super) fn active_by_chain(&self, entry: &DeviceLogEntry, past: usize) -> bool {
        let Some(p) = entry
            .prev
            .and_then(|h| self.by_hash.get(&h))
            .and_then(|&i| self.nodes.get(i))
        else {
            return false;
        };
        self.work.add(1);
        let revokes_itself = matches!(p.entry.op,
            DeviceOp::RevokeDevice { device, .. } if device == entry.author);
        p.ancestors.count() + 1 == past && !revokes_itself
    }
}
