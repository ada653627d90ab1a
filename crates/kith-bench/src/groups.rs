//! B6 group fan-out: one message to a group of N devices through the real
//! engine (sign, encrypt, store, push), pairwise (once per other device),
//! under sender keys (once, under the writer's chain) and in a public room
//! (once, under the room's key), against the
//! same bytes sealed N − 1 times with raw XChaCha20-Poly1305 in the same
//! run; the bytes each member is sent; one member's cost to take it
//! (verify, open, store). Delivery over real iroh connections is not
//! measured here yet.

use std::hint::black_box;

use cpu_time::ThreadTime;
use kith_crypto::aead::AeadKey;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_sync::{Input, MemoryStorage, Output, Replica};
use kith_wire::{ConversationId, ConversationKind, SyncMessage};
use serde::Serialize;

use crate::measure::{Body, Paired, Plan, paired};

/// One group size.
#[derive(Debug, Serialize)]
pub struct Row {
    /// `pairwise`, `sender_keys` or `room`.
    pub mode: &'static str,
    /// Devices in the group, the writer's included (each its own account).
    pub devices: usize,
    /// Writing one message: the engine vs N raw seals.
    pub write: Paired,
    /// Encoded bytes of the `Entries` frame one member is sent (the whole
    /// fan-out: every member can forward it to every other).
    pub bytes_per_member: usize,
    /// Of those, the bytes meant for that member (its envelope).
    pub own_envelope_bytes: usize,
    /// One member taking one message (verify, decrypt, store): CPU µs.
    pub take_cpu_us: f64,
    /// One raw open of the same bytes, CPU µs (the anchor of `take`).
    pub open_cpu_us: f64,
    /// `take_cpu_us / open_cpu_us`.
    pub take_per_open: f64,
}

fn replica(name: &str) -> anyhow::Result<(Replica<MemoryStorage>, DeviceLog)> {
    let keys = DeviceKeys::generate(name, 0)?;
    let log = DeviceLog::create(&keys, name, 0)?;
    let r = Replica::new(keys, log.clone(), Sessions::new(MemoryStorage::default()))?;
    Ok((r, log))
}

/// The `Entries` frames in `outputs` addressed to `to`.
fn frames_to(outputs: Vec<Output>, to: kith_wire::DeviceId) -> Vec<SyncMessage> {
    outputs
        .into_iter()
        .filter_map(|o| match o {
            Output::Send { to: t, message } if t == to => Some(message),
            _ => None,
        })
        .collect()
}

/// Member 0 (re)connects to the writer and takes what it lacks, as on any
/// reconnection (a bounded number of rounds).
fn settle(writer: &mut Replica<MemoryStorage>, member: &mut Replica<MemoryStorage>, now: u64) {
    let (w, m) = (writer.device_id(), member.device_id());
    writer.handle(Input::Disconnected(m), now);
    member.handle(Input::Disconnected(w), now);
    let mut to_member = frames_to(writer.handle(Input::Connected(m), now), m);
    let mut to_writer = frames_to(member.handle(Input::Connected(w), now), w);
    for _ in 0..16 {
        if to_member.is_empty() && to_writer.is_empty() {
            break;
        }
        let mut next_member = Vec::new();
        for message in to_writer.drain(..) {
            next_member.extend(frames_to(
                writer.handle(Input::Received { from: m, message }, now),
                m,
            ));
        }
        let mut next_writer = Vec::new();
        for message in to_member.drain(..) {
            next_writer.extend(frames_to(
                member.handle(Input::Received { from: w, message }, now),
                w,
            ));
        }
        to_member = next_member;
        to_writer = next_writer;
    }
}

/// A writer, `n` members (one device each), the group (or room), and
/// member 0 connected to the writer and holding the whole group (and, in
/// a room, its key).
fn world(
    n: usize,
    sender_keys_from: usize,
    kind: ConversationKind,
) -> anyhow::Result<(
    Replica<MemoryStorage>,
    Replica<MemoryStorage>,
    ConversationId,
)> {
    let (mut writer, writer_log) = replica("writer")?;
    let mut first: Option<Replica<MemoryStorage>> = None;
    let mut accounts = Vec::new();
    for i in 0..n {
        let (mut member, log) = replica(&format!("m{i}"))?;
        member.update_log(writer_log.clone());
        writer.update_log(log.clone());
        accounts.push(log.account_id());
        if i == 0 {
            first = Some(member);
        }
    }
    let mut member = first.ok_or_else(|| anyhow::anyhow!("no members"))?;
    writer.set_sender_keys_from(sender_keys_from);
    member.set_sender_keys_from(sender_keys_from);
    let now = 1;
    let group = match kind {
        ConversationKind::Room => {
            // Members come in by the link; here they are added at once
            // (the engine takes an admin's add in a room), and member 0
            // holds the key as a joiner would.
            let (room, _) = writer.create_room("bench", now)?;
            for account in &accounts {
                let op = writer.add_op(account, kith_wire::Role::Member)?;
                writer.change_membership(room, op, now)?;
            }
            let key = writer
                .room_key(&room)
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no room key"))?;
            member.record(kith_wire::SelfRecord::RoomKey { room, key }, now)?;
            room
        }
        _ => writer.create_group(kind, "bench", &accounts, now)?.0,
    };
    settle(&mut writer, &mut member, now);
    anyhow::ensure!(
        member.group_state(&group).is_some(),
        "the member did not get the group"
    );
    Ok((writer, member, group))
}

