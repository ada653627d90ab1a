//! A stolen device that was revoked while it was offline (and did not know
//! it) cannot take the account over by back-dating entries: whatever strong
//! remove drops has no effect at all, and every delivery order agrees.

use kith_identity::{DeviceLog, DeviceStatus};
use kith_wire::{
    DeviceId, DeviceLogEntry, DeviceOp, RevokeReason, SignedDeviceEntry, domain, limits,
};
use proptest::prelude::*;

use crate::{Replica, account};

fn revoke_op(target: DeviceId) -> DeviceOp {
    DeviceOp::RevokeDevice {
        device: target,
        cutoff: None,
        reason: RevokeReason::Lost,
    }
}

/// Another entry with the same author and sequence number as `signed`
/// (an equivocation).
fn twin(thief: &Replica, signed: &SignedDeviceEntry) -> SignedDeviceEntry {
    let mut entry: DeviceLogEntry = signed.peek(limits::MAX_ENTRY_BYTES).unwrap();
    entry.op = DeviceOp::Profile {
        name: "not Alice".into(),
    };
    thief.keys.sign(domain::DEVICE_LOG_ENTRY, &entry).unwrap()
}

fn status(log: &DeviceLog, device: DeviceId) -> Option<DeviceStatus> {
    log.state().devices.get(&device).map(|d| d.status)
}

#[test]
fn a_revoked_thief_back_dating_revocations_takes_nobody_but_its_revoker() {
    let mut laptop = account("laptop");
    let mut phone = laptop.add_device("phone");
    let mut tablet = laptop.add_device("tablet");
    let mut thief = laptop.add_device("stolen");
    for r in [&mut phone, &mut tablet, &mut thief] {
        r.pull(&laptop);
    }
    // Offline and unaware of what follows, the thief revokes every other
    // device, renames the account, equivocates, and adds a device of its
    // own that revokes the phone once more.
    for target in [&laptop, &phone, &tablet] {
        thief.write(revoke_op(target.keys.device_id()));
    }
    let renamed = thief.write(DeviceOp::Profile {
        name: "Mallory".into(),
    });
    let equivocation = twin(&thief, &renamed);
    let mut sidekick = thief.add_device("sidekick");
    sidekick.pull(&thief);
    sidekick.write(revoke_op(phone.keys.device_id()));
    // Meanwhile the laptop revokes the thief.
    laptop.write(revoke_op(thief.keys.device_id()));
    phone.pull(&laptop);

    // The tablet was offline: it meets the thief first, then the others.
    let mut everything: Vec<SignedDeviceEntry> = thief.log.entries().cloned().collect();
    everything.push(equivocation);
    everything.extend(sidekick.log.entries().cloned());
    tablet.log.merge(everything.clone());
    tablet.pull(&laptop);
    phone.log.merge(everything.clone());
    laptop.log.merge(everything);
    laptop.pull(&phone);
    for (who, log) in [
        ("laptop", &laptop.log),
        ("phone", &phone.log),
        ("tablet", &tablet.log),
    ] {
        assert!(
            matches!(
                status(log, thief.keys.device_id()),
                Some(DeviceStatus::Revoked { .. })
            ),
            "{who}: the thief is not out"
        );
        assert!(
            log.state()
                .devices
                .get(&sidekick.keys.device_id())
                .is_none_or(|d| d.status != DeviceStatus::Active),
            "{who}: the thief's device is in"
        );
        assert!(
            log.state().is_active(&phone.keys.device_id()),
            "{who}: phone"
        );
        assert!(
            log.state().is_active(&tablet.keys.device_id()),
            "{who}: tablet"
        );
        // The laptop revoked the thief while the thief revoked it: both go.
        assert_eq!(
            status(log, laptop.keys.device_id()),
            Some(DeviceStatus::Revoked {
                by: thief.keys.device_id(),
                reason: RevokeReason::Lost
            }),
            "{who}: laptop"
        );
        assert_eq!(log.state().name.as_deref(), Some("Alice"), "{who}: name");
        assert!(
            log.state().compromise.is_empty(),
            "{who}: the thief's equivocation after its cut-off counted: {:?}",
            log.state().compromise
        );
    }
    assert_eq!(laptop.log.state(), tablet.log.state());
    assert_eq!(phone.log.state(), tablet.log.state());
}

/// What a thief does, offline, from its stale view.
#[derive(Clone, Debug)]
enum ThiefStep {
    Revoke(usize),
    Rename,
    Equivocate,
    AddAndRevoke(usize),
}

/// What honest devices do.
#[derive(Clone, Debug)]
enum HonestStep {
    Sync { to: usize, from: usize },
    Rename { by: usize },
}

