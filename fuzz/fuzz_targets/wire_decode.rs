//! Every `kith-wire` decoder over arbitrary bytes: an error, never a panic;
//! whatever decodes re-encodes to a value that decodes to itself.
#![no_main]

use kith_wire::{
    AddressAnnouncement, DeviceLogEntry, GroupOp, Invite, LinkMessage, MAX_LINK_FRAME_BYTES,
    SignedDeviceEntry, decode, encode, limits,
};
use libfuzzer_sys::fuzz_target;

fn round_trip<T>(bytes: &[u8], max: usize)
where
    T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    if let Ok(value) = decode::<T>(bytes, max) {
        let again = encode(&value).expect("a decoded value encodes");
        let back: T = decode(&again, usize::MAX).expect("an encoded value decodes");
        assert_eq!(back, value);
    }
}

fuzz_target!(|bytes: &[u8]| {
    round_trip::<DeviceLogEntry>(bytes, limits::MAX_ENTRY_BYTES);
    round_trip::<Invite>(bytes, limits::MAX_INVITE_BYTES);
    if let Ok(signed) = decode::<SignedDeviceEntry>(bytes, limits::MAX_ENTRY_BYTES) {
        if let Ok(entry) = signed.peek(limits::MAX_ENTRY_BYTES) {
            let _ = entry.check_limits();
            let _ = signed.verify(kith_wire::domain::DEVICE_LOG_ENTRY, &entry.author);
        }
    }
    if let Ok(invite) = decode::<Invite>(bytes, limits::MAX_INVITE_BYTES) {
        let _ = invite.check_limits();
    }
    round_trip::<GroupOp>(bytes, limits::MAX_ENTRY_BYTES);
    if let Ok(op) = decode::<GroupOp>(bytes, limits::MAX_ENTRY_BYTES) {
        let _ = op.check_limits();
    }
    round_trip::<AddressAnnouncement>(bytes, limits::MAX_ENTRY_BYTES);
    round_trip::<LinkMessage>(bytes, MAX_LINK_FRAME_BYTES);
    if let Ok(message) = decode::<LinkMessage>(bytes, MAX_LINK_FRAME_BYTES) {
        let _ = message.check_limits();
    }
});
