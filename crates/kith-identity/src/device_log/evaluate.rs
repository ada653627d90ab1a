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

    /// The log state of a causally closed subset of the entries: what the
    /// retained entries do, in canonical order (so the first revocation of
    /// a device, reported as "revoked by", is the same on every device).
    pub(super) fn view(&self, members: &BitSet) -> View {
        let order = self.canonical_order(members);
        let retained = self.retained(&order);
        let mut view = View::default();
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

    /// Which of `order`'s entries strong remove keeps. An entry counts only
    /// if its author was active as the author saw the log, a kept entry in
    /// its causal past introduced its author, and no kept revocation of its
    /// author has it outside its causal past. A dropped entry has no effect
    /// at all: a dropped revocation revokes nothing, a dropped add adds
    /// nothing. Decided on the set alone, so every delivery order agrees:
    ///
    /// 1. What follows from what is decided is decided, until nothing more
    ///    does.
    /// 2. Two revocations left open that revoke each other's authors (each
    ///    outside the other's causal past), both by devices whose
    ///    introduction is kept, are both kept: both devices go
    ///    (`docs/identity.md`, "mutual revocation").
    /// 3. Otherwise a revocation left open by a device whose introduction
    ///    is kept, that only revocations by devices whose own introduction
    ///    is still open could drop, is kept: a device added concurrently
    ///    with its adder's revocation cannot save its adder.
    /// 4. Otherwise whatever is still open is dropped.
    pub(super) fn retained(&self, order: &[usize]) -> BitSet {
        let mut fate: BTreeMap<usize, Fate> = order.iter().map(|&i| (i, Fate::Open)).collect();
        let mut adds: BTreeMap<DeviceId, Vec<usize>> = BTreeMap::new();
        let mut revocations: BTreeMap<DeviceId, Vec<usize>> = BTreeMap::new();
        for &i in order {
            let Some(n) = self.nodes.get(i) else { continue };
            match &n.entry.op {
                DeviceOp::Genesis { device, .. } | DeviceOp::AddDevice { device, .. } => {
                    adds.entry(device.device).or_default().push(i);
                }
                DeviceOp::RevokeDevice { device, .. } => {
                    revocations.entry(*device).or_default().push(i);
                }
                _ => {}
            }
        }
        let rules = Rules {
            log: self,
            adds: &adds,
            revocations: &revocations,
        };
        loop {
            let mut decided = Vec::new();
            for &i in order {
                if fate.get(&i) == Some(&Fate::Open) {
                    let next = rules.decide(i, &fate);
                    if next != Fate::Open {
                        decided.push((i, next));
                    }
                }
            }
            if decided.is_empty() {
                decided = rules.resolve(order, &fate);
            }
            if decided.is_empty() {
                break;
            }
            for (i, next) in decided {
                fate.insert(i, next);
            }
        }
        let mut kept = BitSet::default();
        for (i, f) in fate {
            if f == Fate::In {
                kept.insert(i);
            }
        }
        kept
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
                    transport_proven: added.transport_proven,
                },
            );
        }
        if let Some(by) = view.declared_compromised {
            state.compromise.insert(Compromise::Declared { by });
        }
        let mut seen: BTreeMap<(DeviceId, u64), EntryHash> = BTreeMap::new();
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
    transport_proven: bool,
}

/// The state of a subset of entries, while it is being evaluated.
#[derive(Debug, Default)]
pub(super) struct View {
    /// The entries strong remove keeps.
    retained: BitSet,
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

/// Where an entry stands while [`DeviceLog::retained`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fate {
    Open,
    In,
    Out,
}

/// The facts the decision reads: the log, and per device the entries that
/// add it and the revocations of it.
struct Rules<'a> {
    log: &'a DeviceLog,
    adds: &'a BTreeMap<DeviceId, Vec<usize>>,
    revocations: &'a BTreeMap<DeviceId, Vec<usize>>,
}

