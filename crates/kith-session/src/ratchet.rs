//! The Double Ratchet (Signal specification) on libsodium.
//!
//! ```text
//! KDF_RK(rk, dh)  = HKDF-SHA256(salt = rk, ikm = dh, info = "kith-ratchet-root-v1") -> rk' || ck
//! KDF_CK(ck)      = (mk = HMAC-SHA256(ck, 0x01), ck' = HMAC-SHA256(ck, 0x02))
//! ENCRYPT(mk, m)  = XChaCha20-Poly1305(key = mk, random nonce, ad = AD || encode(header))
//! ```
//!
//! Skipped message keys are bounded: at most [`MAX_SKIP`] keys are derived
//! for one message, at most [`MAX_STORED_SKIPPED`] are kept (oldest dropped),
//! and each expires after [`SKIPPED_KEY_TTL_MS`]. A failed decryption leaves
//! the state exactly as it was.

use kith_crypto::aead::AeadKey;
use kith_crypto::dh::{DhPublic, DhSecret};
use kith_crypto::kdf::hkdf_sha256;
use kith_crypto::mac::HmacSha256;
use kith_crypto::{SecretBytes, SecretVec};
use kith_wire::{DhKey, RatchetHeader, RatchetMessage, encode};
use serde::{Deserialize, Serialize};

use crate::budget::SkipBudget;
use crate::error::{Result, SessionError};

/// Most message keys derived ahead for one incoming message.
pub const MAX_SKIP: u32 = 25_000;
/// Most skipped message keys kept.
pub const MAX_STORED_SKIPPED: usize = 2_000;
/// How long a skipped message key is kept: 30 days.
pub const SKIPPED_KEY_TTL_MS: u64 = 30 * 24 * 3600 * 1000;

/// Earlier receiving chains remembered to recognise their duplicates.
const PAST_CHAINS: usize = 16;

const ROOT_INFO: &[u8] = b"kith-ratchet-root-v1";

fn kdf_rk(rk: &SecretBytes<32>, dh_out: &[u8; 32]) -> Result<(SecretBytes<32>, SecretBytes<32>)> {
    let out = hkdf_sha256::<64>(rk.expose(), dh_out, ROOT_INFO)?;
    let (root, chain) = out.expose().split_at(32);
    Ok((
        SecretBytes::from_slice(root)?,
        SecretBytes::from_slice(chain)?,
    ))
}

pub(crate) fn kdf_ck(ck: &SecretBytes<32>) -> Result<(SecretBytes<32>, SecretBytes<32>)> {
    let mk = HmacSha256::mac(ck.expose(), &[0x01])?;
    let next = HmacSha256::mac(ck.expose(), &[0x02])?;
    Ok((
        SecretBytes::from_slice(mk.as_bytes())?,
        SecretBytes::from_slice(next.as_bytes())?,
    ))
}

fn dh(secret: &DhSecret, public: &DhKey) -> Result<SecretBytes<32>> {
    let shared = secret.diffie_hellman(&DhPublic::from_bytes(public.0))?;
    Ok(SecretBytes::from_slice(shared.expose())?)
}

fn public_of(secret: &DhSecret) -> Result<DhKey> {
    Ok(DhKey(secret.public_key()?.to_bytes()))
}

fn message_ad(ad: &[u8], header: &RatchetHeader) -> Result<Vec<u8>> {
    let mut full = ad.to_vec();
    full.extend_from_slice(&encode(header)?);
    Ok(full)
}

struct Skipped {
    dh: DhKey,
    n: u32,
    mk: SecretBytes<32>,
    at_ms: u64,
}

/// The state of one direction-pair of ratchets between two devices.
pub struct RatchetState {
    dhs: DhSecret,
    dhs_public: DhKey,
    dhr: Option<DhKey>,
    rk: SecretBytes<32>,
    cks: Option<SecretBytes<32>>,
    ckr: Option<SecretBytes<32>>,
    ns: u32,
    nr: u32,
    pn: u32,
    skipped: Vec<Skipped>,
    /// Earlier receiving chains and how many messages each delivered.
    past_chains: Vec<(DhKey, u32)>,
}

impl std::fmt::Debug for RatchetState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RatchetState")
            .field("ns", &self.ns)
            .field("nr", &self.nr)
            .field("pn", &self.pn)
            .field("skipped", &self.skipped.len())
            .finish_non_exhaustive()
    }
}

impl RatchetState {
    /// The initiator's state after X3DH: it can send at once.
    pub fn initiator(shared: SecretBytes<32>, their_ratchet_key: DhKey) -> Result<Self> {
        let dhs = DhSecret::generate()?;
        let (rk, cks) = kdf_rk(&shared, dh(&dhs, &their_ratchet_key)?.expose())?;
        Ok(Self {
            dhs_public: public_of(&dhs)?,
            dhs,
            dhr: Some(their_ratchet_key),
            rk,
            cks: Some(cks),
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: Vec::new(),
            past_chains: Vec::new(),
        })
    }

