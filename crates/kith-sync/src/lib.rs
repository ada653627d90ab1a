//! Kith's conversation logs and their synchronisation.
//!
//! A conversation is a set of member accounts and a log of signed entries
//! (headers signed by the author device; bodies encrypted once per member
//! device with `kith-session`). [`Replica`] is a sans-I/O engine: the network
//! feeds it [`Input`]s (connections, frames) and carries out its
//! [`Output`]s; [`sim::Sim`] drives many of them without sockets.
//! Protocol and formats: `docs/sync.md`.
#![forbid(unsafe_code)]

mod accept;
mod acks;
mod anti_entropy;
mod bodies;
mod conversation;
mod directory;
mod error;
mod frames;
mod groups;
pub mod ids;
mod io;
mod kinds;
mod messages;
mod offers;
mod receipts;
mod replica;
mod rooms;
mod self_log;
mod sender_keys;
pub mod sim;
pub mod storage;
mod write;

pub use conversation::{Body, Conversation, StoredEntry};
pub use error::{Result, SyncError};
pub use io::{Event, Input, Output};
pub use kinds::GROUP_RECEIPTS_UP_TO;
pub use replica::Replica;
pub use self_log::{ContactRecord, SelfState};
pub use sender_keys::SENDER_KEYS_FROM_DEVICES;
pub use storage::{LogStore, MemoryStorage, Storage};
