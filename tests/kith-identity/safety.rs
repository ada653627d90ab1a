//! Safety numbers: libsignal's published vector, symmetry, and the
//! scannable form.

use kith_identity::SafetyNumber;
use kith_identity::safety::{ITERATIONS, digits, displayable, fingerprint};
use kith_wire::AccountId;

#[test]
fn libsignal_published_fingerprint_vector() {
    // From libsignal rust/protocol/src/fingerprint.rs, fingerprint_test_v1.
    let alice_key =
        hex::decode("0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868").unwrap();
    let bob_key =
        hex::decode("05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b").unwrap();
    let alice = fingerprint(ITERATIONS, &alice_key, b"+14152222222").unwrap();
    let bob = fingerprint(ITERATIONS, &bob_key, b"+14153333333").unwrap();
    assert_eq!(
        hex::encode(&alice[..32]),
        "1e301a0353dce3dbe7684cb8336e85136cdc0ee96219494ada305d62a7bd61df"
    );
    assert_eq!(
        hex::encode(&bob[..32]),
        "d62cbf73a11592015b6b9f1682ac306fea3aaf3885b84d12bca631e9d4fb3a4d"
    );
    let expected = "300354477692869396892869876765458257569162576843440918079131";
    assert_eq!(displayable(&alice, &bob), expected);
    assert_eq!(displayable(&bob, &alice), expected);
    assert_eq!(digits(&alice).len(), 30);
}

#[test]
fn both_sides_see_the_same_sixty_digits() {
    let (a, b) = (AccountId([1; 32]), AccountId([2; 32]));
    let ab = SafetyNumber::new(&a, &b).unwrap();
    let ba = SafetyNumber::new(&b, &a).unwrap();
    assert_eq!(ab.digits(), ba.digits());
    assert_eq!(ab.digits().len(), 60);
    assert!(ab.digits().bytes().all(|c| c.is_ascii_digit()));
    assert_eq!(ab.grouped().split(' ').count(), 12);
    assert!(ab.matches(&ba.grouped()));
    assert!(ab.matches(&format!("  {}  ", ba.digits())));
    let mut wrong = ab.digits().into_bytes();
    wrong[59] = if wrong[59] == b'0' { b'1' } else { b'0' };
    assert!(!ab.matches(std::str::from_utf8(&wrong).unwrap()));
    assert!(!ab.matches(""));
    let other = SafetyNumber::new(&a, &AccountId([3; 32])).unwrap();
    assert_ne!(other.digits(), ab.digits());
}

#[test]
fn one_scan_checks_both_directions() {
    let (a, b, mallory) = (AccountId([1; 32]), AccountId([2; 32]), AccountId([9; 32]));
    let at_alice = SafetyNumber::new(&a, &b).unwrap();
    let at_bob = SafetyNumber::new(&b, &a).unwrap();
    at_alice.verify_scanned(&at_bob.scannable()).unwrap();
    at_bob.verify_scanned(&at_alice.scannable()).unwrap();
    at_bob
        .verify_scanned(&at_alice.scannable().to_lowercase())
        .unwrap();
    // Scanning one's own code, or a code made against a MITM's account, fails.
    assert!(at_alice.verify_scanned(&at_alice.scannable()).is_err());
    let at_bob_with_mallory = SafetyNumber::new(&b, &mallory).unwrap();
    assert!(
        at_alice
            .verify_scanned(&at_bob_with_mallory.scannable())
            .is_err()
    );
    for junk in [
        "",
        "KITH-VERIFY:",
        "KITH-VERIFY:!!!!",
        "kith:ABC",
        "KITH-VERIFY:AAAA",
    ] {
        assert!(at_alice.verify_scanned(junk).is_err(), "{junk:?}");
    }
}
