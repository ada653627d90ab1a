//! Entries held back until their parents arrive.

use kith_wire::{DeviceLogEntry, EntryHash, limits};

use super::DeviceLog;

impl DeviceLog {
    /// Inserts the held-back entries that waited for `arrived`, and those
    /// that waited for them, until no more can be inserted.
    pub(super) fn drain_pending(&mut self, arrived: EntryHash) {
        let mut arrivals = vec![arrived];
        while let Some(arrived) = arrivals.pop() {
            let genesis =
                self.nodes.len() == 1 && self.nodes.first().is_some_and(|n| n.hash == arrived);
            let mut children = self.waiting.remove(&Some(arrived)).unwrap_or_default();
            if genesis {
                children.extend(self.waiting.remove(&None).unwrap_or_default());
            }
            self.work.add(children.len());
            for child in children {
                let Some(signed) = self.pending.get(&child) else {
                    continue;
                };
                let parsed: Result<DeviceLogEntry, _> = signed.peek(limits::MAX_ENTRY_BYTES);
                let Ok(entry) = parsed else {
                    self.pending.remove(&child);
                    continue;
                };
                if self.nodes.is_empty()
                    || !entry.parents.iter().all(|p| self.by_hash.contains_key(p))
                {
                    continue;
                }
                if let Some(signed) = self.pending.remove(&child) {
                    // A held-back entry that turns out invalid is dropped.
                    if self.insert_ready(child, signed, entry).is_ok() {
                        arrivals.push(child);
                    }
                }
            }
        }
    }
}
