//! A group's membership: the signed membership operations of its log
//! (`kith_wire::GroupOp`), evaluated with the same strong-remove rules as
//! the account device log ([`crate::strong_remove`]).
//!
//! Validity has the device log's two parts:
//!
//! * **At issuance** (checked on insert, from the operation's causal past
//!   only): the creator's `Create` comes first and matches the group's
//!   id; every other operation's author was an active member with the role
//!   it needs (admin to add, remove, promote and rename; any member to
//!   leave) as the author saw the membership; the operation makes sense
//!   there (no adding a member twice, no promoting to a role held). An
//!   operation that fails is refused.
//! * **In the whole log**: strong remove over the accounts. A removal (or
//!   a leave) that counts drops every operation of the member that is not
//!   in its causal past, and with them what they did (whom they added or
//!   promoted). Each role of an account is a writer of its own (admin
//!   operations are the admin role's entries, a leave the member role's),
//!   so a promotion dropped with its author's removal takes the promoted
//!   member's admin operations with it. Two admins who remove each other
//!   concurrently both go.
//!
//! The state is a function of the set of operations alone: every member
//! device computes the same members and roles whatever order they arrived
//! in.

mod evaluate;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kith_crypto::hash::blake2b_256;
use kith_wire::{
    AccountId, ConversationId, ConversationKind, EntryHash, GroupOp, MAX_GROUP_MEMBERS,
    MAX_GROUP_OPS, Posting, Role, domain,
};

use crate::error::{IdentityError, Result};
use crate::strong_remove::{BitSet, Work};

/// The id of a group or room: `BLAKE2b-256("kith-conversation-v1", kind ‖
/// creator ‖ nonce)`, so the `Create` entry proves who made it.
pub fn group_id(
    kind: ConversationKind,
    creator: &AccountId,
    nonce: &[u8; 32],
) -> Result<ConversationId> {
    let label: &[u8] = match kind {
        ConversationKind::Group => b"group",
        ConversationKind::Room => b"room",
        _ => return Err(IdentityError::Membership("a group is a group or a room")),
    };
    Ok(ConversationId(blake2b_256(
        domain::CONVERSATION,
        &[label, creator.as_bytes(), nonce],
    )?))
}

/// Where a member stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MemberStatus {
    /// A member.
    Active,
    /// Removed by an admin, in entry `entry`.
    Removed {
        /// The admin.
        by: AccountId,
        /// The removal.
        entry: EntryHash,
    },
    /// Left, in entry `entry`.
    Left {
        /// The leave.
        entry: EntryHash,
    },
    /// Banned from a room by a moderator or admin, in entry `entry`.
    Banned {
        /// The moderator or admin.
        by: AccountId,
        /// The ban.
        entry: EntryHash,
    },
}

/// One member account (current or former).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Member {
    /// Its role (the last it had, for a former member).
    pub role: Role,
    /// Where it stands.
    pub status: MemberStatus,
    /// Who added it (`None`: the creator, or a room member who joined by
    /// itself).
    pub added_by: Option<AccountId>,
    /// Heads of its device log as its adder (or itself, joining) knew it.
    pub heads: Vec<EntryHash>,
}

impl Member {
    /// Whether it is a member now.
    pub fn is_active(&self) -> bool {
        self.status == MemberStatus::Active
    }

    /// The entry that ended its membership, if one did.
    pub fn ended_by(&self) -> Option<EntryHash> {
        match self.status {
            MemberStatus::Active => None,
            MemberStatus::Removed { entry, .. }
            | MemberStatus::Left { entry }
            | MemberStatus::Banned { entry, .. } => Some(entry),
        }
    }
}

/// The membership a set of operations gives.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GroupState {
    /// `Group` or `Room` (`None` before the `Create` arrived).
    pub kind: Option<ConversationKind>,
    /// The group's name.
    pub name: String,
    /// Who created it.
    pub creator: Option<AccountId>,
    /// Every account that was a member, by account.
    pub members: BTreeMap<AccountId, Member>,
    /// The operations not in any other's causal past.
    pub heads: Vec<EntryHash>,
    /// Rooms: posts a moderator or admin removed for everyone.
    pub removed_posts: BTreeSet<EntryHash>,
    /// Rooms: who may post, and the slow mode.
    pub policy: RoomPolicy,
}

