//! Private groups through the simulator: every member device gets every
//! message, members who are not each other's contacts sync, removed
//! members read nothing new, late joiners read from their join on.

use kith_identity::MemberStatus;
use kith_sync::SyncError;
use kith_sync::sim::Sim;
use kith_wire::{AccountId, ConversationId, ConversationKind, GroupOp, Role};

use crate::{account, order, texts, world, world_where};

pub(crate) fn id_of(sim: &Sim, i: usize) -> AccountId {
    sim.devices[i].replica.account_id()
}

pub(crate) fn create(sim: &mut Sim, by: usize, members: &[usize]) -> ConversationId {
    create_of(sim, ConversationKind::Group, by, members)
}

/// A group or room of `kind` created by `by` with `members` added.
pub(crate) fn create_of(
    sim: &mut Sim,
    kind: ConversationKind,
    by: usize,
    members: &[usize],
) -> ConversationId {
    let accounts: Vec<AccountId> = members.iter().map(|&i| id_of(sim, i)).collect();
    let now = sim.now_ms;
    let (group, outputs) = sim.devices[by]
        .replica
        .create_group(kind, "Climbing", &accounts, now)
        .unwrap();
    sim.route(by, outputs);
    group
}

pub(crate) fn say(
    sim: &mut Sim,
    by: usize,
    group: ConversationId,
    text: &str,
) -> Result<(), SyncError> {
    let now = sim.now_ms;
    let (_, outputs) = sim.devices[by].replica.send_text(group, text, now)?;
    sim.route(by, outputs);
    Ok(())
}

pub(crate) fn change(
    sim: &mut Sim,
    by: usize,
    group: ConversationId,
    op: GroupOp,
) -> Result<(), SyncError> {
    let now = sim.now_ms;
    let (_, outputs) = sim.devices[by].replica.change_membership(group, op, now)?;
    sim.route(by, outputs);
    Ok(())
}

pub(crate) fn readable(sim: &Sim, i: usize, group: &ConversationId) -> Vec<String> {
    texts(sim, i, group).into_iter().flatten().collect()
}

/// Device `by` revokes `device` of its account as lost.
pub(crate) fn lost(sim: &mut Sim, by: usize, device: kith_wire::DeviceId) {
    crate::append_to_account(
        sim,
        by,
        kith_wire::DeviceOp::RevokeDevice {
            device,
            cutoff: None,
            reason: kith_wire::RevokeReason::Lost,
        },
    );
}

/// Every device of every account reads `expected` (in any order of
/// writing), all in one display order.
pub(crate) fn everyone_reads(
    sim: &Sim,
    ix: &[Vec<usize>],
    group: &ConversationId,
    expected: &[&str],
) -> Vec<usize> {
    let all: Vec<usize> = ix.iter().flatten().copied().collect();
    let first = order(sim, all[0], group);
    for &i in &all {
        let mut got = readable(sim, i, group);
        got.sort();
        assert_eq!(got, expected, "device {i}");
        assert_eq!(order(sim, i, group), first, "device {i}");
    }
    all
}

#[test]
fn every_member_device_gets_every_message_in_one_order() {
    let (mut sim, ix) = world(vec![account("a", 2), account("b", 1), account("c", 2)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1, c1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "hi all").unwrap();
    say(&mut sim, b1, group, "hi Alice").unwrap();
    say(&mut sim, c1, group, "hello").unwrap();
    assert!(sim.run(20_000));
    let all = everyone_reads(&sim, &ix, &group, &["hello", "hi Alice", "hi all"]);
    for &i in &all {
        let state = sim.devices[i].replica.group_state(&group).unwrap();
        assert_eq!(state.name, "Climbing");
        assert_eq!(state.role_of(&id_of(&sim, a1)), Some(Role::Admin));
        assert_eq!(state.role_of(&id_of(&sim, b1)), Some(Role::Member));
        assert_eq!(state.active().count(), 3);
    }
}

#[test]
fn members_who_are_not_each_others_contacts_sync_through_the_group() {
    // Alice knows Bob and Carol; Bob and Carol know only Alice.
    let (mut sim, ix) = world_where(
        vec![account("a", 1), account("b", 1), account("c", 1)],
        |i, j| i == 0 || j == 0,
    );
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1, c1]);
    sim.connect(a1, b1);
    sim.connect(a1, c1);
    assert!(sim.run(20_000));
    let bob = id_of(&sim, b1);
    assert!(
        sim.devices[c1].replica.device_log(&bob).is_some(),
        "Carol learned Bob's log"
    );
    // Bob writes; Carol reads it through Alice.
    say(&mut sim, b1, group, "from Bob").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, c1, &group), ["from Bob"]);
    // Without Alice, Bob and Carol talk directly.
    sim.set_online(a1, false);
    sim.connect(b1, c1);
    say(&mut sim, c1, group, "from Carol").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, b1, &group), ["from Bob", "from Carol"]);
}

