//! Reclaiming deleted data at rest: after a deletion (mine, or one that
//! arrives from another of my devices) the node compacts the database
//! once things are quiet for a moment, so a deleted body leaves the file
//! itself, not only what the node shows; redb otherwise keeps freed
//! pages, with their sealed contents, until it happens to reuse them. A
//! deletion still due at shutdown is compacted then.

use std::sync::atomic::Ordering;
use std::time::Duration;

use crate::node::Node;

/// How long after the last deletion the compaction waits, so a burst of
/// deletions costs one.
const SETTLE: Duration = Duration::from_secs(2);

impl Node {
    /// Schedules a compaction for when deletions have settled.
    pub(crate) fn compact_soon(&self) {
        let generation = self.inner.deletions.fetch_add(1, Ordering::SeqCst) + 1;
        let node = self.clone();
        self.spawn(async move {
            tokio::time::sleep(SETTLE).await;
            // A later deletion schedules its own.
            if node.inner.deletions.load(Ordering::SeqCst) == generation {
                node.compact_if_due().await;
            }
        });
    }

    /// Compacts if a deletion is not compacted yet.
    pub(crate) async fn compact_if_due(&self) {
        let due = self.inner.deletions.load(Ordering::SeqCst);
        if self.inner.compacted.swap(due, Ordering::SeqCst) == due {
            return;
        }
        if let Err(e) = self.with(|r| r.storage_mut().compact()).await {
            tracing::warn!("compacting the database after a deletion failed: {e}");
            // Try again at the next deletion or at shutdown.
            self.inner.compacted.store(0, Ordering::SeqCst);
        }
    }
}
