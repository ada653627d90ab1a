//! Bodies: opening them, re-encrypting for this account's own devices,
//! forwarding the author's fan-out, and serving bodies own devices want.

use std::collections::BTreeMap;

use kith_session::{LocalDevice, RemoteDevice};
use kith_wire::{
    BodyPlain, Content, ConversationId, DeviceId, EntryHash, EntryHeader, EntryKind, Envelope,
    FanOut, WireEntry, decode, encode, limits,
};

use crate::conversation::Body;
use crate::ids::body_hash;
use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

/// The body in `bytes` if it is the one `header` names (its hash and
/// length are in the signed header).
fn matching_plain(header: &EntryHeader, bytes: &[u8]) -> Option<BodyPlain> {
    decode::<BodyPlain>(bytes, limits::MAX_BODY_BYTES + 64)
        .ok()
        .filter(|plain| {
            body_hash(&plain.salt, &plain.content).is_ok_and(|h| h == header.body_hash)
                && plain.content.len() == header.body_len as usize
        })
}

/// A body whose content decodes, else missing.
fn readable(plain: BodyPlain) -> Body {
    match decode::<Content>(&plain.content, limits::MAX_BODY_BYTES) {
        Ok(content) => Body::Plain { plain, content },
        Err(_) => Body::Missing,
    }
}

/// The readable body in `bytes`, if it is the one `header` names.
pub(crate) fn readable_body(header: &EntryHeader, bytes: &[u8]) -> Option<Body> {
    matching_plain(header, bytes).map(readable)
}

impl<S: Storage> Replica<S> {
    pub(crate) fn open_body(
        &mut self,
        header: &EntryHeader,
        wire: &WireEntry,
        now_ms: u64,
    ) -> Body {
        let Some(fan_out) = &wire.body else {
            return Body::Missing;
        };
        if let Some(message) = fan_out.room() {
            return self.open_room_body(header, wire.rewrapped_by, message);
        }
        let sender = match wire.rewrapped_by {
            // Only this account's own devices may re-encrypt for it; a
            // group's membership changes, which every member may read, any
            // member device may (the body must still match the header its
            // author signed).
            Some(device) if self.account_of(&device) == Some(self.account) => device,
            Some(device)
                if header.kind == EntryKind::Membership && self.account_of(&device).is_some() =>
            {
                device
            }
            Some(_) => return Body::Missing,
            None => header.author_device,
        };
        let Some(from) = self.remote_any(&sender) else {
            return Body::Missing;
        };
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        // The envelope must open to this entry's body (its hash is in the
        // signed header); another message's envelope is rolled back. The
        // body decoded for the check is the one kept.
        let mut body: Option<BodyPlain> = None;
        let matches_header = |bytes: &[u8]| {
            body = matching_plain(header, bytes);
            body.is_some()
        };
        // A large group's message opens with its author's chain.
        let opened = match (fan_out.sender_key(), wire.rewrapped_by) {
            (Some(message), None) => self
                .sessions
                .sender_open_if(&header.conversation, &sender, message, matches_header)
                .map(|_| ()),
            (Some(_), Some(_)) => return Body::Missing,
            (None, _) => self
                .sessions
                .open_if(&local, &from, fan_out, now_ms, matches_header)
                .map(|_| ()),
        };
        let (Ok(()), Some(plain)) = (opened, body) else {
            return Body::Missing;
        };
        let mine = self.keys.device_id();
        if let Some(envelope) = fan_out.envelopes.iter().find(|e| e.recipient == mine) {
            self.ack_due(sender, &envelope.message);
        }
        readable(plain)
    }

    pub(crate) fn fill_body(
        &mut self,
        conversation: ConversationId,
        id: &EntryHash,
        wire: &WireEntry,
        now_ms: u64,
    ) {
        let Some(header) = self.entry(&conversation, id).map(|e| e.header.clone()) else {
            return;
        };
        let body = self.open_body(&header, wire, now_ms);
        let Body::Plain { content, .. } = &body else {
            return;
        };
        let content = content.clone();
        // The author's own fan-out: keep it to forward to other members.
        let fan_out = if wire.rewrapped_by.is_none() {
            wire.body.clone()
        } else {
            None
        };
        let filled = self
            .conversations
            .get_mut(&conversation)
            .is_some_and(|c| c.fill(id, body, fan_out));
        if !filled {
            return;
        }
        self.filled.push((conversation, *id));
        self.dirty_entries.insert((conversation, *id));
        self.apply_content(conversation, &content);
        if let Some(chain) = self.take_sender_key(conversation, id) {
            self.open_waiting(conversation, chain, now_ms);
        }
    }

