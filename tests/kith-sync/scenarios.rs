//! The four-step scenario, history transfer, deletion, membership and
//! randomized partitions.

use kith_sync::{Body, Event, Input, Output, SyncError};
use kith_wire::{EntryKind, SyncMessage};

use crate::{account, link_late, order, texts, world};

/// Alice (one device) and Bob (one device), and their direct conversation.
fn direct_pair() -> (kith_sync::sim::Sim, usize, usize, kith_wire::ConversationId) {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1)]);
    let (a1, b1) = (ix[0][0], ix[1][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    (sim, a1, b1, conversation)
}

#[test]
fn the_four_step_scenario() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 2)]);
    let (a1, a2, b1, b2) = (ix[0][0], ix[0][1], ix[1][0], ix[1][1]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    for i in [a2, b1, b2] {
        sim.set_online(i, false);
    }
    // 1. A1 writes while Bob (and A2) are offline: the message is queued.
    let (id, outputs) = sim.devices[a1]
        .replica
        .send_text(conversation, "hello Bob", sim.now_ms)
        .unwrap();
    sim.route(a1, outputs);
    assert!(sim.run(100));
    // 2. B1 comes online and gets it from A1.
    sim.set_online(b1, true);
    sim.connect(a1, b1);
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, b1, &conversation),
        vec![Some("hello Bob".to_owned())]
    );
    // 3. B2 comes online and gets it from B1 (A1 is not linked to it).
    sim.set_online(b2, true);
    sim.connect(b1, b2);
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, b2, &conversation),
        vec![Some("hello Bob".to_owned())]
    );
    // 4. A1 goes offline; A2 comes online and gets it from Bob's devices.
    sim.set_online(a1, false);
    sim.set_online(a2, true);
    sim.connect(a2, b2);
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, a2, &conversation),
        vec![Some("hello Bob".to_owned())]
    );
    // Every device holds the same log: the message and Bob's devices'
    // delivery receipts.
    let reference = order(&sim, b2, &conversation);
    assert_eq!(reference.first(), Some(&id));
    for i in [a2, b1, b2] {
        assert_eq!(order(&sim, i, &conversation), reference, "device {i}");
    }
    // Delivery state per device: both of Bob's devices, seen from Alice's.
    let delivered = sim.devices[a2].replica.delivered_to(&conversation, &id);
    let bobs: std::collections::BTreeSet<_> = [b1, b2]
        .iter()
        .map(|&i| sim.devices[i].replica.device_id())
        .collect();
    assert_eq!(delivered, bobs);
}

#[test]
fn everyone_converges_to_one_display_order() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 2)]);
    let bob = sim.devices[ix[1][0]].replica.account_id();
    let alice = sim.devices[ix[0][0]].replica.account_id();
    let conversation = sim.devices[ix[0][0]].replica.open_direct(&bob).unwrap();
    sim.devices[ix[1][0]].replica.open_direct(&alice).unwrap();
    // Everyone writes concurrently, all offline from each other.
    for (n, &i) in ix.iter().flatten().enumerate() {
        for k in 0..3 {
            let conv = sim.devices[i]
                .replica
                .open_direct(&if i < 2 { bob } else { alice })
                .unwrap();
            assert_eq!(conv, conversation);
            let (_, out) = sim.devices[i]
                .replica
                .send_text(conv, &format!("{n}.{k}"), 1)
                .unwrap();
            sim.route(i, out);
        }
    }
    sim.connect_all();
    assert!(sim.run(10_000));
    let reference = order(&sim, 0, &conversation);
    assert_eq!(texts(&sim, 0, &conversation).len(), 12);
    for i in ix.iter().flatten() {
        assert_eq!(order(&sim, *i, &conversation), reference, "device {i}");
        assert!(
            texts(&sim, *i, &conversation).iter().all(Option::is_some),
            "device {i} cannot read everything"
        );
    }
}

