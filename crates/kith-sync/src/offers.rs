//! One-time prekeys over live connections. A device hands each connected
//! device it has no session with the one-time prekey it holds for it
//! (`Sessions::one_time_prekey_for`: the same one until used), and a device
//! starting a session with a device that handed it one uses it: the first
//! messages then also need a key the reader erases once it opened them, so
//! a thief who later holds the reader's identity key and signed prekey
//! cannot open them.

use kith_session::RemoteDevice;
use kith_wire::{DeviceId, DhKey, SyncMessage};

use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

/// Most one-time prekeys remembered as used (to ignore them offered again;
/// a new one from the same device, after a lost session, is taken).
const MAX_USED: usize = 1024;

impl<S: Storage> Replica<S> {
    /// The one-time prekey for a device that just connected, if this device
    /// has no session with it.
    pub(crate) fn offer_prekey(&mut self, peer: &DeviceId) -> Vec<Output> {
        let no_session = !self.sessions.has_session(peer).unwrap_or(true);
        if !no_session || !self.is_active_device(peer) {
            return Vec::new();
        }
        let local = kith_session::LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        match self.sessions.one_time_prekey_for(&local, peer) {
            Ok((id, key)) => vec![Output::Send {
                to: *peer,
                message: SyncMessage::OneTimePrekey { id, key },
            }],
            Err(_) => Vec::new(),
        }
    }

    /// Keeps a one-time prekey `from` handed out, to start a session with it.
    pub(crate) fn receive_offer(&mut self, from: DeviceId, id: u32, key: DhKey) {
        let has_session = self.sessions.has_session(&from).unwrap_or(true);
        if !has_session && !self.used_offers.contains(&(from, key)) {
            self.offers.insert(from, (id, key));
        }
    }

    /// `devices` with the one-time prekeys they handed out.
    pub(crate) fn with_offers(&self, devices: &[RemoteDevice]) -> Vec<RemoteDevice> {
        devices
            .iter()
            .map(|d| RemoteDevice {
                one_time_prekey: self.offers.get(&d.device).copied(),
                ..d.clone()
            })
            .collect()
    }

    /// Drops the offers of `devices` that now have a session (used, or not
    /// needed): each is used once.
    pub(crate) fn spend_offers(&mut self, devices: &[RemoteDevice]) {
        for d in devices {
            let Some(&(_, key)) = self.offers.get(&d.device) else {
                continue;
            };
            if self.sessions.has_session(&d.device).unwrap_or(false) {
                self.offers.remove(&d.device);
                if self.used_offers.len() < MAX_USED {
                    self.used_offers.insert((d.device, key));
                }
            }
        }
    }
}
