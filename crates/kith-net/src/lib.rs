//! Kith's network layer: one iroh endpoint per device, keyed with the
//! device's transport seed, and one protocol handler per ALPN:
//! `kith/sync/1` ([`SyncProtocol`], log sync and push around the sans-I/O
//! engine) and `kith/link/1` ([`LinkProtocol`], invite redemption and device
//! linking). Address lookup (a memory lookup fed from invites and signed
//! announcements, mDNS, the mainline DHT), relays and the portmapper are set
//! in [`NetConfig`]. Details in `docs/network.md`.
//!
//! A sync connection carries one bidirectional stream of length-prefixed
//! [`SyncMessage`] frames (`u32` big-endian length, then the encoding; at
//! most [`limits::MAX_FRAME_BYTES`]). The remote endpoint id, authenticated
//! by QUIC's TLS, is mapped to a device through the device logs the replica
//! holds; an endpoint that is no known device is refused before any frame.
#![forbid(unsafe_code)]

mod config;
mod frame;
mod link;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointAddr};
use kith_sync::{Event, Input, Output, Replica, Storage};
use kith_wire::{DeviceId, SyncMessage, TransportId, limits};
use tokio::sync::{Mutex, mpsc};

pub use config::{NetConfig, Relays, bind, bind_with};
pub use frame::{read_frame, write_frame};
pub use iroh;
pub use link::{
    LINK_ALPN, LINK_TIMEOUT, LinkDial, LinkProtocol, LinkReply, LinkService, dial_link,
};

/// The ALPN of log sync and push.
pub const SYNC_ALPN: &[u8] = b"kith/sync/1";

/// Frames queued per connection before a slow peer is disconnected.
const QUEUE: usize = 1024;

/// How long a connection attempt may take.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(8);

/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The endpoint could not be bound.
    #[error("cannot bind the endpoint: {0}")]
    Bind(String),
    /// The configuration is invalid.
    #[error("network configuration: {0}")]
    Config(String),
    /// Connecting failed.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The exchange took too long.
    #[error("timed out")]
    Timeout,
    /// The remote endpoint is not a device we know.
    #[error("unknown peer")]
    UnknownPeer,
    /// The peer refused.
    #[error("refused: {0}")]
    Refused(String),
    /// The peer broke the protocol.
    #[error("protocol error: {0}")]
    Protocol(&'static str),
    /// A stream failed or a frame was malformed.
    #[error("stream: {0}")]
    Stream(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Peer {
    queue: mpsc::Sender<SyncMessage>,
    connection: Connection,
}

struct Inner<S> {
    replica: Mutex<Replica<S>>,
    endpoint: Endpoint,
    peers: Mutex<HashMap<DeviceId, Peer>>,
    events: Option<mpsc::UnboundedSender<Event>>,
    /// When a frame last went in or out (Unix ms): lets `sync` see quiet.
    last_activity: AtomicU64,
}

/// A device online: its endpoint, its engine, and its live connections.
/// Cheap to clone.
pub struct SyncNode<S> {
    inner: Arc<Inner<S>>,
}

impl<S> Clone for SyncNode<S> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S> std::fmt::Debug for SyncNode<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncNode").finish_non_exhaustive()
    }
}

