//! The error type of `kith-identity`.

use kith_wire::WireError;

/// Why an identity operation failed or an entry was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// Bytes that are not a valid encoding, or a bad signature or key.
    #[error("invalid encoding: {0}")]
    Wire(#[from] WireError),
    /// A cryptographic operation failed.
    #[error("crypto: {0}")]
    Crypto(#[from] kith_crypto::CryptoError),
    /// The entry belongs to another account.
    #[error("entry belongs to another account")]
    WrongAccount,
    /// The entry breaks a structural rule of the device log.
    #[error("invalid device-log entry: {0}")]
    InvalidEntry(&'static str),
    /// The author was not an active device of the account when it wrote the entry.
    #[error("author is not an active device of the account")]
    NotAuthorized,
    /// The device log is at its size limit.
    #[error("device log is full")]
    LogFull,
    /// The device is not in the log (or not active).
    #[error("unknown or inactive device")]
    UnknownDevice,
    /// A device presented a log head older than one it showed before.
    #[error("device log rolled back")]
    Rollback,
    /// A safety number or QR comparison did not match.
    #[error("safety numbers do not match")]
    SafetyNumberMismatch,
    /// An invite or link could not be parsed.
    #[error("invalid invite: {0}")]
    Invite(&'static str),
    /// The invite has expired.
    #[error("invite expired")]
    InviteExpired,
    /// A QR code could not be rendered or read.
    #[error("qr code: {0}")]
    Qr(String),
    /// A parameter out of range.
    #[error("invalid parameter: {0}")]
    Parameter(&'static str),
    /// A group membership change that is not allowed.
    #[error("membership change refused: {0}")]
    Membership(&'static str),
    /// A name lookup failed.
    #[error("name lookup failed: {0}")]
    Lookup(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = IdentityError> = std::result::Result<T, E>;
