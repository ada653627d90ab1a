//! `kith-sync`'s log storage on redb: every `put` is one durable transaction.

use kith_sync::LogStore;
use kith_sync::storage::{ConversationRecord, EntryRecord, Stored};
use kith_wire::{ConversationId, EntryHash, decode, encode};
use redb::{ReadableDatabase, ReadableTable};

use crate::Store;
use crate::error::StoreError;
use crate::tables::{
    CONVERSATIONS, CONVERSATIONS_NAME, ENTRIES, ENTRIES_NAME, ONE_TIME_PREKEYS, PREKEY_USES,
    SENDER_KEYS, SESSIONS,
};

/// Largest sealed record read back.
const MAX_RECORD: usize = 16 << 20;

fn text<E: Into<StoreError>>(e: E) -> String {
    e.into().to_string()
}

fn entry_key(conversation: &ConversationId, id: &EntryHash) -> [u8; 64] {
    let mut key = [0u8; 64];
    let (c, e) = key.split_at_mut(32);
    c.copy_from_slice(conversation.as_bytes());
    e.copy_from_slice(id.as_bytes());
    key
}

impl LogStore for Store {
    fn begin(&mut self) {
        self.batching = true;
        // What an abandoned batch saw is not durable: it starts again.
        self.pending_prekey_uses.clear();
        self.pending_taken_prekeys.clear();
    }

    fn put(
        &mut self,
        conversations: &[ConversationRecord],
        entries: &[(ConversationId, EntryHash, EntryRecord)],
    ) -> Result<(), String> {
        self.batching = false;
        let sessions = std::mem::take(&mut self.pending_sessions);
        let sender_keys = std::mem::take(&mut self.pending_sender_keys);
        let prekey_uses = std::mem::take(&mut self.pending_prekey_uses);
        let taken_prekeys = std::mem::take(&mut self.pending_taken_prekeys);
        if conversations.is_empty()
            && entries.is_empty()
            && sessions.is_empty()
            && sender_keys.is_empty()
            && prekey_uses.is_empty()
            && taken_prekeys.is_empty()
        {
            return Ok(());
        }
        // One transaction: the entries, and the session states that
        // decrypted them, become durable together or not at all.
        let txn = self.begin_write().map_err(text)?;
        if !sessions.is_empty() {
            let mut table = txn.open_table(SESSIONS).map_err(text)?;
            for (peer, sealed) in &sessions {
                match sealed {
                    Some(sealed) => table.insert(peer.as_bytes(), sealed.as_slice()).map(|_| ()),
                    None => table.remove(peer.as_bytes()).map(|_| ()),
                }
                .map_err(text)?;
            }
        }
        if !sender_keys.is_empty() {
            let mut table = txn.open_table(SENDER_KEYS).map_err(text)?;
            for (conversation, sealed) in &sender_keys {
                table
                    .insert(conversation.as_bytes(), sealed.as_slice())
                    .map_err(text)?;
            }
        }
        if !prekey_uses.is_empty() {
            let mut table = txn.open_table(PREKEY_USES).map_err(text)?;
            for key in &prekey_uses {
                table.insert(key, ()).map_err(text)?;
            }
        }
        if !taken_prekeys.is_empty() {
            let mut table = txn.open_table(ONE_TIME_PREKEYS).map_err(text)?;
            for id in &taken_prekeys {
                table.remove(*id).map_err(text)?;
            }
        }
        if !conversations.is_empty() {
            let mut table = txn.open_table(CONVERSATIONS).map_err(text)?;
            for c in conversations {
                let plain = encode(c).map_err(|e| e.to_string())?;
                let sealed = self
                    .vault
                    .seal(CONVERSATIONS_NAME, c.id.as_bytes(), &plain)
                    .map_err(text)?;
                table
                    .insert(c.id.as_bytes(), sealed.as_slice())
                    .map_err(text)?;
            }
        }
        if !entries.is_empty() {
            let mut table = txn.open_table(ENTRIES).map_err(text)?;
            for (conversation, id, record) in entries {
                let key = entry_key(conversation, id);
                let mut plain = encode(record).map_err(|e| e.to_string())?;
                let sealed = self.vault.seal(ENTRIES_NAME, &key, &plain);
                kith_crypto::zeroize(&mut plain);
                table
                    .insert(&key, sealed.map_err(text)?.as_slice())
                    .map_err(text)?;
            }
        }
        txn.commit().map_err(text)
    }

    fn load(&self) -> Result<Stored, String> {
        let txn = self.db.begin_read().map_err(text)?;
        let table = txn.open_table(CONVERSATIONS).map_err(text)?;
        let mut conversations = Vec::new();
        for row in table.iter().map_err(text)? {
            let (key, value) = row.map_err(text)?;
            let plain = self
                .vault
                .open(CONVERSATIONS_NAME, key.value(), value.value())
                .map_err(text)?;
            conversations.push(decode(plain.expose(), MAX_RECORD).map_err(|e| e.to_string())?);
        }
        let table = txn.open_table(ENTRIES).map_err(text)?;
        let mut entries = Vec::new();
        for row in table.iter().map_err(text)? {
            let (key, value) = row.map_err(text)?;
            let key = *key.value();
            let plain = self
                .vault
                .open(ENTRIES_NAME, &key, value.value())
                .map_err(text)?;
            let record: EntryRecord =
                decode(plain.expose(), MAX_RECORD).map_err(|e| e.to_string())?;
            let conversation = key
                .first_chunk::<32>()
                .map(|c| ConversationId(*c))
                .ok_or("short key")?;
            entries.push((conversation, record));
        }
        Ok((conversations, entries))
    }
}