#[test]
fn a_late_linked_device_gets_the_history_from_its_own_devices() {
    let (mut sim, a1, b1, conversation) = direct_pair();
    sim.connect(a1, b1);
    let (_, out) = sim.devices[a1]
        .replica
        .send_text(conversation, "before linking", 1)
        .unwrap();
    sim.route(a1, out);
    assert!(sim.run(1000));
    let (_, out) = sim.devices[b1]
        .replica
        .send_text(conversation, "reply", 2)
        .unwrap();
    sim.route(b1, out);
    assert!(sim.run(1000));
    // A new device joins Alice's account after the messages were written.
    let a3 = link_late(&mut sim, a1, "a-late");
    // First it meets only Bob's device: headers arrive, bodies it cannot open.
    sim.connect(a3, b1);
    assert!(sim.run(1000));
    assert_eq!(texts(&sim, a3, &conversation), vec![None, None]);
    // Then its own device re-encrypts the history for it.
    sim.connect(a3, a1);
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, a3, &conversation),
        vec![Some("before linking".to_owned()), Some("reply".to_owned())]
    );
    assert_eq!(
        order(&sim, a3, &conversation),
        order(&sim, b1, &conversation)
    );
    // New messages reach it directly from Bob now that his log knows it.
    sim.connect(a1, b1);
    let (_, out) = sim.devices[b1]
        .replica
        .send_text(conversation, "welcome", 3)
        .unwrap();
    sim.route(b1, out);
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, a3, &conversation)
            .last()
            .cloned()
            .flatten()
            .as_deref(),
        Some("welcome")
    );
}

#[test]
fn deletion_reaches_my_devices_and_never_comes_back() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1)]);
    let (a1, a2, b1) = (ix[0][0], ix[0][1], ix[1][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    sim.connect_all();
    let (doomed, out) = sim.devices[a1]
        .replica
        .send_text(conversation, "secret plans", 1)
        .unwrap();
    sim.route(a1, out);
    let (_, out) = sim.devices[a1]
        .replica
        .send_text(conversation, "harmless", 2)
        .unwrap();
    sim.route(a1, out);
    assert!(sim.run(1000));
    assert_eq!(texts(&sim, a2, &conversation).len(), 2);
    // A2 deletes the message for all of Alice's devices.
    let out = sim.devices[a2]
        .replica
        .delete(conversation, Some(doomed), 3)
        .unwrap();
    sim.route(a2, out);
    assert!(sim.run(1000));
    for i in [a1, a2] {
        assert_eq!(
            texts(&sim, i, &conversation),
            vec![Some("harmless".to_owned())],
            "device {i}"
        );
        let entry = sim.devices[i]
            .replica
            .conversation(&conversation)
            .unwrap()
            .get(&doomed)
            .unwrap();
        assert_eq!(entry.body, Body::Deleted);
        assert!(entry.fan_out.is_none());
    }
    // Bob still has it (deletion is for my devices) ...
    assert_eq!(texts(&sim, b1, &conversation).len(), 2);
    // ... and re-syncing with him does not bring it back.
    for (a, b) in [(a1, b1), (a2, b1)] {
        sim.disconnect(a, b);
        sim.connect(a, b);
    }
    assert!(sim.run(1000));
    for i in [a1, a2] {
        assert_eq!(
            texts(&sim, i, &conversation),
            vec![Some("harmless".to_owned())],
            "device {i} resurrected it"
        );
    }
}

#[test]
fn non_members_are_refused_and_get_nothing() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 1)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    let (_, out) = sim.devices[a1]
        .replica
        .send_text(conversation, "for Bob", 1)
        .unwrap();
    sim.route(a1, out);
    sim.connect(a1, c1);
    assert!(sim.run(1000));
    assert!(
        sim.devices[c1]
            .replica
            .conversation(&conversation)
            .is_none(),
        "a non-member got the conversation"
    );
    // Carol forges a frame for the conversation: refused, no panic.
    let forged = SyncMessage::Entries {
        conversation,
        entries: vec![],
    };
    let carol = sim.devices[c1].replica.device_id();
    let out = sim.devices[a1].replica.handle(
        Input::Received {
            from: carol,
            message: forged,
        },
        5,
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Event(Event::Refused {
            reason: SyncError::NotMember,
            ..
        })
    )));
    // An unknown device is refused outright.
    let stranger = kith_identity::DeviceKeys::generate("x", 0)
        .unwrap()
        .device_id();
    let hello = SyncMessage::Hello { summaries: vec![] };
    let out = sim.devices[a1].replica.handle(
        Input::Received {
            from: stranger,
            message: hello,
        },
        5,
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send {
            message: SyncMessage::Refused { .. },
            ..
        }
    )));
    let _ = EntryKind::Message;
}

