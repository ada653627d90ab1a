//! Pairwise sessions: round trips, replays, reordering, limits, forward
//! secrecy and post-compromise security.

use kith_session::ratchet::{MAX_SKIP, MAX_STORED_SKIPPED};
use kith_session::{SessionError, Sessions};
use kith_wire::SessionMessage;

use crate::{Device, device};

/// Alice and Bob with a session both ways (no pre-key messages any more).
fn established() -> (Device, Device) {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let hello = alice.send(&bob, b"hello");
    bob.receive(&alice, &hello).unwrap();
    let answer = bob.send(&alice, b"answer");
    alice.receive(&bob, &answer).unwrap();
    (alice, bob)
}

#[test]
fn first_messages_carry_x3dh_until_the_peer_answers() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let m1 = alice.send(&bob, b"one");
    let m2 = alice.send(&bob, b"two");
    assert!(matches!(m1, SessionMessage::PreKey(_)) && matches!(m2, SessionMessage::PreKey(_)));
    assert_eq!(bob.receive(&alice, &m2).unwrap(), b"two");
    assert_eq!(bob.receive(&alice, &m1).unwrap(), b"one");
    let reply = bob.send(&alice, b"hello back");
    assert!(matches!(reply, SessionMessage::Ratchet(_)));
    assert_eq!(alice.receive(&bob, &reply).unwrap(), b"hello back");
    let m3 = alice.send(&bob, b"three");
    assert!(
        matches!(m3, SessionMessage::Ratchet(_)),
        "still sending pre-key messages after an answer"
    );
    assert_eq!(bob.receive(&alice, &m3).unwrap(), b"three");
    // Long ping-pong across many DH ratchet steps.
    for i in 0..50u32 {
        let text = i.to_le_bytes();
        let (from, to) = if i % 3 == 0 {
            (&mut alice, &mut bob)
        } else {
            (&mut bob, &mut alice)
        };
        let m = from.send(to, &text);
        assert_eq!(to.receive(from, &m).unwrap(), text);
    }
}

#[test]
fn a_duplicate_is_rejected_and_changes_no_state() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let first = alice.send(&bob, b"first");
    bob.receive(&alice, &first).unwrap();
    let second = alice.send(&bob, b"second");
    bob.receive(&alice, &second).unwrap();
    let before = bob.record_bytes(&alice);
    assert_eq!(
        bob.receive(&alice, &second).unwrap_err(),
        SessionError::Duplicate
    );
    // The replayed first (pre-key) message is caught too.
    assert_eq!(
        bob.receive(&alice, &first).unwrap_err(),
        SessionError::Duplicate
    );
    assert_eq!(
        bob.record_bytes(&alice),
        before,
        "a rejected message changed the session"
    );
}

#[test]
fn a_replayed_first_message_is_caught_even_after_the_session_is_gone() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let first = alice.send(&bob, b"first");
    bob.receive(&alice, &first).unwrap();
    bob.forget(&alice.keys.device_id());
    assert_eq!(
        bob.receive(&alice, &first).unwrap_err(),
        SessionError::Duplicate
    );
    assert_eq!(bob.record_bytes(&alice), None);
}

#[test]
fn reordering_within_the_window_decrypts() {
    let (mut alice, mut bob) = established();
    let messages: Vec<_> = (0..40u8).map(|i| (i, alice.send(&bob, &[i]))).collect();
    // Deliver in a scrambled order: odd ones backwards, then even ones.
    let order = messages
        .iter()
        .filter(|(i, _)| i % 2 == 1)
        .rev()
        .chain(messages.iter().filter(|(i, _)| i % 2 == 0));
    for (i, m) in order {
        assert_eq!(bob.receive(&alice, m).unwrap(), vec![*i]);
    }
}

#[test]
fn a_jump_beyond_the_window_is_rejected_without_state_change() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let hello = alice.send(&bob, b"hello");
    bob.receive(&alice, &hello).unwrap();
    let mut far = alice.send(&bob, b"far");
    match &mut far {
        SessionMessage::PreKey(p) => p.message.header.n = 25_002,
        SessionMessage::Ratchet(m) => m.header.n = 25_002,
        _ => panic!("a pairwise message"),
    }
    let before = bob.record_bytes(&alice);
    assert_eq!(
        bob.receive(&alice, &far).unwrap_err(),
        SessionError::TooFarAhead
    );
    assert_eq!(bob.record_bytes(&alice), before);
}

#[test]
fn skipped_keys_are_bounded() {
    let (mut alice, mut bob) = established();
    let messages: Vec<_> = (0..MAX_STORED_SKIPPED + 501)
        .map(|i| alice.send(&bob, &(i as u32).to_le_bytes()))
        .collect();
    // The last one skips 2,500 keys; only the newest 2,000 are kept.
    let last = messages.len() - 1;
    assert!(bob.receive(&alice, &messages[last]).is_ok());
    assert!(
        bob.receive(&alice, &messages[0]).is_err(),
        "a key beyond the stored bound survived"
    );
    assert_eq!(
        bob.receive(&alice, &messages[600]).unwrap(),
        600u32.to_le_bytes()
    );
}

/// A message claiming a new chain as far ahead as the skip limit allows,
/// with a ciphertext that cannot open: the most work one forged header
/// can ask for.
fn far_ahead_forgery(genuine: &SessionMessage) -> SessionMessage {
    let SessionMessage::Ratchet(m) = genuine else {
        panic!("expected a ratchet message")
    };
    let mut forged = m.clone();
    forged.header.dh = device("elsewhere").remote().identity_key;
    forged.header.pn = MAX_SKIP - 1;
    forged.header.n = MAX_SKIP;
    SessionMessage::Ratchet(forged)
}

