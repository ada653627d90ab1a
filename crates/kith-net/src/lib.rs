//! Kith's network layer (first slice): one iroh endpoint per device and the
//! `kith/sync/1` protocol around the sans-I/O sync engine.
//!
//! A connection carries one bidirectional stream of length-prefixed
//! [`SyncMessage`] frames (`u32` big-endian length, then the encoding; at
//! most [`limits::MAX_FRAME_BYTES`]). The remote endpoint id, authenticated
//! by QUIC's TLS, is mapped to a device through the device logs the replica
//! holds; an endpoint that is no known device is refused before any frame.
//! Every frame goes through [`Replica::handle`], and what it outputs is sent
//! on the connection to the device it names. Not built yet: address lookup
//! (mDNS, DHT), relays, reconnection with backoff, `kith/link/1`.
#![forbid(unsafe_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use iroh::endpoint::{Connection, PortmapperConfig, RecvStream, SendStream, presets};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointAddr, SecretKey};
use kith_crypto::SecretBytes;
use kith_sync::{Input, Output, Replica, Storage};
use kith_wire::{DeviceId, SyncMessage, TransportId, decode, encode, limits};
use tokio::sync::{Mutex, mpsc};

/// The ALPN of log sync and push.
pub const SYNC_ALPN: &[u8] = b"kith/sync/1";

/// Frames queued per connection before a slow peer is disconnected.
const QUEUE: usize = 1024;

/// Errors of the network layer.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetError {
    /// The endpoint could not be bound.
    #[error("cannot bind the endpoint: {0}")]
    Bind(String),
    /// Connecting failed.
    #[error("cannot connect: {0}")]
    Connect(String),
    /// The remote endpoint is not a device we know.
    #[error("unknown peer")]
    UnknownPeer,
    /// A stream failed or a frame was malformed.
    #[error("stream: {0}")]
    Stream(String),
}

/// Shorthand for results of this crate.
pub type Result<T, E = NetError> = std::result::Result<T, E>;

/// How the endpoint is set up. Tests use [`NetConfig::local`].
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Where to listen.
    pub bind: SocketAddr,
}

impl NetConfig {
    /// Loopback only, an ephemeral port, no relay, no portmapper, no lookup.
    pub fn local() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 0)),
        }
    }
}

/// Binds this device's iroh endpoint with its transport seed.
pub async fn bind(seed: &SecretBytes<32>, config: &NetConfig) -> Result<Endpoint> {
    Endpoint::builder(presets::Minimal)
        .secret_key(SecretKey::from_bytes(seed.expose()))
        .bind_addr(config.bind)
        .map_err(|e| NetError::Bind(e.to_string()))?
        .portmapper_config(PortmapperConfig::Disabled)
        .alpns(vec![SYNC_ALPN.to_vec()])
        .bind()
        .await
        .map_err(|e| NetError::Bind(e.to_string()))
}

/// Writes one frame.
pub async fn write_frame(send: &mut SendStream, message: &SyncMessage) -> Result<()> {
    let bytes = encode(message).map_err(|e| NetError::Stream(e.to_string()))?;
    let len = u32::try_from(bytes.len()).map_err(|_| NetError::Stream("frame too large".into()))?;
    send.write_all(&len.to_be_bytes())
        .await
        .map_err(|e| NetError::Stream(e.to_string()))?;
    send.write_all(&bytes)
        .await
        .map_err(|e| NetError::Stream(e.to_string()))
}

/// Reads one frame; `None` at the end of the stream. Oversized or
/// malformed frames are errors (the connection is then closed).
pub async fn read_frame(recv: &mut RecvStream) -> Result<Option<SyncMessage>> {
    let mut len = [0u8; 4];
    match recv.read_exact(&mut len).await {
        Ok(()) => {}
        Err(iroh::endpoint::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(NetError::Stream(e.to_string())),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > limits::MAX_FRAME_BYTES {
        return Err(NetError::Stream("frame too large".into()));
    }
    let mut bytes = vec![0u8; len];
    recv.read_exact(&mut bytes)
        .await
        .map_err(|e| NetError::Stream(e.to_string()))?;
    decode(&bytes, limits::MAX_FRAME_BYTES)
        .map(Some)
        .map_err(|e| NetError::Stream(e.to_string()))
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

struct Inner<S> {
    replica: Mutex<Replica<S>>,
    endpoint: Endpoint,
    peers: Mutex<HashMap<DeviceId, mpsc::Sender<SyncMessage>>>,
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
    /// Puts `replica` online on `endpoint`.
    pub fn new(endpoint: Endpoint, replica: Replica<S>) -> Self {
        Self {
            inner: Arc::new(Inner {
                replica: Mutex::new(replica),
                endpoint,
                peers: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// The endpoint.
    pub fn endpoint(&self) -> &Endpoint {
        &self.inner.endpoint
    }

    /// Runs `f` on the engine and sends what it outputs.
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
            if let Output::Send { to, message } = output
                && let Some(queue) = peers.get(&to)
                && queue.try_send(message).is_err()
            {
                tracing::warn!("a peer's send queue is full; frame dropped");
            }
        }
    }

    async fn device_of(&self, transport: &TransportId) -> Option<DeviceId> {
        self.inner
            .replica
            .lock()
            .await
            .device_for_transport(transport)
    }

    /// Connects to a device (its id and endpoint address) and syncs with it
    /// until the connection ends. Returns when the connection is up.
    pub async fn connect(&self, addr: EndpointAddr) -> Result<()> {
        let transport = TransportId(*addr.id.as_bytes());
        let peer = self
            .device_of(&transport)
            .await
            .ok_or(NetError::UnknownPeer)?;
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
        self.inner.peers.lock().await.insert(peer, queue.clone());
        let writer = tokio::spawn(async move {
            while let Some(message) = outgoing.recv().await {
                if write_frame(&mut send, &message).await.is_err() {
                    break;
                }
            }
            let _ = send.finish();
        });
        self.with_replica(|r| ((), r.handle(Input::Connected(peer), now_ms())))
            .await;
        loop {
            match read_frame(&mut recv).await {
                Ok(Some(message)) => {
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
            if peers.get(&peer).is_some_and(|q| q.same_channel(&queue)) {
                peers.remove(&peer);
            }
        }
        drop(queue);
        self.with_replica(|r| ((), r.handle(Input::Disconnected(peer), now_ms())))
            .await;
        writer.abort();
    }
}

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
        self.0.clone().run(peer, connection, send, recv).await;
        Ok(())
    }
}