    /// Re-encrypts a body for one of this account's own devices.
    pub(crate) fn rewrap(
        &mut self,
        to: Option<&RemoteDevice>,
        plain: &BodyPlain,
    ) -> Option<FanOut> {
        let to = to?;
        let bytes = encode(plain).ok()?;
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        let to = self.with_offers(std::slice::from_ref(to));
        let to = to.first()?;
        let message = self.sessions.encrypt(&local, to, &bytes);
        self.spend_offers(std::slice::from_ref(to));
        let message = message.ok()?;
        Some(FanOut {
            envelopes: vec![Envelope {
                recipient: to.device,
                message,
            }],
        })
    }

    pub(crate) fn fan_out(&mut self, recipients: &[RemoteDevice], plaintext: &[u8]) -> FanOut {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        let recipients = self.with_offers(recipients);
        let result = self.sessions.fan_out(&local, &recipients, plaintext);
        self.spend_offers(&recipients);
        result.fan_out
    }

    /// Whether a body can go to `peer`: re-encrypted for one of this
    /// account's devices, or the author's original fan-out carrying an
    /// envelope for any other member device.
    pub(crate) fn can_serve(
        &self,
        peer: &DeviceId,
        conversation: &ConversationId,
        id: &EntryHash,
    ) -> bool {
        let Some(entry) = self.conversations.get(conversation).and_then(|c| c.get(id)) else {
            return false;
        };
        let has_envelope = entry
            .fan_out
            .as_ref()
            .is_some_and(|f| f.has_envelope_for(peer));
        // A sender-key body is the same for every member device.
        let sender_key = entry
            .fan_out
            .as_ref()
            .is_some_and(|f| f.sender_key().is_some());
        let own = self.account_of(peer) == Some(self.account);
        let shareable = own || entry.header.kind == EntryKind::Membership;
        has_envelope || sender_key || (shareable && matches!(entry.body, Body::Plain { .. }))
    }

    /// Sends bodies that became readable to the own devices that asked.
    pub(crate) fn serve_wanted(
        &mut self,
        conversation: ConversationId,
        new: &[EntryHash],
    ) -> Vec<Output> {
        let mut candidates: Vec<(ConversationId, EntryHash)> = std::mem::take(&mut self.filled);
        candidates.extend(new.iter().map(|id| (conversation, *id)));
        let mut outputs = Vec::new();
        let peers: Vec<DeviceId> = self.wanted.keys().copied().collect();
        for peer in peers {
            // Only what can be served now; other requests stay.
            let due: Vec<(ConversationId, EntryHash)> = candidates
                .iter()
                .filter(|(c, id)| self.can_serve(&peer, c, id))
                .filter(|key| self.wanted.get(&peer).is_some_and(|w| w.contains(key)))
                .copied()
                .collect();
            if let Some(wanted) = self.wanted.get_mut(&peer) {
                for key in &due {
                    wanted.remove(key);
                }
            }
            for (conv, id) in due {
                outputs.extend(self.entries_frames(&peer, conv, &[id]));
            }
        }
        outputs
    }

    /// Answers `WantBodies`: what can be served now goes at once; the rest
    /// is remembered (bounded) and served when it becomes readable.
    pub(crate) fn receive_want(
        &mut self,
        from: DeviceId,
        entries: Vec<(ConversationId, EntryHash)>,
    ) -> Vec<Output> {
        let shared = self.shared_with(&from).unwrap_or_default();
        let mut by_conversation: BTreeMap<ConversationId, Vec<EntryHash>> = BTreeMap::new();
        for (conversation, id) in entries {
            if shared.contains(&conversation) {
                by_conversation.entry(conversation).or_default().push(id);
            }
        }
        let mut outputs = Vec::new();
        for (conversation, ids) in by_conversation {
            let (ready, later): (Vec<EntryHash>, Vec<EntryHash>) = ids
                .into_iter()
                .partition(|id| self.can_serve(&from, &conversation, id));
            outputs.extend(self.entries_frames(&from, conversation, &ready));
            let wanted = self.wanted.entry(from).or_default();
            for id in later {
                if wanted.len() < limits::MAX_MISSING_BODIES {
                    wanted.insert((conversation, id));
                }
            }
        }
        outputs
    }
}