#[test]
fn deleting_a_whole_conversation_keeps_later_messages() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1)]);
    let (a1, a2, b1) = (ix[0][0], ix[0][1], ix[1][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    sim.connect_all();
    for (i, text) in [(a1, "one"), (b1, "two"), (a1, "three")] {
        let (_, out) = sim.devices[i]
            .replica
            .send_text(conversation, text, 1)
            .unwrap();
        sim.route(i, out);
        assert!(sim.run(1000));
    }
    // A1 deletes the whole conversation for Alice's devices.
    let out = sim.devices[a1]
        .replica
        .delete(conversation, None, 2)
        .unwrap();
    sim.route(a1, out);
    assert!(sim.run(1000));
    for i in [a1, a2] {
        assert!(
            texts(&sim, i, &conversation).is_empty(),
            "device {i} still shows deleted messages"
        );
    }
    assert_eq!(texts(&sim, b1, &conversation).len(), 3, "Bob's copy is his");
    // The conversation goes on: a new message from Bob shows up.
    let (_, out) = sim.devices[b1]
        .replica
        .send_text(conversation, "four", 3)
        .unwrap();
    sim.route(b1, out);
    assert!(sim.run(1000));
    for i in [a1, a2] {
        assert_eq!(
            texts(&sim, i, &conversation),
            vec![Some("four".to_owned())],
            "device {i}"
        );
    }
    // And the deletion survives a restart.
    sim.set_online(a2, false);
    assert_eq!(
        texts(&sim, a2, &conversation),
        vec![Some("four".to_owned())]
    );
}

#[test]
fn a_bad_entry_is_refused_and_the_connection_goes_on() {
    let (mut sim, a1, b1, conversation) = direct_pair();
    sim.devices[a1]
        .replica
        .send_text(conversation, "genuine", 1)
        .unwrap();
    // What A1 would send B1 on connection.
    let bob_device = sim.devices[b1].replica.device_id();
    let frames = sim.devices[a1].replica.frames_for_new_peer(bob_device, 2);
    let Some(SyncMessage::Entries { entries, .. }) = frames.into_iter().next() else {
        panic!("no entries")
    };
    let alice_device = sim.devices[a1].replica.device_id();
    // A forged copy: one payload bit flipped under the original signature.
    let mut forged = entries[0].clone();
    let mut payload = forged.header.payload().to_vec();
    let last = payload.len() - 1;
    payload[last] ^= 1;
    forged.header = kith_wire::SignedHeader::from_parts(payload, *forged.header.signature());
    let bad = SyncMessage::Entries {
        conversation,
        entries: vec![forged],
    };
    let out = sim.devices[b1].replica.handle(
        Input::Received {
            from: alice_device,
            message: bad,
        },
        3,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::Refused { .. })))
    );
    assert!(sim.devices[b1].replica.messages(&conversation).is_empty());
    // The same peer's next, genuine frame is accepted.
    let good = SyncMessage::Entries {
        conversation,
        entries,
    };
    let out = sim.devices[b1].replica.handle(
        Input::Received {
            from: alice_device,
            message: good,
        },
        4,
    );
    assert!(
        out.iter()
            .any(|o| matches!(o, Output::Event(Event::NewEntry { .. })))
    );
    assert_eq!(
        texts(&sim, b1, &conversation),
        vec![Some("genuine".to_owned())]
    );
}

