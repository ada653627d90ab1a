//! The device root key and how it is kept: in the OS keystore (through
//! `keyring-core`'s default store, which the application sets at start-up:
//! Keychain, Windows Credential Manager, Secret Service, Android Keystore),
//! wrapped by a passphrase (Argon2id), or, on a headless device with
//! neither, in a key file readable only by its owner (with a warning).
//!
//! File `root-key`, format 1:
//!
//! ```text
//! "KITHKEY1" || mode (1 byte)
//! mode 1 (passphrase): salt (16) || ops (u64 LE) || mem (u64 LE)
//!                      || XChaCha20-Poly1305 seal of the root key (24 + 32 + 16)
//!                      with AD = every preceding byte
//! mode 2 (key file):   root key (32)
//! mode 3 (keystore):   entry name length (1) || entry name (ASCII); the
//!                      key is the keystore secret of service "kith", that name
//! ```
//!
//! The way a key is kept can change ([`rewrap`]: set, change or remove a
//! passphrase) without touching the database: the root key stays the same.

use std::io::Write;
use std::path::Path;

use kith_crypto::aead::AeadKey;
use kith_crypto::pwhash::{PwHashLimits, derive_key, salt};
use kith_crypto::{GuardedSecret, SecretBytes, SecretVec};

use crate::error::{Result, StoreError};

const MAGIC: &[u8; 8] = b"KITHKEY1";
const MODE_PASSPHRASE: u8 = 1;
const MODE_KEY_FILE: u8 = 2;
const MODE_KEYSTORE: u8 = 3;
/// Keystore service name of Kith's entries.
pub const KEYSTORE_SERVICE: &str = "kith";
/// Name of the key file inside a profile folder.
pub const KEY_FILE: &str = "root-key";

/// How a new profile's root key is protected.
#[derive(Debug)]
pub enum Protection {
    /// Wrapped under a passphrase with Argon2id at these limits.
    Passphrase(SecretVec, PwHashLimits),
    /// A plain key file readable only by the owner (headless devices).
    KeyFile,
    /// The OS keystore (keyring-core's default store).
    Keystore,
}

/// How a profile's root key is kept now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KeptBy {
    /// Wrapped under a passphrase.
    Passphrase,
    /// In a plain owner-only key file.
    KeyFile,
    /// In the OS keystore.
    Keystore,
}

/// How to unlock an existing profile.
#[derive(Debug)]
pub enum Unlock {
    /// With the passphrase.
    Passphrase(SecretVec),
    /// From the key file.
    KeyFile,
    /// From the OS keystore.
    Keystore,
}

fn header(salt: &[u8; 16], limits: PwHashLimits) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.push(MODE_PASSPHRASE);
    out.extend_from_slice(salt);
    out.extend_from_slice(&limits.ops.to_le_bytes());
    out.extend_from_slice(&(limits.mem_bytes as u64).to_le_bytes());
    out
}

/// Writes `bytes` to `path` readable only by the owner, durably.
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> Result<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// The key file's bytes for `root` kept as `protection` (for the keystore:
/// a new entry holding the key).
pub(crate) fn wrap(root: &[u8; 32], protection: Protection) -> Result<Vec<u8>> {
    let mut file = Vec::new();
    match protection {
        Protection::Passphrase(passphrase, limits) => {
            let salt = salt()?;
            file = header(&salt, limits);
            let kek = AeadKey::from_secret(derive_key(passphrase.expose(), &salt, limits)?);
            let sealed = kek.seal(&file, root)?;
            file.extend_from_slice(&sealed);
        }
        Protection::Keystore => {
            let name = format!(
                "root-{}",
                kith_wire::hex_encode(&kith_crypto::random::array::<12>()?)
            );
            keystore_entry(&name)?
                .set_secret(root)
                .map_err(keystore_error)?;
            file.extend_from_slice(MAGIC);
            file.push(MODE_KEYSTORE);
            file.push(name.len() as u8);
            file.extend_from_slice(name.as_bytes());
        }
        Protection::KeyFile => {
            tracing::warn!("profile key kept in a plain key file (no passphrase, no OS keystore)");
            file.extend_from_slice(MAGIC);
            file.push(MODE_KEY_FILE);
            file.extend_from_slice(root);
        }
    }
    Ok(file)
}

/// Makes a root key for a new profile in `dir` and stores it as `protection` says.
pub fn create(dir: &Path, protection: Protection) -> Result<GuardedSecret<32>> {
    let path = dir.join(KEY_FILE);
    if path.exists() {
        return Err(StoreError::ProfileExists);
    }
    let root = SecretBytes::<32>::random()?;
    let mut file = wrap(root.expose(), protection)?;
    let written = write_private(&path, &file);
    kith_crypto::zeroize(&mut file);
    written?;
    Ok(GuardedSecret::from_secret(root)?)
}

/// How the root key of the profile in `dir` is kept now.
pub fn kept_by(dir: &Path) -> Result<KeptBy> {
    let mut file = read_key_file(dir)?;
    let mode = file
        .strip_prefix(MAGIC.as_slice())
        .and_then(|rest| rest.first().copied());
    kith_crypto::zeroize(&mut file);
    match mode {
        Some(MODE_PASSPHRASE) => Ok(KeptBy::Passphrase),
        Some(MODE_KEY_FILE) => Ok(KeptBy::KeyFile),
        Some(MODE_KEYSTORE) => Ok(KeptBy::Keystore),
        _ => Err(StoreError::Corrupt("root key file")),
    }
}

