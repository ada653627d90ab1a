//! Groups and rooms in the engine: creating one, writing membership
//! changes, checking every entry of a group against the membership its
//! author saw, and the members' device logs that travel with the group.
//! Rules of membership: `kith_identity::membership`, `docs/groups.md`.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use kith_identity::{GroupState, IdentityError, Membership, group_id};
use kith_wire::{
    AccountId, Content, ConversationId, ConversationKind, EntryHash, EntryHeader, EntryKind,
    GroupOp, Role,
};

use crate::conversation::{Body, Conversation, StoredEntry};
use crate::error::{Result, SyncError};
use crate::io::{Event, Output};
use crate::replica::Replica;
use crate::storage::Storage;

/// What a refused membership change says.
fn refused(e: IdentityError) -> SyncError {
    match e {
        IdentityError::Membership(why) => SyncError::Membership(why),
        IdentityError::Wire(w) => SyncError::Wire(w),
        _ => SyncError::Membership("not a valid membership change"),
    }
}

/// The membership operations in the causal past of an entry with this
/// header, from what each parent had at or before it.
fn past_of(
    m: &Membership,
    upto: &BTreeMap<EntryHash, Vec<EntryHash>>,
    header: &EntryHeader,
) -> Vec<EntryHash> {
    let mut all: Vec<EntryHash> = header
        .parents
        .iter()
        .chain(header.prev.iter())
        .filter_map(|p| upto.get(p))
        .flatten()
        .copied()
        .collect();
    all.sort();
    all.dedup();
    m.frontier(&all)
}

impl Conversation {
    /// The membership operations in the causal past of an entry with this
    /// header (those no other one there follows).
    pub(crate) fn membership_past(&self, header: &EntryHeader) -> Vec<EntryHash> {
        match &self.membership {
            Some(m) => past_of(m, &self.membership_upto, header),
            None => Vec::new(),
        }
    }

    /// Records where an entry just inserted stands in the membership.
    pub(crate) fn note_membership(&mut self, entry: &StoredEntry) {
        if self.membership.is_none() {
            return;
        }
        let is_op = self
            .membership
            .as_ref()
            .is_some_and(|m| m.contains(&entry.id));
        let upto = if is_op {
            vec![entry.id]
        } else {
            self.membership_past(&entry.header)
        };
        self.membership_upto.insert(entry.id, upto);
    }

    /// The members now (accounts), from the membership; whether they changed.
    pub(crate) fn refresh_members(&mut self) -> bool {
        let Some(m) = &self.membership else {
            return false;
        };
        let active: Vec<AccountId> = m.state().active().map(|(a, _)| *a).collect();
        if active.is_empty() || active == self.members {
            return false;
        }
        self.guests.retain(|g| !active.contains(g));
        self.members = active;
        true
    }

    /// Re-derives the membership from the stored entries (after a reload:
    /// the display order is causal).
    pub(crate) fn rebuild_membership(&mut self) {
        let Some(mut m) = self.membership.take().map(|m| Membership::new(m.group())) else {
            return;
        };
        let mut upto = BTreeMap::new();
        for e in self.in_order() {
            let past = past_of(&m, &upto, &e.header);
            if let (
                EntryKind::Membership,
                Body::Plain {
                    content: Content::Membership(op),
                    ..
                },
            ) = (e.header.kind, &e.body)
            {
                // Stored entries were checked when they arrived.
                let _ = m.insert(e.id, e.header.author_account, op.clone(), &past);
            }
            let here = if m.contains(&e.id) { vec![e.id] } else { past };
            upto.insert(e.id, here);
        }
        if let Some(kind) = m.state().kind {
            self.kind = kind;
        }
        self.membership = Some(m);
        self.membership_upto = upto;
        self.refresh_members();
    }

