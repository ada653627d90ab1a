//! The directory: device logs of this account and its contacts, who is an
//! active device of which account, address announcements, and the
//! `Directory` frames that carry them.

use kith_crypto::sign::VerifyingKey;
use kith_identity::{DeviceLog, DeviceStatus};
use kith_session::RemoteDevice;
use kith_wire::{
    AccountId, AddressAnnouncement, DeviceId, Directory, SignedAnnouncement, SyncMessage, domain,
    limits,
};

use crate::conversation::Conversation;
use crate::error::{Result, SyncError};
use crate::frames::directory_frames;
use crate::io::{Event, Output};
use crate::replica::Replica;
use crate::storage::Storage;

/// Most device logs of strangers kept aside (`Replica::offered_logs`).
const MAX_OFFERED_LOGS: usize = 1024;

impl<S: Storage> Replica<S> {
    /// Accounts whose device logs are known (own and contacts).
    pub fn known_accounts(&self) -> Vec<AccountId> {
        self.logs.keys().copied().collect()
    }

    /// The active device whose iroh endpoint is `transport`, among known logs.
    ///
    /// One endpoint maps to at most one device: a device whose transport key
    /// proved the binding wins over mere claims (any account can claim
    /// another device's endpoint id); two unproven claims map to nobody.
    pub fn device_for_transport(&self, transport: &kith_wire::TransportId) -> Option<DeviceId> {
        let claims: Vec<&kith_identity::DeviceState> = self
            .logs
            .values()
            .flat_map(|log| log.state().active_devices())
            .filter(|d| d.record.transport == *transport)
            .collect();
        let proven: Vec<&kith_identity::DeviceState> = claims
            .iter()
            .copied()
            .filter(|d| d.transport_proven)
            .collect();
        match (proven.as_slice(), claims.as_slice()) {
            ([one], _) | ([], [one]) => Some(one.record.device),
            _ => None,
        }
    }

    /// Whether `account`'s log and another known log conflict over an
    /// endpoint: an unproven claim, in either of them, of an endpoint a
    /// device of the other proved is its own.
    pub(crate) fn endpoint_conflict(&self, account: &AccountId) -> bool {
        let Some(log) = self.logs.get(account) else {
            return false;
        };
        let squats = |claimer: &DeviceLog, owner: &DeviceLog| {
            claimer.state().active_devices().any(|c| {
                !c.transport_proven
                    && owner
                        .state()
                        .active_devices()
                        .any(|d| d.transport_proven && d.record.transport == c.record.transport)
            })
        };
        self.logs
            .iter()
            .filter(|(other, _)| *other != account)
            .any(|(_, other)| squats(log, other) || squats(other, log))
    }

    /// The device log of `account`, if known.
    pub fn device_log(&self, account: &AccountId) -> Option<&DeviceLog> {
        self.logs.get(account)
    }

    /// Adds or updates a device log (a contact's, or this account's own).
    pub fn update_log(&mut self, log: DeviceLog) {
        match self.logs.get_mut(&log.account_id()) {
            Some(existing) => {
                existing.merge(log.entries().cloned());
            }
            None => {
                self.logs.insert(log.account_id(), log);
            }
        }
        self.forget_revoked();
    }

    /// Drops the sessions with revoked devices: nothing new is encrypted
    /// for them, and their keys are gone from this device.
    pub(crate) fn forget_revoked(&mut self) {
        self.verified_keys.clear();
        let revoked: Vec<DeviceId> = self
            .logs
            .values()
            .flat_map(|log| {
                log.state()
                    .devices
                    .values()
                    .filter(|d| d.status != DeviceStatus::Active)
                    .map(|d| d.record.device)
                    .collect::<Vec<_>>()
            })
            .collect();
        let local = kith_session::LocalDevice {
            account: self.account,
            keys: &self.keys,
        };
        for device in revoked {
            if self.sessions.has_session(&device).unwrap_or(false) {
                let _ = self.sessions.forget(&local, &device);
            }
        }
    }

