//! The sans-I/O sync engine of one device: `handle(input, now) -> outputs`.
//!
//! It holds the conversation logs, the device logs of its own account and
//! its contacts (the directory: who is a member device of what), and the
//! pairwise sessions that encrypt bodies. It never touches a socket or a
//! file: the network layer feeds it [`Input`]s and carries out its
//! [`Output`]s; the simulator in `sim` does the same without sockets.
//!
//! This file holds the engine's state, loading and flushing it, and the
//! dispatch of inputs; each concern's work is in a file of its own
//! (`directory`, `anti_entropy`, `accept`, `bodies`, `receipts`,
//! `self_log`, `write`, `messages`, `kinds`).

use std::collections::{BTreeMap, BTreeSet};

use kith_crypto::sign::VerifyingKey;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_wire::{
    AccountId, AddressAnnouncement, Content, ConversationId, ConversationKind, DeviceId, EntryHash,
    EntryHeader, SignedAnnouncement, SyncMessage, WireEntry, decode, limits,
};

use crate::conversation::{Body, Conversation, StoredEntry};
use crate::error::{Result, SyncError};
use crate::ids::{entry_id, self_conversation};
use crate::io::{Event, Input, Output};
use crate::storage::{ConversationRecord, EntryRecord, Storage, StoredBody};

/// One device's view of its conversations.
pub struct Replica<S> {
    pub(crate) account: AccountId,
    pub(crate) keys: DeviceKeys,
    pub(crate) logs: BTreeMap<AccountId, DeviceLog>,
    pub(crate) sessions: Sessions<S>,
    pub(crate) conversations: BTreeMap<ConversationId, Conversation>,
    /// Entries deleted from this account's devices, by conversation.
    pub(crate) tombstones: BTreeSet<(ConversationId, EntryHash)>,
    /// Whole-conversation deletions: the highest Lamport time deleted.
    pub(crate) cutoffs: BTreeMap<ConversationId, u64>,
    /// Entries held back until their parents arrive.
    pub(crate) pending:
        BTreeMap<ConversationId, Vec<(EntryHash, WireEntry, EntryHeader, DeviceId)>>,
    pub(crate) connected: BTreeSet<DeviceId>,
    /// Per connected device: its newest device-log entry known when the
    /// connection began (what its rollback claims are judged against).
    pub(crate) known_at_connect: BTreeMap<DeviceId, u64>,
    /// Devices whose pre-key envelopes opened here, to answer (`acks.rs`).
    pub(crate) acks_due: BTreeSet<DeviceId>,
    /// One-time prekeys connected devices handed out (`offers.rs`).
    pub(crate) offers: BTreeMap<DeviceId, (u32, kith_wire::DhKey)>,
    /// Offers already used (ignored if handed out again).
    pub(crate) used_offers: BTreeSet<(DeviceId, kith_wire::DhKey)>,
    /// Bodies own devices asked for that were not readable here yet; served
    /// as soon as they are.
    pub(crate) wanted: BTreeMap<DeviceId, BTreeSet<(ConversationId, EntryHash)>>,
    /// Entries whose body became readable while handling the current frame.
    pub(crate) filled: Vec<(ConversationId, EntryHash)>,
    /// Conversations and entries changed since the last flush to storage.
    pub(crate) dirty_conversations: BTreeSet<ConversationId>,
    pub(crate) dirty_entries: BTreeSet<(ConversationId, EntryHash)>,
    /// Entries by devices revoked since they wrote them, held until an entry
    /// of an active device names them as parents (it saw them while their
    /// author was trusted); never shown or served before that.
    pub(crate) quarantine: BTreeMap<ConversationId, BTreeMap<EntryHash, (WireEntry, EntryHeader)>>,
    /// Device signing keys already validated (curve point checks are costly).
    pub(crate) verified_keys: BTreeMap<DeviceId, VerifyingKey>,
    /// The newest address announcement of each known device.
    pub(crate) addresses: BTreeMap<DeviceId, (AddressAnnouncement, SignedAnnouncement)>,
    /// Device logs of accounts that are neither this account nor a
    /// contact, offered by other accounts' devices: taken once a group's
    /// membership names them (`groups.rs`); bounded, not stored.
    pub(crate) offered_logs: BTreeMap<AccountId, DeviceLog>,
    /// Outputs of group entries stored while handling the current input.
    pub(crate) group_outputs: Vec<Output>,
    /// From how many recipient devices a group's messages go under
    /// sender keys (`sender_keys.rs`).
    pub(crate) sender_keys_from: usize,
    /// The link keys of the rooms this account joined or created, from
    /// the self log (`rooms.rs`).
    pub(crate) room_keys: BTreeMap<ConversationId, kith_wire::RoomKey>,
    /// Rooms: accounts whose join was refused here because their device
    /// log had not arrived yet, and the device that sent it (asked again
    /// when the log arrives; `rooms.rs`).
    pub(crate) refused_joiners: BTreeMap<AccountId, DeviceId>,
}

