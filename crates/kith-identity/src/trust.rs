//! Contacts and their trust states.
//!
//! Every contact is `Unvalidated` (the default, also for name-server
//! lookups), `Validated` (a safety number or QR code matched; the AccountId
//! is pinned) or `Compromised` (a failed comparison, equivocation, a rolled
//! back log, an account-compromised entry, or the user's word). Every change
//! is recorded with its reason. New devices of a contact are accepted when
//! its device log proves them, whatever the trust state.

use std::collections::BTreeMap;
use std::net::SocketAddr;

use kith_wire::{
    AccountId, DeviceId, EntryHash, Invite, InviteKind, SignedDeviceEntry, TransportId,
};
use serde::{Deserialize, Serialize};

use crate::device_log::{Compromise, DeviceLog, MergeReport};
use crate::error::{IdentityError, Result};
use crate::safety::SafetyNumber;

/// How far a contact is trusted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TrustState {
    /// Not compared yet (the default).
    Unvalidated,
    /// Safety number or QR code matched.
    Validated,
    /// Evidence or the user says the account cannot be trusted; sending
    /// pauses until the user decides.
    Compromised,
}

/// Why a trust state changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum TrustReason {
    /// The contact was added.
    Added,
    /// The user confirmed the 60-digit safety number.
    SafetyNumberMatch,
    /// The contact's QR code matched.
    QrMatch,
    /// The user entered a safety number that does not match.
    SafetyNumberMismatch,
    /// A scanned QR code did not match.
    QrMismatch,
    /// The contact's device log has two entries with one sequence number.
    Equivocation,
    /// A device of the contact presented an older log than before.
    Rollback,
    /// A device of the contact declared the account compromised.
    DeclaredCompromised,
    /// The user set the state by hand.
    UserAction,
}

/// One recorded change of trust.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustChange {
    /// State before.
    pub from: TrustState,
    /// State after.
    pub to: TrustState,
    /// Why.
    pub reason: TrustReason,
    /// When (Unix milliseconds).
    pub at_ms: u64,
}

/// Where a contact came from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ContactSource {
    /// An invite link or QR code.
    Invite,
    /// A name-server lookup of `name` at `url` (never validated by itself).
    NameLookup {
        /// The name looked up, `user@example.com`.
        name: String,
        /// The URL the invite came from.
        url: String,
    },
    /// The contact invited us and connected first.
    Inbound,
}

/// How to reach one device of a contact before (or besides) its log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct KnownDevice {
    /// Its iroh endpoint id.
    pub transport: TransportId,
    /// Addresses it was seen at.
    pub addresses: Vec<SocketAddr>,
}

/// A contact: another account, its device log, and how far we trust it.
#[derive(Clone, Debug)]
pub struct Contact {
    log: DeviceLog,
    /// The name the user gave the contact, if any.
    pub alias: Option<String>,
    /// The name the invite carried (shown until the log has a profile).
    pub invited_name: Option<String>,
    /// Where the contact came from.
    pub source: ContactSource,
    /// Devices known from invites and announcements, by device id.
    pub known_devices: BTreeMap<DeviceId, KnownDevice>,
    /// Heads presented by the contact that are not fetched yet.
    pub wanted_heads: Vec<EntryHash>,
    trust: TrustState,
    history: Vec<TrustChange>,
    /// Pieces of compromise evidence already acted on (by marking the
    /// contact compromised, or by the user overriding that).
    evidence_seen: usize,
}

impl Contact {
    /// A new, unvalidated contact for `account`.
    pub fn new(account: AccountId, source: ContactSource, now_ms: u64) -> Self {
        Self {
            log: DeviceLog::empty(account),
            alias: None,
            invited_name: None,
            source,
            known_devices: BTreeMap::new(),
            wanted_heads: Vec::new(),
            trust: TrustState::Unvalidated,
            history: vec![TrustChange {
                from: TrustState::Unvalidated,
                to: TrustState::Unvalidated,
                reason: TrustReason::Added,
                at_ms: now_ms,
            }],
            evidence_seen: 0,
        }
    }

    /// A new, unvalidated contact from a contact invite (scanned, pasted or
    /// found by a name lookup, as `source` says). The inviting device and
    /// its addresses are remembered, and the log heads are marked for fetching.
    pub fn from_invite(invite: &Invite, source: ContactSource, now_ms: u64) -> Result<Self> {
        let InviteKind::Contact {
            account,
            heads,
            name,
        } = &invite.kind
        else {
            return Err(IdentityError::Invite(
                "a device link is not a contact invite",
            ));
        };
        let mut contact = Self::new(*account, source, now_ms);
        contact.invited_name = Some(name.clone());
        contact.wanted_heads = heads.clone();
        contact.known_devices.insert(
            invite.device,
            KnownDevice {
                transport: invite.transport,
                addresses: invite.addresses.clone(),
            },
        );
        Ok(contact)
    }

    /// The contact's account.
    pub fn account_id(&self) -> AccountId {
        self.log.account_id()
    }

