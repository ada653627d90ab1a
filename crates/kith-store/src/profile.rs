//! The profile table: small sealed records of this device's profile, by
//! string key: the device keys, device logs of the account and contacts,
//! address announcements, pending invites, local settings. Each value is
//! sealed with the table's subkey, bound to its key (`docs/storage.md`).

use kith_crypto::SecretVec;
use redb::ReadableDatabase;

use crate::Store;
use crate::error::Result;
use crate::tables::{PROFILE, PROFILE_NAME};

impl Store {
    /// The value at `key`, opened.
    pub fn profile_get(&self, key: &str) -> Result<Option<SecretVec>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PROFILE)?;
        let Some(sealed) = table.get(key)? else {
            return Ok(None);
        };
        self.vault
            .open(PROFILE_NAME, key.as_bytes(), sealed.value())
            .map(Some)
    }

    /// Every (key, value) whose key starts with `prefix`, in key order.
    pub fn profile_scan(&self, prefix: &str) -> Result<Vec<(String, SecretVec)>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PROFILE)?;
        let mut out = Vec::new();
        for row in table.range(prefix..)? {
            let (key, sealed) = row?;
            let key = key.value();
            if !key.starts_with(prefix) {
                break;
            }
            let value = self
                .vault
                .open(PROFILE_NAME, key.as_bytes(), sealed.value())?;
            out.push((key.to_owned(), value));
        }
        Ok(out)
    }

    /// Writes (`Some`) or deletes (`None`) values in one durable transaction.
    pub fn profile_write(&mut self, changes: &[(&str, Option<&[u8]>)]) -> Result<()> {
        let txn = self.begin_write()?;
        {
            let mut table = txn.open_table(PROFILE)?;
            for (key, value) in changes {
                match value {
                    Some(value) => {
                        let sealed = self.vault.seal(PROFILE_NAME, key.as_bytes(), value)?;
                        table.insert(*key, sealed.as_slice())?;
                    }
                    None => {
                        table.remove(*key)?;
                    }
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}
