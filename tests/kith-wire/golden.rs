//! Golden encodings: values built from fixed bytes must encode to the
//! committed bytes, and the committed bytes must decode to them. A format
//! change fails here; it needs a new version and a migration, not a new
//! golden file. `KITH_BLESS=1` prints the current encodings (for a new
//! format version only).

use kith_wire::{
    AccountId, DeviceId, DeviceLogEntry, DeviceOp, DeviceRecord, DhKey, EntryHash, Envelope,
    FanOut, Invite, InviteKind, InviteSecret, PreKeyMessage, RatchetHeader, RatchetMessage,
    RevokeReason, SessionMessage, Sig, SignedPrekey, TransportId, decode, encode, hex_encode,
};

fn record(b: u8) -> DeviceRecord {
    DeviceRecord {
        device: DeviceId([b; 32]),
        identity_key: DhKey([b + 1; 32]),
        transport: TransportId([b + 2; 32]),
        name: "phone".into(),
        keys_signature: Sig([b + 3; 64]),
    }
}

fn prekey(b: u8) -> SignedPrekey {
    SignedPrekey {
        id: 7,
        key: DhKey([b; 32]),
        created_at_ms: 1_700_000_000_000,
        signature: Sig([b + 1; 64]),
    }
}

fn entry(op: DeviceOp) -> DeviceLogEntry {
    DeviceLogEntry {
        account: Some(AccountId([0x11; 32])),
        author: DeviceId([0x22; 32]),
        seq: 300,
        prev: Some(EntryHash([0x33; 32])),
        parents: vec![EntryHash([0x33; 32])],
        created_at_ms: 1_700_000_000_123,
        op,
    }
}

fn ratchet() -> RatchetMessage {
    RatchetMessage {
        header: RatchetHeader {
            dh: DhKey([0x44; 32]),
            pn: 2,
            n: 129,
        },
        ciphertext: vec![0x55; 41],
    }
}

/// (name, encoding made now, committed digest of the encoding)
fn cases() -> Vec<(&'static str, Vec<u8>)> {
    vec![
        (
            "genesis",
            encode(&entry(DeviceOp::Genesis {
                device: record(1),
                prekey: prekey(5),
                nonce: [9; 16],
            }))
            .unwrap(),
        ),
        (
            "add-device",
            encode(&entry(DeviceOp::AddDevice {
                device: record(2),
                prekey: prekey(6),
                countersignature: Sig([8; 64]),
            }))
            .unwrap(),
        ),
        (
            "revoke",
            encode(&entry(DeviceOp::RevokeDevice {
                device: DeviceId([3; 32]),
                cutoff: Some(4),
                reason: RevokeReason::Lost,
            }))
            .unwrap(),
        ),
        (
            "rotate",
            encode(&entry(DeviceOp::RotatePrekey { prekey: prekey(7) })).unwrap(),
        ),
        (
            "profile",
            encode(&entry(DeviceOp::Profile {
                name: "Zoë".into()
            }))
            .unwrap(),
        ),
        (
            "compromised",
            encode(&entry(DeviceOp::AccountCompromised)).unwrap(),
        ),
        (
            "invite",
            encode(&Invite {
                kind: InviteKind::Contact {
                    account: AccountId([1; 32]),
                    heads: vec![EntryHash([2; 32])],
                    name: "Alice".into(),
                },
                device: DeviceId([3; 32]),
                transport: TransportId([4; 32]),
                addresses: vec![
                    "127.0.0.1:7001".parse().unwrap(),
                    "[::1]:7002".parse().unwrap(),
                ],
                secret: InviteSecret([5; 16]),
                expires_at: 1_800_000_000,
            })
            .unwrap(),
        ),
        (
            "link",
            encode(&Invite {
                kind: InviteKind::LinkDevice {
                    identity_key: DhKey([6; 32]),
                    name: "tablet".into(),
                },
                device: DeviceId([7; 32]),
                transport: TransportId([8; 32]),
                addresses: vec![],
                secret: InviteSecret([9; 16]),
                expires_at: 1,
            })
            .unwrap(),
        ),
        (
            "prekey-message",
            encode(&SessionMessage::PreKey(PreKeyMessage {
                base_key: DhKey([0x66; 32]),
                spk_id: 3,
                opk_id: None,
                message: ratchet(),
            }))
            .unwrap(),
        ),
        (
            "fan-out",
            encode(&FanOut {
                envelopes: vec![Envelope {
                    recipient: DeviceId([0x77; 32]),
                    message: SessionMessage::Ratchet(ratchet()),
                }],
            })
            .unwrap(),
        ),
    ]
}

