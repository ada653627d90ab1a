//! `kith group …`: private groups: create, add, remove, promote, leave,
//! list.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;

use clap::Subcommand;
use kith_core::{CoreError, Node};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::human::{s, short};
use crate::to_value;

/// `kith group …`
#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum GroupCommand {
    /// Create a private group, with you as its admin.
    Create {
        /// Its name.
        name: String,
        /// A contact to add (repeat for more).
        #[arg(long = "member", value_name = "CONTACT")]
        members: Vec<String>,
    },
    /// Add a contact to a group (admins only).
    Add {
        /// The group (id, a unique prefix of it, or its name).
        group: String,
        /// The contact.
        contact: String,
    },
    /// Remove a member from a group (admins only).
    Remove {
        /// The group.
        group: String,
        /// The member (a contact, or the member's account id).
        member: String,
    },
    /// Make a member an admin (admins only).
    Promote {
        /// The group.
        group: String,
        /// The member.
        member: String,
    },
    /// Leave a group on all of your devices (its history stays, read-only).
    Leave {
        /// The group.
        group: String,
    },
    /// Every group you are or were in, with your role.
    List,
}

/// Runs a group command on an open node.
pub(crate) async fn execute(node: &Node, command: &GroupCommand) -> Result<Value, CoreError> {
    match command {
        GroupCommand::Create { name, members } => to_value(node.create_group(name, members).await?),
        GroupCommand::Add { group, contact } => to_value(node.group_add(group, contact).await?),
        GroupCommand::Remove { group, member } => to_value(node.group_remove(group, member).await?),
        GroupCommand::Promote { group, member } => {
            to_value(node.group_promote(group, member).await?)
        }
        GroupCommand::Leave { group } => to_value(node.group_leave(group).await?),
        GroupCommand::List => to_value(node.groups().await),
    }
}

pub(crate) fn print_group(out: &mut impl Write, g: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "{}  {}  ({}, you: {})",
        s(g, "name"),
        short(&s(g, "group_id")),
        s(g, "kind"),
        s(g, "role")
    )?;
    for m in g["members"].as_array().cloned().unwrap_or_default() {
        let name = m["name"].as_str().unwrap_or("(no name)");
        writeln!(
            out,
            "    {:<24} {:<9} {}",
            name,
            s(&m, "role"),
            short(&s(&m, "account_id"))
        )?;
    }
    Ok(())
}

/// A group command's result, for people.
pub(crate) fn print(
    out: &mut impl Write,
    command: &GroupCommand,
    value: &Value,
) -> std::io::Result<()> {
    match command {
        GroupCommand::List => {
            let list = value.as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                return writeln!(out, "No groups yet.");
            }
            for g in list {
                print_group(out, &g)?;
            }
            Ok(())
        }
        GroupCommand::Leave { .. } => writeln!(
            out,
            "You left the group on all of your devices; its history stays here, read-only."
        ),
        _ => print_group(out, value),
    }
}
