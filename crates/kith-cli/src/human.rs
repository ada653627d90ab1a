//! Output for people (without `--json`), progress on stderr, and the
//! long-running `link request`.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;
use std::time::Duration;

use kith_core::{CoreError, Identity};
use serde_json::{Value, json};

use crate::{Command, ContactCommand, Ctx, DeviceCommand, LinkCommand};

/// A progress line on stderr (never in `--json` mode's stdout).
pub(crate) fn progress(ctx: &Ctx, message: &str) {
    if !ctx.json {
        let _ = writeln!(std::io::stderr(), "{message}");
    }
}

pub(crate) fn announce_daemon(ctx: &Ctx, id: &Identity) {
    if ctx.json {
        let line = json!({
            "status": "online",
            "account_id": id.account_id,
            "device_id": id.device_id,
            "addresses": id.addresses,
        });
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "{line}");
        let _ = out.flush();
    } else {
        let _ = writeln!(
            std::io::stderr(),
            "kith daemon: {} online as device {} at {}\n(stop with Ctrl-C; other kith commands on this data dir go through this daemon)",
            id.name,
            short(&id.device_id),
            if id.addresses.is_empty() {
                "no direct address".to_owned()
            } else {
                id.addresses.join(", ")
            },
        );
    }
}

fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or("").to_owned()
}

/// `kith link request`: the URI on the first stdout line, then wait.
pub(crate) async fn link_request(
    ctx: &Ctx,
    device_name: String,
    wait: u64,
) -> Result<Value, CoreError> {
    let json = ctx.json;
    let node = kith_core::request_link(
        &ctx.data_dir,
        &device_name,
        ctx.net.clone(),
        Duration::from_secs(wait),
        move |uri| {
            let mut out = std::io::stdout().lock();
            if json {
                let _ = writeln!(out, "{}", json!({ "uri": uri }));
            } else {
                let _ = writeln!(out, "{uri}");
                let _ = writeln!(
                    std::io::stderr(),
                    "On a device of your account, run: kith link accept <the link above>\nwaiting…"
                );
            }
            let _ = out.flush();
        },
    )
    .await?;
    progress(ctx, "linked; fetching the history…");
    let report = node.sync(Duration::from_secs(60)).await;
    let id = node.identity().await;
    node.shutdown().await;
    let _ = report?;
    Ok(json!({ "account_id": id.account_id, "device_id": id.device_id }))
}

/// Prints `value`, the result of `command`, for people.
pub(crate) fn print(out: &mut impl Write, command: &Command, value: &Value) -> std::io::Result<()> {
    match command {
        Command::Version => writeln!(
            out,
            "kith {} (libsodium {})",
            s(value, "kith"),
            s(value, "libsodium")
        ),
        Command::Init { .. } => {
            writeln!(
                out,
                "Account created.\n  account: {}\n  this device: {}",
                s(value, "account_id"),
                s(value, "device_id")
            )?;
            if s(value, "protection") == "key_file" {
                writeln!(
                    out,
                    "Note: the profile's key is in an owner-only file next to it; set KITH_PASSPHRASE\nbefore `kith init` to protect it with a passphrase instead."
                )?;
            }
            writeln!(
                out,
                "Next: `kith invite` to share a link, `kith daemon` to go online."
            )
        }
        Command::Whoami => {
            writeln!(out, "{} ({})", s(value, "name"), s(value, "account_id"))?;
            writeln!(out, "  this device: {}", s(value, "device_id"))?;
            let addresses: Vec<&str> = value["addresses"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            writeln!(
                out,
                "  addresses: {}",
                if addresses.is_empty() {
                    "(offline)".to_owned()
                } else {
                    addresses.join(", ")
                }
            )
        }
        Command::Invite { qr } => {
            writeln!(out, "{}", s(value, "uri"))?;
            if let Some(path) = qr {
                writeln!(out, "QR code written to {}", path.display())?;
            }
            writeln!(
                out,
                "Share this link (single use, valid 7 days); validate the contact afterwards."
            )
        }
        Command::Contact(ContactCommand::List) => {
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
            }
            Ok(())
        }
        Command::Contact(ContactCommand::SafetyNumber { .. }) => {
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
        Command::Contact(_) => writeln!(
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
        Command::Device(DeviceCommand::List) => {
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
            }
            Ok(())
        }
        Command::Device(DeviceCommand::Revoke { .. }) => writeln!(
            out,
            "Device revoked: it is cut off from every device that hears of it."
        ),
        Command::Link(LinkCommand::Accept { .. }) => writeln!(
            out,
            "Linked {} ({}).",
            s(value, "name"),
            s(value, "device_id")
        ),
        Command::Link(LinkCommand::Request { .. }) => writeln!(
            out,
            "This device is linked to account {} as {}.",
            s(value, "account_id"),
            s(value, "device_id")
        ),
        Command::Send { .. } => writeln!(
            out,
            "Queued {} (delivered when a device of the contact is reachable).",
            short(&s(value, "message_id"))
        ),
        Command::Messages { .. } => {
            let list = value.as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                return writeln!(out, "No messages yet.");
            }
            for m in list {
                let delivery = m["delivery"]
                    .as_object()
                    .map(|d| {
                        let done = d
                            .values()
                            .filter(|v| v.as_str() == Some("delivered"))
                            .count();
                        format!("{done}/{} delivered", d.len())
                    })
                    .unwrap_or_default();
                writeln!(
                    out,
                    "[{}] {}: {}  ({})",
                    short(&s(&m, "message_id")),
                    short(&s(&m, "author_account")),
                    m["text"].as_str().unwrap_or("(not readable yet)"),
                    delivery
                )?;
            }
            Ok(())
        }
        Command::Delete { .. } => writeln!(out, "Deleted from all of your devices."),
        Command::Daemon => writeln!(out, "Stopped."),
        Command::Sync { .. } => writeln!(
            out,
            "Synced with {} device(s); {} unreachable{}.",
            value["reached"].as_array().map_or(0, Vec::len),
            value["unreachable"].as_array().map_or(0, Vec::len),
            if value["complete"].as_bool() == Some(true) {
                ""
            } else {
                " (stopped at the timeout)"
            }
        ),
    }
}

/// Work done on this side after a command succeeded: the invite's QR file.
pub(crate) fn after(command: &Command, value: &Value) -> Result<(), CoreError> {
    if let Command::Invite { qr: Some(path) } = command {
        let uri = s(value, "uri");
        let png = kith_identity::invite::qr_png(&kith_identity::invite::qr_text(&uri))
            .map_err(|e| CoreError::new("internal", e.to_string()))?;
        std::fs::write(path, png)
            .map_err(|e| CoreError::new("io", format!("cannot write {}: {e}", path.display())))?;
    }
    Ok(())
}
