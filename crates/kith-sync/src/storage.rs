//! What the sync engine needs stored, defined here (by the consumer) and
//! implemented by `kith-store`; [`MemoryStorage`] serves tests and the
//! simulator, keeping everything encoded so a reload goes through the same
//! serialisation a real store uses.

use std::collections::BTreeMap;

use kith_crypto::dh::DhSecret;
use kith_session::{MemoryStore, SessionRecord, SessionStore};
use kith_wire::{
    AccountId, BodyPlain, ConversationId, ConversationKind, DeviceId, DhKey, EntryHash, FanOut,
    SignedHeader, decode, encode,
};
use serde::{Deserialize, Serialize};

/// A conversation as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Its id.
    pub id: ConversationId,
    /// Its kind.
    pub kind: ConversationKind,
    /// Member accounts.
    pub members: Vec<AccountId>,
}

/// A stored body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum StoredBody {
    /// Readable (the salted plaintext).
    Plain(BodyPlain),
    /// Not readable here.
    Missing,
    /// Deleted: nothing of the body is kept.
    Deleted,
}

/// An entry as stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryRecord {
    /// Its signed header, as received.
    pub header: SignedHeader,
    /// Its body.
    pub body: StoredBody,
    /// The author's fan-out, kept for forwarding (dropped on deletion).
    pub fan_out: Option<FanOut>,
}

/// Everything a [`LogStore`] holds: conversations, and entries by conversation.
pub type Stored = (Vec<ConversationRecord>, Vec<(ConversationId, EntryRecord)>);

/// Durable storage of conversations and entries.
pub trait LogStore {
    /// Starts a batch: until the next [`LogStore::put`], the store may hold
    /// other writes (such as session records) back and commit them together
    /// with the entries, so both are durable at once.
    fn begin(&mut self) {}

    /// Stores conversations and entries (new, or with changed bodies) in one
    /// durable transaction; on return they survive a crash.
    fn put(
        &mut self,
        conversations: &[ConversationRecord],
        entries: &[(ConversationId, EntryHash, EntryRecord)],
    ) -> Result<(), String>;
    /// Everything stored.
    fn load(&self) -> Result<Stored, String>;
}

/// Everything a replica stores: its sessions and its logs.
pub trait Storage: SessionStore + LogStore {}

impl<T: SessionStore + LogStore> Storage for T {}

/// Storage in memory (tests, simulator).
#[derive(Debug, Default)]
pub struct MemoryStorage {
    sessions: MemoryStore,
    conversations: BTreeMap<ConversationId, Vec<u8>>,
    entries: BTreeMap<(ConversationId, EntryHash), Vec<u8>>,
}

impl LogStore for MemoryStorage {
    fn put(
        &mut self,
        conversations: &[ConversationRecord],
        entries: &[(ConversationId, EntryHash, EntryRecord)],
    ) -> Result<(), String> {
        for c in conversations {
            self.conversations
                .insert(c.id, encode(c).map_err(|e| e.to_string())?);
        }
        for (conversation, id, record) in entries {
            self.entries.insert(
                (*conversation, *id),
                encode(record).map_err(|e| e.to_string())?,
            );
        }
        Ok(())
    }

    fn load(&self) -> Result<Stored, String> {
        let conversations = self
            .conversations
            .values()
            .map(|b| decode(b, usize::MAX).map_err(|e| e.to_string()))
            .collect::<Result<_, _>>()?;
        let entries = self
            .entries
            .iter()
            .map(|((c, _), b)| {
                decode(b, usize::MAX)
                    .map(|r| (*c, r))
                    .map_err(|e| e.to_string())
            })
            .collect::<Result<_, _>>()?;
        Ok((conversations, entries))
    }
}

impl SessionStore for MemoryStorage {
    fn load_session(&self, peer: &DeviceId) -> kith_session::Result<Option<SessionRecord>> {
        self.sessions.load_session(peer)
    }
    fn store_session(
        &mut self,
        peer: &DeviceId,
        record: &SessionRecord,
    ) -> kith_session::Result<()> {
        self.sessions.store_session(peer, record)
    }
    fn delete_session(&mut self, peer: &DeviceId) -> kith_session::Result<()> {
        self.sessions.delete_session(peer)
    }
    fn record_prekey_use(&mut self, spk_id: u32, base_key: &DhKey) -> kith_session::Result<bool> {
        self.sessions.record_prekey_use(spk_id, base_key)
    }
    fn retain_prekey_uses(&mut self, live_spk_ids: &[u32]) -> kith_session::Result<()> {
        self.sessions.retain_prekey_uses(live_spk_ids)
    }
    fn store_one_time_prekey(&mut self, id: u32, secret: &DhSecret) -> kith_session::Result<()> {
        self.sessions.store_one_time_prekey(id, secret)
    }
    fn take_one_time_prekey(&mut self, id: u32) -> kith_session::Result<Option<DhSecret>> {
        self.sessions.take_one_time_prekey(id)
    }

    fn held_one_time_prekey(&self, id: u32) -> kith_session::Result<Option<DhSecret>> {
        self.sessions.held_one_time_prekey(id)
    }
    fn load_sender_keys(
        &self,
        conversation: &ConversationId,
    ) -> kith_session::Result<Option<kith_crypto::SecretVec>> {
        self.sessions.load_sender_keys(conversation)
    }
    fn store_sender_keys(
        &mut self,
        conversation: &ConversationId,
        record: &kith_crypto::SecretVec,
    ) -> kith_session::Result<()> {
        self.sessions.store_sender_keys(conversation, record)
    }
}
