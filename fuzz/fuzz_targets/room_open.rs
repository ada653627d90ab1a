//! Room ciphertexts from the network: the decoder, and opening with the
//! room's key. Only the genuine message opens (to what was sent); every
//! other input is an error, never a panic.
#![no_main]

use std::sync::OnceLock;

use kith_session::room::{room_open, room_seal};
use kith_wire::{ConversationId, DeviceId, FanOut, RoomKey, RoomMessage, decode, limits};
use libfuzzer_sys::fuzz_target;

const PLAINTEXT: &[u8] = b"the one room post Alice wrote";
const ROOM: ConversationId = ConversationId([3; 32]);
const ALICE: DeviceId = DeviceId([1; 32]);

fn key() -> RoomKey {
    RoomKey([5; 32])
}

fn genuine() -> &'static RoomMessage {
    static GENUINE: OnceLock<RoomMessage> = OnceLock::new();
    GENUINE.get_or_init(|| room_seal(&key(), &ROOM, &ALICE, PLAINTEXT).expect("seal"))
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(fan_out) = decode::<FanOut>(bytes, limits::MAX_FANOUT_BYTES) {
        let _ = fan_out.check_limits();
        let _ = fan_out.room();
    }
    let mut candidates = vec![RoomMessage {
        ciphertext: bytes.to_vec(),
    }];
    if let Ok(message) = decode::<RoomMessage>(bytes, limits::MAX_FANOUT_BYTES) {
        candidates.push(message);
    }
    for message in &candidates {
        if let Ok(plain) = room_open(&key(), &ROOM, &ALICE, message) {
            assert!(
                kith_crypto::ct_eq(plain.expose(), PLAINTEXT),
                "only the genuine message opens"
            );
            assert_eq!(message, genuine());
        }
    }
});
