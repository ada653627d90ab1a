//! HMAC-SHA256 (`crypto_auth_hmacsha256`).

use std::fmt;

use crate::error::{CryptoError, Result};
use crate::ffi;

/// Length of an HMAC-SHA256 tag.
pub const TAG_LEN: usize = 32;

/// An incremental HMAC-SHA256 computation; the key may have any length.
pub struct HmacSha256(ffi::HmacSha256State);

impl HmacSha256 {
    /// Starts a MAC under `key`.
    pub fn new(key: &[u8]) -> Result<Self> {
        let sodium = ffi::init()?;
        Ok(Self(ffi::HmacSha256State::new(sodium, key)?))
    }

    /// Feeds more input.
    pub fn update(&mut self, data: &[u8]) -> Result<()> {
        self.0.update(data)
    }

    /// The tag.
    pub fn finalize(self) -> Result<MacTag> {
        let mut out = [0u8; TAG_LEN];
        self.0.finalize(&mut out)?;
        Ok(MacTag(out))
    }

    /// HMAC-SHA256 of `msg` under `key` in one call.
    pub fn mac(key: &[u8], msg: &[u8]) -> Result<MacTag> {
        let mut hmac = Self::new(key)?;
        hmac.update(msg)?;
        hmac.finalize()
    }

    /// Checks `expected` (possibly truncated, at least 16 bytes) against the
    /// MAC of `msg`, in constant time.
    pub fn verify(key: &[u8], msg: &[u8], expected: &[u8]) -> Result<()> {
        if expected.len() < 16 || expected.len() > TAG_LEN {
            return Err(CryptoError::BadMac);
        }
        let tag = Self::mac(key, msg)?;
        let computed = tag.0.get(..expected.len()).ok_or(CryptoError::BadMac)?;
        if ffi::memeq(computed, expected) {
            Ok(())
        } else {
            Err(CryptoError::BadMac)
        }
    }
}

/// An HMAC-SHA256 tag, compared in constant time and zeroed on drop (tags
/// serve as chain keys in the ratchet, so they are treated as secrets).
pub struct MacTag([u8; TAG_LEN]);

impl Drop for MacTag {
    fn drop(&mut self) {
        ffi::memzero(&mut self.0);
    }
}

impl MacTag {
    /// The tag bytes.
    pub fn as_bytes(&self) -> &[u8; TAG_LEN] {
        &self.0
    }
}

impl PartialEq for MacTag {
    fn eq(&self, other: &Self) -> bool {
        ffi::memeq(&self.0, &other.0)
    }
}

impl Eq for MacTag {}

impl fmt::Debug for MacTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("MacTag(redacted)")
    }
}
