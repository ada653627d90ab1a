//! Session messages and fan-outs from the network: decoders, and the
//! decrypt path of an established session. Whatever decrypts must be the
//! plaintext that was sent; everything else is an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::{LocalDevice, MemoryStore, RemoteDevice, Sessions};
use kith_wire::{FanOut, SessionMessage, decode, encode, limits};
use libfuzzer_sys::fuzz_target;

const PLAINTEXT: &[u8] = b"the one message Alice sent";

struct Fixture {
    alice: DeviceKeys,
    alice_remote: RemoteDevice,
    bob: DeviceKeys,
    bob_account: kith_wire::AccountId,
    bob_store: MemoryStore,
    /// A valid message from Alice that Bob has not read yet.
    next: Vec<u8>,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let alice = DeviceKeys::generate("alice", 0).expect("keys");
        let alice_log = DeviceLog::create(&alice, "Alice", 0).expect("log");
        let bob = DeviceKeys::generate("bob", 0).expect("keys");
        let bob_log = DeviceLog::create(&bob, "Bob", 0).expect("log");
        let alice_remote = RemoteDevice::from_log(
            alice_log.account_id(),
            &alice_log.state().devices[&alice.device_id()],
        );
        let bob_remote = RemoteDevice::from_log(
            bob_log.account_id(),
            &bob_log.state().devices[&bob.device_id()],
        );
        let alice_local = LocalDevice {
            account: alice_log.account_id(),
            keys: &alice,
        };
        let bob_local = LocalDevice {
            account: bob_log.account_id(),
            keys: &bob,
        };
        let mut at_alice = Sessions::new(MemoryStore::default());
        let mut at_bob = Sessions::new(MemoryStore::default());
        let first = at_alice
            .encrypt(&alice_local, &bob_remote, b"hello")
            .expect("encrypt");
        at_bob
            .decrypt(&bob_local, &alice_remote, &first, 0)
            .expect("decrypt");
        let reply = at_bob
            .encrypt(&bob_local, &alice_remote, b"hi")
            .expect("encrypt");
        at_alice
            .decrypt(&alice_local, &bob_remote, &reply, 0)
            .expect("decrypt");
        let next = encode(
            &at_alice
                .encrypt(&alice_local, &bob_remote, PLAINTEXT)
                .expect("encrypt"),
        )
        .expect("encode");
        Fixture {
            bob_account: bob_log.account_id(),
            bob_store: at_bob.store().duplicate(),
            alice,
            alice_remote,
            bob,
            next,
        }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let _ = &f.alice;
    // Decoders: what decodes re-encodes to itself.
    if let Ok(fan_out) = decode::<FanOut>(data, limits::MAX_FANOUT_BYTES) {
        let _ = fan_out.check_limits();
        let again = encode(&fan_out).expect("encode");
        assert_eq!(
            decode::<FanOut>(&again, usize::MAX).expect("decode"),
            fan_out
        );
    }
    // The decrypt path: arbitrary bytes, and the valid message with the
    // input's bytes XORed over it.
    let mut mutated = f.next.clone();
    for (i, b) in data.iter().enumerate() {
        if let Some(byte) = mutated.get_mut(i % f.next.len().max(1)) {
            *byte ^= b;
        }
    }
    for bytes in [data, mutated.as_slice()] {
        let Ok(message) = decode::<SessionMessage>(bytes, limits::MAX_SESSION_MESSAGE_BYTES) else {
            continue;
        };
        let mut sessions = Sessions::new(f.bob_store.duplicate());
        let bob = LocalDevice {
            account: f.bob_account,
            keys: &f.bob,
        };
        if let Ok(plaintext) = sessions.decrypt(&bob, &f.alice_remote, &message, 0) {
            assert!(
                kith_crypto::ct_eq(plaintext.expose(), PLAINTEXT),
                "forged plaintext accepted"
            );
        }
    }
});
