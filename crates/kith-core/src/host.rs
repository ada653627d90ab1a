//! A node that may not exist yet: the app starts before any profile does
//! (onboarding creates or links one). `Host` owns the profile folder and
//! the network settings, opens the node on demand, and carries its events
//! across the moment it is created.

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{Mutex, broadcast};

use kith_crypto::SecretVec;
use kith_store::{KeptBy, Protection, Unlock};

use crate::error::{CoreError, Result};
use crate::views::{Identity, NodeEvent};
use crate::{NetConfig, Node};

/// Where a profile lives by default: the OS data folder (`~/.local/share/kith`
/// on Linux, `~/Library/Application Support/kith` on macOS, `%APPDATA%\kith`
/// on Windows), unless `KITH_DATA_DIR` says otherwise.
pub fn default_data_dir() -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(dir) = env("KITH_DATA_DIR") {
        return dir;
    }
    let home = env("HOME").unwrap_or_else(|| PathBuf::from("."));
    if cfg!(target_os = "windows") {
        env("APPDATA").unwrap_or(home).join("kith")
    } else if cfg!(target_os = "macos") {
        home.join("Library/Application Support/kith")
    } else {
        env("XDG_DATA_HOME")
            .unwrap_or_else(|| home.join(".local/share"))
            .join("kith")
    }
}

/// Whether a profile exists and, if it is open, who it is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Status {
    /// A profile exists in the folder.
    pub has_profile: bool,
    /// The profile is protected by a passphrase and not unlocked yet (or
    /// was locked again): the app asks for the passphrase.
    pub locked: bool,
    /// The profile's key is wrapped by a passphrase (the app lock is on).
    pub app_lock: bool,
    /// This device and account, once open.
    pub identity: Option<Identity>,
    /// The profile folder.
    pub data_dir: String,
    /// The environment fixes the network (`KITH_LOCAL=1`): the network
    /// settings are saved but not used.
    pub network_from_env: bool,
}

/// The app's network switches for this device (not synced: each device
/// has its own network). Kept in `network.json` in the profile folder.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct NetworkSettings {
    /// Find and announce devices on the local network (mDNS).
    pub lan_discovery: bool,
    /// Publish and look up addresses on the mainline DHT.
    pub dht: bool,
    /// `"public"` (the iroh project's relays), `"none"`, or a self-hosted
    /// relay's URL.
    pub relay: String,
}

impl Default for NetworkSettings {
    fn default() -> Self {
        Self {
            lan_discovery: true,
            dht: true,
            relay: "public".into(),
        }
    }
}

impl NetworkSettings {
    /// File name inside the profile folder.
    pub const FILE: &'static str = "network.json";

    fn apply(&self, mut net: NetConfig) -> NetConfig {
        net.mdns = self.lan_discovery;
        net.dht = self.dht;
        net.relays = match self.relay.trim() {
            "public" | "" => crate::Relays::Default,
            "none" => crate::Relays::Disabled,
            url => crate::Relays::Custom(vec![url.to_owned()]),
        };
        net
    }

    fn check(&self) -> Result<()> {
        let relay = self.relay.trim();
        let valid = matches!(relay, "public" | "none" | "")
            || relay.starts_with("https://")
            || relay.starts_with("http://");
        if !valid {
            return Err(CoreError::new(
                "invalid_input",
                "a relay is \"public\", \"none\" or an http(s):// URL",
            ));
        }
        Ok(())
    }
}

/// The shortest passphrase the app accepts.
pub const MIN_PASSPHRASE_CHARS: usize = 8;

/// The node of one profile folder, opened (and put online) on demand.
pub struct Host {
    dir: PathBuf,
    net: NetConfig,
    /// Network settings are fixed by the environment (tests): the settings
    /// file is ignored.
    net_fixed: bool,
    node: Mutex<Option<Node>>,
    events: broadcast::Sender<NodeEvent>,
}

impl std::fmt::Debug for Host {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Host")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Host {
    /// A host for the profile in `dir`: the network follows the settings
    /// file (`network.json`) on top of `net`, unless `net_fixed`.
    pub fn new(dir: &Path, net: NetConfig, net_fixed: bool) -> Self {
        let (events, _) = broadcast::channel(1024);
        Self {
            dir: dir.to_owned(),
            net,
            net_fixed,
            node: Mutex::new(None),
            events,
        }
    }

