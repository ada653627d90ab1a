//! The one error type of `kith-crypto`.

/// Everything that can go wrong in a cryptographic operation.
///
/// Messages are lowercase and never contain key material or user data.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// `sodium_init` failed: libsodium cannot be used in this process.
    #[error("libsodium failed to initialise")]
    Init,
    /// An input had the wrong length for the operation.
    #[error("invalid length for {what}: expected {expected}, got {actual}")]
    Length {
        /// What the length belongs to (a fixed name, never data).
        what: &'static str,
        /// The length (or the bound) the operation needs.
        expected: usize,
        /// The length it was given.
        actual: usize,
    },
    /// A parameter was out of the range libsodium accepts.
    #[error("invalid parameter: {0}")]
    Parameter(&'static str),
    /// A public key was malformed: non-canonical, of small order, or not on
    /// the curve.
    #[error("invalid public key")]
    InvalidPublicKey,
    /// A signature did not verify.
    #[error("signature verification failed")]
    BadSignature,
    /// A MAC did not verify.
    #[error("authentication tag mismatch")]
    BadMac,
    /// An X25519 exchange produced the all-zero shared secret (the peer sent a
    /// small-order point).
    #[error("key exchange produced an all-zero shared secret")]
    WeakSharedSecret,
    /// Authenticated decryption failed: wrong key, wrong associated data, or
    /// tampered or truncated ciphertext.
    #[error("decryption failed")]
    Decrypt,
    /// An encrypted stream ended before its final chunk.
    #[error("encrypted stream is truncated")]
    StreamTruncated,
    /// Data followed the final chunk of an encrypted stream.
    #[error("encrypted stream continues after its final chunk")]
    StreamAfterFinal,
    /// Password hashing failed (usually: not enough memory for the limits).
    #[error("password hashing failed")]
    PasswordHash,
    /// Guarded memory could not be allocated or protected.
    #[error("guarded memory allocation failed")]
    GuardedMemory,
    /// A libsodium call reported an error it documents as impossible for
    /// checked inputs.
    #[error("libsodium call failed: {0}")]
    Sodium(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = CryptoError> = std::result::Result<T, E>;
