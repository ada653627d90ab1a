//! The node: one device profile, online or not.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use kith_crypto::SecretVec;
use kith_crypto::pwhash::PwHashLimits;
use kith_identity::{DeviceKeys, DeviceLog, DeviceStatus, SafetyNumber, invite};
use kith_net::iroh::address_lookup::MemoryLookup;
use kith_net::iroh::protocol::Router;
use kith_net::iroh::{EndpointAddr, EndpointId};
use kith_net::{
    LINK_ALPN, LinkProtocol, LinkReply, LinkService, NetConfig, SYNC_ALPN, SyncNode, SyncProtocol,
    bind_with, dial_link,
};
use kith_session::Sessions;
use kith_store::{DATABASE_FILE, Protection, Store, Unlock};
use kith_sync::{Event, Replica};
use kith_wire::{
    AccountId, AddressAnnouncement, Content, ConversationId, DeviceId, DeviceOp, EntryHash,
    EntryKind, Invite, InviteKind, InviteSecret, RevokeReason, SelfRecord, SignedAnnouncement,
    SignedDeviceEntry, TransportId, TrustLevel, domain, encode,
};
use tokio::sync::{Mutex, broadcast, mpsc};
use tokio::task::JoinHandle;

use crate::error::{CoreError, Result};
use crate::profile::{self, addr_key, encode_log, invite_key, log_key, redeem_key};
use crate::views::{
    ContactView, DeviceView, Identity, MessagePage, MessageView, NodeEvent, Sent, SyncReport,
    trust_name,
};

pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

fn now_secs() -> u64 {
    now_ms() / 1000
}

/// How a new profile's root key is protected: a passphrase from
/// `KITH_PASSPHRASE` if set, else the OS keystore if one is configured,
/// else an owner-only key file (headless devices; a warning is logged).
pub fn protection_from_env() -> Protection {
    if let Ok(passphrase) = std::env::var("KITH_PASSPHRASE") {
        return Protection::Passphrase(
            SecretVec::from_vec(passphrase.into_bytes()),
            PASSPHRASE_LIMITS,
        );
    }
    protection_without_passphrase()
}

/// Argon2id limits of passphrase-wrapped root keys (libsodium's moderate:
/// 256 MiB, 3 passes; B0 measures the unlock time).
pub const PASSPHRASE_LIMITS: PwHashLimits = PwHashLimits::MODERATE;

/// The OS keystore if one is configured, else an owner-only key file.
pub(crate) fn protection_without_passphrase() -> Protection {
    if kith_store::keystore_is_set() {
        return Protection::Keystore;
    }
    tracing::warn!("no passphrase and no OS keystore: the root key is kept in an owner-only file");
    Protection::KeyFile
}

/// Whether `KITH_PASSPHRASE` is set (it then unlocks the profile).
pub(crate) fn passphrase_in_env() -> bool {
    std::env::var_os("KITH_PASSPHRASE").is_some()
}

/// How to unlock a profile: the passphrase from `KITH_PASSPHRASE` if set,
/// else the key file (the OS keystore is tried when the file says so).
pub fn unlock_from_env() -> Unlock {
    match std::env::var("KITH_PASSPHRASE") {
        Ok(passphrase) => Unlock::Passphrase(SecretVec::from_vec(passphrase.into_bytes())),
        Err(_) => Unlock::KeyFile,
    }
}

/// Opens the store in `dir`: with `passphrase` if given, else as the
/// environment says ([`unlock_from_env`], then the OS keystore).
fn open_store(dir: &Path, passphrase: Option<SecretVec>) -> Result<Store> {
    if !dir.join(DATABASE_FILE).exists() {
        return Err(CoreError::new(
            "no_profile",
            format!(
                "no Kith profile in {} (run `kith init` or `kith link request`)",
                dir.display()
            ),
        ));
    }
    if let Some(passphrase) = passphrase {
        return Ok(Store::open(dir, Unlock::Passphrase(passphrase))?);
    }
    match Store::open(dir, unlock_from_env()) {
        Err(kith_store::StoreError::WrongProtection(_)) if !passphrase_in_env() => {
            match Store::open(dir, Unlock::Keystore) {
                Err(kith_store::StoreError::WrongProtection(_)) => Err(CoreError::new(
                    "locked",
                    "this profile is protected by a passphrase: set KITH_PASSPHRASE",
                )),
                other => Ok(other?),
            }
        }
        other => Ok(other?),
    }
}

/// Exponential backoff per peer: 1 s doubling to 60 s, with jitter.
#[derive(Clone, Copy, Debug)]
struct Backoff {
    failures: u32,
    next: Instant,
}

impl Backoff {
    fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let base = 1000u64
            .saturating_mul(1 << self.failures.min(6))
            .min(60_000);
        let jitter = u64::from(kith_crypto::random::uniform(250).unwrap_or(0));
        self.next = Instant::now() + Duration::from_millis(base / 2 + jitter + base / 4);
    }
}

struct Online {
    router: Router,
    tasks: Vec<JoinHandle<()>>,
}

pub(crate) struct Inner {
    pub(crate) sync: SyncNode<Store>,
    lookup: MemoryLookup,
    events: broadcast::Sender<NodeEvent>,
    online: Mutex<Option<Online>>,
    backoff: Mutex<HashMap<Vec<u8>, Backoff>>,
    revoked: std::sync::atomic::AtomicBool,
    /// Short tasks the node started (connect at once after a link or an
    /// invite); aborted on shutdown so the profile is released.
    tasks: std::sync::Mutex<tokio::task::JoinSet<()>>,
    dir: PathBuf,
}

/// A device profile, opened. Cheap to clone; all clones share the node.
#[derive(Clone)]
pub struct Node {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Node {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("dir", &self.inner.dir)
            .finish_non_exhaustive()
    }
}

/// A contact as the self log and the directory describe it.
struct ContactInfo {
    account: AccountId,
    alias: Option<String>,
    trust: TrustLevel,
    reason: String,
    log: Option<DeviceLog>,
}

fn hex_id<const N: usize>(text: &str) -> Option<[u8; N]> {
    kith_wire::hex_decode(text.trim()).and_then(|b| <[u8; N]>::try_from(b).ok())
}