#[test]
fn a_message_written_while_one_member_is_offline_reaches_it_through_another() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 1)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1, c1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    sim.set_online(c1, false);
    say(&mut sim, a1, group, "while you were out").unwrap();
    assert!(sim.run(20_000));
    sim.set_online(a1, false);
    sim.set_online(c1, true);
    sim.connect(b1, c1);
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, c1, &group), ["while you were out"]);
}

#[test]
fn a_removed_member_reads_nothing_written_after_and_cannot_write() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 1)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1, c1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "before").unwrap();
    assert!(sim.run(20_000));
    let carol = id_of(&sim, c1);
    change(&mut sim, a1, group, GroupOp::Remove { account: carol }).unwrap();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "after").unwrap();
    say(&mut sim, b1, group, "after too").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, c1, &group), ["before"]);
    let state = sim.devices[c1].replica.group_state(&group).unwrap();
    assert!(matches!(
        state.members[&carol].status,
        MemberStatus::Removed { .. }
    ));
    let err = say(&mut sim, c1, group, "let me back").unwrap_err();
    assert!(matches!(err, SyncError::Membership(_)), "{err}");
    let mut got = readable(&sim, b1, &group);
    got.sort();
    assert_eq!(got, ["after", "after too", "before"]);
}

#[test]
fn what_a_member_may_not_do_is_refused_and_nothing_is_written() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 1)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    let before = order(&sim, b1, &group);
    let add = sim.devices[b1]
        .replica
        .add_op(&id_of(&sim, c1), Role::Member)
        .unwrap();
    let err = change(&mut sim, b1, group, add).unwrap_err();
    assert!(
        matches!(err, SyncError::Membership(w) if w.contains("admin")),
        "{err}"
    );
    let promote = GroupOp::SetRole {
        account: id_of(&sim, b1),
        role: Role::Admin,
    };
    assert!(change(&mut sim, b1, group, promote).is_err());
    assert_eq!(order(&sim, b1, &group), before);
    // Carol, no member, is told nothing of the group.
    assert!(sim.run(20_000));
    assert!(sim.devices[c1].replica.conversation(&group).is_none());
}

#[test]
fn a_late_member_reads_from_its_join_on_and_a_leaver_reads_nothing_new() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("d", 1)]);
    let (a1, b1, d1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "old news").unwrap();
    assert!(sim.run(20_000));
    let add = sim.devices[a1]
        .replica
        .add_op(&id_of(&sim, d1), Role::Member)
        .unwrap();
    change(&mut sim, a1, group, add).unwrap();
    assert!(sim.run(20_000));
    say(&mut sim, b1, group, "welcome Dave").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, d1, &group), ["welcome Dave"]);
    assert_eq!(
        sim.devices[d1]
            .replica
            .group_state(&group)
            .unwrap()
            .active()
            .count(),
        3
    );
    // Bob leaves: all of his devices are out, and read nothing new.
    change(&mut sim, b1, group, GroupOp::Leave).unwrap();
    assert!(sim.run(20_000));
    say(&mut sim, d1, group, "bye Bob").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, b1, &group), ["old news", "welcome Dave"]);
    assert_eq!(
        readable(&sim, a1, &group),
        ["old news", "welcome Dave", "bye Bob"]
    );
}

