//! The account device log: a signed, hash-linked DAG of entries that says
//! which devices make up an account. Validation rules live in
//! `kith-identity`; this module is the format.

use serde::{Deserialize, Serialize};

use crate::{AccountId, DeviceId, DhKey, EntryHash, Sig, Signed, TransportId, WireError, limits};

/// A device as published in its account's log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The device signing key (DSK) public half; also the device's id.
    pub device: DeviceId,
    /// The device identity key (DIK), X25519.
    pub identity_key: DhKey,
    /// The device's iroh endpoint id.
    pub transport: TransportId,
    /// A name for the device ("laptop"), at most [`limits::MAX_NAME_BYTES`].
    pub name: String,
    /// DSK signature (domain [`crate::domain::DEVICE_KEYS`]) over
    /// `encode(&(device, identity_key, transport))`.
    pub keys_signature: Sig,
}

/// A signed prekey (SPK) for X3DH, rotated from time to time.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignedPrekey {
    /// Increasing id chosen by the device.
    pub id: u32,
    /// The X25519 prekey.
    pub key: DhKey,
    /// When it was made (Unix milliseconds).
    pub created_at_ms: u64,
    /// DSK signature (domain [`crate::domain::PREKEY`]) over
    /// `encode(&(device, id, key, created_at_ms))`.
    pub signature: Sig,
}

/// Why a device was revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum RevokeReason {
    /// Retired by its owner (sold, replaced, reset).
    Retired,
    /// Lost or stolen.
    Lost,
    /// Suspected of being compromised.
    Compromised,
}

/// What a device-log entry does.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceOp {
    /// The first entry; its hash defines the [`AccountId`].
    Genesis {
        /// The first device.
        device: DeviceRecord,
        /// Its first signed prekey.
        prekey: SignedPrekey,
        /// Random bytes: two accounts are never the same.
        nonce: [u8; 16],
    },
    /// Adds a device; signed by an active device and countersigned by the new one.
    AddDevice {
        /// The new device.
        device: DeviceRecord,
        /// Its first signed prekey.
        prekey: SignedPrekey,
        /// The new device's DSK signature (domain
        /// [`crate::domain::DEVICE_JOIN`]) over `encode(&(account, device))`.
        countersignature: Sig,
    },
    /// Revokes a device. Its entries not in this entry's causal past are
    /// dropped; `cutoff` names the last of its own entries that stay valid.
    RevokeDevice {
        /// The device revoked.
        device: DeviceId,
        /// The highest sequence number of the revoked device's entries in this
        /// entry's causal past (`None` if it wrote none).
        cutoff: Option<u64>,
        /// Why.
        reason: RevokeReason,
    },
    /// Publishes a new signed prekey for the author.
    RotatePrekey {
        /// The new prekey.
        prekey: SignedPrekey,
    },
    /// Sets the account's display name.
    Profile {
        /// The display name, at most [`limits::MAX_NAME_BYTES`].
        name: String,
    },
    /// Declares the whole account compromised: contacts stop trusting it.
    AccountCompromised,
    /// The author's transport key proves it belongs to the author: an
    /// Ed25519 signature by the iroh endpoint key (domain
    /// [`crate::domain::TRANSPORT_BINDING`]) over `encode(&device)`. Without
    /// it any account could claim another device's endpoint id.
    ProveTransport {
        /// The transport key's signature.
        signature: Sig,
    },
}

/// One entry of the device log (the signed payload).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceLogEntry {
    /// The account; `None` only in the genesis entry.
    pub account: Option<AccountId>,
    /// The device that wrote (and signed) the entry.
    pub author: DeviceId,
    /// The author's own sequence number, from 0.
    pub seq: u64,
    /// Hash of the author's previous entry (`None` exactly when `seq` is 0).
    pub prev: Option<EntryHash>,
    /// The heads of the log the author had seen (causal parents).
    pub parents: Vec<EntryHash>,
    /// When it was written (Unix milliseconds; informative only).
    pub created_at_ms: u64,
    /// What it does.
    pub op: DeviceOp,
}

/// A signed device-log entry as stored and sent.
pub type SignedDeviceEntry = Signed<DeviceLogEntry>;

impl DeviceLogEntry {
    /// Checks the bounds a decoder cannot: counts and string lengths.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.parents.len() > limits::MAX_PARENTS {
            return Err(WireError::Limit("too many parents"));
        }
        match &self.op {
            DeviceOp::Genesis { device, .. } | DeviceOp::AddDevice { device, .. } => {
                limits::check_name(&device.name)
            }
            DeviceOp::Profile { name } => limits::check_name(name),
            _ => Ok(()),
        }
    }
}