    /// The responder's state after X3DH: its first ratchet key is the signed
    /// prekey the initiator used; it sends after its first receive.
    pub fn responder(shared: SecretBytes<32>, prekey: &DhSecret) -> Result<Self> {
        let dhs = DhSecret::from_secret(prekey.secret().duplicate());
        Ok(Self {
            dhs_public: public_of(&dhs)?,
            dhs,
            dhr: None,
            rk: shared,
            cks: None,
            ckr: None,
            ns: 0,
            nr: 0,
            pn: 0,
            skipped: Vec::new(),
            past_chains: Vec::new(),
        })
    }

    /// Whether this side can send (the responder cannot before its first receive).
    pub fn can_send(&self) -> bool {
        self.cks.is_some()
    }

    /// Number of skipped message keys held.
    pub fn skipped_len(&self) -> usize {
        self.skipped.len()
    }

    /// Encrypts `plaintext` bound to the session's associated data.
    pub fn encrypt(&mut self, ad: &[u8], plaintext: &[u8]) -> Result<RatchetMessage> {
        let cks = self.cks.as_ref().ok_or(SessionError::NoSession)?;
        let (mk, next) = kdf_ck(cks)?;
        let header = RatchetHeader {
            dh: self.dhs_public,
            pn: self.pn,
            n: self.ns,
        };
        let ciphertext = AeadKey::from_secret(mk).seal(&message_ad(ad, &header)?, plaintext)?;
        self.cks = Some(next);
        self.ns = self.ns.checked_add(1).ok_or(SessionError::TooFarAhead)?;
        Ok(RatchetMessage { header, ciphertext })
    }

    /// Decrypts a message, deriving skipped keys from `budget`. On any
    /// error the state is unchanged (the budget keeps what was spent).
    pub(crate) fn decrypt(
        &mut self,
        ad: &[u8],
        message: &RatchetMessage,
        now_ms: u64,
        budget: &mut SkipBudget,
    ) -> Result<SecretVec> {
        let header = &message.header;
        let full_ad = message_ad(ad, header)?;
        // A key skipped earlier: use it once.
        if let Some(i) = self
            .skipped
            .iter()
            .position(|s| s.dh == header.dh && s.n == header.n)
        {
            let skipped = self.skipped.get(i).ok_or(SessionError::NoSession)?;
            let key = AeadKey::from_secret(skipped.mk.duplicate());
            let plaintext = key.open(&full_ad, &message.ciphertext)?;
            self.skipped.remove(i);
            return Ok(plaintext);
        }
        if self.dhr == Some(header.dh) && header.n < self.nr {
            return Err(SessionError::Duplicate);
        }
        // A message of an earlier chain whose key is no longer held was
        // either delivered already or skipped and expired.
        if self
            .past_chains
            .iter()
            .any(|(dh, ended)| *dh == header.dh && header.n < *ended)
        {
            return Err(SessionError::Duplicate);
        }
        let mut next = self.duplicate();
        let plaintext = next.decrypt_new(&full_ad, message, now_ms, budget)?;
        *self = next;
        Ok(plaintext)
    }

    fn decrypt_new(
        &mut self,
        full_ad: &[u8],
        message: &RatchetMessage,
        now_ms: u64,
        budget: &mut SkipBudget,
    ) -> Result<SecretVec> {
        let header = &message.header;
        if self.dhr != Some(header.dh) {
            self.skip_until(header.pn, now_ms, budget)?;
            self.dh_ratchet(header.dh)?;
        }
        self.skip_until(header.n, now_ms, budget)?;
        let ckr = self.ckr.as_ref().ok_or(SessionError::NoSession)?;
        let (mk, next) = kdf_ck(ckr)?;
        let plaintext = AeadKey::from_secret(mk).open(full_ad, &message.ciphertext)?;
        self.ckr = Some(next);
        self.nr = self.nr.saturating_add(1);
        self.expire(now_ms);
        Ok(plaintext)
    }

    fn skip_until(&mut self, until: u32, now_ms: u64, budget: &mut SkipBudget) -> Result<()> {
        let Some(mut ck) = self.ckr.take() else {
            return Ok(());
        };
        let dhr = self.dhr.ok_or(SessionError::NoSession)?;
        if until > self.nr.saturating_add(MAX_SKIP) {
            self.ckr = Some(ck);
            return Err(SessionError::TooFarAhead);
        }
        if let Err(e) = budget.take(until.saturating_sub(self.nr)) {
            self.ckr = Some(ck);
            return Err(e);
        }
        while self.nr < until {
            let (mk, next) = kdf_ck(&ck)?;
            self.skipped.push(Skipped {
                dh: dhr,
                n: self.nr,
                mk,
                at_ms: now_ms,
            });
            ck = next;
            self.nr += 1;
        }
        self.ckr = Some(ck);
        if self.skipped.len() > MAX_STORED_SKIPPED {
            let excess = self.skipped.len() - MAX_STORED_SKIPPED;
            self.skipped.drain(..excess);
        }
        Ok(())
    }

