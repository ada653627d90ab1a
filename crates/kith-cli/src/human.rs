//! Pieces of the output for people (without `--json`) that every command
//! group uses: progress on stderr, short ids, fields of a result.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;

use kith_core::Identity;
use serde_json::{Value, json};

use crate::Ctx;

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

/// The first 12 characters of an id.
pub(crate) fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

/// A string field of a JSON value (empty if absent).
pub(crate) fn s(value: &Value, key: &str) -> String {
    value[key].as_str().unwrap_or("").to_owned()
}