    /// Its device log (as fetched so far).
    pub fn log(&self) -> &DeviceLog {
        &self.log
    }

    /// The name to show: the user's alias, the account's profile name, or
    /// the name from the invite.
    pub fn display_name(&self) -> Option<&str> {
        self.alias
            .as_deref()
            .or(self.log.state().name.as_deref())
            .or(self.invited_name.as_deref())
    }

    /// The trust state.
    pub fn trust(&self) -> TrustState {
        self.trust
    }

    /// Every trust change, oldest first.
    pub fn history(&self) -> &[TrustChange] {
        &self.history
    }

    /// Whether the app should nudge the user to validate this contact.
    pub fn needs_validation(&self) -> bool {
        self.trust == TrustState::Unvalidated
    }

    /// Whether messages may go out without asking the user first.
    pub fn may_send(&self) -> bool {
        self.trust != TrustState::Compromised
    }

    /// The active devices the contact's log proves.
    pub fn devices(&self) -> Vec<DeviceId> {
        self.log
            .state()
            .active_devices()
            .map(|d| d.record.device)
            .collect()
    }

    fn change(&mut self, to: TrustState, reason: TrustReason, now_ms: u64) {
        let from = self.trust;
        self.trust = to;
        self.history.push(TrustChange {
            from,
            to,
            reason,
            at_ms: now_ms,
        });
    }

    /// Merges device-log entries fetched from any of the contact's devices.
    /// Evidence of compromise in the log marks the contact compromised.
    pub fn merge_log(
        &mut self,
        entries: impl IntoIterator<Item = SignedDeviceEntry>,
        now_ms: u64,
    ) -> MergeReport {
        let report = self.log.merge(entries);
        self.wanted_heads.retain(|h| !self.log.contains(h));
        self.react_to_evidence(now_ms);
        report
    }

    /// Checks heads a device of the contact presents; a rollback marks the
    /// contact compromised. Unknown heads are remembered for fetching.
    pub fn observe_heads(
        &mut self,
        presenter: &DeviceId,
        heads: &[EntryHash],
        now_ms: u64,
    ) -> Result<()> {
        for h in heads {
            if !self.log.contains(h) && !self.wanted_heads.contains(h) {
                self.wanted_heads.push(*h);
            }
        }
        let result = self.log.observe_heads(presenter, heads);
        self.react_to_evidence(now_ms);
        result
    }

    /// New evidence of compromise marks the contact compromised; evidence the
    /// user has already overridden does not do it again.
    fn react_to_evidence(&mut self, now_ms: u64) {
        let evidence = &self.log.state().compromise;
        if evidence.len() <= self.evidence_seen {
            return;
        }
        self.evidence_seen = evidence.len();
        if self.trust == TrustState::Compromised {
            return;
        }
        let reason = evidence.iter().next().map(|c| match c {
            Compromise::Equivocation { .. } => TrustReason::Equivocation,
            Compromise::Rollback { .. } => TrustReason::Rollback,
            Compromise::Declared { .. } => TrustReason::DeclaredCompromised,
        });
        if let Some(reason) = reason {
            self.change(TrustState::Compromised, reason, now_ms);
        }
    }

    /// The safety number between `me` and this contact.
    pub fn safety_number(&self, me: &AccountId) -> Result<SafetyNumber> {
        SafetyNumber::new(me, &self.account_id())
    }

    /// Validates by a safety number the user compared out of band. A match
    /// makes the contact validated; a mismatch makes it compromised.
    pub fn validate_safety_number(
        &mut self,
        me: &AccountId,
        typed: &str,
        now_ms: u64,
    ) -> Result<()> {
        if self.safety_number(me)?.matches(typed) {
            self.change(
                TrustState::Validated,
                TrustReason::SafetyNumberMatch,
                now_ms,
            );
            Ok(())
        } else {
            self.change(
                TrustState::Compromised,
                TrustReason::SafetyNumberMismatch,
                now_ms,
            );
            Err(IdentityError::SafetyNumberMismatch)
        }
    }

    /// Validates by the contact's scanned QR code (checks both directions).
    pub fn validate_scanned(&mut self, me: &AccountId, payload: &str, now_ms: u64) -> Result<()> {
        match self.safety_number(me)?.verify_scanned(payload) {
            Ok(()) => {
                self.change(TrustState::Validated, TrustReason::QrMatch, now_ms);
                Ok(())
            }
            Err(IdentityError::SafetyNumberMismatch) => {
                self.change(TrustState::Compromised, TrustReason::QrMismatch, now_ms);
                Err(IdentityError::SafetyNumberMismatch)
            }
            Err(other) => Err(other),
        }
    }

    /// Sets the trust state by the user's decision.
    pub fn set_trust(&mut self, to: TrustState, now_ms: u64) {
        self.evidence_seen = self.log.state().compromise.len();
        self.change(to, TrustReason::UserAction, now_ms);
    }
}
