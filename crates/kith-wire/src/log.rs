//! Conversation logs and the sync protocol: entry headers (signed), bodies
//! (encrypted per device), and the frames devices exchange. Semantics in
//! `docs/sync.md`.

use serde::{Deserialize, Serialize};

use crate::{AccountId, DeviceId, EntryHash, FanOut, Signed, WireError, limits};

fixed_bytes!(
    /// A conversation: `BLAKE2b-256("kith-conversation-v1", kind || members)`
    /// for direct and self conversations.
    ConversationId, 32
);
fixed_bytes!(
    /// `BLAKE2b-256("kith-body-v1", salt || content)`: commits to a body
    /// without letting a forwarder test guesses of it.
    BodyHash, 32
);

/// What kind of conversation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum ConversationKind {
    /// My own devices only: contacts, trust, deletions, read markers, settings.
    SelfLog,
    /// Two accounts.
    Direct,
    /// A private group: members added by its admins.
    Group,
    /// A public room: anyone with its link.
    Room,
}

/// What an entry is (visible to forwarders; the content is not).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum EntryKind {
    /// A text message.
    Message,
    /// A change to an earlier entry (edits, reactions): extension point.
    Annotation,
    /// A deletion, in the self log.
    Tombstone,
    /// A change of members.
    Membership,
    /// Delivery receipts of the author device.
    Receipt,
    /// Self-log record: contacts, trust, settings.
    Record,
    /// A group member device's sender-key chain for its next messages.
    SenderKey,
}

/// The signed header of a conversation-log entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryHeader {
    /// The conversation.
    pub conversation: ConversationId,
    /// The author's account.
    pub author_account: AccountId,
    /// The author device (it signs the header).
    pub author_device: DeviceId,
    /// The author device's own counter in this conversation, from 0.
    pub seq: u64,
    /// The author device's previous entry here (`None` exactly when `seq` is 0).
    pub prev: Option<EntryHash>,
    /// The heads the author had seen (causal parents).
    pub parents: Vec<EntryHash>,
    /// `1 + max(parents' lamport)`, 0 without parents.
    pub lamport: u64,
    /// When it was written (Unix milliseconds; informative only).
    pub sent_at_ms: u64,
    /// What it is.
    pub kind: EntryKind,
    /// Commitment to the body.
    pub body_hash: BodyHash,
    /// Length of the body content in bytes.
    pub body_len: u32,
}

impl EntryHeader {
    /// Checks bounds a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.parents.len() > limits::MAX_PARENTS {
            return Err(WireError::Limit("too many parents"));
        }
        if self.body_len as usize > limits::MAX_BODY_BYTES {
            return Err(WireError::Limit("body too long"));
        }
        Ok(())
    }
}

/// A signed entry header.
pub type SignedHeader = Signed<EntryHeader>;

/// The plaintext inside every envelope of a body: a random salt and the
/// encoded [`Content`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BodyPlain {
    /// Random; keeps the body hash from confirming guesses.
    pub salt: [u8; 32],
    /// `encode(Content)`.
    #[serde(with = "serde_bytes")]
    pub content: Vec<u8>,
}

/// What an entry says.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// A text message.
    Text {
        /// The text.
        text: String,
        /// The entry it answers, if any.
        reply_to: Option<EntryHash>,
    },
    /// Deletes, from all of the author account's devices, one entry of a
    /// conversation (`target`), or the whole conversation up to and including
    /// Lamport time `up_to` (`target` = `None`). Only in the self log.
    Tombstone {
        /// The conversation.
        conversation: ConversationId,
        /// The entry, or `None` for the whole conversation.
        target: Option<EntryHash>,
        /// For a whole conversation: the highest Lamport time deleted.
        up_to: u64,
    },
    /// A change of members (groups and rooms; direct and self
    /// conversations have fixed members and refuse it).
    Membership(crate::GroupOp),
    /// A record of the self log: what all of an account's devices agree on.
    Record(SelfRecord),
    /// Delivery receipts: the author device has these entries.
    Receipt {
        /// Entries received.
        entries: Vec<EntryHash>,
    },
    /// A sender-key distribution (groups): the author device's chain
    /// `chain`, from `iteration` on, for the member devices this entry's
    /// pairwise fan-out reaches (`docs/groups.md` §7).
    SenderKey {
        /// The chain's id, chosen at random by its device.
        chain: u32,
        /// The first iteration `key` opens.
        iteration: u32,
        /// The chain key at `iteration`.
        key: crate::ChainKey,
    },
}

/// How far a contact is trusted (the self-log form of a trust state).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TrustLevel {
    /// Not compared yet.
    Unvalidated,
    /// Safety number or QR matched.
    Validated,
    /// Not to be trusted; sending pauses.
    Compromised,
}

