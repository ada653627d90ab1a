//! X25519 key agreement (`crypto_scalarmult`).

use std::fmt;

use crate::error::Result;
use crate::ffi;
use crate::secret::SecretBytes;

/// Length of an X25519 key.
pub const KEY_LEN: usize = 32;

/// An X25519 secret key.
pub struct DhSecret(SecretBytes<KEY_LEN>);

secret_key!(DhSecret);

impl DhSecret {
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

/// An X25519 public key. Any 32 bytes are accepted; a small-order point is
/// caught when it produces the all-zero shared secret.
#[derive(Clone, Copy)]
pub struct DhPublic([u8; KEY_LEN]);

public_bytes!(DhPublic);

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
