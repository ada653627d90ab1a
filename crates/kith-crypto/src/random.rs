//! Randomness from libsodium's CSPRNG.

use crate::error::Result;
use crate::ffi;

/// Fills `buf` with random bytes.
pub fn fill(buf: &mut [u8]) -> Result<()> {
    let sodium = ffi::init()?;
    ffi::random_fill(sodium, buf);
    Ok(())
}

/// An array of random bytes (not for secrets: use [`crate::SecretBytes::random`]).
pub fn array<const N: usize>() -> Result<[u8; N]> {
    let mut out = [0u8; N];
    fill(&mut out)?;
    Ok(out)
}

/// A uniformly distributed number in `0..upper` (0 when `upper` is 0 or 1).
pub fn uniform(upper: u32) -> Result<u32> {
    let sodium = ffi::init()?;
    Ok(ffi::random_uniform(sodium, upper))
}
