//! One conversation's log: verified entries, their causal structure, and
//! the display order every device computes identically.

use std::collections::{BTreeMap, BTreeSet};

use kith_wire::{
    AccountId, BodyPlain, Content, ConversationId, ConversationKind, DeviceId, EntryHash,
    EntryHeader, FanOut, SignedHeader, Summary,
};

use kith_identity::Membership;

use crate::error::{Result, SyncError};

/// What is known of an entry's body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Body {
    /// Decrypted and checked against the header.
    Plain {
        /// The salted plaintext (kept to re-encrypt for own devices).
        plain: BodyPlain,
        /// The decoded content.
        content: Content,
    },
    /// Not readable here (yet): no envelope for this device.
    Missing,
    /// Deleted by the user on one of this account's devices.
    Deleted,
}

/// A verified entry.
#[derive(Clone, Debug)]
pub struct StoredEntry {
    /// Its id.
    pub id: EntryHash,
    /// The signed header, as received.
    pub signed: SignedHeader,
    /// The decoded header.
    pub header: EntryHeader,
    /// The body as far as this device knows it.
    pub body: Body,
    /// The author's fan-out, kept to forward to other members' devices.
    pub fan_out: Option<FanOut>,
}

/// Where an entry stands against the log.
#[derive(Debug, PartialEq, Eq)]
pub enum Placement {
    /// All parents are here: it can be inserted.
    Ready,
    /// Some parents are missing: hold it back.
    Waiting,
}

/// A conversation and its log.
#[derive(Clone, Debug)]
pub struct Conversation {
    /// Its id.
    pub id: ConversationId,
    /// Its kind.
    pub kind: ConversationKind,
    /// Member accounts.
    pub members: Vec<AccountId>,
    entries: BTreeMap<EntryHash, StoredEntry>,
    by_author: BTreeMap<DeviceId, BTreeMap<u64, EntryHash>>,
    order: BTreeSet<(u64, DeviceId, u64, EntryHash)>,
    heads: BTreeSet<EntryHash>,
    /// Per author device: entries present from seq 0 without a gap.
    contiguous: BTreeMap<DeviceId, u64>,
    /// Entries whose body is missing here.
    unreadable: BTreeSet<EntryHash>,
    /// Groups and rooms: the membership their log's operations give.
    pub(crate) membership: Option<Membership>,
    /// Groups and rooms: per entry, the membership operations at or before
    /// it that no other one there follows (`groups.rs`).
    pub(crate) membership_upto: BTreeMap<EntryHash, Vec<EntryHash>>,
    /// Rooms: accounts that came in through the door (a link) and may
    /// sync the room until they join; in memory only (`rooms.rs`).
    pub(crate) guests: BTreeSet<AccountId>,
}

impl Conversation {
    /// An empty conversation.
    pub fn new(id: ConversationId, kind: ConversationKind, members: Vec<AccountId>) -> Self {
        Self {
            id,
            kind,
            members,
            entries: BTreeMap::new(),
            by_author: BTreeMap::new(),
            order: BTreeSet::new(),
            heads: BTreeSet::new(),
            contiguous: BTreeMap::new(),
            unreadable: BTreeSet::new(),
            membership: matches!(kind, ConversationKind::Group | ConversationKind::Room)
                .then(|| Membership::new(id)),
            membership_upto: BTreeMap::new(),
            guests: BTreeSet::new(),
        }
    }

