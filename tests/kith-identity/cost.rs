//! How the work of evaluating a device log grows with the log: counted in
//! evaluation steps (`DeviceLog::evaluation_steps`), never timed. A crafted
//! log (a contact's, or a thief's entries in this account's) must cost work
//! near-linear in its size, at every start and for every frame that brings
//! entries.

use kith_identity::DeviceLog;
use kith_wire::{DeviceOp, RevokeReason, SignedDeviceEntry};

use crate::{Replica, account, shuffled};

fn revoke(device: kith_wire::DeviceId) -> DeviceOp {
    DeviceOp::RevokeDevice {
        device,
        cutoff: None,
        reason: RevokeReason::Lost,
    }
}

/// `devices` devices that each revoke every other one, all concurrently:
/// about `devices²` revocations, every one of them contested.
fn mutual(devices: usize) -> Vec<SignedDeviceEntry> {
    let mut first = account("first");
    let mut all: Vec<Replica> = (1..devices)
        .map(|i| first.add_device(&format!("d{i}")))
        .collect();
    for r in &mut all {
        r.pull(&first);
    }
    all.insert(0, first);
    let ids: Vec<_> = all.iter().map(|r| r.keys.device_id()).collect();
    let mut entries = Vec::new();
    for r in &mut all {
        for id in &ids {
            if *id != r.keys.device_id() {
                r.write(revoke(*id));
            }
        }
        entries.extend(r.log.entries().cloned());
    }
    dedup(entries)
}

/// One device that adds a device and revokes it, `rounds` times.
fn churn(rounds: usize) -> Vec<SignedDeviceEntry> {
    let mut first = account("first");
    for i in 0..rounds {
        let added = first.add_device(&format!("d{i}"));
        first.write(revoke(added.keys.device_id()));
    }
    first.log.entries().cloned().collect()
}

/// Two devices that write at the same time, again and again, each seeing
/// the other's previous entry: every entry has a concurrent sibling.
fn two_writers(rounds: usize) -> Vec<SignedDeviceEntry> {
    let mut a = account("a");
    let mut b = a.add_device("b");
    b.pull(&a);
    for i in 0..rounds {
        a.write(DeviceOp::Profile {
            name: format!("a{i}"),
        });
        b.write(DeviceOp::Profile {
            name: format!("b{i}"),
        });
        a.pull(&b);
        b.pull(&a);
    }
    a.log.entries().cloned().collect()
}

fn dedup(entries: Vec<SignedDeviceEntry>) -> Vec<SignedDeviceEntry> {
    let mut out: Vec<SignedDeviceEntry> = Vec::new();
    for e in entries {
        if !out.contains(&e) {
            out.push(e);
        }
    }
    out
}

/// Steps to rebuild the log from `entries` as stored, and to merge them
/// delivered in a shuffled order.
fn steps(entries: &[SignedDeviceEntry]) -> (u64, u64) {
    let stored = DeviceLog::from_entries(entries.to_vec()).unwrap();
    let mut rng = 7;
    let mut delivered = DeviceLog::empty(stored.account_id());
    let report = delivered.merge(shuffled(entries, &mut rng));
    assert!(report.rejected.is_empty(), "{:?}", report.rejected);
    assert_eq!(delivered.state(), stored.state());
    (stored.evaluation_steps(), delivered.evaluation_steps())
}

/// Growing the log `factor`-fold may grow the work at most
/// `2 × factor^power` fold (`power` 1: near-linear, a logarithmic factor
/// and not a quadratic one).
fn assert_growth(
    shape: &str,
    power: f64,
    small: &[SignedDeviceEntry],
    large: &[SignedDeviceEntry],
) {
    let factor = large.len() as f64 / small.len() as f64;
    let (small_stored, small_shuffled) = steps(small);
    let (large_stored, large_shuffled) = steps(large);
    for (how, s, l) in [
        ("as stored", small_stored, large_stored),
        ("shuffled", small_shuffled, large_shuffled),
    ] {
        let growth = l as f64 / s.max(1) as f64;
        assert!(
            growth <= 2.0 * factor.powf(power),
            "{shape} {how}: {factor:.1}x the entries took {growth:.1}x the steps ({s} -> {l})"
        );
    }
}