fn thief_step() -> impl Strategy<Value = ThiefStep> {
    prop_oneof![
        3 => (0..3usize).prop_map(ThiefStep::Revoke),
        1 => Just(ThiefStep::Rename),
        1 => Just(ThiefStep::Equivocate),
        2 => (0..3usize).prop_map(ThiefStep::AddAndRevoke),
    ]
}

fn honest_step() -> impl Strategy<Value = HonestStep> {
    prop_oneof![
        3 => (0..3usize, 0..3usize).prop_map(|(to, from)| HonestStep::Sync { to, from }),
        1 => (0..3usize).prop_map(|by| HonestStep::Rename { by }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 32, .. ProptestConfig::default() })]

    /// Random interleavings of honest and thief actions: once any honest
    /// revocation of the thief has spread, the thief and what it added are
    /// out on every device and in every delivery order, honest devices that
    /// did not revoke it stay in, and its equivocations add no evidence.
    #[test]
    fn honest_revocations_win_in_every_order(
        thief_steps in proptest::collection::vec(thief_step(), 0..8),
        honest_steps in proptest::collection::vec(honest_step(), 0..8),
        revokers in proptest::collection::btree_set(0..3usize, 1..3),
        seed in any::<u64>(),
    ) {
        let mut first = account("h0");
        let mut honest = vec![first.add_device("h1"), first.add_device("h2")];
        honest.insert(0, first);
        let mut thief = honest[0].add_device("thief");
        for i in 1..3 {
            let (head, rest) = honest.split_at_mut(i);
            rest[0].pull(&head[0]);
        }
        thief.pull(&honest[0]);
        let mut stolen: Vec<SignedDeviceEntry> = Vec::new();
        let mut sidekicks = Vec::new();
        for step in thief_steps {
            match step {
                ThiefStep::Revoke(t) => {
                    let _ = thief.log.append(&thief.keys, revoke_op(honest[t].keys.device_id()), 2_000);
                }
                ThiefStep::Rename => {
                    let _ = thief.log.append(&thief.keys, DeviceOp::Profile { name: "Mallory".into() }, 2_000);
                }
                ThiefStep::Equivocate => {
                    if let Some(last) = thief.log.entries().last().cloned() {
                        stolen.push(twin(&thief, &last));
                    }
                }
                ThiefStep::AddAndRevoke(t) => {
                    if thief.log.state().is_active(&thief.keys.device_id()) {
                        let mut sidekick = thief.add_device("sidekick");
                        sidekick.pull(&thief);
                        let _ = sidekick.log.append(&sidekick.keys, revoke_op(honest[t].keys.device_id()), 2_000);
                        stolen.extend(sidekick.log.entries().cloned());
                        sidekicks.push(sidekick.keys.device_id());
                    }
                }
            }
        }
        stolen.extend(thief.log.entries().cloned());
        for step in honest_steps {
            match step {
                HonestStep::Sync { to, from } if to != from => {
                    let entries: Vec<_> = honest[from].log.entries().cloned().collect();
                    honest[to].log.merge(entries);
                }
                HonestStep::Sync { .. } => {}
                HonestStep::Rename { by } => {
                    let r = &mut honest[by];
                    let _ = r.log.append(&r.keys, DeviceOp::Profile { name: "Alice B".into() }, 3_000);
                }
            }
        }
        for &r in &revokers {
            let h = &mut honest[r];
            h.log.append(&h.keys, revoke_op(thief.keys.device_id()), 4_000).unwrap();
        }
        let mut all: Vec<SignedDeviceEntry> = stolen;
        for h in &honest {
            all.extend(h.log.entries().cloned());
        }
        let account = honest[0].log.account_id();
        let mut reference: Option<DeviceLog> = None;
        let mut rng = seed;
        for _ in 0..3 {
            let order = crate::shuffled(&all, &mut rng);
            let mut log = DeviceLog::empty(account);
            log.merge(order);
            let state = log.state();
            prop_assert!(!state.is_active(&thief.keys.device_id()), "the thief is in");
            for s in &sidekicks {
                prop_assert!(!state.is_active(s), "a device the thief added is in");
            }
            for (i, h) in honest.iter().enumerate() {
                if !revokers.contains(&i) {
                    prop_assert!(state.is_active(&h.keys.device_id()), "honest h{} is out", i);
                }
            }
            prop_assert!(state.compromise.is_empty(), "evidence: {:?}", state.compromise);
            match &reference {
                None => reference = Some(log),
                Some(r) => prop_assert_eq!(r.state(), log.state()),
            }
        }
    }
}