/// Runs B6 for groups of 4, 10, 16, 50 and 200 devices (and 1000 in a
/// full run), pairwise, under sender keys and as a room.
pub fn run(quick: bool) -> anyhow::Result<Vec<Row>> {
    let plan = Plan::for_mode(quick, 5);
    let text =
        "a message of about a hundred bytes, as most are: short, plain, and meant for everyone";
    let key = AeadKey::generate()?;
    let sizes: &[usize] = if quick {
        &[4, 10, 16, 50, 200]
    } else {
        &[4, 10, 16, 50, 200, 1000]
    };
    let modes = [
        ("pairwise", usize::MAX, ConversationKind::Group),
        ("sender_keys", 2, ConversationKind::Group),
        ("room", usize::MAX, ConversationKind::Room),
    ];
    let mut rows = Vec::new();
    for (&n, (mode, from, kind)) in sizes.iter().flat_map(|n| modes.iter().map(move |m| (n, m))) {
        let (mut writer, mut member, group) = world(n - 1, *from, *kind)?;
        let m = member.device_id();
        let w = writer.device_id();
        // One message first: every session (or the chain) exists, and the
        // member has it (the steady state).
        writer.send_text(group, text, 2)?;
        settle(&mut writer, &mut member, 2);
        let seals: Body<'_> = Box::new(|iters| {
            for _ in 0..iters {
                for _ in 1..n {
                    black_box(key.seal(b"", text.as_bytes())?);
                }
            }
            Ok(())
        });
        let mut sample: Vec<SyncMessage> = Vec::new();
        let write: Body<'_> = Box::new(|iters| {
            for _ in 0..iters {
                let (_, outputs) = writer.send_text(group, text, 3)?;
                let frames = frames_to(outputs, m);
                if sample.is_empty() {
                    sample = frames;
                }
            }
            Ok(())
        });
        let write = paired(plan, seals, write)?;
        let frame = sample
            .first()
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("no frame for the member"))?;
        let bytes_per_member = kith_wire::encode(&frame)?.len();
        let own_envelope_bytes = match &frame {
            SyncMessage::Entries { entries, .. } => entries
                .first()
                .and_then(|e| e.body.as_ref())
                .and_then(|f| {
                    f.envelopes.iter().find(|e| {
                        e.recipient == m || f.sender_key().is_some() || f.room().is_some()
                    })
                })
                .map(|e| kith_wire::encode(e).map(|b| b.len()))
                .transpose()?
                .unwrap_or(0),
            _ => 0,
        };
        // The member takes fresh messages one by one: it has everything
        // before them (so each is stored and opened, not held back), they
        // are written first (each opens only once), then taken with the
        // CPU clock running; the anchor opens the same bytes as often.
        settle(&mut writer, &mut member, 3);
        let count = if quick { 50 } else { 400 };
        let mut pool = Vec::with_capacity(count);
        for _ in 0..count {
            let (_, outputs) = writer.send_text(group, text, 4)?;
            pool.extend(frames_to(outputs, m));
        }
        let taken = pool.len().max(1) as f64;
        let clock = ThreadTime::now();
        for message in pool {
            black_box(member.handle(Input::Received { from: w, message }, 4));
        }
        let take_cpu_us = clock.elapsed().as_secs_f64() * 1e6 / taken;
        let sealed = key.seal(b"", text.as_bytes())?;
        let opens = 20_000u32;
        let clock = ThreadTime::now();
        for _ in 0..opens {
            black_box(key.open(b"", &sealed)?);
        }
        let open_cpu_us = clock.elapsed().as_secs_f64() * 1e6 / f64::from(opens);
        anyhow::ensure!(
            member
                .conversation(&group)
                .is_some_and(|c| c.in_order().all(|e| e.body != kith_sync::Body::Missing)),
            "the member could not open every message ({mode}, {n} devices)"
        );
        rows.push(Row {
            mode,
            devices: n,
            write,
            bytes_per_member,
            own_envelope_bytes,
            take_cpu_us,
            take_per_open: take_cpu_us / open_cpu_us.max(1e-9),
            open_cpu_us,
        });
    }
    Ok(rows)
}
