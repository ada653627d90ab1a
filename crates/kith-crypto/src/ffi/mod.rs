//! The only place in Kith that calls C.
//!
//! Every function here is safe to call: it checks lengths before the call,
//! checks the return code after it, and documents with a `// SAFETY:` line why
//! the call is sound. Functions that need an initialised libsodium take a
//! [`Sodium`] token, which only [`init`] can make, so the type system proves
//! that `sodium_init` ran before every such call.
#![allow(unsafe_code)]

#[cfg(feature = "bench-anchors")]
pub mod anchor;

use std::ffi::{c_char, c_void};
use std::ptr::NonNull;
use std::sync::{Mutex, OnceLock};

use libsodium_sys as ls;

use crate::error::{CryptoError, Result};

/// Proof that `sodium_init` succeeded in this process.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Sodium(());

static INIT: OnceLock<bool> = OnceLock::new();

/// Runs `sodium_init` once per process and returns the proof token.
pub(crate) fn init() -> Result<Sodium> {
    let ok = *INIT.get_or_init(|| {
        // SAFETY: sodium_init has no preconditions, is thread-safe and
        // idempotent; it returns 0 (done), 1 (already done) or -1 (failure).
        let rc = unsafe { ls::sodium_init() };
        rc >= 0
    });
    if ok {
        Ok(Sodium(()))
    } else {
        Err(CryptoError::Init)
    }
}

/// The version of the linked libsodium, e.g. `1.0.22`.
pub(crate) fn version(_: Sodium) -> String {
    // SAFETY: sodium_version_string returns a pointer to a static,
    // NUL-terminated string owned by libsodium.
    let cstr = unsafe { std::ffi::CStr::from_ptr(ls::sodium_version_string()) };
    cstr.to_string_lossy().into_owned()
}

fn check(rc: i32, call: &'static str) -> Result<()> {
    if rc == 0 {
        Ok(())
    } else {
        Err(CryptoError::Sodium(call))
    }
}

fn length(what: &'static str, expected: usize, actual: usize) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(CryptoError::Length {
            what,
            expected,
            actual,
        })
    }
}

fn within(what: &'static str, min: usize, max: usize, actual: usize) -> Result<()> {
    if (min..=max).contains(&actual) {
        Ok(())
    } else {
        // Report the violated bound.
        let expected = if actual < min { min } else { max };
        Err(CryptoError::Length {
            what,
            expected,
            actual,
        })
    }
}

// ---------------------------------------------------------------------------
// Memory: zeroing, constant-time comparison, guarded allocations.
// ---------------------------------------------------------------------------

/// Overwrites `buf` with zeros in a way the compiler may not elide.
///
/// Needs no initialisation: `sodium_memzero` uses no global state.
pub(crate) fn memzero(buf: &mut [u8]) {
    // SAFETY: the pointer and length come from one valid mutable slice.
    unsafe { ls::sodium_memzero(buf.as_mut_ptr().cast::<c_void>(), buf.len()) }
}

/// Constant-time equality of two byte strings of equal length. Strings of
/// different lengths are unequal (their lengths are not secret).
///
/// Needs no initialisation: `sodium_memcmp` uses no global state.
pub(crate) fn memeq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    // SAFETY: both pointers are valid for `a.len()` bytes (lengths checked equal).
    let rc = unsafe { ls::sodium_memcmp(a.as_ptr().cast(), b.as_ptr().cast(), a.len()) };
    rc == 0
}

/// Zeroes a libsodium state struct (plain C data without pointers).
fn zero_state<T: Copy>(state: &mut T) {
    let ptr: *mut T = state;
    // SAFETY: only called on libsodium's `#[repr(C)]` state structs, which
    // are plain bytes and integers (no references), so every byte of the
    // exclusively borrowed value may be viewed and written as `u8`.
    let bytes = unsafe { std::slice::from_raw_parts_mut(ptr.cast::<u8>(), size_of::<T>()) };
    memzero(bytes);
}

