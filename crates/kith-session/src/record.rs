//! Everything one device keeps about its sessions with one remote device.

use kith_crypto::SecretVec;
use kith_wire::{DhKey, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::ratchet::{RatchetSnapshot, RatchetState};

/// Sessions kept per remote device: the current one and a few previous
/// ones, so messages in flight across a session change still decrypt.
pub const MAX_SESSIONS_PER_DEVICE: usize = 5;
/// Largest exported record.
const MAX_RECORD_BYTES: usize = 1 << 20;

/// X3DH parameters repeated on every message until the responder answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPreKey {
    /// The initiator's ephemeral key.
    pub base_key: DhKey,
    /// The responder's signed prekey id.
    pub spk_id: u32,
    /// The responder's one-time prekey id, if any.
    pub opk_id: Option<u32>,
}

/// One session (one X3DH run) with a remote device.
#[derive(Debug)]
pub struct SessionState {
    /// The ratchet.
    pub ratchet: RatchetState,
    /// Associated data: both parties' accounts, devices and identity keys.
    pub ad: Vec<u8>,
    /// Set on the initiator until the first answer arrives.
    pub pending: Option<PendingPreKey>,
    /// On the responder: the initiator's base key, to recognise further
    /// pre-key messages of this same session.
    pub remote_base_key: Option<DhKey>,
}

impl SessionState {
    fn duplicate(&self) -> Self {
        Self {
            ratchet: self.ratchet.duplicate(),
            ad: self.ad.clone(),
            pending: self.pending,
            remote_base_key: self.remote_base_key,
        }
    }
}

/// All sessions with one remote device, newest first.
#[derive(Debug, Default)]
pub struct SessionRecord {
    states: Vec<SessionState>,
}

#[derive(Serialize, Deserialize)]
struct StateSnapshot {
    ratchet: RatchetSnapshot,
    ad: Vec<u8>,
    pending: Option<PendingPreKey>,
    remote_base_key: Option<DhKey>,
}

impl SessionRecord {
    /// The current session.
    pub fn current(&self) -> Option<&SessionState> {
        self.states.first()
    }

    /// The current session, writable.
    pub fn current_mut(&mut self) -> Option<&mut SessionState> {
        self.states.first_mut()
    }

    /// All sessions, newest first.
    pub fn states(&self) -> &[SessionState] {
        &self.states
    }

    /// Makes `state` current, keeping a few older ones.
    pub fn promote(&mut self, state: SessionState) {
        self.states.insert(0, state);
        self.states.truncate(MAX_SESSIONS_PER_DEVICE);
    }

    /// Removes and returns session `index`.
    pub fn take(&mut self, index: usize) -> Option<SessionState> {
        (index < self.states.len()).then(|| self.states.remove(index))
    }

    /// Puts a session back at `index` (after a failed attempt).
    pub fn insert_at(&mut self, index: usize, state: SessionState) {
        let index = index.min(self.states.len());
        self.states.insert(index, state);
    }

    /// The session that answers to the initiator base key `base_key`.
    pub fn position_of_base_key(&self, base_key: &DhKey) -> Option<usize> {
        self.states
            .iter()
            .position(|s| s.remote_base_key.as_ref() == Some(base_key))
    }

    /// An explicit deep copy.
    pub fn duplicate(&self) -> Self {
        Self {
            states: self.states.iter().map(SessionState::duplicate).collect(),
        }
    }

    /// The record as bytes for the store (contains secrets: the store must
    /// encrypt it).
    pub fn export(&self) -> Result<SecretVec> {
        let snapshots: Vec<StateSnapshot> = self
            .states
            .iter()
            .map(|s| StateSnapshot {
                ratchet: s.ratchet.snapshot(),
                ad: s.ad.clone(),
                pending: s.pending,
                remote_base_key: s.remote_base_key,
            })
            .collect();
        Ok(SecretVec::from_vec(encode(&snapshots)?))
    }

    /// Reads a record exported by [`SessionRecord::export`].
    pub fn import(bytes: &[u8]) -> Result<Self> {
        let snapshots: Vec<StateSnapshot> = decode(bytes, MAX_RECORD_BYTES)?;
        let states = snapshots
            .iter()
            .map(|s| {
                Ok(SessionState {
                    ratchet: RatchetState::restore(&s.ratchet)?,
                    ad: s.ad.clone(),
                    pending: s.pending,
                    remote_base_key: s.remote_base_key,
                })
            })
            .collect::<Result<_>>()?;
        Ok(Self { states })
    }
}
