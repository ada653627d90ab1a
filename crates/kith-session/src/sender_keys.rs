//! Sender keys: in a large group, each member device encrypts a message
//! once, under its own chain, instead of once per member device.
//!
//! ```text
//! chain key ck₀: 32 random bytes, distributed pairwise (a SenderKey entry)
//! KDF_CK(ckᵢ)   = (mkᵢ = HMAC-SHA256(ckᵢ, 0x01), ckᵢ₊₁ = HMAC-SHA256(ckᵢ, 0x02))
//! ENCRYPT       = XChaCha20-Poly1305(key = mkᵢ, random nonce,
//!                   ad = "kith-sender-key-v1" ‖ conversation ‖ author device ‖ chain ‖ i)
//! ```
//!
//! The signed entry header (its body hash) says who wrote a message, so a
//! member holding a chain cannot pass off a message as another member's.
//! Opening derives keys forward only: a chain held from iteration `i`
//! opens nothing before `i`, and an opened message's key is gone. Skipped
//! keys are bounded like the ratchet's ([`MAX_SKIP`] ahead, at most
//! [`MAX_STORED_SKIPPED`] kept per chain, the oldest dropped), and count
//! against the same per-batch budget. A failed open changes nothing.
//! When to start a new chain is [`SenderKeyRecord::chain_due`]; the
//! reasons are in `docs/groups.md` §7.

use std::collections::BTreeMap;

use kith_crypto::SecretBytes;
use kith_crypto::aead::AeadKey;
use kith_wire::{ChainKey, ConversationId, DeviceId, SenderKeyMessage, decode, encode};
use serde::{Deserialize, Serialize};

use crate::error::{Result, SessionError};
use crate::ratchet::{MAX_SKIP, MAX_STORED_SKIPPED, kdf_ck};
use crate::sessions::Sessions;
use crate::store::SessionStore;

/// A chain is replaced after this many messages.
pub const ROTATE_AFTER_MESSAGES: u32 = 1_000;
/// A chain is replaced once it is this old: 7 days.
pub const ROTATE_AFTER_MS: u64 = 7 * 24 * 3600 * 1000;
/// Chains kept per author device: its current one and the one before (a
/// message of the older may still arrive, or have its body fetched, late).
pub const CHAINS_PER_DEVICE: usize = 2;
/// Author devices whose chains one record keeps.
pub const MAX_HELD_DEVICES: usize = 4096;

const AD_LABEL: &[u8] = b"kith-sender-key-v1";
const MAX_RECORD_BYTES: usize = 64 << 20;

fn message_ad(conversation: &ConversationId, device: &DeviceId, chain: u32, i: u32) -> Vec<u8> {
    let mut ad = Vec::with_capacity(AD_LABEL.len() + 72);
    ad.extend_from_slice(AD_LABEL);
    ad.extend_from_slice(conversation.as_bytes());
    ad.extend_from_slice(device.as_bytes());
    ad.extend_from_slice(&chain.to_be_bytes());
    ad.extend_from_slice(&i.to_be_bytes());
    ad
}

/// This device's own chain in one group.
struct OwnChain {
    chain: u32,
    next: u32,
    key: SecretBytes<32>,
    started_ms: u64,
    /// A digest of the devices its distribution went to.
    recipients: [u8; 32],
}

const RECIPIENTS: kith_crypto::Domain = kith_crypto::Domain::new("kith-sender-key-recipients-v1");

/// A digest of a set of devices (order and repeats do not count).
fn recipients_digest(recipients: &[DeviceId]) -> Result<[u8; 32]> {
    let mut sorted: Vec<&DeviceId> = recipients.iter().collect();
    sorted.sort();
    sorted.dedup();
    let parts: Vec<&[u8]> = sorted.iter().map(|d| d.as_bytes().as_slice()).collect();
    Ok(kith_crypto::hash::blake2b_256(RECIPIENTS, &parts)?)
}

/// A new chain of this device, not in use until adopted
/// ([`Sessions::adopt_sender_chain`]) once its distribution is durable.
pub struct NewChain(OwnChain);

