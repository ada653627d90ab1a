//! Events: the engine's events turned into stored state and into the
//! [`NodeEvent`]s the CLI and the app subscribe to.

use kith_identity::DeviceStatus;
use kith_sync::Event;
use kith_wire::{Content, ConversationId, DeviceId, EntryHash, EntryKind, SelfRecord, encode};
use tokio::sync::mpsc;

use crate::error::{CoreError, Result};
use crate::node::{Inner, Node};
use crate::online::feed;
use crate::profile_table::{addr_key, encode_log, log_key};
use crate::views::{NodeEvent, trust_name};

/// Turns the engine's events into stored state and node events.
pub(crate) async fn event_loop(
    weak: std::sync::Weak<Inner>,
    mut rx: mpsc::UnboundedReceiver<Event>,
) {
    while let Some(event) = rx.recv().await {
        let Some(inner) = weak.upgrade() else { return };
        let node = Node { inner };
        if let Err(e) = node.on_event(event).await {
            tracing::warn!("handling an engine event failed: {e}");
        }
    }
}

impl Node {
    pub(crate) async fn on_event(&self, event: Event) -> Result<()> {
        match event {
            Event::NewEntry { conversation, id } => {
                self.entry_event(conversation, id, false).await;
            }
            Event::BodyArrived { conversation, id } => {
                self.entry_event(conversation, id, true).await;
            }
            Event::DirectoryChanged { accounts } => {
                for account in accounts {
                    let (bytes, own, revoked, inactive) = self
                        .with(|r| {
                            let log = r.device_log(&account)?;
                            let bytes = encode_log(log).ok()?;
                            let own = account == r.account_id();
                            let revoked = own && !log.state().is_active(&r.device_id());
                            let inactive: Vec<DeviceId> = log
                                .state()
                                .devices
                                .values()
                                .filter(|d| d.status != DeviceStatus::Active)
                                .map(|d| d.record.device)
                                .collect();
                            Some((bytes, own, revoked, inactive))
                        })
                        .await
                        .ok_or_else(|| CoreError::new("internal", "log vanished"))?;
                    let key = log_key(&account);
                    self.with(|r| r.storage_mut().profile_write(&[(&key, Some(&bytes))]))
                        .await?;
                    let any_inactive = !inactive.is_empty();
                    for device in inactive {
                        self.inner.sync.disconnect(&device, b"revoked").await;
                    }
                    if revoked
                        && !self
                            .inner
                            .revoked
                            .swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        self.emit(NodeEvent::ThisDeviceRevoked);
                    }
                    self.emit(NodeEvent::DevicesChanged {
                        account_id: account.to_hex(),
                    });
                    // A device of this account revoked: rotate at once.
                    if any_inactive && own {
                        let node = self.clone();
                        self.spawn(async move {
                            if let Err(e) = node.maintain_prekeys().await {
                                tracing::warn!(
                                    "rotating the prekey after a revocation failed: {e}"
                                );
                            }
                        });
                    }
                }
            }
            Event::AddressesChanged(list) => {
                let mut rows = Vec::new();
                for a in &list {
                    feed(&self.inner.lookup, a);
                    let signed = self
                        .with(|r| {
                            r.announcements()
                                .find(|(held, _)| held.device == a.device)
                                .map(|(_, s)| s.clone())
                        })
                        .await;
                    if let Some(signed) = signed {
                        rows.push((addr_key(&a.device), encode(&signed)?));
                    }
                }
                let changes: Vec<(&str, Option<&[u8]>)> = rows
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
                    .collect();
                self.with(|r| r.storage_mut().profile_write(&changes))
                    .await?;
            }
            Event::StorageFailed(message) => self.emit(NodeEvent::StorageFailed { message }),
            Event::Refused { from, reason } => {
                tracing::info!("refused from {:?}: {reason}", from);
            }
            Event::RolledBack { account, device } => {
                tracing::warn!("device {device:?} presented a rolled-back device log");
                // Kept as the contact's trust state: the evidence itself is
                // not an entry, so it would not outlive a restart.
                let me = self.with(|r| r.account_id()).await;
                if account != me && self.contact_info(&account).await.is_some() {
                    self.set_trust(
                        account,
                        kith_wire::TrustLevel::Compromised,
                        "one of their devices presented an older device log than it had \
                         sent before (restored from an old backup, or copied)",
                    )
                    .await?;
                }
            }
        }
        Ok(())
    }

    /// What the UI hears of an entry that arrived, or whose body did.
    async fn entry_event(&self, conversation: ConversationId, id: EntryHash, body_arrived: bool) {
        let event = self
            .with(|r| {
                let self_id = r.self_conversation_id().ok()?;
                let entry = r.conversation(&conversation)?.get(&id)?;
                let header = &entry.header;
                match (header.kind, &entry.body) {
                    // Its text arrived after it: the conversation shows it now.
                    (EntryKind::Message, _) if body_arrived => {
                        Some(NodeEvent::ConversationChanged {
                            conversation_id: conversation.to_hex(),
                        })
                    }
                    (EntryKind::Message, _) => Some(NodeEvent::MessageReceived {
                        conversation_id: conversation.to_hex(),
                        message_id: id.to_hex(),
                        author_account: header.author_account.to_hex(),
                    }),
                    (
                        EntryKind::Receipt,
                        kith_sync::Body::Plain {
                            content: Content::Receipt { entries },
                            ..
                        },
                    ) => Some(NodeEvent::Delivered {
                        conversation_id: conversation.to_hex(),
                        device_id: header.author_device.to_hex(),
                        message_ids: entries.iter().map(EntryHash::to_hex).collect(),
                    }),
                    (
                        EntryKind::Record,
                        kith_sync::Body::Plain {
                            content: Content::Record(SelfRecord::Contact { account, trust, .. }),
                            ..
                        },
                    ) if conversation == self_id => Some(NodeEvent::TrustChanged {
                        contact_id: account.to_hex(),
                        state: trust_name(*trust).into(),
                    }),
                    (
                        EntryKind::Record,
                        kith_sync::Body::Plain {
                            content: Content::Record(record),
                            ..
                        },
                    ) if conversation == self_id => changed_conversation(record)
                        .map(|c| NodeEvent::ConversationChanged { conversation_id: c }),
                    // A group's or room's membership, roles, policy or a
                    // post removed for everyone: the screens showing it
                    // reload.
                    (EntryKind::Membership, _) => Some(NodeEvent::ConversationChanged {
                        conversation_id: conversation.to_hex(),
                    }),
                    (EntryKind::Tombstone, _) if conversation == self_id => {
                        Some(NodeEvent::Deleted {
                            conversation_id: conversation.to_hex(),
                        })
                    }
                    _ => None,
                }
            })
            .await;
        if let Some(event) = event {
            // A deletion from another of my devices: reclaim it too.
            if matches!(event, NodeEvent::Deleted { .. }) {
                self.compact_soon();
            }
            self.emit(event);
        }
    }
}

/// The conversation a self-log record reads or mutes, if it does.
fn changed_conversation(record: &SelfRecord) -> Option<String> {
    match record {
        SelfRecord::ReadUpTo { conversation, .. } => Some(conversation.to_hex()),
        SelfRecord::Setting { key, .. } => key
            .strip_prefix(crate::inbox::MUTED_PREFIX)
            .map(str::to_owned),
        _ => None,
    }
}
