//! Key derivation: subkeys of a root key (`crypto_kdf`, BLAKE2b) and
//! HKDF-SHA256 (`crypto_kdf_hkdf_sha256_*`, RFC 5869).

use crate::error::{CryptoError, Result};
use crate::ffi;
use crate::secret::{GuardedSecret, SecretBytes};

/// An 8-byte `crypto_kdf` context naming what the subkeys are for, such as
/// `b"kithstor"`. Different contexts give independent subkeys.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KdfContext([u8; 8]);

impl KdfContext {
    /// A context from exactly 8 bytes.
    pub const fn new(context: &[u8; 8]) -> Self {
        Self(*context)
    }
}

/// Derives subkey number `id` (of `N` = 16 to 64 bytes) from a 32-byte key.
pub fn derive_subkey<const N: usize>(
    key: &SecretBytes<32>,
    context: KdfContext,
    id: u64,
) -> Result<SecretBytes<N>> {
    let sodium = ffi::init()?;
    let mut out = SecretBytes::<N>::zero();
    ffi::kdf_derive(sodium, out.expose_mut(), id, &context.0, key.expose())?;
    Ok(out)
}

/// Derives subkey number `id` from a root key held in guarded memory.
pub fn derive_subkey_guarded<const N: usize>(
    root: &GuardedSecret<32>,
    context: KdfContext,
    id: u64,
) -> Result<SecretBytes<N>> {
    let sodium = ffi::init()?;
    let mut out = SecretBytes::<N>::zero();
    root.with(|key| ffi::kdf_derive(sodium, out.expose_mut(), id, &context.0, key))??;
    Ok(out)
}

/// Largest output of HKDF-SHA256 (255 × 32 bytes).
pub const HKDF_MAX_OUTPUT: usize = ffi::HKDF_MAX;

/// HKDF-SHA256 (extract then expand) of `ikm` with `salt` and `info` into `out`.
pub fn hkdf_sha256_into(salt: &[u8], ikm: &[u8], info: &[u8], out: &mut [u8]) -> Result<()> {
    let sodium = ffi::init()?;
    if out.len() > HKDF_MAX_OUTPUT {
        return Err(CryptoError::Length {
            what: "hkdf output",
            expected: HKDF_MAX_OUTPUT,
            actual: out.len(),
        });
    }
    let mut prk = SecretBytes::<32>::zero();
    ffi::hkdf_extract(sodium, salt, ikm, prk.expose_mut())?;
    ffi::hkdf_expand(sodium, prk.expose(), info, out)
}

/// HKDF-SHA256 into a fixed-size secret.
pub fn hkdf_sha256<const N: usize>(salt: &[u8], ikm: &[u8], info: &[u8]) -> Result<SecretBytes<N>> {
    let mut out = SecretBytes::<N>::zero();
    hkdf_sha256_into(salt, ikm, info, out.expose_mut())?;
    Ok(out)
}
