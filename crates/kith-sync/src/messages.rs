//! Text messages: sending, and reading a conversation (all or the newest
//! page).

use kith_wire::{Content, ConversationId, EntryHash, EntryKind};

use crate::conversation::Body;
use crate::error::{Result, SyncError};
use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

impl<S: Storage> Replica<S> {
    /// Sends a text message.
    pub fn send_text(
        &mut self,
        conversation: ConversationId,
        text: &str,
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        self.send_reply(conversation, text, None, now_ms)
    }

    /// Sends a text message that answers `reply_to` (a message of the same
    /// conversation that is here), or none.
    pub fn send_reply(
        &mut self,
        conversation: ConversationId,
        text: &str,
        reply_to: Option<EntryHash>,
        now_ms: u64,
    ) -> Result<(EntryHash, Vec<Output>)> {
        if let Some(target) = &reply_to {
            let answered = self
                .conversations
                .get(&conversation)
                .and_then(|c| c.get(target))
                .is_some_and(|e| e.header.kind == EntryKind::Message);
            if !answered {
                return Err(SyncError::InvalidEntry(
                    "the message answered is not in this conversation",
                ));
            }
        }
        let content = Content::Text {
            text: text.to_owned(),
            reply_to,
        };
        self.write(conversation, EntryKind::Message, &content, now_ms)
    }

    /// The text messages of a conversation in display order: (entry, text if
    /// readable). Deleted entries are left out.
    pub fn messages(&self, conversation: &ConversationId) -> Vec<(EntryHash, Option<String>)> {
        self.latest_messages(conversation, usize::MAX).0
    }

    /// The newest `limit` text messages of a conversation in display order
    /// (as [`Replica::messages`]), and how many older ones there are.
    pub fn latest_messages(
        &self,
        conversation: &ConversationId,
        limit: usize,
    ) -> (Vec<(EntryHash, Option<String>)>, usize) {
        let Some(conv) = self.conversations.get(conversation) else {
            return (Vec::new(), 0);
        };
        let dropped = conv.dropped();
        let all: Vec<_> = conv
            .in_order()
            .filter(|e| e.header.kind == EntryKind::Message && e.body != Body::Deleted)
            // A group shows what counts, and only what this device can read
            // (messages from before it joined have no envelope for it).
            .filter(|e| {
                conv.membership.is_none() || (e.body != Body::Missing && !dropped.contains(&e.id))
            })
            .collect();
        let earlier = all.len().saturating_sub(limit);
        let page = all
            .into_iter()
            .skip(earlier)
            .map(|e| {
                let text = match &e.body {
                    Body::Plain {
                        content: Content::Text { text, .. },
                        ..
                    } => Some(text.clone()),
                    _ => None,
                };
                (e.id, text)
            })
            .collect();
        (page, earlier)
    }
}
