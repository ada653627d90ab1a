//! The Kith node: a device profile (kith-store), its sync engine
//! (kith-sync) and its network endpoint (kith-net), composed behind one API
//! that the `kith` CLI and the app both call.
//!
//! Every identifier crosses this API as lowercase hex; every error carries a
//! stable code ([`CoreError`]). Events (new messages, deliveries, trust and
//! device changes) stream from [`Node::subscribe`].
#![forbid(unsafe_code)]

mod error;
mod join;
mod node;
mod profile;
mod views;

pub use error::{CODES, CoreError, Result};
pub use join::request_link;
pub use kith_net::{NetConfig, Relays};
pub use node::{Node, protection_from_env, unlock_from_env};
pub use views::{
    ContactView, DeviceView, Identity, MessageView, NodeEvent, Sent, SyncReport, trust_name,
};
