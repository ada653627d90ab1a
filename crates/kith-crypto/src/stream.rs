//! Encrypted streams for files (`crypto_secretstream_xchacha20poly1305`).
//!
//! A stream is a 24-byte header followed by chunks, each 17 bytes longer than
//! its plaintext. Chunks cannot be reordered, dropped or duplicated without
//! detection, and the last one carries the `FINAL` tag, so a truncated stream
//! is detected by [`StreamDecryptor::finish`].

use std::fmt;

use crate::error::{CryptoError, Result};
use crate::ffi;
use crate::secret::{SecretBytes, SecretVec};

/// Length of the stream header.
pub const HEADER_LEN: usize = ffi::STREAM_HEADER;
/// Bytes each chunk adds to its plaintext.
pub const CHUNK_OVERHEAD: usize = ffi::STREAM_ABYTES;

/// Encrypts a stream chunk by chunk.
pub struct StreamEncryptor {
    state: ffi::StreamState,
    finished: bool,
}

impl StreamEncryptor {
    /// Starts a stream under `key`; returns the encryptor and the header that
    /// must precede the chunks.
    pub fn new(key: &SecretBytes<32>) -> Result<(Self, [u8; HEADER_LEN])> {
        let sodium = ffi::init()?;
        let (state, header) = ffi::StreamState::init_push(sodium, key.expose())?;
        Ok((
            Self {
                state,
                finished: false,
            },
            header,
        ))
    }

    /// Encrypts one chunk that is not the last.
    pub fn push(&mut self, chunk: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
        self.push_tagged(chunk, ad, ffi::STREAM_TAG_MESSAGE)
    }

    /// Encrypts the last chunk (it may be empty) and ends the stream.
    pub fn finish(mut self, chunk: &[u8], ad: &[u8]) -> Result<Vec<u8>> {
        let out = self.push_tagged(chunk, ad, ffi::STREAM_TAG_FINAL)?;
        self.finished = true;
        Ok(out)
    }

    fn push_tagged(&mut self, chunk: &[u8], ad: &[u8], tag: u8) -> Result<Vec<u8>> {
        if self.finished {
            return Err(CryptoError::StreamAfterFinal);
        }
        let mut out = Vec::with_capacity(chunk.len() + CHUNK_OVERHEAD);
        self.state.push(chunk, ad, tag, &mut out)?;
        Ok(out)
    }
}

impl fmt::Debug for StreamEncryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamEncryptor(redacted)")
    }
}

/// Decrypts a stream chunk by chunk.
pub struct StreamDecryptor {
    state: ffi::StreamState,
    finished: bool,
}

impl StreamDecryptor {
    /// Starts decrypting a stream from its header.
    pub fn new(key: &SecretBytes<32>, header: &[u8; HEADER_LEN]) -> Result<Self> {
        let sodium = ffi::init()?;
        let state = ffi::StreamState::init_pull(sodium, key.expose(), header)?;
        Ok(Self {
            state,
            finished: false,
        })
    }

    /// Decrypts the next chunk. Returns the plaintext and whether it was the
    /// final chunk. A tampered, reordered or foreign chunk fails and leaves
    /// the decryptor unchanged; a chunk after the final one fails.
    pub fn pull(&mut self, chunk: &[u8], ad: &[u8]) -> Result<(SecretVec, bool)> {
        if self.finished {
            return Err(CryptoError::StreamAfterFinal);
        }
        let len = chunk
            .len()
            .checked_sub(CHUNK_OVERHEAD)
            .ok_or(CryptoError::Decrypt)?;
        let mut out = SecretVec::zeroed(len);
        let tag = self.state.pull(chunk, ad, out.expose_mut())?;
        self.finished = tag == ffi::STREAM_TAG_FINAL;
        Ok((out, self.finished))
    }

    /// Ends decryption: an error unless the final chunk was seen.
    pub fn finish(self) -> Result<()> {
        if self.finished {
            Ok(())
        } else {
            Err(CryptoError::StreamTruncated)
        }
    }
}

impl fmt::Debug for StreamDecryptor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StreamDecryptor(redacted)")
    }
}
