//! XChaCha20-Poly1305-IETF authenticated encryption with random nonces.
//!
//! [`AeadKey::seal`] output is `nonce (24) || ciphertext || tag (16)`: the
//! 192-bit nonce is drawn at random for every message, which is safe for any
//! number of messages under one key.

use crate::error::{CryptoError, Result};
use crate::ffi;
use crate::secret::{SecretBytes, SecretVec};

/// Length of a key.
pub const KEY_LEN: usize = 32;
/// Length of a nonce.
pub const NONCE_LEN: usize = 24;
/// Length of the authentication tag.
pub const TAG_LEN: usize = ffi::AEAD_TAG;
/// Bytes [`AeadKey::seal`] adds to a plaintext.
pub const SEAL_OVERHEAD: usize = NONCE_LEN + TAG_LEN;

/// A 256-bit AEAD key.
pub struct AeadKey(SecretBytes<KEY_LEN>);

secret_key!(AeadKey);

impl AeadKey {
    /// Encrypts `plaintext` bound to `ad` under a fresh random nonce.
    pub fn seal(&self, ad: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let sodium = ffi::init()?;
        let mut nonce = [0u8; NONCE_LEN];
        ffi::random_fill(sodium, &mut nonce);
        let mut out = Vec::with_capacity(plaintext.len() + SEAL_OVERHEAD);
        out.extend_from_slice(&nonce);
        ffi::aead_encrypt(sodium, self.0.expose(), &nonce, ad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Decrypts the output of [`AeadKey::seal`]; any change to it, to `ad` or
    /// to the key gives [`CryptoError::Decrypt`].
    pub fn open(&self, ad: &[u8], sealed: &[u8]) -> Result<SecretVec> {
        let (nonce, ct) = sealed
            .split_first_chunk::<NONCE_LEN>()
            .ok_or(CryptoError::Decrypt)?;
        self.decrypt_with_nonce(nonce, ad, ct)
    }

    /// Encrypts with a caller-chosen nonce, returning `ciphertext || tag`.
    ///
    /// A nonce must never repeat under one key. Only for known-answer tests
    /// and constructions that derive a unique nonce; prefer [`AeadKey::seal`].
    pub fn encrypt_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        plaintext: &[u8],
    ) -> Result<Vec<u8>> {
        let sodium = ffi::init()?;
        let mut out = Vec::with_capacity(plaintext.len() + TAG_LEN);
        ffi::aead_encrypt(sodium, self.0.expose(), nonce, ad, plaintext, &mut out)?;
        Ok(out)
    }

    /// Decrypts `ciphertext || tag` under an explicit nonce.
    pub fn decrypt_with_nonce(
        &self,
        nonce: &[u8; NONCE_LEN],
        ad: &[u8],
        ciphertext: &[u8],
    ) -> Result<SecretVec> {
        let sodium = ffi::init()?;
        let len = ciphertext
            .len()
            .checked_sub(TAG_LEN)
            .ok_or(CryptoError::Decrypt)?;
        let mut out = Vec::with_capacity(len);
        ffi::aead_decrypt(sodium, self.0.expose(), nonce, ad, ciphertext, &mut out)?;
        Ok(SecretVec::from_vec(out))
    }
}
