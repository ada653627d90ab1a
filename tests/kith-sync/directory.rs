//! The device directory travels with sync: device logs (own and, to own
//! devices, contacts') and signed address announcements.

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_sync::{MemoryStorage, Replica};
use kith_wire::{AddressAnnouncement, DeviceOp, RevokeReason, domain};

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
