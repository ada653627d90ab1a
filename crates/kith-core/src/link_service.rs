//! The accepting side of `kith/link/1` on an existing device: a contact
//! redeems one of my invites. (The new device's side of device linking is
//! `join.rs`.)

use std::time::Duration;

use kith_identity::DeviceLog;
use kith_net::{LinkReply, LinkService};
use kith_wire::{
    Invite, InviteSecret, SelfRecord, SignedAnnouncement, SignedDeviceEntry, TransportId,
    TrustLevel,
};

use crate::node::{Node, now_ms, now_secs};
use crate::profile_table::invite_key;
use crate::views::NodeEvent;

impl LinkService for Node {
    async fn redeem(
        &self,
        remote: TransportId,
        secret: InviteSecret,
        log: Vec<SignedDeviceEntry>,
        announcement: Option<SignedAnnouncement>,
    ) -> Result<LinkReply, String> {
        // A room's door first: its secret opens it for anyone, every time.
        if let Some(room) = self.with(|r| r.room_for_door(&secret)).await {
            return self.open_door(room, remote, log, announcement).await;
        }
        let key = invite_key(&secret).map_err(|e| e.to_string())?;
        // Read and removed under one hold of the engine: single use even
        // when dialers race with the same secret.
        let stored = self
            .with(|r| {
                let stored = r.storage_mut().profile_get(&key)?;
                if stored.is_some() {
                    r.storage_mut().profile_write(&[(&key, None)])?;
                }
                Ok::<_, kith_store::StoreError>(stored)
            })
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "unknown or already used invite".to_owned())?;
        let invite: Invite =
            kith_wire::decode(stored.expose(), kith_wire::limits::MAX_INVITE_BYTES)
                .map_err(|_| "damaged invite".to_owned())?;
        if !kith_crypto::ct_eq(invite.secret.as_bytes(), secret.as_bytes()) {
            return Err("unknown or already used invite".into());
        }
        if invite.expires_at < now_secs() {
            return Err("the invite has expired".into());
        }
        let log = dialer_log(log, &remote)?;
        let account = log.account_id();
        let me = self.with(|r| r.account_id()).await;
        if account == me {
            return Err("that is this account's own invite".into());
        }
        self.learn_contact(log, announcement)
            .await
            .map_err(|e| e.to_string())?;
        if self.contact_info(&account).await.is_none() {
            self.act(|r| {
                let record = SelfRecord::Contact {
                    account,
                    alias: None,
                    trust: TrustLevel::Unvalidated,
                    reason: "accepted my invite".into(),
                };
                Ok(((), r.record(record, now_ms())?))
            })
            .await
            .map_err(|e| e.to_string())?;
            self.emit(NodeEvent::TrustChanged {
                contact_id: account.to_hex(),
                state: "unvalidated".into(),
            });
        }
        Ok(self.welcome(remote).await)
    }

    async fn joined(
        &self,
        _remote: TransportId,
        _log: Vec<SignedDeviceEntry>,
    ) -> Result<(), String> {
        Err("this device is not waiting to be linked".into())
    }
}

impl Node {
    /// The answer to a dialer let in (by an invite or a room's door): this
    /// account's log and this device's announcement; and a sync with it
    /// right away.
    pub(crate) async fn welcome(&self, remote: TransportId) -> LinkReply {
        let log = self.own_log_entries().await;
        let announcement = self.own_announcement().await;
        let node = self.clone();
        self.spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            node.try_connect_transport(remote).await;
        });
        LinkReply::Contact { log, announcement }
    }
}

/// The device log a dialer presented, checked: it verifies, and the
/// dialer's authenticated endpoint is an active device in it.
pub(crate) fn dialer_log(
    log: Vec<SignedDeviceEntry>,
    remote: &TransportId,
) -> Result<DeviceLog, String> {
    let log =
        DeviceLog::from_entries(log).map_err(|_| "your device log does not verify".to_owned())?;
    if !log
        .state()
        .active_devices()
        .any(|d| d.record.transport == *remote)
    {
        return Err("you are not an active device of the account you sent".into());
    }
    Ok(log)
}
