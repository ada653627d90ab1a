//! The bookkeeping of [`DeviceLog::retention`]: each entry's fate, and what
//! step 1 reads of it (is a revocation of its author kept, or still open;
//! is an add of its author kept, or still open), kept so that the work is
//! near-linear in the log.
//!
//! A device that never equivocated has a chain: its entries, stored in
//! order, each with the one before in its causal past. A revocation of it
//! has a prefix of the chain in its past and strikes the rest: a suffix,
//! from one position. An add of it is in the past of a suffix of the chain.
//! So per chain the open revocations and adds are multisets of positions,
//! and the kept ones one least position each: an entry at position `p` has
//! a kept striker when `p` is at or past the least kept strike position,
//! and no open striker when `p` is before the least open one. Deciding a
//! revocation or an add moves a least position one way only, so each chain
//! entry is looked at again a bounded number of times.
//!
//! A device that equivocated has no chain: its entries keep explicit lists
//! of the revocations and adds that concern them (the pairs).

use std::collections::{BTreeMap, HashMap};

use kith_wire::{DeviceId, DeviceOp};

use super::DeviceLog;

/// Where an entry stands while [`DeviceLog::retention`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Fate {
    Open,
    In,
    Out,
}

/// A multiset of chain positions.
#[derive(Debug, Default)]
struct Positions(BTreeMap<usize, usize>);

impl Positions {
    fn add(&mut self, p: usize) {
        *self.0.entry(p).or_default() += 1;
    }

    fn remove(&mut self, p: usize) {
        if let Some(c) = self.0.get_mut(&p) {
            *c -= 1;
            if *c == 0 {
                self.0.remove(&p);
            }
        }
    }

    fn least(&self) -> usize {
        self.0.keys().next().copied().unwrap_or(usize::MAX)
    }
}

/// One device's chain (the entries of `order` it wrote, in order) and the
/// positions its open and kept revocations and adds reach from.
#[derive(Debug, Default)]
struct Chain {
    entries: Vec<usize>,
    open_strikes: Positions,
    in_strike: usize,
    open_intros: Positions,
    in_intro: usize,
}

/// What step 1 reads of one entry; kept as counts for the entries of a
/// device without a chain.
#[derive(Debug, Default, Clone)]
struct Pairs {
    /// The open revocations that would drop it.
    open_strikers: usize,
    /// A kept revocation drops it.
    striker_in: bool,
    /// The open adds of its author in its past.
    open_adds: usize,
    /// A kept add of its author is in its past.
    intro_in: bool,
}

/// The state of one retention decision.
pub(super) struct Retention<'a> {
    log: &'a DeviceLog,
    fate: Vec<Fate>,
    chains: Vec<Chain>,
    /// Per entry of a chained device: its chain and position.
    link: Vec<Option<(usize, usize)>>,
    /// Per revocation or add of a chained device: that chain and the
    /// position the entry reaches from.
    reach: Vec<Option<(usize, usize)>>,
    /// Per entry of an unchained device: its relations.
    pairs: Vec<Pairs>,
    /// Per revocation: the unchained entries it would drop; per add: the
    /// unchained entries it introduces.
    dependents: Vec<Vec<usize>>,
    /// Per unchained entry: the revocations that would drop it.
    strikers: Vec<Vec<usize>>,
    queue: Vec<usize>,
}