/// The self log's records. Later records (in display order) replace earlier
/// ones for the same key, identically on every device.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SelfRecord {
    /// A contact: its account, the user's name for it, and its trust.
    Contact {
        /// The contact's account.
        account: AccountId,
        /// The user's name for the contact.
        alias: Option<String>,
        /// The trust state.
        trust: TrustLevel,
        /// Why the trust is what it is (shown to the user).
        reason: String,
    },
    /// The contact was removed from the contact list.
    ContactRemoved {
        /// The contact's account.
        account: AccountId,
    },
    /// A conversation in the conversation list (so every device lists it,
    /// even before it has entries).
    Conversation {
        /// Its id.
        id: ConversationId,
        /// Its kind.
        kind: ConversationKind,
        /// Its members.
        members: Vec<AccountId>,
    },
    /// Everything up to and including `entry` has been read.
    ReadUpTo {
        /// The conversation.
        conversation: ConversationId,
        /// The last entry read.
        entry: EntryHash,
    },
    /// A setting.
    Setting {
        /// Its name.
        key: String,
        /// Its value.
        value: String,
    },
    /// The link key of a public room I joined or created: every device
    /// of mine opens the room's door with it (and reads the room).
    RoomKey {
        /// The room.
        room: ConversationId,
        /// Its link key.
        key: crate::RoomKey,
    },
}

/// An entry as sent: its signed header and, where the sender has one, an
/// encrypted body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WireEntry {
    /// The header.
    pub header: SignedHeader,
    /// The body: the author's fan-out, or (with `rewrapped_by`) a copy
    /// re-encrypted by one of the receiver's own devices.
    pub body: Option<FanOut>,
    /// The own device that re-encrypted the body (history transfer).
    pub rewrapped_by: Option<DeviceId>,
}

/// What one device has of one conversation: per author device, the highest
/// sequence number below which it has every entry (`next` = count).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    /// The conversation.
    pub conversation: ConversationId,
    /// `(author device, number of contiguous entries held from seq 0)`.
    pub have: Vec<(DeviceId, u64)>,
}

/// The frames of `kith/sync/1`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyncMessage {
    /// Sent on every (re)connection: what I have of the conversations we
    /// share. A shared conversation without a summary is one I have
    /// nothing of.
    Hello {
        /// One summary per shared conversation.
        summaries: Vec<Summary>,
    },
    /// Entries whose bodies I cannot open: my own devices answer with
    /// copies re-encrypted for me, any other member device with the
    /// author's original fan-out if it holds one with an envelope for me.
    WantBodies {
        /// The entries.
        entries: Vec<(ConversationId, EntryHash)>,
    },
    /// Entries, oldest first.
    Entries {
        /// The conversation.
        conversation: ConversationId,
        /// The entries.
        entries: Vec<WireEntry>,
    },
    /// The peer is not served (not a member device, or malformed input).
    Refused {
        /// Why, for logs and the user.
        reason: String,
    },
    /// Device logs and address announcements (see [`crate::Directory`]):
    /// sent on every connection and when they change.
    Directory(crate::Directory),
    /// An empty message on the pairwise session, from a device that opened
    /// a pre-key envelope of the recipient's: the recipient's next messages
    /// take a ratchet step made after it instead of repeating the X3DH
    /// start (which a holder of the signed prekey could open).
    SessionAck {
        /// The message (its plaintext is empty).
        message: crate::SessionMessage,
    },
    /// A one-time prekey for the recipient to start its session with the
    /// sender: handed out over a live connection when the sender has no
    /// session with the recipient (the X3DH then also needs a key erased
    /// once used).
    OneTimePrekey {
        /// Its id, named by the pre-key message that uses it.
        id: u32,
        /// Its public key.
        key: crate::DhKey,
    },
}

impl SyncMessage {
    /// Checks counts and sizes a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        match self {
            Self::WantBodies { entries } => {
                if entries.len() > limits::MAX_MISSING_BODIES {
                    return Err(WireError::Limit("too many bodies asked for"));
                }
            }
            Self::Hello { summaries } => {
                if summaries.len() > limits::MAX_SUMMARIES
                    || summaries
                        .iter()
                        .any(|s| s.have.len() > limits::MAX_FANOUT_DEVICES)
                {
                    return Err(WireError::Limit("hello too large"));
                }
            }
            Self::Entries { entries, .. } => {
                if entries.len() > limits::MAX_ENTRIES_PER_FRAME {
                    return Err(WireError::Limit("too many entries in a frame"));
                }
                for e in entries {
                    if let Some(body) = &e.body {
                        body.check_limits()?;
                    }
                }
            }
            Self::Refused { reason } => {
                if reason.len() > 256 {
                    return Err(WireError::Limit("reason too long"));
                }
            }
            Self::Directory(directory) => directory.check_limits()?,
            Self::SessionAck { message } => message.check_limits()?,
            Self::OneTimePrekey { .. } => {}
        }
        Ok(())
    }
}
