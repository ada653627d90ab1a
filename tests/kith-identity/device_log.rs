//! The account device log: validation, strong remove, mutual revocation,
//! equivocation, rollback and order-independent merging.

use kith_crypto::sign::SigningKey;
use kith_identity::device_log::{Inserted, entry_hash};
use kith_identity::{Compromise, DeviceKeys, DeviceLog, DeviceStatus, IdentityError};
use kith_wire::{
    DeviceId, DeviceLogEntry, DeviceOp, RevokeReason, Signed, SignedDeviceEntry, domain, limits,
};
use proptest::prelude::*;

use crate::{Replica, account};

fn revoke(target: &Replica) -> DeviceOp {
    DeviceOp::RevokeDevice {
        device: target.keys.device_id(),
        cutoff: None,
        reason: RevokeReason::Lost,
    }
}

fn fresh_copy(log: &DeviceLog, order: impl IntoIterator<Item = SignedDeviceEntry>) -> DeviceLog {
    let mut copy = DeviceLog::empty(log.account_id());
    let report = copy.merge(order);
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    copy
}

#[test]
fn a_new_account_has_one_active_device_and_a_name() {
    let a = account("laptop");
    let state = a.log.state();
    assert_eq!(state.active_devices().count(), 1);
    assert!(state.is_active(&a.keys.device_id()));
    assert_eq!(state.name.as_deref(), Some("Alice"));
    assert!(state.compromise.is_empty());
    assert_eq!(state.heads.len(), 1);
}

#[test]
fn added_devices_are_active_and_a_contact_learns_them_from_the_log() {
    let mut a = account("laptop");
    let phone = a.add_device("phone");
    let state = a.log.state();
    assert!(state.is_active(&phone.keys.device_id()));
    assert_eq!(
        state.devices[&phone.keys.device_id()].added_by,
        Some(a.keys.device_id())
    );
    // A contact fetching the entries in reverse order ends in the same state.
    let entries: Vec<_> = a.log.entries().cloned().collect();
    let contact_view = fresh_copy(&a.log, entries.into_iter().rev());
    assert_eq!(contact_view.state(), a.log.state());
}

#[test]
fn a_countersignature_for_another_account_is_refused() {
    let mut a = account("laptop");
    let b = account("other");
    let keys = DeviceKeys::generate("phone", 0).unwrap();
    let record = keys.record().unwrap();
    let wrong = keys.countersign_join(&b.log.account_id(), &record).unwrap();
    let prekey = keys.current_prekey().unwrap().public().clone();
    let op = DeviceOp::AddDevice {
        device: record,
        prekey,
        countersignature: wrong,
    };
    assert!(a.log.append(&a.keys, op, 0).is_err());
    assert!(!a.log.state().is_active(&keys.device_id()));
}

#[test]
fn forged_flipped_foreign_and_cross_purpose_entries_are_refused() {
    let mut a = account("laptop");
    let good = a.write(DeviceOp::Profile {
        name: "Alice B".into(),
    });
    let entry: DeviceLogEntry = good.peek(limits::MAX_ENTRY_BYTES).unwrap();
    let base = a.log.clone();

    // Bit flips anywhere in the payload or signature.
    let payload = good.payload().to_vec();
    for i in 0..payload.len() {
        let mut bad = payload.clone();
        bad[i] ^= 0x10;
        let mut log = base.clone();
        let flipped = SignedDeviceEntry::from_parts(bad, *good.signature());
        assert!(log.insert(flipped).is_err(), "flip at {i} accepted");
    }
    let mut sig = *good.signature();
    sig.0[10] ^= 1;
    assert!(
        base.clone()
            .insert(SignedDeviceEntry::from_parts(payload.clone(), sig))
            .is_err()
    );

    // A valid signature by a key that is not a device of the account.
    let stranger = DeviceKeys::generate("stranger", 0).unwrap();
    let mut forged = entry.clone();
    forged.author = stranger.device_id();
    forged.seq = 0;
    forged.prev = None;
    let signed = stranger.sign(domain::DEVICE_LOG_ENTRY, &forged).unwrap();
    assert_eq!(
        base.clone().insert(signed).unwrap_err(),
        IdentityError::NotAuthorized
    );

    // The right key, the wrong purpose: a device-keys signature replayed as a
    // log-entry signature.
    let mut replay = entry.clone();
    replay.seq += 1;
    replay.prev = Some(entry_hash(&good).unwrap());
    let cross = Signed::sign(domain::DEVICE_KEYS, a.keys.signing_key(), &replay).unwrap();
    let mut log = a.log.clone();
    assert!(matches!(
        log.insert(cross).unwrap_err(),
        IdentityError::Wire(_)
    ));

    // An entry of another account.
    let b = account("other");
    let foreign = b.log.entries().last().cloned().unwrap();
    assert!(a.log.clone().insert(foreign).is_err());
    let mut other_genesis = a.log.clone();
    let b_genesis = b.log.entries().next().cloned().unwrap();
    assert_eq!(
        other_genesis.insert(b_genesis).unwrap_err(),
        IdentityError::WrongAccount
    );
}

