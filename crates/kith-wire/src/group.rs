//! Membership of groups and rooms: the operations admins and members sign
//! into the group's own log (as `Content::Membership` bodies of
//! `EntryKind::Membership` entries). Rules in `docs/groups.md`.

use serde::{Deserialize, Serialize};

use crate::{AccountId, ConversationKind, EntryHash, WireError, limits};

/// A member's role, lowest first: each role may do what the ones below it may.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    /// Reads and writes messages; may leave.
    Member,
    /// A member who may also moderate (rooms: ban, remove posts).
    Moderator,
    /// A moderator who may also add, remove and promote members, and rename.
    Admin,
}

/// Who may post in a room.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Posting {
    /// Every member.
    #[default]
    Everyone,
    /// Moderators and admins only (an announcement channel).
    Moderators,
}

/// Longest slow mode: a day between two posts of one device.
pub const MAX_SLOW_MODE_SECS: u32 = 86_400;

impl Role {
    /// The name the CLI and the app show.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Member => "member",
            Self::Moderator => "moderator",
            Self::Admin => "admin",
        }
    }
}

/// One change of a group's membership.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum GroupOp {
    /// The group's first entry, by its creator (its first admin). The
    /// group's id commits to kind, creator and nonce.
    Create {
        /// `Group` or `Room`.
        kind: ConversationKind,
        /// The group's name.
        name: String,
        /// Random; makes the id unique.
        nonce: [u8; 32],
    },
    /// An admin adds an account.
    Add {
        /// The account added.
        account: AccountId,
        /// Its role.
        role: Role,
        /// Heads of its device log as the admin knew it (so other members
        /// can fetch and check the log of someone who is not their contact).
        heads: Vec<EntryHash>,
    },
    /// An admin removes a member (never itself: see `Leave`).
    Remove {
        /// The member removed.
        account: AccountId,
    },
    /// An admin raises a member's role (roles only go up; to lower one,
    /// remove the member).
    SetRole {
        /// The member.
        account: AccountId,
        /// Its new role, above the one it has.
        role: Role,
    },
    /// The author's account leaves (all of its devices).
    Leave,
    /// An admin renames the group.
    Rename {
        /// The new name.
        name: String,
    },
    /// Rooms only: the author's account joins by itself (it holds the
    /// room's link), as a member. Never an account that was in the room.
    Join {
        /// Heads of the joiner's device log (so members who do not know
        /// it can fetch and check it).
        heads: Vec<EntryHash>,
    },
    /// Rooms only: a moderator or admin bans a member of a lower role.
    /// What the banned account writes outside the ban's causal past is
    /// dropped (shown and forwarded by nobody), and it cannot join again.
    Ban {
        /// The account banned.
        account: AccountId,
    },
    /// Rooms only: a moderator or admin removes a post for everyone: its
    /// body is deleted on every device that has this, and it is shown and
    /// forwarded by nobody. Never a membership change.
    RemovePost {
        /// The post (an entry of the room).
        entry: EntryHash,
    },
    /// Rooms only: a moderator or admin sets who may post and the slow
    /// mode (members' devices post at most once per `slow_mode_secs`; 0:
    /// no slow mode). The latest in canonical order holds.
    SetPolicy {
        /// Who may post.
        posting: Posting,
        /// Seconds between two posts of one member device (0: any pace).
        slow_mode_secs: u32,
    },
}

/// Most member accounts of one group, removed and departed ones included.
pub const MAX_GROUP_MEMBERS: usize = 1000;
/// Most membership operations in one group.
pub const MAX_GROUP_OPS: usize = 8192;

impl GroupOp {
    /// Checks the bounds a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        match self {
            Self::Create { kind, name, .. } => {
                if !matches!(kind, ConversationKind::Group | ConversationKind::Room) {
                    return Err(WireError::Limit("a group is a group or a room"));
                }
                limits::check_name(name)
            }
            Self::Add { heads, .. } | Self::Join { heads } => {
                if heads.is_empty() || heads.len() > limits::MAX_INVITE_HEADS {
                    return Err(WireError::Limit("device-log heads of an added member"));
                }
                Ok(())
            }
            Self::Rename { name } => limits::check_name(name),
            Self::Remove { .. }
            | Self::SetRole { .. }
            | Self::Leave
            | Self::Ban { .. }
            | Self::RemovePost { .. } => Ok(()),
            Self::SetPolicy { slow_mode_secs, .. } => {
                if *slow_mode_secs > MAX_SLOW_MODE_SECS {
                    return Err(WireError::Limit("slow mode of more than a day"));
                }
                Ok(())
            }
        }
    }
}
