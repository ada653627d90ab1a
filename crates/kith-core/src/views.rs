//! What the API returns: plain data, identifiers as lowercase hex.

use std::collections::BTreeMap;

use kith_wire::TrustLevel;
use serde::Serialize;

/// This device and its account.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Identity {
    /// The account.
    pub account_id: String,
    /// This device.
    pub device_id: String,
    /// The account's display name.
    pub name: String,
    /// Where this device listens (empty when offline and unknown).
    pub addresses: Vec<String>,
    /// The relay this device last announced as its way in (its home relay,
    /// once connected to one), if any.
    pub relay: Option<String>,
}

/// A contact.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ContactView {
    /// Its account id.
    pub contact_id: String,
    /// The name I gave it, or the name it gave itself.
    pub name: Option<String>,
    /// `unvalidated`, `validated` or `compromised`.
    pub state: &'static str,
    /// Its active devices (empty until its device log has been fetched).
    pub devices: Vec<String>,
    /// The names its devices gave themselves, by device id (active ones).
    pub device_names: BTreeMap<String, String>,
    /// For a validated contact: active devices it gained since I validated
    /// it or last acknowledged its devices. Show it ("Bob has a new
    /// device"), and offer to compare safety numbers again or acknowledge.
    pub new_devices: Vec<String>,
    /// Where it came from or why its trust last changed ("added from an
    /// invite", "looked up alice@example.com at …", "safety number compared").
    pub note: String,
}

/// One of my devices.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DeviceView {
    /// The device.
    pub device_id: String,
    /// Its name.
    pub name: String,
    /// `active` or `revoked`.
    pub state: &'static str,
    /// Whether it is the device this node runs on.
    pub this_device: bool,
    /// For a revoked device, why, in words for the person (by whom; when
    /// its revoker was removed at the same time, that it can be linked
    /// again).
    pub note: Option<String>,
    /// When it last said where it is (its newest signed address
    /// announcement, Unix milliseconds; it makes one when it goes online and
    /// daily while it stays online), if known.
    pub last_seen_ms: Option<u64>,
    /// When it joined the account (Unix milliseconds, as its device-log
    /// entry says), if known.
    pub linked_at_ms: Option<u64>,
}

/// A message in display order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessageView {
    /// The message (its entry hash).
    pub message_id: String,
    /// The conversation.
    pub conversation_id: String,
    /// Who wrote it.
    pub author_account: String,
    /// On which device.
    pub author_device: String,
    /// The text (`None` while the body has not arrived).
    pub text: Option<String>,
    /// When the author's device wrote it (Unix milliseconds).
    pub sent_at: u64,
    /// Per recipient device: `pending` or `delivered`.
    pub delivery: BTreeMap<String, &'static str>,
    /// The message it answers, quoted.
    pub reply_to: Option<QuoteView>,
    /// The author's name as I know it (my name for a contact, else the
    /// name the author's devices gave it), if any.
    pub author_name: Option<String>,
}

/// A member of a group or room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MemberView {
    /// Its account id.
    pub account_id: String,
    /// The name I know it by (a stranger's is the one it gave itself).
    pub name: Option<String>,
    /// `admin`, `moderator` or `member`.
    pub role: &'static str,
}

/// A group or room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct GroupView {
    /// Its id.
    pub group_id: String,
    /// Its name.
    pub name: String,
    /// `group` or `room`.
    pub kind: &'static str,
    /// My role: `admin`, `moderator`, `member`, `removed` (an admin
    /// removed me) or `left`.
    pub role: &'static str,
    /// Its members now.
    pub members: Vec<MemberView>,
    /// Rooms: who may post, `everyone` or `moderators` (none for a group).
    pub posting: Option<&'static str>,
    /// Rooms: seconds between two posts of one member device (0: any pace).
    pub slow_mode_secs: Option<u32>,
}

/// A group I left.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LeftGroup {
    /// The group.
    pub group_id: String,
    /// Always true.
    pub left: bool,
}

/// A room just created, and the link that lets people in.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoomCreated {
    /// Its id.
    pub group_id: String,
    /// Its name.
    pub name: String,
    /// Its `kith-room:` link, with this device as the door.
    pub uri: String,
}

/// A room's link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoomLink {
    /// The `kith-room:` link, with this device as the door.
    pub uri: String,
}

