//! `kith sync`: online until every reachable device is in sync, then exit.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;
use std::time::Duration;

use kith_core::{CoreError, Node};
use serde_json::Value;

use crate::human::progress;
use crate::{Ctx, to_value};

/// `kith sync` on an open node.
pub(crate) async fn sync(node: &Node, timeout: u64) -> Result<Value, CoreError> {
    to_value(node.sync(Duration::from_secs(timeout)).await?)
}

/// `kith sync` run in this process: says what it does first.
pub(crate) async fn sync_here(ctx: &Ctx, node: &Node, timeout: u64) -> Result<Value, CoreError> {
    progress(
        ctx,
        &format!("syncing with every reachable device (at most {timeout} s)…"),
    );
    sync(node, timeout).await
}

/// `kith sync`, for people.
pub(crate) fn print(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "Synced with {} device(s); {} unreachable{}.",
        value["reached"].as_array().map_or(0, Vec::len),
        value["unreachable"].as_array().map_or(0, Vec::len),
        if value["complete"].as_bool() == Some(true) {
            ""
        } else {
            " (stopped at the timeout)"
        }
    )
}
