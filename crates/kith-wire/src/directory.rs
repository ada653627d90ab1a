//! The device directory on the wire: device logs and signed address
//! announcements exchanged during sync, and the `kith/link/1` protocol that
//! redeems contact invites and links new devices. Semantics in
//! `docs/network.md`.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

use crate::{
    DeviceId, DeviceOp, EntryHash, InviteSecret, Signed, SignedDeviceEntry, TransportId, WireError,
    limits,
};

/// Where a device can be reached, signed by that device's DSK (domain
/// [`crate::domain::ADDRESS`]). The newest (`at_ms`) wins.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressAnnouncement {
    /// The device (its signing key signs this).
    pub device: DeviceId,
    /// Its iroh endpoint id.
    pub transport: TransportId,
    /// Direct addresses.
    pub addresses: Vec<SocketAddr>,
    /// Its home relay, if it uses one (a URL).
    pub relay: Option<String>,
    /// When it was made (Unix milliseconds).
    pub at_ms: u64,
}

/// A signed address announcement.
pub type SignedAnnouncement = Signed<AddressAnnouncement>;

/// Longest relay URL accepted.
pub const MAX_RELAY_URL_BYTES: usize = 256;

impl AddressAnnouncement {
    /// Checks the bounds a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.addresses.len() > limits::MAX_ADDRESSES {
            return Err(WireError::Limit("too many addresses"));
        }
        if self
            .relay
            .as_ref()
            .is_some_and(|r| r.len() > MAX_RELAY_URL_BYTES)
        {
            return Err(WireError::Limit("relay url too long"));
        }
        Ok(())
    }
}

/// Device logs (each a list of signed entries of one account) and address
/// announcements, as sent in [`crate::SyncMessage::Directory`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Directory {
    /// Device logs, one per account.
    pub logs: Vec<Vec<SignedDeviceEntry>>,
    /// Address announcements of devices of those accounts.
    pub addresses: Vec<SignedAnnouncement>,
    /// The heads of the sender's own account's device log as the sender
    /// holds it: a claim, judged once all are known (a device presenting
    /// heads older than what it wrote before was rolled back). Empty: no
    /// claim (more heads than [`MAX_DIRECTORY_HEADS`], say).
    pub heads: Vec<EntryHash>,
}

/// Most device logs in one directory frame.
pub const MAX_DIRECTORY_LOGS: usize = 1024;
/// Most heads claimed in one directory frame.
pub const MAX_DIRECTORY_HEADS: usize = 64;

impl Directory {
    /// Checks the bounds a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.logs.len() > MAX_DIRECTORY_LOGS
            || self
                .logs
                .iter()
                .any(|l| l.len() > limits::MAX_DEVICE_LOG_ENTRIES)
        {
            return Err(WireError::Limit("directory too large"));
        }
        if self.heads.len() > MAX_DIRECTORY_HEADS {
            return Err(WireError::Limit("too many heads"));
        }
        if self.addresses.len() > limits::MAX_FANOUT_DEVICES {
            return Err(WireError::Limit("too many address announcements"));
        }
        Ok(())
    }
}

/// Frames of `kith/link/1`. The dialer proves it holds the one-time secret
/// of an invite (contact) or link request (new device) that the listener
/// made; see `docs/network.md` for the exchanges.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkMessage {
    /// Dialer → listener: the secret from the invite, the dialer's account
    /// device log, and where the dialer can be reached.
    Redeem {
        /// The invite's one-time secret.
        secret: InviteSecret,
        /// The dialer's account device log.
        log: Vec<SignedDeviceEntry>,
        /// The dialer's address announcement.
        announcement: Option<SignedAnnouncement>,
    },
    /// Listener → dialer (contact invite): the listener's account device log;
    /// both sides now know each other as contacts.
    Contact {
        /// The listener's account device log.
        log: Vec<SignedDeviceEntry>,
        /// The listener's address announcement.
        announcement: Option<SignedAnnouncement>,
    },
    /// Listener → dialer (link request): the new device's add-device
    /// operation for the dialer's account (record, prekey, countersignature).
    Join {
        /// The operation to append (boxed: it is much larger than the others).
        op: Box<DeviceOp>,
    },
    /// Dialer → listener (link request): the account's device log, now with
    /// the new device in it.
    Joined {
        /// The account device log.
        log: Vec<SignedDeviceEntry>,
    },
    /// Either side: no.
    Refused {
        /// Why, for people.
        reason: String,
    },
}

/// Largest `kith/link/1` frame.
pub const MAX_LINK_FRAME_BYTES: usize = 4 << 20;

impl LinkMessage {
    /// Checks the bounds a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        match self {
            Self::Redeem { log, .. } | Self::Contact { log, .. } | Self::Joined { log }
                if log.len() > limits::MAX_DEVICE_LOG_ENTRIES =>
            {
                Err(WireError::Limit("device log too long"))
            }
            Self::Refused { reason } if reason.len() > 256 => {
                Err(WireError::Limit("reason too long"))
            }
            _ => Ok(()),
        }
    }
}