/// BLAKE2b-256 of each committed encoding (format version 1). The full
/// bytes are reproducible from `cases()`; the digests pin them.
const GOLDEN: &[(&str, &str)] = &[
    (
        "genesis",
        "9a7bbfacde6409ed1e184b1ba8146ffcf495acc56f77abb6f702cb7bf1af3db9",
    ),
    (
        "add-device",
        "3a101e9b03fdc80b1a0cda9b9c113a6bd75856e99fffdc62af1a405d08ea83d6",
    ),
    (
        "revoke",
        "6d35396769c94259723f90dcf0dbb33bef3d1a8c738891eddb4017010e335f67",
    ),
    (
        "rotate",
        "90de4e146c45ccb2cd78e61b1f67cf6e54237266de7cb3682d48930d73cc18c3",
    ),
    (
        "profile",
        "9daab0a8d012d097c9956de271cd9c508d411883c61a2b09df74dcc90b98af84",
    ),
    (
        "compromised",
        "ae27fdcc59e867e305d61fa6e290cec3373df2d9b6ddb2d56e1af62dc7ff3ffd",
    ),
    (
        "invite",
        "210006aa003f4abd3ccda5bc7e5a5d2e65eb859f9d843bebec4cf21fefd6db6f",
    ),
    (
        "link",
        "4f56f24b0fdfc53e4054193f901265ddf3c736925ad087d961680dd33dfa42c6",
    ),
    (
        "prekey-message",
        "470b6a4b409dbde5a7a613ef421339c29ac9fec6d5b39a07d4de82980a9d048b",
    ),
    (
        "fan-out",
        "4adbf7584dd9f48a901da0ba365ba03498ad02d6d845d31b7e69a3fd0b2ea2d1",
    ),
];

fn digest(bytes: &[u8]) -> String {
    let d = kith_crypto::hash::Blake2b::new_raw(&[], 32).and_then(|mut h| {
        h.update(bytes)?;
        h.finalize()
    });
    hex_encode(&d.unwrap())
}

#[test]
fn encodings_match_the_committed_format() {
    let bless = std::env::var_os("KITH_BLESS").is_some();
    for (name, bytes) in cases() {
        let expected = GOLDEN
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, d)| *d)
            .unwrap();
        if bless {
            println!("    (\"{name}\", \"{}\"),", digest(&bytes));
            continue;
        }
        assert_eq!(
            digest(&bytes),
            expected,
            "{name}: encoding changed (bytes {})",
            hex_encode(&bytes)
        );
    }
}

#[test]
fn committed_encodings_decode_to_the_same_values() {
    for (name, bytes) in cases() {
        let again = match name {
            "invite" | "link" => encode(&decode::<Invite>(&bytes, 4096).unwrap()).unwrap(),
            "prekey-message" => encode(&decode::<SessionMessage>(&bytes, 4096).unwrap()).unwrap(),
            "fan-out" => encode(&decode::<FanOut>(&bytes, 4096).unwrap()).unwrap(),
            _ => encode(&decode::<DeviceLogEntry>(&bytes, 4096).unwrap()).unwrap(),
        };
        assert_eq!(again, bytes, "{name}");
    }
}
