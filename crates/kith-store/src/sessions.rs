//! `kith-session`'s storage on redb.

use kith_crypto::SecretBytes;
use kith_crypto::SecretVec;
use kith_crypto::dh::DhSecret;
use kith_session::{SessionError, SessionRecord, SessionStore};
use kith_wire::{ConversationId, DeviceId, DhKey};
use redb::{ReadableDatabase, ReadableTable};

use crate::Store;
use crate::error::StoreError;
use crate::tables::{
    ONE_TIME_PREKEYS, ONE_TIME_PREKEYS_NAME, PREKEY_USES, SENDER_KEYS, SENDER_KEYS_NAME, SESSIONS,
    SESSIONS_NAME,
};

fn fail(e: StoreError) -> SessionError {
    SessionError::Store(e.to_string())
}

fn db<E: Into<StoreError>>(e: E) -> SessionError {
    fail(e.into())
}

fn prekey_use_key(spk_id: u32, base_key: &DhKey) -> [u8; 36] {
    let mut key = [0u8; 36];
    let (id, rest) = key.split_at_mut(4);
    id.copy_from_slice(&spk_id.to_be_bytes());
    rest.copy_from_slice(base_key.as_bytes());
    key
}

impl SessionStore for Store {
    fn load_session(&self, peer: &DeviceId) -> kith_session::Result<Option<SessionRecord>> {
        let sealed = match self.pending_sessions.get(peer) {
            Some(pending) => pending.clone(),
            None => {
                let txn = self.db.begin_read().map_err(db)?;
                let table = txn.open_table(SESSIONS).map_err(db)?;
                table
                    .get(peer.as_bytes())
                    .map_err(db)?
                    .map(|v| v.value().to_vec())
            }
        };
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = self
            .vault
            .open(SESSIONS_NAME, peer.as_bytes(), &sealed)
            .map_err(fail)?;
        SessionRecord::import(plain.expose()).map(Some)
    }

