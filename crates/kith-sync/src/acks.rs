//! Answers that take sessions off their X3DH start. A device that only
//! receives from another (my phone reading what my laptop writes) never
//! encrypts for it, so the writer would send pre-key messages forever, all
//! on the first chain: whoever later holds the reader's signed prekey and
//! identity key could open every one of them. A device that opens a
//! pre-key envelope therefore answers its sender with an empty
//! [`SyncMessage::SessionAck`] as soon as they are connected; the sender's
//! next messages then take a ratchet step made after it.

use kith_session::{LocalDevice, SessionError};
use kith_wire::{DeviceId, SessionMessage, SyncMessage};

use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

/// Most devices owed an answer (beyond, new ones are not noted; a device
/// owed one is answered, and forgotten, when it connects).
const MAX_ACKS_DUE: usize = 1024;

impl<S: Storage> Replica<S> {
    /// Notes that `sender`'s pre-key envelope opened here.
    pub(crate) fn ack_due(&mut self, sender: DeviceId, message: &SessionMessage) {
        if matches!(message, SessionMessage::PreKey(_)) && self.acks_due.len() < MAX_ACKS_DUE {
            self.acks_due.insert(sender);
        }
    }

    /// Answers the connected devices owed one.
    pub(crate) fn send_acks(&mut self) -> Vec<Output> {
        let due: Vec<DeviceId> = self
            .acks_due
            .iter()
            .filter(|d| self.connected.contains(d))
            .copied()
            .collect();
        let mut outputs = Vec::new();
        for device in due {
            self.acks_due.remove(&device);
            let Some(to) = self
                .remote_any(&device)
                .filter(|_| self.is_active_device(&device))
            else {
                continue;
            };
            let local = LocalDevice {
                account: self.account,
                keys: &self.keys,
            };
            if let Ok(message) = self.sessions.encrypt(&local, &to, &[]) {
                outputs.push(Output::Send {
                    to: device,
                    message: SyncMessage::SessionAck { message },
                });
            }
        }
        outputs
    }

    /// Takes an answer: the session it opens becomes current and stops
    /// sending pre-key messages. It carries nothing else.
    pub(crate) fn receive_ack(
        &mut self,
        from: DeviceId,
        message: &SessionMessage,
        now_ms: u64,
    ) -> Result<(), SessionError> {
        let from = self.remote_any(&from).ok_or(SessionError::NoSession)?;
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions
            .decrypt_if(&local, &from, message, now_ms, <[u8]>::is_empty)
            .map(|_| ())
    }
}
