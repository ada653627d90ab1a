//! Delivery receipts: written for messages received, read per message.

use std::collections::{BTreeMap, BTreeSet};

use kith_wire::{Content, ConversationId, DeviceId, EntryHash, EntryKind};

use crate::conversation::Body;
use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

impl<S: Storage> Replica<S> {
    /// A delivery receipt for the readable messages among `new` written by
    /// other accounts: one receipt entry per batch, fanned out like any entry,
    /// so the author's devices learn which device has what.
    pub(crate) fn receipt_for(
        &mut self,
        conversation: ConversationId,
        new: &[EntryHash],
        now_ms: u64,
    ) -> Vec<Output> {
        let Some(conv) = self.conversations.get(&conversation) else {
            return Vec::new();
        };
        if !conv.sends_receipts() {
            return Vec::new();
        }
        let received: Vec<EntryHash> = new
            .iter()
            .filter_map(|id| conv.get(id))
            .filter(|e| {
                e.header.kind == EntryKind::Message
                    && e.header.author_account != self.account
                    && matches!(e.body, Body::Plain { .. })
            })
            .map(|e| e.id)
            .collect();
        if received.is_empty() {
            return Vec::new();
        }
        let content = Content::Receipt { entries: received };
        self.write(conversation, EntryKind::Receipt, &content, now_ms)
            .map(|(_, out)| out)
            .unwrap_or_default()
    }

    /// The devices that confirmed having entry `id` (delivery receipts).
    pub fn delivered_to(
        &self,
        conversation: &ConversationId,
        id: &EntryHash,
    ) -> BTreeSet<DeviceId> {
        self.deliveries(conversation, &BTreeSet::from([*id]))
            .remove(id)
            .unwrap_or_default()
    }

    /// For each of `ids`, the devices that confirmed having it, in one pass
    /// over the conversation's receipts (a page of messages costs one
    /// pass, not one per message).
    pub fn deliveries(
        &self,
        conversation: &ConversationId,
        ids: &BTreeSet<EntryHash>,
    ) -> BTreeMap<EntryHash, BTreeSet<DeviceId>> {
        let mut found: BTreeMap<EntryHash, BTreeSet<DeviceId>> = BTreeMap::new();
        let Some(conv) = self.conversations.get(conversation) else {
            return found;
        };
        for e in conv.in_order() {
            if e.header.kind != EntryKind::Receipt {
                continue;
            }
            if let Body::Plain {
                content: Content::Receipt { entries },
                ..
            } = &e.body
            {
                for id in entries.iter().filter(|id| ids.contains(id)) {
                    found.entry(*id).or_default().insert(e.header.author_device);
                }
            }
        }
        found
    }
}
