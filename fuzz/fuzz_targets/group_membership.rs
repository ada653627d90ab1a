//! Group and room membership: arbitrary operations (decoded from the
//! input, with arbitrary authors and causal pasts) inserted into a group
//! or a room (the first byte chooses) never panic,
//! a refused one changes nothing, and the state is the same when the
//! accepted ones are inserted again in the same order into a fresh copy.
#![no_main]

use kith_identity::{Membership, group_id};
use kith_wire::{AccountId, ConversationKind, EntryHash, GroupOp, decode, limits};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|bytes: &[u8]| {
    let creator = AccountId([1; 32]);
    let nonce = [7; 32];
    let kind = match bytes.first() {
        Some(b) if b % 2 == 1 => ConversationKind::Room,
        _ => ConversationKind::Group,
    };
    let Ok(group) = group_id(kind, &creator, &nonce) else {
        return;
    };
    let mut m = Membership::new(group);
    let create = GroupOp::Create {
        kind,
        name: "Fuzz".into(),
        nonce,
    };
    let mut hashes = vec![EntryHash([0; 32])];
    assert!(m.insert(hashes[0], creator, create.clone(), &[]).is_ok());
    let mut accepted = vec![(hashes[0], creator, create, Vec::new())];
    for (n, chunk) in bytes.split(|b| *b == 0xff).take(64).enumerate() {
        let Ok((author, op, past)) =
            decode::<(u8, GroupOp, Vec<u8>)>(chunk, limits::MAX_ENTRY_BYTES)
        else {
            continue;
        };
        let past: Vec<EntryHash> = past
            .iter()
            .take(8)
            .filter_map(|i| hashes.get(usize::from(*i)).copied())
            .collect();
        let mut id = [0u8; 32];
        id[..8].copy_from_slice(&(n as u64 + 1).to_be_bytes());
        let hash = EntryHash(id);
        let author = AccountId([author % 8; 32]);
        let before = m.state().clone();
        match m.insert(hash, author, op.clone(), &past) {
            Ok(()) => {
                hashes.push(hash);
                accepted.push((hash, author, op, past));
            }
            Err(_) => assert_eq!(m.state(), &before),
        }
    }
    let mut again = Membership::new(group);
    for (hash, author, op, past) in accepted {
        assert!(again.insert(hash, author, op, &past).is_ok());
    }
    assert_eq!(again.state(), m.state());
});
