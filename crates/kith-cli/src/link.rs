//! `kith link …`: linking a new device to an account (the new device
//! requests, an existing one accepts).
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;
use std::time::Duration;

use clap::Subcommand;
use kith_core::{CoreError, Node};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::human::{progress, s};
use crate::{Ctx, to_value};

/// `kith link …`
#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum LinkCommand {
    /// On a new device (empty data dir): show a `kith-link:` link and wait.
    Request {
        /// This device's name (default: the host name).
        #[arg(long)]
        device_name: Option<String>,
        /// How long to wait for acceptance, in seconds.
        #[arg(long, default_value_t = 600)]
        wait: u64,
    },
    /// On a device of the account: accept a new device's link.
    Accept {
        /// The `kith-link:` link.
        uri: String,
    },
}

/// `kith link accept` on an open node.
pub(crate) async fn accept(node: &Node, uri: &str) -> Result<Value, CoreError> {
    to_value(node.link_accept(uri).await?)
}

/// `kith link accept` run in this process: online, accept, then send the
/// history to the new device.
pub(crate) async fn accept_here(ctx: &Ctx, node: &Node, uri: &str) -> Result<Value, CoreError> {
    node.go_online().await?;
    let accepted = accept(node, uri).await;
    if accepted.is_ok() {
        progress(ctx, "sending the history to the new device…");
        let _ = node.sync(Duration::from_secs(60)).await;
    }
    accepted
}

/// `kith link request`: the URI on the first stdout line, then wait.
pub(crate) async fn request(ctx: &Ctx, device_name: String, wait: u64) -> Result<Value, CoreError> {
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

/// A link command's result, for people.
pub(crate) fn print(
    out: &mut impl Write,
    command: &LinkCommand,
    value: &Value,
) -> std::io::Result<()> {
    match command {
        LinkCommand::Accept { .. } => writeln!(
            out,
            "Linked {} ({}).",
            s(value, "name"),
            s(value, "device_id")
        ),
        LinkCommand::Request { .. } => writeln!(
            out,
            "This device is linked to account {} as {}.",
            s(value, "account_id"),
            s(value, "device_id")
        ),
    }
}
