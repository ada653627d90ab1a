//! Device keys: made on the device, never exported from it.
//!
//! Per device: an Ed25519 device signing key (DSK, whose public half is the
//! [`DeviceId`]), an X25519 device identity key (DIK) signed by the DSK, a
//! rotating X25519 signed prekey (SPK), and a separate 32-byte transport seed
//! for the iroh endpoint.

use kith_crypto::dh::DhSecret;
use kith_crypto::sign::SigningKey;
use kith_crypto::{Domain, SecretBytes};
use kith_wire::{
    AccountId, DeviceId, DeviceOp, DeviceRecord, DhKey, Sig, Signed, SignedPrekey, TransportId,
    domain, encode, limits,
};

use crate::error::Result;

/// Most signed prekeys held at once (the current one and older ones still
/// in their grace period).
const PREKEYS_KEPT: usize = 3;

/// A signed prekey is replaced after this long (7 days), and at once after
/// a revocation on the account.
pub const PREKEY_ROTATION_MS: u64 = 7 * 24 * 3600 * 1000;

/// How long a replaced prekey's secret stays (7 days), so that senders who
/// have not seen the new one yet still get through; then it is erased, and
/// with it the means to open PreKey envelopes sent against it (which member
/// devices keep and serve), even for whoever holds this device's keys.
pub const PREKEY_GRACE_MS: u64 = 7 * 24 * 3600 * 1000;

/// What [`DeviceKeys::maintain_prekeys`] did.
#[derive(Debug, Default)]
pub struct PrekeyChange {
    /// The new signed prekey, to publish in the device log.
    pub rotated: Option<SignedPrekey>,
    /// How many replaced prekeys' secrets were erased.
    pub erased: usize,
}

/// A signed prekey with its secret half.
pub struct PrekeySecret {
    secret: DhSecret,
    public: SignedPrekey,
}

impl PrekeySecret {
    /// The published half.
    pub fn public(&self) -> &SignedPrekey {
        &self.public
    }

    /// The secret half.
    pub fn secret(&self) -> &DhSecret {
        &self.secret
    }
}

impl std::fmt::Debug for PrekeySecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PrekeySecret")
            .field("id", &self.public.id)
            .finish_non_exhaustive()
    }
}

/// All keys of this device.
pub struct DeviceKeys {
    signing: SigningKey,
    identity: DhSecret,
    prekeys: Vec<PrekeySecret>,
    transport_seed: SecretBytes<32>,
    transport: TransportId,
    name: String,
}

impl DeviceKeys {
    /// Fresh keys for a device called `name`.
    pub fn generate(name: &str, now_ms: u64) -> Result<Self> {
        limits::check_name(name)?;
        let signing = SigningKey::generate()?;
        let transport_seed = SecretBytes::random()?;
        let transport = transport_id(&transport_seed)?;
        let mut keys = Self {
            signing,
            identity: DhSecret::generate()?,
            prekeys: Vec::new(),
            transport_seed,
            transport,
            name: name.to_owned(),
        };
        keys.rotate_prekey(now_ms)?;
        Ok(keys)
    }

    /// This device's id (the DSK public key).
    pub fn device_id(&self) -> DeviceId {
        DeviceId(self.signing.verifying_key().to_bytes())
    }

    /// The device signing key.
    pub fn signing_key(&self) -> &SigningKey {
        &self.signing
    }

    /// The device identity key (X25519).
    pub fn identity(&self) -> &DhSecret {
        &self.identity
    }

    /// The seed of the iroh transport key.
    pub fn transport_seed(&self) -> &SecretBytes<32> {
        &self.transport_seed
    }

    /// The iroh endpoint id.
    pub fn transport_id(&self) -> TransportId {
        self.transport
    }

    /// The transport key's proof that it belongs to this device, for the
    /// device log (`DeviceOp::ProveTransport`).
    pub fn transport_proof(&self) -> Result<Sig> {
        let key = SigningKey::from_seed(self.transport_seed.duplicate())?;
        let signed = encode(&self.device_id())?;
        Ok(Sig(key
            .sign(domain::TRANSPORT_BINDING, &signed)?
            .to_bytes()))
    }

    /// The device's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The public record published in the device log, with the DSK's
    /// signature over the identity and transport keys.
    pub fn record(&self) -> Result<DeviceRecord> {
        let device = self.device_id();
        let identity_key = DhKey(self.identity.public_key()?.to_bytes());
        let signed = encode(&(device, identity_key, self.transport))?;
        let keys_signature = Sig(self.signing.sign(domain::DEVICE_KEYS, &signed)?.to_bytes());
        Ok(DeviceRecord {
            device,
            identity_key,
            transport: self.transport,
            name: self.name.clone(),
            keys_signature,
        })
    }