/// Constant-time test for an all-zero buffer.
pub(crate) fn is_zero(buf: &[u8]) -> bool {
    // SAFETY: the pointer and length come from one valid slice.
    unsafe { ls::sodium_is_zero(buf.as_ptr(), buf.len()) == 1 }
}

/// A region from `sodium_malloc`: guard pages around it, a canary before it,
/// `mlock`ed, and kept `PROT_NONE` while nobody reads it. Freed (and zeroed)
/// with `sodium_free`.
pub(crate) struct GuardedRegion {
    ptr: NonNull<u8>,
    len: usize,
    /// How many readers currently hold the region readable.
    readers: Mutex<usize>,
}

// SAFETY: the region is owned uniquely by this value; all access to the bytes
// goes through `read`, which serialises the protection changes with a mutex.
unsafe impl Send for GuardedRegion {}
// SAFETY: as above; shared references only ever read the bytes.
unsafe impl Sync for GuardedRegion {}

impl GuardedRegion {
    /// Allocates `len` bytes, fills them with `fill`, and locks them away.
    pub(crate) fn new(_: Sodium, len: usize, fill: impl FnOnce(&mut [u8])) -> Result<Self> {
        within("guarded allocation", 1, 1 << 20, len)?;
        // SAFETY: sodium_malloc has no preconditions beyond initialisation,
        // which the token proves; it returns NULL on failure.
        let raw = unsafe { ls::sodium_malloc(len) };
        let ptr = NonNull::new(raw.cast::<u8>()).ok_or(CryptoError::GuardedMemory)?;
        let region = Self {
            ptr,
            len,
            readers: Mutex::new(0),
        };
        // SAFETY: a fresh sodium_malloc region of `len` bytes is readable and
        // writable, and nothing else refers to it yet.
        let bytes = unsafe { std::slice::from_raw_parts_mut(ptr.as_ptr(), len) };
        fill(bytes);
        region.protect(ls::sodium_mprotect_noaccess, "sodium_mprotect_noaccess")?;
        Ok(region)
    }

    fn protect(
        &self,
        f: unsafe extern "C" fn(*mut c_void) -> i32,
        call: &'static str,
    ) -> Result<()> {
        // SAFETY: `ptr` is a live sodium_malloc region (freed only in Drop).
        let rc = unsafe { f(self.ptr.as_ptr().cast()) };
        if rc == 0 {
            Ok(())
        } else {
            Err(CryptoError::Sodium(call))
        }
    }

    /// Makes the region readable for the duration of `f`.
    pub(crate) fn read<R>(&self, f: impl FnOnce(&[u8]) -> R) -> Result<R> {
        {
            let mut readers = self
                .readers
                .lock()
                .map_err(|_| CryptoError::GuardedMemory)?;
            if *readers == 0 {
                self.protect(ls::sodium_mprotect_readonly, "sodium_mprotect_readonly")?;
            }
            *readers += 1;
        }
        // SAFETY: the region is live and, while `readers > 0`, readable; no
        // writer exists after construction.
        let bytes = unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) };
        let out = f(bytes);
        let mut readers = self
            .readers
            .lock()
            .map_err(|_| CryptoError::GuardedMemory)?;
        *readers = readers.saturating_sub(1);
        if *readers == 0 {
            self.protect(ls::sodium_mprotect_noaccess, "sodium_mprotect_noaccess")?;
        }
        Ok(out)
    }
}

impl Drop for GuardedRegion {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from sodium_malloc and is freed exactly once;
        // sodium_free lifts the protection, zeroes and unmaps the region.
        unsafe { ls::sodium_free(self.ptr.as_ptr().cast()) }
    }
}

// ---------------------------------------------------------------------------
// Randomness.
// ---------------------------------------------------------------------------

/// Fills `buf` with bytes from libsodium's CSPRNG.
pub(crate) fn random_fill(_: Sodium, buf: &mut [u8]) {
    // SAFETY: the pointer and length come from one valid mutable slice.
    unsafe { ls::randombytes_buf(buf.as_mut_ptr().cast(), buf.len()) }
}

