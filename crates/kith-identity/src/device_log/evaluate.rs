//! Evaluating a device log: the state of a set of entries under strong
//! remove (see the module above and `docs/identity.md`).

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kith_wire::{
    DeviceId, DeviceLogEntry, DeviceOp, DeviceRecord, EntryHash, RevokeReason, SignedPrekey,
};

use super::incremental::Incremental;
use super::{Compromise, DeviceLog, DeviceState, DeviceStatus, LogState};
use crate::strong_remove::{BitSet, Graph, Work, retain};

/// The device log as strong remove reads it: devices write, add and
/// revoke devices.
impl Graph for DeviceLog {
    type Who = DeviceId;

    fn author(&self, i: usize) -> Option<DeviceId> {
        self.nodes.get(i).map(|n| n.entry.author)
    }

    fn is_genesis(&self, i: usize) -> bool {
        self.nodes
            .get(i)
            .is_some_and(|n| matches!(n.entry.op, DeviceOp::Genesis { .. }))
    }

    fn removes(&self, i: usize) -> impl Iterator<Item = DeviceId> + '_ {
        self.nodes
            .get(i)
            .and_then(|n| match n.entry.op {
                DeviceOp::RevokeDevice { device, .. } => Some(device),
                _ => None,
            })
            .into_iter()
    }

    fn introduces(&self, i: usize) -> impl Iterator<Item = DeviceId> + '_ {
        self.nodes
            .get(i)
            .and_then(|n| match &n.entry.op {
                DeviceOp::Genesis { device, .. } | DeviceOp::AddDevice { device, .. } => {
                    Some(device.device)
                }
                _ => None,
            })
            .into_iter()
    }

    fn in_past(&self, of: usize, i: usize) -> bool {
        self.nodes.get(of).is_some_and(|n| n.ancestors.contains(i))
    }

    fn chained(&self, who: &DeviceId) -> bool {
        !self.equivocators.contains(who)
    }

    fn work(&self) -> &Work {
        &self.work
    }
}

impl DeviceLog {
    /// The canonical order of `members`: by depth, then hash. Every device
    /// computes the same order for the same set.
    pub(super) fn canonical_order(&self, members: &BitSet) -> Vec<usize> {
        let mut order: Vec<usize> = (0..self.nodes.len())
            .filter(|i| members.contains(*i))
            .collect();
        self.work.add(self.nodes.len());
        order.sort_by_key(|&i| self.nodes.get(i).map(|n| (n.depth, n.hash)));
        order
    }

    /// The log state of a causally closed subset of the entries: what the
    /// retained entries do, in canonical order (so the first revocation of
    /// a device, reported as "revoked by", is the same on every device).
    pub(super) fn view(&self, members: &BitSet) -> View {
        let order = self.canonical_order(members);
        let (retained, pure) = self.retention(&order);
        let mut view = View {
            pure,
            ..View::default()
        };
        for &i in &order {
            let Some(n) = self.nodes.get(i).filter(|_| retained.contains(i)) else {
                continue;
            };
            if let DeviceOp::RevokeDevice { device, reason, .. } = n.entry.op {
                view.removed
                    .entry(device)
                    .or_insert((n.entry.author, reason));
            }
        }
        for &i in &order {
            if let Some(n) = self.nodes.get(i).filter(|_| retained.contains(i)) {
                view.apply(i, &n.entry);
            }
        }
        view.retained = retained;
        view
    }

    /// Which of `order`'s entries strong remove keeps (the rules are
    /// [`retain`]'s, shared with group membership), with whether no
    /// contest had to be resolved: then an entry that follows the whole
    /// set can be applied on its own (see `incremental.rs`).
    pub(super) fn retention(&self, order: &[usize]) -> (BitSet, bool) {
        retain(self, order)
    }

    /// Recomputes the cached state from all entries.
    pub(super) fn evaluate(&mut self) {
        let mut all = BitSet::default();
        self.work.add(self.nodes.len());
        for i in 0..self.nodes.len() {
            all.insert(i);
        }
        let view = self.view(&all);
        let name_key = view
            .name
            .as_ref()
            .and_then(|(i, _)| self.nodes.get(*i))
            .map(|n| (n.depth, n.hash));
        let mut incremental = Incremental {
            fresh: true,
            pure: view.pure,
            removed: view.removed.clone(),
            name_key,
            kept: HashMap::new(),
            retained: BitSet::default(),
        };
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
                    transport_proven: added.transport_proven,
                },
            );
        }
        if let Some(by) = view.declared_compromised {
            state.compromise.insert(Compromise::Declared { by });
        }
        // Only kept entries are evidence: what strong remove drops (a
        // revoked device's entries after its cut-off) has no effect.
        let kept = self
            .nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| view.retained.contains(*i));
        for (_, n) in kept {
            // Stored entries have distinct hashes, so a second entry with
            // one (author, seq) is a different entry: equivocation.
            if incremental
                .kept
                .insert((n.entry.author, n.entry.seq), n.hash)
                .is_some()
            {
                state.compromise.insert(Compromise::Equivocation {
                    device: n.entry.author,
                    seq: n.entry.seq,
                });
            }
        }
        state.compromise.extend(self.rollbacks.iter().cloned());
        let parents: std::collections::HashSet<&EntryHash> =
            self.nodes.iter().flat_map(|n| &n.entry.parents).collect();
        let mut heads: Vec<EntryHash> = self
            .nodes
            .iter()
            .map(|n| n.hash)
            .filter(|h| !parents.contains(h))
            .collect();
        heads.sort();
        state.heads = heads;
        self.state = state;
        incremental.retained = view.retained;
        self.incremental = incremental;
    }
}

/// A device added by retained entries.
#[derive(Clone, Debug)]
struct Added {
    record: DeviceRecord,
    prekey: SignedPrekey,
    added_by: Option<DeviceId>,
    transport_proven: bool,
}

/// The state of a subset of entries, while it is being evaluated.
#[derive(Debug, Default)]
pub(super) struct View {
    /// The entries strong remove keeps.
    retained: BitSet,
    /// Step 1 alone decided them.
    pure: bool,
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
                self.add(device, prekey, None);
            }
            DeviceOp::AddDevice { device, prekey, .. } => {
                self.add(device, prekey, Some(entry.author));
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
            DeviceOp::ProveTransport { .. } => {
                if let Some(added) = self.added.get_mut(&entry.author) {
                    added.transport_proven = true;
                }
            }
            DeviceOp::RevokeDevice { .. } => {}
        }
    }

    fn add(&mut self, device: &DeviceRecord, prekey: &SignedPrekey, by: Option<DeviceId>) {
        self.added.entry(device.device).or_insert_with(|| Added {
            record: device.clone(),
            prekey: prekey.clone(),
            added_by: by,
            transport_proven: false,
        });
    }
}
