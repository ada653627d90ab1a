//! Argon2id (v1.3) password-based key derivation (`crypto_pwhash`), used to
//! wrap a device's root key under the user's passphrase.

use crate::error::Result;
use crate::ffi;
use crate::secret::SecretBytes;

/// Length of a password salt.
pub const SALT_LEN: usize = 16;

/// Argon2id cost: passes over memory and memory in bytes. Stored next to
/// every wrapped key, so limits can rise later without breaking old profiles.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PwHashLimits {
    /// Number of passes (libsodium's `opslimit`), at least 1.
    pub ops: u64,
    /// Memory in bytes (libsodium's `memlimit`), at least 8 KiB.
    pub mem_bytes: usize,
}

impl PwHashLimits {
    /// libsodium's interactive limits: 2 passes, 64 MiB.
    pub const INTERACTIVE: Self = Self {
        ops: 2,
        mem_bytes: 64 << 20,
    };
    /// libsodium's moderate limits: 3 passes, 256 MiB. Kith's default for
    /// unlocking a profile (well under a second on a phone-class core).
    pub const MODERATE: Self = Self {
        ops: 3,
        mem_bytes: 256 << 20,
    };
    /// libsodium's sensitive limits: 4 passes, 1 GiB.
    pub const SENSITIVE: Self = Self {
        ops: 4,
        mem_bytes: 1 << 30,
    };
    /// The cheapest limits libsodium allows; tests only.
    pub const MIN: Self = Self {
        ops: 1,
        mem_bytes: 8 << 10,
    };
}

/// A random salt.
pub fn salt() -> Result<[u8; SALT_LEN]> {
    crate::random::array()
}

/// Derives a 32-byte key from `passphrase` and `salt` with Argon2id.
pub fn derive_key(
    passphrase: &[u8],
    salt: &[u8; SALT_LEN],
    limits: PwHashLimits,
) -> Result<SecretBytes<32>> {
    let sodium = ffi::init()?;
    let mut out = SecretBytes::<32>::zero();
    ffi::pwhash_argon2id(
        sodium,
        out.expose_mut(),
        passphrase,
        salt,
        limits.ops,
        limits.mem_bytes,
    )?;
    Ok(out)
}
