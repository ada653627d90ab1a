//! Integration tests of `kith-crypto`: Wycheproof and RFC known answers run
//! through the public wrappers, negative cases, secret hygiene and the
//! project-wide source rules.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]

mod known_answers;
mod negative;
mod secrets;
mod source_rules;
mod wycheproof_vectors;

/// Decodes a hex literal (test data only).
pub fn hex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("valid hex in test data")
}

/// Decodes a hex literal into an array.
pub fn hex_array<const N: usize>(s: &str) -> [u8; N] {
    hex(s).try_into().expect("hex literal of the right length")
}
