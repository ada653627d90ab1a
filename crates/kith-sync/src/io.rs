//! What goes into the engine ([`Input`]) and what comes out ([`Output`],
//! [`Event`]).

use kith_wire::{AccountId, AddressAnnouncement, ConversationId, DeviceId, EntryHash, SyncMessage};

use crate::error::SyncError;

/// Something that happened to this device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A connection to another device is up.
    Connected(DeviceId),
    /// A connection went down.
    Disconnected(DeviceId),
    /// A frame arrived.
    Received {
        /// The peer device (authenticated by the transport).
        from: DeviceId,
        /// The frame.
        message: SyncMessage,
    },
}

/// Something this device wants done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send a frame to a device.
    Send {
        /// The device.
        to: DeviceId,
        /// The frame.
        message: SyncMessage,
    },
    /// Tell the application.
    Event(Event),
}

/// What the application hears about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A new entry is in a conversation.
    NewEntry {
        /// The conversation.
        conversation: ConversationId,
        /// The entry.
        id: EntryHash,
    },
    /// The body of an entry already here became readable (it arrived
    /// after its header, or from another path).
    BodyArrived {
        /// The conversation.
        conversation: ConversationId,
        /// The entry.
        id: EntryHash,
    },
    /// Storage failed: nothing of the last input was acknowledged.
    StorageFailed(String),
    /// Something from a peer was refused.
    Refused {
        /// The peer.
        from: DeviceId,
        /// Why.
        reason: SyncError,
    },
    /// Device logs of these accounts changed (devices added or revoked, a
    /// new contact learned from another of this account's devices).
    DirectoryChanged {
        /// The accounts whose logs changed.
        accounts: Vec<AccountId>,
    },
    /// A device presented its account's device log older than one it had
    /// written before (restored from an old backup, cloned, or lying): the
    /// log now carries the rollback as compromise evidence.
    RolledBack {
        /// Its account.
        account: AccountId,
        /// The device.
        device: DeviceId,
    },
    /// Newer address announcements arrived.
    AddressesChanged(Vec<AddressAnnouncement>),
}

impl Output {
    /// What refusing a peer's frame outputs: `Refused` to the peer, and
    /// the event.
    pub(crate) fn refusal(from: DeviceId, reason: SyncError) -> [Self; 2] {
        [
            Self::Send {
                to: from,
                message: SyncMessage::Refused {
                    reason: reason.to_string(),
                },
            },
            Self::Event(Event::Refused { from, reason }),
        ]
    }
}