    /// Events of whichever node is open now or later.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.events.subscribe()
    }

    /// This device's network settings (defaults when none are saved).
    pub fn network_settings(&self) -> NetworkSettings {
        std::fs::read(self.dir.join(NetworkSettings::FILE))
            .ok()
            .and_then(|bytes| serde_json::from_slice(&bytes).ok())
            .unwrap_or_default()
    }

    /// Saves network settings and restarts the node with them.
    pub async fn set_network_settings(&self, settings: NetworkSettings) -> Result<NetworkSettings> {
        settings.check()?;
        let bytes = serde_json::to_vec_pretty(&settings)
            .map_err(|e| CoreError::new("internal", e.to_string()))?;
        std::fs::create_dir_all(&self.dir)
            .and_then(|()| std::fs::write(self.dir.join(NetworkSettings::FILE), bytes))
            .map_err(|e| CoreError::new("io", format!("cannot save the settings: {e}")))?;
        let open = self.node.lock().await.take();
        if let Some(node) = open {
            node.shutdown().await;
            drop(node);
            self.node().await?;
        }
        Ok(settings)
    }

    fn net(&self) -> NetConfig {
        if self.net_fixed {
            self.net.clone()
        } else {
            self.network_settings().apply(self.net.clone())
        }
    }

    fn has_profile(&self) -> bool {
        self.dir.join(kith_store::DATABASE_FILE).exists()
    }

    /// Whether the profile's key is wrapped by a passphrase.
    fn app_lock(&self) -> Result<bool> {
        Ok(kith_store::kept_by(&self.dir)? == KeptBy::Passphrase)
    }

    /// Whether opening needs the passphrase typed in: it protects the key
    /// and `KITH_PASSPHRASE` does not give it.
    fn needs_passphrase(app_lock: bool) -> bool {
        app_lock && !crate::protection::passphrase_in_env()
    }

    /// Puts `node` online, forwards its events, and keeps it as the open
    /// node (`slot` is the held lock on it).
    async fn adopt(&self, node: Node, slot: &mut Option<Node>) -> Result<Node> {
        node.go_online().await?;
        let mut from = node.subscribe();
        let to = self.events.clone();
        tokio::spawn(async move {
            loop {
                match from.recv().await {
                    Ok(event) => {
                        let _ = to.send(event);
                    }
                    Err(broadcast::error::RecvError::Lagged(_)) => {}
                    Err(broadcast::error::RecvError::Closed) => return,
                }
            }
        });
        *slot = Some(node.clone());
        Ok(node)
    }

    /// The open node, opening (and putting online) the profile if needed;
    /// `no_profile` if there is none yet. Callers at the same time wait for
    /// one opening.
    pub async fn node(&self) -> Result<Node> {
        let mut slot = self.node.lock().await;
        if let Some(node) = slot.as_ref() {
            return Ok(node.clone());
        }
        let node = Node::open(&self.dir, self.net()).await?;
        self.adopt(node, &mut slot).await
    }

    /// Opens the profile if it needs no passphrase (nothing otherwise).
    /// The app runs this in the background at start-up, so loading the
    /// profile overlaps the window's and webview's start-up; the UI's first
    /// `status` then finds it open, or waits for this opening.
    pub async fn warm_up(&self) {
        let app_lock = self.app_lock().unwrap_or(false);
        if !self.has_profile() || Self::needs_passphrase(app_lock) {
            return;
        }
        if let Err(e) = self.node().await {
            tracing::warn!("opening the profile: {e}");
        }
    }

    /// Whether a profile exists, and who it is (opening it if it exists
    /// and needs no passphrase, or `KITH_PASSPHRASE` gives it).
    pub async fn status(&self) -> Result<Status> {
        let mut status = Status {
            has_profile: self.has_profile(),
            locked: false,
            app_lock: false,
            identity: None,
            data_dir: self.dir.display().to_string(),
            network_from_env: self.net_fixed,
        };
        if !status.has_profile {
            return Ok(status);
        }
        status.app_lock = self.app_lock()?;
        let open = self.node.lock().await.clone();
        let node = match open {
            Some(node) => node,
            None if Self::needs_passphrase(status.app_lock) => {
                status.locked = true;
                return Ok(status);
            }
            None => self.node().await?,
        };
        status.identity = Some(node.identity().await);
        Ok(status)
    }

    /// Unlocks the passphrase-protected profile and puts it online.
    pub async fn unlock(&self, passphrase: String) -> Result<Identity> {
        let mut open = self.node.lock().await;
        if let Some(node) = open.as_ref() {
            return Ok(node.identity().await);
        }
        let passphrase = SecretVec::from_vec(passphrase.into_bytes());
        let node = Node::unlock(&self.dir, self.net(), passphrase).await?;
        Ok(self.adopt(node, &mut open).await?.identity().await)
    }

    /// Locks the app: the node goes offline and its keys leave memory
    /// until [`Host::unlock`]. Only with a passphrase set (otherwise
    /// anyone could open it again).
    pub async fn lock(&self) -> Result<()> {
        if !self.app_lock()? {
            return Err(CoreError::new(
                "invalid_input",
                "set a passphrase first: without one the app opens without asking",
            ));
        }
        self.shutdown().await;
        Ok(())
    }

    /// Sets, changes (`new`) or removes (`None`) the passphrase that
    /// protects this device's profile. When one is set, `current` must be
    /// it. Without a passphrase the key goes to the OS keystore if there is
    /// one, else to an owner-only key file. Returns the new status.
    pub async fn set_passphrase(
        &self,
        current: Option<String>,
        new: Option<String>,
    ) -> Result<Status> {
        let kept = kith_store::kept_by(&self.dir)?;
        let current = current.filter(|_| kept == KeptBy::Passphrase);
        match new {
            Some(new) if new.chars().count() < MIN_PASSPHRASE_CHARS => Err(CoreError::new(
                "invalid_input",
                format!("a passphrase needs at least {MIN_PASSPHRASE_CHARS} characters"),
            )),
            Some(new) => self.rekey(kept, current, new).await,
            None if kept != KeptBy::Passphrase => {
                Err(CoreError::new("invalid_input", "no passphrase is set"))
            }
            // Weaker protection: the same root key, wrapped anew.
            None => {
                let unlock = unlock_for(kept, current.as_deref());
                let protection = crate::protection::protection_without_passphrase();
                let dir = self.dir.clone();
                tokio::task::spawn_blocking(move || kith_store::rewrap(&dir, unlock, protection))
                    .await
                    .map_err(|e| CoreError::new("internal", e.to_string()))??;
                self.status().await
            }
        }
    }

    /// Stronger protection (a passphrase set or changed): a new root key,
    /// so a key file kept from before (a backup, freed disk blocks) opens
    /// nothing. The node closes for it and opens again under the new key,
    /// on the port it had (after a failure, as it was).
    async fn rekey(&self, kept: KeptBy, current: Option<String>, new: String) -> Result<Status> {
        let mut slot = self.node.lock().await;
        let was_open = slot.take();
        let previous = was_open.as_ref().map(Node::bound_addresses);
        if let Some(node) = &was_open {
            node.shutdown().await;
        }
        drop(was_open);
        let (dir, old, fresh) = (self.dir.clone(), current.clone(), new.clone());
        let rekeyed = tokio::task::spawn_blocking(move || {
            // The closed node's last references (a connection task, the
            // router) may hold the database a moment longer.
            let deadline = std::time::Instant::now() + Duration::from_secs(10);
            loop {
                let protection = Protection::Passphrase(
                    SecretVec::from_vec(fresh.clone().into_bytes()),
                    crate::protection::PASSPHRASE_LIMITS,
                );
                match kith_store::rekey(&dir, unlock_for(kept, old.as_deref()), protection) {
                    Err(e) if e.is_in_use() && std::time::Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    other => return other,
                }
            }
        })
        .await
        .map_err(|e| CoreError::new("internal", e.to_string()))?;
        if let Some(previous) = previous {
            let passphrase = match &rekeyed {
                Ok(()) => Some(new.as_str()),
                Err(_) => current.as_deref(),
            };
            let node = crate::profile::reopen(&self.dir, self.net(), &previous, passphrase).await;
            match (node, &rekeyed) {
                (Ok(node), _) => {
                    self.adopt(node, &mut slot).await?;
                }
                // The re-key's own error says more.
                (Err(e), Ok(())) => return Err(e),
                (Err(_), Err(_)) => {}
            }
        }
        drop(slot);
        rekeyed?;
        self.status().await
    }

    /// Creates a new account on this device.
    pub async fn create(&self, name: &str, device_name: &str) -> Result<Identity> {
        let mut slot = self.node.lock().await;
        let node = Node::create(
            &self.dir,
            name,
            device_name,
            self.net(),
            crate::protection_from_env(),
        )
        .await?;
        Ok(self.adopt(node, &mut slot).await?.identity().await)
    }

    /// Links this (new) device to an account: `on_uri` gets the
    /// `kith-link:` URI to show; returns once a device of the account has
    /// accepted (at most 10 minutes) and the history sync has started.
    pub async fn link_request(
        &self,
        device_name: &str,
        on_uri: impl FnOnce(String) + Send,
    ) -> Result<Identity> {
        if self.has_profile() {
            return Err(CoreError::new(
                "profile_exists",
                "this device already has a profile",
            ));
        }
        let node = crate::request_link(
            &self.dir,
            device_name,
            self.net(),
            Duration::from_secs(kith_identity::invite::DEFAULT_LINK_TTL_SECS),
            on_uri,
        )
        .await?;
        let mut slot = self.node.lock().await;
        Ok(self.adopt(node, &mut slot).await?.identity().await)
    }

    /// Closes the node (clean shutdown).
    pub async fn shutdown(&self) {
        if let Some(node) = self.node.lock().await.take() {
            node.shutdown().await;
        }
    }
}

/// How to unlock a profile kept as `kept` (with `current`, its passphrase).
fn unlock_for(kept: KeptBy, current: Option<&str>) -> Unlock {
    match kept {
        KeptBy::Passphrase => Unlock::Passphrase(SecretVec::from_vec(
            current.unwrap_or_default().as_bytes().to_vec(),
        )),
        KeptBy::KeyFile => Unlock::KeyFile,
        KeptBy::Keystore => Unlock::Keystore,
    }
}
