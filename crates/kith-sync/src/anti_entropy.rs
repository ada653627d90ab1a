//! Anti-entropy: which conversations a peer shares, the `Hello` summaries
//! and the `Entries` frames that bring a peer up to date.

use kith_wire::{ConversationId, DeviceId, EntryHash, Summary, SyncMessage, WireEntry, limits};

use crate::conversation::{Body, Conversation};
use crate::frames::{FRAME_BUDGET, size_of, split_by_size};
use crate::io::{Input, Output};
use crate::replica::Replica;
use crate::storage::Storage;

impl<S: Storage> Replica<S> {
    /// The conversations `peer` may see, or `None` if it is no member device.
    pub(crate) fn shared_with(&self, peer: &DeviceId) -> Option<Vec<ConversationId>> {
        let account = self.account_of(peer)?;
        Some(
            self.conversations
                .values()
                .filter(|c| c.may_sync(&account))
                .map(|c| c.id)
                .collect(),
        )
    }

    /// `Hello` to a peer, plus `WantBodies` if it is one of this account's
    /// devices and some bodies are unreadable here.
    pub(crate) fn hello(&self, peer: &DeviceId) -> Vec<Output> {
        let Some(shared) = self.shared_with(peer) else {
            return Vec::new();
        };
        let summaries = shared
            .iter()
            .filter_map(|id| self.conversations.get(id))
            .map(Conversation::summary)
            .collect();
        let mut outputs = vec![Output::Send {
            to: *peer,
            message: SyncMessage::Hello { summaries },
        }];
        // Bodies unreadable here, from conversations this peer shares: its
        // own devices can re-encrypt them, any member may hold the original.
        let missing: Vec<(ConversationId, EntryHash)> = shared
            .iter()
            .filter_map(|id| self.conversations.get(id))
            .flat_map(|c| c.unreadable().map(move |id| (c.id, *id)))
            .take(limits::MAX_MISSING_BODIES)
            .collect();
        if !missing.is_empty() {
            outputs.push(Output::Send {
                to: *peer,
                message: SyncMessage::WantBodies { entries: missing },
            });
        }
        outputs
    }

    /// This account's connected devices other than this one.
    pub(crate) fn connected_own(&self) -> Vec<DeviceId> {
        self.connected
            .iter()
            .filter(|d| self.account_of(d) == Some(self.account))
            .copied()
            .collect()
    }

    /// Frames carrying `ids` of `conversation` to `to`, bodies prepared for it.
    pub(crate) fn entries_frames(
        &mut self,
        to: &DeviceId,
        conversation: ConversationId,
        ids: &[EntryHash],
    ) -> Vec<Output> {
        let own = self.account_of(to) == Some(self.account);
        let target = self.remote(to);
        let mut wires = Vec::new();
        for id in ids {
            let Some(entry) = self.entry(&conversation, id) else {
                continue;
            };
            let has_envelope = entry
                .fan_out
                .as_ref()
                .is_some_and(|f| f.has_envelope_for(to));
            // A group's membership changes are re-encrypted for any member
            // device (a newcomer checks the chain of authority before it).
            let shareable = own || entry.header.kind == kith_wire::EntryKind::Membership;
            let (body, rewrapped_by) = match (&entry.body, shareable, has_envelope) {
                (Body::Deleted, _, _) => (None, None),
                (_, _, true) | (_, false, _) => (entry.fan_out.clone(), None),
                (Body::Plain { plain, .. }, true, false) => {
                    let plain = plain.clone();
                    (self.rewrap(target.as_ref(), &plain), Some(self.device_id()))
                }
                (Body::Missing, true, false) => (entry.fan_out.clone(), None),
            };
            let Some(entry) = self.entry(&conversation, id) else {
                continue;
            };
            let rewrapped_by = if body.is_some() { rewrapped_by } else { None };
            wires.push(WireEntry {
                header: entry.signed.clone(),
                body,
                rewrapped_by,
            });
        }
        split_by_size(wires, size_of, limits::MAX_ENTRIES_PER_FRAME, FRAME_BUDGET)
            .into_iter()
            .map(|entries| Output::Send {
                to: *to,
                message: SyncMessage::Entries {
                    conversation,
                    entries,
                },
            })
            .collect()
    }

    /// Every `Entries` frame this device would send `peer` if the peer had
    /// nothing yet (as on a first connection): history export, benchmarks.
    pub fn frames_for_new_peer(&mut self, peer: DeviceId, now_ms: u64) -> Vec<SyncMessage> {
        let hello = SyncMessage::Hello {
            summaries: Vec::new(),
        };
        self.handle(
            Input::Received {
                from: peer,
                message: hello,
            },
            now_ms,
        )
        .into_iter()
        .filter_map(|o| match o {
            Output::Send {
                message: m @ SyncMessage::Entries { .. },
                ..
            } => Some(m),
            _ => None,
        })
        .collect()
    }

    /// Answers a peer's `Hello`: every conversation we share, what the
    /// peer lacks, oldest first. A shared conversation missing from its
    /// summaries is one it has nothing of yet.
    pub(crate) fn answer_hello(&mut self, from: &DeviceId, summaries: &[Summary]) -> Vec<Output> {
        let mut outputs = Vec::new();
        for conversation in self.shared_with(from).unwrap_or_default() {
            let have = summaries
                .iter()
                .find(|s| s.conversation == conversation)
                .map(|s| s.have.clone())
                .unwrap_or_default();
            let Some(conv) = self.conversations.get(&conversation) else {
                continue;
            };
            let missing = conv.missing_for(&have);
            outputs.extend(self.entries_frames(from, conversation, &missing));
        }
        outputs
    }
}
