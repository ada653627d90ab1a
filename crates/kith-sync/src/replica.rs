//! The sans-I/O sync engine of one device: `handle(input, now) -> outputs`.
//!
//! It holds the conversation logs, the device logs of its own account and
//! its contacts (the directory: who is a member device of what), and the
//! pairwise sessions that encrypt bodies. It never touches a socket or a
//! file: the network layer feeds it [`Input`]s and carries out its
//! [`Output`]s; the simulator in `sim` does the same without sockets.

use std::collections::{BTreeMap, BTreeSet};

use kith_crypto::sign::VerifyingKey;
use kith_identity::{DeviceKeys, DeviceLog, DeviceStatus};
use kith_session::{LocalDevice, RemoteDevice, Sessions};
use kith_wire::{
    AccountId, AddressAnnouncement, BodyPlain, Content, ConversationId, ConversationKind, DeviceId,
    Directory, EntryHash, EntryHeader, EntryKind, Envelope, FanOut, SelfRecord, SignedAnnouncement,
    SignedHeader, SyncMessage, TrustLevel, WireEntry, decode, domain, encode, limits,
};

use crate::conversation::{Body, Conversation, Placement, StoredEntry};
use crate::error::{Result, SyncError};
use crate::ids::{body_hash, direct_conversation, entry_id, self_conversation};
use crate::storage::{ConversationRecord, EntryRecord, Storage, StoredBody};

/// Something that happened to this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A connection to another device is up.
    Connected(DeviceId),
    /// A connection went down.
    Disconnected(DeviceId),
    /// A frame arrived.
    Received {
        /// The peer device (authenticated by the transport).
        from: DeviceId,
        /// The frame.
        message: SyncMessage,
    },
}

/// Something this device wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a frame to a device.
    Send {
        /// The device.
        to: DeviceId,
        /// The frame.
        message: SyncMessage,
    },
    /// Tell the application.
    Event(Event),
}

/// What the application hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new entry is in a conversation.
    NewEntry {
        /// The conversation.
        conversation: ConversationId,
        /// The entry.
        id: EntryHash,
    },
    /// Storage failed: nothing of the last input was acknowledged.
    StorageFailed(String),
    /// Something from a peer was refused.
    Refused {
        /// The peer.
        from: DeviceId,
        /// Why.
        reason: SyncError,
    },
    /// Device logs of these accounts changed (devices added or revoked, a
    /// new contact learned from another of this account's devices).
    DirectoryChanged {
        /// The accounts whose logs changed.
        accounts: Vec<AccountId>,
    },
    /// Newer address announcements arrived.
    AddressesChanged(Vec<AddressAnnouncement>),
}

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

/// One device's view of its conversations.
pub struct Replica<S> {
    account: AccountId,
    keys: DeviceKeys,
    logs: BTreeMap<AccountId, DeviceLog>,
    sessions: Sessions<S>,
    conversations: BTreeMap<ConversationId, Conversation>,
    /// Entries deleted from this account's devices, by conversation.
    tombstones: BTreeSet<(ConversationId, EntryHash)>,
    /// Whole-conversation deletions: the highest Lamport time deleted.
    cutoffs: BTreeMap<ConversationId, u64>,
    /// Entries held back until their parents arrive.
    pending: BTreeMap<ConversationId, Vec<(EntryHash, WireEntry, EntryHeader, DeviceId)>>,
    connected: BTreeSet<DeviceId>,
    /// Bodies own devices asked for that were not readable here yet; served
    /// as soon as they are.
    wanted: BTreeMap<DeviceId, BTreeSet<(ConversationId, EntryHash)>>,
    /// Entries whose body became readable while handling the current frame.
    filled: Vec<(ConversationId, EntryHash)>,
    /// Conversations and entries changed since the last flush to storage.
    dirty_conversations: BTreeSet<ConversationId>,
    dirty_entries: BTreeSet<(ConversationId, EntryHash)>,
    /// Entries by devices revoked since they wrote them, held until an entry
    /// of an active device names them as parents (it saw them while their
    /// author was trusted); never shown or served before that.
    quarantine: BTreeMap<ConversationId, BTreeMap<EntryHash, (WireEntry, EntryHeader)>>,
    /// Device signing keys already validated (curve point checks are costly).
    verified_keys: BTreeMap<DeviceId, VerifyingKey>,
    /// The newest address announcement of each known device.
    addresses: BTreeMap<DeviceId, (AddressAnnouncement, SignedAnnouncement)>,
}