/// A room's posting policy (`GroupOp::SetPolicy`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RoomPolicy {
    /// Who may post.
    pub posting: Posting,
    /// Seconds between two posts of one member device (0: any pace).
    pub slow_mode_secs: u32,
}

impl GroupState {
    /// `account`'s role, if it is a member now.
    pub fn role_of(&self, account: &AccountId) -> Option<Role> {
        self.members
            .get(account)
            .filter(|m| m.is_active())
            .map(|m| m.role)
    }

    /// The members now.
    pub fn active(&self) -> impl Iterator<Item = (&AccountId, &Member)> {
        self.members.iter().filter(|(_, m)| m.is_active())
    }
}

/// One stored operation.
#[derive(Clone, Debug)]
struct Node {
    hash: EntryHash,
    author: AccountId,
    op: GroupOp,
    /// Longest path from the `Create` (depth 0).
    depth: u64,
    /// Indices of every operation in its causal past.
    ancestors: BitSet,
}

/// A group's membership operations and the state they give.
#[derive(Clone, Debug)]
pub struct Membership {
    group: ConversationId,
    nodes: Vec<Node>,
    by_hash: HashMap<EntryHash, usize>,
    state: GroupState,
    work: Work,
}

impl Membership {
    /// No operations yet, for the group `group`.
    pub fn new(group: ConversationId) -> Self {
        Self {
            group,
            nodes: Vec::new(),
            by_hash: HashMap::new(),
            state: GroupState::default(),
            work: Work::default(),
        }
    }

    /// The group's id.
    pub fn group(&self) -> ConversationId {
        self.group
    }

    /// The state of all operations held.
    pub fn state(&self) -> &GroupState {
        &self.state
    }

