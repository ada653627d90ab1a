//! Evaluating a group's membership: strong remove over the accounts' roles
//! (shared with the device log), then what the kept operations do, in a
//! canonical order every device computes alike.

use kith_wire::{AccountId, EntryHash, GroupOp, Role};

use super::{GroupState, Member, MemberStatus, Membership, RoomPolicy};
use crate::strong_remove::{BitSet, Graph, Work, retain};

/// Each role an account holds writes as a writer of its own: admin
/// operations are entries of the admin role, a leave an entry of the
/// member role. Removing or leaving ends all three.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct Writer {
    account: AccountId,
    role: Role,
}

const ROLES: [Role; 3] = [Role::Member, Role::Moderator, Role::Admin];

/// The writers of `account`'s roles up to `top`.
fn roles_up_to(target: Option<(AccountId, Role)>) -> impl Iterator<Item = Writer> {
    target.into_iter().flat_map(|(account, top)| {
        ROLES
            .into_iter()
            .filter(move |r| *r <= top)
            .map(move |role| Writer { account, role })
    })
}

impl Graph for Membership {
    type Who = Writer;

    fn author(&self, i: usize) -> Option<Writer> {
        self.nodes.get(i).map(|n| Writer {
            account: n.author,
            role: match n.op {
                GroupOp::Leave | GroupOp::Join { .. } => Role::Member,
                GroupOp::Ban { .. } | GroupOp::RemovePost { .. } | GroupOp::SetPolicy { .. } => {
                    Role::Moderator
                }
                _ => Role::Admin,
            },
        })
    }

    /// The `Create`, and a room's joins: a joiner introduces itself (it
    /// holds the link). Its writes still end with a ban that counts.
    fn is_genesis(&self, i: usize) -> bool {
        self.nodes
            .get(i)
            .is_some_and(|n| matches!(n.op, GroupOp::Create { .. } | GroupOp::Join { .. }))
    }

    fn removes(&self, i: usize) -> impl Iterator<Item = Writer> + '_ {
        let target = self.nodes.get(i).and_then(|n| match &n.op {
            GroupOp::Remove { account } | GroupOp::Ban { account } => Some((*account, Role::Admin)),
            GroupOp::Leave => Some((n.author, Role::Admin)),
            _ => None,
        });
        roles_up_to(target)
    }

    fn introduces(&self, i: usize) -> impl Iterator<Item = Writer> + '_ {
        let target = self.nodes.get(i).and_then(|n| match &n.op {
            GroupOp::Create { .. } => Some((n.author, Role::Admin)),
            GroupOp::Join { .. } => Some((n.author, Role::Member)),
            // A promotion vouches for the member too: an admin who kept
            // it saw the member in the group.
            GroupOp::Add { account, role, .. } | GroupOp::SetRole { account, role } => {
                Some((*account, *role))
            }
            _ => None,
        });
        roles_up_to(target)
    }

    fn in_past(&self, of: usize, i: usize) -> bool {
        self.nodes.get(of).is_some_and(|n| n.ancestors.contains(i))
    }

    fn chained(&self, _who: &Writer) -> bool {
        // An account writes from several devices: no single chain.
        false
    }

    fn work(&self) -> &Work {
        &self.work
    }
}

impl Membership {
    /// The state of a causally closed set of operations: strong remove
    /// decides which count, then they apply in canonical order (depth,
    /// then hash).
    pub(super) fn evaluate_set(&self, members: &BitSet) -> GroupState {
        let mut order: Vec<usize> = (0..self.nodes.len())
            .filter(|i| members.contains(*i))
            .collect();
        self.work.add(order.len());
        order.sort_by_key(|&i| self.nodes.get(i).map(|n| (n.depth, n.hash)));
        let (kept, _) = retain(self, &order);
        let mut state = GroupState::default();
        for &i in &order {
            if let Some(n) = self.nodes.get(i).filter(|_| kept.contains(i)) {
                apply(&mut state, n.hash, n.author, &n.op);
            }
        }
        let mut covered = BitSet::default();
        for n in order.iter().filter_map(|&i| self.nodes.get(i)) {
            covered.union_with(&n.ancestors);
        }
        let mut heads: Vec<EntryHash> = order
            .iter()
            .filter(|&&i| !covered.contains(i))
            .filter_map(|&i| self.nodes.get(i).map(|n| n.hash))
            .collect();
        heads.sort();
        state.heads = heads;
        state
    }
}

/// An add or a promotion by `author`: `account` is a member with at least
/// `role` (a kept promotion vouches for the member too).
fn vouch<'s>(
    state: &'s mut GroupState,
    account: &AccountId,
    role: Role,
    author: AccountId,
) -> &'s mut Member {
    let member = state.members.entry(*account).or_insert_with(|| Member {
        role,
        status: MemberStatus::Active,
        added_by: Some(author),
        heads: Vec::new(),
    });
    member.role = member.role.max(role);
    member
}

/// What one kept operation does.
fn apply(state: &mut GroupState, hash: EntryHash, author: AccountId, op: &GroupOp) {
    match op {
        GroupOp::Create { kind, name, .. } => {
            state.kind = Some(*kind);
            state.name = name.clone();
            state.creator = Some(author);
            state.members.insert(
                author,
                Member {
                    role: Role::Admin,
                    status: MemberStatus::Active,
                    added_by: None,
                    heads: Vec::new(),
                },
            );
        }
        GroupOp::Add {
            account,
            role,
            heads,
        } => {
            let member = vouch(state, account, *role, author);
            for h in heads {
                if !member.heads.contains(h) {
                    member.heads.push(*h);
                }
            }
        }
        GroupOp::SetRole { account, role } => {
            vouch(state, account, *role, author);
        }
        GroupOp::Remove { account } => {
            if let Some(m) = state.members.get_mut(account).filter(|m| m.is_active()) {
                m.status = MemberStatus::Removed {
                    by: author,
                    entry: hash,
                };
            }
        }
        GroupOp::Leave => {
            if let Some(m) = state.members.get_mut(&author).filter(|m| m.is_active()) {
                m.status = MemberStatus::Left { entry: hash };
            }
        }
        GroupOp::Rename { name } => state.name = name.clone(),
        // A join never brings back a banned or departed account (a join
        // concurrent with its ban may come later in canonical order).
        GroupOp::Join { heads } => {
            state.members.entry(author).or_insert_with(|| Member {
                role: Role::Member,
                status: MemberStatus::Active,
                added_by: None,
                heads: heads.clone(),
            });
        }
        GroupOp::Ban { account } => {
            if let Some(m) = state.members.get_mut(account).filter(|m| m.is_active()) {
                m.status = MemberStatus::Banned {
                    by: author,
                    entry: hash,
                };
            }
        }
        GroupOp::RemovePost { entry } => {
            state.removed_posts.insert(*entry);
        }
        GroupOp::SetPolicy {
            posting,
            slow_mode_secs,
        } => {
            state.policy = RoomPolicy {
                posting: *posting,
                slow_mode_secs: *slow_mode_secs,
            };
        }
    }
}
