//! Public rooms in the engine: the link keys this account holds (from its
//! self log), the door (any member device opens the room to whoever
//! presents the door secret derived from its key) and the guests who came
//! in through it, who may sync the room until they join. Membership rules:
//! `kith_identity::membership`; design: `docs/groups.md` §8.

use kith_identity::{DeviceLog, MemberStatus, invite::room_door_secret};
use kith_wire::{
    AccountId, ConversationId, ConversationKind, EntryHeader, EntryKind, GroupOp, InviteSecret,
    RoomKey, SelfRecord,
};

use crate::error::{Result, SyncError};
use crate::io::{Event, Output};
use crate::replica::Replica;
use crate::storage::Storage;

/// Most guests a room holds at once on one device; a newer one takes the
/// place of another (who may knock again).
pub const MAX_ROOM_GUESTS: usize = 64;

impl<S: Storage> Replica<S> {
    /// Creates a public room with this account as its admin, and a fresh
    /// link key kept in the self log (so every device of mine is a door).
    pub fn create_room(
        &mut self,
        name: &str,
        now_ms: u64,
    ) -> Result<(ConversationId, Vec<Output>)> {
        let key = RoomKey(kith_crypto::random::array()?);
        let (room, mut outputs) = self.create_group(ConversationKind::Room, name, &[], now_ms)?;
        outputs.extend(self.record(SelfRecord::RoomKey { room, key }, now_ms)?);
        Ok((room, outputs))
    }

    /// The link key of a room this account joined or created.
    pub fn room_key(&self, room: &ConversationId) -> Option<&RoomKey> {
        self.room_keys.get(room)
    }

    /// The room whose door `secret` opens, among those this account is a
    /// member of (compared in constant time).
    pub fn room_for_door(&self, secret: &InviteSecret) -> Option<ConversationId> {
        self.room_keys
            .iter()
            .filter(|(id, _)| {
                self.group_state(id)
                    .is_some_and(|s| s.role_of(&self.account).is_some())
            })
            .find(|(_, key)| {
                room_door_secret(key)
                    .is_ok_and(|s| kith_crypto::ct_eq(s.as_bytes(), secret.as_bytes()))
            })
            .map(|(id, _)| *id)
    }

    /// Lets the account of `log` into a room as a guest: its devices may
    /// sync the room (and learn its members' devices) until they join.
    /// A banned, removed or departed account stays out.
    pub fn admit_guest(&mut self, room: &ConversationId, log: DeviceLog) -> Result<Vec<Output>> {
        let account = log.account_id();
        if account == self.account {
            return Err(SyncError::Membership("that is this account"));
        }
        let state = self
            .group_state(room)
            .filter(|_| self.room_keys.contains_key(room))
            .ok_or(SyncError::UnknownConversation)?;
        match state.members.get(&account).map(|m| m.status) {
            None | Some(MemberStatus::Active) => {}
            Some(MemberStatus::Banned { .. }) => {
                return Err(SyncError::Membership("banned from this room"));
            }
            Some(_) => {
                return Err(SyncError::Membership(
                    "no longer a member of this room, and may not come back",
                ));
            }
        }
        self.update_log(log);
        let conv = self
            .conversations
            .get_mut(room)
            .filter(|c| c.kind == ConversationKind::Room)
            .ok_or(SyncError::UnknownConversation)?;
        if !conv.members.contains(&account) {
            if conv.guests.len() >= MAX_ROOM_GUESTS && !conv.guests.contains(&account) {
                conv.guests.pop_first();
            }
            conv.guests.insert(account);
        }
        Ok(vec![Output::Event(Event::DirectoryChanged {
            accounts: vec![account],
        })])
    }

    /// A room's membership change signed by a device of an account not
    /// known here, whose log a member device offered: a stranger joining.
    /// Its log is taken, so its join can be checked (and, if it holds,
    /// what it writes after).
    pub(crate) fn take_joiner_log(&mut self, header: &EntryHeader) {
        let account = header.author_account;
        let joining = header.kind == EntryKind::Membership
            && !self.logs.contains_key(&account)
            && self
                .conversations
                .get(&header.conversation)
                .is_some_and(|c| c.kind == ConversationKind::Room)
            && self
                .offered_logs
                .get(&account)
                .is_some_and(|l| l.state().is_active(&header.author_device));
        if joining {
            self.take_offered_log(&account);
        }
    }

    /// Takes the log of `account` another account's device offered into
    /// the directory (stored with the outputs of the current input).
    pub(crate) fn take_offered_log(&mut self, account: &AccountId) {
        if let Some(log) = self.offered_logs.remove(account) {
            self.logs.insert(*account, log);
            self.forget_revoked();
            self.group_outputs
                .push(Output::Event(Event::DirectoryChanged {
                    accounts: vec![*account],
                }));
        }
    }

    /// Whether this account holds a room's key and its creation (so it
    /// can join it).
    pub fn room_arrived(&self, room: &ConversationId) -> bool {
        self.room_keys.contains_key(room)
            && self
                .group_state(room)
                .is_some_and(|s| s.creator.is_some() && s.kind == Some(ConversationKind::Room))
    }

    /// This account joins a room that arrived (written as a `Join` naming
    /// the heads of its device log); nothing is written if it is a member.
    pub fn join_room(&mut self, room: ConversationId, now_ms: u64) -> Result<Vec<Output>> {
        if !self.room_arrived(&room) {
            return Err(SyncError::UnknownConversation);
        }
        if self
            .group_state(&room)
            .is_some_and(|s| s.role_of(&self.account).is_some())
        {
            return Ok(Vec::new());
        }
        let heads = self
            .logs
            .get(&self.account)
            .map(|l| {
                l.state()
                    .heads
                    .iter()
                    .take(kith_wire::limits::MAX_INVITE_HEADS)
                    .copied()
                    .collect()
            })
            .unwrap_or_default();
        Ok(self
            .change_membership(room, GroupOp::Join { heads }, now_ms)?
            .1)
    }
}