/// Revokes device `target` of `owner`'s account on every replica's copy of
/// the account's log.
fn revoke(sim: &mut kith_sync::sim::Sim, owner: usize, target: usize) {
    let device = sim.devices[target].replica.device_id();
    let reason = kith_wire::RevokeReason::Lost;
    let op = kith_wire::DeviceOp::RevokeDevice {
        device,
        cutoff: None,
        reason,
    };
    crate::append_to_account(sim, owner, op);
}

#[test]
fn entries_of_a_revoked_device_count_only_if_an_active_device_saw_them_first() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1)]);
    let (a1, a2, b1) = (ix[0][0], ix[0][1], ix[1][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    sim.devices[a2].replica.open_direct(&bob).unwrap();
    // A2 writes; A1 sees it and answers (naming it as a parent).
    let (early, out) = sim.devices[a2]
        .replica
        .send_text(conversation, "written before the theft", 1)
        .unwrap();
    sim.route(a2, out);
    sim.connect(a1, a2);
    assert!(sim.run(1000));
    let (_, out) = sim.devices[a1]
        .replica
        .send_text(conversation, "seen it", 2)
        .unwrap();
    sim.route(a1, out);
    assert!(sim.run(1000));
    sim.disconnect(a1, a2);
    // A2 is stolen and revoked; the thief writes on.
    revoke(&mut sim, a1, a2);
    let (late, out) = sim.devices[a2]
        .replica
        .send_text(conversation, "written by the thief", 3)
        .unwrap();
    sim.route(a2, out);
    // Bob meets the thief first, then A1.
    sim.connect(a2, b1);
    assert!(sim.run(1000));
    assert!(
        texts(&sim, b1, &conversation).is_empty(),
        "entries of a revoked device shown without a voucher"
    );
    sim.connect(a1, b1);
    assert!(sim.run(1000));
    let bob_view = sim.devices[b1].replica.conversation(&conversation).unwrap();
    assert!(
        bob_view.get(&early).is_some(),
        "the vouched-for early entry was lost"
    );
    assert!(
        bob_view.get(&late).is_none(),
        "the thief's entry was accepted"
    );
    assert_eq!(
        texts(&sim, b1, &conversation),
        vec![
            Some("written before the theft".to_owned()),
            Some("seen it".to_owned())
        ]
    );
}

#[test]
fn the_self_log_keeps_contacts_settings_and_read_markers_the_same_on_all_my_devices() {
    use kith_wire::{SelfRecord, TrustLevel};
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1), account("c", 1)]);
    let (a1, a2, b1, c1) = (ix[0][0], ix[0][1], ix[1][0], ix[2][0]);
    let bob = sim.devices[b1].replica.account_id();
    let carol = sim.devices[c1].replica.account_id();
    let with_carol = sim.devices[a1].replica.open_direct(&carol).unwrap();
    let (first, _) = sim.devices[a1]
        .replica
        .send_text(with_carol, "hi Carol", 1)
        .unwrap();
    let records = [
        SelfRecord::Contact {
            account: bob,
            alias: Some("Bobby".into()),
            trust: TrustLevel::Validated,
            reason: "safety number".into(),
        },
        SelfRecord::Conversation {
            id: with_carol,
            kind: kith_wire::ConversationKind::Direct,
            members: vec![sim.devices[a1].replica.account_id(), carol],
        },
        SelfRecord::ReadUpTo {
            conversation: with_carol,
            entry: first,
        },
        SelfRecord::Setting {
            key: "theme".into(),
            value: "dark".into(),
        },
    ];
    for record in records {
        let out = sim.devices[a1].replica.record(record, 2).unwrap();
        sim.route(a1, out);
    }
    // Concurrently, A2 (offline) changes the theme too.
    let out = sim.devices[a2]
        .replica
        .record(
            SelfRecord::Setting {
                key: "theme".into(),
                value: "light".into(),
            },
            3,
        )
        .unwrap();
    sim.route(a2, out);
    sim.connect(a1, a2);
    assert!(sim.run(1000));
    let one = sim.devices[a1].replica.self_state();
    let two = sim.devices[a2].replica.self_state();
    assert_eq!(one, two, "my devices disagree");
    assert_eq!(one.contacts[&bob].alias.as_deref(), Some("Bobby"));
    assert_eq!(one.contacts[&bob].trust, TrustLevel::Validated);
    assert_eq!(one.read_up_to[&with_carol], first);
    assert!(["dark", "light"].contains(&one.settings["theme"].as_str()));
    // A2 lists the conversation with Carol although it has no entry of it.
    assert!(sim.devices[a2].replica.conversation(&with_carol).is_some());
    // Removing a contact travels the same way.
    let out = sim.devices[a2]
        .replica
        .record(SelfRecord::ContactRemoved { account: bob }, 4)
        .unwrap();
    sim.route(a2, out);
    assert!(sim.run(1000));
    assert!(sim.devices[a1].replica.self_state().contacts.is_empty());
}