    /// How many operations are held.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether operation `hash` is held.
    pub fn contains(&self, hash: &EntryHash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// Evaluation steps taken so far (for tests of how work grows).
    pub fn evaluation_steps(&self) -> u64 {
        self.work.get()
    }

    /// The membership as an entry saw it whose causal past holds the
    /// operations `past` (and theirs): what decides whether a message's
    /// author was a member when it wrote.
    pub fn state_at(&self, past: &[EntryHash]) -> Result<GroupState> {
        let closure = self.closure(past)?;
        Ok(self.evaluate_set(&closure))
    }

    /// Of `candidates` (operations held), those not in another's causal
    /// past, sorted: the operations an entry with these in its past names.
    pub fn frontier(&self, candidates: &[EntryHash]) -> Vec<EntryHash> {
        let indices: Vec<usize> = candidates
            .iter()
            .filter_map(|h| self.by_hash.get(h).copied())
            .collect();
        let mut out: Vec<EntryHash> = indices
            .iter()
            .filter(|&&i| {
                !indices
                    .iter()
                    .any(|&j| self.nodes.get(j).is_some_and(|n| n.ancestors.contains(i)))
            })
            .filter_map(|&i| self.nodes.get(i).map(|n| n.hash))
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// Checks an operation against its causal past (`past`: held
    /// operations whose closure is that past) and stores it. An operation
    /// held already is no change.
    pub fn insert(
        &mut self,
        hash: EntryHash,
        author: AccountId,
        op: GroupOp,
        past: &[EntryHash],
    ) -> Result<()> {
        if self.by_hash.contains_key(&hash) {
            return Ok(());
        }
        op.check_limits()?;
        if self.nodes.len() >= MAX_GROUP_OPS {
            return Err(IdentityError::Membership("too many membership changes"));
        }
        let ancestors = self.closure(past)?;
        let depth = past
            .iter()
            .filter_map(|h| self.by_hash.get(h).and_then(|&i| self.nodes.get(i)))
            .map(|n| n.depth.saturating_add(1))
            .max()
            .unwrap_or(0);
        let seen = if ancestors.count() == self.nodes.len() {
            self.state.clone()
        } else {
            self.evaluate_set(&ancestors)
        };
        self.check_issuance(&author, &op, past.is_empty(), &seen)?;
        let index = self.nodes.len();
        self.nodes.push(Node {
            hash,
            author,
            op,
            depth,
            ancestors,
        });
        self.by_hash.insert(hash, index);
        let mut all = BitSet::default();
        for i in 0..self.nodes.len() {
            all.insert(i);
        }
        self.state = self.evaluate_set(&all);
        Ok(())
    }

    /// The indices of `past` and everything in their causal past.
    fn closure(&self, past: &[EntryHash]) -> Result<BitSet> {
        let mut set = BitSet::default();
        for hash in past {
            let &i = self.by_hash.get(hash).ok_or(IdentityError::Membership(
                "unknown earlier membership change",
            ))?;
            let node = self.nodes.get(i).ok_or(IdentityError::Membership(
                "unknown earlier membership change",
            ))?;
            set.insert(i);
            set.union_with(&node.ancestors);
        }
        self.work.add(past.len());
        Ok(set)
    }

    /// The rules that need only the operation and the membership its
    /// author saw.
    fn check_issuance(
        &self,
        author: &AccountId,
        op: &GroupOp,
        first: bool,
        seen: &GroupState,
    ) -> Result<()> {
        let refuse = |why| Err(IdentityError::Membership(why));
        if let GroupOp::Create { kind, nonce, .. } = op {
            if !first || self.state.creator.is_some() {
                return refuse("a group is created once, by its first entry");
            }
            return match group_id(*kind, author, nonce) {
                Ok(id) if id == self.group => Ok(()),
                _ => refuse("the group's id does not match its creation"),
            };
        }
        if first || seen.creator.is_none() {
            return refuse("a membership change must follow the group's creation");
        }
        if let GroupOp::Join { .. } = op {
            if seen.kind != Some(ConversationKind::Room) {
                return refuse("only a room is joined by link: a group's admin adds members");
            }
            return may_enter(seen, author, "a former member cannot join again");
        }
        let Some(role) = seen.role_of(author) else {
            return refuse("the author is not a member");
        };
        if matches!(op, GroupOp::Leave) {
            return Ok(());
        }
        if let GroupOp::RemovePost { .. } = op {
            return moderates(
                seen,
                role,
                "posts are removed for everyone in rooms only",
                "only a moderator or an admin may remove a post",
            );
        }
        if let GroupOp::SetPolicy { .. } = op {
            return moderates(
                seen,
                role,
                "a posting policy is for rooms only",
                "only a moderator or an admin may set who posts",
            );
        }
        if let GroupOp::Ban { account } = op {
            moderates(
                seen,
                role,
                "only a room's members are banned: remove the member",
                "only a moderator or an admin may ban",
            )?;
            return match seen.role_of(account) {
                None => refuse("not a member"),
                Some(theirs) if theirs >= role => {
                    refuse("only a member of a lower role can be banned")
                }
                Some(_) => Ok(()),
            };
        }
        if role != Role::Admin {
            return refuse("only an admin may change the members");
        }
        match op {
            GroupOp::Add { account, .. } => {
                may_enter(seen, account, "a former member cannot be added again")
            }
            GroupOp::Remove { account } => {
                if account == author {
                    return refuse("to leave, leave; an admin does not remove itself");
                }
                if seen.role_of(account).is_none() {
                    return refuse("not a member");
                }
                Ok(())
            }
            GroupOp::SetRole { account, role } => match seen.role_of(account) {
                None => refuse("not a member"),
                Some(held) if held >= *role => {
                    refuse("roles only go up: remove the member to lower one")
                }
                Some(_) => Ok(()),
            },
            GroupOp::Rename { .. } => Ok(()),
            GroupOp::Create { .. }
            | GroupOp::Leave
            | GroupOp::Join { .. }
            | GroupOp::Ban { .. }
            | GroupOp::RemovePost { .. }
            | GroupOp::SetPolicy { .. } => Ok(()),
        }
    }
}

/// A rooms-only operation by a moderator or admin: `outside` says why not
/// in a group, `lower` why not from a member.
fn moderates(
    seen: &GroupState,
    role: Role,
    outside: &'static str,
    lower: &'static str,
) -> Result<()> {
    if seen.kind != Some(ConversationKind::Room) {
        return Err(IdentityError::Membership(outside));
    }
    if role < Role::Moderator {
        return Err(IdentityError::Membership(lower));
    }
    Ok(())
}

/// Whether `account` may become a member (added, or joining a room): it
/// never was one (`former` says why not if it was), and there is room.
fn may_enter(seen: &GroupState, account: &AccountId, former: &'static str) -> Result<()> {
    let refuse = |why| Err(IdentityError::Membership(why));
    match seen.members.get(account) {
        Some(m) if m.is_active() => refuse("already a member"),
        Some(_) => refuse(former),
        None if seen.members.len() >= MAX_GROUP_MEMBERS => refuse("the group is full"),
        None => Ok(()),
    }
}