/// A room I joined.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RoomJoined {
    /// Its id.
    pub group_id: String,
    /// Its name.
    pub name: String,
}

/// A post removed from a room for everyone.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct RemovedPost {
    /// The room.
    pub group_id: String,
    /// The post.
    pub message_id: String,
    /// Always true.
    pub removed: bool,
}

/// A message another one answers, as the answer quotes it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct QuoteView {
    /// The message answered.
    pub message_id: String,
    /// Who wrote it (`None` when it is not on this device).
    pub author_account: Option<String>,
    /// Its text (`None` when it was deleted or has not arrived).
    pub text: Option<String>,
}

/// A conversation as the conversation list shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct ConversationView {
    /// The conversation.
    pub conversation_id: String,
    /// `direct`, `group` or `room`.
    pub kind: &'static str,
    /// For a direct conversation: the contact.
    pub contact: Option<ContactView>,
    /// For a group or room: it.
    pub group: Option<GroupView>,
    /// The newest message, if any.
    pub last: Option<LastMessage>,
    /// Messages from others after my read marker (the same on all my
    /// devices: the marker travels in the self log).
    pub unread: u32,
    /// Muted on my devices: no notifications.
    pub muted: bool,
}

/// The newest message of a conversation, for its preview.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct LastMessage {
    /// The message.
    pub message_id: String,
    /// Whether I wrote it (on any of my devices).
    pub mine: bool,
    /// Its text (`None` while the body has not arrived).
    pub text: Option<String>,
    /// When its author's device wrote it (Unix milliseconds).
    pub sent_at: u64,
}

/// A message that matches a search.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SearchHit {
    /// Its conversation.
    pub conversation_id: String,
    /// For a direct conversation: the contact.
    pub contact_id: Option<String>,
    /// The message.
    pub message_id: String,
    /// Whether I wrote it.
    pub mine: bool,
    /// Its text.
    pub text: String,
    /// When it was written (Unix milliseconds).
    pub sent_at: u64,
    /// How many messages of its conversation come after it: a page of
    /// `from_end + 1` newest messages shows it.
    pub from_end: u32,
}

/// The newest messages of a conversation.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct MessagePage {
    /// In display order, the newest last.
    pub messages: Vec<MessageView>,
    /// How many older messages are not in this page.
    pub earlier: u32,
}

/// A message written (queued; delivered when possible).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct Sent {
    /// The message.
    pub message_id: String,
    /// Its conversation.
    pub conversation_id: String,
}

/// What a `sync` reached.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SyncReport {
    /// Devices connected during the sync.
    pub reached: Vec<String>,
    /// Devices that could not be reached.
    pub unreachable: Vec<String>,
    /// Whether the sync ended because it was done (not at the timeout).
    pub complete: bool,
}

/// Something that happened, for the UI.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, serde::Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum NodeEvent {
    /// A message arrived (or one of mine from another of my devices).
    MessageReceived {
        /// The conversation.
        conversation_id: String,
        /// The message.
        message_id: String,
        /// Its author.
        author_account: String,
    },
    /// A device confirmed messages.
    Delivered {
        /// The conversation.
        conversation_id: String,
        /// The confirming device.
        device_id: String,
        /// The messages.
        message_ids: Vec<String>,
    },
    /// A contact was added or its trust state changed.
    TrustChanged {
        /// The contact.
        contact_id: String,
        /// Its state now.
        state: String,
    },
    /// The devices of an account (mine or a contact's) changed.
    DevicesChanged {
        /// The account.
        account_id: String,
    },
    /// This device was revoked by another device of the account.
    ThisDeviceRevoked,
    /// A conversation was read or muted (on this or another of my
    /// devices), or a message's text arrived after the message.
    ConversationChanged {
        /// The conversation.
        conversation_id: String,
    },
    /// A message or conversation was deleted on my devices.
    Deleted {
        /// The conversation.
        conversation_id: String,
    },
    /// Storage failed: the last network input was not acknowledged.
    StorageFailed {
        /// Why.
        message: String,
    },
}

/// The name of a trust level as the API spells it.
pub fn trust_name(level: TrustLevel) -> &'static str {
    match level {
        TrustLevel::Unvalidated => "unvalidated",
        TrustLevel::Validated => "validated",
        TrustLevel::Compromised => "compromised",
    }
}