#[test]
fn a_tombstone_that_arrives_before_its_target_still_wins() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1)]);
    let (a1, a2, b1) = (ix[0][0], ix[0][1], ix[1][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    let (doomed, _) = sim.devices[a1]
        .replica
        .send_text(conversation, "regret", 1)
        .unwrap();
    sim.devices[a1]
        .replica
        .delete(conversation, Some(doomed), 2)
        .unwrap();
    // Everything A1 would send A2, delivered self log first.
    let a2_device = sim.devices[a2].replica.device_id();
    let mut frames = sim.devices[a1].replica.frames_for_new_peer(a2_device, 3);
    let self_log = sim.devices[a2].replica.self_conversation_id().unwrap();
    frames.sort_by_key(
        |f| !matches!(f, SyncMessage::Entries { conversation, .. } if *conversation == self_log),
    );
    assert!(
        matches!(&frames[0], SyncMessage::Entries { conversation, .. } if *conversation == self_log)
    );
    let a1_device = sim.devices[a1].replica.device_id();
    for frame in frames {
        sim.devices[a2].replica.handle(
            Input::Received {
                from: a1_device,
                message: frame,
            },
            4,
        );
    }
    let entry = sim.devices[a2]
        .replica
        .conversation(&conversation)
        .unwrap()
        .get(&doomed)
        .unwrap();
    assert_eq!(entry.body, Body::Deleted);
    assert!(texts(&sim, a2, &conversation).is_empty());
}

/// 120 messages of 60 KB for three other devices: far more than one frame
/// may carry. Every frame stays within the limit, and all of them reach
/// the device that was offline while they were written.
#[test]
fn large_messages_travel_in_frames_within_the_limit() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 2)]);
    let (a1, a2, b1, b2) = (ix[0][0], ix[0][1], ix[1][0], ix[1][1]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    for i in [a2, b1, b2] {
        sim.set_online(i, false);
    }
    let filler = "x".repeat(60_000 - 8);
    for n in 0..120 {
        let (_, outputs) = sim.devices[a1]
            .replica
            .send_text(conversation, &format!("{n:>8}{filler}"), sim.now_ms)
            .unwrap();
        sim.route(a1, outputs);
    }
    assert!(sim.run(100));
    sim.set_online(b1, true);
    sim.connect(a1, b1);
    assert!(sim.run(100_000));
    assert_eq!(sim.oversized, 0, "frames over the limit were sent");
    let got = texts(&sim, b1, &conversation);
    assert_eq!(got.len(), 120);
    assert!(
        got.iter()
            .all(|t| t.as_ref().is_some_and(|t| t.len() == 60_000))
    );
}

/// Alice's first message read by Bob (a session exists), delivered by
/// hand: what the tests below tamper with travels the same way.
fn pair_with_a_session() -> (kith_sync::sim::Sim, usize, usize, kith_wire::ConversationId) {
    let (mut sim, a1, b1, conversation) = direct_pair();
    sim.devices[a1]
        .replica
        .send_text(conversation, "hello", sim.now_ms)
        .unwrap();
    for frame in frames_for(&mut sim, a1, b1) {
        deliver(&mut sim, a1, b1, frame);
    }
    assert_eq!(
        texts(&sim, b1, &conversation),
        vec![Some("hello".to_owned())]
    );
    (sim, a1, b1, conversation)
}

