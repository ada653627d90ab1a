//! Length-prefixed frames on a QUIC stream: `u32` big-endian length, then
//! `kith_wire::encode(value)`.

use iroh::endpoint::{RecvStream, SendStream};
use kith_wire::{decode, encode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::{NetError, Result};

fn stream<E: std::fmt::Display>(e: E) -> NetError {
    NetError::Stream(e.to_string())
}

/// Writes one frame.
pub async fn write_frame<T: Serialize>(send: &mut SendStream, value: &T) -> Result<()> {
    let bytes = encode(value).map_err(stream)?;
    let len = u32::try_from(bytes.len()).map_err(|_| NetError::Stream("frame too large".into()))?;
    send.write_all(&len.to_be_bytes()).await.map_err(stream)?;
    send.write_all(&bytes).await.map_err(stream)
}

/// Reads one frame of at most `max` bytes; `None` at the end of the stream.
/// Oversized or malformed frames are errors (the caller closes the
/// connection).
pub async fn read_frame<T: DeserializeOwned>(
    recv: &mut RecvStream,
    max: usize,
) -> Result<Option<T>> {
    let mut len = [0u8; 4];
    match recv.read_exact(&mut len).await {
        Ok(()) => {}
        Err(iroh::endpoint::ReadExactError::FinishedEarly(0)) => return Ok(None),
        Err(e) => return Err(stream(e)),
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > max {
        return Err(NetError::Stream("frame too large".into()));
    }
    let mut bytes = vec![0u8; len];
    recv.read_exact(&mut bytes).await.map_err(stream)?;
    decode(&bytes, max).map(Some).map_err(stream)
}