impl Rules<'_> {
    fn fate(fate: &BTreeMap<usize, Fate>, i: usize) -> Fate {
        fate.get(&i).copied().unwrap_or(Fate::Out)
    }

    fn author(&self, i: usize) -> Option<DeviceId> {
        self.log.nodes.get(i).map(|n| n.entry.author)
    }

    fn in_past_of(&self, i: usize, of: usize) -> bool {
        self.log
            .nodes
            .get(of)
            .is_some_and(|n| n.ancestors.contains(i))
    }

    /// The revocations of `i`'s author that have `i` outside their causal
    /// past (they drop it if kept).
    fn strikers(&self, i: usize) -> impl Iterator<Item = usize> + '_ {
        let author = self.author(i);
        author
            .and_then(|a| self.revocations.get(&a))
            .into_iter()
            .flatten()
            .copied()
            .filter(move |&r| r != i && !self.in_past_of(i, r))
    }

    /// Whether `r` (a revocation) would drop `i`.
    fn strikes(&self, r: usize, i: usize) -> bool {
        self.strikers(i).any(|s| s == r)
    }

    /// Whether the author of `i` is introduced by a kept add in its causal
    /// past (`In`), by none that could be kept (`Out`), or not yet known.
    fn introduction(&self, i: usize, fate: &BTreeMap<usize, Fate>) -> Fate {
        let Some(n) = self.log.nodes.get(i) else {
            return Fate::Out;
        };
        if matches!(n.entry.op, DeviceOp::Genesis { .. }) {
            return Fate::In;
        }
        let mut open = false;
        for &a in self.adds.get(&n.entry.author).into_iter().flatten() {
            if !n.ancestors.contains(a) {
                continue;
            }
            match Self::fate(fate, a) {
                Fate::In => return Fate::In,
                Fate::Open => open = true,
                Fate::Out => {}
            }
        }
        if open { Fate::Open } else { Fate::Out }
    }

    /// Step 1 for one open entry.
    fn decide(&self, i: usize, fate: &BTreeMap<usize, Fate>) -> Fate {
        let Some(n) = self.log.nodes.get(i) else {
            return Fate::Out;
        };
        if matches!(n.entry.op, DeviceOp::Genesis { .. }) {
            return Fate::In;
        }
        if !n.active_at_issuance.contains(&n.entry.author) {
            return Fate::Out;
        }
        let mut strikers_open = false;
        for s in self.strikers(i) {
            match Self::fate(fate, s) {
                Fate::In => return Fate::Out,
                Fate::Open => strikers_open = true,
                Fate::Out => {}
            }
        }
        match self.introduction(i, fate) {
            Fate::Out => Fate::Out,
            Fate::In if !strikers_open => Fate::In,
            _ => Fate::Open,
        }
    }

    /// Steps 2 to 4, once step 1 decides nothing more.
    fn resolve(&self, order: &[usize], fate: &BTreeMap<usize, Fate>) -> Vec<(usize, Fate)> {
        let open: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| Self::fate(fate, i) == Fate::Open)
            .collect();
        let grounded = |i: usize| self.introduction(i, fate) == Fate::In;
        let revocations: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| {
                self.log
                    .nodes
                    .get(i)
                    .is_some_and(|n| matches!(n.entry.op, DeviceOp::RevokeDevice { .. }))
                    && grounded(i)
            })
            .collect();
        let mutual: Vec<(usize, Fate)> = revocations
            .iter()
            .copied()
            .filter(|&r| {
                revocations
                    .iter()
                    .any(|&other| self.strikes(r, other) && self.strikes(other, r))
            })
            .map(|r| (r, Fate::In))
            .collect();
        if !mutual.is_empty() {
            return mutual;
        }
        let unopposed: Vec<(usize, Fate)> = revocations
            .iter()
            .copied()
            .filter(|&r| {
                self.strikers(r)
                    .all(|s| Self::fate(fate, s) != Fate::Open || !grounded(s))
            })
            .map(|r| (r, Fate::In))
            .collect();
        if !unopposed.is_empty() {
            return unopposed;
        }
        open.into_iter().map(|i| (i, Fate::Out)).collect()
    }
}