    /// The entries of a group that strong remove drops: what a removed (or
    /// departed) member wrote outside the causal past of the entry that
    /// ended its membership. Kept in the log (later entries may name them
    /// as parents) but shown nowhere. One walk back per ended member.
    pub fn dropped(&self) -> BTreeSet<EntryHash> {
        let mut dropped = BTreeSet::new();
        let Some(m) = &self.membership else {
            return dropped;
        };
        for (account, member) in &m.state().members {
            let Some(ended) = member.ended_by() else {
                continue;
            };
            let theirs: Vec<&StoredEntry> = self
                .in_order()
                .filter(|e| e.header.author_account == *account && e.id != ended)
                .collect();
            let Some(floor) = theirs.iter().map(|e| e.header.lamport).min() else {
                continue;
            };
            let seen = self.past_down_to(&ended, floor);
            dropped.extend(theirs.iter().map(|e| e.id).filter(|id| !seen.contains(id)));
        }
        dropped
    }

    /// The causal past of `of`, as far back as Lamport time `floor`.
    fn past_down_to(&self, of: &EntryHash, floor: u64) -> BTreeSet<EntryHash> {
        let mut seen = BTreeSet::new();
        let mut queue = VecDeque::from([*of]);
        while let Some(id) = queue.pop_front() {
            let Some(e) = self.get(&id) else { continue };
            for p in e.header.parents.iter().chain(e.header.prev.iter()) {
                let reached = self.get(p).is_some_and(|pe| pe.header.lamport >= floor);
                if reached && seen.insert(*p) {
                    queue.push_back(*p);
                }
            }
        }
        seen
    }
}

impl<S: Storage> Replica<S> {
    /// Creates a group (or room) with this account as its admin and adds
    /// `members` (accounts whose device logs are known). Works offline:
    /// members get it when their devices are reached.
    pub fn create_group(
        &mut self,
        kind: ConversationKind,
        name: &str,
        members: &[AccountId],
        now_ms: u64,
    ) -> Result<(ConversationId, Vec<Output>)> {
        kith_wire::limits::check_name(name)?;
        for m in members {
            if !self.logs.contains_key(m) || *m == self.account {
                return Err(SyncError::NotMember);
            }
        }
        let nonce: [u8; 32] = kith_crypto::random::array()?;
        let id = group_id(kind, &self.account, &nonce).map_err(refused)?;
        self.conversations
            .insert(id, Conversation::new(id, kind, vec![self.account]));
        self.dirty_conversations.insert(id);
        let create = GroupOp::Create {
            kind,
            name: name.to_owned(),
            nonce,
        };
        let (_, mut outputs) = self.change_membership(id, create, now_ms)?;
        let mut added = BTreeSet::new();
        for m in members {
            if added.insert(*m) {
                let op = self.add_op(m, Role::Member)?;
                outputs.extend(self.change_membership(id, op, now_ms)?.1);
            }
        }
        Ok((id, outputs))
    }

    /// An `Add` of a known account, naming the heads of its device log.
    pub fn add_op(&self, account: &AccountId, role: Role) -> Result<GroupOp> {
        let log = self.logs.get(account).ok_or(SyncError::NotMember)?;
        let heads: Vec<EntryHash> = log
            .state()
            .heads
            .iter()
            .take(kith_wire::limits::MAX_INVITE_HEADS)
            .copied()
            .collect();
        Ok(GroupOp::Add {
            account: *account,
            role,
            heads,
        })
    }

    /// Writes a membership change (checked against the membership this
    /// device sees; refused changes write nothing). An added account's
    /// devices get the change too, and then the group's whole log.
    pub fn change_membership(
        &mut self,
        conversation: ConversationId,
        op: GroupOp,
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        let added = match &op {
            GroupOp::Add { account, .. } => Some(*account),
            _ => None,
        };
        let extra: Vec<AccountId> = added.into_iter().collect();
        let content = Content::Membership(op);
        let (id, mut outputs) = self.write_to(
            conversation,
            EntryKind::Membership,
            &content,
            &extra,
            now_ms,
        )?;
        if let Some(account) = added {
            outputs.extend(self.send_whole_log(&conversation, &account));
        }
        Ok((id, outputs))
    }

    /// The directory and a group's whole log, to the connected devices of
    /// `account` (an account just added, or let into a room).
    pub(crate) fn send_whole_log(
        &mut self,
        conversation: &ConversationId,
        account: &AccountId,
    ) -> Vec<Output> {
        let all: Vec<EntryHash> = self
            .conversations
            .get(conversation)
            .map(|c| c.in_order().map(|e| e.id).collect())
            .unwrap_or_default();
        let devices: Vec<_> = self
            .connected
            .iter()
            .filter(|d| self.account_of(d) == Some(*account))
            .copied()
            .collect();
        let mut outputs = Vec::new();
        for device in devices {
            outputs.extend(self.directory_to(&device));
            outputs.extend(self.entries_frames(&device, *conversation, &all));
        }
        outputs
    }

