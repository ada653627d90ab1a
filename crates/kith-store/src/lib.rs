//! Kith's persistence: one redb database per device profile, encrypted at
//! rest.
//!
//! A profile folder holds `root-key` (the device root key, wrapped by a
//! passphrase with Argon2id, or a plain owner-only key file on headless
//! devices) and `kith.redb`. Values that hold secrets are sealed with
//! XChaCha20-Poly1305 under per-table subkeys of the root key (see
//! `docs/storage.md`). Every write is committed with immediate durability
//! before it returns.
//!
//! ```
//! use kith_crypto::SecretVec;
//! use kith_crypto::pwhash::PwHashLimits;
//! use kith_store::{Protection, Store, Unlock};
//!
//! let dir = std::env::temp_dir().join(format!("kith-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let passphrase = || SecretVec::from_vec(b"correct horse".to_vec());
//! drop(Store::create(&dir, Protection::Passphrase(passphrase(), PwHashLimits::MIN))?);
//! let store = Store::open(&dir, Unlock::Passphrase(passphrase()))?;
//! assert!(Store::open(&dir, Unlock::Passphrase(SecretVec::from_vec(b"wrong".to_vec()))).is_err());
//! # drop(store);
//! # std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod error;
mod logs;
mod permissions;
mod profile;
mod rekey;
mod root;
mod sessions;
pub mod tables;
mod vault;

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, TableHandle};

pub use error::{Result, StoreError};
pub use rekey::rekey;
pub use root::{KEY_FILE, KEYSTORE_SERVICE, KeptBy, Protection, Unlock, kept_by, rewrap};

/// Whether an OS keystore has been set (with `keyring_core::set_default_store`).
pub fn keystore_is_set() -> bool {
    keyring_core::get_default_store().is_some()
}

use crate::tables::{
    FORMAT_VERSION, META, ONE_TIME_PREKEYS, ONE_TIME_PREKEYS_NAME, PREKEY_USES, SESSIONS,
    SESSIONS_NAME,
};
use crate::vault::Vault;

/// Name of the database file inside a profile folder.
pub const DATABASE_FILE: &str = "kith.redb";

/// An open profile.
pub struct Store {
    db: Database,
    vault: Vault,
    dir: PathBuf,
    /// Inside a batch (see `LogStore::begin`): session writes wait here
    /// and are committed with the entries (`None` = deleted).
    batching: bool,
    pending_sessions: std::collections::BTreeMap<kith_wire::DeviceId, Option<Vec<u8>>>,
    /// Sender-key records stored inside the current batch.
    pending_sender_keys: std::collections::BTreeMap<kith_wire::ConversationId, Vec<u8>>,
    /// Inside a batch: PreKey messages seen (the replay cache) and one-time
    /// prekeys used, committed with the sessions and entries they made.
    pending_prekey_uses: std::collections::BTreeSet<[u8; 36]>,
    pending_taken_prekeys: std::collections::BTreeSet<u32>,
    /// Bulk mode ([`Store::set_bulk`]): commits skip the sync to disk.
    bulk: bool,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").finish_non_exhaustive()
    }
}

impl Store {
    /// Creates a new profile in `dir` (the folder may exist, the profile not).
    pub fn create(dir: &Path, protection: Protection) -> Result<Self> {
        permissions::owner_only_dir(dir)?;
        if dir.join(DATABASE_FILE).exists() {
            return Err(StoreError::ProfileExists);
        }
        let root = root::create(dir, protection)?;
        permissions::create_owner_only_file(&dir.join(DATABASE_FILE))?;
        let db = Database::create(dir.join(DATABASE_FILE))?;
        let store = Self::with(db, &root, dir)?;
        let txn = store.db.begin_write()?;
        {
            let mut meta = txn.open_table(META)?;
            meta.insert("format", [FORMAT_VERSION].as_slice())?;
            // Create every table now, so readers never meet a missing one.
            txn.open_table(SESSIONS)?;
            txn.open_table(PREKEY_USES)?;
            txn.open_table(ONE_TIME_PREKEYS)?;
            txn.open_table(tables::CONVERSATIONS)?;
            txn.open_table(tables::ENTRIES)?;
            txn.open_table(tables::PROFILE)?;
            txn.open_table(tables::SENDER_KEYS)?;
        }
        txn.commit()?;
        Ok(store)
    }