impl<'a> Retention<'a> {
    pub(super) fn new(log: &'a DeviceLog, order: &[usize]) -> Self {
        let n = log.nodes.len();
        let mut r = Self {
            log,
            fate: vec![Fate::Out; n],
            chains: Vec::new(),
            link: vec![None; n],
            reach: vec![None; n],
            pairs: vec![Pairs::default(); n],
            dependents: vec![Vec::new(); n],
            strikers: vec![Vec::new(); n],
            queue: order.iter().rev().copied().collect(),
        };
        for &i in order {
            if let Some(f) = r.fate.get_mut(i) {
                *f = Fate::Open;
            }
        }
        // Each author's entries of `order`: a prefix of its stored chain
        // (the set is causally closed), or its entries if it equivocated.
        let mut chain_of: HashMap<DeviceId, usize> = HashMap::new();
        let mut unchained: HashMap<DeviceId, Vec<usize>> = HashMap::new();
        for &i in order {
            let Some(node) = log.nodes.get(i) else {
                continue;
            };
            let author = node.entry.author;
            if log.equivocators.contains(&author) {
                unchained.entry(author).or_default().push(i);
                continue;
            }
            let c = *chain_of.entry(author).or_insert_with(|| {
                r.chains.push(Chain {
                    in_strike: usize::MAX,
                    in_intro: usize::MAX,
                    ..Chain::default()
                });
                r.chains.len() - 1
            });
            if let Some(chain) = r.chains.get_mut(c) {
                if let Some(l) = r.link.get_mut(i) {
                    *l = Some((c, chain.entries.len()));
                }
                chain.entries.push(i);
            }
        }
        for &s in order {
            let Some(node) = log.nodes.get(s) else {
                continue;
            };
            let (device, strike) = match &node.entry.op {
                DeviceOp::RevokeDevice { device, .. } => (*device, true),
                DeviceOp::Genesis { device, .. } | DeviceOp::AddDevice { device, .. } => {
                    (device.device, false)
                }
                _ => continue,
            };
            if let Some(&c) = chain_of.get(&device) {
                let Some(chain) = r.chains.get_mut(c) else {
                    continue;
                };
                log.work.add(
                    usize::BITS.saturating_sub(chain.entries.len().leading_zeros()) as usize + 1,
                );
                let from = if strike {
                    // Past what `s` saw; `s` itself (a self-revocation) is not struck.
                    let seen = chain
                        .entries
                        .partition_point(|&e| node.ancestors.contains(e));
                    seen + usize::from(chain.entries.get(seen) == Some(&s))
                } else {
                    chain.entries.partition_point(|&e| {
                        log.nodes.get(e).is_none_or(|en| !en.ancestors.contains(s))
                    })
                };
                if strike {
                    chain.open_strikes.add(from);
                } else {
                    chain.open_intros.add(from);
                }
                if let Some(x) = r.reach.get_mut(s) {
                    *x = Some((c, from));
                }
            } else if let Some(entries) = unchained.get(&device) {
                log.work.add(entries.len());
                for &i in entries {
                    let Some(target) = log.nodes.get(i) else {
                        continue;
                    };
                    let related = if strike {
                        s != i && !node.ancestors.contains(i)
                    } else {
                        target.ancestors.contains(s)
                    };
                    if !related {
                        continue;
                    }
                    if let Some(list) = r.dependents.get_mut(s) {
                        list.push(i);
                    }
                    if let Some(p) = r.pairs.get_mut(i) {
                        if strike {
                            p.open_strikers += 1;
                        } else {
                            p.open_adds += 1;
                        }
                    }
                    if strike && let Some(list) = r.strikers.get_mut(i) {
                        list.push(s);
                    }
                }
            }
        }
        r
    }

    pub(super) fn fate(&self, i: usize) -> Fate {
        self.fate.get(i).copied().unwrap_or(Fate::Out)
    }

    fn op(&self, i: usize) -> Option<&DeviceOp> {
        self.log.nodes.get(i).map(|n| &n.entry.op)
    }

    fn is_revocation(&self, i: usize) -> bool {
        matches!(self.op(i), Some(DeviceOp::RevokeDevice { .. }))
    }

    fn is_genesis(&self, i: usize) -> bool {
        matches!(self.op(i), Some(DeviceOp::Genesis { .. }))
    }

    /// What step 1 reads of `i`: its counts if its author has no chain;
    /// from its chain's positions otherwise (an open count is then 0 or 1,
    /// "none" or "some").
    fn standing(&self, i: usize) -> Pairs {
        let chained = self
            .link
            .get(i)
            .copied()
            .flatten()
            .and_then(|(c, p)| Some((self.chains.get(c)?, p)));
        match chained {
            Some((chain, p)) => Pairs {
                open_strikers: usize::from(p >= chain.open_strikes.least()),
                striker_in: p >= chain.in_strike,
                open_adds: usize::from(p >= chain.open_intros.least()),
                intro_in: p >= chain.in_intro,
            },
            None => self.pairs.get(i).cloned().unwrap_or_default(),
        }
    }

