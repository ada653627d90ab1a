//! The account device log: which devices make up an account.
//!
//! The log is a DAG of signed entries (see `docs/identity.md`). Its state is
//! a pure function of the *set* of entries it holds, so merging copies in any
//! order, any number of times, gives the same result on every device.
//!
//! Validity has two parts:
//!
//! * **At issuance** (checked on insert, from the entry's causal past only):
//!   the signature, the structure (sequence numbers, parents, cut-offs,
//!   countersignatures), and that the author was an active device in the
//!   log as the author saw it. An entry that fails is refused.
//! * **In the whole log** (evaluated over all entries): a revocation that
//!   was valid at issuance removes its target for good, and *strong remove*
//!   drops every entry of the target that is not in the revocation's causal
//!   past, along with the devices such dropped entries had added. Two
//!   devices that revoke each other concurrently are both removed.
//!
//! Two entries by one author with one sequence number (equivocation), an
//! `AccountCompromised` entry, or a device presenting heads older than ones
//! it showed before (rollback) mark the account compromised.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use kith_crypto::hash::blake2b_256;
use kith_wire::{
    AccountId, DeviceId, DeviceLogEntry, DeviceOp, EntryHash, SignedDeviceEntry, domain, encode,
    limits,
};

use crate::error::{IdentityError, Result};
use crate::keys::{DeviceKeys, verify_join, verify_prekey, verify_record, verify_transport_proof};

mod evaluate;
mod incremental;
mod pending;
mod rollback;
mod state;

use crate::strong_remove::{BitSet, Work};
use incremental::{Incremental, Shortcut};
pub use state::{Compromise, DeviceState, DeviceStatus, Inserted, LogState, MergeReport};

/// One stored entry.
#[derive(Clone, Debug)]
struct Node {
    hash: EntryHash,
    signed: SignedDeviceEntry,
    entry: DeviceLogEntry,
    /// Longest path from the genesis (the genesis has depth 0).
    depth: u64,
    /// Indices of every entry in this entry's causal past.
    ancestors: BitSet,
    /// How many revocations are in it.
    revocations_before: usize,
}

/// Most entries held back waiting for parents.
const MAX_PENDING: usize = 1024;

/// One account's device log.
#[derive(Clone, Debug)]
pub struct DeviceLog {
    account: AccountId,
    nodes: Vec<Node>,
    by_hash: HashMap<EntryHash, usize>,
    /// Entries whose parents have not arrived, by hash.
    pending: BTreeMap<EntryHash, SignedDeviceEntry>,
    /// Held-back entries by a parent they wait for (`None`: the genesis).
    waiting: HashMap<Option<EntryHash>, Vec<EntryHash>>,
    /// Each author's entries, in the order stored.
    by_author: HashMap<DeviceId, Vec<usize>>,
    /// The entries adding each device.
    adds_of: HashMap<DeviceId, Vec<usize>>,
    /// Authors with two entries of one sequence number.
    equivocators: BTreeSet<DeviceId>,
    /// The revocations' indices.
    revocations: BitSet,
    /// Rollback evidence (the only part of the state not derived from entries).
    rollbacks: BTreeSet<Compromise>,
    state: LogState,
    incremental: Incremental,
    /// Evaluation steps taken, for tests of how work grows.
    work: Work,
}

/// The hash of a signed device-log entry.
pub fn entry_hash(signed: &SignedDeviceEntry) -> Result<EntryHash> {
    Ok(EntryHash(blake2b_256(
        domain::DEVICE_LOG_HASH,
        &[&encode(signed)?],
    )?))
}

/// The account id a genesis entry defines.
pub fn account_id_of(genesis: &SignedDeviceEntry) -> Result<AccountId> {
    Ok(AccountId(blake2b_256(
        domain::ACCOUNT_ID,
        &[&encode(genesis)?],
    )?))
}

