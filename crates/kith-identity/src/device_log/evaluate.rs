//! Evaluating a device log: the state of a set of entries under strong
//! remove (see the module above and `docs/identity.md`).

use std::collections::{BTreeMap, BTreeSet};

use kith_wire::{
    DeviceId, DeviceLogEntry, DeviceOp, DeviceRecord, EntryHash, RevokeReason, SignedPrekey,
};

use super::bitset::BitSet;
use super::{Compromise, DeviceLog, DeviceState, DeviceStatus, LogState};

impl DeviceLog {
    /// The canonical order of `members`: by depth, then hash. Every device
    /// computes the same order for the same set.
    pub(super) fn canonical_order(&self, members: &BitSet) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.nodes.len())
            .filter(|i| members.contains(*i))
            .collect();
        order.sort_by_key(|&i| self.nodes.get(i).map(|n| (n.depth, n.hash)));
        order
    }

    /// The log state of a causally closed subset of the entries.
    pub(super) fn view(&self, members: &BitSet) -> View {
        let node = |i: usize| self.nodes.get(i);
        // Revocations valid at issuance: their targets are removed for good.
        // In canonical order, so the first revocation of a device (the one
        // reported as "revoked by") is the same on every device.
        let order = self.canonical_order(members);
        let issued: Vec<(usize, DeviceId, DeviceId, RevokeReason)> = order
            .iter()
            .filter_map(|&i| {
                let n = node(i)?;
                match n.entry.op {
                    DeviceOp::RevokeDevice { device, reason, .. } => {
                        Some((i, device, n.entry.author, reason))
                    }
                    _ => None,
                }
            })
            .collect();
        let mut view = View::default();
        for (_, target, by, reason) in &issued {
            view.removed.entry(*target).or_insert((*by, *reason));
        }
        for i in order {
            let Some(n) = node(i) else { continue };
            let author = n.entry.author;
            let retained = match &n.entry.op {
                DeviceOp::Genesis { .. } => true,
                _ => {
                    let introduced = view
                        .added
                        .get(&author)
                        .is_some_and(|a| a.introduced_by.iter().any(|j| n.ancestors.contains(*j)));
                    let struck = issued.iter().any(|(r, target, _, _)| {
                        *target == author && node(*r).is_some_and(|rev| !rev.ancestors.contains(i))
                    });
                    n.active_at_issuance.contains(&author) && introduced && !struck
                }
            };
            if retained {
                view.apply(i, &n.entry);
            }
        }
        view
    }

    /// Recomputes the cached state from all entries.
    pub(super) fn evaluate(&mut self) {
        let mut all = BitSet::default();
        for i in 0..self.nodes.len() {
            all.insert(i);
        }
        let view = self.view(&all);
        let mut state = LogState {
            name: view.name.map(|(_, n)| n),
            ..LogState::default()
        };
        for (device, added) in view.added {
            let status = match view.removed.get(&device) {
                Some((by, reason)) => DeviceStatus::Revoked {
                    by: *by,
                    reason: *reason,
                },
                None => DeviceStatus::Active,
            };
            state.devices.insert(
                device,
                DeviceState {
                    record: added.record,
                    prekey: added.prekey,
                    status,
                    added_by: added.added_by,
                },
            );
        }
        if let Some(by) = view.declared_compromised {
            state.compromise.insert(Compromise::Declared { by });
        }
        let mut seen: BTreeMap<(DeviceId, u64), EntryHash> = BTreeMap::new();
        for n in &self.nodes {
            // Stored entries have distinct hashes, so a second entry with
            // one (author, seq) is a different entry: equivocation.
            if seen.insert((n.entry.author, n.entry.seq), n.hash).is_some() {
                state.compromise.insert(Compromise::Equivocation {
                    device: n.entry.author,
                    seq: n.entry.seq,
                });
            }
        }
        state.compromise.extend(self.rollbacks.iter().cloned());
        let mut covered = BitSet::default();
        for n in &self.nodes {
            covered.union_with(&n.ancestors);
        }
        let mut heads: Vec<EntryHash> = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| !covered.contains(*i))
            .map(|(_, n)| n.hash)
            .collect();
        heads.sort();
        state.heads = heads;
        self.state = state;
    }
}

/// A device added by retained entries.
#[derive(Clone, Debug)]
struct Added {
    record: DeviceRecord,
    prekey: SignedPrekey,
    added_by: Option<DeviceId>,
    /// Retained entries that add this device.
    introduced_by: Vec<usize>,
}

/// The state of a subset of entries, while it is being evaluated.
#[derive(Debug, Default)]
pub(super) struct View {
    added: BTreeMap<DeviceId, Added>,
    removed: BTreeMap<DeviceId, (DeviceId, RevokeReason)>,
    name: Option<(usize, String)>,
    declared_compromised: Option<DeviceId>,
}

impl View {
    pub(super) fn active(&self) -> BTreeSet<DeviceId> {
        self.added
            .keys()
            .filter(|d| !self.removed.contains_key(d))
            .copied()
            .collect()
    }

    fn apply(&mut self, index: usize, entry: &DeviceLogEntry) {
        match &entry.op {
            DeviceOp::Genesis { device, prekey, .. } => {
                self.add(index, device, prekey, None);
            }
            DeviceOp::AddDevice { device, prekey, .. } => {
                self.add(index, device, prekey, Some(entry.author));
            }
            DeviceOp::RotatePrekey { prekey } => {
                if let Some(added) = self.added.get_mut(&entry.author) {
                    added.prekey = prekey.clone();
                }
            }
            DeviceOp::Profile { name } => self.name = Some((index, name.clone())),
            DeviceOp::AccountCompromised => {
                self.declared_compromised.get_or_insert(entry.author);
            }
            DeviceOp::RevokeDevice { .. } => {}
        }
    }

    fn add(
        &mut self,
        index: usize,
        device: &DeviceRecord,
        prekey: &SignedPrekey,
        by: Option<DeviceId>,
    ) {
        self.added
            .entry(device.device)
            .or_insert_with(|| Added {
                record: device.clone(),
                prekey: prekey.clone(),
                added_by: by,
                introduced_by: Vec::new(),
            })
            .introduced_by
            .push(index);
    }
}
