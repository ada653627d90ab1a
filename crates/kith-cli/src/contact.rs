//! `kith invite` and `kith contact …`: sharing a link, adding contacts,
//! safety numbers, validation and compromise.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;

use clap::Subcommand;
use kith_core::{CoreError, Node};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::human::s;
use crate::to_value;

/// `kith contact …`
#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum ContactCommand {
    /// Add a contact from its `kith:` link.
    Add {
        /// The link.
        uri: String,
        /// Your name for the contact.
        #[arg(long)]
        name: Option<String>,
    },
    /// All contacts with their trust state.
    List,
    /// The 60-digit safety number to compare with a contact.
    SafetyNumber {
        /// The contact.
        contact: String,
    },
    /// Validate a contact with the safety number shown on their device.
    Validate {
        /// The contact.
        contact: String,
        /// The 60 digits (spaces allowed).
        #[arg(long)]
        safety_number: String,
    },
    /// Mark a contact compromised.
    Compromise {
        /// The contact.
        contact: String,
    },
    /// Acknowledge the devices a validated contact has now (after it
    /// gained one: `contact list` shows `new_devices`).
    Acknowledge {
        /// The contact.
        contact: String,
    },
}

/// `kith invite`: a fresh contact invite.
pub(crate) async fn invite(node: &Node) -> Result<Value, CoreError> {
    Ok(json!({ "uri": node.invite().await? }))
}

/// Runs a contact command on an open node.
pub(crate) async fn execute(node: &Node, command: &ContactCommand) -> Result<Value, CoreError> {
    match command {
        ContactCommand::Add { uri, name } => {
            to_value(node.add_contact(uri, name.as_deref()).await?)
        }
        ContactCommand::List => to_value(node.contacts().await),
        ContactCommand::SafetyNumber { contact } => {
            Ok(json!({ "safety_number": node.safety_number(contact).await? }))
        }
        ContactCommand::Validate {
            contact,
            safety_number,
        } => to_value(node.validate(contact, safety_number).await?),
        ContactCommand::Compromise { contact } => to_value(node.compromise(contact).await?),
        ContactCommand::Acknowledge { contact } => {
            to_value(node.acknowledge_devices(contact).await?)
        }
    }
}

/// Writes the invite's QR code as a PNG image (after `kith invite --qr`).
pub(crate) fn write_qr(path: &std::path::Path, value: &Value) -> Result<(), CoreError> {
    let png = kith_core::qr_png(&s(value, "uri"))?;
    std::fs::write(path, png)
        .map_err(|e| CoreError::new("io", format!("cannot write {}: {e}", path.display())))
}

/// `kith invite`, for people.
pub(crate) fn print_invite(
    out: &mut impl Write,
    qr: Option<&std::path::Path>,
    value: &Value,
) -> std::io::Result<()> {
    writeln!(out, "{}", s(value, "uri"))?;
    if let Some(path) = qr {
        writeln!(out, "QR code written to {}", path.display())?;
    }
    writeln!(
        out,
        "Share this link (single use, valid 7 days); validate the contact afterwards."
    )
}

/// A contact command's result, for people.
pub(crate) fn print(
    out: &mut impl Write,
    command: &ContactCommand,
    value: &Value,
) -> std::io::Result<()> {
    match command {
        ContactCommand::List => {
            let list = value.as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                return writeln!(
                    out,
                    "No contacts yet. Add one with `kith contact add <kith: link>`."
                );
            }
            for c in list {
                let devices = c["devices"].as_array().map_or(0, Vec::len);
                writeln!(
                    out,
                    "{:<20} {:<12} {} device(s)  {}",
                    c["name"].as_str().unwrap_or("(no name)"),
                    s(&c, "state"),
                    devices,
                    s(&c, "contact_id")
                )?;
                let new = c["new_devices"].as_array().map_or(0, Vec::len);
                if new > 0 {
                    writeln!(
                        out,
                        "    {new} new device(s) since you validated: compare safety numbers again \
                         (`kith contact safety-number`), or `kith contact acknowledge`"
                    )?;
                }
            }
            Ok(())
        }
        ContactCommand::SafetyNumber { .. } => {
            let digits = s(value, "safety_number");
            let groups: Vec<&str> = (0..12)
                .filter_map(|i| digits.get(i * 5..i * 5 + 5))
                .collect();
            writeln!(
                out,
                "{}\n{}",
                groups.get(..6).unwrap_or(&groups).join(" "),
                groups.get(6..).map(|g| g.join(" ")).unwrap_or_default()
            )?;
            writeln!(
                out,
                "Compare with the number on your contact's device, then run `kith contact validate`."
            )
        }
        ContactCommand::Add { .. }
        | ContactCommand::Validate { .. }
        | ContactCommand::Compromise { .. }
        | ContactCommand::Acknowledge { .. } => writeln!(
            out,
            "{} is {}{}",
            value["name"].as_str().unwrap_or("the contact"),
            s(value, "state"),
            if s(value, "state") == "unvalidated" {
                " (compare safety numbers to validate)"
            } else {
                ""
            }
        ),
    }
}

/// `kith contact add` run in this process: online, add, then give the new
/// contact's device a moment to sync.
pub(crate) async fn add_here(node: &Node, command: &ContactCommand) -> Result<Value, CoreError> {
    node.go_online().await?;
    let added = execute(node, command).await;
    if added.is_ok() {
        let _ = node.sync(std::time::Duration::from_secs(5)).await;
    }
    added
}