/// A uniformly random number in `0..upper` (0 when `upper` < 2).
pub(crate) fn random_uniform(_: Sodium, upper: u32) -> u32 {
    // SAFETY: randombytes_uniform accepts any bound.
    unsafe { ls::randombytes_uniform(upper) }
}

// ---------------------------------------------------------------------------
// Ed25519.
// ---------------------------------------------------------------------------

/// Ed25519 key pair from a 32-byte seed: `(public, secret)`; the secret is
/// libsodium's 64-byte `seed || public` form.
pub(crate) fn sign_seed_keypair(
    _: Sodium,
    seed: &[u8; 32],
    pk: &mut [u8; 32],
    sk: &mut [u8; 64],
) -> Result<()> {
    // SAFETY: every buffer has the fixed size libsodium writes or reads.
    let rc =
        unsafe { ls::crypto_sign_seed_keypair(pk.as_mut_ptr(), sk.as_mut_ptr(), seed.as_ptr()) };
    check(rc, "crypto_sign_seed_keypair")
}

/// Detached Ed25519 signature over `msg`.
pub(crate) fn sign_detached(_: Sodium, sk: &[u8; 64], msg: &[u8]) -> Result<[u8; 64]> {
    let mut sig = [0u8; 64];
    let mut sig_len: u64 = 0;
    // SAFETY: `sig` holds crypto_sign_BYTES (64); `msg` is valid for its
    // length; `sk` is crypto_sign_SECRETKEYBYTES (64).
    let rc = unsafe {
        ls::crypto_sign_detached(
            sig.as_mut_ptr(),
            &mut sig_len,
            msg.as_ptr(),
            msg.len() as u64,
            sk.as_ptr(),
        )
    };
    check(rc, "crypto_sign_detached")?;
    length(
        "signature",
        64,
        usize::try_from(sig_len).unwrap_or(usize::MAX),
    )?;
    Ok(sig)
}

/// Strict Ed25519 verification: libsodium rejects non-canonical `S`,
/// small-order `R` and public keys, and non-canonical public keys.
pub(crate) fn sign_verify_detached(
    _: Sodium,
    pk: &[u8; 32],
    msg: &[u8],
    sig: &[u8; 64],
) -> Result<()> {
    // SAFETY: `sig` and `pk` have the fixed sizes libsodium reads; `msg` is
    // valid for its length.
    let rc = unsafe {
        ls::crypto_sign_verify_detached(sig.as_ptr(), msg.as_ptr(), msg.len() as u64, pk.as_ptr())
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(CryptoError::BadSignature)
    }
}

/// Whether `pk` is a canonical Ed25519 point of the main subgroup, not of
/// small order.
pub(crate) fn ed25519_is_valid_point(_: Sodium, pk: &[u8; 32]) -> bool {
    // SAFETY: `pk` is crypto_core_ed25519_BYTES (32) long.
    unsafe { ls::crypto_core_ed25519_is_valid_point(pk.as_ptr()) == 1 }
}

// ---------------------------------------------------------------------------
// X25519.
// ---------------------------------------------------------------------------

/// `sk · G`.
pub(crate) fn scalarmult_base(_: Sodium, sk: &[u8; 32]) -> Result<[u8; 32]> {
    let mut pk = [0u8; 32];
    // SAFETY: both buffers are crypto_scalarmult_BYTES (32) long.
    let rc = unsafe { ls::crypto_scalarmult_base(pk.as_mut_ptr(), sk.as_ptr()) };
    check(rc, "crypto_scalarmult_base")?;
    Ok(pk)
}

