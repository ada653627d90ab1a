//! Public rooms in the engine: the link keys this account holds (from its
//! self log), the door (any member device opens the room to whoever
//! presents the door secret derived from its key) and the guests who came
//! in through it, who may sync the room until they join. Membership rules:
//! `kith_identity::membership`; design: `docs/groups.md` §8.

use kith_identity::{DeviceLog, MemberStatus, RoomPolicy, invite::room_door_secret};
use kith_wire::{
    AccountId, ConversationId, ConversationKind, DeviceId, EntryHash, EntryHeader, EntryKind,
    Envelope, FanOut, GroupOp, InviteSecret, Posting, Role, RoomKey, RoomMessage, SelfRecord,
    SessionMessage,
};

use crate::bodies::readable_body;
use crate::conversation::{Body, Conversation};
use crate::error::{Result, SyncError};
use crate::io::{Event, Output};
use crate::replica::Replica;
use crate::storage::Storage;

/// Most guests a room holds at once on one device; a newer one takes the
/// place of another (who may knock again).
pub const MAX_ROOM_GUESTS: usize = 64;

/// How far ahead of this device's clock a post may be dated under slow
/// mode (later ones are taken when their time comes).
const MAX_CLOCK_AHEAD_MS: u64 = 5 * 60 * 1000;

/// Most earlier entries of one device looked at for its previous post.
const MAX_PREV_WALK: usize = 64;

/// Most joiners waiting for their device logs (`Replica::refused_joiners`).
const MAX_REFUSED_JOINERS: usize = 256;

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
        let mut outputs = vec![Output::Event(Event::DirectoryChanged {
            accounts: vec![account],
        })];
        // Devices of the guest already connected (a contact, say) get the
        // room now, not at their next connection.
        outputs.extend(self.send_whole_log(room, &account));
        Ok(outputs)
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

    /// A room's membership change by an account whose log is not here
    /// yet (frames need not arrive in order: the directory that brings it
    /// may come after): `from` is asked again once the log arrives.
    pub(crate) fn note_refused_joiner(&mut self, header: &EntryHeader, from: DeviceId) {
        let room = self
            .conversations
            .get(&header.conversation)
            .is_some_and(|c| c.kind == ConversationKind::Room);
        if room
            && header.kind == EntryKind::Membership
            && !self.logs.contains_key(&header.author_account)
            && self.refused_joiners.len() < MAX_REFUSED_JOINERS
        {
            self.refused_joiners.insert(header.author_account, from);
        }
    }

    /// The log of a joiner refused here arrived (offered by another
    /// account's device): the device that sent its join is asked again,
    /// as on a reconnection.
    pub(crate) fn ask_again_for_joiner(&mut self, account: &AccountId) -> Vec<Output> {
        match self.refused_joiners.remove(account) {
            Some(device) => self.hello(&device),
            None => Vec::new(),
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

    /// The key a new entry of `conversation` is sealed under: a room's,
    /// if this account holds it.
    pub(crate) fn room_body_key(&self, conversation: &Conversation) -> Option<RoomKey> {
        (conversation.kind == ConversationKind::Room)
            .then(|| self.room_keys.get(&conversation.id).cloned())
            .flatten()
    }

    /// A room body: one envelope (addressed to this device, its author)
    /// that every holder of the room's key opens.
    pub(crate) fn room_body(
        &self,
        key: &RoomKey,
        room: &ConversationId,
        plain: &[u8],
    ) -> Result<FanOut> {
        let me = self.device_id();
        let message = kith_session::room::room_seal(key, room, &me, plain)?;
        Ok(FanOut {
            envelopes: vec![Envelope {
                recipient: me,
                message: SessionMessage::Room(message),
            }],
        })
    }

    /// Opens a room body as its author sent it (never re-encrypted: any
    /// member device forwards it as it is) with the room's key, if this
    /// account holds it; the body must be the one the header names.
    pub(crate) fn open_room_body(
        &self,
        header: &EntryHeader,
        rewrapped_by: Option<DeviceId>,
        message: &RoomMessage,
    ) -> Body {
        let key = self
            .conversations
            .get(&header.conversation)
            .filter(|c| rewrapped_by.is_none() && c.kind == ConversationKind::Room)
            .and_then(|_| self.room_keys.get(&header.conversation));
        let Some(key) = key else {
            return Body::Missing;
        };
        let opened = kith_session::room::room_open(
            key,
            &header.conversation,
            &header.author_device,
            message,
        );
        opened
            .ok()
            .and_then(|bytes| readable_body(header, bytes.expose()))
            .unwrap_or(Body::Missing)
    }

    /// A room's key arrived on this device (another of my devices joined
    /// the room): connected devices are asked again for what we share,
    /// since a room's entries that came before the key were refused (its
    /// membership changes must be read to be taken) or stored unreadable
    /// (asked for again from my own devices, `hello`).
    pub(crate) fn room_key_arrived(&mut self) {
        let peers: Vec<DeviceId> = self.connected.iter().copied().collect();
        for peer in peers {
            let hello = self.hello(&peer);
            self.group_outputs.extend(hello);
        }
    }

    /// A room's posting policy, as the author saw it, for a post of one of
    /// its devices: only moderators post when the room says so, and under
    /// slow mode a member device's post comes at least that long after
    /// its previous one (by the times it gives; one dated too far ahead
    /// of this device's clock waits), moderators excepted.
    pub(crate) fn check_room_post(
        &self,
        conversation: &ConversationId,
        header: &EntryHeader,
        role: Role,
        policy: &RoomPolicy,
        now_ms: u64,
    ) -> Result<()> {
        if header.kind != EntryKind::Message || role >= Role::Moderator {
            return Ok(());
        }
        if policy.posting == Posting::Moderators {
            return Err(SyncError::Membership("only moderators post in this room"));
        }
        if policy.slow_mode_secs == 0 {
            return Ok(());
        }
        if header.sent_at_ms > now_ms.saturating_add(MAX_CLOCK_AHEAD_MS) {
            return Err(SyncError::InvalidEntry(
                "a post dated ahead of this device's clock (slow mode)",
            ));
        }
        let Some(conv) = self.conversations.get(conversation) else {
            return Ok(());
        };
        let mut prev = header.prev;
        for _ in 0..MAX_PREV_WALK {
            let Some(earlier) = prev.and_then(|p| conv.get(&p)) else {
                break;
            };
            if earlier.header.kind == EntryKind::Message {
                let gap = u64::from(policy.slow_mode_secs) * 1000;
                if header.sent_at_ms < earlier.header.sent_at_ms.saturating_add(gap) {
                    return Err(SyncError::Membership(
                        "slow mode: this device posted too recently",
                    ));
                }
                break;
            }
            prev = earlier.header.prev;
        }
        Ok(())
    }

    /// Whether an entry arriving in a room is a post a moderator removed
    /// (stored without its body; a membership change never is).
    pub(crate) fn is_removed_post(
        &self,
        conversation: &ConversationId,
        id: &EntryHash,
        kind: EntryKind,
    ) -> bool {
        kind != EntryKind::Membership
            && self
                .group_state(conversation)
                .is_some_and(|s| s.removed_posts.contains(id))
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
