//! X3DH (Signal's Extended Triple Diffie-Hellman) between two devices.
//!
//! ```text
//! DH1 = DH(IK_A, SPK_B)   DH2 = DH(EK_A, IK_B)   DH3 = DH(EK_A, SPK_B)
//! DH4 = DH(EK_A, OPK_B)   (only when a one-time prekey was handed out)
//! SK  = HKDF-SHA256(salt = 0^32, ikm = 0xFF^32 || DH1 || DH2 || DH3 [|| DH4],
//!                   info = "kith-x3dh-v1")
//! AD  = "kith-session-ad-v1" domain || encode((1, A, B))
//!       with A, B = (account, device, identity key) of initiator and responder
//! ```

use kith_crypto::SecretBytes;
use kith_crypto::dh::{DhPublic, DhSecret};
use kith_crypto::kdf::hkdf_sha256;
use kith_wire::{AccountId, DeviceId, DhKey, domain, encode};

use crate::error::Result;

/// Protocol version bound into the associated data.
pub const PROTOCOL_VERSION: u8 = 1;
const INFO: &[u8] = b"kith-x3dh-v1";

/// One side of a session, as bound into the associated data.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Party {
    /// The account.
    pub account: AccountId,
    /// The device.
    pub device: DeviceId,
    /// The device identity key.
    pub identity_key: DhKey,
}

/// The associated data of a session: both parties, initiator first.
pub fn associated_data(initiator: &Party, responder: &Party) -> Result<Vec<u8>> {
    let body = encode(&(PROTOCOL_VERSION, initiator, responder))?;
    Ok(domain::SESSION_AD.prefixed(&body))
}

fn dh(secret: &DhSecret, public: &DhKey) -> Result<SecretBytes<32>> {
    let shared = secret.diffie_hellman(&DhPublic::from_bytes(public.0))?;
    Ok(SecretBytes::from_slice(shared.expose())?)
}

fn derive(parts: &[SecretBytes<32>]) -> Result<SecretBytes<32>> {
    let mut ikm = kith_crypto::SecretVec::zeroed(32 * (parts.len() + 1));
    let buf = ikm.expose_mut();
    for (i, chunk) in buf.chunks_exact_mut(32).enumerate() {
        match i.checked_sub(1).and_then(|j| parts.get(j)) {
            None => chunk.fill(0xff),
            Some(part) => chunk.copy_from_slice(part.expose()),
        }
    }
    Ok(hkdf_sha256::<32>(&[0u8; 32], ikm.expose(), INFO)?)
}

/// The initiator's side: returns the shared key.
pub fn initiate(
    identity: &DhSecret,
    ephemeral: &DhSecret,
    their_identity: &DhKey,
    their_prekey: &DhKey,
    their_one_time: Option<&DhKey>,
) -> Result<SecretBytes<32>> {
    let mut parts = vec![
        dh(identity, their_prekey)?,
        dh(ephemeral, their_identity)?,
        dh(ephemeral, their_prekey)?,
    ];
    if let Some(opk) = their_one_time {
        parts.push(dh(ephemeral, opk)?);
    }
    derive(&parts)
}

/// The responder's side: returns the same shared key.
pub fn respond(
    identity: &DhSecret,
    prekey: &DhSecret,
    one_time: Option<&DhSecret>,
    their_identity: &DhKey,
    their_base_key: &DhKey,
) -> Result<SecretBytes<32>> {
    let mut parts = vec![
        dh(prekey, their_identity)?,
        dh(identity, their_base_key)?,
        dh(prekey, their_base_key)?,
    ];
    if let Some(opk) = one_time {
        parts.push(dh(opk, their_base_key)?);
    }
    derive(&parts)
}
