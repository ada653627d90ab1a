//! Fan-out to every device of every member, and session lifecycle.

use kith_session::SessionError;
use kith_wire::{DhKey, SessionMessage};

use crate::{Device, account, device};

#[test]
fn one_message_reaches_every_device_and_only_its_own_envelope_opens() {
    let mut alice = account("alice", 2);
    let mut bob = account("bob", 3);
    let recipients: Vec<_> = bob
        .iter()
        .chain(alice.iter().skip(1))
        .map(Device::remote)
        .collect();
    let result = alice[0].fan_out(&recipients, b"hi all");
    assert!(result.failed.is_empty());
    assert_eq!(result.fan_out.envelopes.len(), 4);
    let from = alice[0].remote();
    for d in bob.iter_mut().chain(alice.iter_mut().skip(1)) {
        assert_eq!(d.open(&from, &result.fan_out).unwrap(), b"hi all");
    }
    // A device with no envelope gets a clear error.
    let mut carol = device("carol");
    assert_eq!(
        carol.open(&from, &result.fan_out).unwrap_err(),
        SessionError::NotForMe
    );
}

#[test]
fn a_forwarder_cannot_open_the_other_envelopes() {
    let mut alice = device("alice");
    let bob = account("bob", 2);
    let account = bob[0].account;
    let m = alice.send(&bob[1], b"for b2 only");
    // b1 holds the forwarded copy; trying to open it as its own fails.
    let keys = bob.into_iter().next().unwrap().keys;
    let mut b1 = Device {
        account,
        keys,
        sessions: kith_session::Sessions::new(Default::default()),
    };
    assert!(b1.receive(&alice, &m).is_err());
}

#[test]
fn a_bad_prekey_leaves_one_device_out_not_the_others() {
    let mut alice = device("alice");
    let bob = account("bob", 2);
    let good = bob[0].remote();
    let mut bad = bob[1].remote();
    bad.prekey.key = DhKey([9; 32]);
    let result = alice.fan_out(&[good, bad], b"x");
    assert_eq!(result.fan_out.envelopes.len(), 1);
    assert_eq!(result.failed.len(), 1);
    assert_eq!(result.failed[0].1, SessionError::BadPrekey);
}

#[test]
fn simultaneous_starts_converge() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let from_alice = alice.send(&bob, b"a");
    let from_bob = bob.send(&alice, b"b");
    assert_eq!(bob.receive(&alice, &from_alice).unwrap(), b"a");
    assert_eq!(alice.receive(&bob, &from_bob).unwrap(), b"b");
    for i in 0..6u8 {
        let m = alice.send(&bob, &[i]);
        assert_eq!(bob.receive(&alice, &m).unwrap(), vec![i]);
        let m = bob.send(&alice, &[i]);
        assert_eq!(alice.receive(&bob, &m).unwrap(), vec![i]);
    }
}

#[test]
fn a_stale_session_recovers_by_starting_over() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let m = alice.send(&bob, b"one");
    bob.receive(&alice, &m).unwrap();
    let r = bob.send(&alice, b"two");
    alice.receive(&bob, &r).unwrap();
    // Bob's device is restored from an old backup: it lost the session.
    bob.sessions = kith_session::Sessions::new(Default::default());
    let lost = alice.send(&bob, b"three");
    assert_eq!(
        bob.receive(&alice, &lost).unwrap_err(),
        SessionError::NoSession
    );
    // Told so, Alice forgets the session; the next message starts afresh.
    alice.forget(&bob.keys.device_id());
    let fresh = alice.send(&bob, b"four");
    assert!(matches!(fresh, SessionMessage::PreKey(_)));
    assert_eq!(bob.receive(&alice, &fresh).unwrap(), b"four");
    // Or Bob starts afresh himself: Alice accepts his new session.
    bob.sessions = kith_session::Sessions::new(Default::default());
    let restart = bob.send(&alice, b"five");
    assert_eq!(alice.receive(&bob, &restart).unwrap(), b"five");
    let m = alice.send(&bob, b"six");
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"six");
}

#[test]
fn a_revoked_device_is_forgotten() {
    let mut alice = device("alice");
    let bob = account("bob", 2);
    let _ = alice.send(&bob[1], b"x");
    assert!(
        alice
            .sessions
            .has_session(&bob[1].keys.device_id())
            .unwrap()
    );
    alice.forget(&bob[1].keys.device_id());
    assert!(
        !alice
            .sessions
            .has_session(&bob[1].keys.device_id())
            .unwrap()
    );
}

#[test]
fn one_time_prekeys_work_once() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let offer = bob.offer_for(&alice.keys.device_id());
    // Offered again (a reconnection) before it is used: the same one.
    assert_eq!(bob.offer_for(&alice.keys.device_id()), offer);
    let mut target = bob.remote();
    target.one_time_prekey = Some(offer);
    let m = alice.encrypt_to(&target, b"with opk").unwrap();
    let SessionMessage::PreKey(p) = &m else {
        panic!("expected pre-key message")
    };
    assert_eq!(p.opk_id, Some(offer.0));
    assert_eq!(bob.receive(&alice, &m).unwrap(), b"with opk");
    // Another session naming the used one-time prekey is refused.
    let mut carol = device("carol");
    let m = carol.encrypt_to(&target, b"reuse").unwrap();
    assert_eq!(
        bob.receive(&carol, &m).unwrap_err(),
        SessionError::UnknownPrekey
    );
    // Used: the next offer to Alice is a new one.
    let next = bob.offer_for(&alice.keys.device_id());
    assert_eq!(next.0, offer.0);
    assert_ne!(next.1, offer.1);
}
