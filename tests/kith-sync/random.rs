//! Randomized runs: two accounts write while links come and go, devices go
//! offline and restart, and a device is linked late. Once everyone meets,
//! every member device holds the same log in the same display order, can
//! read every message not deleted, and deletions never come back.

use std::collections::BTreeSet;

use kith_sync::Body;
use kith_wire::EntryHash;
use proptest::prelude::*;

use crate::{account, link_late, order, world};

#[derive(Clone, Debug)]
enum Op {
    Write { device: usize, to_self: bool },
    Link { a: usize, b: usize },
    Unlink { a: usize, b: usize },
    Offline { device: usize },
    Online { device: usize },
    Deliver { steps: usize },
    Delete { device: usize, pick: usize },
    LinkLate { owner: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..8usize, any::<bool>()).prop_map(|(device, to_self)| Op::Write { device, to_self }),
        3 => (0..8usize, 0..8usize).prop_map(|(a, b)| Op::Link { a, b }),
        2 => (0..8usize, 0..8usize).prop_map(|(a, b)| Op::Unlink { a, b }),
        1 => (0..8usize).prop_map(|device| Op::Offline { device }),
        2 => (0..8usize).prop_map(|device| Op::Online { device }),
        4 => (1..40usize).prop_map(|steps| Op::Deliver { steps }),
        1 => (0..8usize, any::<usize>()).prop_map(|(device, pick)| Op::Delete { device, pick }),
        1 => (0..8usize).prop_map(|owner| Op::LinkLate { owner }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn partitions_restarts_and_late_links_converge(ops in proptest::collection::vec(op(), 1..60), seed in any::<u64>()) {
        let (mut sim, ix) = world(vec![account("a", 2), account("b", 2)]);
        let _ = seed;
        let alice = sim.devices[ix[0][0]].replica.account_id();
        let bob = sim.devices[ix[1][0]].replica.account_id();
        let direct = sim.devices[ix[0][0]].replica.open_direct(&bob).unwrap();
        for &i in &ix[1] {
            sim.devices[i].replica.open_direct(&alice).unwrap();
        }
        for &i in &ix[0][1..] {
            sim.devices[i].replica.open_direct(&bob).unwrap();
        }
        let mut deleted: Vec<(kith_wire::AccountId, EntryHash)> = Vec::new();
        let mut late = 0;
        for op in ops {
            let n = sim.devices.len();
            match op {
                Op::Write { device, to_self } => {
                    let d = device % n;
                    if !sim.devices[d].online {
                        continue;
                    }
                    let conversation = if to_self {
                        sim.devices[d].replica.self_conversation_id().unwrap()
                    } else {
                        let other = if sim.devices[d].replica.account_id() == alice { bob } else { alice };
                        sim.devices[d].replica.open_direct(&other).unwrap()
                    };
                    let now = sim.now_ms;
                    let (_, out) = sim.devices[d].replica.send_text(conversation, "text", now).unwrap();
                    sim.route(d, out);
                }
                Op::Link { a, b } => sim.connect(a % n, b % n),
                Op::Unlink { a, b } => sim.disconnect(a % n, b % n),
                Op::Offline { device } => sim.set_online(device % n, false),
                Op::Online { device } => sim.set_online(device % n, true),
                Op::Deliver { steps } => { sim.run(steps); }
                Op::Delete { device, pick } => {
                    let d = device % n;
                    let messages = sim.devices[d].replica.messages(&direct);
                    if messages.is_empty() || !sim.devices[d].online {
                        continue;
                    }
                    let (target, _) = messages[pick % messages.len()];
                    let now = sim.now_ms;
                    let out = sim.devices[d].replica.delete(direct, Some(target), now).unwrap();
                    sim.route(d, out);
                    deleted.push((sim.devices[d].replica.account_id(), target));
                }
                Op::LinkLate { owner } if late < 2 => {
                    let owner = owner % n;
                    if sim.devices[owner].online {
                        link_late(&mut sim, owner, &format!("late{late}"));
                        late += 1;
                    }
                }
                Op::LinkLate { .. } => {}
            }
        }
        // Everyone meets.
        for i in 0..sim.devices.len() {
            sim.set_online(i, true);
        }
        sim.connect_all();
        prop_assert!(sim.run(200_000), "the network did not go quiet");

        let reference = order(&sim, 0, &direct);
        for i in 0..sim.devices.len() {
            let replica = &sim.devices[i].replica;
            prop_assert_eq!(&order(&sim, i, &direct), &reference, "device {} disagrees", i);
            let account = replica.account_id();
            let gone: BTreeSet<EntryHash> = deleted.iter().filter(|(a, _)| *a == account).map(|(_, id)| *id).collect();
            let entries: Vec<_> = replica.conversation(&direct).map(|c| c.in_order().cloned().collect()).unwrap_or_default();
            for entry in entries {
                if gone.contains(&entry.id) {
                    prop_assert_eq!(&entry.body, &Body::Deleted, "a deleted entry came back on device {}", i);
                } else if entry.header.kind == kith_wire::EntryKind::Message
                    && !deleted.iter().any(|(_, id)| *id == entry.id)
                {
                    // Everything not deleted anywhere is readable everywhere. (A
                    // message its author's account deleted before the other side
                    // had it is no longer held by anyone who could deliver it.)
                    prop_assert!(matches!(entry.body, Body::Plain { .. }), "device {} cannot read an entry", i);
                }
            }
            // The self log is identical across the account's devices.
            let own_self = replica.self_conversation_id().unwrap();
            let first_own = (0..sim.devices.len()).find(|&j| sim.devices[j].replica.account_id() == account).unwrap();
            prop_assert_eq!(order(&sim, i, &own_self), order(&sim, first_own, &own_self));
        }
    }
}
