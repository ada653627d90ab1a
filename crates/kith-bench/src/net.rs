//! B3 link_sync and B5 latency: real iroh endpoints on loopback.
//!
//! B3: a device linked after the history exists pulls it (the older device
//! re-encrypts every body for it) over loopback iroh into a real store,
//! against B2-style ingest of the same frames from memory, and against
//! copying the same bytes over a bare iroh stream.
//!
//! B5: messages A1 → B1, B2 one at a time (encrypt, sign, durable store,
//! push, verify, decrypt, durable store), time until each of Bob's devices
//! has stored it, against a ping-pong on a bare iroh connection plus two
//! `fdatasync`s, measured in the same run.

use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

use iroh::protocol::Router;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_net::{NetConfig, SYNC_ALPN, SyncNode, SyncProtocol, bind};
use kith_session::Sessions;
use kith_store::{Protection, Store};
use kith_sync::{Event, Input, MemoryStorage, Replica, Storage};
use kith_wire::{EntryHash, encode};
use serde::Serialize;
use tokio::sync::mpsc;

use crate::storage::scratch;

const BENCH_ALPN: &[u8] = b"kith/bench/0";

/// B3's figures.
#[derive(Debug, Serialize)]
pub struct LinkSync {
    /// Messages in the history.
    pub entries: usize,
    /// Bytes of the frames the old device sends.
    pub bytes: usize,
    /// Kith over loopback iroh into a store: seconds.
    pub kith_seconds: f64,
    /// Entries per second.
    pub kith_entries_per_sec: f64,
    /// Anchor: the same frames ingested from memory (B2 on this data): seconds.
    pub ingest_only_seconds: f64,
    /// Anchor: the same bytes over a bare iroh stream: seconds.
    pub bare_copy_seconds: f64,
    /// Kith over the in-memory ingest.
    pub ratio_to_ingest: f64,
    /// Kith over the bare copy.
    pub ratio_to_bare_copy: f64,
}

/// B5's figures.
#[derive(Debug, Serialize)]
pub struct Latency {
    /// Messages sent.
    pub messages: usize,
    /// Per receiving device: (name, p50 ms, p99 ms).
    pub devices: Vec<(String, f64, f64)>,
    /// Anchor p50 ms (bare iroh round trip + 2 fdatasync).
    pub anchor_p50_ms: f64,
    /// Anchor p99 ms.
    pub anchor_p99_ms: f64,
    /// Worst device's p99 over the anchor's p99 (target <= 3).
    pub ratio_p99: f64,
}

struct Online<S> {
    node: SyncNode<S>,
    _router: Router,
}

async fn online<S: Storage + Send + Sync + 'static>(
    replica: Replica<S>,
    events: Option<mpsc::UnboundedSender<Event>>,
) -> anyhow::Result<Online<S>> {
    let seed = replica.keys().transport_seed().duplicate();
    let endpoint = bind(&seed, &NetConfig::local()).await?;
    let node = match events {
        Some(tx) => SyncNode::with_events(endpoint.clone(), replica, tx),
        None => SyncNode::new(endpoint.clone(), replica),
    };
    let router = Router::builder(endpoint)
        .accept(SYNC_ALPN, SyncProtocol(node.clone()))
        .spawn();
    Ok(Online {
        node,
        _router: router,
    })
}

/// A plain iroh endpoint on loopback for the anchors.
async fn bare_endpoint() -> anyhow::Result<iroh::Endpoint> {
    Ok(iroh::Endpoint::builder(iroh::endpoint::presets::Minimal)
        .bind_addr("127.0.0.1:0")?
        .alpns(vec![BENCH_ALPN.to_vec()])
        .bind()
        .await?)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?)
}

/// Copies `bytes` over a bare iroh stream between two fresh endpoints;
/// returns the seconds from connect to the last byte read.
async fn bare_copy(bytes: usize) -> anyhow::Result<f64> {
    let (a, b) = (bare_endpoint().await?, bare_endpoint().await?);
    let addr = b.addr();
    let receiver = tokio::spawn(async move {
        let incoming = b
            .accept()
            .await
            .ok_or_else(|| anyhow::anyhow!("no connection"))?;
        let connection = incoming.await?;
        let mut recv = connection.accept_uni().await?;
        let mut buf = vec![0u8; 1 << 16];
        let mut total = 0usize;
        while let Some(n) = recv.read(&mut buf).await? {
            total += n;
        }
        connection.close(0u32.into(), b"");
        anyhow::Ok(total)
    });
    let start = Instant::now();
    let connection = a.connect(addr, BENCH_ALPN).await?;
    let mut send = connection.open_uni().await?;
    let chunk = vec![0x5au8; 1 << 16];
    let mut left = bytes;
    while left > 0 {
        let n = left.min(chunk.len());
        send.write_all(chunk.get(..n).unwrap_or(&chunk)).await?;
        left -= n;
    }
    send.finish()?;
    let got = receiver.await??;
    let secs = start.elapsed().as_secs_f64();
    anyhow::ensure!(got == bytes, "bare copy moved {got} of {bytes} bytes");
    a.close().await;
    Ok(secs)
}