impl DeviceLog {
    /// Creates a new account: the genesis entry, written by `keys`.
    pub fn create(keys: &DeviceKeys, name: &str, now_ms: u64) -> Result<Self> {
        limits::check_name(name)?;
        let prekey = keys
            .current_prekey()
            .ok_or(IdentityError::InvalidEntry("no prekey"))?;
        let entry = DeviceLogEntry {
            account: None,
            author: keys.device_id(),
            seq: 0,
            prev: None,
            parents: Vec::new(),
            created_at_ms: now_ms,
            op: DeviceOp::Genesis {
                device: keys.record()?,
                prekey: prekey.public().clone(),
                nonce: kith_crypto::random::array()?,
            },
        };
        let signed = keys.sign(domain::DEVICE_LOG_ENTRY, &entry)?;
        let mut log = Self::empty(account_id_of(&signed)?);
        log.insert(signed)?;
        log.append(
            keys,
            DeviceOp::Profile {
                name: name.to_owned(),
            },
            now_ms,
        )?;
        Ok(log)
    }

    /// An empty log for `account`, to be filled from entries fetched from a
    /// contact's devices. Only the genesis whose hash is `account` is accepted
    /// as the root.
    pub fn empty(account: AccountId) -> Self {
        Self {
            account,
            nodes: Vec::new(),
            by_hash: HashMap::new(),
            pending: BTreeMap::new(),
            waiting: HashMap::new(),
            by_author: HashMap::new(),
            adds_of: HashMap::new(),
            equivocators: BTreeSet::new(),
            revocations: BitSet::default(),
            incremental: Incremental::default(),
            rollbacks: BTreeSet::new(),
            state: LogState::default(),
            work: Work::default(),
        }
    }

    /// A log rebuilt from its entries (any order), as stored or received:
    /// the genesis among them names the account, every entry is checked.
    /// Fails when there is no genesis or no entry survives the checks.
    pub fn from_entries(entries: Vec<SignedDeviceEntry>) -> Result<Self> {
        let genesis = entries
            .iter()
            .find(|e| {
                e.peek(limits::MAX_ENTRY_BYTES)
                    .is_ok_and(|entry: DeviceLogEntry| entry.account.is_none())
            })
            .ok_or(IdentityError::InvalidEntry("no genesis entry"))?;
        let mut log = Self::empty(account_id_of(genesis)?);
        log.merge(entries);
        if log.is_empty() {
            return Err(IdentityError::InvalidEntry("no valid entry"));
        }
        Ok(log)
    }

    /// The account this log describes.
    pub fn account_id(&self) -> AccountId {
        self.account
    }

    /// The current state.
    pub fn state(&self) -> &LogState {
        &self.state
    }

    /// The state a full evaluation of every stored entry gives, without
    /// the incremental shortcuts: for tests, which compare it with
    /// [`DeviceLog::state`].
    #[doc(hidden)]
    pub fn state_evaluated_in_full(&self) -> LogState {
        let mut copy = self.clone();
        copy.evaluate();
        copy.state
    }

    /// Number of stored entries.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no entry is stored (not even the genesis).
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Whether the entry is stored.
    pub fn contains(&self, hash: &EntryHash) -> bool {
        self.by_hash.contains_key(hash)
    }

    /// All stored entries, parents before children.
    pub fn entries(&self) -> impl Iterator<Item = &SignedDeviceEntry> {
        self.nodes.iter().map(|n| &n.signed)
    }

    /// When `device` joined the account: the time its genesis or
    /// `AddDevice` entry says it was written (informative only).
    pub fn added_at_ms(&self, device: &DeviceId) -> Option<u64> {
        self.nodes
            .iter()
            .filter(|n| match &n.entry.op {
                DeviceOp::Genesis { device: d, .. } | DeviceOp::AddDevice { device: d, .. } => {
                    d.device == *device
                }
                _ => false,
            })
            .map(|n| n.entry.created_at_ms)
            .min()
    }

    /// The elementary steps evaluating this log has taken so far (entries
    /// and relations between them examined): how the work grows with the
    /// log, measured without a clock.
    pub fn evaluation_steps(&self) -> u64 {
        self.work.get()
    }