#[test]
fn strong_remove_drops_what_a_revoked_device_did_concurrently() {
    let mut a = account("laptop");
    let mut c = a.add_device("tablet");
    // Offline, the tablet adds a device of its own and renames the account.
    let mut d = c.add_device("stolen-phone");
    c.write(DeviceOp::Profile {
        name: "Mallory".into(),
    });
    d.pull(&c);
    d.write(DeviceOp::Profile {
        name: "Mallory 2".into(),
    });
    // Meanwhile the laptop revokes the tablet without having seen any of it.
    a.write(revoke(&c));
    let revoked_before = a.log.state().clone();
    // Everything meets.
    a.pull(&c);
    a.pull(&d);
    let state = a.log.state();
    assert!(matches!(
        state.devices[&c.keys.device_id()].status,
        DeviceStatus::Revoked { .. }
    ));
    assert!(
        !state.devices.contains_key(&d.keys.device_id()),
        "device added by a revoked device survived"
    );
    assert_eq!(state.name.as_deref(), Some("Alice"));
    assert_eq!(state.devices.len(), revoked_before.devices.len());

    // After seeing its revocation, the tablet can no longer write at all.
    c.pull(&a);
    assert_eq!(
        c.log
            .append(&c.keys, DeviceOp::Profile { name: "x".into() }, 0)
            .unwrap_err(),
        IdentityError::NotAuthorized
    );
    let mut late = DeviceLogEntry {
        account: Some(a.log.account_id()),
        author: c.keys.device_id(),
        seq: 5,
        prev: None,
        parents: a.log.state().heads.clone(),
        created_at_ms: 0,
        op: DeviceOp::Profile {
            name: "late".into(),
        },
    };
    late.prev = c
        .log
        .entries()
        .filter_map(|s| {
            let e: DeviceLogEntry = s.peek(limits::MAX_ENTRY_BYTES).ok()?;
            (e.author == c.keys.device_id()).then(|| (e.seq, entry_hash(s).unwrap()))
        })
        .max_by_key(|(seq, _)| *seq)
        .map(|(seq, h)| {
            late.seq = seq + 1;
            h
        });
    let signed = c.keys.sign(domain::DEVICE_LOG_ENTRY, &late).unwrap();
    assert_eq!(
        a.log.insert(signed).unwrap_err(),
        IdentityError::NotAuthorized
    );
}

#[test]
fn mutual_revocation_removes_both_devices() {
    let mut a = account("laptop");
    let mut b = a.add_device("phone");
    let mut c = a.add_device("tablet");
    b.pull(&a);
    c.pull(&a);
    b.write(revoke(&c));
    c.write(revoke(&b));
    a.pull(&b);
    a.pull(&c);
    let state = a.log.state();
    assert!(state.is_active(&a.keys.device_id()));
    assert!(!state.is_active(&b.keys.device_id()));
    assert!(!state.is_active(&c.keys.device_id()));
    // The other order of delivery agrees.
    let mut a2 = fresh_copy(&a.log, c.log.entries().cloned());
    a2.merge(b.log.entries().cloned());
    assert_eq!(a2.state(), a.log.state());
}

#[test]
fn only_active_devices_may_revoke_and_cutoffs_must_match() {
    let mut a = account("laptop");
    let b = a.add_device("phone");
    // A revocation whose cut-off claims entries it has not seen.
    let heads = a.log.state().heads.clone();
    let last = a.log.entries().last().cloned().unwrap();
    let last_entry: DeviceLogEntry = last.peek(limits::MAX_ENTRY_BYTES).unwrap();
    let entry = DeviceLogEntry {
        account: Some(a.log.account_id()),
        author: a.keys.device_id(),
        seq: last_entry.seq + 1,
        prev: Some(entry_hash(&last).unwrap()),
        parents: heads,
        created_at_ms: 0,
        op: DeviceOp::RevokeDevice {
            device: b.keys.device_id(),
            cutoff: Some(7),
            reason: RevokeReason::Lost,
        },
    };
    let signed = a.keys.sign(domain::DEVICE_LOG_ENTRY, &entry).unwrap();
    assert!(matches!(
        a.log.insert(signed).unwrap_err(),
        IdentityError::InvalidEntry(_)
    ));
}

