//! `kith conversations`, `kith read`, `kith mute` and `kith search`: the
//! conversation list with unread counts, read markers and mutes (shared by
//! all my devices), and local search.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;

use kith_core::{CoreError, Node};
use serde_json::{Value, json};

use crate::human::{s, short};
use crate::to_value;

/// `kith conversations`.
pub(crate) async fn conversations(node: &Node) -> Result<Value, CoreError> {
    to_value(node.conversations().await)
}

/// `kith read`.
pub(crate) async fn read(node: &Node, contact: &str) -> Result<Value, CoreError> {
    node.mark_read(contact).await?;
    Ok(json!({ "read": contact }))
}

/// `kith mute` (and `--off`).
pub(crate) async fn mute(node: &Node, contact: &str, muted: bool) -> Result<Value, CoreError> {
    node.set_muted(contact, muted).await?;
    Ok(json!({ "contact": contact, "muted": muted }))
}

/// `kith search`.
pub(crate) async fn search(node: &Node, query: &str, limit: usize) -> Result<Value, CoreError> {
    to_value(node.search(query, limit).await?)
}

/// The name of a conversation's contact, or its short id.
fn name(c: &Value) -> String {
    c["contact"]["name"]
        .as_str()
        .or_else(|| c["group"]["name"].as_str())
        .map(str::to_owned)
        .unwrap_or_else(|| short(&s(&c["contact"], "contact_id")).to_owned())
}

/// `kith conversations`, for people.
pub(crate) fn print_conversations(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    let list = value.as_array().cloned().unwrap_or_default();
    if list.is_empty() {
        return writeln!(out, "No conversations yet.");
    }
    for c in list {
        let last = &c["last"];
        let preview = match last["text"].as_str() {
            Some(text) if last["mine"].as_bool() == Some(true) => format!("You: {text}"),
            Some(text) => text.to_owned(),
            None if last.is_null() => "No messages yet".to_owned(),
            None => "(arriving…)".to_owned(),
        };
        let unread = c["unread"].as_u64().unwrap_or(0);
        let unread = if unread > 0 {
            format!(" [{unread} unread]")
        } else {
            String::new()
        };
        let muted = if c["muted"].as_bool() == Some(true) {
            " (muted)"
        } else {
            ""
        };
        writeln!(out, "{}{unread}{muted}: {preview}", name(&c))?;
    }
    Ok(())
}

/// `kith mute`, for people.
pub(crate) fn print_muted(out: &mut impl Write, muted: bool) -> std::io::Result<()> {
    if muted {
        writeln!(out, "Muted on all of your devices.")
    } else {
        writeln!(out, "Notifications are back on, on all of your devices.")
    }
}

/// `kith search`, for people.
pub(crate) fn print_hits(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    let hits = value.as_array().cloned().unwrap_or_default();
    if hits.is_empty() {
        return writeln!(out, "Nothing matches.");
    }
    for h in hits {
        writeln!(
            out,
            "[{}] {}: {}",
            short(&s(&h, "message_id")),
            short(&s(&h, "contact_id")),
            s(&h, "text")
        )?;
    }
    Ok(())
}
