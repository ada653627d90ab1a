//! Public rooms' bodies: one ciphertext per message that every holder of
//! the room's link key opens, sealed with XChaCha20-Poly1305 under a key
//! derived from the link key and bound to the room and the author device.
//! Anyone with the link reads the room, past and future: there is no
//! forward secrecy and no key rotation (`docs/groups.md` §8,
//! `docs/threat-model.md`).

use kith_crypto::SecretBytes;
use kith_crypto::aead::AeadKey;
use kith_crypto::kdf::{KdfContext, derive_subkey};
use kith_wire::{ConversationId, DeviceId, RoomKey, RoomMessage};

use crate::error::Result;

/// The derivation context of a room's body key.
const BODY_KEY: KdfContext = KdfContext::new(b"kithroom");
/// What a room body's associated data starts with.
const AD_LABEL: &[u8] = b"kith-room-body-v1";

/// The body key of a room: subkey 1 of its link key.
fn body_key(key: &RoomKey) -> Result<AeadKey> {
    let root = SecretBytes::<32>::from_slice(&key.0)?;
    Ok(AeadKey::from_secret(derive_subkey::<32>(
        &root, BODY_KEY, 1,
    )?))
}

fn body_ad(room: &ConversationId, author: &DeviceId) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_LABEL.len() + 64);
    ad.extend_from_slice(AD_LABEL);
    ad.extend_from_slice(room.as_bytes());
    ad.extend_from_slice(author.as_bytes());
    ad
}

/// Seals a body `author` wrote in `room`.
pub fn room_seal(
    key: &RoomKey,
    room: &ConversationId,
    author: &DeviceId,
    plaintext: &[u8],
) -> Result<RoomMessage> {
    let ciphertext = body_key(key)?.seal(&body_ad(room, author), plaintext)?;
    Ok(RoomMessage { ciphertext })
}

/// Opens a body sealed by [`room_seal`] for the same room and author;
/// any change to it, to the room, the author or the key fails.
pub fn room_open(
    key: &RoomKey,
    room: &ConversationId,
    author: &DeviceId,
    message: &RoomMessage,
) -> Result<kith_crypto::SecretVec> {
    Ok(body_key(key)?.open(&body_ad(room, author), &message.ciphertext)?)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn a_room_body_opens_only_for_its_key_room_and_author() {
        let key = RoomKey([3; 32]);
        let (room, author) = (ConversationId([1; 32]), DeviceId([2; 32]));
        let sealed = room_seal(&key, &room, &author, b"hello").unwrap();
        let opened = room_open(&key, &room, &author, &sealed).unwrap();
        assert!(kith_crypto::ct_eq(opened.expose(), b"hello"));
        assert!(room_open(&RoomKey([4; 32]), &room, &author, &sealed).is_err());
        assert!(room_open(&key, &ConversationId([9; 32]), &author, &sealed).is_err());
        assert!(room_open(&key, &room, &DeviceId([9; 32]), &sealed).is_err());
        let mut bent = sealed.clone();
        if let Some(last) = bent.ciphertext.last_mut() {
            *last ^= 1;
        }
        assert!(room_open(&key, &room, &author, &bent).is_err());
        // A fresh nonce every time: the same body never seals the same.
        assert_ne!(room_seal(&key, &room, &author, b"hello").unwrap(), sealed);
    }
}
