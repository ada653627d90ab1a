//! Accepting entries from peers: checks, entries held back until their
//! parents arrive, the quarantine of revoked devices' entries, storing.

use kith_identity::DeviceStatus;
use kith_wire::{
    AccountId, ConversationId, DeviceId, EntryHash, EntryHeader, SyncMessage, WireEntry, domain,
    limits,
};

use crate::conversation::{Body, Placement, StoredEntry};
use crate::error::{Result, SyncError};
use crate::ids::entry_id;
use crate::io::{Event, Output};
use crate::replica::Replica;
use crate::storage::Storage;

/// Most entries held back per conversation.
const MAX_PENDING: usize = 4096;

impl<S: Storage> Replica<S> {
    /// Events for new entries, and the push to this account's other devices.
    pub(crate) fn after_accept(
        &mut self,
        conversation: ConversationId,
        new: &[EntryHash],
        from_account: AccountId,
        now_ms: u64,
        refused: Option<(DeviceId, SyncError)>,
    ) -> Vec<Output> {
        let mut outputs: Vec<Output> = new
            .iter()
            .map(|id| {
                Output::Event(Event::NewEntry {
                    conversation,
                    id: *id,
                })
            })
            .collect();
        outputs.append(&mut self.group_outputs);
        if !new.is_empty() && from_account != self.account {
            for device in self.connected_own() {
                outputs.extend(self.entries_frames(&device, conversation, new));
            }
        }
        // In a group, any member device passes what it got on to the other
        // members' connected devices (what they hold already stops there).
        if !new.is_empty() {
            for device in self.group_forward_targets(&conversation, from_account) {
                outputs.extend(self.entries_frames(&device, conversation, new));
            }
        }
        let unreadable: Vec<(ConversationId, EntryHash)> = new
            .iter()
            .filter(|id| {
                // Not a distribution meant for other devices: nobody
                // could serve it here.
                let entry = self.entry(&conversation, id);
                let mine = self.device_id();
                entry.is_some_and(|e| {
                    e.body == Body::Missing
                        && (e.header.kind != kith_wire::EntryKind::SenderKey
                            || e.fan_out
                                .as_ref()
                                .is_some_and(|f| f.has_envelope_for(&mine)))
                })
            })
            .map(|id| (conversation, *id))
            .collect();
        if !unreadable.is_empty() {
            let peers: Vec<DeviceId> = self
                .connected
                .iter()
                .filter(|d| {
                    self.account_of(d).is_some_and(|a| {
                        self.conversations
                            .get(&conversation)
                            .is_some_and(|c| c.may_sync(&a))
                    })
                })
                .copied()
                .collect();
            for device in peers {
                let message = SyncMessage::WantBodies {
                    entries: unreadable.clone(),
                };
                outputs.push(Output::Send {
                    to: device,
                    message,
                });
            }
        }
        outputs.extend(self.receipt_for(conversation, new, now_ms));
        outputs.extend(self.filled.iter().map(|(conversation, id)| {
            Output::Event(Event::BodyArrived {
                conversation: *conversation,
                id: *id,
            })
        }));
        outputs.extend(self.serve_wanted(conversation, new));
        if let Some((from, reason)) = refused {
            outputs.extend(Output::refusal(from, reason));
        }
        outputs
    }