/// Runs B3 in folders under `base`.
pub fn b3(quick: bool, base: &Path) -> anyhow::Result<LinkSync> {
    runtime()?.block_on(b3_async(quick, base))
}

async fn b3_async(quick: bool, base: &Path) -> anyhow::Result<LinkSync> {
    let n = if quick { 1_000 } else { 100_000 };
    let old_keys = DeviceKeys::generate("old", 0)?;
    let mut log = DeviceLog::create(&old_keys, "Bench", 0)?;
    let mut old = Replica::new(
        old_keys,
        log.clone(),
        Sessions::new(MemoryStorage::default()),
    )?;
    let notes = old.self_conversation_id()?;
    for i in 0..n {
        old.send_text(notes, &format!("{i:0>300}"), i as u64)?;
    }
    // Two devices join after the history exists: one for the in-memory
    // anchor, one for the real run (each gets its own re-encryption).
    let new_keys = DeviceKeys::generate("new", 0)?;
    let anchor_keys = DeviceKeys::generate("anchor", 0)?;
    for keys in [&new_keys, &anchor_keys] {
        let op = keys.join_op(&log.account_id())?;
        log.append(old.keys(), op, 1)?;
    }
    old.update_log(log.clone());

    // Anchor 1: the frames the old device sends, ingested from memory.
    let frames = old.frames_for_new_peer(anchor_keys.device_id(), 0);
    let bytes: usize = frames
        .iter()
        .map(|f| encode(f).map(|b| b.len() + 4))
        .sum::<Result<usize, _>>()?;
    let old_id = old.device_id();
    let dir = scratch(base, "b3-anchor")?;
    let mut anchor = Replica::new(
        anchor_keys,
        log.clone(),
        Sessions::new(Store::create(&dir, Protection::KeyFile)?),
    )?;
    let start = Instant::now();
    for frame in frames {
        anchor.handle(
            Input::Received {
                from: old_id,
                message: frame,
            },
            0,
        );
    }
    let ingest_only_seconds = start.elapsed().as_secs_f64();
    let readable = anchor
        .messages(&notes)
        .iter()
        .filter(|(_, t)| t.is_some())
        .count();
    anyhow::ensure!(readable == n, "anchor ingest read {readable} of {n}");
    drop(anchor);

    // Anchor 2: the same bytes over a bare iroh stream.
    let bare_copy_seconds = bare_copy(bytes).await?;

    // Kith: the new device connects and pulls everything.
    let dir = scratch(base, "b3-new")?;
    let new = Replica::new(
        new_keys,
        log.clone(),
        Sessions::new(Store::create(&dir, Protection::KeyFile)?),
    )?;
    let old = online(old, None).await?;
    let new = online(new, None).await?;
    let start = Instant::now();
    new.node.connect(old.node.endpoint().addr()).await?;
    let deadline = Instant::now() + Duration::from_secs(600);
    loop {
        let have = new
            .node
            .with_replica(|r| (r.conversation(&notes).map_or(0, |c| c.len()), Vec::new()))
            .await;
        if have >= n {
            break;
        }
        anyhow::ensure!(
            Instant::now() < deadline,
            "the new device has {have} of {n}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let kith_seconds = start.elapsed().as_secs_f64();
    let readable = new
        .node
        .with_replica(|r| {
            (
                r.messages(&notes)
                    .iter()
                    .filter(|(_, t)| t.is_some())
                    .count(),
                Vec::new(),
            )
        })
        .await;
    anyhow::ensure!(readable == n, "{readable} of {n} bodies readable");
    Ok(LinkSync {
        entries: n,
        bytes,
        kith_seconds,
        kith_entries_per_sec: n as f64 / kith_seconds,
        ingest_only_seconds,
        bare_copy_seconds,
        ratio_to_ingest: kith_seconds / ingest_only_seconds,
        ratio_to_bare_copy: kith_seconds / bare_copy_seconds,
    })
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let index = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted.get(index).copied().unwrap_or(f64::NAN)
}

/// Runs B5 in folders under `base`.
pub fn b5(quick: bool, base: &Path) -> anyhow::Result<Latency> {
    runtime()?.block_on(b5_async(quick, base))
}

async fn b5_async(quick: bool, base: &Path) -> anyhow::Result<Latency> {
    let n = if quick { 100 } else { 1_000 };
    let a1 = DeviceKeys::generate("a1", 0)?;
    let alice = DeviceLog::create(&a1, "Alice", 0)?;
    let b1 = DeviceKeys::generate("b1", 0)?;
    let mut bob = DeviceLog::create(&b1, "Bob", 0)?;
    let b2 = DeviceKeys::generate("b2", 0)?;
    let op = b2.join_op(&bob.account_id())?;
    bob.append(&b1, op, 0)?;
    let mut devices = Vec::new();
    let mut receivers = Vec::new();
    for (i, (keys, own, other)) in [(a1, &alice, &bob), (b1, &bob, &alice), (b2, &bob, &alice)]
        .into_iter()
        .enumerate()
    {
        let dir = scratch(base, &format!("b5-{i}"))?;
        let store = Store::create(&dir, Protection::KeyFile)?;
        let mut replica = Replica::new(keys, own.clone(), Sessions::new(store))?;
        replica.update_log(other.clone());
        replica.open_direct(&other.account_id())?;
        let (tx, rx) = mpsc::unbounded_channel();
        devices.push(online(replica, Some(tx)).await?);
        receivers.push(rx);
    }
    let mut receivers = receivers.into_iter();
    let _a_events = receivers.next();
    let mut bob_events: Vec<mpsc::UnboundedReceiver<Event>> = receivers.collect();
    let [a, b1, b2] = devices.as_slice() else {
        anyhow::bail!("three devices expected");
    };
    let conversation = kith_sync::ids::direct_conversation(&alice.account_id(), &bob.account_id())?;
    for peer in [b1, b2] {
        a.node.connect(peer.node.endpoint().addr()).await?;
    }
    b1.node.connect(b2.node.endpoint().addr()).await?;
    tokio::time::sleep(Duration::from_millis(300)).await;
    for rx in &mut bob_events {
        while rx.try_recv().is_ok() {}
    }
    let mut latencies: Vec<Vec<f64>> = vec![Vec::new(), Vec::new()];
    for i in 0..n {
        let start = Instant::now();
        let id: EntryHash = a
            .node
            .with_replica(|r| {
                match r.send_text(conversation, &format!("message {i:0>200}"), i as u64) {
                    Ok((id, out)) => (Ok(id), out),
                    Err(e) => (Err(e), Vec::new()),
                }
            })
            .await?;
        for (d, rx) in bob_events.iter_mut().enumerate() {
            let deadline = start + Duration::from_secs(10);
            loop {
                let left = deadline.saturating_duration_since(Instant::now());
                match tokio::time::timeout(left, rx.recv()).await {
                    Ok(Some(Event::NewEntry { id: got, .. })) if got == id => break,
                    Ok(Some(_)) => continue,
                    _ => anyhow::bail!("device {d} did not get message {i}"),
                }
            }
            if let Some(l) = latencies.get_mut(d) {
                l.push(start.elapsed().as_secs_f64() * 1e3);
            }
        }
    }
    // Anchor: a bare iroh ping-pong of the same size plus two fdatasyncs.
    let anchor = anchor_samples(n, base).await?;
    let mut rows = Vec::new();
    for (name, mut samples) in ["B1", "B2"].into_iter().zip(latencies) {
        samples.sort_by(f64::total_cmp);
        rows.push((
            name.to_owned(),
            percentile(&samples, 0.5),
            percentile(&samples, 0.99),
        ));
    }
    let mut anchor = anchor;
    anchor.sort_by(f64::total_cmp);
    let anchor_p99_ms = percentile(&anchor, 0.99);
    let worst = rows.iter().map(|r| r.2).fold(0.0, f64::max);
    Ok(Latency {
        messages: n,
        devices: rows,
        anchor_p50_ms: percentile(&anchor, 0.5),
        anchor_p99_ms,
        ratio_p99: worst / anchor_p99_ms,
    })
}

async fn anchor_samples(n: usize, base: &Path) -> anyhow::Result<Vec<f64>> {
    let (a, b) = (bare_endpoint().await?, bare_endpoint().await?);
    let addr = b.addr();
    let echo = tokio::spawn(async move {
        let incoming = b
            .accept()
            .await
            .ok_or_else(|| anyhow::anyhow!("no connection"))?;
        let connection = incoming.await?;
        let (mut send, mut recv) = connection.accept_bi().await?;
        let mut buf = vec![0u8; 512];
        while recv.read_exact(&mut buf).await.is_ok() {
            send.write_all(&buf).await?;
        }
        anyhow::Ok(())
    });
    let connection = a.connect(addr, BENCH_ALPN).await?;
    let (mut send, mut recv) = connection.open_bi().await?;
    let dir = scratch(base, "b5-anchor")?;
    let mut file = std::fs::File::create(dir.join("fsync"))?;
    let payload = vec![0x42u8; 512];
    let mut buf = vec![0u8; 512];
    let mut samples = Vec::with_capacity(n);
    for _ in 0..n {
        let start = Instant::now();
        file.write_all(&payload)?;
        file.sync_data()?;
        send.write_all(&payload).await?;
        recv.read_exact(&mut buf).await?;
        file.write_all(&payload)?;
        file.sync_data()?;
        samples.push(start.elapsed().as_secs_f64() * 1e3);
    }
    send.finish()?;
    connection.close(0u32.into(), b"");
    echo.abort();
    a.close().await;
    Ok(samples)
}
