//! `kith send`, `kith messages` and `kith delete`: the messages of a
//! conversation.
// Indexing a `serde_json::Value` by key yields `Null` when the key is
// missing; it never panics.
#![allow(clippy::indexing_slicing)]

use std::io::Write;

use kith_core::{CoreError, Node};
use serde_json::{Value, json};

use crate::human::{s, short};
use crate::to_value;

/// `kith send`: queues a text to a contact.
pub(crate) async fn send(
    node: &Node,
    contact: &str,
    text: &str,
    reply_to: Option<&str>,
    anyway: bool,
) -> Result<Value, CoreError> {
    to_value(node.send_reply(contact, text, reply_to, anyway).await?)
}

/// `kith messages`: the conversation with a contact.
pub(crate) async fn list(node: &Node, contact: &str) -> Result<Value, CoreError> {
    to_value(node.messages(contact).await?)
}

/// `kith delete`: a message, from all of my devices.
pub(crate) async fn delete(node: &Node, message_id: &str) -> Result<Value, CoreError> {
    node.delete(message_id).await?;
    Ok(json!({ "deleted": message_id }))
}

/// `kith send`, for people.
pub(crate) fn print_sent(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
    writeln!(
        out,
        "Queued {} (delivered when a device of the other side is reachable).",
        short(&s(value, "message_id"))
    )
}

/// `kith messages`, for people: one line per message with its delivery.
pub(crate) fn print_list(out: &mut impl Write, value: &Value) -> std::io::Result<()> {
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
            m["author_name"]
                .as_str()
                .map_or_else(|| short(&s(&m, "author_account")).to_owned(), str::to_owned),
            m["text"].as_str().unwrap_or("(not readable yet)"),
            delivery
        )?;
    }
    Ok(())
}

/// `kith delete`, for people.
pub(crate) fn print_deleted(out: &mut impl Write) -> std::io::Result<()> {
    writeln!(out, "Deleted from all of your devices.")
}
