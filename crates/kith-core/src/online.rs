//! Being online: the endpoint's protocols, address announcements, and the
//! connector that keeps every member device connected with backoff.

use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_net::iroh::EndpointAddr;
use kith_net::iroh::EndpointId;
use kith_net::iroh::address_lookup::MemoryLookup;
use kith_net::iroh::protocol::Router;
use kith_net::{LINK_ALPN, LinkProtocol, SYNC_ALPN, SyncProtocol};
use kith_wire::{
    AddressAnnouncement, DeviceId, DeviceOp, SignedAnnouncement, SignedDeviceEntry, TransportId,
    domain, encode,
};

use crate::backoff::Backoff;
use crate::error::{CoreError, Result};
use crate::node::{Inner, Node, Online, now_ms, now_secs};
use crate::profile_table::{self, addr_key};
use crate::views::SyncReport;

pub(crate) fn endpoint_addr(
    transport: &TransportId,
    addresses: &[std::net::SocketAddr],
) -> Result<EndpointAddr> {
    let id = EndpointId::from_bytes(transport.as_bytes())
        .map_err(|_| CoreError::new("bad_uri", "invalid endpoint id"))?;
    Ok(addresses
        .iter()
        .fold(EndpointAddr::new(id), |addr, a| addr.with_ip_addr(*a)))
}

/// Where an announcement says the endpoint `transport` is: its addresses
/// and, when it named one, its home relay (the way in when no direct path
/// works).
pub(crate) fn announced_addr(
    transport: &TransportId,
    announcement: &AddressAnnouncement,
) -> Result<EndpointAddr> {
    let addr = endpoint_addr(transport, &announcement.addresses)?;
    let relay = announcement.relay.as_deref().and_then(|r| r.parse().ok());
    Ok(relay.into_iter().fold(addr, EndpointAddr::with_relay_url))
}

pub(crate) fn feed(lookup: &MemoryLookup, announcement: &AddressAnnouncement) {
    if let Ok(addr) = announced_addr(&announcement.transport, announcement) {
        lookup.set_endpoint_info(addr);
    }
}

