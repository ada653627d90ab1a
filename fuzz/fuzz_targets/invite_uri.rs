//! Invite and safety-number text as typed, pasted or scanned.
#![no_main]

use kith_identity::SafetyNumber;
use kith_identity::invite::{parse_uri, to_uri};
use kith_identity::lookup::parse_name;
use kith_wire::AccountId;
use libfuzzer_sys::fuzz_target;

/// 2 × 5200 SHA-512 rounds: computed once, not per input.
fn safety() -> &'static SafetyNumber {
    static SAFETY: std::sync::OnceLock<SafetyNumber> = std::sync::OnceLock::new();
    SAFETY.get_or_init(|| {
        SafetyNumber::new(&AccountId([1; 32]), &AccountId([2; 32])).expect("safety number")
    })
}

fuzz_target!(|text: &str| {
    if let Ok(invite) = parse_uri(text, 0) {
        // What parses prints back to a URI that parses to the same invite.
        let uri = to_uri(&invite).expect("a parsed invite prints");
        assert_eq!(parse_uri(&uri, 0).expect("a printed invite parses"), invite);
    }
    let _ = parse_name(text);
    let _ = safety().verify_scanned(text);
    let _ = safety().matches(text);
});
