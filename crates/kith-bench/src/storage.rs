//! B1 durable_commit and B2 ingest.
//!
//! B1: 10,000 messages of about 400 bytes into the store, one durable commit
//! each and 1,000 per commit, against a raw `write` + `fdatasync` loop in the
//! same folder and an empty redb commit.
//!
//! B2: entries received from another device (verify the header, decrypt the
//! body, store in one transaction per frame), against verify-only and
//! decrypt-only loops over the same entries.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use cpu_time::ThreadTime;
use kith_crypto::aead::AeadKey;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_store::{Protection, Store};
use kith_sync::storage::{EntryRecord, StoredBody};
use kith_sync::{Input, LogStore, MemoryStorage, Output, Replica};
use kith_wire::{
    BodyHash, BodyPlain, ConversationId, EntryHash, EntryHeader, EntryKind, SyncMessage, domain,
};
use serde::Serialize;

/// One measured rate.
#[derive(Debug, Serialize)]
pub struct Rate {
    /// What.
    pub item: String,
    /// Items per second.
    pub per_sec: f64,
    /// CPU time of this thread per item, µs.
    pub cpu_us: f64,
}

fn timed(item: &str, n: usize, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Rate> {
    let cpu = ThreadTime::now();
    let wall = Instant::now();
    f()?;
    let secs = wall.elapsed().as_secs_f64().max(1e-9);
    Ok(Rate {
        item: item.to_owned(),
        per_sec: n as f64 / secs,
        cpu_us: cpu.elapsed().as_secs_f64() * 1e6 / n.max(1) as f64,
    })
}

/// A fresh folder under `base`.
pub(crate) fn scratch(base: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let dir = base.join(format!("{name}-{}", std::process::id()));
    if dir.exists() {
        std::fs::remove_dir_all(&dir)?;
    }
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

fn record(i: usize, signer: &DeviceKeys) -> anyhow::Result<(EntryHash, EntryRecord)> {
    let header = EntryHeader {
        conversation: ConversationId([1; 32]),
        author_account: kith_wire::AccountId([2; 32]),
        author_device: signer.device_id(),
        seq: i as u64,
        prev: None,
        parents: Vec::new(),
        lamport: i as u64,
        sent_at_ms: 0,
        kind: EntryKind::Message,
        body_hash: BodyHash([3; 32]),
        body_len: 300,
    };
    let signed = signer.sign(domain::LOG_ENTRY, &header)?;
    let body = StoredBody::Plain(BodyPlain {
        salt: [4; 32],
        content: vec![b'x'; 300],
    });
    let id = kith_sync::ids::entry_id(&signed)?;
    Ok((
        id,
        EntryRecord {
            header: signed,
            body,
            fan_out: None,
        },
    ))
}

/// Runs B1 in folders under `base`.
pub fn b1(quick: bool, base: &Path) -> anyhow::Result<Vec<Rate>> {
    let n = if quick { 300 } else { 10_000 };
    let signer = DeviceKeys::generate("bench", 0)?;
    let records: Vec<(EntryHash, EntryRecord)> = (0..n)
        .map(|i| record(i, &signer))
        .collect::<anyhow::Result<_>>()?;
    let conversation = ConversationId([1; 32]);
    let mut rates = Vec::new();

    let dir = scratch(base, "b1-fsync")?;
    let mut file = std::fs::File::create(dir.join("raw"))?;
    let payload = vec![0x42u8; 400];
    rates.push(timed("anchor: write 400 B + fdatasync", n, || {
        for _ in 0..n {
            file.write_all(&payload)?;
            file.sync_data()?;
        }
        Ok(())
    })?);

    let dir = scratch(base, "b1-redb")?;
    let db = redb::Database::create(dir.join("empty.redb"))?;
    rates.push(timed("anchor: empty redb commit", n, || {
        for _ in 0..n {
            db.begin_write()?.commit()?;
        }
        Ok(())
    })?);

    let dir = scratch(base, "b1-single")?;
    let mut store = Store::create(&dir, Protection::KeyFile)?;
    rates.push(timed("kith: one durable commit per message", n, || {
        for (id, r) in &records {
            store
                .put(&[], &[(conversation, *id, r.clone())])
                .map_err(anyhow::Error::msg)?;
        }
        Ok(())
    })?);

    let dir = scratch(base, "b1-batch")?;
    let mut store = Store::create(&dir, Protection::KeyFile)?;
    rates.push(timed("kith: 1,000 messages per commit", n, || {
        for chunk in records.chunks(1000) {
            let batch: Vec<_> = chunk
                .iter()
                .map(|(id, r)| (conversation, *id, r.clone()))
                .collect();
            store.put(&[], &batch).map_err(anyhow::Error::msg)?;
        }
        Ok(())
    })?);
    Ok(rates)
}

/// B2's result.
#[derive(Debug, Serialize)]
pub struct Ingest {
    /// Entries ingested.
    pub entries: usize,
    /// The rates.
    pub rates: Vec<Rate>,
    /// Ingest rate over the verify-only rate.
    pub ratio_to_verify: f64,
}

/// Runs B2 in folders under `base`.
pub fn b2(quick: bool, base: &Path) -> anyhow::Result<Ingest> {
    let n = if quick { 1_000 } else { 100_000 };
    let writer_keys = DeviceKeys::generate("writer", 0)?;
    let mut log = DeviceLog::create(&writer_keys, "Bench", 0)?;
    let reader_keys = DeviceKeys::generate("reader", 0)?;
    let op = reader_keys.join_op(&log.account_id())?;
    log.append(&writer_keys, op, 0)?;
    let (writer_id, reader_id) = (writer_keys.device_id(), reader_keys.device_id());

    let mut writer = Replica::new(
        writer_keys,
        log.clone(),
        Sessions::new(MemoryStorage::default()),
    )?;
    let notes = writer.self_conversation_id()?;
    for i in 0..n {
        writer.send_text(notes, &format!("{i:0>300}"), i as u64)?;
    }
    // Everything the reader lacks, as the writer would send it.
    let frames = writer.frames_for_new_peer(reader_id, 0);
    let entries: Vec<kith_wire::WireEntry> = frames
        .iter()
        .flat_map(|f| match f {
            SyncMessage::Entries { entries, .. } => entries.clone(),
            _ => Vec::new(),
        })
        .collect();
    anyhow::ensure!(
        entries.len() == n,
        "expected {n} entries, got {}",
        entries.len()
    );

    let mut rates = Vec::new();
    let key = kith_crypto::sign::VerifyingKey::from_bytes(writer_id.as_bytes())?;
    rates.push(timed("anchor: decode + verify headers only", n, || {
        for e in &entries {
            let _header: EntryHeader = e.header.peek(kith_wire::limits::MAX_ENTRY_BYTES)?;
            e.header.verify_with(domain::LOG_ENTRY, &key)?;
        }
        Ok(())
    })?);
    let aead = AeadKey::generate()?;
    let sealed: Vec<Vec<u8>> = (0..n.min(10_000))
        .map(|_| aead.seal(b"", &[7u8; 340]))
        .collect::<Result<_, _>>()?;
    rates.push(timed("anchor: decrypt bodies only", sealed.len(), || {
        for s in &sealed {
            aead.open(b"", s)?;
        }
        Ok(())
    })?);

    let dir = scratch(base, "b2-reader")?;
    let store = Store::create(&dir, Protection::KeyFile)?;
    let mut reader = Replica::new(reader_keys, log, Sessions::new(store))?;
    let rate = timed("kith: verify + decrypt + store (per frame)", n, || {
        for frame in frames {
            let out = reader.handle(
                Input::Received {
                    from: writer_id,
                    message: frame,
                },
                0,
            );
            if out.iter().any(|o| {
                matches!(
                    o,
                    Output::Event(
                        kith_sync::Event::Refused { .. } | kith_sync::Event::StorageFailed(_)
                    )
                )
            }) {
                anyhow::bail!("the reader refused a frame");
            }
        }
        Ok(())
    })?;
    let have = reader.conversation(&notes).map_or(0, |c| c.len());
    anyhow::ensure!(have == n, "reader has {have} of {n}");
    let ratio_to_verify = rate.per_sec / rates.first().map_or(f64::NAN, |r| r.per_sec);
    rates.push(rate);
    Ok(Ingest {
        entries: n,
        rates,
        ratio_to_verify,
    })
}
