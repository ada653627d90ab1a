//! Conversations: sending, reading pages of messages with their delivery,
//! deleting messages and whole conversations from all my devices.

use std::collections::BTreeMap;

use kith_sync::Conversation;
use kith_wire::{AccountId, Content, ConversationId, DeviceId, EntryHash};

use crate::error::{CoreError, Result};
use crate::groups::{Target, account_name};
use crate::inbox::{shown, text_of};
use crate::node::{Node, hex_id, now_ms};
use crate::views::{MessagePage, MessageView, NodeEvent, QuoteView, Sent};

/// The message `answered` as a reply quotes it.
fn quote(conv: &Conversation, answered: &EntryHash) -> QuoteView {
    let entry = conv.get(answered);
    QuoteView {
        message_id: answered.to_hex(),
        author_account: entry.map(|e| e.header.author_account.to_hex()),
        text: entry
            .filter(|e| shown(e))
            .and_then(text_of)
            .map(str::to_owned),
    }
}

impl Node {
    /// Sends a text to a contact or a group (queued; delivered when
    /// possible). Sending to a compromised contact needs `anyway`.
    pub async fn send(&self, contact: &str, text: &str, anyway: bool) -> Result<Sent> {
        self.send_reply(contact, text, None, anyway).await
    }

    /// Sends a text that answers `reply_to` (a message id of the same
    /// conversation), or none; otherwise as [`Node::send`].
    pub async fn send_reply(
        &self,
        contact: &str,
        text: &str,
        reply_to: Option<&str>,
        anyway: bool,
    ) -> Result<Sent> {
        self.ensure_not_revoked()?;
        let reply_to = reply_to
            .map(|id| {
                hex_id::<32>(id.trim()).map(EntryHash).ok_or_else(|| {
                    CoreError::new("invalid_input", "the message answered is not a message id")
                })
            })
            .transpose()?;
        if text.is_empty() {
            return Err(CoreError::new("invalid_input", "the message is empty"));
        }
        if text.len() > 60_000 {
            return Err(CoreError::new(
                "invalid_input",
                "the message is too long (60,000 bytes at most)",
            ));
        }
        let target = self.resolve_target(contact).await?;
        if let Target::Contact(account) = target {
            let view = self.contact_view(&account).await?;
            if view.state == "compromised" && !anyway {
                return Err(CoreError::new(
                    "contact_compromised",
                    "this contact is marked compromised; send anyway only if you are sure",
                ));
            }
        }
        let text = text.to_owned();
        self.act(|r| {
            let conversation = match target {
                Target::Contact(account) => {
                    if r.device_log(&account).is_none() {
                        return Err(CoreError::new(
                            "not_reachable",
                            "this contact's devices are not known yet: their device list arrives on the first connection",
                        ));
                    }
                    r.open_direct(&account)?
                }
                Target::Group(id) => {
                    let me = r.account_id();
                    if r.group_state(&id).and_then(|s| s.role_of(&me)).is_none() {
                        return Err(CoreError::new(
                            "not_allowed",
                            "you are no longer in this group: its history stays, read-only",
                        ));
                    }
                    id
                }
            };
            if let Some(answered) = &reply_to
                && r.conversation(&conversation)
                    .and_then(|c| c.get(answered))
                    .is_none_or(|e| !shown(e))
            {
                return Err(CoreError::new(
                    "unknown_message",
                    "the message answered is not in this conversation",
                ));
            }
            let (id, outputs) = r.send_reply(conversation, &text, reply_to, now_ms())?;
            Ok((
                Sent {
                    message_id: id.to_hex(),
                    conversation_id: conversation.to_hex(),
                },
                outputs,
            ))
        })
        .await
    }

    /// The messages with a contact, or of a group, in display order.
    pub async fn messages(&self, contact: &str) -> Result<Vec<MessageView>> {
        Ok(self.latest_messages(contact, usize::MAX).await?.messages)
    }

