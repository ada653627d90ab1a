//! Sender keys in large groups, through the simulator: one ciphertext per
//! message that every member device opens; a new chain, distributed
//! pairwise, whenever the member devices change, so a removed member and
//! a copy of a revoked device hold no chain for what follows.

use kith_session::{SenderKeyRecord, SessionStore};
use kith_sync::sim::Sim;
use kith_sync::{Input, StoredEntry};
use kith_wire::{
    ConversationId, DeviceId, EntryKind, GroupOp, SessionMessage, SyncMessage, WireEntry,
};

use crate::groups::{change, create, everyone_reads, id_of, readable, say};
use crate::{account, world};

/// Every device uses sender keys from two recipient devices on.
fn large(sim: &mut Sim) {
    for device in &mut sim.devices {
        device.replica.set_sender_keys_from(2);
    }
}

fn entries_of(sim: &Sim, i: usize, group: &ConversationId, kind: EntryKind) -> Vec<StoredEntry> {
    sim.devices[i]
        .replica
        .conversation(group)
        .unwrap()
        .in_order()
        .filter(|e| e.header.kind == kind)
        .cloned()
        .collect()
}

/// The chain a message went under.
fn chain_of(entry: &StoredEntry) -> u32 {
    entry.fan_out.as_ref().unwrap().sender_key().unwrap().chain
}

/// Whether device `i` holds `author`'s chain `chain` in `group`.
fn holds(sim: &Sim, i: usize, group: &ConversationId, author: usize, chain: u32) -> bool {
    let author: DeviceId = sim.devices[author].replica.device_id();
    let store = sim.devices[i].replica.sessions().store();
    store
        .load_sender_keys(group)
        .unwrap()
        .map(|bytes| SenderKeyRecord::import(bytes.expose()).unwrap())
        .is_some_and(|record| record.holds(&author, chain))
}

/// A group under sender keys made by the first account's first device
/// with the first device of each other account, everyone connected, and
/// `first` written by its creator and delivered.
fn talking(accounts: Vec<crate::Account>, first: &str) -> (Sim, Vec<Vec<usize>>, ConversationId) {
    talking_with(accounts, first, large)
}

/// [`talking`], with `setup` applied to the world first.
fn talking_with(
    accounts: Vec<crate::Account>,
    first: &str,
    setup: fn(&mut Sim),
) -> (Sim, Vec<Vec<usize>>, ConversationId) {
    let (mut sim, ix) = world(accounts);
    setup(&mut sim);
    let others: Vec<usize> = ix.iter().skip(1).map(|a| a[0]).collect();
    let group = create(&mut sim, ix[0][0], &others);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, ix[0][0], group, first).unwrap();
    assert!(sim.run(20_000));
    (sim, ix, group)
}

#[test]
fn above_the_threshold_a_message_is_one_ciphertext_every_member_device_opens() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1), account("c", 2)]);
    large(&mut sim);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1, c1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "hi all").unwrap();
    say(&mut sim, a1, group, "again").unwrap();
    say(&mut sim, b1, group, "hi Alice").unwrap();
    say(&mut sim, c1, group, "hello").unwrap();
    assert!(sim.run(20_000));
    let all = everyone_reads(&sim, &ix, &group, &["again", "hello", "hi Alice", "hi all"]);
    // One envelope per message whatever the group's size; one chain per
    // writing device, distributed once, pairwise, before its first message.
    let messages = entries_of(&sim, b1, &group, EntryKind::Message);
    assert_eq!(messages.len(), 4);
    for m in &messages {
        assert_eq!(m.fan_out.as_ref().unwrap().envelopes.len(), 1);
    }
    // (Receipts are entries too: devices that only confirmed have chains.)
    let distributions = entries_of(&sim, b1, &group, EntryKind::SenderKey);
    let mut writers: Vec<DeviceId> = distributions
        .iter()
        .map(|d| d.header.author_device)
        .collect();
    writers.sort();
    writers.dedup();
    assert_eq!(
        writers.len(),
        distributions.len(),
        "one distribution per device"
    );
    for d in &distributions {
        let envelopes = &d.fan_out.as_ref().unwrap().envelopes;
        assert_eq!(envelopes.len(), all.len() - 1, "every other member device");
    }
    let from_a: Vec<u32> = messages
        .iter()
        .filter(|m| m.header.author_device == sim.devices[a1].replica.device_id())
        .map(chain_of)
        .collect();
    assert_eq!(
        from_a[0], from_a[1],
        "one chain for both of Alice's messages"
    );
}