impl NewChain {
    /// A new random chain for `recipients`, started at `now_ms`.
    pub fn start(recipients: &[DeviceId], now_ms: u64) -> Result<Self> {
        Ok(Self(OwnChain {
            chain: u32::from_be_bytes(kith_crypto::random::array()?),
            next: 0,
            key: SecretBytes::<32>::random()?,
            started_ms: now_ms,
            recipients: recipients_digest(recipients)?,
        }))
    }

    /// What its distribution carries: chain id, first iteration, key.
    pub fn distribution(&self) -> (u32, u32, ChainKey) {
        (self.0.chain, self.0.next, ChainKey(*self.0.key.expose()))
    }
}

/// Another device's chain as this device holds it.
struct HeldChain {
    /// Where its distribution stands in its device's entries (the newest
    /// chains are kept, whatever order distributions arrive in).
    order: u64,
    chain: u32,
    next: u32,
    key: SecretBytes<32>,
    /// Keys of iterations passed over (not opened yet), by iteration.
    skipped: BTreeMap<u32, SecretBytes<32>>,
}

impl HeldChain {
    fn duplicate(&self) -> Self {
        Self {
            order: self.order,
            chain: self.chain,
            next: self.next,
            key: self.key.duplicate(),
            skipped: self
                .skipped
                .iter()
                .map(|(i, k)| (*i, k.duplicate()))
                .collect(),
        }
    }

    /// The message key of iteration `i`, advancing a copy of the chain;
    /// `derived`: the keys derived ahead for it.
    fn key_for(&self, i: u32) -> Result<(SecretBytes<32>, Self, u32)> {
        let mut chain = self.duplicate();
        if i < chain.next {
            let mk = chain.skipped.remove(&i).ok_or(SessionError::Duplicate)?;
            return Ok((mk, chain, 0));
        }
        let ahead = i - chain.next;
        if ahead > MAX_SKIP {
            return Err(SessionError::TooFarAhead);
        }
        while chain.next < i {
            let (mk, next) = kdf_ck(&chain.key)?;
            chain.skipped.insert(chain.next, mk);
            chain.key = next;
            chain.next += 1;
        }
        while chain.skipped.len() > MAX_STORED_SKIPPED {
            chain.skipped.pop_first();
        }
        let (mk, next) = kdf_ck(&chain.key)?;
        chain.key = next;
        chain.next = i.saturating_add(1);
        Ok((mk, chain, ahead))
    }
}

/// A distribution as taken: the chain, from which iteration, its key, and
/// its place among its device's entries.
pub struct Given<'a> {
    /// The chain's id.
    pub chain: u32,
    /// The first iteration the key opens.
    pub iteration: u32,
    /// The chain key at `iteration`.
    pub key: &'a ChainKey,
    /// The distribution's sequence number among its device's entries.
    pub order: u64,
}

/// The sender-key state of one device in one group: its own chain and the
/// chains it holds of the other member devices.
#[derive(Default)]
pub struct SenderKeyRecord {
    own: Option<OwnChain>,
    held: BTreeMap<DeviceId, Vec<HeldChain>>,
}

impl SenderKeyRecord {
    /// Whether the next message needs a new chain first: there is none yet,
    /// the member devices are not those the chain went to (someone was
    /// removed, left, lost a device, or joined), or it is used up or old.
    pub fn chain_due(&self, recipients: &[DeviceId], now_ms: u64) -> Result<bool> {
        let Some(own) = &self.own else {
            return Ok(true);
        };
        Ok(own.recipients != recipients_digest(recipients)?
            || own.next >= ROTATE_AFTER_MESSAGES
            || now_ms.saturating_sub(own.started_ms) >= ROTATE_AFTER_MS)
    }