/// `sk · pk`, writing the shared secret into `out`. An all-zero result (a
/// small-order `pk`) is an error and leaves `out` zeroed.
pub(crate) fn scalarmult(
    _: Sodium,
    sk: &[u8; 32],
    pk: &[u8; 32],
    out: &mut [u8; 32],
) -> Result<()> {
    // SAFETY: all three buffers are crypto_scalarmult_BYTES (32) long.
    let rc = unsafe { ls::crypto_scalarmult(out.as_mut_ptr(), sk.as_ptr(), pk.as_ptr()) };
    // libsodium returns -1 exactly when the output is all zeros; check both.
    if rc != 0 || is_zero(out) {
        memzero(out);
        return Err(CryptoError::WeakSharedSecret);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// XChaCha20-Poly1305-IETF.
// ---------------------------------------------------------------------------

/// Tag length of the AEAD.
pub(crate) const AEAD_TAG: usize = ls::crypto_aead_xchacha20poly1305_ietf_ABYTES as usize;

/// Appends `ciphertext || tag` of `pt` to `out`, writing straight into its
/// spare capacity (no zero-fill first).
pub(crate) fn aead_encrypt(
    _: Sodium,
    key: &[u8; 32],
    nonce: &[u8; 24],
    ad: &[u8],
    pt: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let ct_len = pt
        .len()
        .checked_add(AEAD_TAG)
        .ok_or(CryptoError::Parameter("message too long"))?;
    out.reserve(ct_len);
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let mut written: u64 = 0;
    // SAFETY: after `reserve`, the spare capacity holds at least
    // pt.len() + ABYTES bytes, which libsodium writes (never reads); `pt` and
    // `ad` are valid for their lengths; nonce and key have their fixed sizes;
    // nsec is NULL as the API requires.
    let rc = unsafe {
        ls::crypto_aead_xchacha20poly1305_ietf_encrypt(
            dst,
            &mut written,
            pt.as_ptr(),
            pt.len() as u64,
            ad.as_ptr(),
            ad.len() as u64,
            std::ptr::null(),
            nonce.as_ptr(),
            key.as_ptr(),
        )
    };
    check(rc, "crypto_aead_xchacha20poly1305_ietf_encrypt")?;
    length(
        "aead ciphertext",
        ct_len,
        usize::try_from(written).unwrap_or(usize::MAX),
    )?;
    // SAFETY: libsodium initialised exactly `ct_len` bytes after the old end.
    unsafe { out.set_len(out.len() + ct_len) };
    Ok(())
}

/// Appends the plaintext of `ciphertext || tag` to `out`, writing straight
/// into its spare capacity. On failure nothing is appended and the spare
/// capacity libsodium may have touched is zeroed.
pub(crate) fn aead_decrypt(
    _: Sodium,
    key: &[u8; 32],
    nonce: &[u8; 24],
    ad: &[u8],
    ct: &[u8],
    out: &mut Vec<u8>,
) -> Result<()> {
    let pt_len = ct.len().checked_sub(AEAD_TAG).ok_or(CryptoError::Decrypt)?;
    out.reserve(pt_len);
    let dst = out.spare_capacity_mut().as_mut_ptr().cast::<u8>();
    let mut written: u64 = 0;
    // SAFETY: after `reserve`, the spare capacity holds at least
    // ct.len() - ABYTES bytes, which libsodium only writes; `ct` and `ad` are
    // valid for their lengths; nsec is NULL as required.
    let rc = unsafe {
        ls::crypto_aead_xchacha20poly1305_ietf_decrypt(
            dst,
            &mut written,
            std::ptr::null_mut(),
            ct.as_ptr(),
            ct.len() as u64,
            ad.as_ptr(),
            ad.len() as u64,
            nonce.as_ptr(),
            key.as_ptr(),
        )
    };
    if rc != 0 || written != pt_len as u64 {
        // SAFETY: `dst` is valid for writing `pt_len` bytes (reserved above).
        unsafe { ls::sodium_memzero(dst.cast::<c_void>(), pt_len) };
        return Err(CryptoError::Decrypt);
    }
    // SAFETY: libsodium initialised exactly `pt_len` bytes after the old end.
    unsafe { out.set_len(out.len() + pt_len) };
    Ok(())
}

// ---------------------------------------------------------------------------
// BLAKE2b (crypto_generichash).
// ---------------------------------------------------------------------------

/// Output length bounds of BLAKE2b.
pub(crate) const BLAKE2B_OUT: (usize, usize) = (
    ls::crypto_generichash_BYTES_MIN as usize,
    ls::crypto_generichash_BYTES_MAX as usize,
);
/// Key length bounds of keyed BLAKE2b.
pub(crate) const BLAKE2B_KEY: (usize, usize) = (
    ls::crypto_generichash_KEYBYTES_MIN as usize,
    ls::crypto_generichash_KEYBYTES_MAX as usize,
);

/// An incremental BLAKE2b state; zeroed on drop (it holds the key when keyed).
pub(crate) struct Blake2bState {
    state: Box<ls::crypto_generichash_state>,
    out_len: usize,
}

impl Blake2bState {
    pub(crate) fn new(_: Sodium, key: &[u8], out_len: usize) -> Result<Self> {
        within("blake2b output", BLAKE2B_OUT.0, BLAKE2B_OUT.1, out_len)?;
        if !key.is_empty() {
            within("blake2b key", BLAKE2B_KEY.0, BLAKE2B_KEY.1, key.len())?;
        }
        let mut state = Box::new(ls::crypto_generichash_state { opaque: [0; 384] });
        // SAFETY: `state` is a properly aligned state struct; the key is NULL
        // when empty or valid for its (checked) length; out_len is in range.
        let rc = unsafe {
            ls::crypto_generichash_init(
                &mut *state,
                if key.is_empty() {
                    std::ptr::null()
                } else {
                    key.as_ptr()
                },
                key.len(),
                out_len,
            )
        };
        check(rc, "crypto_generichash_init")?;
        Ok(Self { state, out_len })
    }

    pub(crate) fn update(&mut self, data: &[u8]) -> Result<()> {
        // SAFETY: the state was initialised in `new`; `data` is valid for its length.
        let rc = unsafe {
            ls::crypto_generichash_update(&mut *self.state, data.as_ptr(), data.len() as u64)
        };
        check(rc, "crypto_generichash_update")
    }

    /// Writes the digest into `out`, whose length must be the one given to `new`.
    pub(crate) fn finalize(mut self, out: &mut [u8]) -> Result<()> {
        length("blake2b output", self.out_len, out.len())?;
        // SAFETY: the state is initialised and `out` has the declared length.
        let rc =
            unsafe { ls::crypto_generichash_final(&mut *self.state, out.as_mut_ptr(), out.len()) };
        check(rc, "crypto_generichash_final")
    }
}

impl Drop for Blake2bState {
    fn drop(&mut self) {
        zero_state(&mut *self.state);
    }
}

impl Drop for Sha512State {
    fn drop(&mut self) {
        zero_state(&mut *self.0);
    }
}

// ---------------------------------------------------------------------------
// SHA-512 (for libsignal-compatible safety numbers).
// ---------------------------------------------------------------------------

/// An incremental SHA-512 state.
pub(crate) struct Sha512State(Box<ls::crypto_hash_sha512_state>);

impl Sha512State {
    pub(crate) fn new(_: Sodium) -> Result<Self> {
        let mut state = Box::new(ls::crypto_hash_sha512_state {
            state: [0; 8],
            count: [0; 2],
            buf: [0; 128],
        });
        // SAFETY: `state` is a valid state struct to initialise.
        let rc = unsafe { ls::crypto_hash_sha512_init(&mut *state) };
        check(rc, "crypto_hash_sha512_init")?;
        Ok(Self(state))
    }

    pub(crate) fn update(&mut self, data: &[u8]) -> Result<()> {
        // SAFETY: the state is initialised; `data` is valid for its length.
        let rc = unsafe {
            ls::crypto_hash_sha512_update(&mut *self.0, data.as_ptr(), data.len() as u64)
        };
        check(rc, "crypto_hash_sha512_update")
    }

    pub(crate) fn finalize(mut self) -> Result<[u8; 64]> {
        let mut out = [0u8; 64];
        // SAFETY: the state is initialised; `out` is crypto_hash_sha512_BYTES long.
        let rc = unsafe { ls::crypto_hash_sha512_final(&mut *self.0, out.as_mut_ptr()) };
        check(rc, "crypto_hash_sha512_final")?;
        Ok(out)
    }
}

// ---------------------------------------------------------------------------
// Key derivation: crypto_kdf (BLAKE2b) and HKDF-SHA256.
// ---------------------------------------------------------------------------

/// Derives subkey number `id` of `key` under an 8-byte context into `out`
/// (16 to 64 bytes).
pub(crate) fn kdf_derive(
    _: Sodium,
    out: &mut [u8],
    id: u64,
    ctx: &[u8; 8],
    key: &[u8; 32],
) -> Result<()> {
    within(
        "kdf subkey",
        ls::crypto_kdf_BYTES_MIN as usize,
        ls::crypto_kdf_BYTES_MAX as usize,
        out.len(),
    )?;
    // SAFETY: `out` length is in range; ctx is crypto_kdf_CONTEXTBYTES (8) and
    // key crypto_kdf_KEYBYTES (32) long.
    let rc = unsafe {
        ls::crypto_kdf_derive_from_key(
            out.as_mut_ptr(),
            out.len(),
            id,
            ctx.as_ptr().cast::<c_char>(),
            key.as_ptr(),
        )
    };
    check(rc, "crypto_kdf_derive_from_key")
}

/// HKDF-SHA256 extract: `PRK = HMAC(salt, ikm)`, written into `prk`.
pub(crate) fn hkdf_extract(_: Sodium, salt: &[u8], ikm: &[u8], prk: &mut [u8; 32]) -> Result<()> {
    // SAFETY: `prk` is crypto_kdf_hkdf_sha256_KEYBYTES (32) long; salt and
    // ikm are valid for their lengths (libsodium accepts empty inputs).
    let rc = unsafe {
        ls::crypto_kdf_hkdf_sha256_extract(
            prk.as_mut_ptr(),
            salt.as_ptr(),
            salt.len(),
            ikm.as_ptr(),
            ikm.len(),
        )
    };
    check(rc, "crypto_kdf_hkdf_sha256_extract")
}

/// Largest HKDF-SHA256 output: 255 blocks of 32 bytes.
pub(crate) const HKDF_MAX: usize = ls::crypto_kdf_hkdf_sha256_BYTES_MAX as usize;

/// HKDF-SHA256 expand of `prk` with `info` into `out` (at most 8160 bytes).
pub(crate) fn hkdf_expand(_: Sodium, prk: &[u8; 32], info: &[u8], out: &mut [u8]) -> Result<()> {
    within("hkdf output", 0, HKDF_MAX, out.len())?;
    // SAFETY: `out` length is within BYTES_MAX; info is valid for its length;
    // prk is KEYBYTES (32) long.
    let rc = unsafe {
        ls::crypto_kdf_hkdf_sha256_expand(
            out.as_mut_ptr(),
            out.len(),
            info.as_ptr().cast::<c_char>(),
            info.len(),
            prk.as_ptr(),
        )
    };
    check(rc, "crypto_kdf_hkdf_sha256_expand")
}

// ---------------------------------------------------------------------------
// HMAC-SHA256.
// ---------------------------------------------------------------------------

/// An incremental HMAC-SHA256 state; zeroed on drop (it holds the padded key).
pub(crate) struct HmacSha256State(Box<ls::crypto_auth_hmacsha256_state>);

impl HmacSha256State {
    pub(crate) fn new(_: Sodium, key: &[u8]) -> Result<Self> {
        let empty = ls::crypto_hash_sha256_state {
            state: [0; 8],
            count: 0,
            buf: [0; 64],
        };
        let mut state = Box::new(ls::crypto_auth_hmacsha256_state {
            ictx: empty,
            octx: empty,
        });
        // SAFETY: `state` is a valid state struct; the key is valid for its
        // length (HMAC accepts any key length).
        let rc = unsafe { ls::crypto_auth_hmacsha256_init(&mut *state, key.as_ptr(), key.len()) };
        check(rc, "crypto_auth_hmacsha256_init")?;
        Ok(Self(state))
    }

    pub(crate) fn update(&mut self, data: &[u8]) -> Result<()> {
        // SAFETY: the state is initialised; `data` is valid for its length.
        let rc = unsafe {
            ls::crypto_auth_hmacsha256_update(&mut *self.0, data.as_ptr(), data.len() as u64)
        };
        check(rc, "crypto_auth_hmacsha256_update")
    }

    pub(crate) fn finalize(mut self, out: &mut [u8; 32]) -> Result<()> {
        // SAFETY: the state is initialised; `out` is crypto_auth_hmacsha256_BYTES long.
        let rc = unsafe { ls::crypto_auth_hmacsha256_final(&mut *self.0, out.as_mut_ptr()) };
        check(rc, "crypto_auth_hmacsha256_final")
    }
}

impl Drop for HmacSha256State {
    fn drop(&mut self) {
        zero_state(&mut *self.0);
    }
}

// ---------------------------------------------------------------------------
// Argon2id.
// ---------------------------------------------------------------------------

/// Argon2id (v1.3) of `password` with `salt` into `out`.
pub(crate) fn pwhash_argon2id(
    _: Sodium,
    out: &mut [u8],
    password: &[u8],
    salt: &[u8; 16],
    ops_limit: u64,
    mem_limit: usize,
) -> Result<()> {
    within(
        "argon2id output",
        ls::crypto_pwhash_argon2id_BYTES_MIN as usize,
        1 << 16,
        out.len(),
    )?;
    within("argon2id password", 0, 1 << 16, password.len())?;
    if ops_limit < u64::from(ls::crypto_pwhash_argon2id_OPSLIMIT_MIN)
        || ops_limit > u64::from(ls::crypto_pwhash_argon2id_OPSLIMIT_MAX)
    {
        return Err(CryptoError::Parameter("argon2id ops limit out of range"));
    }
    if mem_limit < ls::crypto_pwhash_argon2id_MEMLIMIT_MIN as usize || mem_limit > (1 << 42) {
        return Err(CryptoError::Parameter("argon2id memory limit out of range"));
    }
    // SAFETY: `out` and `password` are valid for their (checked) lengths; the
    // salt is crypto_pwhash_SALTBYTES (16); the limits are in range.
    let rc = unsafe {
        ls::crypto_pwhash(
            out.as_mut_ptr(),
            out.len() as u64,
            password.as_ptr().cast::<c_char>(),
            password.len() as u64,
            salt.as_ptr(),
            ops_limit,
            mem_limit,
            ls::crypto_pwhash_ALG_ARGON2ID13 as i32,
        )
    };
    if rc != 0 {
        memzero(out);
        return Err(CryptoError::PasswordHash);
    }
    Ok(())
}

// ---------------------------------------------------------------------------
// crypto_secretstream_xchacha20poly1305.
// ---------------------------------------------------------------------------

/// Per-chunk overhead of the secret stream.
pub(crate) const STREAM_ABYTES: usize = ls::crypto_secretstream_xchacha20poly1305_ABYTES as usize;
/// Header length of the secret stream.
pub(crate) const STREAM_HEADER: usize =
    ls::crypto_secretstream_xchacha20poly1305_HEADERBYTES as usize;
/// Tag of an ordinary chunk.
pub(crate) const STREAM_TAG_MESSAGE: u8 =
    ls::crypto_secretstream_xchacha20poly1305_TAG_MESSAGE as u8;
/// Tag of the last chunk.
pub(crate) const STREAM_TAG_FINAL: u8 = ls::crypto_secretstream_xchacha20poly1305_TAG_FINAL as u8;

/// Secret stream state (holds a key; zeroed on drop).
pub(crate) struct StreamState(Box<ls::crypto_secretstream_xchacha20poly1305_state>);

impl StreamState {
    fn empty() -> Box<ls::crypto_secretstream_xchacha20poly1305_state> {
        Box::new(ls::crypto_secretstream_xchacha20poly1305_state {
            k: [0; 32],
            nonce: [0; 12],
            _pad: [0; 8],
        })
    }

    /// Starts an encrypting stream; returns the state and the header to send.
    pub(crate) fn init_push(_: Sodium, key: &[u8; 32]) -> Result<(Self, [u8; STREAM_HEADER])> {
        let mut state = Self::empty();
        let mut header = [0u8; STREAM_HEADER];
        // SAFETY: header is HEADERBYTES long, key KEYBYTES (32); state is valid.
        let rc = unsafe {
            ls::crypto_secretstream_xchacha20poly1305_init_push(
                &mut *state,
                header.as_mut_ptr(),
                key.as_ptr(),
            )
        };
        let state = Self(state);
        check(rc, "crypto_secretstream_xchacha20poly1305_init_push")?;
        Ok((state, header))
    }

    /// Starts a decrypting stream from the sender's header.
    pub(crate) fn init_pull(
        _: Sodium,
        key: &[u8; 32],
        header: &[u8; STREAM_HEADER],
    ) -> Result<Self> {
        let mut state = Self::empty();
        // SAFETY: header is HEADERBYTES long, key KEYBYTES (32); state is valid.
        let rc = unsafe {
            ls::crypto_secretstream_xchacha20poly1305_init_pull(
                &mut *state,
                header.as_ptr(),
                key.as_ptr(),
            )
        };
        let state = Self(state);
        if rc != 0 {
            return Err(CryptoError::Decrypt);
        }
        Ok(state)
    }

    /// Appends the encryption of one chunk with `tag` to `out`.
    pub(crate) fn push(&mut self, msg: &[u8], ad: &[u8], tag: u8, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let ct_len = msg
            .len()
            .checked_add(STREAM_ABYTES)
            .ok_or(CryptoError::Parameter("chunk too long"))?;
        out.resize(start + ct_len, 0);
        let dst = out
            .get_mut(start..)
            .ok_or(CryptoError::Parameter("output buffer"))?;
        let mut written: u64 = 0;
        // SAFETY: `dst` has room for msg.len() + ABYTES; msg and ad are valid
        // for their lengths; the state was initialised by init_push.
        let rc = unsafe {
            ls::crypto_secretstream_xchacha20poly1305_push(
                &mut *self.0,
                dst.as_mut_ptr(),
                &mut written,
                msg.as_ptr(),
                msg.len() as u64,
                ad.as_ptr(),
                ad.len() as u64,
                tag,
            )
        };
        if rc != 0 {
            out.truncate(start);
            return Err(CryptoError::Sodium(
                "crypto_secretstream_xchacha20poly1305_push",
            ));
        }
        Ok(())
    }

    /// Decrypts one chunk into `out` (exactly `ct.len() - 17` bytes) and
    /// returns its tag. On failure `out` is zeroed and the state unchanged.
    pub(crate) fn pull(&mut self, ct: &[u8], ad: &[u8], out: &mut [u8]) -> Result<u8> {
        let pt_len = ct
            .len()
            .checked_sub(STREAM_ABYTES)
            .ok_or(CryptoError::Decrypt)?;
        length("stream plaintext buffer", pt_len, out.len())?;
        let mut written: u64 = 0;
        let mut tag: u8 = 0;
        // SAFETY: `out` has room for ct.len() - ABYTES bytes; ct and ad are
        // valid for their lengths; the state was initialised by init_pull.
        let rc = unsafe {
            ls::crypto_secretstream_xchacha20poly1305_pull(
                &mut *self.0,
                out.as_mut_ptr(),
                &mut written,
                &mut tag,
                ct.as_ptr(),
                ct.len() as u64,
                ad.as_ptr(),
                ad.len() as u64,
            )
        };
        if rc != 0 {
            memzero(out);
            return Err(CryptoError::Decrypt);
        }
        Ok(tag)
    }
}

impl Drop for StreamState {
    fn drop(&mut self) {
        zero_state(&mut *self.0);
    }
}
