//! Kith's end-to-end encryption between devices: X3DH to start a session,
//! the Double Ratchet for every message, and per-device fan-out.
//!
//! Every private message body is encrypted separately for each recipient
//! device with the pairwise session of that device pair, so a device that
//! forwards a log entry carries only ciphertexts it cannot open, and a
//! stolen device cannot read earlier traffic. Constructions, labels and
//! limits are specified in `docs/sessions.md`.
//!
//! ```
//! use kith_identity::{DeviceKeys, DeviceLog};
//! use kith_session::{LocalDevice, MemoryStore, RemoteDevice, Sessions};
//!
//! let alice_keys = DeviceKeys::generate("alice-laptop", 0)?;
//! let alice_log = DeviceLog::create(&alice_keys, "Alice", 0)?;
//! let bob_keys = DeviceKeys::generate("bob-phone", 0)?;
//! let bob_log = DeviceLog::create(&bob_keys, "Bob", 0)?;
//! let alice = LocalDevice { account: alice_log.account_id(), keys: &alice_keys };
//! let bob = LocalDevice { account: bob_log.account_id(), keys: &bob_keys };
//! let bob_device = RemoteDevice::from_log(bob.account, &bob_log.state().devices[&bob_keys.device_id()]);
//! let alice_device = RemoteDevice::from_log(alice.account, &alice_log.state().devices[&alice_keys.device_id()]);
//!
//! let mut at_alice = Sessions::new(MemoryStore::default());
//! let mut at_bob = Sessions::new(MemoryStore::default());
//! let message = at_alice.encrypt(&alice, &bob_device, b"hi Bob")?;
//! let plaintext = at_bob.decrypt(&bob, &alice_device, &message, 0)?;
//! assert_eq!(plaintext.expose(), b"hi Bob");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

mod budget;
mod error;
pub mod ratchet;
pub mod record;
pub mod room;
pub mod sender_keys;
mod sessions;
pub mod store;
pub mod x3dh;

pub use budget::SKIP_BUDGET;
pub use error::{Result, SessionError};
pub use record::SessionRecord;
pub use sender_keys::SenderKeyRecord;
pub use sessions::{FanOutResult, LocalDevice, RemoteDevice, Sessions};
pub use store::{MemoryStore, SessionStore};
