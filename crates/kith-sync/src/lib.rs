//! Kith's conversation logs and their synchronisation.
//!
//! A conversation is a set of member accounts and a log of signed entries
//! (headers signed by the author device; bodies encrypted once per member
//! device with `kith-session`). [`Replica`] is a sans-I/O engine: the network
//! feeds it [`Input`]s (connections, frames) and carries out its
//! [`Output`]s; [`sim::Sim`] drives many of them without sockets.
//! Protocol and formats: `docs/sync.md`.
#![forbid(unsafe_code)]

mod conversation;
mod error;
pub mod ids;
mod replica;
pub mod sim;
pub mod storage;

pub use conversation::{Body, Conversation, StoredEntry};
pub use error::{Result, SyncError};
pub use replica::{ContactRecord, Event, Input, Output, Replica, SelfState};
pub use storage::{LogStore, MemoryStorage, Storage};
