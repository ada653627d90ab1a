//! Integration tests of `kith-session`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod fanout;
mod prekeys;
mod property;
mod ratchet;
mod sender_keys;

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::{LocalDevice, MemoryStore, RemoteDevice, Sessions};
use kith_wire::{AccountId, SessionMessage};

/// A device: its keys, its sessions, and how others see it.
pub struct Device {
    /// Its account.
    pub account: AccountId,
    /// Its keys.
    pub keys: DeviceKeys,
    /// Its sessions.
    pub sessions: Sessions<MemoryStore>,
}

impl Device {
    /// As a local device.
    pub fn local(&self) -> LocalDevice<'_> {
        LocalDevice {
            account: self.account,
            keys: &self.keys,
        }
    }

    /// As others see it (from its account's log).
    pub fn remote(&self) -> RemoteDevice {
        RemoteDevice {
            account: self.account,
            device: self.keys.device_id(),
            identity_key: self.keys.record().unwrap().identity_key,
            prekey: self.keys.current_prekey().unwrap().public().clone(),
            one_time_prekey: None,
        }
    }

    /// Encrypts for a remote description (which may be doctored).
    pub fn encrypt_to(
        &mut self,
        to: &RemoteDevice,
        text: &[u8],
    ) -> kith_session::Result<SessionMessage> {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions.encrypt(&local, to, text)
    }

    /// Fans a message out to `to`.
    pub fn fan_out(&mut self, to: &[RemoteDevice], text: &[u8]) -> kith_session::FanOutResult {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions.fan_out(&local, to, text)
    }

    /// Opens this device's envelope.
    pub fn open(
        &mut self,
        from: &RemoteDevice,
        fan_out: &kith_wire::FanOut,
    ) -> kith_session::Result<Vec<u8>> {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions
            .open(&local, from, fan_out, 1_000)
            .map(|p| p.expose().to_vec())
    }

    /// Forgets its sessions with `peer` (as after a revocation).
    pub fn forget(&mut self, peer: &kith_wire::DeviceId) {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions.forget(&local, peer).unwrap();
    }

    /// The one-time prekey this device hands `peer` while connected.
    pub fn offer_for(&mut self, peer: &kith_wire::DeviceId) -> (u32, kith_wire::DhKey) {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions.one_time_prekey_for(&local, peer).unwrap()
    }

    /// Encrypts for `to`.
    pub fn send(&mut self, to: &Device, text: &[u8]) -> SessionMessage {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions.encrypt(&local, &to.remote(), text).unwrap()
    }

    /// Decrypts a message from `from`.
    pub fn receive(
        &mut self,
        from: &Device,
        message: &SessionMessage,
    ) -> kith_session::Result<Vec<u8>> {
        let local = LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        self.sessions
            .decrypt(&local, &from.remote(), message, 1_000)
            .map(|p| p.expose().to_vec())
    }

    /// The exported session record with `peer` (to compare states).
    pub fn record_bytes(&self, peer: &Device) -> Option<Vec<u8>> {
        use kith_session::SessionStore;
        self.sessions
            .store()
            .load_session(&peer.keys.device_id())
            .unwrap()
            .map(|r| r.export().unwrap().expose().to_vec())
    }
}

/// An account with `n` devices (linked through its device log).
pub fn account(name: &str, n: usize) -> Vec<Device> {
    let first = DeviceKeys::generate(&format!("{name}-0"), 0).unwrap();
    let mut log = DeviceLog::create(&first, name, 0).unwrap();
    let mut keys = vec![first];
    for i in 1..n {
        let new = DeviceKeys::generate(&format!("{name}-{i}"), 0).unwrap();
        log.append(&keys[0], new.join_op(&log.account_id()).unwrap(), 0)
            .unwrap();
        keys.push(new);
    }
    let account = log.account_id();
    keys.into_iter()
        .map(|keys| Device {
            account,
            keys,
            sessions: Sessions::new(MemoryStore::default()),
        })
        .collect()
}

/// One device of a one-device account.
pub fn device(name: &str) -> Device {
    account(name, 1).pop().unwrap()
}
