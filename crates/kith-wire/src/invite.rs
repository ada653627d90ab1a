//! Invites (`kith:`) and device-link requests (`kith-link:`): what a QR code
//! or a link carries so that another device can reach this one.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{
    AccountId, ConversationId, DeviceId, DhKey, EntryHash, InviteSecret, RoomKey, TransportId,
    WireError, limits,
};

/// What an invite offers.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum InviteKind {
    /// "Add me as a contact": an account and where its device log stands.
    Contact {
        /// The inviting account.
        account: AccountId,
        /// Heads of its device log when the invite was made.
        heads: Vec<EntryHash>,
        /// The account's display name (unverified until the log is fetched).
        name: String,
    },
    /// "Add this new device to your account": the new device's keys.
    LinkDevice {
        /// The new device's identity key (DIK).
        identity_key: DhKey,
        /// The name the new device gives itself.
        name: String,
    },
    /// "Join this public room": its id, name and link key. The device is
    /// a member device that lets link holders in (the invite's secret is
    /// derived from the key, so every link to the room opens that door);
    /// the link does not expire.
    Room {
        /// The room.
        room: ConversationId,
        /// Its name when the link was made (unverified until its log is
        /// fetched).
        name: String,
        /// The room's link key.
        key: RoomKey,
    },
}

/// An invite or link request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invite {
    /// Contact invite or device link.
    pub kind: InviteKind,
    /// The device to connect to (its signing key).
    pub device: DeviceId,
    /// Its iroh endpoint id.
    pub transport: TransportId,
    /// Addresses where it was reachable when the invite was made.
    pub addresses: Vec<SocketAddr>,
    /// Authenticates the first connection; single use.
    pub secret: InviteSecret,
    /// Expiry (Unix seconds).
    pub expires_at: u64,
}

impl Invite {
    /// Checks the bounds a decoder cannot: counts and string lengths.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.addresses.len() > limits::MAX_ADDRESSES {
            return Err(WireError::Limit("too many addresses"));
        }
        match &self.kind {
            InviteKind::Contact { heads, name, .. } => {
                if heads.is_empty() || heads.len() > limits::MAX_INVITE_HEADS {
                    return Err(WireError::Limit("invite heads"));
                }
                limits::check_name(name)
            }
            InviteKind::LinkDevice { name, .. } | InviteKind::Room { name, .. } => {
                limits::check_name(name)
            }
        }
    }
}
