//! Re-keying a profile: a new root key, every sealed value sealed again
//! under it in a fresh database file, and the key file replaced. Used when
//! protection gets stronger (a passphrase set or changed), so a key file
//! kept from before (a backup, freed disk blocks) opens nothing.
//!
//! Crash safety: the new key file (`root-key.rekey`), then the new
//! database (`kith.redb.rekey`) are written and synced aside. Renaming the
//! key file into place is the commit point; the database follows. Opening a
//! profile finishes or rolls back an interrupted re-key ([`recover`]): a
//! `root-key.rekey` still there means the commit never happened (both
//! aside files go), a lone `kith.redb.rekey` means it did (it is renamed
//! into place).

use std::path::{Path, PathBuf};

use kith_crypto::{GuardedSecret, SecretBytes};
use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::Result;
use crate::root::{
    KEY_FILE, Protection, Unlock, keystore_entry, keystore_error, keystore_name, read_key_file,
    sync_dir, wrap, write_private,
};
use crate::tables::{
    CONVERSATIONS, CONVERSATIONS_NAME, ENTRIES, ENTRIES_NAME, META, ONE_TIME_PREKEYS,
    ONE_TIME_PREKEYS_NAME, PREKEY_USES, PROFILE, PROFILE_NAME, SESSIONS, SESSIONS_NAME,
};
use crate::vault::Vault;
use crate::{DATABASE_FILE, Store, permissions};

fn aside_db(dir: &Path) -> PathBuf {
    dir.join(format!("{DATABASE_FILE}.rekey"))
}

fn aside_key(dir: &Path) -> PathBuf {
    dir.join(format!("{KEY_FILE}.rekey"))
}

/// Where an interrupted re-key stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Stop {
    /// After writing the new key file aside.
    KeyAside,
    /// After writing the new database aside too (not committed).
    DatabaseAside,
    /// After the commit point (the key file renamed into place).
    Committed,
}

/// Re-keys the profile in `dir` (not open elsewhere): unlocked as `unlock`
/// says, kept as `protection` says afterwards.
pub fn rekey(dir: &Path, unlock: Unlock, protection: Protection) -> Result<()> {
    rekey_until(dir, unlock, protection, None)
}

pub(crate) fn rekey_until(
    dir: &Path,
    unlock: Unlock,
    protection: Protection,
    stop: Option<Stop>,
) -> Result<()> {
    let old = Store::open(dir, unlock)?;
    let old_entry = {
        let mut file = read_key_file(dir)?;
        let name = keystore_name(&file).map(str::to_owned);
        kith_crypto::zeroize(&mut file);
        name
    };
    let root = SecretBytes::<32>::random()?;
    let guarded = GuardedSecret::from_secret(root.duplicate())?;
    let vault = Store::vault_for(&guarded)?;
    // The key file first: a new database aside without it is never taken
    // for a committed re-key.
    let key_path = aside_key(dir);
    let db_path = aside_db(dir);
    let _ = std::fs::remove_file(&key_path);
    let _ = std::fs::remove_file(&db_path);
    let mut file = wrap(root.expose(), protection)?;
    let written = write_private(&key_path, &file);
    kith_crypto::zeroize(&mut file);
    written?;
    if stop == Some(Stop::KeyAside) {
        return Ok(());
    }
    let copied = permissions::create_owner_only_file(&db_path)
        .map_err(Into::into)
        .and_then(|()| copy_resealed(&old, &Database::create(&db_path)?, &vault));
    drop(old);
    if let Err(e) = copied {
        let _ = std::fs::remove_file(&key_path);
        let _ = std::fs::remove_file(&db_path);
        return Err(e);
    }
    sync_dir(dir)?;
    if stop == Some(Stop::DatabaseAside) {
        return Ok(());
    }
    // The commit point.
    std::fs::rename(&key_path, dir.join(KEY_FILE))?;
    sync_dir(dir)?;
    if stop == Some(Stop::Committed) {
        return Ok(());
    }
    std::fs::rename(&db_path, dir.join(DATABASE_FILE))?;
    sync_dir(dir)?;
    if let Some(Err(e)) = old_entry.map(|name| {
        keystore_entry(&name).and_then(|entry| entry.delete_credential().map_err(keystore_error))
    }) {
        tracing::warn!("the old keystore entry stays: {e}");
    }
    Ok(())
}

/// Finishes or rolls back a re-key a crash interrupted (see the module).
pub(crate) fn recover(dir: &Path) -> Result<()> {
    let (db, key) = (aside_db(dir), aside_key(dir));
    if key.exists() {
        std::fs::remove_file(&key)?;
        let _ = std::fs::remove_file(&db);
        sync_dir(dir)?;
    } else if db.exists() {
        std::fs::rename(&db, dir.join(DATABASE_FILE))?;
        sync_dir(dir)?;
    }
    Ok(())
}