/// What `from` would send `to` as a new peer.
fn frames_for(sim: &mut kith_sync::sim::Sim, from: usize, to: usize) -> Vec<SyncMessage> {
    let to = sim.devices[to].replica.device_id();
    sim.devices[from].replica.frames_for_new_peer(to, 1)
}

/// Hands `to` one frame from `from`, its answers dropped.
fn deliver(sim: &mut kith_sync::sim::Sim, from: usize, to: usize, message: SyncMessage) {
    let from = sim.devices[from].replica.device_id();
    sim.devices[to]
        .replica
        .handle(Input::Received { from, message }, 1);
}

/// Hands `to` one frame of `entries` of `conversation` from `from`.
fn deliver_entries(
    sim: &mut kith_sync::sim::Sim,
    from: usize,
    to: usize,
    conversation: kith_wire::ConversationId,
    entries: Vec<kith_wire::WireEntry>,
) {
    let message = SyncMessage::Entries {
        conversation,
        entries,
    };
    deliver(sim, from, to, message);
}

/// The wire form of entries `ids`, as `from` sends them to `to`.
fn wires_of(
    sim: &mut kith_sync::sim::Sim,
    from: usize,
    to: usize,
    ids: &[kith_wire::EntryHash],
) -> Vec<kith_wire::WireEntry> {
    let wires: Vec<kith_wire::WireEntry> = frames_for(sim, from, to)
        .into_iter()
        .flat_map(|f| match f {
            SyncMessage::Entries { entries, .. } => entries,
            _ => Vec::new(),
        })
        .collect();
    ids.iter()
        .map(|id| {
            wires
                .iter()
                .find(|w| kith_sync::ids::entry_id(&w.header).unwrap() == *id)
                .unwrap()
                .clone()
        })
        .collect()
}

/// A forwarder swaps the envelopes of two entries by one author: opening
/// the wrong one is rolled back (its body does not match the header), so
/// no message key is burned and both bodies open once the right envelopes
/// come.
#[test]
fn a_swapped_envelope_burns_no_message_key() {
    let (mut sim, a1, b1, conversation) = pair_with_a_session();
    let (x, _) = sim.devices[a1]
        .replica
        .send_text(conversation, "x", sim.now_ms)
        .unwrap();
    let (y, _) = sim.devices[a1]
        .replica
        .send_text(conversation, "y", sim.now_ms)
        .unwrap();
    let wires = wires_of(&mut sim, a1, b1, &[x, y]);
    let (x_wire, y_wire) = (wires[0].clone(), wires[1].clone());
    // X arrives carrying Y's envelope.
    let mut swapped = x_wire.clone();
    swapped.body = y_wire.body.clone();
    deliver_entries(&mut sim, a1, b1, conversation, vec![swapped]);
    // Then Y and X as they are.
    for wire in [y_wire, x_wire] {
        deliver_entries(&mut sim, a1, b1, conversation, vec![wire]);
    }
    let got = texts(&sim, b1, &conversation);
    assert_eq!(
        got,
        vec![
            Some("hello".to_owned()),
            Some("x".to_owned()),
            Some("y".to_owned())
        ],
        "a body stayed unreadable"
    );
}