    /// Takes another device's chain from its distribution, the
    /// `order`-th entry of that device. A chain already held is left as it
    /// is (a distribution seen again never winds it back); of a device's
    /// chains the [`CHAINS_PER_DEVICE`] newest are kept.
    fn hold(&mut self, device: DeviceId, given: Given<'_>) -> Result<bool> {
        if !self.held.contains_key(&device) && self.held.len() >= MAX_HELD_DEVICES {
            return Err(SessionError::Store("too many sender-key chains".into()));
        }
        let chains = self.held.entry(device).or_default();
        if chains.iter().any(|c| c.chain == given.chain) {
            return Ok(false);
        }
        chains.push(HeldChain {
            order: given.order,
            chain: given.chain,
            next: given.iteration,
            key: SecretBytes::from_slice(&given.key.0)?,
            skipped: BTreeMap::new(),
        });
        chains.sort_by_key(|c| std::cmp::Reverse(c.order));
        chains.truncate(CHAINS_PER_DEVICE);
        Ok(chains.iter().any(|c| c.chain == given.chain))
    }

    /// Whether a chain of `device` is held.
    pub fn holds(&self, device: &DeviceId, chain: u32) -> bool {
        self.held
            .get(device)
            .is_some_and(|chains| chains.iter().any(|c| c.chain == chain))
    }

    /// The record as bytes for the store (secrets: the store encrypts it).
    pub fn export(&self) -> Result<kith_crypto::SecretVec> {
        let snapshot = RecordSnapshot {
            own: self.own.as_ref().map(|o| OwnSnapshot {
                chain: o.chain,
                next: o.next,
                key: *o.key.expose(),
                started_ms: o.started_ms,
                recipients: o.recipients,
            }),
            held: self
                .held
                .iter()
                .flat_map(|(device, chains)| {
                    chains.iter().map(|c| HeldSnapshot {
                        device: *device,
                        order: c.order,
                        chain: c.chain,
                        next: c.next,
                        key: *c.key.expose(),
                        skipped: c.skipped.iter().map(|(i, k)| (*i, *k.expose())).collect(),
                    })
                })
                .collect(),
        };
        Ok(kith_crypto::SecretVec::from_vec(encode(&snapshot)?))
    }

    /// Reads a record made by [`SenderKeyRecord::export`].
    pub fn import(bytes: &[u8]) -> Result<Self> {
        let snapshot: RecordSnapshot = decode(bytes, MAX_RECORD_BYTES)?;
        let take = |bytes: &[u8; 32]| SecretBytes::<32>::from_slice(bytes);
        let own = snapshot
            .own
            .as_ref()
            .map(|o| {
                Ok::<_, SessionError>(OwnChain {
                    chain: o.chain,
                    next: o.next,
                    key: take(&o.key)?,
                    started_ms: o.started_ms,
                    recipients: o.recipients,
                })
            })
            .transpose()?;
        let mut held: BTreeMap<DeviceId, Vec<HeldChain>> = BTreeMap::new();
        for h in &snapshot.held {
            let chains = held.entry(h.device).or_default();
            if chains.len() >= CHAINS_PER_DEVICE || h.skipped.len() > MAX_STORED_SKIPPED {
                return Err(SessionError::Store(
                    "sender-key record over its bounds".into(),
                ));
            }
            chains.push(HeldChain {
                order: h.order,
                chain: h.chain,
                next: h.next,
                key: take(&h.key)?,
                skipped: h
                    .skipped
                    .iter()
                    .map(|(i, k)| Ok((*i, take(k)?)))
                    .collect::<Result<_>>()?,
            });
        }
        Ok(Self { own, held })
    }
}

#[derive(Serialize, Deserialize)]
struct OwnSnapshot {
    chain: u32,
    next: u32,
    key: [u8; 32],
    started_ms: u64,
    recipients: [u8; 32],
}

#[derive(Serialize, Deserialize)]
struct HeldSnapshot {
    device: DeviceId,
    order: u64,
    chain: u32,
    next: u32,
    key: [u8; 32],
    skipped: Vec<(u32, [u8; 32])>,
}

/// The serialisable form of a [`SenderKeyRecord`]; zeroed on drop.
#[derive(Serialize, Deserialize)]
struct RecordSnapshot {
    own: Option<OwnSnapshot>,
    held: Vec<HeldSnapshot>,
}

impl Drop for RecordSnapshot {
    fn drop(&mut self) {
        if let Some(own) = &mut self.own {
            kith_crypto::zeroize(&mut own.key);
        }
        for h in &mut self.held {
            kith_crypto::zeroize(&mut h.key);
            for (_, k) in &mut h.skipped {
                kith_crypto::zeroize(k);
            }
        }
    }
}

