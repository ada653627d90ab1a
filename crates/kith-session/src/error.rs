//! The error type of `kith-session`.

/// Why a session operation failed. A failed decryption never changes state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SessionError {
    /// A cryptographic operation failed (for example a small-order key).
    #[error("crypto: {0}")]
    Crypto(#[from] kith_crypto::CryptoError),
    /// Bytes that are not a valid session message.
    #[error("invalid encoding: {0}")]
    Wire(#[from] kith_wire::WireError),
    /// The message was already decrypted (a duplicate or a replay).
    #[error("duplicate or replayed message")]
    Duplicate,
    /// The message claims to be further ahead than the skip limit allows.
    #[error("message is too far ahead of its chain")]
    TooFarAhead,
    /// Decrypting would derive more message keys ahead than this batch's
    /// budget has left (see `Sessions::renew_budget`): try again in a later
    /// batch; nothing was changed.
    #[error("too many message keys to derive ahead in this batch")]
    OverBudget,
    /// No session can decrypt the message (the sender's session is stale:
    /// ask it to start over).
    #[error("no session can decrypt this message")]
    NoSession,
    /// The message names a prekey this device does not have (any more).
    #[error("unknown or retired prekey")]
    UnknownPrekey,
    /// The remote device's signed prekey does not verify.
    #[error("remote prekey signature is invalid")]
    BadPrekey,
    /// No envelope of a fan-out is addressed to this device.
    #[error("no envelope for this device")]
    NotForMe,
    /// The plaintext was not the one expected (see `Sessions::decrypt_if`):
    /// nothing was stored.
    #[error("the message is not the one expected")]
    Rejected,
    /// The session store failed.
    #[error("session store: {0}")]
    Store(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = SessionError> = std::result::Result<T, E>;
