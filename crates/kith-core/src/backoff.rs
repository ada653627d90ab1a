//! Exponential backoff per peer (or per pending invite) for the connector.

use std::time::{Duration, Instant};

/// Exponential backoff per peer: 1 s doubling to 60 s, with jitter.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Backoff {
    failures: u32,
    next: Instant,
}

impl Backoff {
    /// No failure yet: due at once.
    pub(crate) fn new() -> Self {
        Self {
            failures: 0,
            next: Instant::now(),
        }
    }

    /// Whether the next attempt may start.
    pub(crate) fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// One more failure: the next attempt waits longer.
    pub(crate) fn failed(&mut self) {
        self.failures = self.failures.saturating_add(1);
        let base = 1000u64
            .saturating_mul(1 << self.failures.min(6))
            .min(60_000);
        let jitter = u64::from(kith_crypto::random::uniform(250).unwrap_or(0));
        self.next = Instant::now() + Duration::from_millis(base / 2 + jitter + base / 4);
    }
}