    /// Checks one entry and stores it. `Ok(None)`: already known or held back.
    pub(crate) fn accept(
        &mut self,
        conversation: ConversationId,
        wire: WireEntry,
        from: DeviceId,
        now_ms: u64,
    ) -> Result<Option<EntryHash>> {
        let id = entry_id(&wire.header)?;
        let header: EntryHeader = wire.header.peek(limits::MAX_ENTRY_BYTES)?;
        header.check_limits()?;
        if header.conversation != conversation {
            return Err(SyncError::InvalidEntry("entry of another conversation"));
        }
        if let Some(existing) = self.entry(&conversation, &id) {
            if existing.body == Body::Missing && wire.body.is_some() {
                self.fill_body(conversation, &id, &wire, now_ms);
            }
            return Ok(None);
        }
        let key = self.verifying_key(&header.author_device)?;
        wire.header.verify_with(domain::LOG_ENTRY, &key)?;
        self.take_joiner_log(&header);
        let conv = self
            .conversations
            .get(&conversation)
            .ok_or(SyncError::UnknownConversation)?;
        if !conv.may_write(&header.author_account) {
            return Err(SyncError::NotMember);
        }
        let standing = self
            .logs
            .get(&header.author_account)
            .and_then(|log| log.state().devices.get(&header.author_device))
            .map(|d| d.status);
        match standing {
            Some(DeviceStatus::Active) => {}
            Some(DeviceStatus::Revoked { .. }) => {
                let held = self.quarantine.entry(conversation).or_default();
                if held.len() >= MAX_PENDING {
                    return Err(SyncError::Limit("too many entries of revoked devices"));
                }
                held.insert(id, (wire, header));
                return Ok(None);
            }
            None => {
                self.note_refused_joiner(&header, from);
                return Err(SyncError::NotMember);
            }
        }
        let conv = self
            .conversations
            .get(&conversation)
            .ok_or(SyncError::UnknownConversation)?;
        match conv.place(&id, &header)? {
            Placement::Waiting => {
                let queue = self.pending.entry(conversation).or_default();
                if queue.len() >= MAX_PENDING {
                    return Err(SyncError::Limit("too many entries waiting for parents"));
                }
                if !queue.iter().any(|(p, ..)| *p == id) {
                    queue.push((id, wire, header, from));
                }
                Ok(None)
            }
            Placement::Ready => {
                self.store(conversation, id, wire, header, now_ms)?;
                Ok(Some(id))
            }
        }
    }

    pub(crate) fn drain_pending(
        &mut self,
        conversation: ConversationId,
        now_ms: u64,
    ) -> Vec<EntryHash> {
        let mut added = Vec::new();
        loop {
            let Some(queue) = self.pending.get_mut(&conversation) else {
                return added;
            };
            let Some(conv) = self.conversations.get(&conversation) else {
                return added;
            };
            // Held entries of revoked devices that a waiting entry names as
            // a parent are vouched for: they join the queue.
            if let Some(held) = self.quarantine.get_mut(&conversation) {
                let named: Vec<EntryHash> = queue
                    .iter()
                    .flat_map(|(_, _, h, _)| h.parents.iter().chain(h.prev.iter()))
                    .filter(|p| conv.get(p).is_none())
                    .copied()
                    .collect();
                for parent in named {
                    if let Some((wire, header)) = held.remove(&parent) {
                        let from = header.author_device;
                        queue.push((parent, wire, header, from));
                    }
                }
            }
            let ready = queue.iter().position(|(id, _, header, _)| {
                conv.place(id, header).is_ok_and(|p| p == Placement::Ready)
            });
            let Some(index) = ready else {
                // Drop what can never fit (equivocations, bad links).
                queue.retain(|(id, _, header, _)| conv.place(id, header).is_ok());
                return added;
            };
            let (id, wire, header, _) = queue.remove(index);
            // It may have arrived again, with its parents, and been stored.
            if conv.get(&id).is_some() {
                continue;
            }
            if self.store(conversation, id, wire, header, now_ms).is_ok() {
                added.push(id);
            }
        }
    }