#[test]
fn below_the_threshold_messages_stay_pairwise() {
    let (sim, ix, group) = talking_with(vec![account("a", 1), account("b", 2)], "small", |_| {});
    let (a1, b1) = (ix[0][0], ix[1][0]);
    // The author's own copy (one of Bob's devices may have been handed
    // its copy re-encrypted by the other).
    let messages = entries_of(&sim, a1, &group, EntryKind::Message);
    assert_eq!(messages[0].fan_out.as_ref().unwrap().envelopes.len(), 2);
    assert!(messages[0].fan_out.as_ref().unwrap().sender_key().is_none());
    assert!(entries_of(&sim, b1, &group, EntryKind::SenderKey).is_empty());
}

#[test]
fn a_removed_member_gets_no_new_chain_and_holds_none_for_what_follows() {
    let (mut sim, ix, group) = talking(
        vec![account("a", 1), account("b", 2), account("c", 1)],
        "before",
    );
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let before = chain_of(&entries_of(&sim, a1, &group, EntryKind::Message)[0]);
    assert!(
        holds(&sim, c1, &group, a1, before),
        "Carol could read Alice"
    );
    let carol = id_of(&sim, c1);
    change(&mut sim, a1, group, GroupOp::Remove { account: carol }).unwrap();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "after").unwrap();
    say(&mut sim, b1, group, "after too").unwrap();
    assert!(sim.run(20_000));
    // Each message as its author keeps it (another device of Bob's may
    // hold Bob's copy re-encrypted for it).
    let after: Vec<(usize, u32)> = [a1, b1]
        .into_iter()
        .map(|author| {
            let device = sim.devices[author].replica.device_id();
            let last = entries_of(&sim, author, &group, EntryKind::Message)
                .into_iter()
                .rfind(|m| m.header.author_device == device)
                .unwrap();
            (author, chain_of(&last))
        })
        .collect();
    assert_eq!(after.len(), 2);
    assert!(
        after.iter().all(|(_, c)| *c != before),
        "Alice started a new chain"
    );
    for (author, chain) in after {
        assert!(
            !holds(&sim, c1, &group, author, chain),
            "Carol holds no new chain"
        );
        if author != b1 {
            assert!(
                holds(&sim, b1, &group, author, chain),
                "Bob holds Alice's new chain"
            );
        }
    }
    assert_eq!(readable(&sim, c1, &group), ["before"]);
    let mut got = readable(&sim, b1, &group);
    got.sort();
    assert_eq!(got, ["after", "after too", "before"]);
}

#[test]
fn a_copy_of_a_revoked_device_holds_no_chain_for_what_follows() {
    let (mut sim, ix, group) = talking(vec![account("a", 1), account("b", 2)], "before");
    let (a1, b1, b2) = (ix[0][0], ix[1][0], ix[1][1]);
    assert_eq!(readable(&sim, b2, &group), ["before"]);
    let before = chain_of(&entries_of(&sim, a1, &group, EntryKind::Message)[0]);
    assert!(holds(&sim, b2, &group, a1, before));
    // Bob links a tablet (so that after the revocation Alice still
    // writes to two devices, this test's threshold); then his phone (B2)
    // is stolen and B1 revokes it. What B2 holds stays with the thief.
    let b3 = crate::link_late(&mut sim, b1, "bob-tablet");
    sim.devices[b3].replica.set_sender_keys_from(2);
    sim.connect_all();
    assert!(sim.run(20_000));
    let b2_id = sim.devices[b2].replica.device_id();
    crate::groups::lost(&mut sim, b1, b2_id);
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "after").unwrap();
    assert!(sim.run(20_000));
    let last = entries_of(&sim, a1, &group, EntryKind::Message)
        .pop()
        .unwrap();
    let after = chain_of(&last);
    assert_ne!(after, before);
    assert!(
        !holds(&sim, b2, &group, a1, after),
        "the thief's copy holds no new chain"
    );
    assert!(holds(&sim, b1, &group, a1, after));
    assert!(readable(&sim, b1, &group).contains(&"after".to_owned()));
    assert!(readable(&sim, b3, &group).contains(&"after".to_owned()));
    assert_eq!(readable(&sim, b2, &group), ["before"]);
    // The distribution of the new chain had no envelope for B2.
    let alice = sim.devices[a1].replica.device_id();
    let distribution = entries_of(&sim, a1, &group, EntryKind::SenderKey)
        .into_iter()
        .rfind(|d| d.header.author_device == alice)
        .unwrap();
    let envelopes = &distribution.fan_out.unwrap().envelopes;
    assert!(envelopes.iter().all(|e| e.recipient != b2_id));
}

