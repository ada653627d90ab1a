//! The bookkeeping of [`super::retain`]: each entry's fate, and what
//! step 1 reads of it (is a removal of its author kept, or still open;
//! is an introduction of its author kept, or still open), kept so that the
//! work is near-linear in the log.
//!
//! A chained writer (see [`Graph::chained`]) has its entries, in order,
//! each with the one before in its causal past. A removal of it has a
//! prefix of the chain in its past and strikes the rest: a suffix, from one
//! position. An introduction of it is in the past of a suffix of the chain.
//! So per chain the open removals and introductions are multisets of
//! positions, and the kept ones one least position each: an entry at
//! position `p` has a kept striker when `p` is at or past the least kept
//! strike position, and no open striker when `p` is before the least open
//! one. Deciding a removal or an introduction moves a least position one
//! way only, so each chain entry is looked at again a bounded number of
//! times.
//!
//! A writer without a chain (a device that equivocated; an account, whose
//! several devices write) has its entries keep explicit lists of the
//! removals and introductions that concern them (the pairs).

use std::collections::{BTreeMap, HashMap};

use super::Graph;

/// Where an entry stands while [`super::retain`] decides.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Fate {
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

/// One writer's chain (the entries of `order` it wrote, in order) and the
/// positions its open and kept removals and introductions reach from.
#[derive(Debug, Default)]
struct Chain {
    entries: Vec<usize>,
    open_strikes: Positions,
    in_strike: usize,
    open_intros: Positions,
    in_intro: usize,
}

/// What step 1 reads of one entry; kept as counts for the entries of a
/// writer without a chain.
#[derive(Debug, Default, Clone)]
struct Pairs {
    /// The open removals that would drop it.
    open_strikers: usize,
    /// A kept removal drops it.
    striker_in: bool,
    /// The open introductions of its author in its past.
    open_adds: usize,
    /// A kept introduction of its author is in its past.
    intro_in: bool,
}

/// The state of one retention decision.
pub(super) struct Retention<'a, G: Graph> {
    graph: &'a G,
    fate: Vec<Fate>,
    chains: Vec<Chain>,
    /// The chain of each chained writer.
    chain_of: HashMap<G::Who, usize>,
    /// Per entry of a chained writer: its chain and position.
    link: Vec<Option<(usize, usize)>>,
    /// Per removal or introduction: for each chained writer it concerns,
    /// that chain and the position the entry reaches from.
    reach: Vec<Vec<(usize, usize)>>,
    /// Per entry of an unchained writer: its relations.
    pairs: Vec<Pairs>,
    /// Per removal: the unchained entries it would drop; per
    /// introduction: the unchained entries it introduces.
    dependents: Vec<Vec<usize>>,
    /// Per unchained entry: the removals that would drop it.
    strikers: Vec<Vec<usize>>,
    queue: Vec<usize>,
}

