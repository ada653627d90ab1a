//! B4 reconcile: two devices with N entries that differ by 0, 10 or 1,000
//! meet; what crosses the wire. The anchor is the naive protocol that sends
//! the full id list both ways (2 × N × 32 bytes) before any entry.

use std::time::Instant;

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_sync::MemoryStorage;
use kith_sync::Replica;
use kith_sync::sim::Sim;
use serde::Serialize;

/// One row.
#[derive(Debug, Serialize)]
pub struct Row {
    /// Entries each side holds in common.
    pub common: usize,
    /// Entries only one side has.
    pub difference: usize,
    /// Bytes the two devices sent each other to reconcile.
    pub bytes: usize,
    /// Frames exchanged.
    pub frames: usize,
    /// Delivery waves until quiet (a round trip is two).
    pub waves: usize,
    /// Wall time of the reconciliation, ms.
    pub ms: f64,
    /// Bytes of the anchor: both full id lists.
    pub anchor_id_list_bytes: usize,
    /// Of which entry bytes (the difference itself).
    pub bytes_per_missing_entry: f64,
}

fn pair() -> anyhow::Result<Sim> {
    let first = DeviceKeys::generate("d1", 0)?;
    let mut log = DeviceLog::create(&first, "Bench", 0)?;
    let second = DeviceKeys::generate("d2", 0)?;
    let op = second.join_op(&log.account_id())?;
    log.append(&first, op, 0)?;
    let a = Replica::new(first, log.clone(), Sessions::new(MemoryStorage::default()))?;
    let b = Replica::new(second, log, Sessions::new(MemoryStorage::default()))?;
    Ok(Sim::new(vec![a, b], 1))
}

fn write(sim: &mut Sim, device: usize, n: usize) -> anyhow::Result<()> {
    let missing = || anyhow::anyhow!("no device {device}");
    let conversation = sim
        .replica(device)
        .ok_or_else(missing)?
        .self_conversation_id()?;
    for i in 0..n {
        let now = sim.now_ms;
        let replica = sim.replica_mut(device).ok_or_else(missing)?;
        let (_, out) = replica.send_text(conversation, &format!("note {i:08}"), now)?;
        sim.route(device, out);
    }
    Ok(())
}

/// Runs B4 with `n` common entries.
pub fn run(quick: bool) -> anyhow::Result<Vec<Row>> {
    let common = if quick { 2_000 } else { 100_000 };
    let mut rows = Vec::new();
    for difference in [0usize, 10, 1_000] {
        let mut sim = pair()?;
        sim.connect(0, 1);
        write(&mut sim, 0, common)?;
        anyhow::ensure!(sim.run_waves(1_000_000).is_some(), "set-up did not settle");
        sim.disconnect(0, 1);
        write(&mut sim, 0, difference)?;
        let (bytes, frames) = (sim.bytes, sim.delivered);
        let start = Instant::now();
        sim.connect(0, 1);
        let waves = sim
            .run_waves(1_000)
            .ok_or_else(|| anyhow::anyhow!("did not settle"))?;
        let ms = start.elapsed().as_secs_f64() * 1e3;
        let sent = sim.bytes - bytes;
        let second = sim
            .replica(1)
            .ok_or_else(|| anyhow::anyhow!("no second device"))?;
        let conversation = second.self_conversation_id()?;
        let have = second.conversation(&conversation).map_or(0, |c| c.len());
        anyhow::ensure!(
            have == common + difference,
            "reconciliation incomplete: {have}"
        );
        rows.push(Row {
            common,
            difference,
            bytes: sent,
            frames: sim.delivered - frames,
            waves,
            ms,
            anchor_id_list_bytes: 2 * (common + difference) * 32,
            bytes_per_missing_entry: if difference == 0 {
                0.0
            } else {
                sent as f64 / difference as f64
            },
        });
    }
    Ok(rows)
}
