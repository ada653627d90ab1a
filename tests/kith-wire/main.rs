//! Integration tests of `kith-wire`: round trips, the envelope rules, and
//! decoders fed arbitrary bytes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod golden;

use std::net::SocketAddr;

use kith_crypto::Domain;
use kith_crypto::sign::SigningKey;
use kith_wire::{
    AccountId, DeviceId, DeviceLogEntry, DeviceOp, EntryHash, FORMAT_VERSION, Invite, InviteKind,
    InviteSecret, RevokeReason, Signed, SignedDeviceEntry, TransportId, WireError, decode, encode,
    limits,
};
use proptest::prelude::*;

fn sample_entry() -> DeviceLogEntry {
    DeviceLogEntry {
        account: Some(AccountId([1; 32])),
        author: DeviceId([2; 32]),
        seq: 3,
        prev: Some(EntryHash([4; 32])),
        parents: vec![EntryHash([4; 32]), EntryHash([5; 32])],
        created_at_ms: 1_700_000_000_000,
        op: DeviceOp::RevokeDevice {
            device: DeviceId([6; 32]),
            cutoff: Some(9),
            reason: RevokeReason::Lost,
        },
    }
}

fn sample_invite() -> Invite {
    Invite {
        kind: InviteKind::Contact {
            account: AccountId([7; 32]),
            heads: vec![EntryHash([8; 32])],
            name: "Alice".into(),
        },
        device: DeviceId([9; 32]),
        transport: TransportId([10; 32]),
        addresses: vec![
            "127.0.0.1:7001".parse::<SocketAddr>().unwrap(),
            "[::1]:7001".parse().unwrap(),
        ],
        secret: InviteSecret([11; 16]),
        expires_at: 1_800_000_000,
    }
}

#[test]
fn values_round_trip_and_start_with_the_version() {
    let entry = sample_entry();
    let bytes = encode(&entry).unwrap();
    assert_eq!(bytes[0], FORMAT_VERSION);
    assert_eq!(
        decode::<DeviceLogEntry>(&bytes, limits::MAX_ENTRY_BYTES).unwrap(),
        entry
    );
    let invite = sample_invite();
    let bytes = encode(&invite).unwrap();
    assert!(bytes.len() < 200, "invite is {} bytes", bytes.len());
    assert_eq!(
        decode::<Invite>(&bytes, limits::MAX_INVITE_BYTES).unwrap(),
        invite
    );
}

#[test]
fn envelope_rules_give_clear_errors() {
    let bytes = encode(&sample_entry()).unwrap();
    assert_eq!(
        decode::<DeviceLogEntry>(&[], 100).unwrap_err(),
        WireError::Empty
    );
    let mut other_version = bytes.clone();
    other_version[0] = 2;
    assert_eq!(
        decode::<DeviceLogEntry>(&other_version, 4096).unwrap_err(),
        WireError::UnsupportedVersion(2)
    );
    let mut trailing = bytes.clone();
    trailing.extend_from_slice(&[0, 0]);
    assert_eq!(
        decode::<DeviceLogEntry>(&trailing, 4096).unwrap_err(),
        WireError::TrailingBytes(2)
    );
    assert_eq!(
        decode::<DeviceLogEntry>(&bytes, 10).unwrap_err(),
        WireError::TooLong {
            max: 10,
            actual: bytes.len()
        }
    );
    for cut in 1..bytes.len() {
        assert_eq!(
            decode::<DeviceLogEntry>(&bytes[..cut], 4096).unwrap_err(),
            WireError::Malformed
        );
    }
}

#[test]
fn fixed_size_fields_demand_their_exact_length() {
    // A 31-byte "account id" must not decode.
    let short: (Option<Vec<u8>>,) = (Some(vec![1u8; 31]),);
    let bytes = encode(&short).unwrap();
    assert_eq!(
        decode::<(Option<AccountId>,)>(&bytes, 100).unwrap_err(),
        WireError::Malformed
    );
    assert_eq!(
        AccountId::from_hex(&"ab".repeat(32)).unwrap(),
        AccountId([0xab; 32])
    );
    assert!(AccountId::from_hex(&"ab".repeat(31)).is_err());
    assert!(AccountId::from_hex("zz").is_err());
}