#[test]
fn equivocation_marks_the_account_compromised() {
    let mut a = account("laptop");
    let honest = a.write(DeviceOp::Profile { name: "one".into() });
    let mut twin: DeviceLogEntry = honest.peek(limits::MAX_ENTRY_BYTES).unwrap();
    twin.op = DeviceOp::Profile { name: "two".into() };
    let twin = a.keys.sign(domain::DEVICE_LOG_ENTRY, &twin).unwrap();
    assert!(matches!(a.log.insert(twin).unwrap(), Inserted::New(_)));
    let evidence = &a.log.state().compromise;
    assert!(
        evidence
            .iter()
            .any(|c| matches!(c, Compromise::Equivocation { .. })),
        "{evidence:?}"
    );
}

#[test]
fn a_declared_compromise_is_reported() {
    let mut a = account("laptop");
    a.write(DeviceOp::AccountCompromised);
    assert!(a.log.state().compromise.contains(&Compromise::Declared {
        by: a.keys.device_id()
    }));
}

#[test]
fn a_rolled_back_head_is_detected() {
    let mut a = account("laptop");
    let old_heads = a.log.state().heads.clone();
    a.write(DeviceOp::Profile {
        name: "newer".into(),
    });
    let mut contact = fresh_copy(&a.log, a.log.entries().cloned());
    let current = a.log.state().heads.clone();
    contact
        .observe_heads(&a.keys.device_id(), &current)
        .unwrap();
    // Unknown heads are not judged.
    contact
        .observe_heads(&a.keys.device_id(), &[kith_wire::EntryHash([9; 32])])
        .unwrap();
    assert_eq!(
        contact
            .observe_heads(&a.keys.device_id(), &old_heads)
            .unwrap_err(),
        IdentityError::Rollback
    );
    assert!(
        contact
            .state()
            .compromise
            .iter()
            .any(|c| matches!(c, Compromise::Rollback { .. }))
    );
}

#[test]
fn entries_wait_for_their_parents_and_merging_is_idempotent() {
    let mut a = account("laptop");
    let _b = a.add_device("phone");
    a.write(DeviceOp::Profile {
        name: "Alice C".into(),
    });
    let entries: Vec<_> = a.log.entries().cloned().collect();
    let mut copy = DeviceLog::empty(a.log.account_id());
    for e in entries.iter().rev().take(entries.len() - 1) {
        assert!(matches!(
            copy.insert(e.clone()).unwrap(),
            Inserted::Pending(_)
        ));
    }
    assert!(matches!(
        copy.insert(entries[0].clone()).unwrap(),
        Inserted::New(_)
    ));
    assert_eq!(copy.pending_len(), 0);
    assert_eq!(copy.state(), a.log.state());
    let again = copy.merge(entries.clone());
    assert_eq!((again.added, again.pending), (0, 0));
    assert_eq!(copy.state(), a.log.state());
}

#[test]
fn garbage_never_panics_the_log() {
    let a = account("laptop");
    let key = SigningKey::generate().unwrap();
    let _ = DeviceId(key.verifying_key().to_bytes());
    for len in [0usize, 1, 2, 10, 100] {
        let junk = SignedDeviceEntry::from_parts(vec![1; len], kith_wire::Sig([0; 64]));
        assert!(a.log.clone().insert(junk).is_err());
    }
}