    pub(crate) fn store(
        &mut self,
        conversation: ConversationId,
        id: EntryHash,
        wire: WireEntry,
        header: EntryHeader,
        now_ms: u64,
    ) -> Result<()> {
        // Never twice: decrypting again would fail (the message key is
        // spent) and overwrite a readable body.
        if self
            .conversations
            .get(&conversation)
            .is_some_and(|c| c.get(&id).is_some())
        {
            return Ok(());
        }
        let deleted = self.is_deleted(&conversation, &id, header.lamport)
            || self.is_removed_post(&conversation, &id, header.kind);
        let body = if deleted {
            Body::Deleted
        } else {
            self.open_body(&header, &wire, now_ms)
        };
        self.check_group_entry(&conversation, &id, &header, &body, now_ms)?;
        let content = match &body {
            Body::Plain { content, .. } => Some(content.clone()),
            _ => None,
        };
        let fan_out = if deleted || wire.rewrapped_by.is_some() {
            None
        } else {
            wire.body
        };
        let conv = self
            .conversations
            .get_mut(&conversation)
            .ok_or(SyncError::UnknownConversation)?;
        self.dirty_entries.insert((conversation, id));
        conv.insert(StoredEntry {
            id,
            signed: wire.header,
            header,
            body,
            fan_out,
        });
        if let Some(content) = content {
            self.apply_content(conversation, &content);
        }
        // Nothing under a new chain can be here yet (it has the
        // distribution as an ancestor): nothing waits to be opened.
        self.take_sender_key(conversation, &id);
        let outputs = self.after_group_entry(&conversation, &id);
        self.group_outputs.extend(outputs);
        Ok(())
    }

    pub(crate) fn is_deleted(
        &self,
        conversation: &ConversationId,
        id: &EntryHash,
        lamport: u64,
    ) -> bool {
        self.tombstones.contains(&(*conversation, *id))
            || self
                .cutoffs
                .get(conversation)
                .is_some_and(|cut| lamport <= *cut)
    }

    /// Takes an `Entries` frame: each entry checked and stored (or held
    /// back); the first refused one ends the frame, what came before stays.
    pub(crate) fn receive_entries(
        &mut self,
        from: DeviceId,
        peer_account: AccountId,
        conversation: ConversationId,
        entries: Vec<WireEntry>,
        now_ms: u64,
    ) -> Result<Vec<Output>> {
        let tentative = match self.ensure_conversation(&conversation, &peer_account) {
            Err(SyncError::UnknownConversation) if self.offer_group(&conversation, &entries) => {
                true
            }
            Err(SyncError::UnknownConversation) => {
                // Perhaps a group's later entries overtook its creation
                // (frames need not arrive in order): refused, and the peer
                // is asked, as on a reconnection, for what it shares with
                // this device, which brings the group from its start.
                let mut outputs: Vec<Output> =
                    Output::refusal(from, SyncError::UnknownConversation).into();
                outputs.extend(self.hello(&from));
                return Ok(outputs);
            }
            other => {
                other?;
                false
            }
        };
        let outputs = self.receive_entries_of(from, peer_account, conversation, entries, now_ms);
        if tentative {
            self.drop_if_not_group(&conversation);
        }
        outputs
    }

    fn receive_entries_of(
        &mut self,
        from: DeviceId,
        peer_account: AccountId,
        conversation: ConversationId,
        entries: Vec<WireEntry>,
        now_ms: u64,
    ) -> Result<Vec<Output>> {
        let waiting = |r: &Self| r.pending.get(&conversation).map_or(0, Vec::len);
        let waiting_before = waiting(self);
        let mut new = Vec::new();
        for wire in entries {
            match self.accept(conversation, wire, from, now_ms) {
                Ok(Some(id)) => new.push(id),
                Ok(None) => {}
                Err(reason) => {
                    return Ok(self.after_accept(
                        conversation,
                        &new,
                        peer_account,
                        now_ms,
                        Some((from, reason)),
                    ));
                }
            }
        }
        let queued = waiting(self) > waiting_before;
        new.extend(self.drain_pending(conversation, now_ms));
        let mut outputs = self.after_accept(conversation, &new, peer_account, now_ms, None);
        // Entries of this frame still wait for parents it did not bring (a
        // push whose ancestry was lost on the way): ask the sender for
        // what this device lacks, as on a reconnection, instead of waiting
        // for one. Only when this frame queued something, so it is bounded
        // by what the peer sends.
        if queued && waiting(self) > 0 {
            outputs.extend(self.hello(&from));
        }
        Ok(outputs)
    }
}