    fn dh_ratchet(&mut self, their_key: DhKey) -> Result<()> {
        if let Some(old) = self.dhr {
            self.past_chains.push((old, self.nr));
            if self.past_chains.len() > PAST_CHAINS {
                self.past_chains.remove(0);
            }
        }
        self.pn = self.ns;
        self.ns = 0;
        self.nr = 0;
        self.dhr = Some(their_key);
        let (rk, ckr) = kdf_rk(&self.rk, dh(&self.dhs, &their_key)?.expose())?;
        let dhs = DhSecret::generate()?;
        let (rk, cks) = kdf_rk(&rk, dh(&dhs, &their_key)?.expose())?;
        self.dhs_public = public_of(&dhs)?;
        self.dhs = dhs;
        self.rk = rk;
        self.ckr = Some(ckr);
        self.cks = Some(cks);
        Ok(())
    }

    fn expire(&mut self, now_ms: u64) {
        self.skipped
            .retain(|s| now_ms.saturating_sub(s.at_ms) <= SKIPPED_KEY_TTL_MS);
    }

    /// An explicit deep copy (secrets included).
    pub fn duplicate(&self) -> Self {
        Self {
            dhs: DhSecret::from_secret(self.dhs.secret().duplicate()),
            dhs_public: self.dhs_public,
            dhr: self.dhr,
            rk: self.rk.duplicate(),
            cks: self.cks.as_ref().map(SecretBytes::duplicate),
            ckr: self.ckr.as_ref().map(SecretBytes::duplicate),
            ns: self.ns,
            nr: self.nr,
            pn: self.pn,
            skipped: self
                .skipped
                .iter()
                .map(|s| Skipped {
                    dh: s.dh,
                    n: s.n,
                    mk: s.mk.duplicate(),
                    at_ms: s.at_ms,
                })
                .collect(),
            past_chains: self.past_chains.clone(),
        }
    }

    pub(crate) fn snapshot(&self) -> RatchetSnapshot {
        RatchetSnapshot {
            dhs: *self.dhs.secret().expose(),
            dhs_public: self.dhs_public,
            dhr: self.dhr,
            rk: *self.rk.expose(),
            cks: self.cks.as_ref().map(|k| *k.expose()),
            ckr: self.ckr.as_ref().map(|k| *k.expose()),
            ns: self.ns,
            nr: self.nr,
            pn: self.pn,
            skipped: self
                .skipped
                .iter()
                .map(|s| (s.dh, s.n, *s.mk.expose(), s.at_ms))
                .collect(),
            past_chains: self.past_chains.clone(),
        }
    }

    pub(crate) fn restore(snapshot: &RatchetSnapshot) -> Result<Self> {
        let take = |bytes: &[u8; 32]| SecretBytes::<32>::from_slice(bytes);
        Ok(Self {
            dhs: DhSecret::from_secret(take(&snapshot.dhs)?),
            dhs_public: snapshot.dhs_public,
            dhr: snapshot.dhr,
            rk: take(&snapshot.rk)?,
            cks: snapshot.cks.as_ref().map(take).transpose()?,
            ckr: snapshot.ckr.as_ref().map(take).transpose()?,
            ns: snapshot.ns,
            nr: snapshot.nr,
            pn: snapshot.pn,
            skipped: snapshot
                .skipped
                .iter()
                .map(|(dh, n, mk, at_ms)| {
                    Ok(Skipped {
                        dh: *dh,
                        n: *n,
                        mk: take(mk)?,
                        at_ms: *at_ms,
                    })
                })
                .collect::<Result<_>>()?,
            past_chains: snapshot.past_chains.clone(),
        })
    }
}

/// The serialisable form of a [`RatchetState`]; zeroed on drop. It exists
/// only briefly, inside the session record's export and import.
#[derive(Serialize, Deserialize)]
pub(crate) struct RatchetSnapshot {
    dhs: [u8; 32],
    dhs_public: DhKey,
    dhr: Option<DhKey>,
    rk: [u8; 32],
    cks: Option<[u8; 32]>,
    ckr: Option<[u8; 32]>,
    ns: u32,
    nr: u32,
    pn: u32,
    skipped: Vec<(DhKey, u32, [u8; 32], u64)>,
    past_chains: Vec<(DhKey, u32)>,
}

impl Drop for RatchetSnapshot {
    fn drop(&mut self) {
        kith_crypto::zeroize(&mut self.dhs);
        kith_crypto::zeroize(&mut self.rk);
        for key in [&mut self.cks, &mut self.ckr].into_iter().flatten() {
            kith_crypto::zeroize(key);
        }
        for (_, _, mk, _) in &mut self.skipped {
            kith_crypto::zeroize(mk);
        }
    }
}
