//! The error type of `kith-store`.

/// Why a storage operation failed. Messages carry no key material or data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database reported an error.
    #[error("database: {0}")]
    Database(String),
    /// A file operation failed.
    #[error("i/o: {0}")]
    Io(String),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] kith_crypto::CryptoError),
    /// The passphrase does not unlock this profile.
    #[error("wrong passphrase")]
    WrongPassphrase,
    /// The profile needs a passphrase and none was given (or the reverse).
    #[error("this profile is protected differently: {0}")]
    WrongProtection(&'static str),
    /// The OS keystore failed or holds no key.
    #[error("keystore: {0}")]
    Keystore(&'static str),
    /// There is no profile in the folder.
    #[error("no profile here")]
    NoProfile,
    /// A profile exists already.
    #[error("a profile exists already")]
    ProfileExists,
    /// Stored bytes failed authentication or decoding (tampering or damage).
    #[error("stored data is corrupt: {0}")]
    Corrupt(&'static str),
}

impl StoreError {
    /// Whether the database is held open by another process (or by a node
    /// of this one that has not let go yet): a moment later it may open.
    pub fn is_in_use(&self) -> bool {
        matches!(self, Self::Database(m) if m.contains("already open"))
    }
}

impl From<std::io::Error> for StoreError {
    fn from(e: std::io::Error) -> Self {
        Self::Io(e.kind().to_string())
    }
}

macro_rules! db_error {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Database(e.to_string())
            }
        }
    )*};
}

db_error!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError
);

/// Shorthand for results of this crate.
pub type Result<T, E = StoreError> = std::result::Result<T, E>;