impl<S: Storage> Replica<S> {
    /// A replica for this device, whose account's device log is `own_log`.
    pub fn new(keys: DeviceKeys, own_log: DeviceLog, sessions: Sessions<S>) -> Result<Self> {
        let account = own_log.account_id();
        let mut replica = Self {
            account,
            keys,
            logs: BTreeMap::from([(account, own_log)]),
            sessions,
            conversations: BTreeMap::new(),
            tombstones: BTreeSet::new(),
            cutoffs: BTreeMap::new(),
            pending: BTreeMap::new(),
            connected: BTreeSet::new(),
            known_at_connect: BTreeMap::new(),
            acks_due: BTreeSet::new(),
            offers: BTreeMap::new(),
            used_offers: BTreeSet::new(),
            wanted: BTreeMap::new(),
            filled: Vec::new(),
            dirty_conversations: BTreeSet::new(),
            dirty_entries: BTreeSet::new(),
            verified_keys: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            addresses: BTreeMap::new(),
            offered_logs: BTreeMap::new(),
            group_outputs: Vec::new(),
            sender_keys_from: crate::SENDER_KEYS_FROM_DEVICES,
            room_keys: BTreeMap::new(),
            refused_joiners: BTreeMap::new(),
        };
        replica.reload()?;
        Ok(replica)
    }

