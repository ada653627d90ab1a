//! Pairwise session messages: the Double Ratchet and its X3DH start.
//! Semantics in `docs/sessions.md`.

use serde::{Deserialize, Serialize};

use crate::{DeviceId, DhKey, WireError, limits};

/// The header of a Double-Ratchet message (sent in the clear, authenticated).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatchetHeader {
    /// The sender's current ratchet public key.
    pub dh: DhKey,
    /// Number of messages in the sender's previous sending chain.
    pub pn: u32,
    /// Number of this message in the current sending chain.
    pub n: u32,
}

/// A Double-Ratchet message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RatchetMessage {
    /// The header.
    pub header: RatchetHeader,
    /// `nonce (24) || XChaCha20-Poly1305 ciphertext || tag (16)`.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}

/// The first messages of a session, until the responder answers: the X3DH
/// parameters plus a ratchet message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PreKeyMessage {
    /// The initiator's ephemeral X3DH key.
    pub base_key: DhKey,
    /// The responder's signed prekey used.
    pub spk_id: u32,
    /// The responder's one-time prekey used, if one was handed out.
    pub opk_id: Option<u32>,
    /// The message.
    pub message: RatchetMessage,
}

/// A pairwise message: a session start or a plain ratchet message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionMessage {
    /// Carries X3DH parameters.
    PreKey(PreKeyMessage),
    /// An established session.
    Ratchet(RatchetMessage),
}

impl SessionMessage {
    /// The ratchet message inside.
    pub fn ratchet(&self) -> &RatchetMessage {
        match self {
            Self::PreKey(p) => &p.message,
            Self::Ratchet(m) => m,
        }
    }

    /// Checks sizes a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.ratchet().ciphertext.len() > limits::MAX_SESSION_CIPHERTEXT {
            return Err(WireError::Limit("session ciphertext too long"));
        }
        Ok(())
    }
}

/// One recipient device's copy of a fanned-out message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    /// The device that can open it.
    pub recipient: DeviceId,
    /// Its pairwise message.
    pub message: SessionMessage,
}

/// A message encrypted for every device that should read it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FanOut {
    /// One envelope per recipient device.
    pub envelopes: Vec<Envelope>,
}

impl FanOut {
    /// Checks counts and sizes a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.envelopes.len() > limits::MAX_FANOUT_DEVICES {
            return Err(WireError::Limit("too many envelopes"));
        }
        self.envelopes
            .iter()
            .try_for_each(|e| e.message.check_limits())
    }
}
