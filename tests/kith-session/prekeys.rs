//! Signed prekeys rotate and old ones are erased after a grace period, so a
//! thief holding a device's keys cannot open PreKey envelopes sent before
//! the last rotation and its grace (which member devices keep and serve).

use kith_identity::keys::{PREKEY_GRACE_MS, PREKEY_ROTATION_MS};
use kith_session::{MemoryStore, Sessions};

use crate::device;

const DAY: u64 = 24 * 3600 * 1000;

#[test]
fn a_stolen_device_cannot_open_pre_key_envelopes_from_before_the_last_rotation_and_grace() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    // Sent against Bob's prekey of day 0, received at once.
    let before = alice.send(&bob, b"before the rotation");
    assert_eq!(
        bob.receive(&alice, &before).unwrap(),
        b"before the rotation"
    );
    // Nothing rotates before its time.
    let none = bob.keys.maintain_prekeys(DAY, false).unwrap();
    assert!(none.rotated.is_none() && none.erased == 0);
    // A week later the prekey rotates; the old one stays for the grace.
    let rotated = bob
        .keys
        .maintain_prekeys(PREKEY_ROTATION_MS, false)
        .unwrap();
    assert!(rotated.rotated.is_some());
    assert_eq!(rotated.erased, 0);
    let old_id = bob.keys.prekey_ids()[0];
    // A sender that still has the old prekey gets through during the grace.
    let mut carol = device("carol");
    let mut old_remote = bob.remote();
    old_remote.prekey = bob.keys.prekey(old_id).unwrap().public().clone();
    let late = carol.encrypt_to(&old_remote, b"late").unwrap();
    assert_eq!(bob.receive(&carol, &late).unwrap(), b"late");
    // After the grace, the old prekey's secret is gone.
    let erased = bob
        .keys
        .maintain_prekeys(PREKEY_ROTATION_MS + PREKEY_GRACE_MS, false)
        .unwrap();
    assert_eq!(erased.erased, 1);
    assert!(bob.keys.prekey(old_id).is_none());
    // The thief: Bob's keys as they are now, and a store that forgets the
    // replay cache and the sessions (it replays what members serve).
    let thief_keys =
        kith_identity::DeviceKeys::import(bob.keys.export().unwrap().expose()).unwrap();
    let mut thief = Sessions::new(MemoryStore::default());
    let local = kith_session::LocalDevice {
        account: bob.account,
        keys: &thief_keys,
    };
    assert!(
        thief
            .decrypt(&local, &alice.remote(), &before, 1_000)
            .is_err(),
        "the thief opened an envelope from before the rotation"
    );
    // A revocation on the account rotates at once.
    let forced = bob
        .keys
        .maintain_prekeys(PREKEY_ROTATION_MS + DAY, true)
        .unwrap();
    assert!(forced.rotated.is_some());
}

/// With a one-time prekey (handed out while connected), the first message
/// of a session is safe from a thief holding the device's keys even while
/// the signed prekey is still held: the one-time prekey was erased when
/// the message was opened. Without one, the same thief opens it.
#[test]
fn a_stolen_device_cannot_open_a_first_message_sent_with_a_one_time_prekey() {
    let thief_opens = |bob: &crate::Device, alice: &crate::Device, m| {
        let keys = kith_identity::DeviceKeys::import(bob.keys.export().unwrap().expose()).unwrap();
        let mut thief = Sessions::new(MemoryStore::default());
        let local = kith_session::LocalDevice {
            account: bob.account,
            keys: &keys,
        };
        thief.decrypt(&local, &alice.remote(), m, 1_000).is_ok()
    };
    let mut alice = device("alice");
    let mut bob = device("bob");
    let plain = alice.send(&bob, b"without");
    bob.receive(&alice, &plain).unwrap();
    assert!(thief_opens(&bob, &alice, &plain), "the baseline changed");
    let mut carol = device("carol");
    let offer = bob.offer_for(&carol.keys.device_id());
    let mut target = bob.remote();
    target.one_time_prekey = Some(offer);
    let first = carol.encrypt_to(&target, b"with").unwrap();
    assert_eq!(bob.receive(&carol, &first).unwrap(), b"with");
    assert!(
        !thief_opens(&bob, &carol, &first),
        "the thief opened a first message sent with a one-time prekey"
    );
}
