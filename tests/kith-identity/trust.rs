//! Contacts and trust-state transitions.

use kith_identity::{Contact, ContactSource, IdentityError, SafetyNumber, TrustReason, TrustState};
use kith_wire::{AccountId, DeviceLogEntry, DeviceOp, limits};

use crate::account;

#[test]
fn contacts_start_unvalidated_and_learn_devices_from_the_log() {
    let mut alice = account("laptop");
    let phone = alice.add_device("phone");
    let mut contact = Contact::new(alice.log.account_id(), ContactSource::Invite, 5);
    assert_eq!(contact.trust(), TrustState::Unvalidated);
    assert!(contact.needs_validation() && contact.may_send());
    assert!(contact.devices().is_empty());
    contact.merge_log(alice.log.entries().cloned(), 6);
    let devices = contact.devices();
    assert!(devices.contains(&alice.keys.device_id()) && devices.contains(&phone.keys.device_id()));
    assert_eq!(contact.display_name(), Some("Alice"));
    contact.alias = Some("Al".into());
    assert_eq!(contact.display_name(), Some("Al"));
}

#[test]
fn safety_number_match_validates_and_mismatch_compromises() {
    let me = AccountId([1; 32]);
    let them = AccountId([2; 32]);
    let digits = SafetyNumber::new(&them, &me).unwrap().grouped();
    let mut contact = Contact::new(them, ContactSource::Invite, 0);
    contact.validate_safety_number(&me, &digits, 10).unwrap();
    assert_eq!(contact.trust(), TrustState::Validated);
    assert!(!contact.needs_validation());
    let err = contact
        .validate_safety_number(&me, "12345", 20)
        .unwrap_err();
    assert_eq!(err, IdentityError::SafetyNumberMismatch);
    assert_eq!(contact.trust(), TrustState::Compromised);
    assert!(!contact.may_send());
    let reasons: Vec<_> = contact.history().iter().map(|c| c.reason.clone()).collect();
    assert_eq!(
        reasons,
        vec![
            TrustReason::Added,
            TrustReason::SafetyNumberMatch,
            TrustReason::SafetyNumberMismatch
        ]
    );
    contact.set_trust(TrustState::Unvalidated, 30);
    assert_eq!(
        contact.history().last().unwrap().reason,
        TrustReason::UserAction
    );
}

#[test]
fn qr_validation_uses_the_scannable_form() {
    let me = AccountId([1; 32]);
    let them = AccountId([2; 32]);
    let their_code = SafetyNumber::new(&them, &me).unwrap().scannable();
    let mut contact = Contact::new(them, ContactSource::Invite, 0);
    contact.validate_scanned(&me, &their_code, 1).unwrap();
    assert_eq!(contact.trust(), TrustState::Validated);
    let mallory_code = SafetyNumber::new(&AccountId([9; 32]), &me)
        .unwrap()
        .scannable();
    assert!(contact.validate_scanned(&me, &mallory_code, 2).is_err());
    assert_eq!(contact.trust(), TrustState::Compromised);
    assert_eq!(
        contact.history().last().unwrap().reason,
        TrustReason::QrMismatch
    );
    // Garbage is an error and changes nothing.
    contact.set_trust(TrustState::Validated, 3);
    assert!(contact.validate_scanned(&me, "not a code", 4).is_err());
    assert_eq!(contact.trust(), TrustState::Validated);
}

#[test]
fn equivocation_in_the_log_compromises_a_validated_contact_once() {
    let mut alice = account("laptop");
    let mut contact = Contact::new(alice.log.account_id(), ContactSource::Invite, 0);
    contact.merge_log(alice.log.entries().cloned(), 1);
    contact.set_trust(TrustState::Validated, 2);
    let honest = alice.write(DeviceOp::Profile { name: "one".into() });
    let mut twin: DeviceLogEntry = honest.peek(limits::MAX_ENTRY_BYTES).unwrap();
    twin.op = DeviceOp::Profile { name: "two".into() };
    let twin = alice
        .keys
        .sign(kith_wire::domain::DEVICE_LOG_ENTRY, &twin)
        .unwrap();
    contact.merge_log([honest, twin], 3);
    assert_eq!(contact.trust(), TrustState::Compromised);
    assert_eq!(
        contact.history().last().unwrap().reason,
        TrustReason::Equivocation
    );
    // The user may decide otherwise; old evidence does not flip it back.
    contact.set_trust(TrustState::Unvalidated, 4);
    contact.merge_log(alice.log.entries().cloned(), 5);
    assert_eq!(contact.trust(), TrustState::Unvalidated);
}

#[test]
fn a_rollback_compromises_the_contact() {
    let mut alice = account("laptop");
    let old = alice.log.state().heads.clone();
    alice.write(DeviceOp::Profile {
        name: "newer".into(),
    });
    let mut contact = Contact::new(alice.log.account_id(), ContactSource::Invite, 0);
    contact.merge_log(alice.log.entries().cloned(), 1);
    assert!(
        contact
            .observe_heads(&alice.keys.device_id(), &old, 2)
            .is_err()
    );
    assert_eq!(contact.trust(), TrustState::Compromised);
    assert_eq!(
        contact.history().last().unwrap().reason,
        TrustReason::Rollback
    );
}

#[test]
fn unknown_heads_are_remembered_for_fetching() {
    let alice = account("laptop");
    let mut contact = Contact::new(alice.log.account_id(), ContactSource::Invite, 0);
    let heads = alice.log.state().heads.clone();
    contact
        .observe_heads(&alice.keys.device_id(), &heads, 1)
        .unwrap();
    assert_eq!(contact.wanted_heads, heads);
    contact.merge_log(alice.log.entries().cloned(), 2);
    assert!(contact.wanted_heads.is_empty());
}