#[test]
fn the_group_survives_a_restart() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1)]);
    let (a1, b1) = (ix[0][0], ix[1][0]);
    let group = create(&mut sim, a1, &[b1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, b1, group, "kept").unwrap();
    assert!(sim.run(20_000));
    let before = sim.devices[b1].replica.group_state(&group).unwrap().clone();
    sim.devices[b1].replica.reload().unwrap();
    assert_eq!(sim.devices[b1].replica.group_state(&group), Some(&before));
    assert_eq!(
        sim.devices[b1].replica.conversation(&group).unwrap().kind,
        ConversationKind::Group
    );
    assert_eq!(readable(&sim, b1, &group), ["kept"]);
}

#[test]
fn members_added_while_connected_learn_each_others_devices_before_writing() {
    let (mut sim, ix) = world_where(
        vec![account("a", 1), account("b", 1), account("c", 1)],
        |i, j| i == 0 || j == 0,
    );
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    sim.connect(a1, b1);
    sim.connect(a1, c1);
    assert!(sim.run(20_000));
    let group = create(&mut sim, a1, &[b1, c1]);
    assert!(sim.run(20_000));
    let carol = id_of(&sim, c1);
    assert!(sim.devices[b1].replica.device_log(&carol).is_some());
    say(&mut sim, b1, group, "from Bob").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, c1, &group), ["from Bob"]);
}

#[test]
fn a_revoked_device_of_a_member_reads_nothing_written_after_its_revocation() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 2)]);
    let (a1, b1, b2) = (ix[0][0], ix[1][0], ix[1][1]);
    let group = create(&mut sim, a1, &[b1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, a1, group, "before").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, b2, &group), ["before"]);
    // Bob's phone (B2) is stolen: B1 revokes it; everyone learns it.
    let b2_id = sim.devices[b2].replica.device_id();
    lost(&mut sim, b1, b2_id);
    say(&mut sim, a1, group, "after").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(readable(&sim, b1, &group), ["before", "after"]);
    // The thief's copy of B2's state holds no key for it: no envelope was
    // made for B2, and nothing it is sent opens.
    assert_eq!(readable(&sim, b2, &group), ["before"]);
    let entry = sim.devices[a1]
        .replica
        .conversation(&group)
        .unwrap()
        .in_order()
        .rev()
        .find(|e| e.header.kind == kith_wire::EntryKind::Message)
        .unwrap()
        .clone();
    let fan_out = entry.fan_out.unwrap();
    assert!(fan_out.envelopes.iter().all(|e| e.recipient != b2_id));
    assert!(
        fan_out
            .envelopes
            .iter()
            .any(|e| e.recipient == sim.devices[b1].replica.device_id())
    );
}

#[test]
fn what_a_member_wrote_concurrently_with_its_removal_is_shown_by_nobody() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 1)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    let group = create(&mut sim, a1, &[b1, c1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, c1, group, "seen before").unwrap();
    assert!(sim.run(20_000));
    // Alice removes Carol while Bob and Carol are away from her; Carol,
    // unaware, writes, and Bob (unaware too) gets it and shows it.
    sim.disconnect(a1, b1);
    sim.disconnect(a1, c1);
    let carol = id_of(&sim, c1);
    change(&mut sim, a1, group, GroupOp::Remove { account: carol }).unwrap();
    say(&mut sim, c1, group, "written unaware").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(
        readable(&sim, b1, &group),
        ["seen before", "written unaware"]
    );
    // Once the removal reaches Bob, and Carol's message reaches Alice
    // through Bob, neither shows it: it is outside the removal's past.
    sim.disconnect(b1, c1);
    sim.connect(a1, b1);
    assert!(sim.run(20_000));
    for i in [a1, b1] {
        assert_eq!(readable(&sim, i, &group), ["seen before"], "device {i}");
    }
    // The entry is in both logs (the log stays whole), shown by neither.
    let on_alice = order(&sim, a1, &group);
    assert_eq!(order(&sim, b1, &group), on_alice);
}
