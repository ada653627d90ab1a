//! Kith identity: device keys, the account device log, contacts with their
//! trust states, safety numbers, and invites.
//!
//! An *account* is the set of devices its device log proves. Each device has
//! its own keys ([`DeviceKeys`]); the devices acknowledge each other through
//! signed log entries ([`DeviceLog`]), so no key is ever copied between
//! devices.
//!
//! ```
//! use kith_identity::{DeviceKeys, DeviceLog};
//!
//! let laptop = DeviceKeys::generate("laptop", 0)?;
//! let log = DeviceLog::create(&laptop, "Alice", 0)?;
//! assert!(log.state().is_active(&laptop.device_id()));
//! assert_eq!(log.state().name.as_deref(), Some("Alice"));
//! # Ok::<(), kith_identity::IdentityError>(())
//! ```
#![forbid(unsafe_code)]

pub mod device_log;
mod error;
pub mod keys;
pub mod membership;
mod strong_remove;

pub use device_log::{Compromise, DeviceLog, DeviceState, DeviceStatus, LogState};
pub use error::{IdentityError, Result};
pub use keys::DeviceKeys;
pub use membership::{GroupState, Member, MemberStatus, Membership, RoomPolicy, group_id};
pub mod safety;
pub mod trust;

pub use safety::SafetyNumber;
pub use trust::{Contact, ContactSource, TrustReason, TrustState};
pub mod invite;
pub mod lookup;
