//! Signed payloads: the encoding of a value plus an Ed25519 signature over
//! `domain || encoding`. The bytes are kept as received, so hashes and
//! signatures cover exactly what was sent.

use std::marker::PhantomData;

use kith_crypto::Domain;
use kith_crypto::sign::{Signature, SigningKey, VerifyingKey};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::{DeviceId, Sig, WireError, decode, encode};

/// A value of type `T`, encoded, with a detached signature.
#[derive(Serialize, Deserialize)]
#[serde(bound = "")]
pub struct Signed<T> {
    #[serde(with = "serde_bytes")]
    payload: Vec<u8>,
    signature: Sig,
    #[serde(skip)]
    _type: PhantomData<fn() -> T>,
}

impl<T> Clone for Signed<T> {
    fn clone(&self) -> Self {
        Self {
            payload: self.payload.clone(),
            signature: self.signature,
            _type: PhantomData,
        }
    }
}

impl<T> PartialEq for Signed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.payload == other.payload && self.signature == other.signature
    }
}

impl<T> Eq for Signed<T> {}

impl<T> std::fmt::Debug for Signed<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signed")
            .field("payload_len", &self.payload.len())
            .field("signature", &self.signature)
            .finish()
    }
}

impl<T: Serialize + DeserializeOwned> Signed<T> {
    /// Encodes `value` and signs it under `domain`.
    pub fn sign(domain: Domain, key: &SigningKey, value: &T) -> Result<Self, WireError> {
        let payload = encode(value)?;
        let signature = key.sign(domain, &payload).map_err(WireError::Crypto)?;
        Ok(Self {
            payload,
            signature: Sig(signature.to_bytes()),
            _type: PhantomData,
        })
    }

    /// Decodes the payload without checking the signature (to learn who
    /// must have signed it). Never trust the result before [`Self::verify`].
    pub fn peek(&self, max_len: usize) -> Result<T, WireError> {
        decode(&self.payload, max_len)
    }

    /// Checks the signature of `signer` under `domain`. Invalid keys
    /// (small-order, non-canonical) and bad signatures are errors.
    pub fn verify(&self, domain: Domain, signer: &DeviceId) -> Result<(), WireError> {
        let key = VerifyingKey::from_bytes(signer.as_bytes()).map_err(WireError::Crypto)?;
        key.verify(
            domain,
            &self.payload,
            &Signature::from_bytes(self.signature.0),
        )
        .map_err(WireError::Crypto)
    }

    /// Checks the signature with an already validated key (callers that
    /// verify many values of one signer skip the key validation).
    pub fn verify_with(&self, domain: Domain, key: &VerifyingKey) -> Result<(), WireError> {
        key.verify(
            domain,
            &self.payload,
            &Signature::from_bytes(self.signature.0),
        )
        .map_err(WireError::Crypto)
    }

    /// The encoded payload, as signed.
    pub fn payload(&self) -> &[u8] {
        &self.payload
    }

    /// The signature.
    pub fn signature(&self) -> &Sig {
        &self.signature
    }

    /// Rebuilds a signed value from its parts (no check).
    pub fn from_parts(payload: Vec<u8>, signature: Sig) -> Self {
        Self {
            payload,
            signature,
            _type: PhantomData,
        }
    }
}