    /// Opens the profile in `dir`.
    pub fn open(dir: &Path, unlock: Unlock) -> Result<Self> {
        rekey::recover(dir)?;
        let root = root::unlock(dir, unlock)?;
        let path = dir.join(DATABASE_FILE);
        if !path.exists() {
            return Err(StoreError::NoProfile);
        }
        // Profiles made before folders and databases were owner-only.
        permissions::narrow(dir, 0o700)?;
        permissions::narrow(&path, 0o600)?;
        let db = Database::open(path)?;
        let store = Self::with(db, &root, dir)?;
        let txn = store.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let format = meta.get("format")?.map(|v| v.value().to_vec());
        drop(meta);
        drop(txn);
        match format.as_deref() {
            Some([FORMAT_VERSION]) => {
                // Profiles made before the profile table or the sender-key
                // table existed get them now (empty).
                let txn = store.db.begin_write()?;
                let names: Vec<String> = txn.list_tables()?.map(|t| t.name().to_owned()).collect();
                let lacks = |name: &str| names.iter().all(|n| n != name);
                let (profile, sender_keys) =
                    (lacks(tables::PROFILE_NAME), lacks(tables::SENDER_KEYS_NAME));
                if profile {
                    txn.open_table(tables::PROFILE)?;
                }
                if sender_keys {
                    txn.open_table(tables::SENDER_KEYS)?;
                }
                if profile || sender_keys {
                    txn.commit()?;
                } else {
                    txn.abort()?;
                }
                Ok(store)
            }
            Some(_) => Err(StoreError::Corrupt("unknown database format version")),
            None => Err(StoreError::Corrupt("database without a format version")),
        }
    }

    /// The vault of every sealed table under `root`.
    fn vault_for(root: &kith_crypto::GuardedSecret<32>) -> Result<Vault> {
        Vault::new(
            root,
            &[
                SESSIONS_NAME,
                ONE_TIME_PREKEYS_NAME,
                tables::CONVERSATIONS_NAME,
                tables::ENTRIES_NAME,
                tables::PROFILE_NAME,
                tables::SENDER_KEYS_NAME,
            ],
        )
    }

    fn with(db: Database, root: &kith_crypto::GuardedSecret<32>, dir: &Path) -> Result<Self> {
        let vault = Self::vault_for(root)?;
        Ok(Self {
            db,
            vault,
            dir: dir.to_owned(),
            batching: false,
            pending_sessions: std::collections::BTreeMap::new(),
            pending_sender_keys: std::collections::BTreeMap::new(),
            pending_prekey_uses: std::collections::BTreeSet::new(),
            pending_taken_prekeys: std::collections::BTreeSet::new(),
            bulk: false,
        })
    }

    /// The profile folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The database file.
    pub fn database_path(&self) -> PathBuf {
        self.dir.join(DATABASE_FILE)
    }

    /// The sealed bytes of one stored entry, as they are in the file (for
    /// integrity checks and tests).
    pub fn sealed_entry(
        &self,
        conversation: &kith_wire::ConversationId,
        id: &kith_wire::EntryHash,
    ) -> Result<Option<Vec<u8>>> {
        let mut key = [0u8; 64];
        let (c, e) = key.split_at_mut(32);
        c.copy_from_slice(conversation.as_bytes());
        e.copy_from_slice(id.as_bytes());
        let txn = self.db.begin_read()?;
        let table = txn.open_table(tables::ENTRIES)?;
        Ok(table.get(&key)?.map(|v| v.value().to_vec()))
    }

    /// Bulk mode, for imports and benchmarks that write many entries one
    /// by one: while on, commits are atomic but not synced to disk (a crash
    /// loses them, never half of one); turning it off makes everything
    /// written so far durable with one synced commit.
    pub fn set_bulk(&mut self, on: bool) -> Result<()> {
        let was = std::mem::replace(&mut self.bulk, on);
        if was && !on {
            self.db.begin_write()?.commit()?;
        }
        Ok(())
    }

    /// A write transaction, durable unless in bulk mode.
    fn begin_write(&self) -> Result<redb::WriteTransaction> {
        let mut txn = self.db.begin_write()?;
        if self.bulk {
            txn.set_durability(redb::Durability::None)
                .map_err(|e| StoreError::Database(e.to_string()))?;
        }
        Ok(txn)
    }

    /// Rewrites the database file to release free space.
    pub fn compact(&mut self) -> Result<()> {
        self.db
            .compact()
            .map_err(|e| StoreError::Database(e.to_string()))?;
        Ok(())
    }
}
