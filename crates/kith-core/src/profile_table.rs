//! What the node keeps in the store's profile table, by key:
//!
//! | key | value |
//! |---|---|
//! | `account` | this account's id |
//! | `keys` | this device's keys ([`DeviceKeys::export`]) |
//! | `log/<account hex>` | a device log (own and contacts'), its signed entries |
//! | `addr/<device hex>` | the newest signed address announcement of a device |
//! | `invite/<secret hash hex>` | a contact invite this device made, until used |
//! | `redeem/<account hex>` | a contact invite this device is to redeem |

use kith_crypto::hash::blake2b_256;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_store::Store;
use kith_wire::{
    AccountId, Invite, InviteSecret, SignedAnnouncement, SignedDeviceEntry, decode, encode,
    hex_encode, limits,
};

use crate::error::{CoreError, Result};

/// Largest stored device log (bytes).
const MAX_LOG_BYTES: usize = 8 << 20;

pub(crate) fn log_key(account: &AccountId) -> String {
    format!("log/{}", account.to_hex())
}

pub(crate) fn addr_key(device: &kith_wire::DeviceId) -> String {
    format!("addr/{}", device.to_hex())
}

pub(crate) fn invite_key(secret: &InviteSecret) -> Result<String> {
    let hash = blake2b_256(
        kith_wire::domain::ACCOUNT_ID,
        &[b"invite", secret.as_bytes()],
    )?;
    Ok(format!("invite/{}", hex_encode(&hash)))
}

pub(crate) fn redeem_key(account: &AccountId) -> String {
    format!("redeem/{}", account.to_hex())
}

/// Everything read at start-up.
pub(crate) struct Loaded {
    pub keys: DeviceKeys,
    pub account: AccountId,
    pub logs: Vec<DeviceLog>,
    pub addresses: Vec<SignedAnnouncement>,
}

fn corrupt(what: &str) -> CoreError {
    CoreError::new("storage", format!("the stored {what} is damaged"))
}

pub(crate) fn load(store: &Store) -> Result<Loaded> {
    let keys = store
        .profile_get("keys")?
        .ok_or_else(|| CoreError::new("no_profile", "this profile has no device keys"))?;
    let keys = DeviceKeys::import(keys.expose()).map_err(|_| corrupt("device keys"))?;
    let account = store
        .profile_get("account")?
        .ok_or_else(|| corrupt("account id"))?;
    let account = <[u8; 32]>::try_from(account.expose())
        .map(AccountId)
        .map_err(|_| corrupt("account id"))?;
    let mut logs = Vec::new();
    for (key, bytes) in store.profile_scan("log/")? {
        let entries: Vec<SignedDeviceEntry> = match decode(bytes.expose(), MAX_LOG_BYTES) {
            Ok(entries) => entries,
            Err(_) => {
                tracing::warn!("skipping a damaged device log ({key})");
                continue;
            }
        };
        match DeviceLog::from_entries(entries) {
            Ok(log) => logs.push(log),
            Err(e) => tracing::warn!("skipping a device log that does not verify ({key}): {e}"),
        }
    }
    let addresses = store
        .profile_scan("addr/")?
        .into_iter()
        .filter_map(|(_, bytes)| decode(bytes.expose(), limits::MAX_ENTRY_BYTES).ok())
        .collect();
    Ok(Loaded {
        keys,
        account,
        logs,
        addresses,
    })
}

pub(crate) fn encode_log(log: &DeviceLog) -> Result<Vec<u8>> {
    let entries: Vec<SignedDeviceEntry> = log.entries().cloned().collect();
    Ok(encode(&entries)?)
}

pub(crate) fn invites(store: &Store, prefix: &str) -> Result<Vec<(String, Invite)>> {
    Ok(store
        .profile_scan(prefix)?
        .into_iter()
        .filter_map(|(key, bytes)| {
            decode::<Invite>(bytes.expose(), limits::MAX_INVITE_BYTES)
                .ok()
                .map(|i| (key, i))
        })
        .collect())
}