#[test]
fn a_tampered_body_is_refused_and_the_genuine_one_still_opens() {
    let (mut sim, ix, group) = talking(
        vec![account("a", 1), account("b", 1), account("c", 1)],
        "warm up",
    );
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    sim.set_online(b1, false);
    say(&mut sim, a1, group, "genuine").unwrap();
    assert!(sim.run(20_000));
    let entry = entries_of(&sim, a1, &group, EntryKind::Message)
        .pop()
        .unwrap();
    let genuine = as_sent(entry);
    assert!(genuine.body.as_ref().unwrap().sender_key().is_some());
    let tampered = tampered_for(&genuine, sim.devices[b1].replica.device_id());
    // Carol, a member, passes a tampered copy to Bob: its body stays
    // unreadable; the genuine copy then opens (the chain did not move).
    let frame = handed_by(&sim, c1, group);
    sim.feed(b1, frame(vec![tampered]));
    assert_eq!(readable(&sim, b1, &group), ["warm up"]);
    sim.feed(b1, frame(vec![genuine]));
    assert_eq!(readable(&sim, b1, &group), ["warm up", "genuine"]);
}

/// The entry as its author sent it.
fn as_sent(entry: StoredEntry) -> WireEntry {
    WireEntry {
        header: entry.signed,
        body: entry.fan_out,
        rewrapped_by: None,
    }
}

/// A frame of entries that device `i` hands on in `group`.
fn handed_by(
    sim: &Sim,
    i: usize,
    group: ConversationId,
) -> impl Fn(Vec<WireEntry>) -> Input + use<> {
    let from = sim.devices[i].replica.device_id();
    move |entries| Input::Received {
        from,
        message: SyncMessage::Entries {
            conversation: group,
            entries,
        },
    }
}

/// `wire` with the ciphertext `device` would open (its envelope, or the
/// sender-key one) changed.
fn tampered_for(wire: &WireEntry, device: DeviceId) -> WireEntry {
    let mut wire = wire.clone();
    let mut changed = false;
    for envelope in &mut wire.body.as_mut().unwrap().envelopes {
        let ciphertext = match &mut envelope.message {
            SessionMessage::SenderKey(m) => &mut m.ciphertext,
            SessionMessage::Room(m) => &mut m.ciphertext,
            _ if envelope.recipient != device => continue,
            SessionMessage::PreKey(p) => &mut p.message.ciphertext,
            SessionMessage::Ratchet(m) => &mut m.ciphertext,
        };
        *ciphertext.last_mut().unwrap() ^= 1;
        changed = true;
    }
    assert!(changed, "nothing to tamper with");
    wire
}

#[test]
fn a_distribution_whose_body_comes_late_opens_the_messages_that_waited_for_it() {
    let (mut sim, ix, group) = talking(
        vec![account("a", 1), account("b", 1), account("c", 1)],
        "warm up",
    );
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    sim.set_online(b1, false);
    // A week on, Alice's chain is old: her next message starts a new one.
    sim.now_ms += kith_session::sender_keys::ROTATE_AFTER_MS;
    say(&mut sim, a1, group, "under a new chain").unwrap();
    assert!(sim.run(20_000));
    let alice = sim.devices[a1].replica.device_id();
    let last_by_alice = |kind| {
        as_sent(
            entries_of(&sim, a1, &group, kind)
                .into_iter()
                .rfind(|e| e.header.author_device == alice)
                .unwrap(),
        )
    };
    let distribution = last_by_alice(EntryKind::SenderKey);
    let message = last_by_alice(EntryKind::Message);
    let chain = message.body.as_ref().unwrap().sender_key().unwrap().chain;
    assert!(!holds(&sim, b1, &group, a1, chain));
    // Bob is handed the distribution with his envelope spoiled, then the
    // message: both stay unreadable. The genuine distribution opens both.
    let frame = handed_by(&sim, c1, group);
    let bob = sim.devices[b1].replica.device_id();
    sim.feed(b1, frame(vec![tampered_for(&distribution, bob), message]));
    assert_eq!(readable(&sim, b1, &group), ["warm up"]);
    sim.feed(b1, frame(vec![distribution]));
    assert!(holds(&sim, b1, &group, a1, chain));
    assert_eq!(readable(&sim, b1, &group), ["warm up", "under a new chain"]);
}

#[test]
fn chains_survive_a_restart_and_are_not_distributed_again() {
    let (mut sim, ix, group) = talking(
        vec![account("a", 1), account("b", 1), account("c", 1)],
        "one",
    );
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    // Every device restarts (set_online(false) reloads from storage).
    for &i in &[a1, b1, c1] {
        sim.set_online(i, false);
        sim.set_online(i, true);
    }
    sim.connect_all();
    say(&mut sim, a1, group, "two").unwrap();
    assert!(sim.run(20_000));
    for &i in &[b1, c1] {
        assert_eq!(readable(&sim, i, &group), ["one", "two"], "device {i}");
    }
    let alice = sim.devices[a1].replica.device_id();
    let by_alice = entries_of(&sim, b1, &group, EntryKind::SenderKey)
        .into_iter()
        .filter(|d| d.header.author_device == alice)
        .count();
    assert_eq!(by_alice, 1);
}