impl<'a, G: Graph> Retention<'a, G> {
    pub(super) fn new(graph: &'a G, order: &[usize]) -> Self {
        let n = order.iter().max().map_or(0, |m| m + 1);
        let mut r = Self {
            graph,
            fate: vec![Fate::Out; n],
            chains: Vec::new(),
            chain_of: HashMap::new(),
            link: vec![None; n],
            reach: vec![Vec::new(); n],
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
        // Each writer's entries of `order`: a prefix of its stored chain
        // (the set is causally closed), or just its entries if unchained.
        let mut unchained: HashMap<G::Who, Vec<usize>> = HashMap::new();
        for &i in order {
            let Some(author) = graph.author(i) else {
                continue;
            };
            if !graph.chained(&author) {
                unchained.entry(author).or_default().push(i);
                continue;
            }
            let chains = &mut r.chains;
            let c = *r.chain_of.entry(author).or_insert_with(|| {
                chains.push(Chain {
                    in_strike: usize::MAX,
                    in_intro: usize::MAX,
                    ..Chain::default()
                });
                chains.len() - 1
            });
            if let Some(chain) = r.chains.get_mut(c) {
                if let Some(l) = r.link.get_mut(i) {
                    *l = Some((c, chain.entries.len()));
                }
                chain.entries.push(i);
            }
        }
        for &s in order {
            for target in graph.removes(s) {
                r.concern(s, target, true, &unchained);
            }
            for target in graph.introduces(s) {
                r.concern(s, target, false, &unchained);
            }
        }
        r
    }

    /// Records that `s` removes (`strike`) or introduces `target`.
    fn concern(
        &mut self,
        s: usize,
        target: G::Who,
        strike: bool,
        unchained: &HashMap<G::Who, Vec<usize>>,
    ) {
        let graph = self.graph;
        if let Some(&c) = self.chain_of.get(&target) {
            let Some(chain) = self.chains.get_mut(c) else {
                return;
            };
            graph
                .work()
                .add(usize::BITS.saturating_sub(chain.entries.len().leading_zeros()) as usize + 1);
            let from = if strike {
                // Past what `s` saw; `s` itself (a self-removal) is not struck.
                let seen = chain.entries.partition_point(|&e| graph.in_past(s, e));
                seen + usize::from(chain.entries.get(seen) == Some(&s))
            } else {
                chain.entries.partition_point(|&e| !graph.in_past(e, s))
            };
            if strike {
                chain.open_strikes.add(from);
            } else {
                chain.open_intros.add(from);
            }
            if let Some(x) = self.reach.get_mut(s) {
                x.push((c, from));
            }
        } else if let Some(entries) = unchained.get(&target) {
            graph.work().add(entries.len());
            for &i in entries {
                let related = if strike {
                    s != i && !graph.in_past(s, i)
                } else {
                    graph.in_past(i, s)
                };
                if !related {
                    continue;
                }
                if let Some(list) = self.dependents.get_mut(s) {
                    list.push(i);
                }
                if let Some(p) = self.pairs.get_mut(i) {
                    if strike {
                        p.open_strikers += 1;
                    } else {
                        p.open_adds += 1;
                    }
                }
                if strike && let Some(list) = self.strikers.get_mut(i) {
                    list.push(s);
                }
            }
        }
    }

    pub(super) fn fate(&self, i: usize) -> Fate {
        self.fate.get(i).copied().unwrap_or(Fate::Out)
    }

    fn is_removal(&self, i: usize) -> bool {
        self.graph.removes(i).next().is_some()
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

    /// Whether a kept introduction in `i`'s past introduced its author
    /// (the genesis introduces itself).
    pub(super) fn grounded(&self, i: usize) -> bool {
        self.standing(i).intro_in || self.graph.is_genesis(i)
    }

    /// Step 1 for one open entry: what follows from what is decided.
    fn decide(&self, i: usize) -> Fate {
        if self.graph.is_genesis(i) {
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

    /// Decides `i` and tells the entries it removes or introduces.
    pub(super) fn set(&mut self, i: usize, next: Fate) {
        if self.fate(i) != Fate::Open || next == Fate::Open {
            return;
        }
        if let Some(f) = self.fate.get_mut(i) {
            *f = next;
        }
        let is_in = next == Fate::In;
        let strike = self.is_removal(i);
        let dependents = self.dependents.get(i).map(Vec::as_slice).unwrap_or(&[]);
        self.graph.work().add(dependents.len() + 1);
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
        for k in 0..self.reach.get(i).map_or(0, Vec::len) {
            let Some(&(c, from)) = self.reach.get(i).and_then(|r| r.get(k)) else {
                continue;
            };
            let Some(chain) = self.chains.get_mut(c) else {
                continue;
            };
            let len = chain.entries.len();
            let (open, kept) = if strike {
                (&mut chain.open_strikes, &mut chain.in_strike)
            } else {
                (&mut chain.open_intros, &mut chain.in_intro)
            };
            // The entries whose counts changed: those the least open
            // position moved past, and those the least kept one moved
            // down to.
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
                self.graph.work().add(touched.len());
                self.queue.extend_from_slice(touched);
            }
        }
    }

    /// Step 1 until nothing more follows.
    pub(super) fn propagate(&mut self) {
        while let Some(i) = self.queue.pop() {
            self.graph.work().add(1);
            if self.fate(i) == Fate::Open {
                let next = self.decide(i);
                self.set(i, next);
            }
        }
    }

    /// Whether removal `r` would drop `i` (both open, so both members): it
    /// removes `i`'s author and has `i` outside its causal past.
    fn strikes(&self, r: usize, i: usize) -> bool {
        let Some(author) = self.graph.author(i) else {
            return false;
        };
        r != i && self.graph.removes(r).any(|w| w == author) && !self.graph.in_past(r, i)
    }

    /// Steps 2 to 4, once step 1 decides nothing more (see
    /// [`super::retain`]).
    pub(super) fn resolve(&self, order: &[usize]) -> Vec<(usize, Fate)> {
        self.graph.work().add(order.len());
        let open: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| self.fate(i) == Fate::Open)
            .collect();
        let removals: Vec<usize> = open
            .iter()
            .copied()
            .filter(|&i| self.is_removal(i) && self.grounded(i))
            .collect();
        let contest = Contest::new(self, &removals);
        // Step 2, else step 3.
        let steps: [Step<G>; 2] = [Contest::mutual, Contest::unopposed];
        for step in steps {
            let kept: Vec<(usize, Fate)> = removals
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

    /// Where removal `s` reaches into `target`'s chain, if it has one.
    fn reach_into(&self, s: usize, target: &G::Who) -> Option<(usize, usize)> {
        let c = *self.chain_of.get(target)?;
        self.reach.get(s)?.iter().copied().find(|(rc, _)| *rc == c)
    }
}

/// Step 2 or step 3 of [`super::retain`], for one open removal.
type Step<G> = fn(&Contest<<G as Graph>::Who>, &Retention<'_, G>, usize) -> bool;

/// The open removals by writers whose introduction is kept, indexed for
/// steps 2 and 3.
struct Contest<W> {
    /// By (author, removed writer).
    between: HashMap<(W, W), Between>,
    /// Per chain: the least position they strike from.
    least_strike: HashMap<usize, usize>,
}

/// The removals one writer wrote of another.
#[derive(Default)]
struct Between {
    all: Vec<usize>,
    /// When both have chains: (the removal's position in its author's
    /// chain, the position it strikes the other's chain from), by the
    /// first, with the least second from each one on.
    chained: Vec<(usize, usize)>,
    least_from: Vec<usize>,
}

impl<W: Copy + Eq + std::hash::Hash> Contest<W> {
    fn new<G: Graph<Who = W>>(r: &Retention<'_, G>, removals: &[usize]) -> Self {
        let mut between: HashMap<(W, W), Between> = HashMap::new();
        let mut least_strike: HashMap<usize, usize> = HashMap::new();
        for &s in removals {
            let Some(author) = r.graph.author(s) else {
                continue;
            };
            for target in r.graph.removes(s) {
                let group = between.entry((author, target)).or_default();
                group.all.push(s);
                let reach = r.reach_into(s, &target);
                if let Some((c, from)) = reach {
                    let least = least_strike.entry(c).or_insert(usize::MAX);
                    *least = (*least).min(from);
                }
                if let (Some((_, at)), Some((_, from))) = (r.link.get(s).copied().flatten(), reach)
                {
                    group.chained.push((at, from));
                }
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
        r.graph.work().add(removals.len());
        Self {
            between,
            least_strike,
        }
    }

    /// Step 2: an open removal by one of `rev`'s targets of `rev`'s
    /// author, each outside the other's causal past.
    fn mutual<G: Graph<Who = W>>(&self, r: &Retention<'_, G>, rev: usize) -> bool {
        let Some(author) = r.graph.author(rev) else {
            return false;
        };
        r.graph
            .removes(rev)
            .any(|target| self.mutual_with(r, rev, author, target))
    }

    fn mutual_with<G: Graph<Who = W>>(
        &self,
        r: &Retention<'_, G>,
        rev: usize,
        author: W,
        target: W,
    ) -> bool {
        let Some(group) = self.between.get(&(target, author)) else {
            return false;
        };
        let chained = author != target && group.chained.len() == group.all.len();
        match (
            chained,
            r.link.get(rev).copied().flatten(),
            r.reach_into(rev, &target),
        ) {
            (true, Some((_, at)), Some((_, from))) => {
                // `rev` strikes those at or past `from` in its target's
                // chain; one of them strikes `rev` if it strikes from `at`
                // or before.
                r.graph.work().add(
                    usize::BITS.saturating_sub(group.chained.len().leading_zeros()) as usize + 1,
                );
                let k = group.chained.partition_point(|&(pos, _)| pos < from);
                group.least_from.get(k).is_some_and(|&least| least <= at)
            }
            _ => {
                r.graph.work().add(group.all.len());
                group
                    .all
                    .iter()
                    .any(|&other| r.strikes(other, rev) && r.strikes(rev, other))
            }
        }
    }

    /// Step 3: no open removal by a writer whose introduction is kept
    /// would drop `rev`.
    fn unopposed<G: Graph<Who = W>>(&self, r: &Retention<'_, G>, rev: usize) -> bool {
        r.graph.work().add(1);
        if let Some((c, at)) = r.link.get(rev).copied().flatten() {
            return self.least_strike.get(&c).is_none_or(|&least| at < least);
        }
        let strikers = r.strikers.get(rev).map(Vec::as_slice).unwrap_or(&[]);
        r.graph.work().add(strikers.len());
        strikers
            .iter()
            .all(|&s| r.fate(s) != Fate::Open || !r.grounded(s))
    }
}