    /// Whether `account` is a member.
    pub fn is_member(&self, account: &AccountId) -> bool {
        self.members.contains(account)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether the log is empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// An entry by id.
    pub fn get(&self, id: &EntryHash) -> Option<&StoredEntry> {
        self.entries.get(id)
    }

    /// Gives an entry whose body was missing its readable body (and, when
    /// it came from the author, the author's fan-out to forward).
    pub(crate) fn fill(&mut self, id: &EntryHash, body: Body, fan_out: Option<FanOut>) -> bool {
        let Some(entry) = self.entries.get_mut(id) else {
            return false;
        };
        if entry.body != Body::Missing {
            return false;
        }
        entry.body = body;
        if fan_out.is_some() {
            entry.fan_out = fan_out;
        }
        self.unreadable.remove(id);
        true
    }

    /// Drops the body and forwarding copy of every entry `gone` selects.
    pub(crate) fn delete_bodies(&mut self, gone: impl Fn(&StoredEntry) -> bool) -> Vec<EntryHash> {
        let mut changed = Vec::new();
        for entry in self.entries.values_mut() {
            if entry.body != Body::Deleted && gone(entry) {
                entry.body = Body::Deleted;
                entry.fan_out = None;
                self.unreadable.remove(&entry.id);
                changed.push(entry.id);
            }
        }
        changed
    }

    /// All entries in display order: causal, ties broken by (Lamport time,
    /// author device, sequence number). Identical on every device that has
    /// the same entries.
    pub fn in_order(&self) -> impl DoubleEndedIterator<Item = &StoredEntry> {
        self.order
            .iter()
            .filter_map(|(_, _, _, id)| self.entries.get(id))
    }

    /// The entries after `id` in display order (`None` if `id` is not
    /// here): what came after a read marker.
    pub fn after(&self, id: &EntryHash) -> Option<impl DoubleEndedIterator<Item = &StoredEntry>> {
        let h = &self.entries.get(id)?.header;
        let key = (h.lamport, h.author_device, h.seq, *id);
        Some(
            self.order
                .range((std::ops::Bound::Excluded(key), std::ops::Bound::Unbounded))
                .filter_map(|(_, _, _, id)| self.entries.get(id)),
        )
    }

    /// Entries whose body is missing here.
    pub fn unreadable(&self) -> impl Iterator<Item = &EntryHash> {
        self.unreadable.iter()
    }

    /// The current heads.
    pub fn heads(&self) -> Vec<EntryHash> {
        self.heads.iter().copied().collect()
    }

    /// What this device has: per author device, how many entries from seq 0
    /// are all here.
    pub fn summary(&self) -> Summary {
        let have = self.contiguous.iter().map(|(d, n)| (*d, *n)).collect();
        Summary {
            conversation: self.id,
            have,
        }
    }

    /// Entries the holder of `have` lacks, in display order.
    pub fn missing_for(&self, have: &[(DeviceId, u64)]) -> Vec<EntryHash> {
        // Walk each author's chain from the peer's count: the work grows with
        // the difference, not with the log.
        let known: BTreeMap<&DeviceId, u64> = have.iter().map(|(d, n)| (d, *n)).collect();
        let mut missing: Vec<(u64, DeviceId, u64, EntryHash)> = self
            .by_author
            .iter()
            .flat_map(|(device, seqs)| {
                let from = known.get(device).copied().unwrap_or(0);
                seqs.range(from..).filter_map(move |(seq, id)| {
                    self.entries
                        .get(id)
                        .map(|e| (e.header.lamport, *device, *seq, *id))
                })
            })
            .collect();
        missing.sort_unstable();
        missing.into_iter().map(|(_, _, _, id)| id).collect()
    }

    /// The next sequence number, previous entry, parents and Lamport time
    /// for a new entry by `author`.
    pub fn next_position(
        &self,
        author: &DeviceId,
    ) -> (u64, Option<EntryHash>, Vec<EntryHash>, u64) {
        let last = self
            .by_author
            .get(author)
            .and_then(|s| s.iter().next_back());
        let (seq, prev) = match last {
            Some((seq, id)) => (seq + 1, Some(*id)),
            None => (0, None),
        };
        let parents: Vec<EntryHash> = self
            .heads
            .iter()
            .take(kith_wire::limits::MAX_PARENTS)
            .copied()
            .collect();
        let lamport = self.lamport_after(&parents);
        (seq, prev, parents, lamport)
    }

    fn lamport_after(&self, parents: &[EntryHash]) -> u64 {
        parents
            .iter()
            .filter_map(|p| self.entries.get(p))
            .map(|e| e.header.lamport.saturating_add(1))
            .max()
            .unwrap_or(0)
    }

    /// Checks a verified header against the log.
    pub fn place(&self, id: &EntryHash, header: &EntryHeader) -> Result<Placement> {
        if header.conversation != self.id {
            return Err(SyncError::UnknownConversation);
        }
        if let Some(other) = self
            .by_author
            .get(&header.author_device)
            .and_then(|s| s.get(&header.seq))
        {
            return if other == id {
                Ok(Placement::Ready)
            } else {
                Err(SyncError::Equivocation)
            };
        }
        if (header.seq == 0) != header.prev.is_none() {
            return Err(SyncError::InvalidEntry(
                "sequence and previous-entry link disagree",
            ));
        }
        let parents_here = header.parents.iter().all(|p| self.entries.contains_key(p));
        let prev_here = header.prev.is_none_or(|p| self.entries.contains_key(&p));
        if !parents_here || !prev_here {
            return Ok(Placement::Waiting);
        }
        if let Some(prev) = header.prev.and_then(|p| self.entries.get(&p)) {
            let same_author = prev.header.author_device == header.author_device;
            if !same_author || prev.header.seq.checked_add(1) != Some(header.seq) {
                return Err(SyncError::InvalidEntry(
                    "previous entry is not the author's last one",
                ));
            }
        }
        let distinct: BTreeSet<_> = header.parents.iter().collect();
        if distinct.len() != header.parents.len() {
            return Err(SyncError::InvalidEntry("duplicate parent"));
        }
        if header.lamport != self.lamport_after(&header.parents) {
            return Err(SyncError::InvalidEntry("wrong lamport time"));
        }
        Ok(Placement::Ready)
    }

    /// Inserts an entry that [`Conversation::place`] found ready.
    pub fn insert(&mut self, entry: StoredEntry) {
        let h = &entry.header;
        for parent in &h.parents {
            self.heads.remove(parent);
        }
        if let Some(prev) = &h.prev {
            self.heads.remove(prev);
        }
        self.heads.insert(entry.id);
        self.by_author
            .entry(h.author_device)
            .or_default()
            .insert(h.seq, entry.id);
        let seqs = self.by_author.get(&h.author_device);
        let count = self.contiguous.entry(h.author_device).or_insert(0);
        while seqs.is_some_and(|s| s.contains_key(count)) {
            *count += 1;
        }
        if entry.body == Body::Missing {
            self.unreadable.insert(entry.id);
        }
        self.order
            .insert((h.lamport, h.author_device, h.seq, entry.id));
        self.entries.insert(entry.id, entry);
    }
}