    /// The newest signed prekey.
    pub fn current_prekey(&self) -> Option<&PrekeySecret> {
        self.prekeys.last()
    }

    /// A prekey by id (the current one or a recently rotated one).
    pub fn prekey(&self, id: u32) -> Option<&PrekeySecret> {
        self.prekeys.iter().find(|p| p.public.id == id)
    }

    /// Ids of the signed prekeys still held (newest last).
    pub fn prekey_ids(&self) -> Vec<u32> {
        self.prekeys.iter().map(|p| p.public.id).collect()
    }

    /// Rotates the signed prekey when it is due ([`PREKEY_ROTATION_MS`], or
    /// at once with `revoked`: a device of the account was revoked), and
    /// erases replaced prekeys whose grace ([`PREKEY_GRACE_MS`]) has run
    /// out. The caller stores the keys (before publishing a new prekey).
    pub fn maintain_prekeys(&mut self, now_ms: u64, revoked: bool) -> Result<PrekeyChange> {
        let mut change = PrekeyChange::default();
        let due = self.current_prekey().is_none_or(|p| {
            revoked || p.public.created_at_ms.saturating_add(PREKEY_ROTATION_MS) <= now_ms
        });
        if due {
            change.rotated = Some(self.rotate_prekey(now_ms)?);
        }
        // A prekey's grace starts when its successor was made.
        let successors: Vec<u64> = self
            .prekeys
            .iter()
            .skip(1)
            .map(|p| p.public.created_at_ms)
            .collect();
        let before = self.prekeys.len();
        let mut index = 0;
        self.prekeys.retain(|_| {
            let keep = successors
                .get(index)
                .is_none_or(|made| made.saturating_add(PREKEY_GRACE_MS) > now_ms);
            index += 1;
            keep
        });
        change.erased = before - self.prekeys.len();
        Ok(change)
    }

    /// Makes a new signed prekey, keeping the last few old ones.
    pub fn rotate_prekey(&mut self, now_ms: u64) -> Result<SignedPrekey> {
        let id = self
            .prekeys
            .last()
            .map_or(1, |p| p.public.id.wrapping_add(1));
        let secret = DhSecret::generate()?;
        let key = DhKey(secret.public_key()?.to_bytes());
        let device = self.device_id();
        let signed = encode(&(device, id, key, now_ms))?;
        let signature = Sig(self.signing.sign(domain::PREKEY, &signed)?.to_bytes());
        let public = SignedPrekey {
            id,
            key,
            created_at_ms: now_ms,
            signature,
        };
        self.prekeys.push(PrekeySecret {
            secret,
            public: public.clone(),
        });
        if self.prekeys.len() > PREKEYS_KEPT {
            self.prekeys.remove(0);
        }
        Ok(public)
    }

    /// This (new) device's consent to join `account` with `record`.
    pub fn countersign_join(&self, account: &AccountId, record: &DeviceRecord) -> Result<Sig> {
        let signed = encode(&(account, record))?;
        Ok(Sig(self
            .signing
            .sign(domain::DEVICE_JOIN, &signed)?
            .to_bytes()))
    }

    /// The device-log operation that adds this (new) device to `account`:
    /// its record, its current prekey and its countersignature. An active
    /// device of the account appends it.
    pub fn join_op(&self, account: &AccountId) -> Result<DeviceOp> {
        let device = self.record()?;
        let countersignature = self.countersign_join(account, &device)?;
        let prekey = self
            .current_prekey()
            .ok_or(crate::IdentityError::InvalidEntry("no prekey"))?
            .public()
            .clone();
        Ok(DeviceOp::AddDevice {
            device,
            prekey,
            countersignature,
        })
    }

    /// Signs `value` for `purpose` with the DSK.
    pub fn sign<T: serde::Serialize + serde::de::DeserializeOwned>(
        &self,
        purpose: Domain,
        value: &T,
    ) -> Result<Signed<T>> {
        Ok(Signed::sign(purpose, &self.signing, value)?)
    }
}

/// The secret material of [`DeviceKeys`] as the store seals it.
#[derive(serde::Serialize, serde::Deserialize)]
struct ExportedKeys {
    signing_seed: [u8; 32],
    identity: [u8; 32],
    prekeys: Vec<([u8; 32], SignedPrekey)>,
    transport_seed: [u8; 32],
    name: String,
}

