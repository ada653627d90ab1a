//! The anchor of benchmark B0: libsodium called directly in a tight loop, with
//! preallocated buffers and no checks, so `kith-bench` can report each safe
//! wrapper as a ratio of the raw primitive measured in the same run.
//!
//! Built only with the `bench-anchors` feature. Each function runs its call
//! `iters` times and returns a value derived from the output so the loop
//! cannot be optimised away.

use std::hint::black_box;

use libsodium_sys as ls;

use super::init;
use crate::error::Result;

/// The raw operations benchmark B0 compares the wrappers against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum RawOp {
    /// `crypto_sign_detached` over a message.
    Sign,
    /// `crypto_sign_verify_detached` over a message.
    Verify,
    /// `crypto_scalarmult` (X25519).
    X25519,
    /// `crypto_aead_xchacha20poly1305_ietf_encrypt` with a fixed nonce.
    AeadEncrypt,
    /// `randombytes_buf` for a 24-byte nonce, then the AEAD encryption: the
    /// work `AeadKey::seal` does.
    AeadSeal,
    /// `crypto_aead_xchacha20poly1305_ietf_decrypt`.
    AeadDecrypt,
    /// Unkeyed `crypto_generichash`, 32-byte output.
    Blake2b,
    /// `crypto_auth_hmacsha256` init/update/final with a 32-byte key.
    HmacSha256,
    /// HKDF-SHA256 extract and a 32-byte expand.
    HkdfSha256,
    /// `crypto_kdf_derive_from_key`, 32-byte subkey.
    KdfSubkey,
    /// One `crypto_secretstream_xchacha20poly1305_push` of a message chunk.
    StreamPush,
    /// `crypto_pwhash` (Argon2id13), 32-byte output, with the given limits.
    Argon2id {
        /// Passes over memory.
        ops: u64,
        /// Memory in bytes.
        mem: usize,
    },
}

