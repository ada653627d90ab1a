//! Kith's cryptography: a small, safe wrapper over libsodium.
//!
//! This is the only crate in Kith with `unsafe` code, and inside it only the
//! `ffi` module may use it. Every primitive comes from libsodium (the bundled
//! build of `libsodium-sys-stable`, so every platform runs the same version):
//!
//! | need | primitive | module |
//! |---|---|---|
//! | signatures | Ed25519, strict verification | [`sign`] |
//! | key agreement | X25519, all-zero output rejected | [`dh`] |
//! | encryption | XChaCha20-Poly1305-IETF, random nonces | [`aead`] |
//! | hashing | BLAKE2b (plain, keyed), SHA-512 | [`hash`] |
//! | key derivation | `crypto_kdf`, HKDF-SHA256 | [`kdf`] |
//! | MAC | HMAC-SHA256 | [`mac`] |
//! | passphrases | Argon2id v1.3 | [`pwhash`] |
//! | files | `crypto_secretstream_xchacha20poly1305` | [`stream`] |
//!
//! Secrets are types ([`SecretBytes`], [`SecretVec`], [`GuardedSecret`]): not
//! `Copy`, not serialisable, redacted in `Debug`, zeroed on drop, compared in
//! constant time. Every signature and hash carries a [`Domain`].
//!
//! ```
//! use kith_crypto::{Domain, aead::AeadKey, sign::SigningKey};
//!
//! const GREETING: Domain = Domain::new("kith-example-v1");
//!
//! let key = SigningKey::generate()?;
//! let signature = key.sign(GREETING, b"hello")?;
//! key.verifying_key().verify(GREETING, b"hello", &signature)?;
//!
//! let secret = AeadKey::generate()?;
//! let sealed = secret.seal(b"header", b"hello")?;
//! assert_eq!(secret.open(b"header", &sealed)?.expose(), b"hello");
//! # Ok::<(), kith_crypto::CryptoError>(())
//! ```
#![deny(unsafe_code)]

#[macro_use]
mod macros;

pub mod aead;
pub mod dh;
mod domain;
mod error;
mod ffi;
pub mod hash;
pub mod kdf;
pub mod mac;
pub mod pwhash;
pub mod random;
mod secret;
pub mod sign;
pub mod stream;

pub use domain::Domain;
pub use error::{CryptoError, Result};
pub use secret::{GuardedSecret, SecretBytes, SecretVec, ct_eq, zeroize};

/// Direct libsodium loops, the anchor of benchmark B0.
#[cfg(feature = "bench-anchors")]
pub use ffi::anchor as bench_anchor;

/// Initialises libsodium (once per process). Every function of this crate
/// does this itself; call it early to surface a failure at start-up.
pub fn init() -> Result<()> {
    ffi::init().map(|_| ())
}

/// The version of the linked libsodium, such as `1.0.22`.
pub fn libsodium_version() -> Result<String> {
    Ok(ffi::version(ffi::init()?))
}

/// The first four bytes of a public value as hex, for `Debug` output and
/// logs: enough to tell values apart, never a full identifier.
pub(crate) fn short_hex(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(9);
    for byte in bytes.iter().take(4) {
        out.push_str(&format!("{byte:02x}"));
    }
    out.push('…');
    out
}