/// Keeps the root key of the profile in `dir` a new way: it is unlocked as
/// `unlock` says (so changing or removing a passphrase needs the current
/// one), wrapped as `protection` says, and the key file is replaced
/// atomically (written aside, synced, renamed, folder synced). A keystore
/// entry the old file pointed to is deleted afterwards. The root key itself
/// does not change, so the database is not touched.
pub fn rewrap(dir: &Path, unlock: Unlock, protection: Protection) -> Result<()> {
    let mut old = read_key_file(dir)?;
    let parsed = parse(&old, unlock);
    let old_entry = keystore_name(&old).map(str::to_owned);
    kith_crypto::zeroize(&mut old);
    let root = parsed?;
    let mut file = root.with(|key| wrap(key, protection))??;
    let aside = dir.join(format!("{KEY_FILE}.new"));
    let _ = std::fs::remove_file(&aside);
    let written = write_private(&aside, &file);
    kith_crypto::zeroize(&mut file);
    written?;
    std::fs::rename(&aside, dir.join(KEY_FILE))?;
    sync_dir(dir)?;
    let deleted = old_entry.map(|name| {
        keystore_entry(&name).and_then(|entry| entry.delete_credential().map_err(keystore_error))
    });
    if let Some(Err(e)) = deleted {
        tracing::warn!("the old keystore entry stays: {e}");
    }
    Ok(())
}

/// Makes a rename inside `dir` durable.
pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    #[cfg(unix)]
    std::fs::File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The keystore entry name a key file of mode 3 points to.
pub(crate) fn keystore_name(file: &[u8]) -> Option<&str> {
    let rest = file.strip_prefix(MAGIC.as_slice())?;
    let (mode, rest) = rest.split_first()?;
    if *mode != MODE_KEYSTORE {
        return None;
    }
    let (len, name) = rest.split_first()?;
    std::str::from_utf8(name.get(..usize::from(*len))?).ok()
}

pub(crate) fn read_key_file(dir: &Path) -> Result<Vec<u8>> {
    match std::fs::read(dir.join(KEY_FILE)) {
        Ok(bytes) => Ok(bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(StoreError::NoProfile),
        Err(e) => Err(e.into()),
    }
}

/// Reads the root key of the profile in `dir`.
pub fn unlock(dir: &Path, unlock: Unlock) -> Result<GuardedSecret<32>> {
    let mut file = read_key_file(dir)?;
    let result = parse(&file, unlock);
    kith_crypto::zeroize(&mut file);
    result
}

fn parse(file: &[u8], unlock: Unlock) -> Result<GuardedSecret<32>> {
    let corrupt = StoreError::Corrupt("root key file");
    let (magic, rest) = file.split_first_chunk::<8>().ok_or(corrupt.clone())?;
    if magic != MAGIC {
        return Err(corrupt);
    }
    let (mode, rest) = rest.split_first().ok_or(corrupt.clone())?;
    match (*mode, unlock) {
        (MODE_KEY_FILE, Unlock::KeyFile) => {
            let key = SecretBytes::<32>::from_slice(rest).map_err(|_| corrupt)?;
            Ok(GuardedSecret::from_secret(key)?)
        }
        (MODE_PASSPHRASE, Unlock::Passphrase(passphrase)) => {
            let (salt, rest) = rest.split_first_chunk::<16>().ok_or(corrupt.clone())?;
            let (ops, rest) = rest.split_first_chunk::<8>().ok_or(corrupt.clone())?;
            let (mem, sealed) = rest.split_first_chunk::<8>().ok_or(corrupt.clone())?;
            let mem = usize::try_from(u64::from_le_bytes(*mem)).map_err(|_| corrupt.clone())?;
            let limits = PwHashLimits {
                ops: u64::from_le_bytes(*ops),
                mem_bytes: mem,
            };
            let kek = AeadKey::from_secret(derive_key(passphrase.expose(), salt, limits)?);
            let root = kek
                .open(&header(salt, limits), sealed)
                .map_err(|_| StoreError::WrongPassphrase)?;
            let key = SecretBytes::<32>::from_slice(root.expose()).map_err(|_| corrupt)?;
            Ok(GuardedSecret::from_secret(key)?)
        }
        (MODE_KEYSTORE, Unlock::Keystore) => {
            let name = keystore_name(file).ok_or(corrupt.clone())?;
            let mut secret = keystore_entry(name)?.get_secret().map_err(keystore_error)?;
            let key = SecretBytes::<32>::from_slice(&secret);
            kith_crypto::zeroize(&mut secret);
            let key = key.map_err(|_| StoreError::Corrupt("keystore secret"))?;
            Ok(GuardedSecret::from_secret(key)?)
        }
        (MODE_KEYSTORE, _) => Err(StoreError::WrongProtection("the key is in the OS keystore")),
        (_, Unlock::Keystore) => Err(StoreError::WrongProtection(
            "the key is not in the OS keystore",
        )),
        (MODE_PASSPHRASE, Unlock::KeyFile) => {
            Err(StoreError::WrongProtection("a passphrase is needed"))
        }
        (MODE_KEY_FILE, Unlock::Passphrase(_)) => {
            Err(StoreError::WrongProtection("no passphrase is set"))
        }
        _ => Err(corrupt),
    }
}

pub(crate) fn keystore_entry(name: &str) -> Result<keyring_core::Entry> {
    keyring_core::Entry::new(KEYSTORE_SERVICE, name).map_err(keystore_error)
}

/// Keystore errors without their payloads (some carry the secret's bytes).
pub(crate) fn keystore_error(e: keyring_core::Error) -> StoreError {
    StoreError::Keystore(match e {
        keyring_core::Error::NoEntry => "the key is missing from the keystore",
        keyring_core::Error::NoDefaultStore => "no keystore is available",
        keyring_core::Error::NoStorageAccess(_) => "the keystore is locked or unreachable",
        keyring_core::Error::PlatformFailure(_) => "the keystore failed",
        _ => "keystore error",
    })
}