impl Drop for ExportedKeys {
    fn drop(&mut self) {
        kith_crypto::zeroize(&mut self.signing_seed);
        kith_crypto::zeroize(&mut self.identity);
        kith_crypto::zeroize(&mut self.transport_seed);
        for (secret, _) in &mut self.prekeys {
            kith_crypto::zeroize(secret);
        }
    }
}

impl DeviceKeys {
    /// The keys' secret bytes, for sealing into this device's own store
    /// (never to leave the device). The buffer is zeroed when dropped.
    pub fn export(&self) -> Result<kith_crypto::SecretVec> {
        let exported = ExportedKeys {
            signing_seed: *self.signing.seed().expose(),
            identity: *self.identity.secret().expose(),
            prekeys: self
                .prekeys
                .iter()
                .map(|p| (*p.secret.secret().expose(), p.public.clone()))
                .collect(),
            transport_seed: *self.transport_seed.expose(),
            name: self.name.clone(),
        };
        Ok(kith_crypto::SecretVec::from_vec(encode(&exported)?))
    }

    /// Keys back from [`DeviceKeys::export`]; the public halves are
    /// recomputed and checked against the stored prekey signatures.
    pub fn import(bytes: &[u8]) -> Result<Self> {
        let mut exported: ExportedKeys = kith_wire::decode(bytes, 16 * 1024)?;
        let signing = SigningKey::from_seed(SecretBytes::take_from(&mut exported.signing_seed))?;
        let transport_seed = SecretBytes::take_from(&mut exported.transport_seed);
        let transport = transport_id(&transport_seed)?;
        let device = DeviceId(signing.verifying_key().to_bytes());
        let mut prekeys = Vec::with_capacity(exported.prekeys.len());
        for (secret, public) in &mut exported.prekeys {
            verify_prekey(&device, public)?;
            prekeys.push(PrekeySecret {
                secret: DhSecret::from_secret(SecretBytes::take_from(secret)),
                public: public.clone(),
            });
        }
        Ok(Self {
            signing,
            identity: DhSecret::from_secret(SecretBytes::take_from(&mut exported.identity)),
            prekeys,
            transport_seed,
            transport,
            name: std::mem::take(&mut exported.name),
        })
    }
}

impl std::fmt::Debug for DeviceKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceKeys")
            .field("device", &self.device_id())
            .finish_non_exhaustive()
    }
}

/// The iroh endpoint id of a transport seed (its Ed25519 public key, as iroh
/// derives it from `SecretKey::from_bytes(seed)`).
pub fn transport_id(seed: &SecretBytes<32>) -> Result<TransportId> {
    let key = SigningKey::from_seed(seed.duplicate())?;
    Ok(TransportId(key.verifying_key().to_bytes()))
}

fn verify_by(signer: &DeviceId, purpose: Domain, message: &[u8], signature: &Sig) -> Result<()> {
    let key = kith_crypto::sign::VerifyingKey::from_bytes(signer.as_bytes())?;
    key.verify(
        purpose,
        message,
        &kith_crypto::sign::Signature::from_bytes(signature.0),
    )?;
    Ok(())
}

/// Checks a device record's signature over its keys.
pub fn verify_record(record: &DeviceRecord) -> Result<()> {
    limits::check_name(&record.name)?;
    let signed = encode(&(record.device, record.identity_key, record.transport))?;
    verify_by(
        &record.device,
        domain::DEVICE_KEYS,
        &signed,
        &record.keys_signature,
    )
}

/// Checks that the transport key `transport` signed `device`'s id (the
/// `ProveTransport` of a device log).
pub fn verify_transport_proof(
    device: &DeviceId,
    transport: &TransportId,
    proof: &Sig,
) -> Result<()> {
    let key = kith_crypto::sign::VerifyingKey::from_bytes(transport.as_bytes())?;
    let signature = kith_crypto::sign::Signature::from_bytes(proof.0);
    Ok(key.verify(domain::TRANSPORT_BINDING, &encode(device)?, &signature)?)
}

/// Checks a signed prekey of `device`.
pub fn verify_prekey(device: &DeviceId, prekey: &SignedPrekey) -> Result<()> {
    let signed = encode(&(device, prekey.id, prekey.key, prekey.created_at_ms))?;
    verify_by(device, domain::PREKEY, &signed, &prekey.signature)
}

/// Checks a new device's countersignature on joining `account`.
pub fn verify_join(
    account: &AccountId,
    record: &DeviceRecord,
    countersignature: &Sig,
) -> Result<()> {
    let signed = encode(&(account, record))?;
    verify_by(
        &record.device,
        domain::DEVICE_JOIN,
        &signed,
        countersignature,
    )
}
