//! Every table of the database, in one place. Names carry a version: a
//! format change is a new name plus a migration, never an in-place change.

use redb::TableDefinition;

/// Format facts (plain): `format` → version.
pub const META: TableDefinition<'_, &str, &[u8]> = TableDefinition::new("meta_v1");
/// Name of [`SESSIONS`].
pub const SESSIONS_NAME: &str = "sessions_v1";
/// Pairwise session records by remote device id (sealed).
pub const SESSIONS: TableDefinition<'_, &[u8; 32], &[u8]> = TableDefinition::new(SESSIONS_NAME);
/// Replay cache of pre-key messages: `spk_id (BE) || base key` → nothing.
pub const PREKEY_USES: TableDefinition<'_, &[u8; 36], ()> = TableDefinition::new("prekey_uses_v1");
/// Name of [`ONE_TIME_PREKEYS`].
pub const ONE_TIME_PREKEYS_NAME: &str = "one_time_prekeys_v1";
/// One-time prekey secrets by id (sealed).
pub const ONE_TIME_PREKEYS: TableDefinition<'_, u32, &[u8]> =
    TableDefinition::new(ONE_TIME_PREKEYS_NAME);

/// Name of [`CONVERSATIONS`].
pub const CONVERSATIONS_NAME: &str = "conversations_v1";
/// Conversations by id (sealed `ConversationRecord`).
pub const CONVERSATIONS: TableDefinition<'_, &[u8; 32], &[u8]> =
    TableDefinition::new(CONVERSATIONS_NAME);
/// Name of [`ENTRIES`].
pub const ENTRIES_NAME: &str = "entries_v1";
/// Conversation-log entries by `conversation id || entry hash` (sealed
/// `EntryRecord`: signed header, body, fan-out).
pub const ENTRIES: TableDefinition<'_, &[u8; 64], &[u8]> = TableDefinition::new(ENTRIES_NAME);

/// The `crypto_kdf` subkey number that seals each table's values.
/// Name of the profile table (sealed small records by string key).
pub const PROFILE_NAME: &str = "profile_v1";
/// The profile table: device keys, device logs, addresses, invites, settings.
pub const PROFILE: TableDefinition<'_, &str, &[u8]> = TableDefinition::new(PROFILE_NAME);

/// Name of [`SENDER_KEYS`].
pub const SENDER_KEYS_NAME: &str = "sender_keys_v1";
/// Sender-key records by group conversation id (sealed
/// `SenderKeyRecord`: this device's chain, the chains it holds).
pub const SENDER_KEYS: TableDefinition<'_, &[u8; 32], &[u8]> =
    TableDefinition::new(SENDER_KEYS_NAME);

pub(crate) fn subkey_id(table: &str) -> Option<u64> {
    match table {
        SESSIONS_NAME => Some(1),
        ONE_TIME_PREKEYS_NAME => Some(2),
        CONVERSATIONS_NAME => Some(3),
        ENTRIES_NAME => Some(4),
        PROFILE_NAME => Some(5),
        SENDER_KEYS_NAME => Some(6),
        _ => None,
    }
}

/// The database format written by this build.
pub const FORMAT_VERSION: u8 = 1;
