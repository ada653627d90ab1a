//! Sealing stored values: XChaCha20-Poly1305 under a per-table subkey of
//! the root key, with the table name and the row key as associated data, so
//! a value cannot be moved to another row or table unnoticed.

use kith_crypto::aead::AeadKey;
use kith_crypto::kdf::{KdfContext, derive_subkey_guarded};
use kith_crypto::{GuardedSecret, SecretVec};

use crate::error::{Result, StoreError};
use crate::tables::subkey_id;

const CONTEXT: KdfContext = KdfContext::new(b"kithstor");

/// Seals and opens values of the tables that hold secrets.
pub(crate) struct Vault {
    keys: Vec<(&'static str, AeadKey)>,
}

impl Vault {
    pub(crate) fn new(root: &GuardedSecret<32>, tables: &[&'static str]) -> Result<Self> {
        let mut keys = Vec::new();
        for table in tables {
            let id = subkey_id(table).ok_or(StoreError::Corrupt("table without a subkey"))?;
            keys.push((
                *table,
                AeadKey::from_secret(derive_subkey_guarded(root, CONTEXT, id)?),
            ));
        }
        Ok(Self { keys })
    }

    fn key(&self, table: &str) -> Result<&AeadKey> {
        self.keys
            .iter()
            .find(|(t, _)| *t == table)
            .map(|(_, k)| k)
            .ok_or(StoreError::Corrupt("unknown table"))
    }

    fn ad(table: &str, row: &[u8]) -> Vec<u8> {
        let mut ad = Vec::with_capacity(table.len() + 1 + row.len());
        ad.extend_from_slice(table.as_bytes());
        ad.push(0);
        ad.extend_from_slice(row);
        ad
    }

    pub(crate) fn seal(&self, table: &str, row: &[u8], value: &[u8]) -> Result<Vec<u8>> {
        Ok(self.key(table)?.seal(&Self::ad(table, row), value)?)
    }

    pub(crate) fn open(&self, table: &str, row: &[u8], sealed: &[u8]) -> Result<SecretVec> {
        self.key(table)?
            .open(&Self::ad(table, row), sealed)
            .map_err(|_| StoreError::Corrupt("a sealed value failed to open"))
    }
}
