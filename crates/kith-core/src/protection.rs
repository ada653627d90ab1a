//! How a profile's root key is kept (passphrase, OS keystore, key file),
//! as the environment and the platform decide; what the CLI and the app
//! need of it, so neither reaches into `kith-store`.

use std::path::Path;

use kith_crypto::SecretVec;
use kith_crypto::pwhash::PwHashLimits;
pub use kith_store::Unlock;
pub use kith_store::{KEYSTORE_SERVICE, Protection};
use kith_store::{KeptBy, StoreError};

/// How a new profile's root key is protected: a passphrase from
/// `KITH_PASSPHRASE` if set, else the OS keystore if one is configured,
/// else an owner-only key file (headless devices; a warning is logged).
pub fn protection_from_env() -> Protection {
    if let Ok(passphrase) = std::env::var("KITH_PASSPHRASE") {
        return Protection::Passphrase(
            SecretVec::from_vec(passphrase.into_bytes()),
            PASSPHRASE_LIMITS,
        );
    }
    protection_without_passphrase()
}

/// Argon2id limits of passphrase-wrapped root keys (libsodium's moderate:
/// 256 MiB, 3 passes; B0 measures the unlock time).
pub const PASSPHRASE_LIMITS: PwHashLimits = PwHashLimits::MODERATE;

/// The OS keystore if one is configured, else an owner-only key file.
pub(crate) fn protection_without_passphrase() -> Protection {
    if kith_store::keystore_is_set() {
        return Protection::Keystore;
    }
    tracing::warn!("no passphrase and no OS keystore: the root key is kept in an owner-only file");
    Protection::KeyFile
}

/// Whether `KITH_PASSPHRASE` is set (it then unlocks the profile).
pub(crate) fn passphrase_in_env() -> bool {
    std::env::var_os("KITH_PASSPHRASE").is_some()
}

/// How to unlock a profile: the passphrase from `KITH_PASSPHRASE` if set,
/// else the key file (the OS keystore is tried when the file says so).
pub fn unlock_from_env() -> Unlock {
    match std::env::var("KITH_PASSPHRASE") {
        Ok(passphrase) => Unlock::Passphrase(SecretVec::from_vec(passphrase.into_bytes())),
        Err(_) => Unlock::KeyFile,
    }
}

/// A short name of how a new profile's key is protected: `passphrase`,
/// `keystore` or `key_file` (the CLI's JSON field `protection`).
pub fn protection_name(protection: &Protection) -> &'static str {
    match protection {
        Protection::Passphrase(..) => "passphrase",
        Protection::Keystore => "keystore",
        Protection::KeyFile => "key_file",
    }
}

/// Whether opening or creating the profile in a folder may use the OS
/// keystore.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeystoreUse {
    /// The profile's key is in the keystore: opening needs it.
    Needed,
    /// There is no profile yet: a new one may keep its key there.
    Possible,
    /// The key is kept by a passphrase or a key file (or the folder is
    /// unreadable): the keystore is not touched.
    Unused,
}

/// How the profile in `dir` would use the OS keystore.
pub fn keystore_use(dir: &Path) -> KeystoreUse {
    match kith_store::kept_by(dir) {
        Ok(KeptBy::Keystore) => KeystoreUse::Needed,
        Err(StoreError::NoProfile) => KeystoreUse::Possible,
        _ => KeystoreUse::Unused,
    }
}
