//! The Kith node: a device profile (kith-store), its sync engine
//! (kith-sync) and its network endpoint (kith-net), composed behind one API
//! that the `kith` CLI and the app both call.
//!
//! Every identifier crosses this API as lowercase hex; every error carries a
//! stable code ([`CoreError`]). Events (new messages, deliveries, trust and
//! device changes) stream from [`Node::subscribe`].
#![forbid(unsafe_code)]

mod backoff;
mod compaction;
mod contacts;
mod conversations;
mod devices;
mod error;
mod events;
mod groups;
mod host;
mod inbox;
mod join;
mod link_service;
mod node;
mod online;
mod prekeys;
mod profile;
mod profile_table;
mod protection;
mod rooms;
mod search;
mod trust;
mod views;

pub use error::{CODES, CoreError, Result};
pub use host::{Host, MIN_PASSPHRASE_CHARS, NetworkSettings, Status, default_data_dir};
pub use join::request_link;
pub use kith_identity::invite::{CONTACT_SCHEME, LINK_SCHEME, ROOM_SCHEME};
pub use kith_net::{NetConfig, Relays};
pub use node::Node;
pub use protection::{
    KEYSTORE_SERVICE, KeystoreUse, PASSPHRASE_LIMITS, Protection, Unlock, keystore_use,
    protection_from_env, protection_name, unlock_from_env,
};
pub use views::{
    ContactView, ConversationView, DeviceView, GroupView, Identity, LastMessage, LeftGroup,
    MemberView, MessagePage, MessageView, NodeEvent, QuoteView, RemovedPost, RoomCreated,
    RoomJoined, RoomLink, SearchHit, Sent, SyncReport, trust_name,
};

/// The QR code of a `kith:` or `kith-link:` link, as an SVG document.
pub fn qr_svg(uri: &str) -> Result<String> {
    Ok(kith_identity::invite::qr_svg(
        &kith_identity::invite::qr_text(uri.trim()),
    )?)
}

/// The QR code of a `kith:` or `kith-link:` link, as a PNG image.
pub fn qr_png(uri: &str) -> Result<Vec<u8>> {
    kith_identity::invite::qr_png(&kith_identity::invite::qr_text(uri.trim()))
        .map_err(|e| CoreError::new("internal", e.to_string()))
}

/// The version of the libsodium this build runs on.
pub fn libsodium_version() -> Result<String> {
    kith_crypto::libsodium_version().map_err(|e| CoreError::new("internal", e.to_string()))
}

/// The text of the first QR code in an image (PNG or JPEG bytes).
pub fn read_qr(image: &[u8]) -> Result<String> {
    kith_identity::invite::read_qr(image).map_err(|e| CoreError::new("bad_image", e.to_string()))
}

/// The text of a QR code in a camera frame (`width` × `height` grey levels,
/// row by row), or `None` when it shows no readable code.
pub fn read_qr_frame(width: u32, height: u32, luma: Vec<u8>) -> Result<Option<String>> {
    kith_identity::invite::read_qr_frame(width, height, luma)
        .map_err(|e| CoreError::new("bad_image", e.to_string()))
}
