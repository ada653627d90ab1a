//! Applying one new entry to the evaluated state without evaluating the
//! whole log again, in the two cases where that gives exactly the state a
//! full evaluation would (the argument is in `docs/identity.md`, "Cost"):
//!
//! * a **sink**: the entry has every stored entry in its causal past (an
//!   entry written on top of the log, or a stored log read back in order);
//! * a **concurrent** entry that is not a revocation: it strikes nothing,
//!   and no stored entry is in its future, so it changes no stored entry's
//!   fate; its own follows from the state (see [`DeviceLog::shortcut`]).
//!
//! Both need the last full evaluation to have been decided by step 1 alone
//! (no contest resolved). Anything else is evaluated in full.
//!
//! Whether the author of an entry was active as it saw the log (checked
//! before storing it) is, likewise, known without evaluating its past when
//! the author learned no revocation since its previous entry: see
//! [`DeviceLog::active_by_chain`].

use std::collections::{BTreeMap, HashMap};

use kith_wire::{DeviceId, DeviceLogEntry, DeviceOp, EntryHash, RevokeReason};

use super::{Compromise, DeviceLog, DeviceState, DeviceStatus, LogState};
use crate::strong_remove::BitSet;

/// What the incremental steps need besides the state.
#[derive(Clone, Debug, Default)]
pub(super) struct Incremental {
    /// The state reflects every stored entry.
    pub(super) fresh: bool,
    /// Step 1 alone decided every entry.
    pub(super) pure: bool,
    /// The entries strong remove keeps.
    pub(super) retained: BitSet,
    /// The first kept revocation of each device, in canonical order.
    pub(super) removed: BTreeMap<DeviceId, (DeviceId, RevokeReason)>,
    /// Where the kept name comes from: (depth, hash) of its entry.
    pub(super) name_key: Option<(u64, EntryHash)>,
    /// Kept entries by (author, sequence number), for equivocation.
    pub(super) kept: HashMap<(DeviceId, u64), EntryHash>,
}

/// Whether a kept entry declared the account compromised.
fn declared(state: &LogState) -> bool {
    state
        .compromise
        .iter()
        .any(|c| matches!(c, Compromise::Declared { .. }))
}

/// Which shortcut a new entry takes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Shortcut {
    Sink,
    /// Not a revocation, not a sink; kept or dropped.
    Concurrent {
        kept: bool,
    },
}

impl DeviceLog {
    /// Whether `entry` (not yet stored; `ancestors` its causal past) may be
    /// applied on its own.
    ///
    /// A concurrent entry that is not a revocation is in no stored entry's
    /// past, so every stored revocation of its author strikes it, and it
    /// strikes nothing: in a log that step 1 alone decided, it is kept
    /// exactly when no kept revocation of its author exists and a kept add
    /// of its author is in its past, and the other entries keep their fate.
    /// Left to a full evaluation: what canonical order would place before
    /// what is applied (an add of a known device, a second declaration of
    /// compromise, an entry of an author that equivocates).
    pub(super) fn shortcut(
        &self,
        entry: &DeviceLogEntry,
        ancestors: &BitSet,
        past: usize,
    ) -> Option<Shortcut> {
        let inc = &self.incremental;
        if !inc.fresh || !inc.pure || matches!(entry.op, DeviceOp::Genesis { .. }) {
            return None;
        }
        if past == self.nodes.len() {
            return Some(Shortcut::Sink);
        }
        let author = entry.author;
        let fits = match &entry.op {
            DeviceOp::RevokeDevice { .. } | DeviceOp::Genesis { .. } => false,
            DeviceOp::AddDevice { device, .. } => !self.state.devices.contains_key(&device.device),
            DeviceOp::AccountCompromised => !declared(&self.state),
            _ => true,
        } && !self.equivocators.contains(&author)
            && self.last_seq(&author).is_none_or(|last| entry.seq > last);
        if !fits {
            return None;
        }
        let adds = self.adds_of.get(&author).map(Vec::as_slice).unwrap_or(&[]);
        self.work.add(adds.len() + 1);
        let introduced = adds
            .iter()
            .any(|&a| ancestors.contains(a) && inc.retained.contains(a));
        let kept = introduced && !inc.removed.contains_key(&author);
        Some(Shortcut::Concurrent { kept })
    }

    /// Applies the stored entry `index`, which took `shortcut`.
    pub(super) fn apply_shortcut(&mut self, index: usize, shortcut: Shortcut) {
        self.work.add(1);
        let Some(node) = self.nodes.get(index) else {
            return;
        };
        let (entry, hash, depth) = (&node.entry, node.hash, node.depth);
        let state = &mut self.state;
        state.heads.retain(|h| !entry.parents.contains(h));
        state.heads.push(hash);
        state.heads.sort();
        if shortcut == (Shortcut::Concurrent { kept: false }) {
            return;
        }
        let author = entry.author;
        let inc = &mut self.incremental;
        inc.retained.insert(index);
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
                if !declared(state) {
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
    }
}

impl DeviceLog {
    /// Whether `entry`'s author was active in the view of its causal past
    /// (`revocations` revocations in it), known without evaluating it. The
    /// author's previous entry `p` is stored, so its author was active in
    /// the view of `p`'s past. In the view of `p`'s past and `p`, adding
    /// `p` changed no fate but its own: `p` is a sink there, so it strikes
    /// and introduces nothing in that set, it contests no revocation (any
    /// in its past has it outside theirs only one way), and no kept
    /// revocation of its author is in its past; only a revocation of the
    /// author by itself makes it inactive. What the new entry's past holds
    /// besides (what the author learned since `p`) changes no fate in that
    /// set when it holds no revocation: such entries strike nothing, and
    /// introduce none of the entries already there (those are not in their
    /// future), so every round of steps 1 to 4 decides the old entries as
    /// before, and the author's add and revocations are all old ones.
    /// `false` means: evaluate the past.
    pub(super) fn active_by_chain(&self, entry: &DeviceLogEntry, revocations: usize) -> bool {
        let Some(p) = entry
            .prev
            .and_then(|h| self.by_hash.get(&h))
            .and_then(|&i| self.nodes.get(i))
        else {
            return false;
        };
        self.work.add(1);
        let (is_revocation, revokes_itself) = match p.entry.op {
            DeviceOp::RevokeDevice { device, .. } => (true, device == entry.author),
            _ => (false, false),
        };
        // `p` and its past are in the entry's past (its structure was
        // checked): the counts differ by the revocations learned since.
        p.revocations_before + usize::from(is_revocation) == revocations && !revokes_itself
    }
}
