//! Strong remove: which entries of a signed, causally linked log count,
//! when some entries introduce writers and others remove them.
//!
//! Two logs use it: the account device log (devices add and revoke
//! devices) and a group's membership (admins add and remove accounts,
//! members leave). Each describes its entries through [`Graph`]; the rules
//! are one function, [`retain`], so both logs resolve a contest the same
//! way (`docs/identity.md`, "strong remove"; `docs/groups.md`).
//!
//! An entry counts only if a kept entry in its causal past introduced its
//! author (a genesis introduces itself), and no kept removal of its author
//! has it outside its causal past. A dropped entry has no effect at all: a
//! dropped removal removes nothing, a dropped introduction introduces
//! nobody. Two removals of each other's authors, each outside the other's
//! causal past, are both kept: both writers go.

mod bitset;
mod retention;
mod work;

use std::hash::Hash;

pub(crate) use bitset::BitSet;
pub(crate) use retention::Fate;
use retention::Retention;
pub(crate) use work::Work;

/// What strong remove reads of a log: entries by index, their authors,
/// what each does, and the causal order. An entry either removes or
/// introduces (never both).
pub(crate) trait Graph {
    /// Who writes entries and is introduced and removed.
    type Who: Copy + Eq + Hash + Ord;

    /// The author of entry `i`.
    fn author(&self, i: usize) -> Option<Self::Who>;

    /// Whether `i` is the log's genesis (it introduces itself).
    fn is_genesis(&self, i: usize) -> bool;

    /// Whom `i` removes.
    fn removes(&self, i: usize) -> impl Iterator<Item = Self::Who> + '_;

    /// Whom `i` introduces.
    fn introduces(&self, i: usize) -> impl Iterator<Item = Self::Who> + '_;

    /// Whether `i` is in `of`'s causal past (not `of` itself).
    fn in_past(&self, of: usize, i: usize) -> bool;

    /// Whether `who`'s entries, in index order, form one chain: each has
    /// the one before in its causal past (a device that never
    /// equivocated). Chained writers are evaluated in near-linear work;
    /// the others through explicit pairs.
    fn chained(&self, who: &Self::Who) -> bool;

    /// The step counter evaluation adds to.
    fn work(&self) -> &Work;
}

/// Which of `order`'s entries (a causally closed set, in a canonical
/// order every device computes alike) strong remove keeps:
///
/// 1. What follows from what is decided is decided, until nothing more
///    does.
/// 2. Two removals left open that remove each other's authors (each
///    outside the other's causal past), both by writers whose
///    introduction is kept, are both kept: both writers go.
/// 3. Otherwise a removal left open by a writer whose introduction is
///    kept, that only removals by writers whose own introduction is still
///    open could drop, is kept: a writer introduced concurrently with its
///    introducer's removal cannot save its introducer.
/// 4. Otherwise whatever is still open is dropped.
///
/// Returned with whether step 1 alone decided every entry (no contest had
/// to be resolved).
///
/// Step 1 runs as a work list: each entry keeps counts of its open
/// removers and open introductions, and a decided entry updates only the
/// entries it removes or introduces. The work is the number of (removal,
/// entry of its target) and (introduction, entry of its target) pairs,
/// not the square of the log.
pub(crate) fn retain<G: Graph>(graph: &G, order: &[usize]) -> (BitSet, bool) {
    let mut r = Retention::new(graph, order);
    let mut pure = true;
    loop {
        r.propagate();
        let decided = r.resolve(order);
        if decided.is_empty() {
            break;
        }
        pure = false;
        for (i, next) in decided {
            r.set(i, next);
        }
    }
    let mut kept = BitSet::default();
    for &i in order {
        if r.fate(i) == Fate::In {
            kept.insert(i);
        }
    }
    (kept, pure)
}