    /// Every conversation this device holds.
    pub fn conversation_ids(&self) -> Vec<ConversationId> {
        self.conversations.keys().copied().collect()
    }

    /// The membership of a group or room.
    pub fn group_state(&self, conversation: &ConversationId) -> Option<&GroupState> {
        self.conversations
            .get(conversation)
            .and_then(|c| c.membership.as_ref())
            .map(Membership::state)
    }

    /// Checks an entry of a group before it is stored: a membership change
    /// must be readable and valid where its author wrote it; any other
    /// entry's author must have been a member there. Direct and self
    /// conversations refuse membership changes.
    pub(crate) fn check_group_entry(
        &mut self,
        conversation: &ConversationId,
        id: &EntryHash,
        header: &EntryHeader,
        body: &Body,
        now_ms: u64,
    ) -> Result<()> {
        let conv = self
            .conversations
            .get_mut(conversation)
            .ok_or(SyncError::UnknownConversation)?;
        let past = conv.membership_past(header);
        let Some(m) = conv.membership.as_mut() else {
            return match header.kind {
                EntryKind::Membership => {
                    Err(SyncError::InvalidEntry("membership change outside a group"))
                }
                EntryKind::SenderKey => {
                    Err(SyncError::InvalidEntry("sender-key chain outside a group"))
                }
                _ => Ok(()),
            };
        };
        if header.kind == EntryKind::Membership {
            let Body::Plain {
                content: Content::Membership(op),
                ..
            } = body
            else {
                return Err(SyncError::Membership(
                    "a membership change must be readable",
                ));
            };
            return m
                .insert(*id, header.author_account, op.clone(), &past)
                .map_err(refused);
        }
        let seen = m.state_at(&past).map_err(refused)?;
        let Some(role) = seen.role_of(&header.author_account) else {
            return Err(SyncError::Membership("the author was not a member"));
        };
        self.check_room_post(conversation, header, role, &seen.policy, now_ms)
    }

    /// After a group entry is stored: its place in the membership, the
    /// member list, and the device logs of new members taken from the
    /// logs other members' devices offered.
    pub(crate) fn after_group_entry(
        &mut self,
        conversation: &ConversationId,
        id: &EntryHash,
    ) -> Vec<Output> {
        let Some(conv) = self.conversations.get_mut(conversation) else {
            return Vec::new();
        };
        if conv.membership.is_none() {
            return Vec::new();
        }
        if let Some(entry) = conv.get(id).cloned() {
            conv.note_membership(&entry);
            if let Body::Plain {
                content: Content::Membership(GroupOp::RemovePost { entry: post }),
                ..
            } = &entry.body
            {
                let gone =
                    conv.delete_bodies(|e| e.id == *post && e.header.kind != EntryKind::Membership);
                self.dirty_entries
                    .extend(gone.into_iter().map(|e| (*conversation, e)));
            }
        }
        if let Some(kind) = conv.membership.as_ref().and_then(|m| m.state().kind)
            && conv.kind != kind
        {
            conv.kind = kind;
            self.dirty_conversations.insert(*conversation);
        }
        let changed = conv.refresh_members();
        let mut outputs = self.adopt_member_logs();
        if changed {
            self.dirty_conversations.insert(*conversation);
            // Members' devices learn the logs (and addresses) of members
            // they may not know, before the entries that need them.
            outputs.extend(self.publish_directory());
        }
        outputs
    }

    /// Every account that is or was a member of a group this account is
    /// in, or of a room it holds the key of (joining it).
    pub fn group_accounts(&self) -> BTreeSet<AccountId> {
        self.conversations
            .values()
            .filter_map(|c| c.membership.as_ref().map(|m| (c.id, m)))
            .filter(|(id, m)| {
                m.state().role_of(&self.account).is_some() || self.room_keys.contains_key(id)
            })
            .flat_map(|(_, m)| m.state().members.keys().copied().collect::<Vec<_>>())
            .filter(|a| *a != self.account)
            .collect()
    }