/// Every device revoking every other one concurrently: it was over
/// `entries³` (104x for 3.9x the entries), then the (revocation, entry of
/// its target) pairs (10.3x).
#[test]
fn contested_revocations_cost_work_near_linear_in_the_log() {
    assert_growth("mutual", 1.0, &mutual(6), &mutual(12));
}

#[test]
fn a_long_history_of_added_and_removed_devices_costs_work_near_linear_in_the_log() {
    assert_growth("churn", 1.0, &churn(40), &churn(160));
}

#[test]
fn concurrent_writers_cost_work_near_linear_in_the_log() {
    assert_growth("two writers", 1.0, &two_writers(40), &two_writers(160));
}

/// One device writes `rounds` entries while another, unaware of them,
/// revokes it `rounds` times: every revocation strikes every entry.
fn one_target(rounds: usize) -> Vec<SignedDeviceEntry> {
    let mut first = account("first");
    let mut target = first.add_device("target");
    target.pull(&first);
    for i in 0..rounds {
        target.write(DeviceOp::Profile {
            name: format!("t{i}"),
        });
        first.write(revoke(target.keys.device_id()));
    }
    first.pull(&target);
    first.log.entries().cloned().collect()
}

/// Revocations of a device that kept writing: it was (revocation, entry of
/// its target) pairs, quadratic (15x for 3.9x the entries).
#[test]
fn many_revocations_of_a_busy_device_cost_work_near_linear_in_the_log() {
    assert_growth("one target", 1.0, &one_target(40), &one_target(160));
}

/// [`one_target`], but the target forked its log first (two entries with
/// one sequence number): it has no chain, so its entries are weighed
/// against every revocation of it, the one shape still quadratic
/// (`docs/identity.md`, "Cost"): bounded by the log's cap.
fn forked_target(rounds: usize) -> Vec<SignedDeviceEntry> {
    let mut first = account("first");
    let mut target = first.add_device("target");
    target.pull(&first);
    let honest = target.write(DeviceOp::Profile {
        name: "honest".into(),
    });
    let mut twin: kith_wire::DeviceLogEntry =
        honest.peek(kith_wire::limits::MAX_ENTRY_BYTES).unwrap();
    twin.op = DeviceOp::Profile {
        name: "twin".into(),
    };
    let twin = target
        .keys
        .sign(kith_wire::domain::DEVICE_LOG_ENTRY, &twin)
        .unwrap();
    for i in 0..rounds {
        target.write(DeviceOp::Profile {
            name: format!("t{i}"),
        });
        first.write(revoke(target.keys.device_id()));
    }
    first.pull(&target);
    let mut entries: Vec<_> = first.log.entries().cloned().collect();
    entries.push(twin);
    entries
}

#[test]
fn many_revocations_of_a_device_that_forked_its_log_cost_at_most_quadratic_work() {
    assert_growth(
        "forked target",
        2.0,
        &forked_target(40),
        &forked_target(160),
    );
}

/// Three devices in a ring, each learning only its neighbour's entries
/// before it writes: every entry learned something, but not everything.
fn ring(rounds: usize) -> Vec<SignedDeviceEntry> {
    let mut a = account("a");
    let mut b = a.add_device("b");
    let mut c = a.add_device("c");
    b.pull(&a);
    c.pull(&a);
    for i in 0..rounds {
        for (r, name) in [(&mut a, "a"), (&mut b, "b"), (&mut c, "c")] {
            r.write(DeviceOp::Profile {
                name: format!("{name}{i}"),
            });
        }
        a.pull(&b);
        b.pull(&c);
        c.pull(&a);
    }
    a.pull(&b);
    a.pull(&c);
    a.log.entries().cloned().collect()
}

#[test]
fn devices_that_each_learn_part_of_the_log_cost_work_near_linear_in_the_log() {
    assert_growth("ring", 1.0, &ring(30), &ring(120));
}
