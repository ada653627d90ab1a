//! Integration tests of `kith-identity`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod cost;
mod device_log;
mod invite;
mod lookup;
mod membership;
mod safety;
mod stolen;
mod trust;

use kith_identity::{DeviceKeys, DeviceLog};
use kith_wire::{DeviceOp, SignedDeviceEntry};

/// A device with its own replica of the account's log.
pub struct Replica {
    /// The device's keys.
    pub keys: DeviceKeys,
    /// Its copy of the log.
    pub log: DeviceLog,
}

impl Replica {
    /// Writes `op` as this device; panics if refused.
    pub fn write(&mut self, op: DeviceOp) -> SignedDeviceEntry {
        self.log.append(&self.keys, op, 1_000).unwrap()
    }

    /// Adds `new` (countersigned by it) and returns the new device's replica,
    /// holding a copy of this log.
    pub fn add_device(&mut self, name: &str) -> Replica {
        let keys = DeviceKeys::generate(name, 1_000).unwrap();
        self.write(keys.join_op(&self.log.account_id()).unwrap());
        Replica {
            keys,
            log: self.log.clone(),
        }
    }

    /// Merges everything `other` holds.
    pub fn pull(&mut self, other: &Replica) {
        let report = self.log.merge(other.log.entries().cloned());
        assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    }
}

/// A new account whose first device is called `name`.
pub fn account(name: &str) -> Replica {
    let keys = DeviceKeys::generate(name, 1_000).unwrap();
    let log = DeviceLog::create(&keys, "Alice", 1_000).unwrap();
    Replica { keys, log }
}

/// `items` shuffled (Fisher-Yates driven by a small LCG from `rng`, which
/// moves on), for delivery in another order.
pub fn shuffled<T: Clone>(items: &[T], rng: &mut u64) -> Vec<T> {
    let mut order = items.to_vec();
    for i in (1..order.len()).rev() {
        *rng = rng
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        order.swap(i, (*rng >> 33) as usize % (i + 1));
    }
    order
}
