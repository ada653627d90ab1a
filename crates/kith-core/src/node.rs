//! The node: one device profile, online or not. This file holds its state
//! and the few helpers every domain file uses; the methods of [`Node`] live
//! in files named for what they do (see `docs/architecture.md`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use kith_net::SyncNode;
use kith_net::iroh::address_lookup::MemoryLookup;
use kith_net::iroh::protocol::Router;
use kith_store::Store;
use kith_sync::Replica;
use tokio::sync::{Mutex, broadcast};
use tokio::task::JoinHandle;

use crate::backoff::Backoff;
use crate::error::{CoreError, Result};
use crate::views::NodeEvent;

/// Milliseconds since the Unix epoch (0 if the clock is before it).
pub(crate) fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

pub(crate) fn now_secs() -> u64 {
    now_ms() / 1000
}

/// What exists only while the node is online: the router serving its
/// protocols and the connector task.
pub(crate) struct Online {
    pub(crate) router: Router,
    pub(crate) tasks: Vec<JoinHandle<()>>,
}

/// The node's state, shared by every clone of the [`Node`].
pub(crate) struct Inner {
    pub(crate) sync: SyncNode<Store>,
    pub(crate) lookup: MemoryLookup,
    pub(crate) events: broadcast::Sender<NodeEvent>,
    pub(crate) online: Mutex<Option<Online>>,
    pub(crate) backoff: Mutex<HashMap<Vec<u8>, Backoff>>,
    pub(crate) revoked: std::sync::atomic::AtomicBool,
    /// Tasks the node started (the event loop; connect at once after a
    /// link or an invite); aborted on shutdown so the profile is released.
    pub(crate) tasks: std::sync::Mutex<tokio::task::JoinSet<()>>,
    pub(crate) dir: PathBuf,
    /// Deletions so far, and how many of them a compaction has covered
    /// (`compaction.rs`).
    pub(crate) deletions: std::sync::atomic::AtomicU64,
    pub(crate) compacted: std::sync::atomic::AtomicU64,
    /// Revoked devices of this account at the last prekey check
    /// (`prekeys.rs`): more now means rotate at once.
    pub(crate) revocations_seen: std::sync::atomic::AtomicUsize,
    /// Set when shutdown starts: no new short task is started.
    pub(crate) closing: std::sync::atomic::AtomicBool,
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

/// A fixed-length id from hex text.
pub(crate) fn hex_id<const N: usize>(text: &str) -> Option<[u8; N]> {
    kith_wire::hex_decode(text.trim()).and_then(|b| <[u8; N]>::try_from(b).ok())
}

impl Node {
    /// The profile folder.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// Events from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<NodeEvent> {
        self.inner.events.subscribe()
    }

    /// Runs `f` on the engine (it outputs nothing).
    pub(crate) async fn with<R>(&self, f: impl FnOnce(&mut Replica<Store>) -> R) -> R {
        self.inner.sync.with_replica(|r| (f(r), Vec::new())).await
    }

    /// Runs `f` on the engine and sends what it outputs.
    pub(crate) async fn act<R>(
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

    /// Fails with `device_revoked` once this device was removed from its account.
    pub(crate) fn ensure_not_revoked(&self) -> Result<()> {
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

    /// Starts a task that shutdown aborts.
    pub(crate) fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        if let Ok(mut tasks) = self.inner.tasks.lock() {
            if self.inner.closing.load(std::sync::atomic::Ordering::SeqCst) {
                return;
            }
            // Finished ones are dropped as new ones come.
            while tasks.try_join_next().is_some() {}
            tasks.spawn(task);
        }
    }

    /// Tells every subscriber.
    pub(crate) fn emit(&self, event: NodeEvent) {
        let _ = self.inner.events.send(event);
    }
}
