//! Creating, opening, unlocking and closing a device profile.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kith_crypto::SecretVec;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_net::iroh::address_lookup::MemoryLookup;
use kith_net::{NetConfig, SyncNode, bind_with};
use kith_session::Sessions;
use kith_store::{DATABASE_FILE, Protection, Store, Unlock};
use kith_sync::Replica;
use kith_wire::{AddressAnnouncement, DeviceOp, SignedAnnouncement, encode};
use tokio::sync::{Mutex, broadcast, mpsc};

use crate::error::{CoreError, Result};
use crate::events::event_loop;
use crate::node::{Inner, Node, now_ms};
use crate::online::feed;
use crate::profile_table::{self, addr_key, encode_log, log_key};
use crate::protection::{passphrase_in_env, protection_from_env, unlock_from_env};
use crate::views::Identity;

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
        let mut log = DeviceLog::create(&keys, name, now_ms())?;
        let proof = DeviceOp::ProveTransport {
            signature: keys.transport_proof()?,
        };
        log.append(&keys, proof, now_ms())?;
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

    pub(crate) async fn load(store: Store, net: NetConfig) -> Result<Self> {
        let dir = store.dir().to_owned();
        let loaded = profile_table::load(&store)?;
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
                deletions: std::sync::atomic::AtomicU64::new(0),
                compacted: std::sync::atomic::AtomicU64::new(0),
                revocations_seen: std::sync::atomic::AtomicUsize::new(usize::MAX),
                closing: std::sync::atomic::AtomicBool::new(false),
            }),
        };
        // Among the node's tasks: once shutdown returns, nothing can take
        // the node up again, so the caller's drop closes the profile.
        let weak = Arc::downgrade(&node.inner);
        node.spawn(async move { event_loop(weak, rx).await });
        Ok(node)
    }

    /// This device and account.
    pub async fn identity(&self) -> Identity {
        let addresses = self.addresses().await;
        self.with(|r| {
            let account = r.account_id();
            let me = r.device_id();
            // The directory holds this device's announcement decoded.
            let relay = r
                .announcements()
                .find(|(a, _)| a.device == me)
                .and_then(|(a, _)| a.relay.clone());
            let name = r
                .device_log(&account)
                .and_then(|l| l.state().name.clone())
                .unwrap_or_default();
            Identity {
                account_id: account.to_hex(),
                device_id: me.to_hex(),
                name,
                addresses: addresses.iter().map(ToString::to_string).collect(),
                relay,
            }
        })
        .await
    }

    /// Stops serving and closes every connection; everything acknowledged
    /// is already durable. When it returns, the node's own tasks are gone:
    /// once the caller drops its handles, the profile is closed and can be
    /// opened again.
    pub async fn shutdown(&self) {
        // No new short task from here on (events still being handled):
        // set under the lock `spawn` checks it under.
        if let Ok(_tasks) = self.inner.tasks.lock() {
            self.inner
                .closing
                .store(true, std::sync::atomic::Ordering::SeqCst);
        }
        let mut online = self.inner.online.lock().await.take();
        // The connector and the prekey keeper first: they start short tasks.
        if let Some(online) = online.as_mut() {
            for task in online.tasks.drain(..) {
                task.abort();
                let _ = task.await;
            }
        }
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
        // A deletion not compacted yet (its settle time cut short).
        self.compact_if_due().await;
        if let Some(online) = online {
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
}

/// Opens the profile in `dir` right after a node of it closed (with
/// `passphrase` if given). When `net` asks for any port on an address the
/// closed node listened on, the same port is taken again, so contacts
/// reach it where they know it. The port may take a moment to be free:
/// retried for at most 5 s.
pub(crate) async fn reopen(
    dir: &Path,
    mut net: NetConfig,
    previous: &[std::net::SocketAddr],
    passphrase: Option<&str>,
) -> Result<Node> {
    if let Some(bind) = net.bind.as_mut()
        && bind.port() == 0
        && let Some(old) = previous.iter().find(|a| a.ip() == bind.ip())
    {
        bind.set_port(old.port());
    }
    let mut last = None;
    for _ in 0..20 {
        let opened = match passphrase {
            Some(p) => {
                let secret = SecretVec::from_vec(p.as_bytes().to_vec());
                Node::unlock(dir, net.clone(), secret).await
            }
            None => Node::open(dir, net.clone()).await,
        };
        match opened {
            Ok(node) => return Ok(node),
            Err(e) if e.code == "network" => {
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
            Err(e) => return Err(e),
        }
    }
    Err(last.unwrap_or_else(|| CoreError::new("network", "cannot bind")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::sync::Arc;

    use super::{NetConfig, Node, Protection};

    /// Once `shutdown` returns, no task of the node can take it up again
    /// (the event loop included): the caller's handles are the last ones,
    /// so dropping them closes the profile at once.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn after_shutdown_no_task_can_take_the_node_up_again() {
        let dir = tempfile::tempdir().unwrap();
        let node = Node::create(
            dir.path(),
            "Alice",
            "laptop",
            NetConfig::local(),
            Protection::KeyFile,
        )
        .await
        .unwrap();
        node.go_online().await.unwrap();
        node.shutdown().await;
        assert_eq!(Arc::strong_count(&node.inner), 1);
        assert_eq!(
            Arc::weak_count(&node.inner),
            0,
            "a task still holds the node"
        );
    }
}
