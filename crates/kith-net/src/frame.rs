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
    let mut bytes = Vec::new();
    read_body(recv, len, &mut bytes).await.map_err(stream)?;
    decode(&bytes, max).map(Some).map_err(stream)
}

/// How much a frame's buffer grows at a time.
const READ_CHUNK: usize = 64 << 10;

/// Reads exactly `len` bytes into `buf`, growing it only as the bytes
/// arrive: a peer that announces a large frame and sends little makes
/// this side hold little (an unauthenticated `kith/link/1` dialer may
/// announce 4 MiB).
async fn read_body(
    recv: &mut (impl tokio::io::AsyncRead + Unpin),
    len: usize,
    buf: &mut Vec<u8>,
) -> std::io::Result<()> {
    use tokio::io::AsyncReadExt;
    while buf.len() < len {
        let want = (len - buf.len()).min(READ_CHUNK);
        let start = buf.len();
        buf.resize(start + want, 0);
        let filled = recv
            .read_exact(buf.get_mut(start..).unwrap_or_default())
            .await;
        if let Err(e) = filled {
            buf.truncate(start);
            return Err(e);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_frame_buffer_grows_only_with_what_arrives() {
        // 4 MiB announced, 10 bytes sent, then the stream ends.
        let mut sent: &[u8] = &[7u8; 10];
        let mut buf = Vec::new();
        assert!(read_body(&mut sent, 4 << 20, &mut buf).await.is_err());
        assert!(
            buf.capacity() <= 2 * READ_CHUNK,
            "{} bytes held for a peer that sent 10",
            buf.capacity()
        );
        let body: Vec<u8> = (0..200_000u32).map(|i| i as u8).collect();
        let mut whole: &[u8] = &body;
        let mut buf = Vec::new();
        read_body(&mut whole, body.len(), &mut buf).await.unwrap();
        assert_eq!(buf, body);
    }
}
