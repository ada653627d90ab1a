//! Frames within the size limit: `Entries` and `Directory` frames are
//! split by encoded bytes (and by count), so a frame never exceeds
//! `MAX_FRAME_BYTES`, whatever the messages or device logs hold. A frame
//! over the limit would make the peer close the connection, and the same
//! frame would be sent again after reconnecting, forever.

use kith_wire::{Directory, SignedAnnouncement, SignedDeviceEntry, encoded_len, limits};

/// Bytes of a frame left for its items: the limit less room for the
/// frame's own fields (tags, a conversation id, length prefixes).
pub(crate) const FRAME_BUDGET: usize = limits::MAX_FRAME_BYTES - 64 * 1024;

/// Splits `items` into groups of at most `max_count` items whose sizes
/// add up to at most `budget` (an item larger than `budget` goes alone).
/// Order is kept.
pub(crate) fn split_by_size<T>(
    items: Vec<T>,
    size: impl Fn(&T) -> usize,
    max_count: usize,
    budget: usize,
) -> Vec<Vec<T>> {
    let mut groups = Vec::new();
    let mut current = Vec::new();
    let mut used = 0usize;
    for item in items {
        let n = size(&item);
        if !current.is_empty() && (current.len() >= max_count || used.saturating_add(n) > budget) {
            groups.push(std::mem::take(&mut current));
            used = 0;
        }
        used = used.saturating_add(n);
        current.push(item);
    }
    if !current.is_empty() {
        groups.push(current);
    }
    groups
}

/// The encoded size of a value (the largest size if it cannot be encoded:
/// it then goes alone, and the encoder reports the error).
pub(crate) fn size_of<T: serde::Serialize>(value: &T) -> usize {
    encoded_len(value).unwrap_or(usize::MAX)
}

/// One directory as frames within the limit. A device log too large for
/// one frame is cut into pieces in its stored (causal) order; the piece
/// with the genesis goes first, and the receiver merges the others into
/// the log it then knows.
pub(crate) fn directory_frames(directory: Directory) -> Vec<Directory> {
    enum Item {
        Log(Vec<SignedDeviceEntry>),
        Address(SignedAnnouncement),
    }
    let mut items = Vec::new();
    for log in directory.logs {
        for piece in split_by_size(log, size_of, limits::MAX_DEVICE_LOG_ENTRIES, FRAME_BUDGET) {
            items.push(Item::Log(piece));
        }
    }
    items.extend(directory.addresses.into_iter().map(Item::Address));
    let heads = directory.heads;
    let size = |item: &Item| match item {
        Item::Log(entries) => entries.iter().map(size_of).fold(8, usize::saturating_add),
        Item::Address(a) => size_of(a),
    };
    // Count limits of a directory frame: its logs and its addresses.
    let max_count = kith_wire::MAX_DIRECTORY_LOGS.min(limits::MAX_FANOUT_DEVICES);
    split_by_size(items, size, max_count, FRAME_BUDGET)
        .into_iter()
        .map(|group| {
            // Each piece repeats the claim: it is judged once all is known.
            let mut frame = Directory {
                heads: heads.clone(),
                ..Directory::default()
            };
            for item in group {
                match item {
                    Item::Log(entries) => frame.logs.push(entries),
                    Item::Address(a) => frame.addresses.push(a),
                }
            }
            frame
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn groups_keep_order_and_stay_within_count_and_budget() {
        let items: Vec<usize> = vec![5, 5, 5, 20, 1, 1, 1, 1, 50, 3];
        let groups = split_by_size(items.clone(), |n| *n, 3, 12);
        assert_eq!(groups.concat(), items);
        for g in &groups {
            assert!(g.len() <= 3);
            // Only an item larger than the budget may exceed it, alone.
            assert!(g.iter().sum::<usize>() <= 12 || g.len() == 1, "{g:?}");
        }
        assert_eq!(
            groups,
            vec![
                vec![5, 5],
                vec![5],
                vec![20],
                vec![1, 1, 1],
                vec![1],
                vec![50],
                vec![3]
            ]
        );
        assert!(split_by_size(Vec::<usize>::new(), |n| *n, 3, 12).is_empty());
    }

    #[test]
    fn a_directory_larger_than_a_frame_is_split_within_the_limit() {
        use kith_wire::{Sig, Signed};
        let entry = |log: u8, i: usize| -> SignedDeviceEntry {
            let mut payload = vec![log; 4000];
            payload[..8].copy_from_slice(&(i as u64).to_be_bytes());
            Signed::from_parts(payload, Sig([0; 64]))
        };
        // One log of 4,096 entries of 4 KB (over 16 MiB alone), two more.
        let logs: Vec<Vec<SignedDeviceEntry>> = [4096, 3000, 10]
            .iter()
            .enumerate()
            .map(|(l, n)| (0..*n).map(|i| entry(l as u8, i)).collect())
            .collect();
        let heads = vec![kith_wire::EntryHash([7; 32]); kith_wire::MAX_DIRECTORY_HEADS];
        let directory = Directory {
            logs: logs.clone(),
            addresses: Vec::new(),
            heads: heads.clone(),
        };
        assert!(size_of(&directory) > limits::MAX_FRAME_BYTES);
        let frames = directory_frames(directory);
        assert!(frames.len() >= 2);
        for frame in &frames {
            let message = kith_wire::SyncMessage::Directory(frame.clone());
            assert!(size_of(&message) <= limits::MAX_FRAME_BYTES);
            assert!(frame.check_limits().is_ok());
            // Each piece repeats the sender's claim of its own heads.
            assert_eq!(frame.heads, heads);
        }
        // Every entry arrives once, each log's in its order.
        let mut rebuilt: Vec<Vec<SignedDeviceEntry>> = vec![Vec::new(); 3];
        for piece in frames.iter().flat_map(|f| f.logs.iter()) {
            let l = usize::from(piece[0].payload()[8]);
            rebuilt[l].extend(piece.iter().cloned());
        }
        assert_eq!(rebuilt, logs);
    }

    #[test]
    fn an_empty_directory_makes_no_frame() {
        assert!(directory_frames(Directory::default()).is_empty());
    }
}
