//! Per-device sessions and fan-out (in the manner of Signal's Sesame).
//!
//! A private message is encrypted once per recipient device (every device of
//! every member, including the sender's own other devices), each with the
//! pairwise Double Ratchet of that device pair. A device that forwards the
//! resulting [`FanOut`] carries only ciphertexts it cannot open.

use kith_crypto::SecretVec;
use kith_crypto::dh::DhSecret;
use kith_identity::DeviceKeys;
use kith_identity::keys::verify_prekey;
use kith_wire::{
    AccountId, DeviceId, DhKey, Envelope, FanOut, PreKeyMessage, SessionMessage, SignedPrekey,
};

use crate::budget::SkipBudget;
use crate::error::{Result, SessionError};
use crate::ratchet::RatchetState;
use crate::record::{PendingPreKey, SessionRecord, SessionState};
use crate::store::SessionStore;
use crate::x3dh::{self, Party};

// One batch's budget fits one message skipping as far as allowed twice
// (the old chain's rest, then the new chain's start) on every state kept.
const _: () = assert!(
    crate::budget::SKIP_BUDGET
        == 2 * crate::ratchet::MAX_SKIP * crate::record::MAX_SESSIONS_PER_DEVICE as u32
);

/// This device.
#[derive(Clone, Copy, Debug)]
pub struct LocalDevice<'a> {
    /// Its account.
    pub account: AccountId,
    /// Its keys.
    pub keys: &'a DeviceKeys,
}

impl LocalDevice<'_> {
    fn party(&self) -> Result<Party> {
        Ok(Party {
            account: self.account,
            device: self.keys.device_id(),
            identity_key: DhKey(self.keys.identity().public_key()?.to_bytes()),
        })
    }
}

/// A remote device as its account's device log describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteDevice {
    /// Its account.
    pub account: AccountId,
    /// Its device id (signing key).
    pub device: DeviceId,
    /// Its identity key (from its signed device record).
    pub identity_key: DhKey,
    /// Its newest signed prekey.
    pub prekey: SignedPrekey,
    /// A one-time prekey it handed out while online, if any.
    pub one_time_prekey: Option<(u32, DhKey)>,
}

impl RemoteDevice {
    /// The device as described by a device log.
    pub fn from_log(account: AccountId, state: &kith_identity::DeviceState) -> Self {
        Self {
            account,
            device: state.record.device,
            identity_key: state.record.identity_key,
            prekey: state.prekey.clone(),
            one_time_prekey: None,
        }
    }

    fn party(&self) -> Party {
        Party {
            account: self.account,
            device: self.device,
            identity_key: self.identity_key,
        }
    }
}

/// The result of a fan-out: the envelopes, and the devices that could not
/// get one (a bad prekey, say) with the reason. One bad device never blocks
/// the others.
#[derive(Debug, Default)]
pub struct FanOutResult {
    /// One envelope per reachable recipient device.
    pub fan_out: FanOut,
    /// Devices left out, and why.
    pub failed: Vec<(DeviceId, SessionError)>,
}

/// The sessions of this device, over a store.
#[derive(Debug)]
pub struct Sessions<S> {
    store: S,
    pub(crate) budget: SkipBudget,
}