impl Node {
    /// Creates a new account and this device's profile in `dir`.
    pub async fn create(
        dir: &Path,
        name: &str,
        device_name: &str,
        net: NetConfig,
        protection: Protection,
    ) -> Result<Self> {
        kith_wire::limits::check_name(name).map_err(|_| {
            CoreError::new(
                "invalid_input",
                "the name must be 1–64 bytes, no control characters",
            )
        })?;
        kith_wire::limits::check_name(device_name)
            .map_err(|_| CoreError::new("invalid_input", "the device name must be 1–64 bytes"))?;
        if dir.join(DATABASE_FILE).exists() {
            return Err(CoreError::new(
                "profile_exists",
                format!("{} already holds a Kith profile", dir.display()),
            ));
        }
        let keys = DeviceKeys::generate(device_name, now_ms())?;
        let log = DeviceLog::create(&keys, name, now_ms())?;
        let mut store = Store::create(dir, protection)?;
        save_new_profile(&mut store, &keys, &log, &[])?;
        Self::load(store, net).await
    }

    /// Opens the profile in `dir` (offline until [`Node::go_online`]),
    /// unlocking it as the environment says ([`unlock_from_env`]).
    pub async fn open(dir: &Path, net: NetConfig) -> Result<Self> {
        Self::load(open_store(dir, None)?, net).await
    }

    /// Opens the passphrase-protected profile in `dir`; a wrong passphrase
    /// is `wrong_passphrase`.
    pub async fn unlock(dir: &Path, net: NetConfig, passphrase: SecretVec) -> Result<Self> {
        let dir = dir.to_owned();
        let store = tokio::task::spawn_blocking(move || open_store(&dir, Some(passphrase)))
            .await
            .map_err(|e| CoreError::new("internal", e.to_string()))??;
        Self::load(store, net).await
    }

    async fn load(store: Store, net: NetConfig) -> Result<Self> {
        let dir = store.dir().to_owned();
        let loaded = profile::load(&store)?;
        let own_log = loaded
            .logs
            .iter()
            .find(|l| l.account_id() == loaded.account)
            .cloned()
            .ok_or_else(|| CoreError::new("storage", "the account's device log is missing"))?;
        let seed = loaded.keys.transport_seed().duplicate();
        let lookup = MemoryLookup::new();
        let endpoint = bind_with(&seed, &net, Some(lookup.clone())).await?;
        let mut replica = Replica::new(loaded.keys, own_log, Sessions::new(store))?;
        for log in loaded.logs {
            replica.update_log(log);
        }
        for signed in loaded.addresses {
            if let Ok(Some(a)) = replica.add_announcement(signed) {
                feed(&lookup, &a);
            }
        }
        let revoked = !replica
            .device_log(&replica.account_id())
            .is_some_and(|l| l.state().is_active(&replica.device_id()));
        let (tx, rx) = mpsc::unbounded_channel();
        let sync = SyncNode::with_events(endpoint, replica, tx);
        let (events, _) = broadcast::channel(1024);
        let node = Self {
            inner: Arc::new(Inner {
                sync,
                lookup,
                events,
                online: Mutex::new(None),
                backoff: Mutex::new(HashMap::new()),
                revoked: std::sync::atomic::AtomicBool::new(revoked),
                tasks: std::sync::Mutex::new(tokio::task::JoinSet::new()),
                dir,
            }),
        };
        let weak = Arc::downgrade(&node.inner);
        tokio::spawn(async move { event_loop(weak, rx).await });
        Ok(node)
    }