/// Most entries held back per conversation.
const MAX_PENDING: usize = 4096;

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
            wanted: BTreeMap::new(),
            filled: Vec::new(),
            dirty_conversations: BTreeSet::new(),
            dirty_entries: BTreeSet::new(),
            verified_keys: BTreeMap::new(),
            quarantine: BTreeMap::new(),
            addresses: BTreeMap::new(),
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
    fn flush(&mut self) -> Result<()> {
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

    /// Accounts whose device logs are known (own and contacts).
    pub fn known_accounts(&self) -> Vec<AccountId> {
        self.logs.keys().copied().collect()
    }

    /// The active device whose iroh endpoint is `transport`, among known logs.
    pub fn device_for_transport(&self, transport: &kith_wire::TransportId) -> Option<DeviceId> {
        self.logs.values().find_map(|log| {
            log.state()
                .active_devices()
                .find(|d| d.record.transport == *transport)
                .map(|d| d.record.device)
        })
    }

    /// The device log of `account`, if known.
    pub fn device_log(&self, account: &AccountId) -> Option<&DeviceLog> {
        self.logs.get(account)
    }

    /// Adds or updates a device log (a contact's, or this account's own).
    pub fn update_log(&mut self, log: DeviceLog) {
        match self.logs.get_mut(&log.account_id()) {
            Some(existing) => {
                existing.merge(log.entries().cloned());
            }
            None => {
                self.logs.insert(log.account_id(), log);
            }
        }
        self.forget_revoked();
    }

    /// Drops the sessions with revoked devices: nothing new is encrypted
    /// for them, and their keys are gone from this device.
    fn forget_revoked(&mut self) {
        self.verified_keys.clear();
        let revoked: Vec<DeviceId> = self
            .logs
            .values()
            .flat_map(|log| {
                log.state()
                    .devices
                    .values()
                    .filter(|d| d.status != DeviceStatus::Active)
                    .map(|d| d.record.device)
                    .collect::<Vec<_>>()
            })
            .collect();
        for device in revoked {
            if self.sessions.has_session(&device).unwrap_or(false) {
                let _ = self.sessions.forget(&device);
            }
        }
    }

    /// Opens (or returns) the direct conversation with a contact whose device
    /// log is known.
    pub fn open_direct(&mut self, contact: &AccountId) -> Result<ConversationId> {
        if !self.logs.contains_key(contact) || *contact == self.account {
            return Err(SyncError::NotMember);
        }
        let id = direct_conversation(&self.account, contact)?;
        if !self.conversations.contains_key(&id) {
            let members = vec![self.account, *contact];
            self.conversations
                .insert(id, Conversation::new(id, ConversationKind::Direct, members));
            self.dirty_conversations.insert(id);
            self.flush()?;
        }
        Ok(id)
    }

    /// The account `device` is an active device of, among known logs.
    fn account_of(&self, device: &DeviceId) -> Option<AccountId> {
        self.logs
            .iter()
            .find(|(_, log)| log.state().is_active(device))
            .map(|(a, _)| *a)
    }

    fn remote(&self, device: &DeviceId) -> Option<RemoteDevice> {
        self.logs.iter().find_map(|(account, log)| {
            let state = log.state().devices.get(device)?;
            log.state()
                .is_active(device)
                .then(|| RemoteDevice::from_log(*account, state))
        })
    }

    /// Any device a known log ever added, revoked or not: for opening bodies
    /// of stored entries (from active devices, or vouched for).
    fn remote_any(&self, device: &DeviceId) -> Option<RemoteDevice> {
        self.logs.iter().find_map(|(account, log)| {
            log.state()
                .devices
                .get(device)
                .map(|state| RemoteDevice::from_log(*account, state))
        })
    }

    /// Active devices of the members of `conversation`, except this one.
    fn member_devices(&self, conversation: &Conversation) -> Vec<RemoteDevice> {
        let me = self.device_id();
        conversation
            .members
            .iter()
            .filter_map(|account| self.logs.get(account).map(|log| (account, log)))
            .flat_map(|(account, log)| {
                log.state()
                    .active_devices()
                    .filter(|d| d.record.device != me)
                    .map(|d| RemoteDevice::from_log(*account, d))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Feeds one input; returns what to do.
    pub fn handle(&mut self, input: Input, now_ms: u64) -> Vec<Output> {
        // Session updates and entries of one input are committed together.
        self.sessions.store_mut().begin();
        let outputs = self.dispatch(input, now_ms);
        // Nothing is acknowledged (sent) before what it acknowledges is durable.
        match self.flush() {
            Ok(()) => outputs,
            Err(e) => vec![Output::Event(Event::StorageFailed(e.to_string()))],
        }
    }

    fn dispatch(&mut self, input: Input, now_ms: u64) -> Vec<Output> {
        match input {
            Input::Connected(peer) => {
                self.connected.insert(peer);
                // Device logs first: the peer may need them to accept what follows.
                let mut outputs = self.directory_to(&peer);
                outputs.extend(self.hello(&peer));
                outputs
            }
            Input::Disconnected(peer) => {
                self.connected.remove(&peer);
                self.wanted.remove(&peer);
                Vec::new()
            }
            Input::Received { from, message } => match self.receive(from, message, now_ms) {
                Ok(outputs) => outputs,
                Err(reason) => vec![
                    Output::Send {
                        to: from,
                        message: SyncMessage::Refused {
                            reason: reason.to_string(),
                        },
                    },
                    Output::Event(Event::Refused { from, reason }),
                ],
            },
        }
    }

    /// The conversations `peer` may see, or `None` if it is no member device.
    fn shared_with(&self, peer: &DeviceId) -> Option<Vec<ConversationId>> {
        let account = self.account_of(peer)?;
        Some(
            self.conversations
                .values()
                .filter(|c| c.is_member(&account))
                .map(|c| c.id)
                .collect(),
        )
    }

    /// `Hello` to a peer, plus `WantBodies` if it is one of this account's
    /// devices and some bodies are unreadable here.
    fn hello(&self, peer: &DeviceId) -> Vec<Output> {
        let Some(shared) = self.shared_with(peer) else {
            return Vec::new();
        };
        let summaries = shared
            .iter()
            .filter_map(|id| self.conversations.get(id))
            .map(Conversation::summary)
            .collect();
        let mut outputs = vec![Output::Send {
            to: *peer,
            message: SyncMessage::Hello { summaries },
        }];
        // Bodies unreadable here, from conversations this peer shares: its
        // own devices can re-encrypt them, any member may hold the original.
        let missing: Vec<(ConversationId, EntryHash)> = shared
            .iter()
            .filter_map(|id| self.conversations.get(id))
            .flat_map(|c| c.unreadable().map(move |id| (c.id, *id)))
            .take(limits::MAX_MISSING_BODIES)
            .collect();
        if !missing.is_empty() {
            outputs.push(Output::Send {
                to: *peer,
                message: SyncMessage::WantBodies { entries: missing },
            });
        }
        outputs
    }

    /// This account's connected devices other than this one.
    fn connected_own(&self) -> Vec<DeviceId> {
        self.connected
            .iter()
            .filter(|d| self.account_of(d) == Some(self.account))
            .copied()
            .collect()
    }

    fn receive(
        &mut self,
        from: DeviceId,
        message: SyncMessage,
        now_ms: u64,
    ) -> Result<Vec<Output>> {
        message.check_limits()?;
        let peer_account = self.account_of(&from).ok_or(SyncError::NotMember)?;
        match message {
            SyncMessage::Hello { summaries } => {
                let mut outputs = Vec::new();
                // Every conversation we share: what the peer lacks, oldest
                // first. A shared conversation missing from its summaries is
                // one it has nothing of yet.
                for conversation in self.shared_with(&from).unwrap_or_default() {
                    let have = summaries
                        .iter()
                        .find(|s| s.conversation == conversation)
                        .map(|s| s.have.clone())
                        .unwrap_or_default();
                    let Some(conv) = self.conversations.get(&conversation) else {
                        continue;
                    };
                    let missing = conv.missing_for(&have);
                    outputs.extend(self.entries_frames(&from, conversation, &missing));
                }
                Ok(outputs)
            }
            SyncMessage::Entries {
                conversation,
                entries,
            } => {
                self.ensure_conversation(&conversation, &peer_account)?;
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
                new.extend(self.drain_pending(conversation, now_ms));
                Ok(self.after_accept(conversation, &new, peer_account, now_ms, None))
            }
            SyncMessage::WantBodies { entries } => {
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
                Ok(outputs)
            }
            SyncMessage::Refused { .. } => Ok(Vec::new()),
            SyncMessage::Directory(directory) => {
                Ok(self.receive_directory(from, peer_account, directory, now_ms))
            }
        }
    }

    /// What `peer` may learn of the directory: this account's device log and
    /// its devices' addresses; this account's own devices get everything
    /// (contacts' logs and addresses too).
    fn directory_for(&self, peer: &DeviceId) -> Option<Directory> {
        let account = self.account_of(peer)?;
        let own = account == self.account;
        let logs = self
            .logs
            .iter()
            .filter(|(a, _)| own || **a == self.account)
            .map(|(_, log)| log.entries().cloned().collect())
            .take(kith_wire::MAX_DIRECTORY_LOGS)
            .collect();
        let own_devices = self.logs.get(&self.account);
        let addresses = self
            .addresses
            .iter()
            .filter(|(device, _)| own || own_devices.is_some_and(|l| l.state().is_active(device)))
            .map(|(_, (_, signed))| signed.clone())
            .take(limits::MAX_FANOUT_DEVICES)
            .collect();
        Some(Directory { logs, addresses })
    }

    fn directory_to(&self, peer: &DeviceId) -> Vec<Output> {
        self.directory_for(peer)
            .map(|directory| Output::Send {
                to: *peer,
                message: SyncMessage::Directory(directory),
            })
            .into_iter()
            .collect()
    }

    /// Sends the directory to every connected device (after this account's
    /// device log or addresses changed).
    pub fn publish_directory(&self) -> Vec<Output> {
        self.connected
            .iter()
            .flat_map(|peer| self.directory_to(peer))
            .collect()
    }

    fn receive_directory(
        &mut self,
        from: DeviceId,
        peer_account: AccountId,
        directory: Directory,
        _now_ms: u64,
    ) -> Vec<Output> {
        let from_own = peer_account == self.account;
        let mut changed = Vec::new();
        for entries in directory.logs {
            let Some(account) = entries.iter().find_map(|e| {
                let entry: kith_wire::DeviceLogEntry = e.peek(limits::MAX_ENTRY_BYTES).ok()?;
                if entry.account.is_some() {
                    return None;
                }
                kith_identity::device_log::account_id_of(e).ok()
            }) else {
                continue;
            };
            match self.logs.get_mut(&account) {
                Some(log) => {
                    let added = log.merge(entries).added;
                    if added > 0 {
                        changed.push(account);
                    }
                }
                // A contact another of this account's devices knows.
                None if from_own => {
                    if let Ok(log) = DeviceLog::from_entries(entries) {
                        self.logs.insert(account, log);
                        changed.push(account);
                    }
                }
                None => {}
            }
        }
        let mut outputs = Vec::new();
        if !changed.is_empty() {
            self.forget_revoked();
            outputs.push(Output::Event(Event::DirectoryChanged {
                accounts: changed.clone(),
            }));
        }
        let mut fresh = Vec::new();
        for signed in directory.addresses {
            if let Ok(Some(announcement)) = self.add_announcement(signed) {
                fresh.push(announcement);
            }
        }
        let addresses_changed = !fresh.is_empty();
        if addresses_changed {
            outputs.push(Output::Event(Event::AddressesChanged(fresh)));
        }
        if !changed.is_empty() || addresses_changed {
            // Pass news on; it stops where nothing is new.
            for peer in self.connected.iter().filter(|p| **p != from) {
                outputs.extend(self.directory_to(peer));
            }
        }
        outputs
    }

    /// Takes a signed address announcement of a known device if it is valid
    /// and newer than the one held; returns it when it was taken.
    pub fn add_announcement(
        &mut self,
        signed: SignedAnnouncement,
    ) -> Result<Option<AddressAnnouncement>> {
        let announcement: AddressAnnouncement = signed.peek(limits::MAX_ENTRY_BYTES)?;
        announcement.check_limits()?;
        let record = self
            .logs
            .values()
            .find_map(|log| log.state().devices.get(&announcement.device))
            .ok_or(SyncError::InvalidEntry("announcement of an unknown device"))?;
        if record.record.transport != announcement.transport {
            return Err(SyncError::InvalidEntry("announcement for another endpoint"));
        }
        signed.verify(domain::ADDRESS, &announcement.device)?;
        if self
            .addresses
            .get(&announcement.device)
            .is_some_and(|(held, _)| held.at_ms >= announcement.at_ms)
        {
            return Ok(None);
        }
        self.addresses
            .insert(announcement.device, (announcement.clone(), signed));
        Ok(Some(announcement))
    }

    /// The newest address announcement of every known device.
    pub fn announcements(
        &self,
    ) -> impl Iterator<Item = (&AddressAnnouncement, &SignedAnnouncement)> {
        self.addresses.values().map(|(a, s)| (a, s))
    }

    /// Creates a direct conversation on first contact from its other member.
    fn ensure_conversation(&mut self, id: &ConversationId, peer_account: &AccountId) -> Result<()> {
        if let Some(c) = self.conversations.get(id) {
            return if c.is_member(peer_account) {
                Ok(())
            } else {
                Err(SyncError::NotMember)
            };
        }
        // A direct conversation appears on first contact: from the other
        // member, or from one of this account's own devices.
        let contact = if *peer_account == self.account {
            self.logs
                .keys()
                .filter(|a| **a != self.account)
                .find(|a| direct_conversation(&self.account, a).is_ok_and(|d| d == *id))
                .copied()
        } else {
            (direct_conversation(&self.account, peer_account)? == *id).then_some(*peer_account)
        };
        if let Some(contact) = contact {
            self.open_direct(&contact)?;
            return Ok(());
        }
        Err(SyncError::UnknownConversation)
    }

    /// Events for new entries, and the push to this account's other devices.
    fn after_accept(
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
        if !new.is_empty() && from_account != self.account {
            for device in self.connected_own() {
                outputs.extend(self.entries_frames(&device, conversation, new));
            }
        }
        let unreadable: Vec<(ConversationId, EntryHash)> = new
            .iter()
            .filter(|id| {
                let entry = self.entry(&conversation, id);
                entry.is_some_and(|e| e.body == Body::Missing)
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
                            .is_some_and(|c| c.is_member(&a))
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
        outputs.extend(self.serve_wanted(conversation, new));
        if let Some((from, reason)) = refused {
            outputs.push(Output::Send {
                to: from,
                message: SyncMessage::Refused {
                    reason: reason.to_string(),
                },
            });
            outputs.push(Output::Event(Event::Refused { from, reason }));
        }
        outputs
    }

    /// Checks one entry and stores it. `Ok(None)`: already known or held back.
    fn accept(
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
        let conv = self
            .conversations
            .get(&conversation)
            .ok_or(SyncError::UnknownConversation)?;
        if !conv.is_member(&header.author_account) {
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
            None => return Err(SyncError::NotMember),
        }
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

    fn drain_pending(&mut self, conversation: ConversationId, now_ms: u64) -> Vec<EntryHash> {
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

    fn is_deleted(&self, conversation: &ConversationId, id: &EntryHash, lamport: u64) -> bool {
        self.tombstones.contains(&(*conversation, *id))
            || self
                .cutoffs
                .get(conversation)
                .is_some_and(|cut| lamport <= *cut)
    }

    fn open_body(&mut self, header: &EntryHeader, wire: &WireEntry, now_ms: u64) -> Body {
        let Some(fan_out) = &wire.body else {
            return Body::Missing;
        };
        let sender = match wire.rewrapped_by {
            // Only this account's own devices may re-encrypt for it.
            Some(device) if self.account_of(&device) == Some(self.account) => device,
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
        let Ok(plaintext) = self.sessions.open(&local, &from, fan_out, now_ms) else {
            return Body::Missing;
        };
        let Ok(plain) = decode::<BodyPlain>(plaintext.expose(), limits::MAX_BODY_BYTES + 64) else {
            return Body::Missing;
        };
        let matches = body_hash(&plain.salt, &plain.content).is_ok_and(|h| h == header.body_hash)
            && plain.content.len() == header.body_len as usize;
        match (
            matches,
            decode::<Content>(&plain.content, limits::MAX_BODY_BYTES),
        ) {
            (true, Ok(content)) => Body::Plain { plain, content },
            _ => Body::Missing,
        }
    }

    fn fill_body(
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
    }

    fn store(
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
        let deleted = self.is_deleted(&conversation, &id, header.lamport);
        let body = if deleted {
            Body::Deleted
        } else {
            self.open_body(&header, &wire, now_ms)
        };
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
        Ok(())
    }

    /// Self-log contents take effect on this device.
    fn apply_content(&mut self, conversation: ConversationId, content: &Content) {
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
    fn purge(&mut self, conversation: ConversationId) {
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

    /// Frames carrying `ids` of `conversation` to `to`, bodies prepared for it.
    fn entries_frames(
        &mut self,
        to: &DeviceId,
        conversation: ConversationId,
        ids: &[EntryHash],
    ) -> Vec<Output> {
        let own = self.account_of(to) == Some(self.account);
        let target = self.remote(to);
        let mut wires = Vec::new();
        for id in ids {
            let Some(entry) = self.entry(&conversation, id) else {
                continue;
            };
            let has_envelope = entry
                .fan_out
                .as_ref()
                .is_some_and(|f| f.envelopes.iter().any(|e| e.recipient == *to));
            let (body, rewrapped_by) = match (&entry.body, own, has_envelope) {
                (Body::Deleted, _, _) => (None, None),
                (_, _, true) | (_, false, _) => (entry.fan_out.clone(), None),
                (Body::Plain { plain, .. }, true, false) => {
                    let plain = plain.clone();
                    (self.rewrap(target.as_ref(), &plain), Some(self.device_id()))
                }
                (Body::Missing, true, false) => (entry.fan_out.clone(), None),
            };
            let Some(entry) = self.entry(&conversation, id) else {
                continue;
            };
            let rewrapped_by = if body.is_some() { rewrapped_by } else { None };
            wires.push(WireEntry {
                header: entry.signed.clone(),
                body,
                rewrapped_by,
            });
        }
        wires
            .chunks(limits::MAX_ENTRIES_PER_FRAME)
            .map(|chunk| Output::Send {
                to: *to,
                message: SyncMessage::Entries {
                    conversation,
                    entries: chunk.to_vec(),
                },
            })
            .collect()
    }

    /// Re-encrypts a body for one of this account's own devices.
    fn rewrap(&mut self, to: Option<&RemoteDevice>, plain: &BodyPlain) -> Option<FanOut> {
        let to = to?;
        let bytes = encode(plain).ok()?;
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        let message = self.sessions.encrypt(&local, to, &bytes).ok()?;
        Some(FanOut {
            envelopes: vec![Envelope {
                recipient: to.device,
                message,
            }],
        })
    }

    /// Writes a new entry by this device, encrypted for every member device,
    /// and pushes it to every connected member device at once.
    pub fn write(
        &mut self,
        conversation: ConversationId,
        kind: EntryKind,
        content: &Content,
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        let content_bytes = encode(content)?;
        if content_bytes.len() > limits::MAX_BODY_BYTES {
            return Err(SyncError::Limit("message too long"));
        }
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
        let recipients = self.member_devices(conv);
        let plain_bytes = encode(&plain)?;
        let signed: SignedHeader = self
            .keys
            .sign(domain::LOG_ENTRY, &header)
            .map_err(|_| SyncError::InvalidEntry("signing failed"))?;
        let fan_out = self.fan_out(&recipients, &plain_bytes);
        let id = entry_id(&signed)?;
        let stored = StoredEntry {
            id,
            signed,
            header,
            body: Body::Plain {
                plain,
                content: content.clone(),
            },
            fan_out: Some(fan_out),
        };
        self.conversations
            .get_mut(&conversation)
            .ok_or(SyncError::UnknownConversation)?
            .insert(stored);
        self.dirty_entries.insert((conversation, id));
        self.apply_content(conversation, content);
        // Durable before anything about it leaves this device.
        self.flush()?;
        let mut outputs = vec![Output::Event(Event::NewEntry { conversation, id })];
        let members: Vec<DeviceId> = recipients
            .iter()
            .map(|r| r.device)
            .filter(|d| self.connected.contains(d))
            .collect();
        for device in members {
            outputs.extend(self.entries_frames(&device, conversation, &[id]));
        }
        Ok((id, outputs))
    }

    fn fan_out(&mut self, recipients: &[RemoteDevice], plaintext: &[u8]) -> FanOut {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions.fan_out(&local, recipients, plaintext).fan_out
    }

    /// Sends bodies that became readable to the own devices that asked.
    /// An entry of a conversation.
    fn entry(&self, conversation: &ConversationId, id: &EntryHash) -> Option<&StoredEntry> {
        self.conversations.get(conversation).and_then(|c| c.get(id))
    }

    /// The validated signing key of a device (validated once, then cached).
    fn verifying_key(&mut self, device: &DeviceId) -> Result<VerifyingKey> {
        if let Some(key) = self.verified_keys.get(device) {
            return Ok(*key);
        }
        let key = VerifyingKey::from_bytes(device.as_bytes())?;
        if self.verified_keys.len() >= 65_536 {
            self.verified_keys.clear();
        }
        self.verified_keys.insert(*device, key);
        Ok(key)
    }

    /// Whether a body can go to `peer`: re-encrypted for one of this
    /// account's devices, or the author's original fan-out carrying an
    /// envelope for any other member device.
    fn can_serve(&self, peer: &DeviceId, conversation: &ConversationId, id: &EntryHash) -> bool {
        let Some(entry) = self.conversations.get(conversation).and_then(|c| c.get(id)) else {
            return false;
        };
        let has_envelope = entry
            .fan_out
            .as_ref()
            .is_some_and(|f| f.envelopes.iter().any(|e| e.recipient == *peer));
        let own = self.account_of(peer) == Some(self.account);
        has_envelope || (own && matches!(entry.body, Body::Plain { .. }))
    }

    fn serve_wanted(&mut self, conversation: ConversationId, new: &[EntryHash]) -> Vec<Output> {
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

    /// A delivery receipt for the readable messages among `new` written by
    /// other accounts: one receipt entry per batch, fanned out like any entry,
    /// so the author's devices learn which device has what.
    fn receipt_for(
        &mut self,
        conversation: ConversationId,
        new: &[EntryHash],
        now_ms: u64,
    ) -> Vec<Output> {
        let Some(conv) = self.conversations.get(&conversation) else {
            return Vec::new();
        };
        if conv.kind == ConversationKind::SelfLog {
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

    /// Every `Entries` frame this device would send `peer` if the peer had
    /// nothing yet (as on a first connection): history export, benchmarks.
    pub fn frames_for_new_peer(&mut self, peer: DeviceId, now_ms: u64) -> Vec<SyncMessage> {
        let hello = SyncMessage::Hello {
            summaries: Vec::new(),
        };
        self.handle(
            Input::Received {
                from: peer,
                message: hello,
            },
            now_ms,
        )
        .into_iter()
        .filter_map(|o| match o {
            Output::Send {
                message: m @ SyncMessage::Entries { .. },
                ..
            } => Some(m),
            _ => None,
        })
        .collect()
    }

    /// Writes a record into the self log (contacts, trust, the conversation
    /// list, read markers, settings); it reaches all of this account's devices.
    pub fn record(&mut self, record: SelfRecord, now_ms: u64) -> Result<Vec<Output>> {
        let self_id = self.self_conversation_id()?;
        let (_, outputs) =
            self.write(self_id, EntryKind::Record, &Content::Record(record), now_ms)?;
        Ok(outputs)
    }

    /// What the self log says: the latest record for each key, in display
    /// order, so every device of the account computes the same state.
    pub fn self_state(&self) -> SelfState {
        let mut state = SelfState::default();
        let Some(log) = self
            .self_conversation_id()
            .ok()
            .and_then(|id| self.conversations.get(&id))
        else {
            return state;
        };
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
                    state.read_up_to.insert(*conversation, *entry);
                }
                SelfRecord::Setting { key, value } => {
                    state.settings.insert(key.clone(), value.clone());
                }
            }
        }
        state
    }

    /// Sends a text message.
    pub fn send_text(
        &mut self,
        conversation: ConversationId,
        text: &str,
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        let content = Content::Text {
            text: text.to_owned(),
            reply_to: None,
        };
        self.write(conversation, EntryKind::Message, &content, now_ms)
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

    /// The text messages of a conversation in display order: (entry, text if
    /// readable). Deleted entries are left out.
    pub fn messages(&self, conversation: &ConversationId) -> Vec<(EntryHash, Option<String>)> {
        self.latest_messages(conversation, usize::MAX).0
    }

    /// The newest `limit` text messages of a conversation in display order
    /// (as [`Replica::messages`]), and how many older ones there are.
    pub fn latest_messages(
        &self,
        conversation: &ConversationId,
        limit: usize,
    ) -> (Vec<(EntryHash, Option<String>)>, usize) {
        let Some(conv) = self.conversations.get(conversation) else {
            return (Vec::new(), 0);
        };
        let all: Vec<_> = conv
            .in_order()
            .filter(|e| e.header.kind == EntryKind::Message && e.body != Body::Deleted)
            .collect();
        let earlier = all.len().saturating_sub(limit);
        let page = all
            .into_iter()
            .skip(earlier)
            .map(|e| {
                let text = match &e.body {
                    Body::Plain {
                        content: Content::Text { text, .. },
                        ..
                    } => Some(text.clone()),
                    _ => None,
                };
                (e.id, text)
            })
            .collect();
        (page, earlier)
    }
}