    /// Whether a kept add in `i`'s past introduced its author (the genesis
    /// introduces itself).
    pub(super) fn grounded(&self, i: usize) -> bool {
        self.standing(i).intro_in || self.is_genesis(i)
    }

    /// Step 1 for one open entry: what follows from what is decided.
    fn decide(&self, i: usize) -> Fate {
        if self.is_genesis(i) {
            return Fate::In;
        }
        let at = self.standing(i);
        if at.striker_in || (!at.intro_in && at.open_adds == 0) {
            return Fate::Out;
        }
        if at.intro_in && at.open_strikers == 0 {
            return Fate::In;
        }
        Fate::Open
    }

    /// Decides `i` and tells the entries it strikes or introduces.
    pub(super) fn set(&mut self, i: usize, next: Fate) {
        if self.fate(i) != Fate::Open || next == Fate::Open {
            return;
        }
        if let Some(f) = self.fate.get_mut(i) {
            *f = next;
        }
        let is_in = next == Fate::In;
        let strike = self.is_revocation(i);
        let dependents = self.dependents.get(i).map(Vec::as_slice).unwrap_or(&[]);
        self.log.work.add(dependents.len() + 1);
        for &x in dependents {
            if let Some(p) = self.pairs.get_mut(x) {
                let (open, any_in) = if strike {
                    (&mut p.open_strikers, &mut p.striker_in)
                } else {
                    (&mut p.open_adds, &mut p.intro_in)
                };
                *open = open.saturating_sub(1);
                *any_in |= is_in;
            }
            self.queue.push(x);
        }
        let Some((c, from)) = self.reach.get(i).copied().flatten() else {
            return;
        };
        let Some(chain) = self.chains.get_mut(c) else {
            return;
        };
        let len = chain.entries.len();
        let (open, kept) = if strike {
            (&mut chain.open_strikes, &mut chain.in_strike)
        } else {
            (&mut chain.open_intros, &mut chain.in_intro)
        };
        // The entries whose counts changed: those the least open position
        // moved past, and those the least kept one moved down to.
        let open_before = open.least().min(len);
        open.remove(from);
        let open_after = open.least().min(len);
        let kept_before = (*kept).min(len);
        if is_in {
            *kept = (*kept).min(from);
        }
        let kept_after = (*kept).min(len);
        for range in [open_before..open_after, kept_after..kept_before] {
            let touched = chain.entries.get(range).unwrap_or(&[]);
            self.log.work.add(touched.len());
            self.queue.extend_from_slice(touched);
        }
    }

    /// Step 1 until nothing more follows.
    pub(super) fn propagate(&mut self) {
        while let Some(i) = self.queue.pop() {
            self.log.work.add(1);
            if self.fate(i) == Fate::Open {
                let next = self.decide(i);
                self.set(i, next);
            }
        }
    }

    /// Whether revocation `r` would drop `i` (both open, so both members):
    /// it revokes `i`'s author and has `i` outside its causal past.
    fn strikes(&self, r: usize, i: usize) -> bool {
        let (Some(rn), Some(author)) = (self.log.nodes.get(r), self.log.nodes.get(i)) else {
            return false;
        };
        r != i
            && matches!(rn.entry.op, DeviceOp::RevokeDevice { device, .. } if device == author.entry.author)
            && !rn.ancestors.contains(i)
    }

    /// The device a revocation revokes.
    fn target(&self, r: usize) -> Option<DeviceId> {
        match self.op(r) {
            Some(DeviceOp::RevokeDevice { device, .. }) => Some(*device),
            _ => None,
        }
    }

    fn author(&self, i: usize) -> Option<DeviceId> {
        self.log.nodes.get(i).map(|n| n.entry.author)
    }

    /// Steps 2 to 4, once step 1 decides nothing more (see
    /// [`DeviceLog::retention`]).
    pub(super) fn resolve(&self, order: &[usize]) -> Vec<(usize, Fate)> {
        self.log.work.add(order.len());
        let open: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| self.fate(i) == Fate::Open)
            .collect();
        let revocations: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| self.is_revocation(i) && self.grounded(i))
            .collect();
        let contest = Contest::new(self, &revocations);
        // Step 2, else step 3.
        let steps: [fn(&Contest, &Retention<'_>, usize) -> bool; 2] =
            [Contest::mutual, Contest::unopposed];
        for step in steps {
            let kept: Vec<(usize, Fate)> = revocations
                .iter()
                .copied()
                .filter(|&r| step(&contest, self, r))
                .map(|r| (r, Fate::In))
                .collect();
            if !kept.is_empty() {
                return kept;
            }
        }
        open.into_iter().map(|i| (i, Fate::Out)).collect()
    }
}

