//! Sender keys in large groups (`docs/groups.md` §7): which entries go
//! under this device's chain, starting a new chain (its distribution is
//! written first, pairwise), encrypting under it, and taking the chains
//! other member devices distribute (and opening what waited for one).

use kith_wire::{
    Content, ConversationId, ConversationKind, DeviceId, EntryHash, EntryKind, Envelope, FanOut,
    SessionMessage, WireEntry,
};

use kith_session::RemoteDevice;

use crate::conversation::{Body, Conversation};
use crate::error::Result;
use crate::io::Output;
use crate::replica::Replica;
use crate::storage::Storage;

/// Groups whose messages reach at least this many other devices use
/// sender keys; smaller ones pairwise fan-out (measured: B6 in
/// `docs/benchmarks.md`).
pub const SENDER_KEYS_FROM_DEVICES: usize = 16;

impl<S: Storage> Replica<S> {
    /// From how many recipient devices a group's messages go under sender
    /// keys (tests and benchmarks choose; default [`SENDER_KEYS_FROM_DEVICES`]).
    pub fn set_sender_keys_from(&mut self, devices: usize) {
        self.sender_keys_from = devices;
    }

    /// Whether an entry of `kind` to `recipients` devices goes under this
    /// device's chain: messages of a large group; never membership changes
    /// (any member re-encrypts those for newcomers) nor distributions.
    pub(crate) fn under_sender_key(
        &self,
        conv: &Conversation,
        kind: EntryKind,
        recipients: usize,
    ) -> bool {
        matches!(conv.kind, ConversationKind::Group | ConversationKind::Room)
            && !matches!(kind, EntryKind::Membership | EntryKind::SenderKey)
            && recipients >= self.sender_keys_from
    }

    /// Before writing an entry under sender keys to `recipients`: when
    /// this device's chain is due (none yet, the member devices changed,
    /// used up, old), a new chain, distributed first. The chain is kept
    /// only once its distribution is durable: a crash between the two
    /// costs one more distribution, never a message nobody can open.
    pub(crate) fn rotate_if_due(
        &mut self,
        conversation: ConversationId,
        recipients: &[RemoteDevice],
        now_ms: u64,
    ) -> Result<Vec<Output>> {
        let recipients: Vec<DeviceId> = recipients.iter().map(|r| r.device).collect();
        if !self
            .sessions
            .sender_chain_due(&conversation, &recipients, now_ms)?
        {
            return Ok(Vec::new());
        }
        let chain = kith_session::sender_keys::NewChain::start(&recipients, now_ms)?;
        let (id, iteration, key) = chain.distribution();
        let content = Content::SenderKey {
            chain: id,
            iteration,
            key,
        };
        let (_, outputs) =
            self.write_to(conversation, EntryKind::SenderKey, &content, &[], now_ms)?;
        self.sessions.adopt_sender_chain(&conversation, chain)?;
        Ok(outputs)
    }

    /// A body under this device's chain: one envelope, named for this
    /// device (whoever holds its chain opens it).
    pub(crate) fn sender_key_body(
        &mut self,
        conversation: &ConversationId,
        plaintext: &[u8],
    ) -> Result<FanOut> {
        let me = self.device_id();
        let message = self.sessions.sender_encrypt(conversation, &me, plaintext)?;
        Ok(FanOut {
            envelopes: vec![Envelope {
                recipient: me,
                message: SessionMessage::SenderKey(message),
            }],
        })
    }

    /// After an entry's body became readable here: if it distributes
    /// another device's chain in a group, the chain is held; the chain is
    /// returned if it is new here.
    pub(crate) fn take_sender_key(
        &mut self,
        conversation: ConversationId,
        id: &EntryHash,
    ) -> Option<(DeviceId, u32)> {
        let entry = self.entry(&conversation, id)?;
        let (
            EntryKind::SenderKey,
            Body::Plain {
                content:
                    Content::SenderKey {
                        chain,
                        iteration,
                        key,
                    },
                ..
            },
        ) = (entry.header.kind, &entry.body)
        else {
            return None;
        };
        let author = entry.header.author_device;
        if author == self.device_id() {
            return None;
        }
        let (chain, iteration, key, order) = (*chain, *iteration, key.clone(), entry.header.seq);
        let given = kith_session::sender_keys::Given {
            chain,
            iteration,
            key: &key,
            order,
        };
        let held = self
            .sessions
            .hold_sender_chain(&conversation, author, given);
        held.unwrap_or(false).then_some((author, chain))
    }

    /// Opens `author`'s bodies under `chain` that were stored unreadable:
    /// only after a distribution's body arrived late (when it is stored
    /// readable, nothing under its chain can be here yet: those entries
    /// have it as an ancestor).
    pub(crate) fn open_waiting(
        &mut self,
        conversation: ConversationId,
        (author, chain): (DeviceId, u32),
        now_ms: u64,
    ) {
        let waiting: Vec<(EntryHash, WireEntry)> = self
            .conversations
            .get(&conversation)
            .map(|c| {
                c.in_order()
                    .filter(|e| e.header.author_device == author && e.body == Body::Missing)
                    .filter_map(|e| {
                        let body = e.fan_out.as_ref()?;
                        (body.sender_key()?.chain == chain).then(|| {
                            (
                                e.id,
                                WireEntry {
                                    header: e.signed.clone(),
                                    body: Some(body.clone()),
                                    rewrapped_by: None,
                                },
                            )
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        for (id, wire) in waiting {
            self.fill_body(conversation, &id, &wire, now_ms);
        }
    }
}