/// Runs `op` over `msg` directly against libsodium `iters` times.
pub fn run(op: RawOp, msg: &[u8], iters: u64) -> Result<u8> {
    init()?;
    let key = [7u8; 32];
    let nonce = [9u8; 24];
    let mlen = msg.len() as u64;
    let mut acc = 0u8;
    // SAFETY (for every block below): all buffers are locals or `msg` with the
    // fixed sizes libsodium documents for the call; pointers are valid for the
    // lengths passed; libsodium was initialised by `init()` above.
    match op {
        RawOp::Sign | RawOp::Verify => {
            let mut pk = [0u8; 32];
            let mut sk = [0u8; 64];
            let mut sig = [0u8; 64];
            unsafe {
                ls::crypto_sign_seed_keypair(pk.as_mut_ptr(), sk.as_mut_ptr(), key.as_ptr());
                ls::crypto_sign_detached(
                    sig.as_mut_ptr(),
                    std::ptr::null_mut(),
                    msg.as_ptr(),
                    mlen,
                    sk.as_ptr(),
                );
            }
            for _ in 0..iters {
                let rc = unsafe {
                    if op == RawOp::Sign {
                        ls::crypto_sign_detached(
                            sig.as_mut_ptr(),
                            std::ptr::null_mut(),
                            black_box(msg).as_ptr(),
                            mlen,
                            sk.as_ptr(),
                        )
                    } else {
                        ls::crypto_sign_verify_detached(
                            sig.as_ptr(),
                            black_box(msg).as_ptr(),
                            mlen,
                            pk.as_ptr(),
                        )
                    }
                };
                acc ^= rc as u8 ^ sig[0];
            }
        }
        RawOp::X25519 => {
            let mut pk = [0u8; 32];
            let mut out = [0u8; 32];
            unsafe { ls::crypto_scalarmult_base(pk.as_mut_ptr(), key.as_ptr()) };
            for _ in 0..iters {
                unsafe {
                    ls::crypto_scalarmult(out.as_mut_ptr(), black_box(&key).as_ptr(), pk.as_ptr())
                };
                acc ^= out[0];
            }
        }
        RawOp::AeadSeal => {
            let mut ct = vec![0u8; msg.len() + 16];
            let mut fresh = [0u8; 24];
            for _ in 0..iters {
                unsafe {
                    ls::randombytes_buf(fresh.as_mut_ptr().cast(), fresh.len());
                    ls::crypto_aead_xchacha20poly1305_ietf_encrypt(
                        ct.as_mut_ptr(),
                        std::ptr::null_mut(),
                        black_box(msg).as_ptr(),
                        mlen,
                        std::ptr::null(),
                        0,
                        std::ptr::null(),
                        fresh.as_ptr(),
                        key.as_ptr(),
                    );
                }
                acc ^= ct.first().copied().unwrap_or(0);
            }
        }
        RawOp::AeadEncrypt | RawOp::AeadDecrypt => {
            let mut ct = vec![0u8; msg.len() + 16];
            let mut pt = vec![0u8; msg.len()];
            unsafe {
                ls::crypto_aead_xchacha20poly1305_ietf_encrypt(
                    ct.as_mut_ptr(),
                    std::ptr::null_mut(),
                    msg.as_ptr(),
                    mlen,
                    std::ptr::null(),
                    0,
                    std::ptr::null(),
                    nonce.as_ptr(),
                    key.as_ptr(),
                );
            }
            for _ in 0..iters {
                unsafe {
                    if op == RawOp::AeadEncrypt {
                        ls::crypto_aead_xchacha20poly1305_ietf_encrypt(
                            ct.as_mut_ptr(),
                            std::ptr::null_mut(),
                            black_box(msg).as_ptr(),
                            mlen,
                            std::ptr::null(),
                            0,
                            std::ptr::null(),
                            nonce.as_ptr(),
                            key.as_ptr(),
                        );
                    } else {
                        ls::crypto_aead_xchacha20poly1305_ietf_decrypt(
                            pt.as_mut_ptr(),
                            std::ptr::null_mut(),
                            std::ptr::null_mut(),
                            black_box(&ct).as_ptr(),
                            ct.len() as u64,
                            std::ptr::null(),
                            0,
                            nonce.as_ptr(),
                            key.as_ptr(),
                        );
                    }
                }
                acc ^= ct.first().copied().unwrap_or(0) ^ pt.first().copied().unwrap_or(0);
            }
        }
        RawOp::Blake2b => {
            let mut out = [0u8; 32];
            for _ in 0..iters {
                unsafe {
                    ls::crypto_generichash(
                        out.as_mut_ptr(),
                        32,
                        black_box(msg).as_ptr(),
                        mlen,
                        std::ptr::null(),
                        0,
                    )
                };
                acc ^= out[0];
            }
        }
        RawOp::HmacSha256 => {
            let mut out = [0u8; 32];
            for _ in 0..iters {
                let mut st = std::mem::MaybeUninit::<ls::crypto_auth_hmacsha256_state>::uninit();
                unsafe {
                    ls::crypto_auth_hmacsha256_init(st.as_mut_ptr(), key.as_ptr(), key.len());
                    ls::crypto_auth_hmacsha256_update(
                        st.as_mut_ptr(),
                        black_box(msg).as_ptr(),
                        mlen,
                    );
                    ls::crypto_auth_hmacsha256_final(st.as_mut_ptr(), out.as_mut_ptr());
                }
                acc ^= out[0];
            }
        }
        RawOp::HkdfSha256 => {
            let mut prk = [0u8; 32];
            let mut out = [0u8; 32];
            for _ in 0..iters {
                unsafe {
                    ls::crypto_kdf_hkdf_sha256_extract(
                        prk.as_mut_ptr(),
                        nonce.as_ptr(),
                        nonce.len(),
                        black_box(msg).as_ptr(),
                        msg.len(),
                    );
                    ls::crypto_kdf_hkdf_sha256_expand(
                        out.as_mut_ptr(),
                        32,
                        c"kith".as_ptr(),
                        4,
                        prk.as_ptr(),
                    );
                }
                acc ^= out[0];
            }
        }
        RawOp::KdfSubkey => {
            let mut out = [0u8; 32];
            for i in 0..iters {
                unsafe {
                    ls::crypto_kdf_derive_from_key(
                        out.as_mut_ptr(),
                        32,
                        black_box(i),
                        c"kithbnch".as_ptr(),
                        key.as_ptr(),
                    )
                };
                acc ^= out[0];
            }
        }
        RawOp::StreamPush => {
            let mut st =
                std::mem::MaybeUninit::<ls::crypto_secretstream_xchacha20poly1305_state>::uninit();
            let mut header = [0u8; 24];
            let mut ct = vec![0u8; msg.len() + 17];
            unsafe {
                ls::crypto_secretstream_xchacha20poly1305_init_push(
                    st.as_mut_ptr(),
                    header.as_mut_ptr(),
                    key.as_ptr(),
                )
            };
            for _ in 0..iters {
                unsafe {
                    ls::crypto_secretstream_xchacha20poly1305_push(
                        st.as_mut_ptr(),
                        ct.as_mut_ptr(),
                        std::ptr::null_mut(),
                        black_box(msg).as_ptr(),
                        mlen,
                        std::ptr::null(),
                        0,
                        0,
                    )
                };
                acc ^= ct.first().copied().unwrap_or(0);
            }
        }
        RawOp::Argon2id { ops, mem } => {
            let mut out = [0u8; 32];
            let salt = [1u8; 16];
            for _ in 0..iters {
                unsafe {
                    ls::crypto_pwhash(
                        out.as_mut_ptr(),
                        32,
                        black_box(msg).as_ptr().cast(),
                        mlen,
                        salt.as_ptr(),
                        ops,
                        mem,
                        ls::crypto_pwhash_ALG_ARGON2ID13 as i32,
                    )
                };
                acc ^= out[0];
            }
        }
    }
    Ok(acc)
}