/// One step of a randomized multi-device history.
#[derive(Clone, Debug)]
enum Step {
    Sync { to: usize, from: usize },
    Revoke { by: usize, target: usize },
    Rotate { by: usize },
    Rename { by: usize, name: u8 },
    Add { by: usize },
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..6usize, 0..6usize).prop_map(|(to, from)| Step::Sync { to, from }),
        2 => (0..6usize, 0..6usize).prop_map(|(by, target)| Step::Revoke { by, target }),
        1 => (0..6usize).prop_map(|by| Step::Rotate { by }),
        2 => (0..6usize, any::<u8>()).prop_map(|(by, name)| Step::Rename { by, name }),
        1 => (0..6usize).prop_map(|by| Step::Add { by }),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Any delivery order of the same entries converges to the same state.
    #[test]
    fn every_delivery_order_converges(steps in proptest::collection::vec(step(), 1..25), seed in any::<u64>()) {
        let mut first = account("d0");
        let mut replicas: Vec<Replica> = vec![first.add_device("d1"), first.add_device("d2")];
        replicas.insert(0, first);
        for r in 1..replicas.len() {
            let (head, rest) = replicas.split_at_mut(r);
            rest[0].pull(&head[0]);
        }
        for step in steps {
            let n = replicas.len();
            match step {
                Step::Sync { to, from } if to % n != from % n => {
                    let from_entries: Vec<_> = replicas[from % n].log.entries().cloned().collect();
                    replicas[to % n].log.merge(from_entries);
                }
                Step::Sync { .. } => {}
                Step::Revoke { by, target } => {
                    let target = replicas[target % n].keys.device_id();
                    let r = &mut replicas[by % n];
                    let op = DeviceOp::RevokeDevice { device: target, cutoff: None, reason: RevokeReason::Retired };
                    let _ = r.log.append(&r.keys, op, 2_000);
                }
                Step::Rotate { by } => {
                    let r = &mut replicas[by % n];
                    if let Ok(prekey) = r.keys.rotate_prekey(3_000) {
                        let _ = r.log.append(&r.keys, DeviceOp::RotatePrekey { prekey }, 3_000);
                    }
                }
                Step::Rename { by, name } => {
                    let r = &mut replicas[by % n];
                    let _ = r.log.append(&r.keys, DeviceOp::Profile { name: format!("name {name}") }, 4_000);
                }
                Step::Add { by } if n < 6 => {
                    let r = &mut replicas[by % n];
                    if r.log.state().is_active(&r.keys.device_id()) {
                        let new = r.add_device("late");
                        replicas.push(new);
                    }
                }
                Step::Add { .. } => {}
            }
        }
        // Everything every replica wrote.
        let mut all: Vec<SignedDeviceEntry> = Vec::new();
        for r in &replicas {
            for e in r.log.entries() {
                if !all.contains(e) {
                    all.push(e.clone());
                }
            }
        }
        let account = replicas[0].log.account_id();
        let mut reference: Option<DeviceLog> = None;
        let mut rng = seed;
        for _ in 0..3 {
            let order = crate::shuffled(&all, &mut rng);
            let mut log = DeviceLog::empty(account);
            let report = log.merge(order);
            prop_assert!(report.rejected.is_empty(), "{:?}", report.rejected);
            prop_assert_eq!(report.pending, 0);
            // One at a time, evaluated after each: the incremental
            // shortcuts (`device_log/incremental.rs`) give the same state.
            let mut one_by_one = DeviceLog::empty(account);
            for e in crate::shuffled(&all, &mut rng) {
                prop_assert!(one_by_one.insert(e).is_ok());
            }
            prop_assert_eq!(one_by_one.state(), log.state());
            prop_assert_eq!(one_by_one.state(), &one_by_one.state_evaluated_in_full());
            match &reference {
                None => reference = Some(log),
                Some(r) => prop_assert_eq!(r.state(), log.state()),
            }
        }
        // A replica that merges everyone converges to the same state too.
        let mut merged = replicas.remove(0);
        for r in &replicas {
            merged.log.merge(r.log.entries().cloned());
        }
        let reference = reference.unwrap();
        prop_assert_eq!(merged.log.state(), reference.state());
    }
}

#[test]
fn a_log_rebuilt_from_its_entries_is_the_same_log() {
    let a = account("laptop");
    let mut entries: Vec<SignedDeviceEntry> = a.log.entries().cloned().collect();
    entries.reverse();
    let rebuilt = DeviceLog::from_entries(entries.clone()).unwrap();
    assert_eq!(rebuilt.account_id(), a.log.account_id());
    assert_eq!(rebuilt.state(), a.log.state());
    // Without its genesis there is no account to rebuild.
    let without_genesis: Vec<SignedDeviceEntry> = entries
        .into_iter()
        .filter(|e| {
            e.peek(limits::MAX_ENTRY_BYTES)
                .is_ok_and(|x: DeviceLogEntry| x.account.is_some())
        })
        .collect();
    assert!(DeviceLog::from_entries(without_genesis).is_err());
    assert!(DeviceLog::from_entries(Vec::new()).is_err());
}

