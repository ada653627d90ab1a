//! Integration tests of `kith-sync`, driven through the simulator.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod directory;
mod groups;
mod random;
mod rooms;
mod scenarios;
mod sender_keys;

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_sync::MemoryStorage;
use kith_sync::Replica;
use kith_sync::sim::Sim;
use kith_wire::{ConversationId, EntryHash};

/// Keys of the devices of one account and its device log.
pub struct Account {
    /// Device keys; the first made the account.
    pub keys: Vec<DeviceKeys>,
    /// The device log.
    pub log: DeviceLog,
}

/// An account with `n` devices.
pub fn account(name: &str, n: usize) -> Account {
    let first = DeviceKeys::generate(&format!("{name}1"), 0).unwrap();
    let log = DeviceLog::create(&first, name, 0).unwrap();
    let mut account = Account {
        keys: vec![first],
        log,
    };
    for i in 1..n {
        link(&mut account, &format!("{name}{}", i + 1));
    }
    account
}

/// Adds a device to an account's log; returns its keys' index.
pub fn link(account: &mut Account, name: &str) -> usize {
    let new = DeviceKeys::generate(name, 0).unwrap();
    let op = new.join_op(&account.log.account_id()).unwrap();
    account.log.append(&account.keys[0], op, 0).unwrap();
    account.keys.push(new);
    account.keys.len() - 1
}

/// Replicas for every device of every account; every account knows every
/// other account's device log (they are contacts).
pub fn world(accounts: Vec<Account>) -> (Sim, Vec<Vec<usize>>) {
    world_where(accounts, |_, _| true)
}

/// Replicas where account `i` knows account `j`'s log when `knows(i, j)`.
pub fn world_where(
    accounts: Vec<Account>,
    knows: impl Fn(usize, usize) -> bool,
) -> (Sim, Vec<Vec<usize>>) {
    let logs: Vec<DeviceLog> = accounts.iter().map(|a| a.log.clone()).collect();
    let mut replicas = Vec::new();
    let mut indices = Vec::new();
    for (i, account) in accounts.into_iter().enumerate() {
        let mut mine = Vec::new();
        for keys in account.keys {
            let mut replica = Replica::new(
                keys,
                account.log.clone(),
                Sessions::new(MemoryStorage::default()),
            )
            .unwrap();
            for (j, log) in logs.iter().enumerate() {
                if i == j || knows(i, j) {
                    replica.update_log(log.clone());
                }
            }
            mine.push(replicas.len());
            replicas.push(replica);
        }
        indices.push(mine);
    }
    (Sim::new(replicas, 7), indices)
}

/// Entry ids of a conversation in display order on device `i`.
pub fn order(sim: &Sim, i: usize, conversation: &ConversationId) -> Vec<EntryHash> {
    sim.devices[i]
        .replica
        .conversation(conversation)
        .map(|c| c.in_order().map(|e| e.id).collect())
        .unwrap_or_default()
}

/// Readable texts of a conversation on device `i`.
pub fn texts(sim: &Sim, i: usize, conversation: &ConversationId) -> Vec<Option<String>> {
    sim.devices[i]
        .replica
        .messages(conversation)
        .into_iter()
        .map(|(_, t)| t)
        .collect()
}

/// Links a new device to the account of device `owner` after the fact: the
/// owner writes the AddDevice entry, every device learns the new log, and
/// the new device joins the simulation (online, no links). Returns its index.
pub fn link_late(sim: &mut Sim, owner: usize, name: &str) -> usize {
    let new = DeviceKeys::generate(name, 0).unwrap();
    let account = sim.devices[owner].replica.account_id();
    let log = append_to_account(sim, owner, new.join_op(&account).unwrap());
    let others: Vec<DeviceLog> = sim.devices[owner]
        .replica
        .known_accounts()
        .iter()
        .filter(|a| **a != account)
        .map(|a| sim.devices[owner].replica.device_log(a).unwrap().clone())
        .collect();
    let mut replica = Replica::new(new, log, Sessions::new(MemoryStorage::default())).unwrap();
    for other in others {
        replica.update_log(other);
    }
    sim.devices.push(kith_sync::sim::SimDevice {
        replica,
        online: true,
    });
    sim.devices.len() - 1
}

/// Device `owner` writes `op` into its account's device log, and every
/// replica learns the new log (as device-log sync will do). Returns the log.
pub fn append_to_account(sim: &mut Sim, owner: usize, op: kith_wire::DeviceOp) -> DeviceLog {
    let account = sim.devices[owner].replica.account_id();
    let mut log = sim.devices[owner]
        .replica
        .device_log(&account)
        .unwrap()
        .clone();
    log.append(sim.devices[owner].replica.keys(), op, 5)
        .unwrap();
    for d in &mut sim.devices {
        d.replica.update_log(log.clone());
    }
    log
}