#[test]
fn limits_are_checked_after_decoding() {
    let mut entry = sample_entry();
    entry.parents = vec![EntryHash([0; 32]); limits::MAX_PARENTS + 1];
    assert_eq!(
        entry.check_limits().unwrap_err(),
        WireError::Limit("too many parents")
    );
    entry.parents.clear();
    entry.op = DeviceOp::Profile {
        name: "x".repeat(65),
    };
    assert!(entry.check_limits().is_err());
    entry.op = DeviceOp::Profile {
        name: "bell\u{7}".into(),
    };
    assert!(entry.check_limits().is_err());
    entry.op = DeviceOp::Profile {
        name: "Zoë 🌱".into(),
    };
    entry.check_limits().unwrap();
    let mut invite = sample_invite();
    invite.addresses = vec!["127.0.0.1:1".parse().unwrap(); limits::MAX_ADDRESSES + 1];
    assert!(invite.check_limits().is_err());
}

#[test]
fn signatures_bind_the_domain_and_the_signer() {
    const A: Domain = Domain::new("kith-test-a");
    const B: Domain = Domain::new("kith-test-b");
    let key = SigningKey::generate().unwrap();
    let me = DeviceId(key.verifying_key().to_bytes());
    let signed: SignedDeviceEntry = Signed::sign(A, &key, &sample_entry()).unwrap();
    signed.verify(A, &me).unwrap();
    assert!(
        signed.verify(B, &me).is_err(),
        "cross-purpose signature accepted"
    );
    let other = DeviceId(SigningKey::generate().unwrap().verifying_key().to_bytes());
    assert!(signed.verify(A, &other).is_err());
    // A flipped payload bit fails verification.
    let mut payload = signed.payload().to_vec();
    payload[5] ^= 1;
    let tampered = SignedDeviceEntry::from_parts(payload, *signed.signature());
    assert!(tampered.verify(A, &me).is_err());
    // The wire form round-trips.
    let bytes = encode(&signed).unwrap();
    let back: SignedDeviceEntry = decode(&bytes, 8192).unwrap();
    assert_eq!(back, signed);
    assert_eq!(back.peek(limits::MAX_ENTRY_BYTES).unwrap(), sample_entry());
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, .. ProptestConfig::default() })]

    #[test]
    fn decoders_never_panic_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = decode::<DeviceLogEntry>(&bytes, limits::MAX_ENTRY_BYTES);
        let _ = decode::<SignedDeviceEntry>(&bytes, limits::MAX_ENTRY_BYTES);
        let _ = decode::<Invite>(&bytes, limits::MAX_INVITE_BYTES);
    }

    #[test]
    fn mutated_valid_encodings_never_panic(index in 0usize..200, value in any::<u8>()) {
        let mut bytes = encode(&sample_invite()).unwrap();
        let i = index % bytes.len();
        bytes[i] = value;
        if let Ok(invite) = decode::<Invite>(&bytes, limits::MAX_INVITE_BYTES) {
            let _ = invite.check_limits();
        }
    }
}

#[test]
fn byte_strings_are_a_length_then_the_bytes() {
    // Byte fields decode en bloc (serde_bytes); postcard writes them as it
    // always did for a sequence of bytes: a varint length, then the bytes.
    let content: Vec<u8> = (0..200u8).collect();
    let plain = kith_wire::BodyPlain {
        salt: [7; 32],
        content: content.clone(),
    };
    let mut expected = vec![FORMAT_VERSION];
    expected.extend_from_slice(&[7; 32]);
    expected.extend_from_slice(&[200, 1]); // varint 200
    expected.extend_from_slice(&content);
    assert_eq!(encode(&plain).unwrap(), expected);
    assert_eq!(
        decode::<kith_wire::BodyPlain>(&expected, 1 << 16).unwrap(),
        plain
    );

    let signed = Signed::<DeviceLogEntry>::from_parts(vec![1, 2, 3], kith_wire::Sig([9; 64]));
    let mut expected = vec![FORMAT_VERSION, 3, 1, 2, 3, 64];
    expected.extend_from_slice(&[9; 64]);
    assert_eq!(encode(&signed).unwrap(), expected);
}