#[test]
fn device_keys_survive_export_and_import() {
    let mut keys = DeviceKeys::generate("laptop", 1).unwrap();
    keys.rotate_prekey(2).unwrap();
    let exported = keys.export().unwrap();
    let back = DeviceKeys::import(exported.expose()).unwrap();
    assert_eq!(back.device_id(), keys.device_id());
    assert_eq!(back.transport_id(), keys.transport_id());
    assert_eq!(back.name(), "laptop");
    assert_eq!(back.prekey_ids(), keys.prekey_ids());
    assert_eq!(back.record().unwrap(), keys.record().unwrap());
    // It signs as the same device.
    let log = DeviceLog::create(&back, "Alice", 3).unwrap();
    assert!(log.state().is_active(&keys.device_id()));
    // Damaged bytes are an error, not a panic.
    let bytes = exported.expose();
    assert!(DeviceKeys::import(&bytes[..10]).is_err());
    assert!(DeviceKeys::import(&bytes[..bytes.len() - 1]).is_err());
    assert!(DeviceKeys::import(&[]).is_err());
}

#[test]
fn only_the_transport_key_proves_a_device_owns_its_endpoint() {
    let mut a = account("laptop");
    let me = a.keys.device_id();
    assert!(!a.log.state().devices[&me].transport_proven);
    // A proof by another key (another device's endpoint) is refused.
    let other = DeviceKeys::generate("other", 0).unwrap();
    let wrong = DeviceOp::ProveTransport {
        signature: other.transport_proof().unwrap(),
    };
    assert!(a.log.append(&a.keys, wrong, 0).is_err());
    assert!(!a.log.state().devices[&me].transport_proven);
    let proof = DeviceOp::ProveTransport {
        signature: a.keys.transport_proof().unwrap(),
    };
    a.log.append(&a.keys, proof, 0).unwrap();
    assert!(a.log.state().devices[&me].transport_proven);
    // A contact rebuilding the log from its entries agrees.
    let copy = fresh_copy(&a.log, a.log.entries().cloned());
    assert!(copy.state().devices[&me].transport_proven);
    // A device claiming my endpoint cannot prove it with its own keys.
    let fake = DeviceKeys::generate("fake", 0).unwrap();
    let mut record = fake.record().unwrap();
    record.transport = a.keys.transport_id();
    // Its DSK signs the claimed endpoint, as a record needs.
    assert!(
        kith_identity::keys::verify_transport_proof(
            &fake.device_id(),
            &record.transport,
            &fake.transport_proof().unwrap()
        )
        .is_err()
    );
}

/// Entries applied on their own while concurrent (an add of a new device,
/// its entries, a first declaration of compromise) give the state a full
/// evaluation gives.
#[test]
fn concurrent_entries_applied_on_their_own_match_a_full_evaluation() {
    let mut laptop = account("laptop");
    let mut phone = laptop.add_device("phone");
    phone.pull(&laptop);
    let renamed = laptop.write(DeviceOp::Profile {
        name: "Alice B".into(),
    });
    let declared = laptop.write(DeviceOp::AccountCompromised);
    // The phone, unaware of both, adds a tablet, which writes.
    let mut tablet = phone.add_device("tablet");
    let added = phone.log.entries().last().cloned().unwrap();
    let written = tablet.write(DeviceOp::Profile {
        name: "Alice T".into(),
    });
    let base: Vec<SignedDeviceEntry> = phone
        .log
        .entries()
        .filter(|e| **e != added)
        .cloned()
        .collect();
    for tail in [
        [
            renamed.clone(),
            declared.clone(),
            added.clone(),
            written.clone(),
        ],
        [
            added.clone(),
            written.clone(),
            renamed.clone(),
            declared.clone(),
        ],
    ] {
        let mut log = DeviceLog::empty(laptop.log.account_id());
        for e in base.iter().cloned().chain(tail) {
            assert!(matches!(log.insert(e).unwrap(), Inserted::New(_)));
        }
        assert_eq!(log.state(), &log.state_evaluated_in_full());
        let tablet_state = &log.state().devices[&tablet.keys.device_id()];
        assert_eq!(tablet_state.status, DeviceStatus::Active);
        assert_eq!(tablet_state.added_by, Some(phone.keys.device_id()));
        assert!(log.state().compromise.contains(&Compromise::Declared {
            by: laptop.keys.device_id()
        }));
    }
}