    /// Entries waiting for parents.
    pub fn pending_len(&self) -> usize {
        self.pending.len()
    }

    /// Inserts many entries, in any order; commutative and idempotent.
    /// The log is evaluated once, at the end.
    pub fn merge(&mut self, entries: impl IntoIterator<Item = SignedDeviceEntry>) -> MergeReport {
        let mut report = MergeReport::default();
        for signed in entries {
            match self.insert_unevaluated(signed) {
                Ok(Inserted::New(_)) => report.added += 1,
                Ok(Inserted::Known(_)) => {}
                Ok(Inserted::Pending(_)) => report.pending += 1,
                Err(e) => report.rejected.push(e),
            }
        }
        self.refresh();
        report.pending = self.pending.len();
        report
    }

    /// Inserts one entry after checking it. Entries whose parents are not
    /// yet known are held back and inserted when the parents arrive.
    pub fn insert(&mut self, signed: SignedDeviceEntry) -> Result<Inserted> {
        let inserted = self.insert_unevaluated(signed);
        self.refresh();
        inserted
    }

    /// Evaluates the log if an entry was stored without a shortcut.
    fn refresh(&mut self) {
        if !self.incremental.fresh {
            self.evaluate();
        }
    }

    fn insert_unevaluated(&mut self, signed: SignedDeviceEntry) -> Result<Inserted> {
        let hash = entry_hash(&signed)?;
        if self.by_hash.contains_key(&hash) {
            return Ok(Inserted::Known(hash));
        }
        let entry: DeviceLogEntry = signed.peek(limits::MAX_ENTRY_BYTES)?;
        entry.check_limits()?;
        signed.verify(domain::DEVICE_LOG_ENTRY, &entry.author)?;
        if entry.account.is_some_and(|a| a != self.account) {
            return Err(IdentityError::WrongAccount);
        }
        let missing: Vec<Option<EntryHash>> = entry
            .parents
            .iter()
            .filter(|p| !self.by_hash.contains_key(*p))
            .map(|p| Some(*p))
            .chain((self.nodes.is_empty() && entry.account.is_some()).then_some(None))
            .collect();
        if !missing.is_empty() {
            if self.pending.contains_key(&hash) {
                return Ok(Inserted::Pending(hash));
            }
            if self.pending.len() >= MAX_PENDING {
                return Err(IdentityError::LogFull);
            }
            for parent in missing {
                self.waiting.entry(parent).or_default().push(hash);
            }
            self.pending.insert(hash, signed);
            return Ok(Inserted::Pending(hash));
        }
        self.insert_ready(hash, signed, entry)?;
        self.drain_pending(hash);
        Ok(Inserted::New(hash))
    }