    /// Whether `account` is a member of a group `peer` is in too (or of a
    /// room `peer` came into as a guest).
    pub(crate) fn co_member(&self, account: &AccountId, peer: &AccountId) -> bool {
        self.conversations.values().any(|c| {
            c.membership.as_ref().is_some_and(|m| {
                let s = m.state();
                (s.role_of(peer).is_some() || c.guests.contains(peer))
                    && s.members.contains_key(account)
            })
        })
    }

    /// A frame of an unknown conversation that starts with a group's
    /// creation by a known account (or, for a room whose key this account
    /// holds, by an account whose log its door device offered): the group
    /// is taken tentatively (kept only if the creation checks out,
    /// [`Replica::drop_if_not_group`]).
    pub(crate) fn offer_group(
        &mut self,
        conversation: &ConversationId,
        entries: &[kith_wire::WireEntry],
    ) -> bool {
        let joining = self.room_keys.contains_key(conversation);
        let creation = entries.iter().find_map(|w| {
            let h: EntryHeader = w.header.peek(kith_wire::limits::MAX_ENTRY_BYTES).ok()?;
            let known = self.logs.contains_key(&h.author_account)
                || (joining && self.offered_logs.contains_key(&h.author_account));
            (h.conversation == *conversation
                && h.seq == 0
                && h.parents.is_empty()
                && h.kind == EntryKind::Membership
                && known)
                .then_some(h.author_account)
        });
        let Some(creator) = creation else {
            return false;
        };
        self.take_offered_log(&creator);
        // The kind is the creation's; corrected when it is read.
        let kind = if joining {
            ConversationKind::Room
        } else {
            ConversationKind::Group
        };
        self.conversations.insert(
            *conversation,
            Conversation::new(*conversation, kind, vec![creator]),
        );
        true
    }

    /// Forgets a tentatively taken group whose creation did not check out.
    pub(crate) fn drop_if_not_group(&mut self, conversation: &ConversationId) {
        let created = self
            .conversations
            .get(conversation)
            .and_then(|c| c.membership.as_ref())
            .is_some_and(|m| m.state().creator.is_some());
        if created {
            self.dirty_conversations.insert(*conversation);
            return;
        }
        self.conversations.remove(conversation);
        self.pending.remove(conversation);
        self.dirty_conversations.remove(conversation);
        self.dirty_entries.retain(|(c, _)| c != conversation);
    }

    /// Whether `account` is a member of a group the device `from` is in.
    pub(crate) fn co_member_of_sender(
        &self,
        account: &AccountId,
        from: &kith_wire::DeviceId,
    ) -> bool {
        self.account_of(from)
            .is_some_and(|peer| self.co_member(account, &peer))
    }

    /// The connected devices of a group's members, other than this
    /// account's and `from`'s: where what `from` sent goes on.
    pub(crate) fn group_forward_targets(
        &self,
        conversation: &ConversationId,
        from: AccountId,
    ) -> Vec<kith_wire::DeviceId> {
        let Some(conv) = self
            .conversations
            .get(conversation)
            .filter(|c| c.membership.is_some())
        else {
            return Vec::new();
        };
        self.connected
            .iter()
            .filter(|d| {
                self.account_of(d)
                    .is_some_and(|a| a != self.account && a != from && conv.may_sync(&a))
            })
            .copied()
            .collect()
    }

    /// Device logs of group members offered by other members' devices,
    /// taken once the membership names their accounts.
    pub(crate) fn adopt_member_logs(&mut self) -> Vec<Output> {
        let wanted = self.group_accounts();
        let adopt: Vec<AccountId> = self
            .offered_logs
            .keys()
            .filter(|a| wanted.contains(a) && !self.logs.contains_key(a))
            .copied()
            .collect();
        if adopt.is_empty() {
            return Vec::new();
        }
        for account in &adopt {
            if let Some(log) = self.offered_logs.remove(account) {
                self.logs.insert(*account, log);
            }
        }
        self.forget_revoked();
        vec![Output::Event(Event::DirectoryChanged { accounts: adopt })]
    }
}