/// A forwarder replaces every body of a frame with an envelope whose
/// header claims a new chain as far ahead as the skip limit allows: the
/// whole frame makes Bob derive at most one budget of keys (not ~50,000
/// per envelope and session state), and the genuine bodies, out of order in a later frame,
/// still open.
#[test]
fn a_frame_of_far_ahead_headers_costs_one_budget() {
    let (mut sim, a1, b1, conversation) = pair_with_a_session();
    let ids: Vec<kith_wire::EntryHash> = (0..7)
        .map(|i| {
            sim.devices[a1]
                .replica
                .send_text(conversation, &format!("m{i}"), sim.now_ms)
                .unwrap()
                .0
        })
        .collect();
    let genuine = wires_of(&mut sim, a1, b1, &ids);
    let elsewhere = kith_identity::DeviceKeys::generate("elsewhere", 0).unwrap();
    let far_key = elsewhere.record().unwrap().identity_key;
    let forged: Vec<kith_wire::WireEntry> = genuine
        .iter()
        .map(|wire| {
            let mut wire = wire.clone();
            for envelope in &mut wire.body.as_mut().unwrap().envelopes {
                let header = match &mut envelope.message {
                    kith_wire::SessionMessage::PreKey(p) => &mut p.message.header,
                    kith_wire::SessionMessage::Ratchet(m) => &mut m.header,
                    _ => panic!("a direct conversation"),
                };
                header.dh = far_key;
                header.pn = kith_session::ratchet::MAX_SKIP;
                header.n = kith_session::ratchet::MAX_SKIP;
            }
            wire
        })
        .collect();
    let before = sim.devices[b1].replica.sessions().keys_derived_ahead();
    deliver_entries(&mut sim, a1, b1, conversation, forged);
    let derived = sim.devices[b1].replica.sessions().keys_derived_ahead() - before;
    assert!(
        derived <= u64::from(kith_session::SKIP_BUDGET),
        "one frame of seven forged headers made Bob derive {derived} keys"
    );
    // The genuine bodies, newest first: the first one skips six keys.
    let mut newest_first = genuine;
    newest_first.reverse();
    deliver_entries(&mut sim, a1, b1, conversation, newest_first);
    let got = texts(&sim, b1, &conversation);
    let want: Vec<Option<String>> = std::iter::once("hello".to_owned())
        .chain((0..7).map(|i| format!("m{i}")))
        .map(Some)
        .collect();
    assert_eq!(got, want, "a body stayed unreadable");
}

/// My own devices leave the X3DH start behind as soon as they meet: the
/// device that opened a pre-key envelope answers, so the next message is
/// on a ratchet step made after it (a thief holding the receiving device's
/// prekey then reads nothing later than the first message).
#[test]
fn own_devices_leave_the_prekey_chain_after_the_first_message() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1)]);
    let (a1, a2, b1) = (ix[0][0], ix[0][1], ix[1][0]);
    let bob = sim.devices[b1].replica.account_id();
    let conversation = sim.devices[a1].replica.open_direct(&bob).unwrap();
    sim.set_online(b1, false);
    sim.connect(a1, a2);
    assert!(sim.run(1000));
    let envelope_for_a2 = |sim: &mut kith_sync::sim::Sim, text: &str| {
        let (id, outputs) = sim.devices[a1]
            .replica
            .send_text(conversation, text, sim.now_ms)
            .unwrap();
        sim.route(a1, outputs);
        let wire = wires_of(sim, a1, a2, &[id]).remove(0);
        let a2_id = sim.devices[a2].replica.device_id();
        let envelopes = wire.body.unwrap().envelopes;
        envelopes
            .into_iter()
            .find(|e| e.recipient == a2_id)
            .unwrap()
            .message
    };
    let first = envelope_for_a2(&mut sim, "one");
    assert!(matches!(first, kith_wire::SessionMessage::PreKey(_)));
    assert!(sim.run(1000));
    assert_eq!(texts(&sim, a2, &conversation), vec![Some("one".to_owned())]);
    let second = envelope_for_a2(&mut sim, "two");
    assert!(
        matches!(second, kith_wire::SessionMessage::Ratchet(_)),
        "the second message to my other device is still a pre-key message"
    );
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, a2, &conversation),
        vec![Some("one".to_owned()), Some("two".to_owned())]
    );
}