/// Keeps connections up while online: a round every half second.
pub(crate) async fn connector(weak: std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let node = Node { inner };
        node.connect_round().await;
        drop(node);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl Node {
    /// The socket addresses the endpoint is bound to now.
    pub(crate) fn bound_addresses(&self) -> Vec<std::net::SocketAddr> {
        self.inner
            .sync
            .endpoint()
            .addr()
            .ip_addrs()
            .copied()
            .collect()
    }

    /// Where this device can be reached: the live endpoint's addresses when
    /// online, else the last announced ones.
    pub(crate) async fn addresses(&self) -> Vec<std::net::SocketAddr> {
        if self.inner.online.lock().await.is_some() {
            return self
                .inner
                .sync
                .endpoint()
                .addr()
                .ip_addrs()
                .copied()
                .collect();
        }
        self.with(|r| {
            let me = r.device_id();
            r.announcements()
                .find(|(a, _)| a.device == me)
                .map(|(a, _)| a.addresses.clone())
                .unwrap_or_default()
        })
        .await
    }

    /// Puts the node online: serves `kith/sync/1` and `kith/link/1`,
    /// announces its addresses, and keeps connections to every member device
    /// up, reconnecting with backoff.
    pub async fn go_online(&self) -> Result<()> {
        let mut online = self.inner.online.lock().await;
        if online.is_some() {
            return Ok(());
        }
        let endpoint = self.inner.sync.endpoint().clone();
        let router = Router::builder(endpoint)
            .accept(SYNC_ALPN, SyncProtocol(self.inner.sync.clone()))
            .accept(LINK_ALPN, LinkProtocol(Arc::new(self.clone())))
            .spawn();
        *online = Some(Online {
            router,
            tasks: Vec::new(),
        });
        drop(online);
        if let Err(e) = self.prove_transport().await {
            tracing::warn!("proving this device's endpoint failed: {e}");
        }
        self.announce().await?;
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move { connector(weak).await });
        let weak = Arc::downgrade(&self.inner);
        let keeper = tokio::spawn(async move { crate::prekeys::prekey_keeper(weak).await });
        let weak = Arc::downgrade(&self.inner);
        let announcer = tokio::spawn(async move { announcer(weak).await });
        if let Some(online) = self.inner.online.lock().await.as_mut() {
            online.tasks.extend([task, keeper, announcer]);
        }
        Ok(())
    }

    /// Writes this device's transport proof into the account's device log
    /// if it has none yet (profiles made before proofs existed, devices
    /// just linked): without it, another account's claim of this endpoint
    /// could not be told from this device.
    pub(crate) async fn prove_transport(&self) -> Result<()> {
        if self.ensure_not_revoked().is_err() {
            return Ok(());
        }
        let (proven, proof) = self
            .with(|r| {
                let me = r.device_id();
                let proven = r
                    .device_log(&r.account_id())
                    .and_then(|l| l.state().devices.get(&me).map(|d| d.transport_proven))
                    .unwrap_or(true);
                (proven, r.keys().transport_proof())
            })
            .await;
        if proven {
            return Ok(());
        }
        self.change_own_log(DeviceOp::ProveTransport { signature: proof? })
            .await?;
        Ok(())
    }

    /// Signs and publishes where this device listens now.
    pub(crate) async fn announce(&self) -> Result<()> {
        let addr = self.inner.sync.endpoint().addr();
        let addresses: Vec<_> = addr
            .ip_addrs()
            .copied()
            .take(kith_wire::limits::MAX_ADDRESSES)
            .collect();
        let relay = addr.relay_urls().next().map(ToString::to_string);
        tracing::debug!(?addresses, ?relay, "announcing this device");
        let signed = self
            .act(|r| {
                let announcement = AddressAnnouncement {
                    device: r.device_id(),
                    transport: r.keys().transport_id(),
                    addresses,
                    relay,
                    at_ms: now_ms(),
                };
                let signed = r.keys().sign(domain::ADDRESS, &announcement)?;
                r.add_announcement(signed.clone())?;
                Ok((signed, r.publish_directory()))
            })
            .await?;
        let key = addr_key(&self.with(|r| r.device_id()).await);
        let bytes = encode(&signed)?;
        self.with(|r| r.storage_mut().profile_write(&[(&key, Some(&bytes))]))
            .await?;
        Ok(())
    }

    /// This device's own announcement, signed.
    pub(crate) async fn own_announcement(&self) -> Option<SignedAnnouncement> {
        self.with(|r| {
            let me = r.device_id();
            r.announcements()
                .find(|(a, _)| a.device == me)
                .map(|(_, s)| s.clone())
        })
        .await
    }

    pub(crate) async fn own_log_entries(&self) -> Vec<SignedDeviceEntry> {
        self.with(|r| {
            r.device_log(&r.account_id())
                .map(|l| l.entries().cloned().collect())
                .unwrap_or_default()
        })
        .await
    }

    pub(crate) async fn try_connect_transport(&self, transport: TransportId) {
        let Some(device) = self.with(|r| r.device_for_transport(&transport)).await else {
            return;
        };
        let _ = self.connect_device(device).await;
    }

    /// The address of a device as far as known.
    pub(crate) async fn device_addr(&self, device: &DeviceId) -> Option<EndpointAddr> {
        self.with(|r| {
            let record = r
                .known_accounts()
                .iter()
                .filter_map(|a| r.device_log(a))
                .find_map(|l| l.state().devices.get(device).cloned())?;
            let transport = &record.record.transport;
            match r.announcements().find(|(a, _)| a.device == *device) {
                Some((a, _)) => announced_addr(transport, a).ok(),
                None => endpoint_addr(transport, &[]).ok(),
            }
        })
        .await
    }

    pub(crate) async fn connect_device(&self, device: DeviceId) -> Result<()> {
        let addr = self
            .device_addr(&device)
            .await
            .ok_or_else(|| CoreError::new("not_reachable", "no address known"))?;
        self.inner.sync.connect(addr).await?;
        Ok(())
    }

    /// Devices to stay connected with: my other devices, my contacts' and
    /// those of the members of my groups.
    pub(crate) async fn targets(&self) -> Vec<DeviceId> {
        self.with(|r| {
            let me = r.device_id();
            let contacts = r.self_state().contacts;
            let co_members = r.group_accounts();
            r.known_accounts()
                .iter()
                .filter(|a| {
                    **a == r.account_id() || contacts.contains_key(a) || co_members.contains(a)
                })
                .filter_map(|a| r.device_log(a))
                .flat_map(|l| {
                    l.state()
                        .active_devices()
                        .map(|d| d.record.device)
                        .collect::<Vec<_>>()
                })
                .filter(|d| *d != me)
                .collect()
        })
        .await
    }

    /// One round of the connector: dial every member device not connected
    /// whose backoff has run out, and redeem pending invites.
    pub(crate) async fn connect_round(&self) {
        let connected = self.inner.sync.connected().await;
        // Dropped (and so aborted) with this round if the connector stops.
        let mut attempts = tokio::task::JoinSet::new();
        for device in self.targets().await {
            if connected.contains(&device) {
                self.inner
                    .backoff
                    .lock()
                    .await
                    .remove(device.as_bytes().as_slice());
                continue;
            }
            let due = self
                .inner
                .backoff
                .lock()
                .await
                .get(device.as_bytes().as_slice())
                .is_none_or(Backoff::due);
            if due {
                let node = self.clone();
                attempts.spawn(async move {
                    let outcome = node.connect_device(device).await;
                    node.record_attempt(device.0.to_vec(), outcome.is_ok())
                        .await;
                });
            }
        }
        let pending = self
            .with(|r| profile_table::invites(r.storage_mut(), "redeem/"))
            .await
            .unwrap_or_default();
        for (key, invite) in pending {
            if invite.expires_at < now_secs() {
                let _ = self
                    .with(|r| r.storage_mut().profile_write(&[(&key, None)]))
                    .await;
                continue;
            }
            let slot = invite.secret.as_bytes().to_vec();
            let due = self
                .inner
                .backoff
                .lock()
                .await
                .get(&slot)
                .is_none_or(Backoff::due);
            if due {
                let node = self.clone();
                attempts.spawn(async move {
                    let outcome = node.redeem(&invite).await;
                    if outcome.as_ref().is_err_and(|e| e.code == "invite_refused") {
                        // Used or expired on the other side: stop trying.
                        let _ = node
                            .with(|r| r.storage_mut().profile_write(&[(&key, None)]))
                            .await;
                    }
                    node.record_attempt(slot, outcome.is_ok()).await;
                });
            }
        }
        while attempts.join_next().await.is_some() {}
    }

    pub(crate) async fn record_attempt(&self, slot: Vec<u8>, ok: bool) {
        let mut backoff = self.inner.backoff.lock().await;
        if ok {
            backoff.remove(&slot);
        } else {
            backoff.entry(slot).or_insert_with(Backoff::new).failed();
        }
    }

    /// Goes online, connects to every member device it can reach, and
    /// returns once all of them are quiet (nothing sent or received for
    /// a moment) or at `timeout`.
    pub async fn sync(&self, timeout: Duration) -> Result<SyncReport> {
        self.go_online().await?;
        let deadline = Instant::now() + timeout;
        let targets = self.targets().await;
        // One attempt at everything (pending invites too), concurrently.
        let round = self.connect_round();
        let _ = tokio::time::timeout(timeout, round).await;
        let mut complete = false;
        while Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let connected = self.inner.sync.connected().await;
            let failed_all = self.inner.backoff.lock().await.len();
            let settled = connected.len() + failed_all >= targets.len();
            if settled && self.inner.sync.quiet_for_ms() >= 700 {
                complete = true;
                break;
            }
        }
        let connected = self.inner.sync.connected().await;
        let targets = self.targets().await;
        let (reached, unreachable): (Vec<DeviceId>, Vec<DeviceId>) =
            targets.into_iter().partition(|d| connected.contains(d));
        Ok(SyncReport {
            reached: reached.iter().map(DeviceId::to_hex).collect(),
            unreachable: unreachable.iter().map(DeviceId::to_hex).collect(),
            complete,
        })
    }
}

/// How often an online device announces itself again (its announcement's
/// time is what my other devices show as "last seen").
const ANNOUNCE_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Announces this device again whenever its endpoint's address changes (a
/// home relay chosen once connected, a new network) and every
/// [`ANNOUNCE_EVERY`] while online.
async fn announcer(weak: std::sync::Weak<Inner>) {
    use kith_net::iroh::Watcher;
    let Some(inner) = weak.upgrade() else { return };
    let mut addr = inner.sync.endpoint().watch_addr();
    drop(inner);
    loop {
        let changed = tokio::time::timeout(ANNOUNCE_EVERY, addr.updated()).await;
        if matches!(changed, Ok(Err(_))) {
            return; // The endpoint is gone.
        }
        // Changes come in bursts (relay, then addresses): one announcement.
        tokio::time::sleep(SETTLE).await;
        let Some(inner) = weak.upgrade() else { return };
        if let Err(e) = (Node { inner }).announce().await {
            tracing::warn!("announcing this device again failed: {e}");
        }
    }
}

/// How long an address change may keep changing before it is announced.
const SETTLE: Duration = Duration::from_millis(300);
