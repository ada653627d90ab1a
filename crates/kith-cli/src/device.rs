//! `kith device …`: this account's devices, and revoking one.
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

/// `kith device …`
#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum DeviceCommand {
    /// This account's devices.
    List,
    /// Revoke (untrust) a device: it is cut off everywhere.
    Revoke {
        /// The device id (or a unique prefix).
        device_id: String,
    },
}

/// Runs a device command on an open node.
pub(crate) async fn execute(node: &Node, command: &DeviceCommand) -> Result<Value, CoreError> {
    match command {
        DeviceCommand::List => to_value(node.devices().await),
        DeviceCommand::Revoke { device_id } => {
            node.revoke(device_id).await?;
            Ok(json!({ "revoked": device_id }))
        }
    }
}

/// A device command's result, for people.
pub(crate) fn print(
    out: &mut impl Write,
    command: &DeviceCommand,
    value: &Value,
) -> std::io::Result<()> {
    match command {
        DeviceCommand::List => {
            for d in value.as_array().cloned().unwrap_or_default() {
                writeln!(
                    out,
                    "{:<20} {:<8} {}{}",
                    s(&d, "name"),
                    s(&d, "state"),
                    s(&d, "device_id"),
                    if d["this_device"].as_bool() == Some(true) {
                        "  (this device)"
                    } else {
                        ""
                    }
                )?;
                if let Some(note) = d["note"].as_str() {
                    writeln!(out, "    {note}")?;
                }
            }
            Ok(())
        }
        DeviceCommand::Revoke { .. } => writeln!(
            out,
            "Device revoked: it is cut off from every device that hears of it."
        ),
    }
}