    fn store_session(
        &mut self,
        peer: &DeviceId,
        record: &SessionRecord,
    ) -> kith_session::Result<()> {
        let plain = record.export()?;
        let sealed = self
            .vault
            .seal(SESSIONS_NAME, peer.as_bytes(), plain.expose())
            .map_err(fail)?;
        if self.batching {
            self.pending_sessions.insert(*peer, Some(sealed));
            return Ok(());
        }
        let txn = self.begin_write().map_err(db)?;
        {
            let mut table = txn.open_table(SESSIONS).map_err(db)?;
            table
                .insert(peer.as_bytes(), sealed.as_slice())
                .map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn delete_session(&mut self, peer: &DeviceId) -> kith_session::Result<()> {
        if self.batching {
            self.pending_sessions.insert(*peer, None);
            return Ok(());
        }
        let txn = self.begin_write().map_err(db)?;
        {
            let mut table = txn.open_table(SESSIONS).map_err(db)?;
            table.remove(peer.as_bytes()).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn record_prekey_use(&mut self, spk_id: u32, base_key: &DhKey) -> kith_session::Result<bool> {
        let key = prekey_use_key(spk_id, base_key);
        if self.batching {
            // Durable with the session it started, or not at all.
            let seen = self.pending_prekey_uses.contains(&key) || {
                let txn = self.db.begin_read().map_err(db)?;
                let table = txn.open_table(PREKEY_USES).map_err(db)?;
                table.get(&key).map_err(db)?.is_some()
            };
            if !seen {
                self.pending_prekey_uses.insert(key);
            }
            return Ok(!seen);
        }
        let txn = self.begin_write().map_err(db)?;
        let fresh = {
            let mut table = txn.open_table(PREKEY_USES).map_err(db)?;
            table.insert(&key, ()).map_err(db)?.is_none()
        };
        txn.commit().map_err(db)?;
        Ok(fresh)
    }

    fn retain_prekey_uses(&mut self, live_spk_ids: &[u32]) -> kith_session::Result<()> {
        let txn = self.begin_write().map_err(db)?;
        {
            let mut table = txn.open_table(PREKEY_USES).map_err(db)?;
            table
                .retain(|key, ()| {
                    let id = key.first_chunk::<4>().map(|b| u32::from_be_bytes(*b));
                    id.is_some_and(|id| live_spk_ids.contains(&id))
                })
                .map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn store_one_time_prekey(&mut self, id: u32, secret: &DhSecret) -> kith_session::Result<()> {
        // Put back inside the batch that took it (a forged message named
        // it): not taken after all. Only the very key it holds goes back.
        if self.batching && self.pending_taken_prekeys.contains(&id) {
            let held = self.stored_one_time_prekey(id)?;
            if !held.is_some_and(|h| h.secret().ct_eq(secret.secret())) {
                return Err(SessionError::Store("one-time prekey id reused".into()));
            }
            self.pending_taken_prekeys.remove(&id);
            return Ok(());
        }
        let sealed = self
            .vault
            .seal(
                ONE_TIME_PREKEYS_NAME,
                &id.to_be_bytes(),
                secret.secret().expose(),
            )
            .map_err(fail)?;
        let txn = self.begin_write().map_err(db)?;
        {
            let mut table = txn.open_table(ONE_TIME_PREKEYS).map_err(db)?;
            if table.get(id).map_err(db)?.is_some() {
                return Err(SessionError::Store("one-time prekey id reused".into()));
            }
            table.insert(id, sealed.as_slice()).map_err(db)?;
        }
        txn.commit().map_err(db)
    }

    fn take_one_time_prekey(&mut self, id: u32) -> kith_session::Result<Option<DhSecret>> {
        if self.batching {
            // Removed when the batch commits (with the session it made).
            if self.pending_taken_prekeys.contains(&id) {
                return Ok(None);
            }
            let held = self.stored_one_time_prekey(id)?;
            if held.is_some() {
                self.pending_taken_prekeys.insert(id);
            }
            return Ok(held);
        }
        let sealed = {
            let txn = self.begin_write().map_err(db)?;
            let sealed = {
                let mut table = txn.open_table(ONE_TIME_PREKEYS).map_err(db)?;
                let removed = table.remove(id).map_err(db)?;
                removed.map(|v| v.value().to_vec())
            };
            txn.commit().map_err(db)?;
            sealed
        };
        sealed
            .map(|s| self.open_one_time_prekey(id, &s))
            .transpose()
    }

    fn held_one_time_prekey(&self, id: u32) -> kith_session::Result<Option<DhSecret>> {
        if self.batching && self.pending_taken_prekeys.contains(&id) {
            return Ok(None);
        }
        self.stored_one_time_prekey(id)
    }

    fn load_sender_keys(
        &self,
        conversation: &ConversationId,
    ) -> kith_session::Result<Option<SecretVec>> {
        let sealed = match self.pending_sender_keys.get(conversation) {
            Some(pending) => Some(pending.clone()),
            None => {
                let txn = self.db.begin_read().map_err(db)?;
                let table = txn.open_table(SENDER_KEYS).map_err(db)?;
                table
                    .get(conversation.as_bytes())
                    .map_err(db)?
                    .map(|v| v.value().to_vec())
            }
        };
        sealed
            .map(|sealed| {
                self.vault
                    .open(SENDER_KEYS_NAME, conversation.as_bytes(), &sealed)
                    .map_err(fail)
            })
            .transpose()
    }

    fn store_sender_keys(
        &mut self,
        conversation: &ConversationId,
        record: &SecretVec,
    ) -> kith_session::Result<()> {
        let sealed = self
            .vault
            .seal(SENDER_KEYS_NAME, conversation.as_bytes(), record.expose())
            .map_err(fail)?;
        if self.batching {
            self.pending_sender_keys.insert(*conversation, sealed);
            return Ok(());
        }
        let txn = self.begin_write().map_err(db)?;
        {
            let mut table = txn.open_table(SENDER_KEYS).map_err(db)?;
            table
                .insert(conversation.as_bytes(), sealed.as_slice())
                .map_err(db)?;
        }
        txn.commit().map_err(db)
    }
}

impl Store {
    /// The one-time prekey `id` as the database holds it (what a batch took
    /// is removed only when it commits).
    fn stored_one_time_prekey(&self, id: u32) -> kith_session::Result<Option<DhSecret>> {
        let txn = self.db.begin_read().map_err(db)?;
        let table = txn.open_table(ONE_TIME_PREKEYS).map_err(db)?;
        let sealed = table.get(id).map_err(db)?.map(|v| v.value().to_vec());
        sealed
            .map(|s| self.open_one_time_prekey(id, &s))
            .transpose()
    }

    fn open_one_time_prekey(&self, id: u32, sealed: &[u8]) -> kith_session::Result<DhSecret> {
        let plain = self
            .vault
            .open(ONE_TIME_PREKEYS_NAME, &id.to_be_bytes(), sealed)
            .map_err(fail)?;
        let secret = SecretBytes::<32>::from_slice(plain.expose())?;
        Ok(DhSecret::from_secret(secret))
    }
}
