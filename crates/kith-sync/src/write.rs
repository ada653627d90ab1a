//! Writing an entry: signed, encrypted for every recipient device, stored
//! durably, then pushed to connected recipients.

use kith_wire::{
    AccountId, BodyPlain, Content, ConversationId, DeviceId, EntryHash, EntryHeader, EntryKind,
    SignedHeader, domain, encode, limits,
};

use crate::conversation::{Body, StoredEntry};
use crate::error::{Result, SyncError};
use crate::ids::{body_hash, entry_id};
use crate::io::{Event, Output};
use crate::replica::Replica;
use crate::storage::Storage;

impl<S: Storage> Replica<S> {
    /// Writes a new entry by this device, encrypted for every member device,
    /// and pushes it to every connected member device at once.
    pub fn write(
        &mut self,
        conversation: ConversationId,
        kind: EntryKind,
        content: &Content,
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        self.write_to(conversation, kind, content, &[], now_ms)
    }

    /// [`Replica::write`], encrypted for the active devices of `extra`
    /// accounts too (a group member being added).
    pub(crate) fn write_to(
        &mut self,
        conversation: ConversationId,
        kind: EntryKind,
        content: &Content,
        extra: &[AccountId],
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        let content_bytes = encode(content)?;
        if content_bytes.len() > limits::MAX_BODY_BYTES {
            return Err(SyncError::Limit("message too long"));
        }
        let conv = self
            .conversations
            .get(&conversation)
            .ok_or(SyncError::UnknownConversation)?;
        let mut recipients = self.recipient_devices(conv);
        for account in extra {
            for device in self.devices_of(account) {
                if !recipients.iter().any(|r| r.device == device.device) {
                    recipients.push(device);
                }
            }
        }
        // A room whose key this account holds: one body every key holder
        // opens; else pairwise, or sender keys in a large group.
        let room_key = self.room_body_key(conv);
        let sender_key = room_key.is_none() && self.under_sender_key(conv, kind, recipients.len());
        // A new sender-key chain, if one is due, is distributed first (so
        // it is in this entry's past).
        let mut outputs = if sender_key {
            self.rotate_if_due(conversation, &recipients, now_ms)?
        } else {
            Vec::new()
        };
        let plain = BodyPlain {
            salt: kith_crypto::random::array()?,
            content: content_bytes,
        };
        let conv = self
            .conversations
            .get(&conversation)
            .ok_or(SyncError::UnknownConversation)?;
        let (seq, prev, parents, lamport) = conv.next_position(&self.device_id());
        let header = EntryHeader {
            conversation,
            author_account: self.account,
            author_device: self.device_id(),
            seq,
            prev,
            parents,
            lamport,
            sent_at_ms: now_ms,
            kind,
            body_hash: body_hash(&plain.salt, &plain.content)?,
            body_len: u32::try_from(plain.content.len())
                .map_err(|_| SyncError::Limit("message too long"))?,
        };
        let plain_bytes = encode(&plain)?;
        // Refused before any session moves: a fan-out over the limit
        // could never travel (AEAD tag and ratchet padding: 64 bytes).
        let per_envelope = plain_bytes.len() + 64 + kith_wire::ENVELOPE_OVERHEAD;
        if room_key.is_none()
            && !sender_key
            && recipients.len().saturating_mul(per_envelope) > limits::MAX_FANOUT_BYTES
        {
            return Err(SyncError::Limit("message too large for this many devices"));
        }
        let signed: SignedHeader = self
            .keys
            .sign(domain::LOG_ENTRY, &header)
            .map_err(|_| SyncError::InvalidEntry("signing failed"))?;
        let id = entry_id(&signed)?;
        let body = Body::Plain {
            plain,
            content: content.clone(),
        };
        // A group checks it as it would anyone's: nothing is sent that
        // other members would refuse.
        self.check_group_entry(&conversation, &id, &header, &body, now_ms)?;
        let fan_out = match &room_key {
            Some(key) => self.room_body(key, &conversation, &plain_bytes)?,
            None if sender_key => self.sender_key_body(&conversation, &plain_bytes)?,
            None => self.fan_out(&recipients, &plain_bytes),
        };
        let stored = StoredEntry {
            id,
            signed,
            header,
            body,
            fan_out: Some(fan_out),
        };
        self.conversations
            .get_mut(&conversation)
            .ok_or(SyncError::UnknownConversation)?
            .insert(stored);
        self.dirty_entries.insert((conversation, id));
        self.apply_content(conversation, content);
        outputs.extend(self.after_group_entry(&conversation, &id));
        // Durable before anything about it leaves this device.
        self.flush()?;
        outputs.push(Output::Event(Event::NewEntry { conversation, id }));
        let members: Vec<DeviceId> = recipients
            .iter()
            // An added member's devices get the whole log after this.
            .filter(|r| !extra.contains(&r.account))
            .map(|r| r.device)
            .filter(|d| self.connected.contains(d))
            .collect();
        for device in members {
            outputs.extend(self.entries_frames(&device, conversation, &[id]));
        }
        outputs.append(&mut self.group_outputs);
        Ok((id, outputs))
    }
}
