//! Sync frames from a member device: decoding and the whole receive path of
//! the engine (merge, pending, bodies). Errors are fine; panics are not, and
//! nothing a peer sends without valid signatures may enter a log.
#![no_main]

use std::sync::{Mutex, OnceLock};

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_sync::MemoryStorage;
use kith_sync::{Input, Replica};
use kith_wire::{DeviceId, SyncMessage, decode, limits};
use libfuzzer_sys::fuzz_target;

struct Fixture {
    replica: Replica<MemoryStorage>,
    peer: DeviceId,
}

fn fixture() -> &'static Mutex<Fixture> {
    static FIXTURE: OnceLock<Mutex<Fixture>> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mine = DeviceKeys::generate("me", 0).expect("keys");
        let mut log = DeviceLog::create(&mine, "Me", 0).expect("log");
        let other = DeviceKeys::generate("other", 0).expect("keys");
        let op = other.join_op(&log.account_id()).expect("record");
        log.append(&mine, op, 0).expect("add");
        let replica =
            Replica::new(mine, log, Sessions::new(MemoryStorage::default())).expect("replica");
        Mutex::new(Fixture {
            replica,
            peer: other.device_id(),
        })
    })
}

fuzz_target!(|data: &[u8]| {
    let Ok(message) = decode::<SyncMessage>(data, limits::MAX_FRAME_BYTES) else {
        return;
    };
    let Ok(mut f) = fixture().lock() else { return };
    let peer = f.peer;
    let self_id = f.replica.self_conversation_id().expect("self conversation");
    let before = f.replica.conversation(&self_id).map(|c| c.len());
    let _ = f.replica.handle(
        Input::Received {
            from: peer,
            message,
        },
        0,
    );
    // The peer cannot sign as anyone: nothing new may enter the log.
    assert_eq!(f.replica.conversation(&self_id).map(|c| c.len()), before);
});
