//! Types that hold secrets.
//!
//! None of them is `Copy` or `Serialize`; `Debug` prints no bytes; drop zeroes
//! the memory with `sodium_memzero`. Equality is constant time
//! (`sodium_memcmp`). Secrets live on the heap so that moving the owner does
//! not leave copies behind on the stack.

use std::fmt;

use crate::error::Result;
use crate::ffi;

/// A fixed-size secret, zeroed on drop.
pub struct SecretBytes<const N: usize>(Box<[u8; N]>);

impl<const N: usize> SecretBytes<N> {
    /// A fresh secret from libsodium's CSPRNG.
    pub fn random() -> Result<Self> {
        let sodium = ffi::init()?;
        let mut secret = Self::zero();
        ffi::random_fill(sodium, &mut secret.0[..]);
        Ok(secret)
    }

    /// An all-zero secret, to be filled in place with [`Self::expose_mut`].
    pub fn zero() -> Self {
        Self(Box::new([0u8; N]))
    }

    /// Copies `bytes` into a new secret and zeroes `bytes`.
    pub fn take_from(bytes: &mut [u8; N]) -> Self {
        let mut secret = Self::zero();
        secret.0.copy_from_slice(bytes);
        ffi::memzero(bytes);
        secret
    }

    /// Copies a secret of exactly `N` bytes out of a slice (the caller keeps
    /// responsibility for the slice).
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let mut secret = Self::zero();
        if bytes.len() != N {
            return Err(crate::CryptoError::Length {
                what: "secret",
                expected: N,
                actual: bytes.len(),
            });
        }
        secret.0.copy_from_slice(bytes);
        Ok(secret)
    }

    /// The secret bytes. Keep the borrow short; never log or compare them
    /// with `==`.
    pub fn expose(&self) -> &[u8; N] {
        &self.0
    }

    /// The secret bytes, writable.
    pub fn expose_mut(&mut self) -> &mut [u8; N] {
        &mut self.0
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Self) -> bool {
        ffi::memeq(&self.0[..], &other.0[..])
    }

    /// An explicit copy (the type is deliberately not `Clone`).
    pub fn duplicate(&self) -> Self {
        let mut copy = Self::zero();
        copy.0.copy_from_slice(&self.0[..]);
        copy
    }
}

impl<const N: usize> Drop for SecretBytes<N> {
    fn drop(&mut self) {
        ffi::memzero(&mut self.0[..]);
    }
}

impl<const N: usize> fmt::Debug for SecretBytes<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes<{N}>(redacted)")
    }
}

/// A secret of variable length (plaintexts, derived material), zeroed on drop.
pub struct SecretVec(Vec<u8>);

impl SecretVec {
    /// A zero-filled secret of `len` bytes, to be written in place.
    pub fn zeroed(len: usize) -> Self {
        Self(vec![0u8; len])
    }

    /// Takes ownership of `bytes` (no copy is made).
    pub fn from_vec(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The secret bytes.
    pub fn expose(&self) -> &[u8] {
        &self.0
    }

    /// The secret bytes, writable.
    pub fn expose_mut(&mut self) -> &mut [u8] {
        &mut self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Constant-time equality (lengths are not secret).
    pub fn ct_eq(&self, other: &Self) -> bool {
        ffi::memeq(&self.0, &other.0)
    }
}

impl Drop for SecretVec {
    fn drop(&mut self) {
        ffi::memzero(&mut self.0);
    }
}

impl fmt::Debug for SecretVec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretVec(len={}, redacted)", self.0.len())
    }
}

/// A long-lived root secret in `sodium_malloc` guarded memory: guard pages on
/// both sides, `mlock`ed, inaccessible (`PROT_NONE`) except inside
/// [`GuardedSecret::with`], zeroed and unmapped by `sodium_free` on drop.
pub struct GuardedSecret<const N: usize>(ffi::GuardedRegion);

impl<const N: usize> GuardedSecret<N> {
    /// A fresh random root secret.
    pub fn random() -> Result<Self> {
        let sodium = ffi::init()?;
        Ok(Self(ffi::GuardedRegion::new(sodium, N, |bytes| {
            ffi::random_fill(sodium, bytes)
        })?))
    }

    /// Moves a secret into guarded memory (the source is zeroed when dropped).
    pub fn from_secret(secret: SecretBytes<N>) -> Result<Self> {
        let sodium = ffi::init()?;
        let region = ffi::GuardedRegion::new(sodium, N, |bytes| {
            bytes.copy_from_slice(&secret.expose()[..])
        })?;
        Ok(Self(region))
    }

    /// Runs `f` with the secret readable; it is locked away again afterwards.
    pub fn with<R>(&self, f: impl FnOnce(&[u8; N]) -> R) -> Result<R> {
        self.0
            .read(|bytes| {
                // The region was allocated with exactly N bytes.
                let array: Option<&[u8; N]> = bytes.try_into().ok();
                array.map(f)
            })?
            .ok_or(crate::CryptoError::GuardedMemory)
    }

    /// Constant-time equality.
    pub fn ct_eq(&self, other: &Self) -> Result<bool> {
        self.with(|a| other.with(|b| ffi::memeq(a, b)))?
    }
}

impl<const N: usize> fmt::Debug for GuardedSecret<N> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GuardedSecret<{N}>(redacted)")
    }
}

/// Constant-time equality of two byte strings (`sodium_memcmp`). Strings of
/// different lengths are unequal; lengths are not treated as secret.
///
/// Use it for keys, MACs, codes and anything derived from a secret.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    ffi::memeq(a, b)
}

/// Zeroes a buffer in a way the compiler cannot elide (`sodium_memzero`).
pub fn zeroize(buf: &mut [u8]) {
    ffi::memzero(buf);
}
