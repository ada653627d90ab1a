//! The device-log merge path: arbitrary entries (decoded from the input)
//! merged into a real account's log never panic, and never change what the
//! log says about the account unless they are validly signed by its devices.
#![no_main]

use std::sync::OnceLock;

use kith_identity::{DeviceKeys, DeviceLog};
use kith_wire::{SignedDeviceEntry, decode, limits};
use libfuzzer_sys::fuzz_target;

fn base() -> &'static DeviceLog {
    static LOG: OnceLock<DeviceLog> = OnceLock::new();
    LOG.get_or_init(|| {
        let keys = DeviceKeys::generate("fuzz", 0).expect("keys");
        DeviceLog::create(&keys, "Fuzz", 0).expect("log")
    })
}

fuzz_target!(|bytes: &[u8]| {
    let mut log = base().clone();
    let before = log.state().clone();
    let mut entries = Vec::new();
    for chunk in bytes.split(|b| *b == 0xff).take(32) {
        if let Ok(entry) = decode::<SignedDeviceEntry>(chunk, limits::MAX_ENTRY_BYTES) {
            entries.push(entry);
        }
    }
    let report = log.merge(entries);
    // Without the account's signing keys no entry can be added.
    assert_eq!(report.added, 0);
    assert_eq!(log.state(), &before);
});