/// Copies every table of `old` into `new` in one durable transaction:
/// unsealed tables as they are, sealed values opened and sealed again
/// under `vault` (bound to the same table and row).
fn copy_resealed(old: &Store, new: &Database, vault: &Vault) -> Result<()> {
    let read = old.db.begin_read()?;
    let write = new.begin_write()?;
    {
        let from = read.open_table(META)?;
        let mut to = write.open_table(META)?;
        for row in from.iter()? {
            let (k, v) = row?;
            to.insert(k.value(), v.value())?;
        }
        let from = read.open_table(PREKEY_USES)?;
        let mut to = write.open_table(PREKEY_USES)?;
        for row in from.iter()? {
            let (k, _) = row?;
            to.insert(k.value(), ())?;
        }
        reseal(&read, &write, SESSIONS, SESSIONS_NAME, old, vault, |k| {
            k.to_vec()
        })?;
        reseal(
            &read,
            &write,
            ONE_TIME_PREKEYS,
            ONE_TIME_PREKEYS_NAME,
            old,
            vault,
            |k| k.to_be_bytes().to_vec(),
        )?;
        reseal(
            &read,
            &write,
            CONVERSATIONS,
            CONVERSATIONS_NAME,
            old,
            vault,
            |k| k.to_vec(),
        )?;
        reseal(&read, &write, ENTRIES, ENTRIES_NAME, old, vault, |k| {
            k.to_vec()
        })?;
        reseal(&read, &write, PROFILE, PROFILE_NAME, old, vault, |k| {
            k.as_bytes().to_vec()
        })?;
        reseal(
            &read,
            &write,
            crate::tables::SENDER_KEYS,
            crate::tables::SENDER_KEYS_NAME,
            old,
            vault,
            |k| k.to_vec(),
        )?;
    }
    write.commit()?;
    Ok(())
}

/// One sealed table, opened under `old`'s vault and sealed under `vault`;
/// `row` gives the bytes a key is bound by.
fn reseal<K: redb::Key + 'static>(
    read: &redb::ReadTransaction,
    write: &redb::WriteTransaction,
    table: TableDefinition<'_, K, &'static [u8]>,
    name: &str,
    old: &Store,
    vault: &Vault,
    row: impl Fn(&K::SelfType<'_>) -> Vec<u8>,
) -> Result<()> {
    let from = read.open_table(table)?;
    let mut to = write.open_table(table)?;
    for item in from.iter()? {
        let (k, v) = item?;
        let key = k.value();
        let bound = row(&key);
        let plain = old.vault.open(name, &bound, v.value())?;
        let sealed = vault.seal(name, &bound, plain.expose())?;
        to.insert(key, sealed.as_slice())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::root::Protection;

    fn pass(text: &str) -> kith_crypto::SecretVec {
        kith_crypto::SecretVec::from_vec(text.as_bytes().to_vec())
    }

    fn profile() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::create(dir.path(), Protection::KeyFile).unwrap();
        store
            .profile_write(&[("greeting", Some(b"hello".as_slice()))])
            .unwrap();
        dir
    }

    fn greeting(dir: &Path, unlock: Unlock) -> Vec<u8> {
        let store = Store::open(dir, unlock).unwrap();
        store
            .profile_get("greeting")
            .unwrap()
            .unwrap()
            .expose()
            .to_vec()
    }

    fn protection() -> Protection {
        Protection::Passphrase(pass("a passphrase"), kith_crypto::pwhash::PwHashLimits::MIN)
    }

    #[test]
    fn a_re_key_stopped_before_its_commit_leaves_the_old_profile() {
        for stop in [Stop::DatabaseAside, Stop::KeyAside] {
            let dir = profile();
            rekey_until(dir.path(), Unlock::KeyFile, protection(), Some(stop)).unwrap();
            assert_eq!(greeting(dir.path(), Unlock::KeyFile), b"hello", "{stop:?}");
            assert!(!aside_db(dir.path()).exists() && !aside_key(dir.path()).exists());
        }
    }

    #[test]
    fn a_re_key_stopped_after_its_commit_is_finished_on_open() {
        let dir = profile();
        rekey_until(
            dir.path(),
            Unlock::KeyFile,
            protection(),
            Some(Stop::Committed),
        )
        .unwrap();
        assert_eq!(
            greeting(dir.path(), Unlock::Passphrase(pass("a passphrase"))),
            b"hello"
        );
        assert!(!aside_db(dir.path()).exists());
    }
}