    /// Checks an entry whose parents are all known and stores it.
    fn insert_ready(
        &mut self,
        hash: EntryHash,
        signed: SignedDeviceEntry,
        entry: DeviceLogEntry,
    ) -> Result<()> {
        if self.nodes.len() >= limits::MAX_DEVICE_LOG_ENTRIES {
            return Err(IdentityError::LogFull);
        }
        let mut ancestors = BitSet::default();
        let mut depth = 0u64;
        let mut parent_indices = BTreeSet::new();
        for parent in &entry.parents {
            let &i = self
                .by_hash
                .get(parent)
                .ok_or(IdentityError::InvalidEntry("unknown parent"))?;
            if !parent_indices.insert(i) {
                return Err(IdentityError::InvalidEntry("duplicate parent"));
            }
            let node = self
                .nodes
                .get(i)
                .ok_or(IdentityError::InvalidEntry("unknown parent"))?;
            ancestors.insert(i);
            ancestors.union_with(&node.ancestors);
            depth = depth.max(node.depth.saturating_add(1));
        }
        self.check_structure(&signed, &entry, &ancestors)?;
        let past = ancestors.count();
        let revocations_before = ancestors.count_common(&self.revocations);
        if !self.incremental.fresh && past == self.nodes.len() {
            // On top of everything: evaluate once so the entry, and those
            // that follow it, take the shortcut.
            self.evaluate();
        }
        let shortcut = self.shortcut(&entry, &ancestors, past);
        if !matches!(entry.op, DeviceOp::Genesis { .. }) {
            // Active as the author saw the log: the state itself for a
            // sink, else known by chain or from the view of the causal
            // past.
            let active = match shortcut {
                Some(Shortcut::Sink) => self.state.is_active(&entry.author),
                _ => {
                    self.active_by_chain(&entry, revocations_before)
                        || self.view(&ancestors).active().contains(&entry.author)
                }
            };
            if !active {
                return Err(IdentityError::NotAuthorized);
            }
        }
        let index = self.nodes.len();
        let author = entry.author;
        // An author's chain is stored in order, so an entry whose sequence
        // number is not past the author's last one reuses a number.
        let last_seq = self.last_seq(&author);
        if last_seq.is_some_and(|last| entry.seq <= last) {
            self.equivocators.insert(author);
        }
        if let DeviceOp::Genesis { device, .. } | DeviceOp::AddDevice { device, .. } = &entry.op {
            self.adds_of.entry(device.device).or_default().push(index);
        }
        if matches!(entry.op, DeviceOp::RevokeDevice { .. }) {
            self.revocations.insert(index);
        }
        self.by_author.entry(author).or_default().push(index);
        self.nodes.push(Node {
            hash,
            signed,
            entry,
            depth,
            ancestors,
            revocations_before,
        });
        self.by_hash.insert(hash, index);
        match shortcut {
            Some(shortcut) => self.apply_shortcut(index, shortcut),
            None => {
                self.incremental.fresh = false;
            }
        }
        Ok(())
    }

    /// The sequence number of `author`'s last stored entry.
    fn last_seq(&self, author: &DeviceId) -> Option<u64> {
        self.by_author
            .get(author)
            .and_then(|chain| chain.last())
            .and_then(|&i| self.nodes.get(i))
            .map(|n| n.entry.seq)
    }

