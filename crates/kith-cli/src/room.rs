//! `kith room …`: public rooms: create, invite (the link), join, ban,
//! remove a post.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;
use kith_core::{CoreError, Node};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::human::{s, short};
use crate::to_value;

/// `kith room …`
#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum RoomCommand {
    /// Create a public room, with you as its admin; prints its link.
    /// Anyone with the link reads the room and may post in it.
    Create {
        /// Its name.
        name: String,
    },
    /// The room's `kith-room:` link, with this device as its door.
    Invite {
        /// The room (id, a unique prefix of it, or its name).
        room: String,
    },
    /// Join a room by its `kith-room:` link (needs the network).
    Join {
        /// The link.
        uri: String,
    },
    /// Ban an account from a room (moderators and admins): what it writes
    /// from then on is shown and forwarded by nobody.
    Ban {
        /// The room.
        room: String,
        /// The account (its id, or a unique prefix of it).
        account_id: String,
    },
    /// Set who may post in a room and its slow mode (moderators and admins).
    SetPolicy {
        /// The room.
        room: String,
        /// Who may post: `everyone` or `moderators`.
        #[arg(long, default_value = "everyone")]
        posting: String,
        /// Seconds between two posts of one member device (0: any pace;
        /// moderators are never slowed).
        #[arg(long, default_value_t = 0)]
        slow_mode: u32,
    },
    /// Make a member of a room a moderator (admins only): moderators ban,
    /// remove posts and set the policy.
    Moderator {
        /// The room.
        room: String,
        /// The member (a contact, or the member's account id).
        member: String,
    },
    /// Remove a post from a room for everyone (moderators and admins).
    RemovePost {
        /// The room.
        room: String,
        /// The post's message id (or a unique prefix, 8 hex digits at least).
        message_id: String,
    },
}

/// Runs a room command on an open node.
pub(crate) async fn execute(node: &Node, command: &RoomCommand) -> Result<Value, CoreError> {
    match command {
        RoomCommand::Create { name } => to_value(node.create_room(name).await?),
        RoomCommand::Invite { room } => to_value(node.room_invite(room).await?),
        RoomCommand::Join { uri } => to_value(node.join_room(uri).await?),
        RoomCommand::Ban { room, account_id } => to_value(node.room_ban(room, account_id).await?),
        RoomCommand::SetPolicy {
            room,
            posting,
            slow_mode,
        } => to_value(node.room_set_policy(room, posting, *slow_mode).await?),
        RoomCommand::Moderator { room, member } => {
            to_value(node.room_make_moderator(room, member).await?)
        }
        RoomCommand::RemovePost { room, message_id } => {
            to_value(node.room_remove_post(room, message_id).await?)
        }
    }
}

/// `kith room join` run in this process: online, join, then stay until the
/// join has reached the room's devices.
pub(crate) async fn join_here(node: &Node, uri: &str) -> Result<Value, CoreError> {
    node.go_online().await?;
    let joined = to_value(node.join_room(uri).await?);
    let _ = node.sync(Duration::from_secs(20)).await;
    joined
}

/// A room command's result, for people.
pub(crate) fn print(
    out: &mut impl Write,
    command: &RoomCommand,
    value: &Value,
) -> std::io::Result<()> {
    match command {
        RoomCommand::Create { .. } => {
            writeln!(
                out,
                "Created the room {} ({}). Anyone with this link can read it and post:",
                s(value, "name"),
                short(&s(value, "group_id"))
            )?;
            writeln!(out, "{}", s(value, "uri"))?;
            writeln!(
                out,
                "Posts in a room are signed by their authors and readable by anyone with the link."
            )
        }
        RoomCommand::Invite { .. } => writeln!(out, "{}", s(value, "uri")),
        RoomCommand::Join { .. } => writeln!(
            out,
            "You joined the room {} ({}). Your posts there are signed and readable by anyone with its link.",
            s(value, "name"),
            short(&s(value, "group_id"))
        ),
        RoomCommand::Ban { .. } | RoomCommand::SetPolicy { .. } | RoomCommand::Moderator { .. } => {
            crate::group::print_group(out, value)
        }
        RoomCommand::RemovePost { .. } => writeln!(
            out,
            "Removed the post {} for everyone in the room.",
            short(&s(value, "message_id"))
        ),
    }
}