    /// The newest `limit` messages with a contact in display order, and how
    /// many older ones there are (the app shows a page and loads more on
    /// request: a conversation may hold 100,000 messages).
    pub async fn latest_messages(&self, contact: &str, limit: usize) -> Result<MessagePage> {
        let target = self.resolve_target(contact).await?;
        Ok(self
            .with(|r| {
                let me = r.account_id();
                let conversation = match target {
                    Target::Contact(account) => {
                        match kith_sync::ids::direct_conversation(&me, &account) {
                            Ok(id) => id,
                            Err(_) => return MessagePage::default(),
                        }
                    }
                    Target::Group(id) => id,
                };
                let Some(conv) = r.conversation(&conversation) else {
                    return MessagePage::default();
                };
                // Delivery is tracked per device of the other side.
                let devices_of = |a: &AccountId| -> Vec<DeviceId> {
                    r.device_log(a)
                        .map(|log| {
                            log.state()
                                .active_devices()
                                .map(|d| d.record.device)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let names = r.self_state();
                let mine = devices_of(&me);
                let theirs: Vec<DeviceId> = conv
                    .members
                    .iter()
                    .filter(|a| **a != me)
                    .flat_map(devices_of)
                    .collect();
                let (page, earlier) = r.latest_messages(&conversation, limit);
                let ids = page.iter().map(|(id, _)| *id).collect();
                let deliveries = r.deliveries(&conversation, &ids);
                let none = std::collections::BTreeSet::new();
                let messages = page
                    .into_iter()
                    .filter_map(|(id, text)| {
                        let entry = conv.get(&id)?;
                        let delivered = deliveries.get(&id).unwrap_or(&none);
                        let recipients = if entry.header.author_account == me {
                            &theirs
                        } else {
                            &mine
                        };
                        let delivery = recipients
                            .iter()
                            .map(|d| {
                                let state = if delivered.contains(d) {
                                    "delivered"
                                } else {
                                    "pending"
                                };
                                (d.to_hex(), state)
                            })
                            .collect::<BTreeMap<_, _>>();
                        let reply_to = match &entry.body {
                            kith_sync::Body::Plain {
                                content:
                                    Content::Text {
                                        reply_to: Some(answered),
                                        ..
                                    },
                                ..
                            } => Some(quote(conv, answered)),
                            _ => None,
                        };
                        Some(MessageView {
                            message_id: id.to_hex(),
                            conversation_id: conversation.to_hex(),
                            author_account: entry.header.author_account.to_hex(),
                            author_device: entry.header.author_device.to_hex(),
                            text,
                            sent_at: entry.header.sent_at_ms,
                            delivery,
                            reply_to,
                            author_name: account_name(r, &names, &entry.header.author_account),
                        })
                    })
                    .collect();
                MessagePage {
                    messages,
                    earlier: u32::try_from(earlier).unwrap_or(u32::MAX),
                }
            })
            .await)
    }

    /// Writes many messages of mine to a contact at once, in bulk (commits
    /// not synced until the end), without sending them now: they travel by
    /// sync on the next connection. For building large profiles
    /// (benchmarks); a crash in the middle loses the unsynced part.
    #[cfg(feature = "bench")]
    pub async fn write_many(
        &self,
        contact: &str,
        texts: impl Iterator<Item = String> + Send,
    ) -> Result<usize> {
        let account = self.resolve_contact(contact).await?;
        self.act(|r| {
            let conversation = r.open_direct(&account)?;
            r.storage_mut().set_bulk(true)?;
            let mut texts = texts;
            let written = texts.try_fold(0, |n, text| {
                r.send_text(conversation, &text, now_ms()).map(|_| n + 1)
            });
            // Durable up to where it got, even after an error.
            r.storage_mut().set_bulk(false)?;
            Ok((written?, Vec::new()))
        })
        .await
    }

    /// Deletes a message (its id, or a unique prefix of at least 8 hex
    /// digits) from all of my devices.
    pub async fn delete(&self, message: &str) -> Result<()> {
        let lower = message.trim().to_ascii_lowercase();
        if lower.len() < 8 {
            return Err(CoreError::new(
                "invalid_input",
                "give at least 8 hex digits of the message id",
            ));
        }
        let conversation = self
            .act(|r| {
                let conversations: Vec<ConversationId> = r
                    .self_state()
                    .conversations
                    .keys()
                    .copied()
                    .chain(r.known_accounts().into_iter().filter_map(|a| {
                        kith_sync::ids::direct_conversation(&r.account_id(), &a).ok()
                    }))
                    .collect();
                let mut found: Vec<(ConversationId, EntryHash)> = Vec::new();
                for c in conversations {
                    for (id, _) in r.messages(&c) {
                        if id.to_hex().starts_with(&lower) && !found.iter().any(|(_, f)| *f == id) {
                            found.push((c, id));
                        }
                    }
                }
                let (conversation, id) = match found.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(CoreError::new("unknown_message", "no such message"));
                    }
                    _ => return Err(CoreError::new("ambiguous", "several messages match")),
                };
                Ok((conversation, r.delete(conversation, Some(id), now_ms())?))
            })
            .await?;
        self.emit(NodeEvent::Deleted {
            conversation_id: conversation.to_hex(),
        });
        self.compact_soon();
        Ok(())
    }

    /// Deletes the whole conversation with a contact from all my devices.
    pub async fn delete_conversation(&self, contact: &str) -> Result<()> {
        let target = self.resolve_target(contact).await?;
        let conversation = self
            .act(|r| {
                let conversation = target.conversation(&r.account_id())?;
                Ok((conversation, r.delete(conversation, None, now_ms())?))
            })
            .await?;
        self.emit(NodeEvent::Deleted {
            conversation_id: conversation.to_hex(),
        });
        self.compact_soon();
        Ok(())
    }
}