impl<S: SessionStore> Sessions<S> {
    fn sender_record(&self, conversation: &ConversationId) -> Result<SenderKeyRecord> {
        match self.store().load_sender_keys(conversation)? {
            Some(bytes) => SenderKeyRecord::import(bytes.expose()),
            None => Ok(SenderKeyRecord::default()),
        }
    }

    fn put_sender_record(
        &mut self,
        conversation: &ConversationId,
        record: &SenderKeyRecord,
    ) -> Result<()> {
        let bytes = record.export()?;
        self.store_mut().store_sender_keys(conversation, &bytes)
    }

    /// Whether this device's next message in `conversation` needs a new
    /// chain first (see [`SenderKeyRecord::chain_due`]).
    pub fn sender_chain_due(
        &self,
        conversation: &ConversationId,
        recipients: &[DeviceId],
        now_ms: u64,
    ) -> Result<bool> {
        self.sender_record(conversation)?
            .chain_due(recipients, now_ms)
    }

    /// Makes `chain` this device's chain in `conversation` (stored).
    pub fn adopt_sender_chain(
        &mut self,
        conversation: &ConversationId,
        chain: NewChain,
    ) -> Result<()> {
        let mut record = self.sender_record(conversation)?;
        record.own = Some(chain.0);
        self.put_sender_record(conversation, &record)
    }

    /// Encrypts the next message of this device (`me`) in `conversation`
    /// under its chain; the chain moves on (stored) before the ciphertext
    /// is returned.
    pub fn sender_encrypt(
        &mut self,
        conversation: &ConversationId,
        me: &DeviceId,
        plaintext: &[u8],
    ) -> Result<SenderKeyMessage> {
        let mut record = self.sender_record(conversation)?;
        let own = record.own.as_mut().ok_or(SessionError::NoSession)?;
        let iteration = own.next;
        let (mk, next) = kdf_ck(&own.key)?;
        own.key = next;
        own.next = own.next.checked_add(1).ok_or(SessionError::TooFarAhead)?;
        let chain = own.chain;
        self.put_sender_record(conversation, &record)?;
        let ad = message_ad(conversation, me, chain, iteration);
        let ciphertext = AeadKey::from_secret(mk).seal(&ad, plaintext)?;
        Ok(SenderKeyMessage {
            chain,
            iteration,
            ciphertext,
        })
    }

    /// Takes `device`'s chain from its distribution; `true` if it is new
    /// here (and among the newest kept).
    pub fn hold_sender_chain(
        &mut self,
        conversation: &ConversationId,
        device: DeviceId,
        given: Given<'_>,
    ) -> Result<bool> {
        let mut record = self.sender_record(conversation)?;
        let new = record.hold(device, given)?;
        if new {
            self.put_sender_record(conversation, &record)?;
        }
        Ok(new)
    }

    /// Opens `author`'s message in `conversation` if `accept` takes the
    /// plaintext; only then does the held chain move on (stored).
    pub fn sender_open_if(
        &mut self,
        conversation: &ConversationId,
        author: &DeviceId,
        message: &SenderKeyMessage,
        accept: impl FnOnce(&[u8]) -> bool,
    ) -> Result<kith_crypto::SecretVec> {
        let mut record = self.sender_record(conversation)?;
        let held = record
            .held
            .get_mut(author)
            .and_then(|chains| chains.iter_mut().find(|c| c.chain == message.chain))
            .ok_or(SessionError::NoSession)?;
        let (mk, advanced, ahead) = held.key_for(message.iteration)?;
        self.budget.take(ahead)?;
        let ad = message_ad(conversation, author, message.chain, message.iteration);
        let plaintext = AeadKey::from_secret(mk).open(&ad, &message.ciphertext)?;
        if !accept(plaintext.expose()) {
            return Err(SessionError::Rejected);
        }
        *held = advanced;
        self.put_sender_record(conversation, &record)?;
        Ok(plaintext)
    }
}
