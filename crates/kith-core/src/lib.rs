//! The Kith node: a device profile (kith-store), its sync engine
//! (kith-sync) and its network endpoint (kith-net), composed behind one API
//! that the `kith` CLI and the app both call.
//!
//! Every identifier crosses this API as lowercase hex; every error carries a
//! stable code ([`CoreError`]). Events (new messages, deliveries, trust and
//! device changes) stream from [`Node::subscribe`].
#![forbid(unsafe_code)]

mod error;
mod host;
mod join;
mod node;
mod profile;
mod views;

pub use error::{CODES, CoreError, Result};
pub use host::{Host, MIN_PASSPHRASE_CHARS, NetworkSettings, Status, default_data_dir};
pub use join::request_link;
pub use kith_identity::invite::{CONTACT_SCHEME, LINK_SCHEME};
pub use kith_net::{NetConfig, Relays};
pub use node::{Node, protection_from_env, unlock_from_env};
pub use views::{
    ContactView, DeviceView, Identity, MessagePage, MessageView, NodeEvent, Sent, SyncReport,
    trust_name,
};

/// The QR code of a `kith:` or `kith-link:` link, as an SVG document.
pub fn qr_svg(uri: &str) -> Result<String> {
    Ok(kith_identity::invite::qr_svg(
        &kith_identity::invite::qr_text(uri.trim()),
    )?)
}

/// The text of the first QR code in an image (PNG or JPEG bytes).
pub fn read_qr(image: &[u8]) -> Result<String> {
    kith_identity::invite::read_qr(image).map_err(|e| CoreError::new("bad_image", e.to_string()))
}