    /// Rules that need only the entry and its causal past.
    fn check_structure(
        &self,
        signed: &SignedDeviceEntry,
        entry: &DeviceLogEntry,
        ancestors: &BitSet,
    ) -> Result<()> {
        let invalid = |why| Err(IdentityError::InvalidEntry(why));
        if (entry.seq == 0) != entry.prev.is_none() {
            return invalid("sequence and previous-entry link disagree");
        }
        if let Some(prev) = &entry.prev {
            let Some(&p) = self.by_hash.get(prev) else {
                return invalid("unknown previous entry");
            };
            let node = self
                .nodes
                .get(p)
                .ok_or(IdentityError::InvalidEntry("unknown previous entry"))?;
            if !ancestors.contains(p)
                || node.entry.author != entry.author
                || node.entry.seq.checked_add(1) != Some(entry.seq)
            {
                return invalid("previous entry is not the author's last one");
            }
        }
        match &entry.op {
            DeviceOp::Genesis { device, prekey, .. } => {
                if entry.account.is_some() || !entry.parents.is_empty() || entry.seq != 0 {
                    return invalid("genesis must be the first entry");
                }
                if account_id_of(signed)? != self.account {
                    return Err(IdentityError::WrongAccount);
                }
                if device.device != entry.author {
                    return invalid("genesis device must be its author");
                }
                verify_record(device)?;
                verify_prekey(&device.device, prekey)?;
            }
            op => {
                if entry.account != Some(self.account) {
                    return Err(IdentityError::WrongAccount);
                }
                if entry.parents.is_empty() {
                    return invalid("entry without parents");
                }
                match op {
                    DeviceOp::AddDevice {
                        device,
                        prekey,
                        countersignature,
                    } => {
                        if device.device == entry.author {
                            return invalid("a device cannot add itself");
                        }
                        verify_record(device)?;
                        verify_prekey(&device.device, prekey)?;
                        verify_join(&self.account, device, countersignature)?;
                    }
                    DeviceOp::RotatePrekey { prekey } => verify_prekey(&entry.author, prekey)?,
                    DeviceOp::ProveTransport { signature } => {
                        let transport = self
                            .adds_of
                            .get(&entry.author)
                            .into_iter()
                            .flatten()
                            .filter(|&&i| ancestors.contains(i))
                            .filter_map(|&i| self.nodes.get(i))
                            .find_map(|n| match &n.entry.op {
                                DeviceOp::Genesis { device, .. }
                                | DeviceOp::AddDevice { device, .. }
                                    if device.device == entry.author =>
                                {
                                    Some(device.transport)
                                }
                                _ => None,
                            })
                            .ok_or(IdentityError::InvalidEntry("proof for an unknown device"))?;
                        verify_transport_proof(&entry.author, &transport, signature)?;
                    }
                    DeviceOp::RevokeDevice { device, cutoff, .. }
                        if self.last_seen(device, ancestors) != *cutoff =>
                    {
                        return invalid("revocation cut-off does not match its causal past");
                    }
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// The newest sequence number of `device` among `ancestors`. A device
    /// that never equivocated has a chain, stored in order, whose entries in
    /// a causal past are a prefix of it: found by bisection.
    fn last_seen(&self, device: &DeviceId, ancestors: &BitSet) -> Option<u64> {
        let chain = self.by_author.get(device).map(Vec::as_slice).unwrap_or(&[]);
        let seq = |i: &usize| self.nodes.get(*i).map(|n| n.entry.seq);
        if self.equivocators.contains(device) {
            self.work.add(chain.len());
            return chain
                .iter()
                .filter(|&&i| ancestors.contains(i))
                .filter_map(seq)
                .max();
        }
        self.work
            .add(usize::BITS.saturating_sub(chain.len().leading_zeros()) as usize + 1);
        let seen = chain.partition_point(|&i| ancestors.contains(i));
        seen.checked_sub(1).and_then(|k| chain.get(k)).and_then(seq)
    }

    /// Writes a new entry by this device and inserts it.
    pub fn append(
        &mut self,
        keys: &DeviceKeys,
        op: DeviceOp,
        now_ms: u64,
    ) -> Result<SignedDeviceEntry> {
        let author = keys.device_id();
        if !self.state.is_active(&author) {
            return Err(IdentityError::NotAuthorized);
        }
        let last = self
            .by_author
            .get(&author)
            .into_iter()
            .flatten()
            .filter_map(|&i| self.nodes.get(i).map(|n| (i, n)))
            .max_by_key(|(_, n)| n.entry.seq);
        let (seq, prev) = match last {
            Some((i, n)) => (n.entry.seq.saturating_add(1), Some((i, n.hash))),
            None => (0, None),
        };
        let mut parents = self.state.heads.clone();
        if parents.len() > limits::MAX_PARENTS {
            parents.truncate(limits::MAX_PARENTS);
            if let Some((p, prev_hash)) = prev {
                let reaches_prev = parents.iter().any(|h| {
                    self.by_hash
                        .get(h)
                        .and_then(|&i| self.nodes.get(i))
                        .is_some_and(|n| n.hash == prev_hash || n.ancestors.contains(p))
                });
                if !reaches_prev {
                    parents.pop();
                    parents.push(prev_hash);
                }
            }
        }
        let op = match op {
            DeviceOp::RevokeDevice { device, reason, .. } => {
                let cutoff = self
                    .by_author
                    .get(&device)
                    .into_iter()
                    .flatten()
                    .filter_map(|&i| self.nodes.get(i))
                    .map(|n| n.entry.seq)
                    .max();
                DeviceOp::RevokeDevice {
                    device,
                    cutoff,
                    reason,
                }
            }
            op => op,
        };
        let entry = DeviceLogEntry {
            account: Some(self.account),
            author,
            seq,
            prev: prev.map(|(_, h)| h),
            parents,
            created_at_ms: now_ms,
            op,
        };
        let signed = keys.sign(domain::DEVICE_LOG_ENTRY, &entry)?;
        self.insert(signed.clone())?;
        Ok(signed)
    }
}
