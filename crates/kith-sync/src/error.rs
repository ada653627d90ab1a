//! The error type of `kith-sync`.

/// Why an entry or a frame was refused, or an operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// Bytes that are not a valid encoding, or a bad signature.
    #[error("invalid encoding: {0}")]
    Wire(#[from] kith_wire::WireError),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] kith_crypto::CryptoError),
    /// Encrypting or decrypting a body failed.
    #[error("session: {0}")]
    Session(#[from] kith_session::SessionError),
    /// The author (or the peer) is not an active device of a member account.
    #[error("not a member device of the conversation")]
    NotMember,
    /// The conversation is not known here.
    #[error("unknown conversation")]
    UnknownConversation,
    /// The entry breaks a rule of the log.
    #[error("invalid entry: {0}")]
    InvalidEntry(&'static str),
    /// Two different entries with one author and sequence number.
    #[error("equivocating entry")]
    Equivocation,
    /// The body does not match its header.
    #[error("body does not match its header")]
    BodyMismatch,
    /// A group membership change that is not allowed, or an entry of a
    /// group whose author was no member.
    #[error("membership change refused: {0}")]
    Membership(&'static str),
    /// Storage failed.
    #[error("storage: {0}")]
    Storage(String),
    /// A limit was reached.
    #[error("limit reached: {0}")]
    Limit(&'static str),
}

/// Shorthand for results of this crate.
pub type Result<T, E = SyncError> = std::result::Result<T, E>;