    /// The account `device` is an active device of, among known logs.
    /// The account `device` was a device of, if a known log has it but no
    /// longer as active.
    pub(crate) fn revoked_account_of(&self, device: &DeviceId) -> Option<AccountId> {
        self.logs
            .iter()
            .find(|(_, log)| {
                log.state().devices.contains_key(device) && !log.state().is_active(device)
            })
            .map(|(a, _)| *a)
    }

    /// The device whose iroh endpoint is `transport` among every device a
    /// known log has, active first, then revoked ones (which may still
    /// bring device-log entries; see [`Replica::handle`]).
    pub fn peer_for_transport(&self, transport: &kith_wire::TransportId) -> Option<DeviceId> {
        self.device_for_transport(transport).or_else(|| {
            self.logs.values().find_map(|log| {
                log.state()
                    .devices
                    .values()
                    .find(|d| d.status != DeviceStatus::Active && d.record.transport == *transport)
                    .map(|d| d.record.device)
            })
        })
    }

    /// Whether `device` is an active device of a known log.
    pub fn is_active_device(&self, device: &DeviceId) -> bool {
        self.account_of(device).is_some()
    }

    pub(crate) fn account_of(&self, device: &DeviceId) -> Option<AccountId> {
        self.logs
            .iter()
            .find(|(_, log)| log.state().is_active(device))
            .map(|(a, _)| *a)
    }

    pub(crate) fn remote(&self, device: &DeviceId) -> Option<RemoteDevice> {
        self.logs.iter().find_map(|(account, log)| {
            let state = log.state().devices.get(device)?;
            log.state()
                .is_active(device)
                .then(|| RemoteDevice::from_log(*account, state))
        })
    }

    /// Any device a known log ever added, revoked or not: for opening bodies
    /// of stored entries (from active devices, or vouched for).
    pub(crate) fn remote_any(&self, device: &DeviceId) -> Option<RemoteDevice> {
        self.logs.iter().find_map(|(account, log)| {
            log.state()
                .devices
                .get(device)
                .map(|state| RemoteDevice::from_log(*account, state))
        })
    }