    /// Rebuilds everything from storage, as after a restart: connections,
    /// held-back entries and unanswered requests are gone; every entry that
    /// was stored (and so acknowledged) is back.
    pub fn reload(&mut self) -> Result<()> {
        self.connected.clear();
        self.pending.clear();
        self.wanted.clear();
        self.filled.clear();
        self.tombstones.clear();
        self.cutoffs.clear();
        self.room_keys.clear();
        self.refused_joiners.clear();
        let (records, entries) = self.sessions.store().load().map_err(SyncError::Storage)?;
        let self_id = self_conversation(&self.account)?;
        let mut conversations = BTreeMap::from([(
            self_id,
            Conversation::new(self_id, ConversationKind::SelfLog, vec![self.account]),
        )]);
        for c in records {
            conversations.insert(c.id, Conversation::new(c.id, c.kind, c.members));
        }
        let mut rows = Vec::with_capacity(entries.len());
        for (conversation, record) in entries {
            let header: EntryHeader = record.header.peek(limits::MAX_ENTRY_BYTES)?;
            let id = entry_id(&record.header)?;
            rows.push((
                (header.lamport, header.author_device, header.seq),
                conversation,
                id,
                header,
                record,
            ));
        }
        // Display order is causal: parents go in before their children.
        rows.sort_by_key(|row| row.0);
        for (_, conversation, id, header, record) in rows {
            let body = match record.body {
                StoredBody::Plain(plain) => {
                    match decode::<Content>(&plain.content, limits::MAX_BODY_BYTES) {
                        Ok(content) => Body::Plain { plain, content },
                        Err(_) => Body::Missing,
                    }
                }
                StoredBody::Missing => Body::Missing,
                StoredBody::Deleted => Body::Deleted,
            };
            let conv = conversations
                .get_mut(&conversation)
                .ok_or(SyncError::UnknownConversation)?;
            conv.insert(StoredEntry {
                id,
                signed: record.header,
                header,
                body,
                fan_out: record.fan_out,
            });
        }
        for conv in conversations.values_mut() {
            conv.rebuild_membership();
        }
        self.conversations = conversations;
        self.dirty_conversations.insert(self_id);
        // Deletions recorded in the self log take effect again.
        let contents: Vec<Content> = self
            .conversations
            .get(&self_id)
            .map(|c| {
                c.in_order()
                    .filter_map(|e| match &e.body {
                        Body::Plain { content, .. } => Some(content.clone()),
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        for content in contents {
            self.apply_content(self_id, &content);
        }
        self.flush()
    }

    /// Writes what changed to storage in one durable transaction.
    pub(crate) fn flush(&mut self) -> Result<()> {
        let conversations: Vec<ConversationRecord> = self
            .dirty_conversations
            .iter()
            .filter_map(|id| self.conversations.get(id))
            .map(|c| ConversationRecord {
                id: c.id,
                kind: c.kind,
                members: c.members.clone(),
            })
            .collect();
        let entries: Vec<(ConversationId, EntryHash, EntryRecord)> = self
            .dirty_entries
            .iter()
            .filter_map(|(conversation, id)| {
                let e = self.conversations.get(conversation)?.get(id)?;
                let body = match &e.body {
                    Body::Plain { plain, .. } => StoredBody::Plain(plain.clone()),
                    Body::Missing => StoredBody::Missing,
                    Body::Deleted => StoredBody::Deleted,
                };
                Some((
                    *conversation,
                    *id,
                    EntryRecord {
                        header: e.signed.clone(),
                        body,
                        fan_out: e.fan_out.clone(),
                    },
                ))
            })
            .collect();
        self.sessions
            .store_mut()
            .put(&conversations, &entries)
            .map_err(SyncError::Storage)?;
        self.dirty_conversations.clear();
        self.dirty_entries.clear();
        Ok(())
    }

    /// This device.
    pub fn device_id(&self) -> DeviceId {
        self.keys.device_id()
    }

    /// This account.
    pub fn account_id(&self) -> AccountId {
        self.account
    }

    /// The keys of this device.
    pub fn keys(&self) -> &DeviceKeys {
        &self.keys
    }

    /// The keys of this device, writable (prekey rotation); the caller
    /// stores them.
    pub fn keys_mut(&mut self) -> &mut DeviceKeys {
        &mut self.keys
    }

    /// The storage, writable (maintenance such as compaction).
    pub fn storage_mut(&mut self) -> &mut S {
        self.sessions.store_mut()
    }

    /// The sessions (for inspection and persistence).
    pub fn sessions(&self) -> &Sessions<S> {
        &self.sessions
    }

    /// A conversation.
    pub fn conversation(&self, id: &ConversationId) -> Option<&Conversation> {
        self.conversations.get(id)
    }

    /// This account's self conversation.
    pub fn self_conversation_id(&self) -> Result<ConversationId> {
        self_conversation(&self.account)
    }

    /// Feeds one input; returns what to do.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Vec<Output> {
        // Session updates and entries of one input are committed together.
        self.sessions.store_mut().begin();
        // One input is one frame: the keys its envelopes may derive ahead
        // are bounded together (a body over the budget stays missing and
        // is asked for again, in a later frame).
        self.sessions.renew_budget();
        let mut outputs = self.dispatch(input, now_ms);
        outputs.extend(self.send_acks());
        // Nothing is acknowledged (sent) before what it acknowledges is durable.
        match self.flush() {
            Ok(()) => outputs,
            Err(e) => vec![Output::Event(Event::StorageFailed(e.to_string()))],
        }
    }

    pub(crate) fn dispatch(&mut self, input: Input, now_ms: u64) -> Vec<Output> {
        match input {
            Input::Connected(peer) => {
                self.connected.insert(peer);
                let known = self
                    .account_of(&peer)
                    .and_then(|a| self.logs.get(&a))
                    .and_then(|log| log.newest_seq(&peer));
                // A second connection while the first is still up (one
                // replaces the other) keeps the first floor: frames of the
                // first, with its older claim, may still be queued.
                if let Some(seq) = known {
                    self.known_at_connect.entry(peer).or_insert(seq);
                }
                // Device logs first: the peer may need them to accept what follows.
                let mut outputs = self.directory_to(&peer);
                outputs.extend(self.offer_prekey(&peer));
                outputs.extend(self.hello(&peer));
                outputs
            }
            Input::Disconnected(peer) => {
                self.connected.remove(&peer);
                self.known_at_connect.remove(&peer);
                self.wanted.remove(&peer);
                Vec::new()
            }
            Input::Received { from, message } => match self.receive(from, message, now_ms) {
                Ok(outputs) => outputs,
                Err(reason) => Output::refusal(from, reason).into(),
            },
        }
    }

    pub(crate) fn receive(
        &mut self,
        from: DeviceId,
        message: SyncMessage,
        now_ms: u64,
    ) -> Result<Vec<Output>> {
        message.check_limits()?;
        let Some(peer_account) = self.account_of(&from) else {
            // A device believed revoked may carry the device-log entries
            // that show otherwise (they prove themselves): its directory is
            // taken, and nothing else.
            return match (self.revoked_account_of(&from), message) {
                (Some(_), SyncMessage::Directory(directory)) => {
                    Ok(self.receive_revoked_directory(from, directory))
                }
                _ => Err(SyncError::NotMember),
            };
        };
        match message {
            SyncMessage::Hello { summaries } => Ok(self.answer_hello(&from, &summaries)),
            SyncMessage::Entries {
                conversation,
                entries,
            } => self.receive_entries(from, peer_account, conversation, entries, now_ms),
            SyncMessage::WantBodies { entries } => Ok(self.receive_want(from, entries)),
            SyncMessage::Refused { .. } => Ok(Vec::new()),
            SyncMessage::OneTimePrekey { id, key } => {
                self.receive_offer(from, id, key);
                Ok(Vec::new())
            }
            SyncMessage::SessionAck { message } => {
                // Nothing to answer: a stale or forged one changes nothing.
                let _ = self.receive_ack(from, &message, now_ms);
                Ok(Vec::new())
            }
            SyncMessage::Directory(directory) => {
                Ok(self.receive_directory(from, peer_account, directory, now_ms))
            }
        }
    }

    /// An entry of a conversation.
    pub(crate) fn entry(
        &self,
        conversation: &ConversationId,
        id: &EntryHash,
    ) -> Option<&StoredEntry> {
        self.conversations.get(conversation).and_then(|c| c.get(id))
    }
}
