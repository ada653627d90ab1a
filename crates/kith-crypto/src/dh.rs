//! X25519 key agreement (`crypto_scalarmult`).

use std::fmt;

use crate::error::Result;
use crate::ffi;
use crate::secret::SecretBytes;

/// Length of an X25519 key.
pub const KEY_LEN: usize = 32;

/// An X25519 secret key.
pub struct DhSecret(SecretBytes<KEY_LEN>);

impl DhSecret {
    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        Ok(Self(SecretBytes::random()?))
    }

    /// Wraps stored key bytes.
    pub fn from_secret(secret: SecretBytes<KEY_LEN>) -> Self {
        Self(secret)
    }

    /// The key bytes, for storing the key encrypted at rest.
    pub fn secret(&self) -> &SecretBytes<KEY_LEN> {
        &self.0
    }

    /// The matching public key.
    pub fn public_key(&self) -> Result<DhPublic> {
        let sodium = ffi::init()?;
        ffi::scalarmult_base(sodium, self.0.expose()).map(DhPublic)
    }

    /// The shared secret with `peer`. Fails with
    /// [`crate::CryptoError::WeakSharedSecret`] when the result is all zeros
    /// (the peer sent a small-order point).
    pub fn diffie_hellman(&self, peer: &DhPublic) -> Result<SharedSecret> {
        let sodium = ffi::init()?;
        let mut shared = SecretBytes::zero();
        ffi::scalarmult(sodium, self.0.expose(), &peer.0, shared.expose_mut())?;
        Ok(SharedSecret(shared))
    }
}

impl fmt::Debug for DhSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DhSecret(redacted)")
    }
}

/// An X25519 public key. Any 32 bytes are accepted; a small-order point is
/// caught when it produces the all-zero shared secret.
#[derive(Clone, Copy)]
pub struct DhPublic([u8; KEY_LEN]);

impl DhPublic {
    /// Wraps 32 bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        Self(bytes)
    }

    /// The key bytes.
    pub fn to_bytes(&self) -> [u8; KEY_LEN] {
        self.0
    }

    /// The key bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
        &self.0
    }
}

impl PartialEq for DhPublic {
    fn eq(&self, other: &Self) -> bool {
        ffi::memeq(&self.0, &other.0)
    }
}

impl Eq for DhPublic {}

impl std::hash::Hash for DhPublic {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        // Consistent with the constant-time `PartialEq`: equal keys have
        // equal bytes. Public keys only; secrets are never hashed this way.
        self.0.hash(state);
    }
}

impl fmt::Debug for DhPublic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DhPublic({})", crate::short_hex(&self.0))
    }
}

/// The result of an X25519 exchange; feed it to a KDF, never use it as a key.
pub struct SharedSecret(SecretBytes<KEY_LEN>);

impl SharedSecret {
    /// The secret bytes.
    pub fn expose(&self) -> &[u8; KEY_LEN] {
        self.0.expose()
    }
}

impl fmt::Debug for SharedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SharedSecret(redacted)")
    }
}
