//! The device directory travels with sync: device logs (own and, to own
//! devices, contacts') and signed address announcements.

use kith_identity::{Compromise, DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_sync::{Event, Input, MemoryStorage, Output, Replica};
use kith_wire::{AddressAnnouncement, DeviceOp, Directory, RevokeReason, SyncMessage, domain};

use crate::{account, world};

#[test]
fn device_log_changes_and_new_contacts_travel_by_sync_alone() {
    let (mut sim, ids) = world(vec![account("alice", 3), account("bob", 1)]);
    let (a1, a2, a3, b1) = (ids[0][0], ids[0][1], ids[0][2], ids[1][0]);
    let alice = sim.devices[a1].replica.account_id();
    // A1 revokes A3, only locally: the others learn it by syncing.
    let a3_id = sim.devices[a3].replica.device_id();
    let mut log = sim.devices[a1].replica.device_log(&alice).unwrap().clone();
    log.append(
        sim.devices[a1].replica.keys(),
        DeviceOp::RevokeDevice {
            device: a3_id,
            cutoff: None,
            reason: RevokeReason::Lost,
        },
        9,
    )
    .unwrap();
    sim.devices[a1].replica.update_log(log);
    // A new contact, Carol, known to A1 only.
    let carol_keys = DeviceKeys::generate("carol1", 0).unwrap();
    let carol_log = DeviceLog::create(&carol_keys, "Carol", 0).unwrap();
    let carol = carol_log.account_id();
    sim.devices[a1].replica.update_log(carol_log);
    sim.connect_all();
    assert!(sim.run(10_000), "the simulation did not settle");
    for i in [a2, b1] {
        let log = sim.devices[i].replica.device_log(&alice).unwrap();
        assert!(
            !log.state().is_active(&a3_id),
            "device {i} missed the revocation"
        );
    }
    // Own devices learn contacts' logs; other accounts do not.
    assert!(sim.devices[a2].replica.device_log(&carol).is_some());
    assert!(sim.devices[b1].replica.device_log(&carol).is_none());
}

#[test]
fn address_announcements_are_checked_and_only_newer_ones_taken() {
    let a = account("alice", 1);
    let keys = DeviceKeys::generate("other", 0).unwrap();
    let device = a.keys[0].device_id();
    let transport = a.keys[0].transport_id();
    let announcement = |at_ms, addr: &str| AddressAnnouncement {
        device,
        transport,
        addresses: vec![addr.parse().unwrap()],
        relay: None,
        at_ms,
    };
    let signed =
        |keys: &DeviceKeys, a: &AddressAnnouncement| keys.sign(domain::ADDRESS, a).unwrap();
    let log = a.log.clone();
    let mut replica = Replica::new(keys, log, Sessions::new(MemoryStorage::default())).unwrap();
    let own = &a.keys[0];
    // Signed by the device itself: taken; an older one: ignored.
    let fresh = announcement(10, "127.0.0.1:7001");
    assert_eq!(
        replica.add_announcement(signed(own, &fresh)).unwrap(),
        Some(fresh.clone())
    );
    assert_eq!(
        replica
            .add_announcement(signed(own, &announcement(5, "127.0.0.1:9")))
            .unwrap(),
        None
    );
    // Signed by another key: refused.
    let other = DeviceKeys::generate("mallory", 0).unwrap();
    assert!(
        replica
            .add_announcement(signed(&other, &announcement(20, "10.0.0.1:1")))
            .is_err()
    );
    // For another endpoint than the device's: refused.
    let mut moved = announcement(30, "10.0.0.2:2");
    moved.transport = other.transport_id();
    assert!(replica.add_announcement(signed(own, &moved)).is_err());
    let held: Vec<_> = replica.announcements().map(|(a, _)| a.clone()).collect();
    assert_eq!(held, [fresh]);
}

/// Appends `op` by device `by` to its own copy of its account's log only
/// (offline: nobody hears of it until a sync).
fn write_locally(sim: &mut kith_sync::sim::Sim, by: usize, op: DeviceOp) {
    let replica = &mut sim.devices[by].replica;
    let account = replica.account_id();
    let mut log = replica.device_log(&account).unwrap().clone();
    log.append(replica.keys(), op, 9).unwrap();
    replica.update_log(log);
}

/// A device that was offline while the thief was revoked meets the thief
/// first (and so believes the thief's back-dated revocation of the phone),
/// then the phone: it still takes the phone's device log, which carries the
/// thief's revocation, and everything ends in one state.
#[test]
fn a_device_that_met_the_thief_first_still_learns_the_truth() {
    let (mut sim, ids) = world(vec![account("alice", 4)]);
    let (laptop, phone, tablet, thief) = (ids[0][0], ids[0][1], ids[0][2], ids[0][3]);
    let alice = sim.devices[laptop].replica.account_id();
    let id = |sim: &kith_sync::sim::Sim, i: usize| sim.devices[i].replica.device_id();
    sim.connect_all();
    assert!(sim.run(10_000));
    sim.set_online(tablet, false);
    sim.set_online(thief, false);
    // Offline, the thief revokes the phone, back-dated.
    let phone_id = id(&sim, phone);
    write_locally(
        &mut sim,
        thief,
        DeviceOp::RevokeDevice {
            device: phone_id,
            cutoff: None,
            reason: RevokeReason::Lost,
        },
    );
    // The laptop revokes the thief; the phone hears of it.
    let thief_id = id(&sim, thief);
    write_locally(
        &mut sim,
        laptop,
        DeviceOp::RevokeDevice {
            device: thief_id,
            cutoff: None,
            reason: RevokeReason::Lost,
        },
    );
    let outputs = sim.devices[laptop].replica.publish_directory();
    sim.route(laptop, outputs);
    assert!(sim.run(10_000));
    // The tablet meets the thief alone first.
    sim.set_online(tablet, true);
    sim.set_online(thief, true);
    sim.connect(tablet, thief);
    assert!(sim.run(10_000));
    let tablet_log = |sim: &kith_sync::sim::Sim| {
        sim.devices[tablet]
            .replica
            .device_log(&alice)
            .unwrap()
            .clone()
    };
    assert!(!tablet_log(&sim).state().is_active(&phone_id), "the set-up");
    sim.disconnect(tablet, thief);
    sim.set_online(thief, false);
    // Then the phone, which it now believes revoked.
    sim.connect(tablet, phone);
    assert!(sim.run(10_000));
    let state = tablet_log(&sim).state().clone();
    assert!(!state.is_active(&thief_id), "the thief is still in");
    assert!(state.is_active(&phone_id), "the phone is still out");
    assert!(state.is_active(&id(&sim, laptop)));
    let phone_state = sim.devices[phone]
        .replica
        .device_log(&alice)
        .unwrap()
        .state()
        .clone();
    assert_eq!(state, phone_state, "the tablet and the phone disagree");
}

/// Mallory's account claims Alice's device's endpoint id with a device of
/// its own (any account can write any endpoint id into its log). Carol, who
/// knows both accounts, still maps that endpoint to Alice's device, which
/// proved it with its transport key, even with Mallory's account first in
/// her ordering; the claim is reported.
#[test]
fn a_claimed_endpoint_maps_to_the_device_that_proved_it() {
    use kith_sync::{Event, Input, Output};
    let alice_keys = DeviceKeys::generate("alice", 0).unwrap();
    let mut alice = DeviceLog::create(&alice_keys, "Alice", 0).unwrap();
    let proof = DeviceOp::ProveTransport {
        signature: alice_keys.transport_proof().unwrap(),
    };
    alice.append(&alice_keys, proof, 0).unwrap();
    // A Mallory account that sorts before Alice's (bounded tries).
    let (mallory_keys, mut mallory) = (0..256)
        .map(|_| {
            let keys = DeviceKeys::generate("mallory", 0).unwrap();
            let log = DeviceLog::create(&keys, "Mallory", 0).unwrap();
            (keys, log)
        })
        .find(|(_, log)| log.account_id() < alice.account_id())
        .unwrap();
    let fake = DeviceKeys::generate("fake", 0).unwrap();
    let mut record = fake.record().unwrap();
    record.transport = alice_keys.transport_id();
    let signed =
        kith_wire::encode(&(record.device, record.identity_key, record.transport)).unwrap();
    record.keys_signature = kith_wire::Sig(
        fake.signing_key()
            .sign(domain::DEVICE_KEYS, &signed)
            .unwrap()
            .to_bytes(),
    );
    let add = DeviceOp::AddDevice {
        countersignature: fake
            .countersign_join(&mallory.account_id(), &record)
            .unwrap(),
        prekey: fake.current_prekey().unwrap().public().clone(),
        device: record,
    };
    mallory.append(&mallory_keys, add, 0).unwrap();
    assert!(
        mallory.state().is_active(&fake.device_id()),
        "the claim itself is valid"
    );

    let carol_keys = DeviceKeys::generate("carol", 0).unwrap();
    let carol_log = DeviceLog::create(&carol_keys, "Carol", 0).unwrap();
    let mut carol = Replica::new(
        carol_keys,
        carol_log,
        Sessions::new(MemoryStorage::default()),
    )
    .unwrap();
    carol.update_log(alice.clone());
    // Mallory's log arrives in a directory from Mallory's own device.
    let mallory_device = mallory_keys.device_id();
    carol
        .update_log(DeviceLog::from_entries(mallory.entries().take(1).cloned().collect()).unwrap());
    let outputs = carol.handle(
        Input::Received {
            from: mallory_device,
            message: SyncMessage::Directory(Directory {
                logs: vec![mallory.entries().cloned().collect()],
                ..Directory::default()
            }),
        },
        1,
    );
    assert!(
        carol
            .device_log(&mallory.account_id())
            .unwrap()
            .state()
            .is_active(&fake.device_id())
    );
    assert_eq!(
        carol.device_for_transport(&alice_keys.transport_id()),
        Some(alice_keys.device_id())
    );
    assert!(
        outputs
            .iter()
            .any(|o| matches!(o, Output::Event(Event::Refused { .. }))),
        "the claim was not reported"
    );
}

/// A device restored from an old backup presents, in sync, heads older than
/// an entry it wrote and others hold: they take it as a rollback (the
/// account's log is compromise evidence). An entry it wrote after the
/// connection began, reaching a device by another path before the claim it
/// sent earlier, is no rollback.
#[test]
fn a_device_presenting_an_older_log_than_it_wrote_is_caught_in_sync() {
    let (mut sim, ids) = world(vec![account("alice", 1), account("bob", 1)]);
    let (a1, b1) = (ids[0][0], ids[1][0]);
    let alice = sim.devices[a1].replica.account_id();
    let a1_id = sim.devices[a1].replica.device_id();
    let heads = |sim: &kith_sync::sim::Sim| {
        let log = sim.devices[a1].replica.device_log(&alice).unwrap();
        log.state().heads.clone()
    };
    let rename = |sim: &mut kith_sync::sim::Sim, name: &str| {
        let mut log = sim.devices[a1].replica.device_log(&alice).unwrap().clone();
        let op = DeviceOp::Profile { name: name.into() };
        log.append(sim.devices[a1].replica.keys(), op, 9).unwrap();
        sim.devices[a1].replica.update_log(log);
    };
    let claim = |sim: &mut kith_sync::sim::Sim, heads: Vec<kith_wire::EntryHash>| {
        let message = SyncMessage::Directory(Directory {
            heads,
            ..Directory::default()
        });
        let input = Input::Received {
            from: a1_id,
            message,
        };
        sim.devices[b1].replica.handle(input, 1)
    };
    let rolled_back = |sim: &kith_sync::sim::Sim| {
        let log = sim.devices[b1].replica.device_log(&alice).unwrap();
        log.state()
            .compromise
            .iter()
            .any(|c| matches!(c, Compromise::Rollback { device, .. } if *device == a1_id))
    };
    sim.connect(a1, b1);
    assert!(sim.run(10_000));
    let before = heads(&sim);
    // Written after the connection began: Bob gets it another way first,
    // then A1's earlier claim arrives. No rollback.
    rename(&mut sim, "Alice B.");
    let written = sim.devices[a1].replica.device_log(&alice).unwrap().clone();
    sim.devices[b1].replica.update_log(written);
    claim(&mut sim, before.clone());
    assert!(
        !rolled_back(&sim),
        "an earlier claim in flight was taken as a rollback"
    );
    // A1 is restored from a backup made before: on its next connection it
    // presents the old heads, though Bob knew its newer entry by then.
    sim.disconnect(a1, b1);
    sim.connect(a1, b1);
    let outputs = claim(&mut sim, before);
    assert!(rolled_back(&sim), "a rolled-back device log went unnoticed");
    assert!(
        outputs.iter().any(|o| matches!(
            o,
            Output::Event(Event::RolledBack { account, device }) if *account == alice && *device == a1_id
        )),
        "no event told of the rollback"
    );
}
