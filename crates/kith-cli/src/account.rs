//! `kith version`, `kith init` and `kith whoami`: this account and device.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;

use kith_core::{CoreError, Node};
use serde_json::{Value, json};

use crate::human::s;
use crate::{Ctx, control, offline, to_value};

/// `kith version`: kith's and libsodium's versions.
pub(crate) fn version() -> Result<Value, CoreError> {
    Ok(json!({
        "kith": env!("CARGO_PKG_VERSION"),
        "libsodium": kith_core::libsodium_version()?,
    }))
}

/// `kith init`: a new account with this device (never while a daemon runs
/// on the folder).
pub(crate) async fn init(ctx: &Ctx, name: &str, device_name: &str) -> Result<Value, CoreError> {
    if control::daemon_running(&ctx.data_dir).await {
        return Err(CoreError::new(
            "daemon_running",
            "a daemon runs on this data dir",
        ));
    }
    let protection = kith_core::protection_from_env();
    let protected_by = kith_core::protection_name(&protection);
    let node = Node::create(&ctx.data_dir, name, device_name, offline(), protection).await?;
    let id = node.identity().await;
    node.shutdown().await;
    Ok(json!({
        "account_id": id.account_id,
        "device_id": id.device_id,
        "protection": protected_by,
    }))
}

/// `kith whoami`.
pub(crate) async fn whoami(node: &Node) -> Result<Value, CoreError> {
    to_value(node.identity().await)
}

/// `kith version`, for people.
pub(crate) fn print_version(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "kith {} (libsodium {})",
        s(value, "kith"),
        s(value, "libsodium")
    )
}

/// `kith init`, for people, with a note when the key sits in a key file.
pub(crate) fn print_init(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
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

/// `kith whoami`, for people.
pub(crate) fn print_whoami(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
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
