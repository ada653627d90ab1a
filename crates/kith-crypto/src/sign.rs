//! Ed25519 signatures (`crypto_sign_*`), always over a [`Domain`].

use std::fmt;

use crate::domain::Domain;
use crate::error::{CryptoError, Result};
use crate::ffi;
use crate::secret::SecretBytes;

/// Length of an Ed25519 public key.
pub const PUBLIC_KEY_LEN: usize = 32;
/// Length of an Ed25519 signature.
pub const SIGNATURE_LEN: usize = 64;

/// An Ed25519 signing key, kept as its 32-byte seed plus libsodium's expanded
/// secret key. Never leaves the device that made it.
pub struct SigningKey {
    seed: SecretBytes<32>,
    expanded: SecretBytes<64>,
    public: VerifyingKey,
}

impl SigningKey {
    /// A fresh random key.
    pub fn generate() -> Result<Self> {
        Self::from_seed(SecretBytes::random()?)
    }

    /// The key determined by a 32-byte seed (RFC 8032 private key).
    pub fn from_seed(seed: SecretBytes<32>) -> Result<Self> {
        let sodium = ffi::init()?;
        let mut public = [0u8; PUBLIC_KEY_LEN];
        let mut expanded = SecretBytes::<64>::zero();
        ffi::sign_seed_keypair(sodium, seed.expose(), &mut public, expanded.expose_mut())?;
        Ok(Self {
            seed,
            expanded,
            public: VerifyingKey(public),
        })
    }

    /// The seed, for storing the key encrypted at rest.
    pub fn seed(&self) -> &SecretBytes<32> {
        &self.seed
    }

    /// The matching public key.
    pub fn verifying_key(&self) -> VerifyingKey {
        self.public
    }

    /// Signs `domain || msg`.
    pub fn sign(&self, domain: Domain, msg: &[u8]) -> Result<Signature> {
        self.sign_raw(&domain.prefixed(msg))
    }

    /// Signs `msg` exactly as given, without a domain. Only for interop and
    /// known-answer tests; Kith signs through [`SigningKey::sign`].
    pub fn sign_raw(&self, msg: &[u8]) -> Result<Signature> {
        let sodium = ffi::init()?;
        ffi::sign_detached(sodium, self.expanded.expose(), msg).map(Signature)
    }
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningKey")
            .field("public", &self.public)
            .finish_non_exhaustive()
    }
}

/// An Ed25519 public key that passed validation: canonical, on the curve, in
/// the prime-order subgroup and not of small order.
#[derive(Clone, Copy)]
pub struct VerifyingKey([u8; PUBLIC_KEY_LEN]);

public_bytes!(VerifyingKey);

impl VerifyingKey {
    /// Validates and wraps 32 bytes from the network or the disk.
    pub fn from_bytes(bytes: &[u8; PUBLIC_KEY_LEN]) -> Result<Self> {
        let sodium = ffi::init()?;
        if ffi::ed25519_is_valid_point(sodium, bytes) {
            Ok(Self(*bytes))
        } else {
            Err(CryptoError::InvalidPublicKey)
        }
    }

    /// Like [`VerifyingKey::from_bytes`] for a slice of any length.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: &[u8; PUBLIC_KEY_LEN] = bytes.try_into().map_err(|_| CryptoError::Length {
            what: "ed25519 public key",
            expected: PUBLIC_KEY_LEN,
            actual: bytes.len(),
        })?;
        Self::from_bytes(array)
    }

    /// The 32 key bytes.
    pub fn to_bytes(&self) -> [u8; PUBLIC_KEY_LEN] {
        self.0
    }

    /// The 32 key bytes, borrowed.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_LEN] {
        &self.0
    }

    /// Verifies a signature over `domain || msg`.
    pub fn verify(&self, domain: Domain, msg: &[u8], signature: &Signature) -> Result<()> {
        self.verify_raw(&domain.prefixed(msg), signature)
    }

    /// Verifies a signature over `msg` exactly as given (interop and
    /// known-answer tests only). Verification is strict: non-canonical
    /// signatures and small-order points are rejected.
    pub fn verify_raw(&self, msg: &[u8], signature: &Signature) -> Result<()> {
        let sodium = ffi::init()?;
        ffi::sign_verify_detached(sodium, &self.0, msg, &signature.0)
    }
}

/// A detached Ed25519 signature.
#[derive(Clone, Copy)]
pub struct Signature([u8; SIGNATURE_LEN]);

public_bytes!(Signature);

impl Signature {
    /// Wraps 64 bytes (checked only when verified).
    pub fn from_bytes(bytes: [u8; SIGNATURE_LEN]) -> Self {
        Self(bytes)
    }

    /// Wraps a slice that must be 64 bytes long.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: [u8; SIGNATURE_LEN] = bytes.try_into().map_err(|_| CryptoError::Length {
            what: "ed25519 signature",
            expected: SIGNATURE_LEN,
            actual: bytes.len(),
        })?;
        Ok(Self(array))
    }

    /// The 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; SIGNATURE_LEN] {
        self.0
    }
}
