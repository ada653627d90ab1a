//! BLAKE2b (`crypto_generichash`), plain and keyed, and SHA-512.
//!
//! Kith hashes through [`Blake2b::new`] / [`blake2b_256`], which start every
//! hash with its [`Domain`]. The `_raw` forms exist for interop and
//! known-answer tests.

use crate::domain::Domain;
use crate::error::Result;
use crate::ffi;

/// An incremental BLAKE2b hash with an output of 16 to 64 bytes.
pub struct Blake2b {
    state: ffi::Blake2bState,
    out_len: usize,
}

impl Blake2b {
    /// A domain-separated hash of `out_len` bytes.
    pub fn new(domain: Domain, out_len: usize) -> Result<Self> {
        let mut hasher = Self::new_raw(&[], out_len)?;
        hasher.update_domain(domain)?;
        Ok(hasher)
    }

    /// A domain-separated keyed hash (a MAC/PRF) with a 16 to 64-byte key.
    pub fn new_keyed(key: &[u8], domain: Domain, out_len: usize) -> Result<Self> {
        let mut hasher = Self::new_raw(key, out_len)?;
        hasher.update_domain(domain)?;
        Ok(hasher)
    }

    /// Plain BLAKE2b without a domain; `key` may be empty.
    pub fn new_raw(key: &[u8], out_len: usize) -> Result<Self> {
        let sodium = ffi::init()?;
        Ok(Self {
            state: ffi::Blake2bState::new(sodium, key, out_len)?,
            out_len,
        })
    }

    fn update_domain(&mut self, domain: Domain) -> Result<()> {
        let (buf, len) = domain.encoded();
        self.update(buf.get(..len).unwrap_or(&buf))
    }

    /// Feeds more input.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.state.update(data)
    }

    /// The digest.
    pub fn finalize(self) -> Result<Vec<u8>> {
        let mut out = vec![0u8; self.out_len];
        self.state.finalize(&mut out)?;
        Ok(out)
    }

    /// The digest into a fixed-size array (`N` must equal the output length).
    pub fn finalize_array<const N: usize>(self) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        self.state.finalize(&mut out)?;
        Ok(out)
    }
}

/// `BLAKE2b-256(domain || parts...)`.
pub fn blake2b_256(domain: Domain, parts: &[&[u8]]) -> Result<[u8; 32]> {
    let mut hasher = Blake2b::new(domain, 32)?;
    for part in parts {
        hasher.update(part)?;
    }
    hasher.finalize_array()
}

/// Keyed `BLAKE2b-256(key; domain || parts...)`.
pub fn blake2b_256_keyed(key: &[u8], domain: Domain, parts: &[&[u8]]) -> Result<[u8; 32]> {
    let mut hasher = Blake2b::new_keyed(key, domain, 32)?;
    for part in parts {
        hasher.update(part)?;
    }
    hasher.finalize_array()
}

/// An incremental SHA-512 hash (used where a published algorithm demands it,
/// such as libsignal-compatible safety numbers).
pub struct Sha512(ffi::Sha512State);

impl Sha512 {
    /// A new hash.
    pub fn new() -> Result<Self> {
        let sodium = ffi::init()?;
        Ok(Self(ffi::Sha512State::new(sodium)?))
    }

    /// Feeds more input.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.0.update(data)
    }

    /// The 64-byte digest.
    pub fn finalize(self) -> Result<[u8; 64]> {
        self.0.finalize()
    }

    /// SHA-512 of one input.
    pub fn digest(data: &[u8]) -> Result<[u8; 64]> {
        let mut hasher = Self::new()?;
        hasher.update(data)?;
        hasher.finalize()
    }
}
