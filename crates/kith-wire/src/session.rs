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

/// A message under its author device's sender-key chain in a group: one
/// ciphertext every holder of the chain opens (`docs/groups.md` §7).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SenderKeyMessage {
    /// The chain (the author device's, named in its distribution).
    pub chain: u32,
    /// The message's position in the chain, from 0.
    pub iteration: u32,
    /// `nonce (24) || XChaCha20-Poly1305 ciphertext || tag (16)`.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}

/// A public room's message: one ciphertext every holder of the room's
/// link key opens (`docs/groups.md` §8). No forward secrecy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomMessage {
    /// `nonce (24) || XChaCha20-Poly1305 ciphertext || tag (16)`, under
    /// the room's body key.
    #[serde(with = "serde_bytes")]
    pub ciphertext: Vec<u8>,
}

/// A message between devices: a session start, a plain ratchet message,
/// (in a large group) a message under the author's sender-key chain, or
/// (in a public room) a message under the room's key.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SessionMessage {
    /// Carries X3DH parameters.
    PreKey(PreKeyMessage),
    /// An established session.
    Ratchet(RatchetMessage),
    /// A group message under a sender-key chain (one envelope, whose
    /// `recipient` is the author device: whoever holds its chain opens it).
    SenderKey(SenderKeyMessage),
    /// A room message (one envelope, whose `recipient` is the author
    /// device: whoever holds the room's link key opens it).
    Room(RoomMessage),
}

impl SessionMessage {
    /// The ratchet message inside, if pairwise.
    pub fn ratchet(&self) -> Option<&RatchetMessage> {
        match self {
            Self::PreKey(p) => Some(&p.message),
            Self::Ratchet(m) => Some(m),
            Self::SenderKey(_) | Self::Room(_) => None,
        }
    }

    /// The ciphertext inside.
    pub fn ciphertext(&self) -> &[u8] {
        match self {
            Self::PreKey(p) => &p.message.ciphertext,
            Self::Ratchet(m) => &m.ciphertext,
            Self::SenderKey(m) => &m.ciphertext,
            Self::Room(m) => &m.ciphertext,
        }
    }

    /// Checks sizes a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        if self.ciphertext().len() > limits::MAX_SESSION_CIPHERTEXT {
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

/// More than an envelope's encoding adds to its ciphertext: recipient (32),
/// the X3DH fields (32 + 5 + 6), the ratchet header (32 + 5 + 5), tags and
/// length prefixes.
pub const ENVELOPE_OVERHEAD: usize = 128;

impl FanOut {
    /// Whether one of its envelopes is for `device` (a room body is for
    /// every device that holds the room's key).
    pub fn has_envelope_for(&self, device: &DeviceId) -> bool {
        self.room().is_some() || self.envelopes.iter().any(|e| e.recipient == *device)
    }

    /// The room message, if this is a room body (one envelope).
    pub fn room(&self) -> Option<&RoomMessage> {
        match self.only_message() {
            Some(SessionMessage::Room(m)) => Some(m),
            _ => None,
        }
    }

    /// The sender-key message, if this is a sender-key body (one
    /// envelope; a fan-out never mixes both kinds).
    pub fn sender_key(&self) -> Option<&SenderKeyMessage> {
        match self.only_message() {
            Some(SessionMessage::SenderKey(m)) => Some(m),
            _ => None,
        }
    }

    /// The message of a fan-out of one envelope.
    fn only_message(&self) -> Option<&SessionMessage> {
        match self.envelopes.as_slice() {
            [only] => Some(&only.message),
            _ => None,
        }
    }

    /// Checks counts and sizes a decoder cannot.
    pub fn check_limits(&self) -> Result<(), WireError> {
        let single = self
            .envelopes
            .iter()
            .filter(|e| {
                matches!(
                    e.message,
                    SessionMessage::SenderKey(_) | SessionMessage::Room(_)
                )
            })
            .count();
        if single > 0 && self.envelopes.len() > 1 {
            return Err(WireError::Limit(
                "a sender-key or room body has one envelope",
            ));
        }
        if self.envelopes.len() > limits::MAX_FANOUT_DEVICES {
            return Err(WireError::Limit("too many envelopes"));
        }
        self.envelopes
            .iter()
            .try_for_each(|e| e.message.check_limits())?;
        if self.encoded_bound() > limits::MAX_FANOUT_BYTES {
            return Err(WireError::Limit("fan-out too large"));
        }
        Ok(())
    }

    /// An upper bound of this fan-out's encoded size, without encoding it:
    /// per envelope its ciphertext plus [`ENVELOPE_OVERHEAD`].
    pub fn encoded_bound(&self) -> usize {
        self.envelopes
            .iter()
            .map(|e| e.message.ciphertext().len() + ENVELOPE_OVERHEAD)
            .fold(8, usize::saturating_add)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn the_encoded_bound_of_a_fan_out_is_an_upper_bound() {
        let envelope = |n: usize| Envelope {
            recipient: DeviceId([7; 32]),
            message: SessionMessage::PreKey(PreKeyMessage {
                base_key: DhKey([1; 32]),
                spk_id: u32::MAX,
                opk_id: Some(u32::MAX),
                message: RatchetMessage {
                    header: RatchetHeader {
                        dh: DhKey([2; 32]),
                        pn: u32::MAX,
                        n: u32::MAX,
                    },
                    ciphertext: vec![0; n],
                },
            }),
        };
        for sizes in [vec![], vec![0], vec![100, 65_000], vec![70_000; 5]] {
            let fan_out = FanOut {
                envelopes: sizes.iter().map(|n| envelope(*n)).collect(),
            };
            let real = crate::encoded_len(&fan_out).unwrap();
            assert!(real <= fan_out.encoded_bound(), "{real} > bound");
            assert_eq!(real, crate::encode(&fan_out).unwrap().len());
        }
    }
}
