//! The conversation list: every conversation with its newest message, its
//! unread count and whether it is muted, newest activity first. Read
//! markers and mutes are self-log records, so reading or muting on one of
//! my devices does it on all of them.

use kith_sync::{Body, Conversation};
use kith_wire::{AccountId, Content, ConversationId, EntryHash, EntryKind, SelfRecord};

use crate::contacts::{ContactInfo, contact_infos_in};
use crate::error::Result;
use crate::groups::{group_ids, group_view};
use crate::node::{Node, now_ms};
use crate::views::{ConversationView, LastMessage, NodeEvent};

/// The prefix of the self-log settings that mute a conversation on all my
/// devices (followed by the conversation id).
pub(crate) const MUTED_PREFIX: &str = "muted/";

fn muted_key(conversation: &ConversationId) -> String {
    format!("{MUTED_PREFIX}{}", conversation.to_hex())
}

/// Whether an entry is a message the conversation shows (not deleted).
pub(crate) fn shown(entry: &kith_sync::StoredEntry) -> bool {
    entry.header.kind == EntryKind::Message && entry.body != Body::Deleted
}

/// The text of a shown message, if its body is here.
pub(crate) fn text_of(entry: &kith_sync::StoredEntry) -> Option<&str> {
    match &entry.body {
        Body::Plain {
            content: Content::Text { text, .. },
            ..
        } => Some(text),
        _ => None,
    }
}

/// Messages from others after the read marker `read` (all of them when
/// there is no marker, or it has not arrived here yet).
fn unread(conv: &Conversation, me: &AccountId, read: Option<&EntryHash>) -> u32 {
    let from_others = |e: &&kith_sync::StoredEntry| shown(e) && e.header.author_account != *me;
    let count = match read.and_then(|r| conv.after(r)) {
        Some(after) => after.filter(from_others).count(),
        None => conv.in_order().filter(from_others).count(),
    };
    u32::try_from(count).unwrap_or(u32::MAX)
}

fn last_message(conv: &Conversation, me: &AccountId) -> Option<LastMessage> {
    let entry = conv.in_order().rev().find(|e| shown(e))?;
    Some(LastMessage {
        message_id: entry.id.to_hex(),
        mine: entry.header.author_account == *me,
        text: text_of(entry).map(str::to_owned),
        sent_at: entry.header.sent_at_ms,
    })
}

impl Node {
    /// Every conversation, the most recently active first (those without
    /// messages last, by name).
    pub async fn conversations(&self) -> Vec<ConversationView> {
        let mut list: Vec<ConversationView> = self
            .with(|r| {
                let me = r.account_id();
                // One fold of the self log serves contacts, markers and mutes.
                let state = r.self_state();
                contact_infos_in(r, &state, None)
                    .iter()
                    .filter_map(|info: &ContactInfo| {
                        let id = kith_sync::ids::direct_conversation(&me, &info.account).ok()?;
                        let conv = r.conversation(&id);
                        Some(ConversationView {
                            conversation_id: id.to_hex(),
                            kind: "direct",
                            contact: Some(Self::view(info)),
                            group: None,
                            last: conv.and_then(|c| last_message(c, &me)),
                            unread: conv.map_or(0, |c| unread(c, &me, state.read_up_to.get(&id))),
                            muted: state
                                .settings
                                .get(&muted_key(&id))
                                .is_some_and(|v| v == "1"),
                        })
                    })
                    .chain(group_ids(r).iter().filter_map(|id| {
                        let conv = r.conversation(id)?;
                        let group = group_view(r, &state, id)?;
                        Some(ConversationView {
                            conversation_id: id.to_hex(),
                            kind: group.kind,
                            contact: None,
                            last: last_message(conv, &me),
                            unread: unread(conv, &me, state.read_up_to.get(id)),
                            muted: state.settings.get(&muted_key(id)).is_some_and(|v| v == "1"),
                            group: Some(group),
                        })
                    }))
                    .collect()
            })
            .await;
        let name = |c: &ConversationView| {
            c.contact
                .as_ref()
                .and_then(|c| c.name.clone())
                .or_else(|| c.group.as_ref().map(|g| g.name.clone()))
                .unwrap_or_default()
                .to_lowercase()
        };
        list.sort_by(|a, b| {
            let at = |c: &ConversationView| c.last.as_ref().map(|l| l.sent_at);
            at(b).cmp(&at(a)).then_with(|| name(a).cmp(&name(b)))
        });
        list
    }

    /// Marks the conversation with a contact (or a group) read up to its
    /// newest message, on all my devices (nothing is written when it
    /// already is).
    pub async fn mark_read(&self, contact: &str) -> Result<()> {
        let target = self.resolve_target(contact).await?;
        let changed = self
            .act(|r| {
                let me = r.account_id();
                let id = target.conversation(&me)?;
                let newest = r
                    .conversation(&id)
                    .and_then(|c| c.in_order().rev().find(|e| shown(e)).map(|e| e.id));
                let Some(newest) = newest else {
                    return Ok((None, Vec::new()));
                };
                let read = r.self_state().read_up_to.get(&id).copied();
                let already = read.is_some_and(|read| {
                    read == newest
                        || r.conversation(&id)
                            .and_then(|c| c.after(&read))
                            .is_some_and(|mut after| !after.any(|e| e.id == newest))
                });
                if already {
                    return Ok((None, Vec::new()));
                }
                let record = SelfRecord::ReadUpTo {
                    conversation: id,
                    entry: newest,
                };
                Ok((Some(id), r.record(record, now_ms())?))
            })
            .await?;
        if let Some(id) = changed {
            self.emit(NodeEvent::ConversationChanged {
                conversation_id: id.to_hex(),
            });
        }
        Ok(())
    }

    /// Mutes (or unmutes) the conversation with a contact (or a group) on
    /// all my devices.
    pub async fn set_muted(&self, contact: &str, muted: bool) -> Result<()> {
        let target = self.resolve_target(contact).await?;
        let id = self
            .act(|r| {
                let id = target.conversation(&r.account_id())?;
                let record = SelfRecord::Setting {
                    key: muted_key(&id),
                    value: if muted { "1" } else { "0" }.into(),
                };
                Ok((id, r.record(record, now_ms())?))
            })
            .await?;
        self.emit(NodeEvent::ConversationChanged {
            conversation_id: id.to_hex(),
        });
        Ok(())
    }
}