/// Devices that meet before their first message hand each other a one-time
/// prekey: the first message uses it (so a thief holding the reader's keys
/// later cannot open it), and it opens.
#[test]
fn the_first_message_between_connected_devices_uses_a_one_time_prekey() {
    let (mut sim, a1, b1, conversation) = direct_pair();
    sim.connect(a1, b1);
    assert!(sim.run(1000));
    let (id, outputs) = sim.devices[a1]
        .replica
        .send_text(conversation, "hello", sim.now_ms)
        .unwrap();
    sim.route(a1, outputs);
    let wire = wires_of(&mut sim, a1, b1, &[id]).remove(0);
    let b1_id = sim.devices[b1].replica.device_id();
    let envelope = wire
        .body
        .unwrap()
        .envelopes
        .into_iter()
        .find(|e| e.recipient == b1_id)
        .unwrap();
    assert!(
        matches!(&envelope.message, kith_wire::SessionMessage::PreKey(p) if p.opk_id.is_some()),
        "the first message used no one-time prekey"
    );
    assert!(sim.run(1000));
    assert_eq!(
        texts(&sim, b1, &conversation),
        vec![Some("hello".to_owned())]
    );
}

#[test]
fn an_entry_pushed_without_its_parents_fetches_them_at_once() {
    use kith_wire::SelfRecord;
    let (mut sim, ix) = world(vec![account("a", 2)]);
    let (a1, a2) = (ix[0][0], ix[0][1]);
    sim.connect(a1, a2);
    assert!(sim.run(1000));
    let setting = |value: &str| SelfRecord::Setting {
        key: "theme".into(),
        value: value.into(),
    };
    // A1's first record is lost on the way (A2 was not reachable when it
    // was written); its second arrives over the live connection.
    let lost = sim.devices[a1].replica.record(setting("dark"), 2).unwrap();
    drop(lost);
    let out = sim.devices[a1].replica.record(setting("light"), 3).unwrap();
    sim.route(a1, out);
    assert!(sim.run(1000));
    // A2 asked for what the second builds on: both are there, no reconnection.
    let one = sim.devices[a1].replica.self_state();
    let two = sim.devices[a2].replica.self_state();
    assert_eq!(two.settings["theme"], "light");
    assert_eq!(one, two);
}

#[test]
fn a_read_marker_never_moves_back_when_a_device_that_saw_less_reads_later() {
    use kith_wire::SelfRecord;
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1)]);
    let (a1, a2, b1) = (ix[0][0], ix[0][1], ix[1][0]);
    let alice = sim.devices[a1].replica.account_id();
    let conversation = sim.devices[b1].replica.open_direct(&alice).unwrap();
    sim.connect_all();
    let (first, out) = sim.devices[b1]
        .replica
        .send_text(conversation, "one", sim.now_ms)
        .unwrap();
    sim.route(b1, out);
    assert!(sim.run(1000));
    // A2 drops off; Bob's second message reaches A1 only, which reads it.
    sim.set_online(a2, false);
    let (second, out) = sim.devices[b1]
        .replica
        .send_text(conversation, "two", sim.now_ms)
        .unwrap();
    sim.route(b1, out);
    assert!(sim.run(1000));
    let read = |entry| SelfRecord::ReadUpTo {
        conversation,
        entry,
    };
    let out = sim.devices[a1]
        .replica
        .record(read(second), sim.now_ms)
        .unwrap();
    sim.route(a1, out);
    assert!(sim.run(1000));
    // Meanwhile A2, which saw only the first, changes settings and then
    // reads the first: its records come later in the self log's order.
    for key in ["x", "y", "z"] {
        let setting = SelfRecord::Setting {
            key: key.into(),
            value: "1".into(),
        };
        let out = sim.devices[a2].replica.record(setting, sim.now_ms).unwrap();
        sim.route(a2, out);
    }
    let out = sim.devices[a2]
        .replica
        .record(read(first), sim.now_ms)
        .unwrap();
    sim.route(a2, out);
    sim.set_online(a2, true);
    sim.connect_all();
    assert!(sim.run(2000));
    for i in [a1, a2] {
        assert!(order(&sim, i, &conversation).contains(&second));
        assert_eq!(
            sim.devices[i].replica.self_state().read_up_to[&conversation],
            second,
            "device {i}: the marker moved back"
        );
    }
}
