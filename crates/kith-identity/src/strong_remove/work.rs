//! A count of the elementary steps evaluation takes (entries and relations
//! examined), so tests can check how the work grows with the log without
//! timing anything.

use std::sync::atomic::{AtomicU64, Ordering};

/// Steps taken so far.
#[derive(Debug, Default)]
pub(crate) struct Work(AtomicU64);

impl Work {
    pub(crate) fn add(&self, steps: usize) {
        self.0
            .fetch_add(u64::try_from(steps).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

impl Clone for Work {
    fn clone(&self) -> Self {
        Self(AtomicU64::new(self.get()))
    }
}
