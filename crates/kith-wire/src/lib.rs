//! Kith's wire formats: the versioned binary encoding of everything Kith
//! signs or sends, with explicit length limits and domain-separated signing
//! inputs. No I/O; every decoder returns an error on bad input, never panics.
//!
//! Every encoding is `FORMAT_VERSION (1 byte) || postcard(value)`. Signed
//! values ([`Signed`]) carry the exact encoded bytes plus an Ed25519
//! signature over `domain || bytes`.
//!
//! ```
//! use kith_wire::{decode, encode, limits};
//!
//! let bytes = encode(&("hello", 7u32))?;
//! assert_eq!(bytes[0], kith_wire::FORMAT_VERSION);
//! let (text, n): (String, u32) = decode(&bytes, limits::MAX_ENTRY_BYTES)?;
//! assert_eq!((text.as_str(), n), ("hello", 7));
//! # Ok::<(), kith_wire::WireError>(())
//! ```
#![forbid(unsafe_code)]

#[macro_use]
mod bytes;
mod codec;
mod device_log;
mod directory;
mod group;
mod invite;
mod log;
mod session;
mod signed;

pub use bytes::{
    AccountId, ChainKey, DeviceId, DhKey, EntryHash, InviteSecret, RoomKey, Sig, TransportId,
};
pub use codec::{FORMAT_VERSION, decode, encode, encoded_len};
pub use device_log::{
    DeviceLogEntry, DeviceOp, DeviceRecord, RevokeReason, SignedDeviceEntry, SignedPrekey,
};
pub use directory::{
    AddressAnnouncement, Directory, LinkMessage, MAX_DIRECTORY_HEADS, MAX_DIRECTORY_LOGS,
    MAX_LINK_FRAME_BYTES, MAX_RELAY_URL_BYTES, SignedAnnouncement,
};
pub use group::{GroupOp, MAX_GROUP_MEMBERS, MAX_GROUP_OPS, MAX_SLOW_MODE_SECS, Posting, Role};
pub use invite::{Invite, InviteKind};
pub use log::{
    BodyHash, BodyPlain, Content, ConversationId, ConversationKind, EntryHeader, EntryKind,
    SelfRecord, SignedHeader, Summary, SyncMessage, TrustLevel, WireEntry,
};
pub use session::{
    ENVELOPE_OVERHEAD, Envelope, FanOut, PreKeyMessage, RatchetHeader, RatchetMessage, RoomMessage,
    SenderKeyMessage, SessionMessage,
};
pub use signed::Signed;