impl<S: Storage + Send + 'static> SyncNode<S> {
    /// Puts `replica` online on `endpoint`; the engine's events are dropped.
    pub fn new(endpoint: Endpoint, replica: Replica<S>) -> Self {
        Self::build(endpoint, replica, None)
    }

    /// Puts `replica` online on `endpoint`; the engine's events go to `events`.
    pub fn with_events(
        endpoint: Endpoint,
        replica: Replica<S>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        Self::build(endpoint, replica, Some(events))
    }

    fn build(
        endpoint: Endpoint,
        replica: Replica<S>,
        events: Option<mpsc::UnboundedSender<Event>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                replica: Mutex::new(replica),
                endpoint,
                peers: Mutex::new(HashMap::new()),
                events,
                last_activity: AtomicU64::new(now_ms()),
            }),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// How many handles to this node exist (connection tasks hold one each).
    pub fn handles(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// Runs `f` on the engine and carries out what it outputs.
    pub async fn with_replica<R>(&self, f: impl FnOnce(&mut Replica<S>) -> (R, Vec<Output>)) -> R {
        let (result, outputs) = {
            let mut replica = self.inner.replica.lock().await;
            f(&mut replica)
        };
        self.route(outputs).await;
        result
    }

    async fn route(&self, outputs: Vec<Output>) {
        let peers = self.inner.peers.lock().await;
        for output in outputs {
            match output {
                Output::Send { to, message } => {
                    if let Some(peer) = peers.get(&to)
                        && peer.queue.try_send(message).is_err()
                    {
                        tracing::warn!("a peer's send queue is full; frame dropped");
                    }
                }
                Output::Event(event) => {
                    if let Some(events) = &self.inner.events {
                        let _ = events.send(event);
                    }
                }
            }
        }
    }

    fn touch(&self) {
        self.inner.last_activity.store(now_ms(), Ordering::Relaxed);
    }

    /// Milliseconds since a frame last went in or out.
    pub fn quiet_for_ms(&self) -> u64 {
        now_ms().saturating_sub(self.inner.last_activity.load(Ordering::Relaxed))
    }

    /// The devices connected now.
    pub async fn connected(&self) -> Vec<DeviceId> {
        self.inner.peers.lock().await.keys().copied().collect()
    }

    /// Closes the connection to `device`, if any (a revoked device).
    pub async fn disconnect(&self, device: &DeviceId, reason: &[u8]) {
        if let Some(peer) = self.inner.peers.lock().await.remove(device) {
            peer.connection.close(3u32.into(), reason);
        }
    }

    /// Closes every connection.
    pub async fn disconnect_all(&self) {
        for (_, peer) in self.inner.peers.lock().await.drain() {
            peer.connection.close(0u32.into(), b"shutting down");
        }
    }

    /// The device of an endpoint: an active one, or one a known log has
    /// revoked (it may bring the device-log entries that show otherwise;
    /// the engine takes only those from it).
    async fn device_of(&self, transport: &TransportId) -> Option<DeviceId> {
        self.inner
            .replica
            .lock()
            .await
            .peer_for_transport(transport)
    }

    /// Whether `device` is an active device of a known log now.
    async fn is_active(&self, device: &DeviceId) -> bool {
        self.with_replica(|r| (r.is_active_device(device), Vec::new()))
            .await
    }

    /// Connects to a device (its endpoint id, with addresses if known) and
    /// syncs with it until the connection ends. Returns when the connection
    /// is up, or after [`CONNECT_TIMEOUT`].
    pub async fn connect(&self, addr: EndpointAddr) -> Result<()> {
        let transport = TransportId(*addr.id.as_bytes());
        let peer = self
            .device_of(&transport)
            .await
            .ok_or(NetError::UnknownPeer)?;
        let attempt = async {
            let connection = self
                .inner
                .endpoint
                .connect(addr, SYNC_ALPN)
                .await
                .map_err(|e| NetError::Connect(e.to_string()))?;
            let (send, recv) = connection
                .open_bi()
                .await
                .map_err(|e| NetError::Connect(e.to_string()))?;
            Ok::<_, NetError>((connection, send, recv))
        };
        let (connection, send, recv) = tokio::time::timeout(CONNECT_TIMEOUT, attempt)
            .await
            .map_err(|_| NetError::Timeout)??;
        let node = self.clone();
        tokio::spawn(async move { node.run(peer, connection, send, recv).await });
        Ok(())
    }

    async fn run(
        self,
        peer: DeviceId,
        connection: Connection,
        mut send: SendStream,
        mut recv: RecvStream,
    ) {
        let (queue, mut outgoing) = mpsc::channel::<SyncMessage>(QUEUE);
        // A newer connection to the same device replaces this one's queue.
        self.inner.peers.lock().await.insert(
            peer,
            Peer {
                queue: queue.clone(),
                connection: connection.clone(),
            },
        );
        self.touch();
        let writer_node = self.clone();
        let writer = tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if write_frame(&mut send, &message).await.is_err() {
                    break;
                }
                writer_node.touch();
            }
            let _ = send.finish();
        });
        self.with_replica(|r| ((), r.handle(Input::Connected(peer), now_ms())))
            .await;
        loop {
            match read_frame::<SyncMessage>(&mut recv, limits::MAX_FRAME_BYTES).await {
                Ok(Some(message)) => {
                    self.touch();
                    let input = Input::Received {
                        from: peer,
                        message,
                    };
                    self.with_replica(|r| ((), r.handle(input, now_ms()))).await;
                }
                Ok(None) => break,
                Err(e) => {
                    tracing::debug!("closing a connection: {e}");
                    connection.close(1u32.into(), b"bad frame");
                    break;
                }
            }
        }
        {
            // Only this connection's own entry: a newer one may have replaced it.
            let mut peers = self.inner.peers.lock().await;
            if peers
                .get(&peer)
                .is_some_and(|p| p.queue.same_channel(&queue))
            {
                peers.remove(&peer);
            }
        }
        drop(queue);
        self.with_replica(|r| ((), r.handle(Input::Disconnected(peer), now_ms())))
            .await;
        writer.abort();
    }
}

/// How long a connection from a device believed revoked stays open: long
/// enough for the device logs to cross.
const REVOKED_GRACE: Duration = Duration::from_secs(10);

/// The `kith/sync/1` handler: accepts connections from known devices.
pub struct SyncProtocol<S>(pub SyncNode<S>);

impl<S> Clone for SyncProtocol<S> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<S> std::fmt::Debug for SyncProtocol<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SyncProtocol")
    }
}

impl<S: Storage + Send + Sync + 'static> ProtocolHandler for SyncProtocol<S> {
    async fn accept(&self, connection: Connection) -> std::result::Result<(), AcceptError> {
        let transport = TransportId(*connection.remote_id().as_bytes());
        let Some(peer) = self.0.device_of(&transport).await else {
            connection.close(2u32.into(), b"unknown device");
            return Ok(());
        };
        let (send, recv) = connection.accept_bi().await?;
        if !self.0.is_active(&peer).await {
            // A device believed revoked: time for the directories to cross,
            // then the connection ends unless they made it active again.
            // Weak: the wait does not keep a closing node (and its store)
            // open.
            let node = Arc::downgrade(&self.0.inner);
            tokio::spawn(async move {
                tokio::time::sleep(REVOKED_GRACE).await;
                let Some(inner) = node.upgrade() else { return };
                let node = SyncNode { inner };
                if !node.is_active(&peer).await {
                    node.disconnect(&peer, b"revoked").await;
                }
            });
        }
        self.0.clone().run(peer, connection, send, recv).await;
        Ok(())
    }
}