#[test]
fn forged_headers_derive_at_most_one_budget_of_keys() {
    let (mut alice, mut bob) = established();
    let genuine = alice.send(&bob, b"genuine");
    let between: Vec<_> = (0..40u8).map(|i| alice.send(&bob, &[i])).collect();
    let later = alice.send(&bob, b"later");
    let before = bob.record_bytes(&alice);
    // A forwarder replaces bodies with forgeries whose headers claim to be
    // far ahead: each would make Bob derive ~50,000 keys before its
    // ciphertext fails.
    for _ in 0..6 {
        assert!(bob.receive(&alice, &far_ahead_forgery(&genuine)).is_err());
    }
    assert_eq!(bob.record_bytes(&alice), before);
    let derived = bob.sessions.keys_derived_ahead();
    assert!(
        derived <= u64::from(kith_session::SKIP_BUDGET),
        "six forged headers made Bob derive {derived} keys"
    );
    // The budget is spent: a genuine message that needs 41 keys skipped
    // waits for the next batch, and nothing changed meanwhile.
    assert_eq!(
        bob.receive(&alice, &later).unwrap_err(),
        SessionError::OverBudget
    );
    assert_eq!(bob.record_bytes(&alice), before);
    bob.sessions.renew_budget();
    assert_eq!(bob.receive(&alice, &later).unwrap(), b"later");
    assert_eq!(bob.receive(&alice, &genuine).unwrap(), b"genuine");
    for (i, m) in between.iter().enumerate() {
        assert_eq!(bob.receive(&alice, m).unwrap(), [i as u8]);
    }
}

#[test]
fn tampered_messages_fail_without_state_change() {
    let (mut alice, mut bob) = established();
    let good = alice.send(&bob, b"payload");
    let before = bob.record_bytes(&alice);
    let SessionMessage::Ratchet(m) = &good else {
        panic!("expected a ratchet message")
    };
    for i in 0..m.ciphertext.len() {
        let mut bad = m.clone();
        bad.ciphertext[i] ^= 1;
        assert!(bob.receive(&alice, &SessionMessage::Ratchet(bad)).is_err());
    }
    let mut bad = m.clone();
    bad.header.pn += 1;
    assert!(bob.receive(&alice, &SessionMessage::Ratchet(bad)).is_err());
    assert_eq!(bob.record_bytes(&alice), before);
    assert_eq!(bob.receive(&alice, &good).unwrap(), b"payload");
    // A message from an impostor claiming to be Alice fails.
    let mut mallory = device("mallory");
    let forged = mallory.send(&bob, b"I am Alice");
    assert!(bob.receive(&alice, &forged).is_err());
}

#[test]
fn forward_secrecy_todays_state_cannot_open_yesterdays_messages() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let yesterday: Vec<_> = (0..5u8).map(|i| alice.send(&bob, &[i])).collect();
    for m in &yesterday {
        bob.receive(&alice, m).unwrap();
    }
    let reply = bob.send(&alice, b"ok");
    alice.receive(&bob, &reply).unwrap();
    // A thief copies Bob's whole state today.
    let mut stolen = Device {
        account: bob.account,
        keys: kith_identity::DeviceKeys::generate("unused", 0).unwrap(),
        sessions: Sessions::new(bob.sessions.store().duplicate()),
    };
    std::mem::swap(&mut stolen.keys, &mut bob.keys);
    for m in &yesterday {
        assert!(
            stolen.receive(&alice, m).is_err(),
            "today's state opened yesterday's message"
        );
    }
    std::mem::swap(&mut stolen.keys, &mut bob.keys);
}

#[test]
fn post_compromise_a_stolen_state_stops_working_after_one_round_trip() {
    let mut alice = device("alice");
    let mut bob = device("bob");
    let hello = alice.send(&bob, b"hello");
    bob.receive(&alice, &hello).unwrap();
    // The thief copies Bob's session store (and, worst case, has Bob's keys),
    // then reads along with every message.
    let mut thief = Sessions::new(bob.sessions.store().duplicate());
    let mut thief_reads = |m: &SessionMessage, bob: &Device, alice: &Device| {
        thief
            .decrypt(&bob.local(), &alice.remote(), m, 0)
            .map(|p| p.expose().to_vec())
    };
    let before = alice.send(&bob, b"before");
    assert_eq!(thief_reads(&before, &bob, &alice).unwrap(), b"before");
    bob.receive(&alice, &before).unwrap();
    // One round trip: Bob answers, Alice answers back, and Bob's next
    // message carries a ratchet key made after the theft.
    let b1 = bob.send(&alice, b"b1");
    alice.receive(&bob, &b1).unwrap();
    let a2 = alice.send(&bob, b"a2");
    bob.receive(&alice, &a2).unwrap();
    let _ = thief_reads(&a2, &bob, &alice);
    let b2 = bob.send(&alice, b"b2");
    alice.receive(&bob, &b2).unwrap();
    let after = alice.send(&bob, b"after");
    assert_eq!(bob.receive(&alice, &after).unwrap(), b"after");
    assert!(
        thief_reads(&after, &bob, &alice).is_err(),
        "stolen state still decrypts"
    );
}