/// The open revocations by devices whose introduction is kept, indexed for
/// steps 2 and 3.
struct Contest {
    /// By (author, revoked device).
    between: HashMap<(DeviceId, DeviceId), Between>,
    /// Per chain: the least position they strike from.
    least_strike: HashMap<usize, usize>,
}

/// The revocations one device wrote of another.
#[derive(Default)]
struct Between {
    all: Vec<usize>,
    /// When both have chains: (the revocation's position in its author's
    /// chain, the position it strikes the other's chain from), by the
    /// first, with the least second from each one on.
    chained: Vec<(usize, usize)>,
    least_from: Vec<usize>,
}

impl Contest {
    fn new(r: &Retention<'_>, revocations: &[usize]) -> Self {
        let mut between: HashMap<(DeviceId, DeviceId), Between> = HashMap::new();
        let mut least_strike: HashMap<usize, usize> = HashMap::new();
        for &s in revocations {
            let (Some(author), Some(target)) = (r.author(s), r.target(s)) else {
                continue;
            };
            let group = between.entry((author, target)).or_default();
            group.all.push(s);
            let reach = r.reach.get(s).copied().flatten();
            if let Some((c, from)) = reach {
                let least = least_strike.entry(c).or_insert(usize::MAX);
                *least = (*least).min(from);
            }
            if let (Some((_, at)), Some((_, from))) = (r.link.get(s).copied().flatten(), reach) {
                group.chained.push((at, from));
            }
        }
        for group in between.values_mut() {
            group.chained.sort_unstable();
            let mut least = usize::MAX;
            group.least_from = group
                .chained
                .iter()
                .rev()
                .map(|&(_, from)| {
                    least = least.min(from);
                    least
                })
                .collect();
            group.least_from.reverse();
        }
        r.log.work.add(revocations.len());
        Self {
            between,
            least_strike,
        }
    }

    /// Step 2: an open revocation by `r`'s target of `r`'s author, each
    /// outside the other's causal past.
    fn mutual(&self, r: &Retention<'_>, rev: usize) -> bool {
        let (Some(author), Some(target)) = (r.author(rev), r.target(rev)) else {
            return false;
        };
        let Some(group) = self.between.get(&(target, author)) else {
            return false;
        };
        let chained = author != target && group.chained.len() == group.all.len();
        match (
            chained,
            r.link.get(rev).copied().flatten(),
            r.reach.get(rev).copied().flatten(),
        ) {
            (true, Some((_, at)), Some((_, from))) => {
                // `rev` strikes those at or past `from` in its target's
                // chain; one of them strikes `rev` if it strikes from `at`
                // or before.
                r.log.work.add(
                    usize::BITS.saturating_sub(group.chained.len().leading_zeros()) as usize + 1,
                );
                let k = group.chained.partition_point(|&(pos, _)| pos < from);
                group.least_from.get(k).is_some_and(|&least| least <= at)
            }
            _ => {
                r.log.work.add(group.all.len());
                group
                    .all
                    .iter()
                    .any(|&other| r.strikes(other, rev) && r.strikes(rev, other))
            }
        }
    }

    /// Step 3: no open revocation by a device whose introduction is kept
    /// would drop `rev`.
    fn unopposed(&self, r: &Retention<'_>, rev: usize) -> bool {
        r.log.work.add(1);
        if let Some((c, at)) = r.link.get(rev).copied().flatten() {
            return self.least_strike.get(&c).is_none_or(|&least| at < least);
        }
        let strikers = r.strikers.get(rev).map(Vec::as_slice).unwrap_or(&[]);
        r.log.work.add(strikers.len());
        strikers
            .iter()
            .all(|&s| r.fate(s) != Fate::Open || !r.grounded(s))
    }
}