impl<S: SessionStore> Sessions<S> {
    /// Sessions kept in `store`.
    pub fn new(store: S) -> Self {
        Self {
            store,
            budget: SkipBudget::default(),
        }
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The store, writable.
    pub fn store_mut(&mut self) -> &mut S {
        &mut self.store
    }

    /// Message keys derived ahead of their chains (skipped keys) by
    /// everything decrypted so far: the work incoming messages caused.
    pub fn keys_derived_ahead(&self) -> u64 {
        self.budget.derived()
    }

    /// Starts a new batch of incoming messages: up to [`SKIP_BUDGET`]
    /// message keys may be derived ahead until the next renewal. A message
    /// that needs more than is left fails with `OverBudget` and changes
    /// nothing, so it can be tried again in a later batch.
    ///
    /// [`SKIP_BUDGET`]: crate::SKIP_BUDGET
    pub fn renew_budget(&mut self) {
        self.budget.renew();
    }

    /// Whether a session with `device` exists.
    pub fn has_session(&self, device: &DeviceId) -> Result<bool> {
        Ok(self
            .store
            .load_session(device)?
            .is_some_and(|r| r.current().is_some()))
    }

    /// Encrypts `plaintext` for one remote device, starting a session with
    /// X3DH when there is none.
    pub fn encrypt(
        &mut self,
        me: &LocalDevice<'_>,
        to: &RemoteDevice,
        plaintext: &[u8],
    ) -> Result<SessionMessage> {
        let mut record = self.store.load_session(&to.device)?.unwrap_or_default();
        if !record.current().is_some_and(|s| s.ratchet.can_send()) {
            record.promote(Self::initiate(me, to)?);
        }
        let state = record.current_mut().ok_or(SessionError::NoSession)?;
        let message = state.ratchet.encrypt(&state.ad, plaintext)?;
        let wrapped = match state.pending {
            Some(p) => SessionMessage::PreKey(PreKeyMessage {
                base_key: p.base_key,
                spk_id: p.spk_id,
                opk_id: p.opk_id,
                message,
            }),
            None => SessionMessage::Ratchet(message),
        };
        self.store.store_session(&to.device, &record)?;
        Ok(wrapped)
    }

    fn initiate(me: &LocalDevice<'_>, to: &RemoteDevice) -> Result<SessionState> {
        verify_prekey(&to.device, &to.prekey).map_err(|_| SessionError::BadPrekey)?;
        let ephemeral = DhSecret::generate()?;
        let base_key = DhKey(ephemeral.public_key()?.to_bytes());
        let one_time = to.one_time_prekey.as_ref().map(|(_, key)| key);
        let shared = x3dh::initiate(
            me.keys.identity(),
            &ephemeral,
            &to.identity_key,
            &to.prekey.key,
            one_time,
        )?;
        Ok(SessionState {
            ratchet: RatchetState::initiator(shared, to.prekey.key)?,
            ad: x3dh::associated_data(&me.party()?, &to.party())?,
            pending: Some(PendingPreKey {
                base_key,
                spk_id: to.prekey.id,
                opk_id: to.one_time_prekey.map(|(id, _)| id),
            }),
            remote_base_key: None,
        })
    }

    /// Decrypts a message from `from`. On any error nothing is stored.
    pub fn decrypt(
        &mut self,
        me: &LocalDevice<'_>,
        from: &RemoteDevice,
        message: &SessionMessage,
        now_ms: u64,
    ) -> Result<SecretVec> {
        self.decrypt_if(me, from, message, now_ms, |_| true)
    }

    /// [`Sessions::decrypt`], keeping what it changed only if `accept`
    /// takes the plaintext (`Rejected` otherwise, and nothing is stored):
    /// a valid message that is not the one expected (a forwarder swapped
    /// two envelopes) burns no message key and no prekey.
    pub fn decrypt_if(
        &mut self,
        me: &LocalDevice<'_>,
        from: &RemoteDevice,
        message: &SessionMessage,
        now_ms: u64,
        mut accept: impl FnMut(&[u8]) -> bool,
    ) -> Result<SecretVec> {
        message.check_limits()?;
        let mut record = self.store.load_session(&from.device)?.unwrap_or_default();
        let plaintext = match message {
            SessionMessage::PreKey(p) => match record.position_of_base_key(&p.base_key) {
                Some(i) => {
                    Self::decrypt_with(&mut record, i, &p.message, now_ms, &mut self.budget)?
                }
                None => self.respond(me, from, &mut record, p, now_ms, &mut accept)?,
            },
            SessionMessage::Ratchet(m) => {
                let mut last = SessionError::NoSession;
                let mut found = None;
                for i in 0..record.states().len() {
                    match Self::decrypt_with(&mut record, i, m, now_ms, &mut self.budget) {
                        Ok(plaintext) => {
                            found = Some(plaintext);
                            break;
                        }
                        Err(
                            e @ (SessionError::Duplicate
                            | SessionError::TooFarAhead
                            | SessionError::OverBudget),
                        ) => last = e,
                        Err(_) => {}
                    }
                }
                found.ok_or(last)?
            }
            // Not pairwise: opened with the author's chain (sender_keys.rs)
            // or the room's key (room.rs).
            SessionMessage::SenderKey(_) | SessionMessage::Room(_) => {
                return Err(SessionError::NoSession);
            }
        };
        // The loaded record is a copy: not storing it undoes the ratchet.
        if !accept(plaintext.expose()) {
            return Err(SessionError::Rejected);
        }
        self.store.store_session(&from.device, &record)?;
        Ok(plaintext)
    }

    /// Decrypts with session `index`; on success it becomes current and, as
    /// the peer has answered, stops sending pre-key messages.
    fn decrypt_with(
        record: &mut SessionRecord,
        index: usize,
        message: &kith_wire::RatchetMessage,
        now_ms: u64,
        budget: &mut SkipBudget,
    ) -> Result<SecretVec> {
        let mut state = record.take(index).ok_or(SessionError::NoSession)?;
        match state.ratchet.decrypt(&state.ad, message, now_ms, budget) {
            Ok(plaintext) => {
                state.pending = None;
                record.promote(state);
                Ok(plaintext)
            }
            Err(e) => {
                record.insert_at(index, state);
                Err(e)
            }
        }
    }

    fn respond(
        &mut self,
        me: &LocalDevice<'_>,
        from: &RemoteDevice,
        record: &mut SessionRecord,
        p: &PreKeyMessage,
        now_ms: u64,
        accept: &mut dyn FnMut(&[u8]) -> bool,
    ) -> Result<SecretVec> {
        let prekey = me
            .keys
            .prekey(p.spk_id)
            .ok_or(SessionError::UnknownPrekey)?;
        let one_time = match p.opk_id {
            Some(id) => Some(
                self.store
                    .take_one_time_prekey(id)?
                    .ok_or(SessionError::UnknownPrekey)?,
            ),
            None => None,
        };
        let attempt = (|| {
            let shared = x3dh::respond(
                me.keys.identity(),
                prekey.secret(),
                one_time.as_ref(),
                &from.identity_key,
                &p.base_key,
            )?;
            let mut state = SessionState {
                ratchet: RatchetState::responder(shared, prekey.secret())?,
                ad: x3dh::associated_data(&from.party(), &me.party()?)?,
                pending: None,
                remote_base_key: Some(p.base_key),
            };
            let plaintext =
                state
                    .ratchet
                    .decrypt(&state.ad, &p.message, now_ms, &mut self.budget)?;
            if !accept(plaintext.expose()) {
                return Err(SessionError::Rejected);
            }
            Ok((state, plaintext))
        })();
        let (state, plaintext) = match attempt {
            Ok(done) => done,
            Err(e) => {
                // Put a one-time prekey back: a forged message must not burn it.
                if let (Some(id), Some(secret)) = (p.opk_id, one_time.as_ref()) {
                    self.store.store_one_time_prekey(id, secret)?;
                }
                return Err(e);
            }
        };
        if !self.store.record_prekey_use(p.spk_id, &p.base_key)? {
            return Err(SessionError::Duplicate);
        }
        record.promote(state);
        Ok(plaintext)
    }

    /// Encrypts one plaintext for every device in `to`.
    pub fn fan_out(
        &mut self,
        me: &LocalDevice<'_>,
        to: &[RemoteDevice],
        plaintext: &[u8],
    ) -> FanOutResult {
        let mut result = FanOutResult::default();
        for device in to {
            match self.encrypt(me, device, plaintext) {
                Ok(message) => result.fan_out.envelopes.push(Envelope {
                    recipient: device.device,
                    message,
                }),
                Err(e) => result.failed.push((device.device, e)),
            }
        }
        result
    }

    /// Opens this device's envelope of a fan-out from `from`.
    pub fn open(
        &mut self,
        me: &LocalDevice<'_>,
        from: &RemoteDevice,
        fan_out: &FanOut,
        now_ms: u64,
    ) -> Result<SecretVec> {
        self.open_if(me, from, fan_out, now_ms, |_| true)
    }

    /// [`Sessions::open`] with [`Sessions::decrypt_if`]'s `accept`.
    pub fn open_if(
        &mut self,
        me: &LocalDevice<'_>,
        from: &RemoteDevice,
        fan_out: &FanOut,
        now_ms: u64,
        accept: impl FnMut(&[u8]) -> bool,
    ) -> Result<SecretVec> {
        fan_out.check_limits()?;
        let mine = me.keys.device_id();
        let envelope = fan_out
            .envelopes
            .iter()
            .find(|e| e.recipient == mine)
            .ok_or(SessionError::NotForMe)?;
        self.decrypt_if(me, from, &envelope.message, now_ms, accept)
    }

    /// Forgets every session with `device`, and the one-time prekey held
    /// for it: after a revocation.
    pub fn forget(&mut self, me: &LocalDevice<'_>, device: &DeviceId) -> Result<()> {
        self.store
            .take_one_time_prekey(one_time_slot(me, device)?)?;
        self.store.delete_session(device)
    }

    /// Drops replay-cache entries of signed prekeys this device no longer holds.
    pub fn retire_prekeys(&mut self, me: &LocalDevice<'_>) -> Result<()> {
        self.store.retain_prekey_uses(&me.keys.prekey_ids())
    }

    /// The one-time prekey to hand `peer` while it is connected: the one it
    /// was given before and has not used yet, else a new one. One per peer
    /// device, so the store grows with the peers and not with connections;
    /// never replaced while unused, so a message naming it still opens
    /// however late, and by whatever path, it comes.
    pub fn one_time_prekey_for(
        &mut self,
        me: &LocalDevice<'_>,
        peer: &DeviceId,
    ) -> Result<(u32, DhKey)> {
        let id = one_time_slot(me, peer)?;
        let secret = match self.store.held_one_time_prekey(id)? {
            Some(held) => held,
            None => {
                let fresh = DhSecret::generate()?;
                self.store.store_one_time_prekey(id, &fresh)?;
                fresh
            }
        };
        Ok((id, DhKey(secret.public_key()?.to_bytes())))
    }
}

/// The id of the one-time prekey held for `peer`: keyed with a secret of
/// this device, so no one can make a device id share another's slot (two
/// peers offered one key: the second's session could never be opened);
/// by chance, that takes about 2¹⁶ peers.
fn one_time_slot(me: &LocalDevice<'_>, peer: &DeviceId) -> Result<u32> {
    let hash = kith_crypto::hash::blake2b_256_keyed(
        me.keys.identity().secret().expose(),
        kith_wire::domain::ONE_TIME_PREKEY_SLOT,
        &[peer.as_bytes()],
    )?;
    let (first, _) = hash.split_at(4);
    let mut id = [0u8; 4];
    id.copy_from_slice(first);
    Ok(u32::from_be_bytes(id))
}
