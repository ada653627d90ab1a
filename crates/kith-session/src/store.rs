//! The storage `kith-session` needs, defined here (by the consumer) and
//! implemented by `kith-store`; [`MemoryStore`] serves tests and fuzzing.

use std::collections::{BTreeMap, BTreeSet};

use kith_crypto::dh::DhSecret;
use kith_crypto::{SecretBytes, SecretVec};
use kith_wire::{ConversationId, DeviceId, DhKey};

use crate::error::{Result, SessionError};
use crate::record::SessionRecord;

/// Persistent session state of one local device.
pub trait SessionStore {
    /// The record for `peer`, if any.
    fn load_session(&self, peer: &DeviceId) -> Result<Option<SessionRecord>>;
    /// Replaces the record for `peer`. Must be durable before the message it
    /// belongs to is acknowledged.
    fn store_session(&mut self, peer: &DeviceId, record: &SessionRecord) -> Result<()>;
    /// Forgets `peer` (a revoked device, or a reset).
    fn delete_session(&mut self, peer: &DeviceId) -> Result<()>;
    /// Records that a pre-key message with `base_key` under signed prekey
    /// `spk_id` started a session; `false` if it had been seen before (a
    /// replay).
    fn record_prekey_use(&mut self, spk_id: u32, base_key: &DhKey) -> Result<bool>;
    /// Drops the replay cache of signed prekeys no longer held.
    fn retain_prekey_uses(&mut self, live_spk_ids: &[u32]) -> Result<()>;
    /// Keeps a one-time prekey handed out to a peer that is online now.
    fn store_one_time_prekey(&mut self, id: u32, secret: &DhSecret) -> Result<()>;
    /// Removes and returns a one-time prekey (single use).
    fn take_one_time_prekey(&mut self, id: u32) -> Result<Option<DhSecret>>;
    /// The one-time prekey `id`, if held (not taken).
    fn held_one_time_prekey(&self, id: u32) -> Result<Option<DhSecret>>;
    /// The sender-key record of a group (`SenderKeyRecord::export`), if any.
    fn load_sender_keys(&self, conversation: &ConversationId) -> Result<Option<SecretVec>>;
    /// Replaces the sender-key record of a group; durable like a session
    /// record (with the entries of the same batch).
    fn store_sender_keys(
        &mut self,
        conversation: &ConversationId,
        record: &SecretVec,
    ) -> Result<()>;
}

/// An in-memory [`SessionStore`]. Records are kept exported, so every load
/// goes through the same serialisation a real store uses.
#[derive(Default)]
pub struct MemoryStore {
    sessions: BTreeMap<DeviceId, SecretVec>,
    prekey_uses: BTreeSet<(u32, DhKey)>,
    one_time: BTreeMap<u32, SecretBytes<32>>,
    sender_keys: BTreeMap<ConversationId, SecretVec>,
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore")
            .field("sessions", &self.sessions.len())
            .finish_non_exhaustive()
    }
}

impl MemoryStore {
    /// A copy, as if the device restarted from its store.
    pub fn duplicate(&self) -> Self {
        Self {
            sessions: self
                .sessions
                .iter()
                .map(|(k, v)| (*k, SecretVec::from_vec(v.expose().to_vec())))
                .collect(),
            prekey_uses: self.prekey_uses.clone(),
            one_time: self
                .one_time
                .iter()
                .map(|(k, v)| (*k, v.duplicate()))
                .collect(),
            sender_keys: self
                .sender_keys
                .iter()
                .map(|(k, v)| (*k, SecretVec::from_vec(v.expose().to_vec())))
                .collect(),
        }
    }
}

impl SessionStore for MemoryStore {
    fn load_session(&self, peer: &DeviceId) -> Result<Option<SessionRecord>> {
        self.sessions
            .get(peer)
            .map(|bytes| SessionRecord::import(bytes.expose()))
            .transpose()
    }

    fn store_session(&mut self, peer: &DeviceId, record: &SessionRecord) -> Result<()> {
        self.sessions.insert(*peer, record.export()?);
        Ok(())
    }

    fn delete_session(&mut self, peer: &DeviceId) -> Result<()> {
        self.sessions.remove(peer);
        Ok(())
    }

    fn record_prekey_use(&mut self, spk_id: u32, base_key: &DhKey) -> Result<bool> {
        Ok(self.prekey_uses.insert((spk_id, *base_key)))
    }

    fn retain_prekey_uses(&mut self, live_spk_ids: &[u32]) -> Result<()> {
        self.prekey_uses.retain(|(id, _)| live_spk_ids.contains(id));
        Ok(())
    }

    fn store_one_time_prekey(&mut self, id: u32, secret: &DhSecret) -> Result<()> {
        if self.one_time.contains_key(&id) {
            return Err(SessionError::Store("one-time prekey id reused".into()));
        }
        self.one_time.insert(id, secret.secret().duplicate());
        Ok(())
    }

    fn take_one_time_prekey(&mut self, id: u32) -> Result<Option<DhSecret>> {
        Ok(self.one_time.remove(&id).map(DhSecret::from_secret))
    }

    fn held_one_time_prekey(&self, id: u32) -> Result<Option<DhSecret>> {
        Ok(self
            .one_time
            .get(&id)
            .map(|s| DhSecret::from_secret(s.duplicate())))
    }

    fn load_sender_keys(&self, conversation: &ConversationId) -> Result<Option<SecretVec>> {
        Ok(self
            .sender_keys
            .get(conversation)
            .map(|v| SecretVec::from_vec(v.expose().to_vec())))
    }

    fn store_sender_keys(
        &mut self,
        conversation: &ConversationId,
        record: &SecretVec,
    ) -> Result<()> {
        self.sender_keys
            .insert(*conversation, SecretVec::from_vec(record.expose().to_vec()));
        Ok(())
    }
}