    /// The active devices of `account` other than this one.
    pub(crate) fn devices_of(&self, account: &AccountId) -> Vec<RemoteDevice> {
        let me = self.device_id();
        self.logs
            .get(account)
            .map(|log| {
                log.state()
                    .active_devices()
                    .filter(|d| d.record.device != me)
                    .map(|d| RemoteDevice::from_log(*account, d))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The active devices a new entry of `conversation` is encrypted to (its
    /// kind decides whose), except this one.
    pub(crate) fn recipient_devices(&self, conversation: &Conversation) -> Vec<RemoteDevice> {
        let me = self.device_id();
        conversation
            .recipients()
            .iter()
            .filter_map(|account| self.logs.get(account).map(|log| (account, log)))
            .flat_map(|(account, log)| {
                log.state()
                    .active_devices()
                    .filter(|d| d.record.device != me)
                    .map(|d| RemoteDevice::from_log(*account, d))
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// What `peer` may learn of the directory: this account's device log and
    /// its devices' addresses, and those of the members of groups the peer
    /// is in with this account (so members who are not each other's
    /// contacts can check and reach each other); this account's own devices
    /// get everything (contacts' logs and addresses too).
    pub(crate) fn directory_for(&self, peer: &DeviceId) -> Option<Directory> {
        let Some(account) = self.account_of(peer) else {
            // A device believed revoked learns this account's log (and so
            // where it stands), nothing else.
            self.revoked_account_of(peer)?;
            let log = self.logs.get(&self.account)?;
            return Some(Directory {
                logs: vec![log.entries().cloned().collect()],
                addresses: Vec::new(),
                heads: Vec::new(),
            });
        };
        let own = account == self.account;
        let shown = |a: &AccountId| own || *a == self.account || self.co_member(a, &account);
        let logs = self
            .logs
            .iter()
            .filter(|(a, _)| shown(a))
            .map(|(_, log)| log.entries().cloned().collect())
            .take(kith_wire::MAX_DIRECTORY_LOGS)
            .collect();
        let own_devices = self.logs.get(&self.account);
        let addresses = self
            .addresses
            .iter()
            .filter(|(device, _)| {
                own || own_devices.is_some_and(|l| l.state().is_active(device))
                    || self.account_of(device).is_some_and(|a| shown(&a))
            })
            .map(|(_, (_, signed))| signed.clone())
            .take(limits::MAX_FANOUT_DEVICES)
            .collect();
        // What this device holds of its own log: a claim the peer can judge
        // (none if too many heads to name).
        let heads = own_devices
            .map(|l| l.state().heads.clone())
            .filter(|h| h.len() <= kith_wire::MAX_DIRECTORY_HEADS)
            .unwrap_or_default();
        Some(Directory {
            logs,
            addresses,
            heads,
        })
    }

    pub(crate) fn directory_to(&self, peer: &DeviceId) -> Vec<Output> {
        self.directory_for(peer)
            .map(directory_frames)
            .unwrap_or_default()
            .into_iter()
            .map(|directory| Output::Send {
                to: *peer,
                message: SyncMessage::Directory(directory),
            })
            .collect()
    }

    /// Sends the directory to every connected device (after this account's
    /// device log or addresses changed).
    pub fn publish_directory(&self) -> Vec<Output> {
        self.connected
            .iter()
            .flat_map(|peer| self.directory_to(peer))
            .collect()
    }

    /// The directory of a device believed revoked: its entries merge into
    /// logs already known (they prove themselves); no new contact and no
    /// address is taken from it.
    pub(crate) fn receive_revoked_directory(
        &mut self,
        from: DeviceId,
        directory: Directory,
    ) -> Vec<Output> {
        let logs = Directory {
            logs: directory.logs,
            ..Directory::default()
        };
        self.merge_directory(from, logs, false)
    }

    pub(crate) fn receive_directory(
        &mut self,
        from: DeviceId,
        peer_account: AccountId,
        directory: Directory,
        _now_ms: u64,
    ) -> Vec<Output> {
        let from_own = peer_account == self.account;
        let heads = directory.heads.clone();
        let mut outputs = self.merge_directory(from, directory, from_own);
        outputs.extend(self.judge_heads(from, peer_account, &heads));
        outputs
    }

    /// Judges the heads `from` claims for its own account's log against its
    /// newest entry this device knew when the connection began (a later one
    /// may overtake the claim by another path): older ones mean its log was
    /// rolled back.
    fn judge_heads(
        &mut self,
        from: DeviceId,
        account: AccountId,
        heads: &[kith_wire::EntryHash],
    ) -> Vec<Output> {
        let known = self.known_at_connect.get(&from).copied();
        let Some(log) = self.logs.get_mut(&account).filter(|_| !heads.is_empty()) else {
            return Vec::new();
        };
        let held = log.state().compromise.len();
        let judged = log.observe_heads_since(&from, heads, known);
        // Reported once: the same claim again is no new evidence.
        match judged {
            Err(_) if log.state().compromise.len() > held => vec![
                Output::Event(Event::RolledBack {
                    account,
                    device: from,
                }),
                Output::Event(Event::DirectoryChanged {
                    accounts: vec![account],
                }),
            ],
            _ => Vec::new(),
        }
    }

    /// Merges a directory; `new_contacts`: accounts not known yet are
    /// taken too (from this account's own active devices).
    fn merge_directory(
        &mut self,
        from: DeviceId,
        directory: Directory,
        new_contacts: bool,
    ) -> Vec<Output> {
        let mut changed = Vec::new();
        let mut asked = Vec::new();
        for entries in directory.logs {
            // The genesis names the account; a later piece of a log too
            // large for one frame names it in its entries (the log's own
            // checks refuse entries of another account).
            let Some(account) = entries.iter().find_map(|e| {
                let entry: kith_wire::DeviceLogEntry = e.peek(limits::MAX_ENTRY_BYTES).ok()?;
                match entry.account {
                    Some(account) => Some(account),
                    None => kith_identity::device_log::account_id_of(e).ok(),
                }
            }) else {
                continue;
            };
            let co_member =
                !self.logs.contains_key(&account) && self.co_member_of_sender(&account, &from);
            match self.logs.get_mut(&account) {
                Some(log) => {
                    let added = log.merge(entries).added;
                    if added > 0 {
                        changed.push(account);
                    }
                }
                // A contact another of this account's devices knows, or a
                // member of a group the sender is in with this account.
                None if new_contacts || co_member => {
                    if let Ok(log) = DeviceLog::from_entries(entries) {
                        self.logs.insert(account, log);
                        changed.push(account);
                    }
                }
                // Perhaps a member of a group not known here yet (its log
                // comes next): kept aside until a membership names it.
                None => {
                    if let Ok(log) = DeviceLog::from_entries(entries)
                        && self.offered_logs.len() < MAX_OFFERED_LOGS
                    {
                        self.offered_logs.insert(account, log);
                        asked.extend(self.ask_again_for_joiner(&account));
                    }
                }
            }
        }
        let mut outputs = asked;
        if !changed.is_empty() {
            self.forget_revoked();
            outputs.push(Output::Event(Event::DirectoryChanged {
                accounts: changed.clone(),
            }));
            // Claims of endpoints other devices proved are theirs: refused
            // (they map to nobody) and reported.
            if changed.iter().any(|a| self.endpoint_conflict(a)) {
                outputs.push(Output::Event(Event::Refused {
                    from,
                    reason: SyncError::InvalidEntry(
                        "a device log claims an endpoint another device proved is its own",
                    ),
                }));
            }
        }
        let mut fresh = Vec::new();
        for signed in directory.addresses {
            if let Ok(Some(announcement)) = self.add_announcement(signed) {
                fresh.push(announcement);
            }
        }
        let addresses_changed = !fresh.is_empty();
        if addresses_changed {
            outputs.push(Output::Event(Event::AddressesChanged(fresh)));
        }
        if !changed.is_empty() || addresses_changed {
            // Pass news on; it stops where nothing is new.
            for peer in self.connected.iter().filter(|p| **p != from) {
                outputs.extend(self.directory_to(peer));
            }
        }
        outputs
    }

    /// Takes a signed address announcement of a known device if it is valid
    /// and newer than the one held; returns it when it was taken.
    pub fn add_announcement(
        &mut self,
        signed: SignedAnnouncement,
    ) -> Result<Option<AddressAnnouncement>> {
        let announcement: AddressAnnouncement = signed.peek(limits::MAX_ENTRY_BYTES)?;
        announcement.check_limits()?;
        let record = self
            .logs
            .values()
            .find_map(|log| log.state().devices.get(&announcement.device))
            .ok_or(SyncError::InvalidEntry("announcement of an unknown device"))?;
        if record.record.transport != announcement.transport {
            return Err(SyncError::InvalidEntry("announcement for another endpoint"));
        }
        signed.verify(domain::ADDRESS, &announcement.device)?;
        if self
            .addresses
            .get(&announcement.device)
            .is_some_and(|(held, _)| held.at_ms >= announcement.at_ms)
        {
            return Ok(None);
        }
        self.addresses
            .insert(announcement.device, (announcement.clone(), signed));
        Ok(Some(announcement))
    }

    /// The newest address announcement of every known device.
    pub fn announcements(
        &self,
    ) -> impl Iterator<Item = (&AddressAnnouncement, &SignedAnnouncement)> {
        self.addresses.values().map(|(a, s)| (a, s))
    }

    /// The validated signing key of a device (validated once, then cached).
    pub(crate) fn verifying_key(&mut self, device: &DeviceId) -> Result<VerifyingKey> {
        if let Some(key) = self.verified_keys.get(device) {
            return Ok(*key);
        }
        let key = VerifyingKey::from_bytes(device.as_bytes())?;
        if self.verified_keys.len() >= 65_536 {
            self.verified_keys.clear();
        }
        self.verified_keys.insert(*device, key);
        Ok(key)
    }
}
