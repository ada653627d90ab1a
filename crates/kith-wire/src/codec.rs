//! The envelope of every Kith encoding: one version byte, then postcard.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::WireError;

/// The format version written by this build.
pub const FORMAT_VERSION: u8 = 1;

/// Encodes `value` as `FORMAT_VERSION || postcard(value)`.
pub fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, WireError> {
    postcard::to_extend(value, vec![FORMAT_VERSION]).map_err(|_| WireError::Encode)
}

/// The length of [`encode`]`(value)`, computed without encoding it.
pub fn encoded_len<T: Serialize>(value: &T) -> Result<usize, WireError> {
    postcard::serialize_with_flavor(value, postcard::ser_flavors::Size::default())
        .map(|n| n + 1)
        .map_err(|_| WireError::Encode)
}

/// Decodes bytes made by [`encode`], refusing inputs over `max_len` bytes,
/// unknown versions, malformed data and trailing bytes.
pub fn decode<T: DeserializeOwned>(bytes: &[u8], max_len: usize) -> Result<T, WireError> {
    if bytes.len() > max_len {
        return Err(WireError::TooLong {
            max: max_len,
            actual: bytes.len(),
        });
    }
    let (version, body) = bytes.split_first().ok_or(WireError::Empty)?;
    if *version != FORMAT_VERSION {
        return Err(WireError::UnsupportedVersion(*version));
    }
    let (value, rest) = postcard::take_from_bytes(body).map_err(|_| WireError::Malformed)?;
    if !rest.is_empty() {
        return Err(WireError::TrailingBytes(rest.len()));
    }
    Ok(value)
}