    /// The profile folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    async fn with<R>(&self, f: impl FnOnce(&mut Replica<Store>) -> R) -> R {
        self.inner.sync.with_replica(|r| (f(r), Vec::new())).await
    }

    /// Runs `f` on the engine and sends what it outputs.
    async fn act<R>(
        &self,
        f: impl FnOnce(&mut Replica<Store>) -> Result<(R, Vec<kith_sync::Output>)>,
    ) -> Result<R> {
        self.inner
            .sync
            .with_replica(|r| match f(r) {
                Ok((value, outputs)) => (Ok(value), outputs),
                Err(e) => (Err(e), Vec::new()),
            })
            .await
    }

    /// This device and account.
    pub async fn identity(&self) -> Identity {
        let addresses = self.addresses().await;
        self.with(|r| {
            let account = r.account_id();
            let name = r
                .device_log(&account)
                .and_then(|l| l.state().name.clone())
                .unwrap_or_default();
            Identity {
                account_id: account.to_hex(),
                device_id: r.device_id().to_hex(),
                name,
                addresses: addresses.iter().map(ToString::to_string).collect(),
            }
        })
        .await
    }

    /// Where this device can be reached: the live endpoint's addresses when
    /// online, else the last announced ones.
    async fn addresses(&self) -> Vec<std::net::SocketAddr> {
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

    fn ensure_not_revoked(&self) -> Result<()> {
        if self
            .inner
            .revoked
            .load(std::sync::atomic::Ordering::Relaxed)
        {
            return Err(CoreError::new(
                "device_revoked",
                "this device was removed from its account; it can no longer send",
            ));
        }
        Ok(())
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
        self.announce().await?;
        let weak = Arc::downgrade(&self.inner);
        let task = tokio::spawn(async move { connector(weak).await });
        if let Some(online) = self.inner.online.lock().await.as_mut() {
            online.tasks.push(task);
        }
        Ok(())
    }

    /// Signs and publishes where this device listens now.
    async fn announce(&self) -> Result<()> {
        let addr = self.inner.sync.endpoint().addr();
        let addresses: Vec<_> = addr
            .ip_addrs()
            .copied()
            .take(kith_wire::limits::MAX_ADDRESSES)
            .collect();
        let relay = addr.relay_urls().next().map(ToString::to_string);
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

    fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Ok(mut tasks) = self.inner.tasks.lock() {
            // Finished ones are dropped as new ones come.
            while tasks.try_join_next().is_some() {}
            tasks.spawn(task);
        }
    }

    /// Stops serving and closes every connection; everything acknowledged
    /// is already durable. When it returns, the node's own tasks are gone:
    /// once the caller drops its handles, the profile is closed and can be
    /// opened again.
    pub async fn shutdown(&self) {
        let online = self.inner.online.lock().await.take();
        let tasks = self
            .inner
            .tasks
            .lock()
            .map(|mut t| std::mem::take(&mut *t))
            .ok();
        if let Some(mut tasks) = tasks {
            tasks.abort_all();
            while tasks.join_next().await.is_some() {}
        }
        if let Some(online) = online {
            for task in online.tasks {
                task.abort();
                let _ = task.await;
            }
            self.inner.sync.disconnect_all().await;
            let _ = tokio::time::timeout(Duration::from_secs(4), online.router.shutdown()).await;
        } else {
            let _ =
                tokio::time::timeout(Duration::from_secs(2), self.inner.sync.endpoint().close())
                    .await;
        }
        // Connection tasks end as their connections close.
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.inner.sync.handles() > 1 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    /// This device's own announcement, signed.
    async fn own_announcement(&self) -> Option<SignedAnnouncement> {
        self.with(|r| {
            let me = r.device_id();
            r.announcements()
                .find(|(a, _)| a.device == me)
                .map(|(_, s)| s.clone())
        })
        .await
    }

    async fn own_log_entries(&self) -> Vec<SignedDeviceEntry> {
        self.with(|r| {
            r.device_log(&r.account_id())
                .map(|l| l.entries().cloned().collect())
                .unwrap_or_default()
        })
        .await
    }

    /// A fresh `kith:` contact invite (valid 7 days, single use).
    pub async fn invite(&self) -> Result<String> {
        self.ensure_not_revoked()?;
        let addresses = self.addresses().await;
        let made = self
            .with(|r| {
                let log = r
                    .device_log(&r.account_id())
                    .ok_or_else(|| CoreError::new("storage", "own device log missing"))?;
                let made = invite::contact_invite(
                    r.keys(),
                    log,
                    addresses,
                    now_secs(),
                    invite::DEFAULT_INVITE_TTL_SECS,
                )?;
                let key = invite_key(&made.secret)?;
                let bytes = encode(&made)?;
                r.storage_mut().profile_write(&[(&key, Some(&bytes))])?;
                Ok::<_, CoreError>(made)
            })
            .await?;
        Ok(invite::to_uri(&made)?)
    }

    /// Adds a contact from its `kith:` invite. The contact starts
    /// unvalidated; its device list arrives when the invite is redeemed with
    /// the inviting device (at once when online and reachable, else later).
    pub async fn add_contact(&self, uri: &str, alias: Option<&str>) -> Result<ContactView> {
        let invite = invite::parse_uri(uri, now_secs())?;
        self.add_invited(invite, alias, "added from an invite")
            .await
    }

    /// Adds a contact by name (`user@example.com`) through its name server
    /// (`https://example.com/.well-known/kith/user`). The contact is
    /// unvalidated, and its note says where it came from.
    pub async fn add_contact_by_name(
        &self,
        name: &str,
        alias: Option<&str>,
    ) -> Result<ContactView> {
        self.add_contact_by_name_with(name, alias, kith_identity::lookup::LookupConfig::default())
            .await
    }

    /// [`Node::add_contact_by_name`] with explicit lookup settings (a
    /// self-hosted name server's certificate roots, the timeout).
    pub async fn add_contact_by_name_with(
        &self,
        name: &str,
        alias: Option<&str>,
        config: kith_identity::lookup::LookupConfig,
    ) -> Result<ContactView> {
        let owned = name.trim().to_owned();
        let found = tokio::task::spawn_blocking(move || {
            kith_identity::lookup::lookup(&owned, &config, now_secs())
        })
        .await
        .map_err(|e| CoreError::new("internal", e.to_string()))?
        .map_err(|e| CoreError::new("lookup_failed", format!("looking up {}: {e}", name.trim())))?;
        let reason = format!("looked up {} at {} (not validated)", found.name, found.url);
        let alias = alias
            .map(str::to_owned)
            .unwrap_or_else(|| found.name.clone());
        self.add_invited(found.invite, Some(&alias), &reason).await
    }

    async fn add_invited(
        &self,
        invite: Invite,
        alias: Option<&str>,
        reason: &str,
    ) -> Result<ContactView> {
        self.ensure_not_revoked()?;
        let InviteKind::Contact { account, name, .. } = &invite.kind else {
            return Err(CoreError::new(
                "bad_uri",
                "this is a device-link request (kith-link:); use `kith link accept`",
            ));
        };
        let account = *account;
        if let Some(alias) = alias {
            kith_wire::limits::check_name(alias)
                .map_err(|_| CoreError::new("invalid_input", "the name must be 1–64 bytes"))?;
        }
        let me = self.with(|r| r.account_id()).await;
        if account == me {
            return Err(CoreError::new("invalid_input", "this is your own invite"));
        }
        let alias = alias.map(str::to_owned).or_else(|| Some(name.clone()));
        let has_log = self.with(|r| r.device_log(&account).is_some()).await;
        if !has_log {
            let online = self.inner.online.lock().await.is_some();
            let redeemed = if online {
                match self.redeem(&invite).await {
                    Ok(()) => true,
                    // A definite no (used, expired, not ours): nothing is added.
                    Err(e) if e.code == "invite_refused" => return Err(e),
                    Err(e) => {
                        tracing::info!("the invite could not be redeemed yet: {e}");
                        false
                    }
                }
            } else {
                false
            };
            if !redeemed {
                let bytes = encode(&invite)?;
                let key = redeem_key(&account);
                self.with(|r| r.storage_mut().profile_write(&[(&key, Some(&bytes))]))
                    .await?;
            }
        }
        if self.contact_info(&account).await.is_none() {
            self.act(|r| {
                let record = SelfRecord::Contact {
                    account,
                    alias: alias.clone(),
                    trust: TrustLevel::Unvalidated,
                    reason: reason.into(),
                };
                Ok(((), r.record(record, now_ms())?))
            })
            .await?;
        }
        self.emit(NodeEvent::TrustChanged {
            contact_id: account.to_hex(),
            state: "unvalidated".into(),
        });
        self.contact_view(&account).await
    }

    /// Redeems a contact invite with its device: both sides learn each other.
    async fn redeem(&self, invite: &Invite) -> Result<()> {
        let InviteKind::Contact { account, .. } = invite.kind else {
            return Err(CoreError::new("bad_uri", "not a contact invite"));
        };
        let addr = endpoint_addr(&invite.transport, &invite.addresses)?;
        let log = self.own_log_entries().await;
        let announcement = self.own_announcement().await;
        let endpoint = self.inner.sync.endpoint().clone();
        let (reply, dial) = dial_link(&endpoint, addr, invite.secret, log, announcement)
            .await
            .map_err(|e| match e {
                kith_net::NetError::Refused(reason) => CoreError::new(
                    "invite_refused",
                    format!("the inviting device refused: {reason}"),
                ),
                e => e.into(),
            })?;
        dial.finish();
        let LinkReply::Contact { log, announcement } = reply else {
            return Err(CoreError::new(
                "network",
                "the inviting device answered oddly",
            ));
        };
        let log = DeviceLog::from_entries(log)
            .map_err(|_| CoreError::new("network", "the contact's device log does not verify"))?;
        if log.account_id() != account
            || !log
                .state()
                .active_devices()
                .any(|d| d.record.device == invite.device && d.record.transport == invite.transport)
        {
            return Err(CoreError::new(
                "network",
                "the inviting device sent a device log of another account",
            ));
        }
        self.learn_contact(log, announcement).await?;
        let key = redeem_key(&account);
        self.with(|r| r.storage_mut().profile_write(&[(&key, None)]))
            .await?;
        // Sync at once with the device we just met.
        let node = self.clone();
        let transport = invite.transport;
        self.spawn(async move { node.try_connect_transport(transport).await });
        Ok(())
    }

    /// Takes a contact's verified device log and address; opens the direct
    /// conversation.
    async fn learn_contact(
        &self,
        log: DeviceLog,
        announcement: Option<SignedAnnouncement>,
    ) -> Result<()> {
        let account = log.account_id();
        let bytes = encode_log(&log)?;
        let key = log_key(&account);
        let fed = self
            .with(|r| {
                r.update_log(log);
                let fed = announcement.and_then(|a| {
                    let bytes = encode(&a).ok()?;
                    let taken = r.add_announcement(a).ok().flatten()?;
                    Some((taken, bytes))
                });
                let mut writes: Vec<(String, Vec<u8>)> = vec![(key, bytes)];
                if let Some((a, bytes)) = &fed {
                    writes.push((addr_key(&a.device), bytes.clone()));
                }
                let changes: Vec<(&str, Option<&[u8]>)> = writes
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
                    .collect();
                r.storage_mut().profile_write(&changes)?;
                r.open_direct(&account)?;
                Ok::<_, CoreError>(fed.map(|(a, _)| a))
            })
            .await?;
        if let Some(a) = fed {
            feed(&self.inner.lookup, &a);
        }
        self.emit(NodeEvent::DevicesChanged {
            account_id: account.to_hex(),
        });
        Ok(())
    }

    /// Contacts as the self log lists them (all, or just `only`), folded once.
    async fn contact_infos(&self, only: Option<&AccountId>) -> Vec<ContactInfo> {
        self.with(|r| {
            r.self_state()
                .contacts
                .into_iter()
                .filter(|(account, _)| only.is_none_or(|o| o == account))
                .map(|(account, record)| ContactInfo {
                    account,
                    alias: record.alias,
                    trust: record.trust,
                    reason: record.reason,
                    log: r.device_log(&account).cloned(),
                })
                .collect()
        })
        .await
    }

    async fn contact_info(&self, account: &AccountId) -> Option<ContactInfo> {
        self.contact_infos(Some(account)).await.pop()
    }

    fn view(info: &ContactInfo) -> ContactView {
        let evidence = info
            .log
            .as_ref()
            .is_some_and(|l| !l.state().compromise.is_empty());
        let trust = if evidence {
            TrustLevel::Compromised
        } else {
            info.trust
        };
        ContactView {
            note: info.reason.clone(),
            contact_id: info.account.to_hex(),
            name: info
                .alias
                .clone()
                .or_else(|| info.log.as_ref().and_then(|l| l.state().name.clone())),
            state: trust_name(trust),
            devices: info
                .log
                .as_ref()
                .map(|l| {
                    l.state()
                        .active_devices()
                        .map(|d| d.record.device.to_hex())
                        .collect()
                })
                .unwrap_or_default(),
        }
    }

    async fn contact_view(&self, account: &AccountId) -> Result<ContactView> {
        let info = self
            .contact_info(account)
            .await
            .ok_or_else(|| CoreError::new("unknown_contact", "no such contact"))?;
        Ok(Self::view(&info))
    }

    /// Every contact.
    pub async fn contacts(&self) -> Vec<ContactView> {
        self.contact_infos(None)
            .await
            .iter()
            .map(Self::view)
            .collect()
    }

    /// Finds a contact by account id (or a unique prefix of at least 4 hex
    /// digits) or by name.
    pub async fn resolve_contact(&self, text: &str) -> Result<AccountId> {
        let text = text.trim();
        let contacts = self.contacts().await;
        let lower = text.to_ascii_lowercase();
        let by_id: Vec<&ContactView> = contacts
            .iter()
            .filter(|c| lower.len() >= 4 && c.contact_id.starts_with(&lower))
            .collect();
        let by_name: Vec<&ContactView> = contacts
            .iter()
            .filter(|c| {
                c.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(text))
            })
            .collect();
        let found = match (by_id.as_slice(), by_name.as_slice()) {
            ([one], _) | ([], [one]) => *one,
            ([], []) => {
                return Err(CoreError::new(
                    "unknown_contact",
                    format!("no contact matches {text:?}"),
                ));
            }
            _ => {
                return Err(CoreError::new(
                    "ambiguous",
                    format!("several contacts match {text:?}; use more of the id"),
                ));
            }
        };
        hex_id::<32>(&found.contact_id)
            .map(AccountId)
            .ok_or_else(|| CoreError::new("internal", "bad contact id"))
    }

    /// The 60-digit safety number shared with a contact.
    pub async fn safety_number(&self, contact: &str) -> Result<String> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        Ok(SafetyNumber::new(&me, &account)?.digits())
    }

    async fn set_trust(&self, account: AccountId, trust: TrustLevel, reason: &str) -> Result<()> {
        let alias = self.contact_info(&account).await.and_then(|i| i.alias);
        self.act(|r| {
            let record = SelfRecord::Contact {
                account,
                alias,
                trust,
                reason: reason.into(),
            };
            Ok(((), r.record(record, now_ms())?))
        })
        .await?;
        self.emit(NodeEvent::TrustChanged {
            contact_id: account.to_hex(),
            state: trust_name(trust).into(),
        });
        Ok(())
    }

    /// Compares the safety number the user read from the contact's device:
    /// a match validates the contact; a mismatch marks it compromised and
    /// fails with `safety_number_mismatch`.
    pub async fn validate(&self, contact: &str, digits: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        let number = SafetyNumber::new(&me, &account)?;
        if number.matches(digits) {
            self.set_trust(account, TrustLevel::Validated, "safety number compared")
                .await?;
            self.contact_view(&account).await
        } else {
            self.set_trust(account, TrustLevel::Compromised, "safety number mismatch")
                .await?;
            Err(CoreError::new(
                "safety_number_mismatch",
                "the safety numbers differ: the contact is now marked compromised",
            ))
        }
    }

    /// My safety-number code for a contact, to show as a QR code: their
    /// device scans it and checks both directions at once.
    pub async fn safety_code(&self, contact: &str) -> Result<String> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        Ok(SafetyNumber::new(&me, &account)?.scannable())
    }

    /// Checks the code scanned from a contact's device: a match validates
    /// the contact. A code that does not match fails with
    /// `safety_number_mismatch` and changes nothing (unlike typed digits: a
    /// scan of the wrong person's screen is the likely cause; the user can
    /// then mark the contact compromised); a QR code that is no safety
    /// number code at all is `invalid_input`.
    pub async fn validate_code(&self, contact: &str, code: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        match SafetyNumber::new(&me, &account)?.verify_scanned(code) {
            Ok(()) => {
                self.set_trust(account, TrustLevel::Validated, "safety code scanned")
                    .await?;
                self.contact_view(&account).await
            }
            Err(kith_identity::IdentityError::SafetyNumberMismatch) => Err(CoreError::new(
                "safety_number_mismatch",
                "this code is not from this contact's account: scan it from their device again; \
                 if it still differs, someone may stand between you",
            )),
            Err(_) => Err(CoreError::new(
                "invalid_input",
                "this QR code is not a Kith safety-number code",
            )),
        }
    }

    /// Marks a contact compromised.
    pub async fn compromise(&self, contact: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        self.set_trust(account, TrustLevel::Compromised, "marked by the user")
            .await?;
        self.contact_view(&account).await
    }

    /// Sends a text to a contact (queued; delivered when possible). Sending
    /// to a compromised contact needs `anyway`.
    pub async fn send(&self, contact: &str, text: &str, anyway: bool) -> Result<Sent> {
        self.ensure_not_revoked()?;
        if text.is_empty() {
            return Err(CoreError::new("invalid_input", "the message is empty"));
        }
        if text.len() > 60_000 {
            return Err(CoreError::new(
                "invalid_input",
                "the message is too long (60,000 bytes at most)",
            ));
        }
        let account = self.resolve_contact(contact).await?;
        let view = self.contact_view(&account).await?;
        if view.state == "compromised" && !anyway {
            return Err(CoreError::new(
                "contact_compromised",
                "this contact is marked compromised; send anyway only if you are sure",
            ));
        }
        let text = text.to_owned();
        self.act(|r| {
            if r.device_log(&account).is_none() {
                return Err(CoreError::new(
                    "not_reachable",
                    "this contact's devices are not known yet: their device list arrives on the first connection",
                ));
            }
            let conversation = r.open_direct(&account)?;
            let (id, outputs) = r.send_text(conversation, &text, now_ms())?;
            Ok((
                Sent {
                    message_id: id.to_hex(),
                    conversation_id: conversation.to_hex(),
                },
                outputs,
            ))
        })
        .await
    }

    /// The messages with a contact in display order.
    pub async fn messages(&self, contact: &str) -> Result<Vec<MessageView>> {
        Ok(self.latest_messages(contact, usize::MAX).await?.messages)
    }

    /// The newest `limit` messages with a contact in display order, and how
    /// many older ones there are (the app shows a page and loads more on
    /// request: a conversation may hold 100,000 messages).
    pub async fn latest_messages(&self, contact: &str, limit: usize) -> Result<MessagePage> {
        let account = self.resolve_contact(contact).await?;
        Ok(self
            .with(|r| {
                let me = r.account_id();
                let Ok(conversation) = kith_sync::ids::direct_conversation(&me, &account) else {
                    return MessagePage::default();
                };
                let Some(conv) = r.conversation(&conversation) else {
                    return MessagePage::default();
                };
                // Delivery is tracked per device of the other side.
                let devices_of = |a: &AccountId| -> Vec<DeviceId> {
                    r.device_log(a)
                        .map(|log| {
                            log.state()
                                .active_devices()
                                .map(|d| d.record.device)
                                .collect()
                        })
                        .unwrap_or_default()
                };
                let (mine, theirs) = (devices_of(&me), devices_of(&account));
                let (page, earlier) = r.latest_messages(&conversation, limit);
                let ids = page.iter().map(|(id, _)| *id).collect();
                let deliveries = r.deliveries(&conversation, &ids);
                let none = std::collections::BTreeSet::new();
                let messages = page
                    .into_iter()
                    .filter_map(|(id, text)| {
                        let entry = conv.get(&id)?;
                        let delivered = deliveries.get(&id).unwrap_or(&none);
                        let recipients = if entry.header.author_account == me {
                            &theirs
                        } else {
                            &mine
                        };
                        let delivery = recipients
                            .iter()
                            .map(|d| {
                                let state = if delivered.contains(d) {
                                    "delivered"
                                } else {
                                    "pending"
                                };
                                (d.to_hex(), state)
                            })
                            .collect::<BTreeMap<_, _>>();
                        Some(MessageView {
                            message_id: id.to_hex(),
                            conversation_id: conversation.to_hex(),
                            author_account: entry.header.author_account.to_hex(),
                            author_device: entry.header.author_device.to_hex(),
                            text,
                            sent_at: entry.header.sent_at_ms,
                            delivery,
                        })
                    })
                    .collect();
                MessagePage {
                    messages,
                    earlier: u32::try_from(earlier).unwrap_or(u32::MAX),
                }
            })
            .await)
    }

    /// Writes many messages of mine to a contact at once, in bulk (commits
    /// not synced until the end), without sending them now: they travel by
    /// sync on the next connection. For building large profiles
    /// (benchmarks); a crash in the middle loses the unsynced part.
    #[cfg(feature = "bench")]
    pub async fn write_many(
        &self,
        contact: &str,
        texts: impl Iterator<Item = String> + Send,
    ) -> Result<usize> {
        let account = self.resolve_contact(contact).await?;
        self.act(|r| {
            let conversation = r.open_direct(&account)?;
            r.storage_mut().set_bulk(true)?;
            let mut texts = texts;
            let written = texts.try_fold(0, |n, text| {
                r.send_text(conversation, &text, now_ms()).map(|_| n + 1)
            });
            // Durable up to where it got, even after an error.
            r.storage_mut().set_bulk(false)?;
            Ok((written?, Vec::new()))
        })
        .await
    }

    /// Deletes a message (its id, or a unique prefix of at least 8 hex
    /// digits) from all of my devices.
    pub async fn delete(&self, message: &str) -> Result<()> {
        let lower = message.trim().to_ascii_lowercase();
        if lower.len() < 8 {
            return Err(CoreError::new(
                "invalid_input",
                "give at least 8 hex digits of the message id",
            ));
        }
        let conversation = self
            .act(|r| {
                let conversations: Vec<ConversationId> = r
                    .self_state()
                    .conversations
                    .keys()
                    .copied()
                    .chain(r.known_accounts().into_iter().filter_map(|a| {
                        kith_sync::ids::direct_conversation(&r.account_id(), &a).ok()
                    }))
                    .collect();
                let mut found: Vec<(ConversationId, EntryHash)> = Vec::new();
                for c in conversations {
                    for (id, _) in r.messages(&c) {
                        if id.to_hex().starts_with(&lower) && !found.iter().any(|(_, f)| *f == id) {
                            found.push((c, id));
                        }
                    }
                }
                let (conversation, id) = match found.as_slice() {
                    [one] => *one,
                    [] => {
                        return Err(CoreError::new("unknown_message", "no such message"));
                    }
                    _ => return Err(CoreError::new("ambiguous", "several messages match")),
                };
                Ok((conversation, r.delete(conversation, Some(id), now_ms())?))
            })
            .await?;
        self.emit(NodeEvent::Deleted {
            conversation_id: conversation.to_hex(),
        });
        Ok(())
    }

    /// Deletes the whole conversation with a contact from all my devices.
    pub async fn delete_conversation(&self, contact: &str) -> Result<()> {
        let account = self.resolve_contact(contact).await?;
        let conversation = self
            .act(|r| {
                let conversation = kith_sync::ids::direct_conversation(&r.account_id(), &account)?;
                Ok((conversation, r.delete(conversation, None, now_ms())?))
            })
            .await?;
        self.emit(NodeEvent::Deleted {
            conversation_id: conversation.to_hex(),
        });
        Ok(())
    }

    /// The devices of my account.
    pub async fn devices(&self) -> Vec<DeviceView> {
        self.with(|r| {
            let me = r.device_id();
            r.device_log(&r.account_id())
                .map(|l| {
                    l.state()
                        .devices
                        .values()
                        .map(|d| DeviceView {
                            device_id: d.record.device.to_hex(),
                            name: d.record.name.clone(),
                            state: if d.status == DeviceStatus::Active {
                                "active"
                            } else {
                                "revoked"
                            },
                            this_device: d.record.device == me,
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .await
    }

    /// Changes this account's device log with `op` (signed by this device),
    /// stores it and tells every connected device.
    async fn change_own_log(&self, op: DeviceOp) -> Result<Vec<SignedDeviceEntry>> {
        let (entries, account) = self
            .act(|r| {
                let account = r.account_id();
                let mut log = r
                    .device_log(&account)
                    .cloned()
                    .ok_or_else(|| CoreError::new("storage", "own device log missing"))?;
                log.append(r.keys(), op, now_ms())?;
                let bytes = encode_log(&log)?;
                let entries: Vec<SignedDeviceEntry> = log.entries().cloned().collect();
                r.update_log(log);
                r.storage_mut()
                    .profile_write(&[(&log_key(&account), Some(&bytes))])?;
                Ok(((entries, account), r.publish_directory()))
            })
            .await?;
        self.emit(NodeEvent::DevicesChanged {
            account_id: account.to_hex(),
        });
        Ok(entries)
    }

    /// Revokes one of my devices: it is cut off at once on every device
    /// that hears of it, and receives nothing new.
    pub async fn revoke(&self, device: &str) -> Result<()> {
        self.ensure_not_revoked()?;
        let lower = device.trim().to_ascii_lowercase();
        let devices = self.devices().await;
        let matching: Vec<&DeviceView> = devices
            .iter()
            .filter(|d| lower.len() >= 4 && d.device_id.starts_with(&lower))
            .collect();
        let target = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(CoreError::new(
                    "unknown_device",
                    "no such device in this account",
                ));
            }
            _ => return Err(CoreError::new("ambiguous", "several devices match")),
        };
        if target.this_device {
            return Err(CoreError::new(
                "invalid_input",
                "revoke this device from another of your devices",
            ));
        }
        if target.state == "revoked" {
            return Ok(());
        }
        let id = hex_id::<32>(&target.device_id)
            .map(DeviceId)
            .ok_or_else(|| CoreError::new("internal", "bad device id"))?;
        self.change_own_log(DeviceOp::RevokeDevice {
            device: id,
            cutoff: None,
            reason: RevokeReason::Retired,
        })
        .await?;
        self.inner.sync.disconnect(&id, b"revoked").await;
        Ok(())
    }

    /// Accepts a `kith-link:` request from a new device: adds it to this
    /// account; it then receives the device log, the self log and history.
    pub async fn link_accept(&self, uri: &str) -> Result<DeviceView> {
        self.ensure_not_revoked()?;
        let request = invite::parse_uri(uri, now_secs())?;
        let InviteKind::LinkDevice { identity_key, .. } = request.kind else {
            return Err(CoreError::new(
                "bad_uri",
                "this is a contact invite (kith:); use `kith contact add`",
            ));
        };
        let addr = endpoint_addr(&request.transport, &request.addresses)?;
        let log = self.own_log_entries().await;
        let announcement = self.own_announcement().await;
        let endpoint = self.inner.sync.endpoint().clone();
        let (reply, dial) = dial_link(&endpoint, addr, request.secret, log, announcement).await?;
        let LinkReply::Join { op } = reply else {
            return Err(CoreError::new("network", "the new device answered oddly"));
        };
        let DeviceOp::AddDevice { device, .. } = op.as_ref() else {
            return Err(CoreError::new(
                "network",
                "the new device sent no add-device operation",
            ));
        };
        if device.device != request.device
            || device.transport != request.transport
            || device.identity_key != identity_key
        {
            return Err(CoreError::new(
                "network",
                "the device that answered is not the one in the link request",
            ));
        }
        let new_device = device.device;
        let entries = self.change_own_log(*op).await?;
        dial.joined(entries).await?;
        // Sync at once: the new device wants the history.
        let node = self.clone();
        self.spawn(async move { node.try_connect_transport(request.transport).await });
        self.devices()
            .await
            .into_iter()
            .find(|d| d.device_id == new_device.to_hex())
            .ok_or_else(|| CoreError::new("internal", "the new device is missing from the log"))
    }

    async fn try_connect_transport(&self, transport: TransportId) {
        let Some(device) = self.with(|r| r.device_for_transport(&transport)).await else {
            return;
        };
        let _ = self.connect_device(device).await;
    }

    /// The address of a device as far as known.
    async fn device_addr(&self, device: &DeviceId) -> Option<EndpointAddr> {
        self.with(|r| {
            let record = r
                .known_accounts()
                .iter()
                .filter_map(|a| r.device_log(a))
                .find_map(|l| l.state().devices.get(device).cloned())?;
            let addresses: Vec<std::net::SocketAddr> = r
                .announcements()
                .find(|(a, _)| a.device == *device)
                .map(|(a, _)| a.addresses.clone())
                .unwrap_or_default();
            endpoint_addr(&record.record.transport, &addresses).ok()
        })
        .await
    }

    async fn connect_device(&self, device: DeviceId) -> Result<()> {
        let addr = self
            .device_addr(&device)
            .await
            .ok_or_else(|| CoreError::new("not_reachable", "no address known"))?;
        self.inner.sync.connect(addr).await?;
        Ok(())
    }

    /// Devices to stay connected with: my other devices and my contacts'.
    async fn targets(&self) -> Vec<DeviceId> {
        self.with(|r| {
            let me = r.device_id();
            let contacts = r.self_state().contacts;
            r.known_accounts()
                .iter()
                .filter(|a| **a == r.account_id() || contacts.contains_key(a))
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
    async fn connect_round(&self) {
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
            .with(|r| profile::invites(r.storage_mut(), "redeem/"))
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

    async fn record_attempt(&self, slot: Vec<u8>, ok: bool) {
        let mut backoff = self.inner.backoff.lock().await;
        if ok {
            backoff.remove(&slot);
        } else {
            backoff
                .entry(slot)
                .or_insert(Backoff {
                    failures: 0,
                    next: Instant::now(),
                })
                .failed();
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

    fn emit(&self, event: NodeEvent) {
        let _ = self.inner.events.send(event);
    }
}

fn save_new_profile(
    store: &mut Store,
    keys: &DeviceKeys,
    log: &DeviceLog,
    addresses: &[SignedAnnouncement],
) -> Result<()> {
    let exported = keys.export()?;
    let account = log.account_id();
    let log_bytes = encode_log(log)?;
    let mut rows: Vec<(String, Vec<u8>)> = vec![
        ("account".into(), account.as_bytes().to_vec()),
        (log_key(&account), log_bytes),
    ];
    for a in addresses {
        if let Ok(parsed) = a.peek(kith_wire::limits::MAX_ENTRY_BYTES) {
            let parsed: AddressAnnouncement = parsed;
            rows.push((addr_key(&parsed.device), encode(a)?));
        }
    }
    let mut changes: Vec<(&str, Option<&[u8]>)> = vec![("keys", Some(exported.expose()))];
    changes.extend(rows.iter().map(|(k, v)| (k.as_str(), Some(v.as_slice()))));
    store.profile_write(&changes)?;
    Ok(())
}

pub(crate) fn save_linked_profile(
    dir: &Path,
    keys: &DeviceKeys,
    log: &DeviceLog,
    contacts: &[DeviceLog],
    addresses: &[SignedAnnouncement],
) -> Result<()> {
    let mut store = Store::create(dir, protection_from_env())?;
    save_new_profile(&mut store, keys, log, addresses)?;
    let rows: Vec<(String, Vec<u8>)> = contacts
        .iter()
        .map(|l| Ok((log_key(&l.account_id()), encode_log(l)?)))
        .collect::<Result<_>>()?;
    let changes: Vec<(&str, Option<&[u8]>)> = rows
        .iter()
        .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
        .collect();
    store.profile_write(&changes)?;
    Ok(())
}

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

fn feed(lookup: &MemoryLookup, announcement: &AddressAnnouncement) {
    if let Ok(addr) = endpoint_addr(&announcement.transport, &announcement.addresses) {
        lookup.set_endpoint_info(addr);
    }
}

/// Keeps connections up while online: a round every half second.
async fn connector(weak: std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let node = Node { inner };
        node.connect_round().await;
        drop(node);
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Turns the engine's events into stored state and node events.
async fn event_loop(weak: std::sync::Weak<Inner>, mut rx: mpsc::UnboundedReceiver<Event>) {
    while let Some(event) = rx.recv().await {
        let Some(inner) = weak.upgrade() else { return };
        let node = Node { inner };
        if let Err(e) = node.on_event(event).await {
            tracing::warn!("handling an engine event failed: {e}");
        }
    }
}

impl Node {
    async fn on_event(&self, event: Event) -> Result<()> {
        match event {
            Event::NewEntry { conversation, id } => {
                let event = self
                    .with(|r| {
                        let self_id = r.self_conversation_id().ok()?;
                        let entry = r.conversation(&conversation)?.get(&id)?;
                        let header = &entry.header;
                        match (header.kind, &entry.body) {
                            (EntryKind::Message, _) => Some(NodeEvent::MessageReceived {
                                conversation_id: conversation.to_hex(),
                                message_id: id.to_hex(),
                                author_account: header.author_account.to_hex(),
                            }),
                            (
                                EntryKind::Receipt,
                                kith_sync::Body::Plain {
                                    content: Content::Receipt { entries },
                                    ..
                                },
                            ) => Some(NodeEvent::Delivered {
                                conversation_id: conversation.to_hex(),
                                device_id: header.author_device.to_hex(),
                                message_ids: entries.iter().map(EntryHash::to_hex).collect(),
                            }),
                            (
                                EntryKind::Record,
                                kith_sync::Body::Plain {
                                    content:
                                        Content::Record(SelfRecord::Contact { account, trust, .. }),
                                    ..
                                },
                            ) if conversation == self_id => Some(NodeEvent::TrustChanged {
                                contact_id: account.to_hex(),
                                state: trust_name(*trust).into(),
                            }),
                            (EntryKind::Tombstone, _) if conversation == self_id => {
                                Some(NodeEvent::Deleted {
                                    conversation_id: conversation.to_hex(),
                                })
                            }
                            _ => None,
                        }
                    })
                    .await;
                if let Some(event) = event {
                    self.emit(event);
                }
            }
            Event::DirectoryChanged { accounts } => {
                for account in accounts {
                    let (bytes, revoked, inactive) = self
                        .with(|r| {
                            let log = r.device_log(&account)?;
                            let bytes = encode_log(log).ok()?;
                            let revoked =
                                account == r.account_id() && !log.state().is_active(&r.device_id());
                            let inactive: Vec<DeviceId> = log
                                .state()
                                .devices
                                .values()
                                .filter(|d| d.status != DeviceStatus::Active)
                                .map(|d| d.record.device)
                                .collect();
                            Some((bytes, revoked, inactive))
                        })
                        .await
                        .ok_or_else(|| CoreError::new("internal", "log vanished"))?;
                    let key = log_key(&account);
                    self.with(|r| r.storage_mut().profile_write(&[(&key, Some(&bytes))]))
                        .await?;
                    for device in inactive {
                        self.inner.sync.disconnect(&device, b"revoked").await;
                    }
                    if revoked
                        && !self
                            .inner
                            .revoked
                            .swap(true, std::sync::atomic::Ordering::Relaxed)
                    {
                        self.emit(NodeEvent::ThisDeviceRevoked);
                    }
                    self.emit(NodeEvent::DevicesChanged {
                        account_id: account.to_hex(),
                    });
                }
            }
            Event::AddressesChanged(list) => {
                let mut rows = Vec::new();
                for a in &list {
                    feed(&self.inner.lookup, a);
                    let signed = self
                        .with(|r| {
                            r.announcements()
                                .find(|(held, _)| held.device == a.device)
                                .map(|(_, s)| s.clone())
                        })
                        .await;
                    if let Some(signed) = signed {
                        rows.push((addr_key(&a.device), encode(&signed)?));
                    }
                }
                let changes: Vec<(&str, Option<&[u8]>)> = rows
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
                    .collect();
                self.with(|r| r.storage_mut().profile_write(&changes))
                    .await?;
            }
            Event::StorageFailed(message) => self.emit(NodeEvent::StorageFailed { message }),
            Event::Refused { from, reason } => {
                tracing::info!("refused from {:?}: {reason}", from);
            }
        }
        Ok(())
    }
}

impl LinkService for Node {
    async fn redeem(
        &self,
        remote: TransportId,
        secret: InviteSecret,
        log: Vec<SignedDeviceEntry>,
        announcement: Option<SignedAnnouncement>,
    ) -> std::result::Result<LinkReply, String> {
        let key = invite_key(&secret).map_err(|e| e.to_string())?;
        let stored = self
            .with(|r| r.storage_mut().profile_get(&key))
            .await
            .map_err(|e| e.to_string())?
            .ok_or_else(|| "unknown or already used invite".to_owned())?;
        let invite: Invite =
            kith_wire::decode(stored.expose(), kith_wire::limits::MAX_INVITE_BYTES)
                .map_err(|_| "damaged invite".to_owned())?;
        // Claimed now, before anything else: single use even when two
        // dialers race with the same secret.
        self.with(|r| r.storage_mut().profile_write(&[(&key, None)]))
            .await
            .map_err(|e| e.to_string())?;
        if !kith_crypto::ct_eq(invite.secret.as_bytes(), secret.as_bytes()) {
            return Err("unknown or already used invite".into());
        }
        if invite.expires_at < now_secs() {
            return Err("the invite has expired".into());
        }
        let log = crate::join::dialer_log(log, &remote)?;
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
        let log = self.own_log_entries().await;
        let announcement = self.own_announcement().await;
        // Sync right away with the device that just redeemed.
        let node = self.clone();
        self.spawn(async move {
            tokio::time::sleep(Duration::from_millis(200)).await;
            node.try_connect_transport(remote).await;
        });
        Ok(LinkReply::Contact { log, announcement })
    }

    async fn joined(
        &self,
        _remote: TransportId,
        _log: Vec<SignedDeviceEntry>,
    ) -> std::result::Result<(), String> {
        Err("this device is not waiting to be linked".into())
    }
}
