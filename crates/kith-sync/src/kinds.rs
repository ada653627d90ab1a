//! Kinds of conversation, and what differs between them.
//!
//! Everything the engine decides per conversation goes through [`Rules`]:
//! who may sync it (be sent its entries, ask for its bodies), whose
//! entries are accepted, to whose devices a new entry's body is encrypted,
//! and whether delivery receipts are written. A new kind (private groups,
//! public rooms) is a new [`Rules`] chosen in [`rules`], not branches
//! across the engine. How a conversation comes into being on this device
//! differs too: a direct one appears on first contact (below); the self
//! log always exists; others are listed in the self log.

use kith_wire::{AccountId, ConversationId, ConversationKind};

use crate::conversation::Conversation;
use crate::error::{Result, SyncError};
use crate::ids::direct_conversation;
use crate::replica::Replica;
use crate::storage::Storage;

/// What one kind of conversation allows. The defaults are the member
/// list's rules: its accounts sync, write and receive every entry.
pub(crate) trait Rules: Sync {
    /// Whether `account`'s devices may sync the conversation.
    fn may_sync(&self, conversation: &Conversation, account: &AccountId) -> bool {
        conversation.members.contains(account)
    }

    /// Whether entries written by `account`'s devices are accepted.
    fn may_write(&self, conversation: &Conversation, account: &AccountId) -> bool {
        conversation.members.contains(account)
    }

    /// The accounts whose active devices a new entry's body is encrypted to.
    fn recipients<'c>(&self, conversation: &'c Conversation) -> &'c [AccountId] {
        &conversation.members
    }

    /// Whether receiving a message writes a delivery receipt.
    fn receipts(&self, conversation: &Conversation) -> bool;
}

/// The self log: this account's devices only; nothing to confirm.
struct SelfLog;

impl Rules for SelfLog {
    fn receipts(&self, _conversation: &Conversation) -> bool {
        false
    }
}

/// Two accounts; each device confirms what it received.
struct Direct;

impl Rules for Direct {
    fn receipts(&self, _conversation: &Conversation) -> bool {
        true
    }
}

/// A group: its current members (from its membership) sync it and get
/// its entries; whose entries count is decided entry by entry against the
/// membership the author saw (`groups.rs`), once the entry's causal past
/// is here.
struct Group;

impl Rules for Group {
    fn may_write(&self, _conversation: &Conversation, _account: &AccountId) -> bool {
        true
    }

    /// Every member device confirms every message: O(devices²) entries,
    /// so only in small groups.
    fn receipts(&self, conversation: &Conversation) -> bool {
        conversation.members.len() <= GROUP_RECEIPTS_UP_TO
    }
}

/// Groups of at most this many member accounts write per-device delivery
/// receipts; larger ones none (their senders see "sent", not per device).
pub const GROUP_RECEIPTS_UP_TO: usize = 16;

/// A public room: its members, and guests who came in through its door
/// (`rooms.rs`), sync it; whose entries count is decided as in a group;
/// no delivery receipts (a room may have thousands of members).
struct Room;

impl Rules for Room {
    fn may_sync(&self, conversation: &Conversation, account: &AccountId) -> bool {
        conversation.members.contains(account) || conversation.guests.contains(account)
    }

    fn may_write(&self, _conversation: &Conversation, _account: &AccountId) -> bool {
        true
    }

    fn receipts(&self, _conversation: &Conversation) -> bool {
        false
    }
}

/// The rules of a kind.
pub(crate) fn rules(kind: ConversationKind) -> &'static dyn Rules {
    match kind {
        ConversationKind::SelfLog => &SelfLog,
        ConversationKind::Direct => &Direct,
        ConversationKind::Group => &Group,
        ConversationKind::Room => &Room,
    }
}

impl Conversation {
    /// Whether `account`'s devices may sync this conversation.
    pub(crate) fn may_sync(&self, account: &AccountId) -> bool {
        rules(self.kind).may_sync(self, account)
    }

    /// Whether entries written by `account`'s devices are accepted.
    pub(crate) fn may_write(&self, account: &AccountId) -> bool {
        rules(self.kind).may_write(self, account)
    }

    /// The accounts whose active devices a new entry is encrypted to.
    pub(crate) fn recipients(&self) -> &[AccountId] {
        rules(self.kind).recipients(self)
    }

    /// Whether receiving a message here writes a delivery receipt.
    pub(crate) fn sends_receipts(&self) -> bool {
        rules(self.kind).receipts(self)
    }
}

impl<S: Storage> Replica<S> {
    /// Opens (or returns) the direct conversation with a contact whose device
    /// log is known.
    pub fn open_direct(&mut self, contact: &AccountId) -> Result<ConversationId> {
        if !self.logs.contains_key(contact) || *contact == self.account {
            return Err(SyncError::NotMember);
        }
        let id = direct_conversation(&self.account, contact)?;
        if !self.conversations.contains_key(&id) {
            let members = vec![self.account, *contact];
            self.conversations
                .insert(id, Conversation::new(id, ConversationKind::Direct, members));
            self.dirty_conversations.insert(id);
            self.flush()?;
        }
        Ok(id)
    }

    /// Creates a direct conversation on first contact from its other member.
    pub(crate) fn ensure_conversation(
        &mut self,
        id: &ConversationId,
        peer_account: &AccountId,
    ) -> Result<()> {
        if let Some(c) = self.conversations.get(id) {
            return if c.may_sync(peer_account) {
                Ok(())
            } else {
                Err(SyncError::NotMember)
            };
        }
        // A direct conversation appears on first contact: from the other
        // member, or from one of this account's own devices.
        let contact = if *peer_account == self.account {
            self.logs
                .keys()
                .filter(|a| **a != self.account)
                .find(|a| direct_conversation(&self.account, a).is_ok_and(|d| d == *id))
                .copied()
        } else {
            (direct_conversation(&self.account, peer_account)? == *id).then_some(*peer_account)
        };
        if let Some(contact) = contact {
            self.open_direct(&contact)?;
            return Ok(());
        }
        Err(SyncError::UnknownConversation)
    }
}