/// Errors of encoding and decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WireError {
    /// The input was empty.
    #[error("empty input")]
    Empty,
    /// The input is longer than its format allows.
    #[error("input too long: {actual} bytes, limit {max}")]
    TooLong {
        /// The limit.
        max: usize,
        /// The input length.
        actual: usize,
    },
    /// Written by a newer (or unknown) format version.
    #[error("unsupported format version {0}")]
    UnsupportedVersion(u8),
    /// Not a valid encoding of the expected type.
    #[error("malformed input")]
    Malformed,
    /// A valid value followed by extra bytes.
    #[error("{0} trailing bytes after the value")]
    TrailingBytes(usize),
    /// A count or length over its limit.
    #[error("limit exceeded: {0}")]
    Limit(&'static str),
    /// The value could not be encoded.
    #[error("encoding failed")]
    Encode,
    /// A signature or key check failed.
    #[error(transparent)]
    Crypto(#[from] kith_crypto::CryptoError),
}

/// Purpose labels: every signature and hash in Kith names one of these.
pub mod domain {
    use kith_crypto::Domain;

    /// `AccountId = BLAKE2b-256(ACCOUNT_ID, genesis entry)`.
    pub const ACCOUNT_ID: Domain = Domain::new("kith-account-v1");
    /// Signature of a device-log entry by its author.
    pub const DEVICE_LOG_ENTRY: Domain = Domain::new("kith-device-log-entry-v1");
    /// Hash of a signed device-log entry.
    pub const DEVICE_LOG_HASH: Domain = Domain::new("kith-device-log-hash-v1");
    /// A device's DSK over its identity and transport keys.
    pub const DEVICE_KEYS: Domain = Domain::new("kith-device-keys-v1");
    /// A new device's countersignature on the entry that adds it.
    pub const DEVICE_JOIN: Domain = Domain::new("kith-device-join-v1");
    /// A signed prekey.
    pub const PREKEY: Domain = Domain::new("kith-prekey-v1");
    /// Derivation of a transport key seed from the device's storage.
    pub const TRANSPORT_KEY: Domain = Domain::new("kith-transport-key-v1");
    /// Signature of a conversation-log entry header.
    pub const LOG_ENTRY: Domain = Domain::new("kith-log-entry-v1");
    /// Hash of a signed conversation-log entry header.
    pub const LOG_ENTRY_HASH: Domain = Domain::new("kith-log-entry-hash-v1");
    /// Conversation ids.
    pub const CONVERSATION: Domain = Domain::new("kith-conversation-v1");
    /// Body commitments.
    pub const BODY: Domain = Domain::new("kith-body-v1");
    /// Associated data of a pairwise session (X3DH and ratchet messages).
    pub const SESSION_AD: Domain = Domain::new("kith-session-ad-v1");
    /// Address announcements of a device.
    pub const ADDRESS: Domain = Domain::new("kith-address-v1");
    /// A transport (iroh endpoint) key's proof that it belongs to a device.
    pub const TRANSPORT_BINDING: Domain = Domain::new("kith-transport-binding-v1");
    /// The check value at the end of a `kith:` or `kith-link:` link.
    pub const INVITE_CHECK: Domain = Domain::new("kith-invite-check-v1");
    /// The id of the one-time prekey a device holds for one peer device.
    pub const ONE_TIME_PREKEY_SLOT: Domain = Domain::new("kith-one-time-prekey-slot-v1");
    /// Deriving a room's door secret (what a joiner presents) from its link key.
    pub const ROOM_DOOR: Domain = Domain::new("kith-room-door-v1");
}

/// Length limits of every format.
pub mod limits {
    use crate::WireError;

    /// Largest encoded device-log entry.
    pub const MAX_ENTRY_BYTES: usize = 4 * 1024;
    /// Most causal parents of one entry.
    pub const MAX_PARENTS: usize = 16;
    /// Longest display or device name, in bytes of UTF-8.
    pub const MAX_NAME_BYTES: usize = 64;
    /// Most addresses in an invite.
    pub const MAX_ADDRESSES: usize = 8;
    /// Most device-log heads in an invite.
    pub const MAX_INVITE_HEADS: usize = 4;
    /// Largest encoded invite.
    pub const MAX_INVITE_BYTES: usize = 1024;
    /// Largest ciphertext of one pairwise message (a 64 KiB body plus overhead).
    pub const MAX_SESSION_CIPHERTEXT: usize = 64 * 1024 + 64;
    /// Largest encoded fan-out (all envelopes of one message).
    pub const MAX_FANOUT_BYTES: usize = 8 << 20;
    /// Most recipient devices of one message.
    pub const MAX_FANOUT_DEVICES: usize = 1024;
    /// Largest encoded pairwise message.
    pub const MAX_SESSION_MESSAGE_BYTES: usize = MAX_SESSION_CIPHERTEXT + 256;
    /// Largest body content of one entry.
    pub const MAX_BODY_BYTES: usize = 64 * 1024 - 64;
    /// Largest encoded sync frame.
    pub const MAX_FRAME_BYTES: usize = 16 << 20;
    /// Most entries in one `Entries` frame.
    pub const MAX_ENTRIES_PER_FRAME: usize = 512;
    /// Most conversation summaries in one `Hello`.
    pub const MAX_SUMMARIES: usize = 65_536;
    /// Most missing bodies asked for in one `Hello`.
    pub const MAX_MISSING_BODIES: usize = 4096;
    /// Most entries in one account's device log.
    pub const MAX_DEVICE_LOG_ENTRIES: usize = 4096;

    /// A name: 1 to [`MAX_NAME_BYTES`] bytes, no control characters.
    pub fn check_name(name: &str) -> Result<(), WireError> {
        if name.is_empty() || name.len() > MAX_NAME_BYTES {
            return Err(WireError::Limit("name length"));
        }
        if name.chars().any(char::is_control) {
            return Err(WireError::Limit("control character in name"));
        }
        Ok(())
    }
}

/// Lowercase hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    data_encoding::HEXLOWER.encode(bytes)
}

/// Parses hex (either case); `None` on odd length or a non-hex digit.
pub fn hex_decode(text: &str) -> Option<Vec<u8>> {
    data_encoding::HEXLOWER_PERMISSIVE
        .decode(text.as_bytes())
        .ok()
}
