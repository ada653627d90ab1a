//! The self log: contacts, trust, the conversation list, read markers and
//! settings that every device of the account shares, and deletions
//! (tombstones) that take effect on all of them.

use std::collections::BTreeMap;

use kith_wire::{
    AccountId, Content, ConversationId, ConversationKind, EntryHash, EntryKind, SelfRecord,
    TrustLevel,
};

use crate::conversation::{Body, Conversation};
use crate::error::Result;
use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

/// A contact as the self log records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    /// The user's name for the contact.
    pub alias: Option<String>,
    /// Its trust state.
    pub trust: TrustLevel,
    /// Why.
    pub reason: String,
}

/// The state the self log describes, the same on all of an account's devices.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SelfState {
    /// Contacts by account.
    pub contacts: BTreeMap<AccountId, ContactRecord>,
    /// The conversation list.
    pub conversations: BTreeMap<ConversationId, (ConversationKind, Vec<AccountId>)>,
    /// Read markers.
    pub read_up_to: BTreeMap<ConversationId, EntryHash>,
    /// Settings.
    pub settings: BTreeMap<String, String>,
}

impl<S: Storage> Replica<S> {
    /// Writes a record into the self log (contacts, trust, the conversation
    /// list, read markers, settings); it reaches all of this account's devices.
    pub fn record(&mut self, record: SelfRecord, now_ms: u64) -> Result<Vec<Output>> {
        let self_id = self.self_conversation_id()?;
        let (_, outputs) =
            self.write(self_id, EntryKind::Record, &Content::Record(record), now_ms)?;
        Ok(outputs)
    }

    /// What the self log says: the latest record for each key, in display
    /// order, so every device of the account computes the same state;
    /// except read markers, where the furthest in the conversation wins (a
    /// device that had seen less and read later must not bring back what
    /// another device read).
    pub fn self_state(&self) -> SelfState {
        let mut state = SelfState::default();
        let Some(log) = self
            .self_conversation_id()
            .ok()
            .and_then(|id| self.conversations.get(&id))
        else {
            return state;
        };
        let mut markers: BTreeMap<ConversationId, Vec<EntryHash>> = BTreeMap::new();
        for entry in log.in_order() {
            let Body::Plain {
                content: Content::Record(record),
                ..
            } = &entry.body
            else {
                continue;
            };
            match record {
                SelfRecord::Contact {
                    account,
                    alias,
                    trust,
                    reason,
                } => {
                    let contact = ContactRecord {
                        alias: alias.clone(),
                        trust: *trust,
                        reason: reason.clone(),
                    };
                    state.contacts.insert(*account, contact);
                }
                SelfRecord::ContactRemoved { account } => {
                    state.contacts.remove(account);
                }
                SelfRecord::Conversation { id, kind, members } => {
                    state.conversations.insert(*id, (*kind, members.clone()));
                }
                SelfRecord::ReadUpTo {
                    conversation,
                    entry,
                } => {
                    markers.entry(*conversation).or_default().push(*entry);
                }
                SelfRecord::Setting { key, value } => {
                    state.settings.insert(key.clone(), value.clone());
                }
                // Taken by the engine as it arrives (`rooms.rs`).
                SelfRecord::RoomKey { .. } => {}
            }
        }
        for (conversation, written) in markers {
            if let Some(furthest) = self.furthest(&conversation, &written) {
                state.read_up_to.insert(conversation, furthest);
            }
        }
        state
    }

    /// Of the read markers written for a conversation (in the self log's
    /// order), the one furthest in its display order; the last written when
    /// none of them has arrived here yet.
    fn furthest(&self, conversation: &ConversationId, written: &[EntryHash]) -> Option<EntryHash> {
        let known = self.conversations.get(conversation).and_then(|c| {
            let written: std::collections::BTreeSet<&EntryHash> = written.iter().collect();
            c.in_order()
                .rev()
                .find(|e| written.contains(&e.id))
                .map(|e| e.id)
        });
        known.or_else(|| written.last().copied())
    }

    /// Self-log contents take effect on this device.
    pub(crate) fn apply_content(&mut self, conversation: ConversationId, content: &Content) {
        if Ok(conversation) != self.self_conversation_id() {
            return;
        }
        if let Content::Tombstone {
            conversation: target_conversation,
            target,
            up_to,
        } = content
        {
            match target {
                Some(id) => {
                    self.tombstones.insert((*target_conversation, *id));
                }
                None => {
                    let cut = self.cutoffs.entry(*target_conversation).or_insert(0);
                    *cut = (*cut).max(*up_to);
                }
            }
            self.purge(*target_conversation);
        }
        if let Content::Record(SelfRecord::RoomKey { room, key }) = content
            && self.room_keys.insert(*room, key.clone()).is_none()
            && !self.conversations.contains_key(room)
        {
            self.room_key_arrived();
        }
        // A conversation another of my devices listed: list it here too.
        if let Content::Record(SelfRecord::Conversation { id, kind, members }) = content
            && !self.conversations.contains_key(id)
            && members.contains(&self.account)
        {
            self.conversations
                .insert(*id, Conversation::new(*id, *kind, members.clone()));
            self.dirty_conversations.insert(*id);
        }
    }

    /// Drops the bodies of deleted entries of a conversation.
    pub(crate) fn purge(&mut self, conversation: ConversationId) {
        let tombstones = &self.tombstones;
        let cutoff = self.cutoffs.get(&conversation).copied();
        if let Some(conv) = self.conversations.get_mut(&conversation) {
            let changed = conv.delete_bodies(|entry| {
                tombstones.contains(&(conversation, entry.id))
                    || cutoff.is_some_and(|cut| entry.header.lamport <= cut)
            });
            self.dirty_entries
                .extend(changed.into_iter().map(|id| (conversation, id)));
        }
    }

    /// Deletes one entry, or a whole conversation (`target` = `None`), from
    /// all of this account's devices: a tombstone in the self log.
    pub fn delete(
        &mut self,
        conversation: ConversationId,
        target: Option<EntryHash>,
        now_ms: u64,
    ) -> Result<Vec<Output>> {
        let up_to = match target {
            Some(_) => 0,
            None => self.conversations.get(&conversation).map_or(0, |c| {
                c.in_order().map(|e| e.header.lamport).max().unwrap_or(0)
            }),
        };
        let content = Content::Tombstone {
            conversation,
            target,
            up_to,
        };
        let self_id = self.self_conversation_id()?;
        let (_, outputs) = self.write(self_id, EntryKind::Tombstone, &content, now_ms)?;
        Ok(outputs)
    }
}
