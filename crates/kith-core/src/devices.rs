//! My devices: listing, revoking, and accepting a new device's link request.

use kith_identity::{DeviceState, DeviceStatus, invite};
use kith_net::{LinkReply, dial_link};
use kith_wire::{DeviceId, DeviceOp, InviteKind, RevokeReason, SignedDeviceEntry};

use crate::error::{CoreError, Result};
use crate::node::{Node, hex_id, now_ms, now_secs};
use crate::online::endpoint_addr;
use crate::profile_table::{encode_log, log_key};
use crate::views::{DeviceView, NodeEvent};

impl Node {
    /// The devices of my account.
    pub async fn devices(&self) -> Vec<DeviceView> {
        self.with(|r| {
            let me = r.device_id();
            let seen: std::collections::BTreeMap<DeviceId, u64> = r
                .announcements()
                .map(|(a, _)| (a.device, a.at_ms))
                .collect();
            r.device_log(&r.account_id())
                .map(|l| {
                    let state = l.state();
                    state
                        .devices
                        .values()
                        .map(|d| DeviceView {
                            device_id: d.record.device.to_hex(),
                            name: d.record.name.clone(),
                            state: if d.status == DeviceStatus::Active {
                                "active"
                            } else {
                                "revoked"
                            },
                            this_device: d.record.device == me,
                            note: removal_note(state, d),
                            last_seen_ms: seen.get(&d.record.device).copied(),
                            linked_at_ms: l.added_at_ms(&d.record.device),
                        })
                        .collect()
                })
                .unwrap_or_default()
        })
        .await
    }

    /// Changes this account's device log with `op` (signed by this device),
    /// stores it and tells every connected device.
    pub(crate) async fn change_own_log(&self, op: DeviceOp) -> Result<Vec<SignedDeviceEntry>> {
        let (entries, account) = self
            .act(|r| {
                let account = r.account_id();
                let mut log = r
                    .device_log(&account)
                    .cloned()
                    .ok_or_else(|| CoreError::new("storage", "own device log missing"))?;
                log.append(r.keys(), op, now_ms())?;
                let bytes = encode_log(&log)?;
                let entries: Vec<SignedDeviceEntry> = log.entries().cloned().collect();
                r.update_log(log);
                r.storage_mut()
                    .profile_write(&[(&log_key(&account), Some(&bytes))])?;
                Ok(((entries, account), r.publish_directory()))
            })
            .await?;
        self.emit(NodeEvent::DevicesChanged {
            account_id: account.to_hex(),
        });
        Ok(entries)
    }

    /// Revokes one of my devices: it is cut off at once on every device
    /// that hears of it, and receives nothing new.
    pub async fn revoke(&self, device: &str) -> Result<()> {
        self.ensure_not_revoked()?;
        let lower = device.trim().to_ascii_lowercase();
        let devices = self.devices().await;
        let matching: Vec<&DeviceView> = devices
            .iter()
            .filter(|d| lower.len() >= 4 && d.device_id.starts_with(&lower))
            .collect();
        let target = match matching.as_slice() {
            [one] => *one,
            [] => {
                return Err(CoreError::new(
                    "unknown_device",
                    "no such device in this account",
                ));
            }
            _ => return Err(CoreError::new("ambiguous", "several devices match")),
        };
        if target.this_device {
            return Err(CoreError::new(
                "invalid_input",
                "revoke this device from another of your devices",
            ));
        }
        if target.state == "revoked" {
            return Ok(());
        }
        let id = hex_id::<32>(&target.device_id)
            .map(DeviceId)
            .ok_or_else(|| CoreError::new("internal", "bad device id"))?;
        self.change_own_log(DeviceOp::RevokeDevice {
            device: id,
            cutoff: None,
            reason: RevokeReason::Retired,
        })
        .await?;
        self.inner.sync.disconnect(&id, b"revoked").await;
        // A revocation starts a fresh prekey period on every device of the
        // account (`prekeys.rs`).
        if let Err(e) = self.maintain_prekeys().await {
            tracing::warn!("rotating the prekey after a revocation failed: {e}");
        }
        Ok(())
    }

    /// Accepts a `kith-link:` request from a new device: adds it to this
    /// account; it then receives the device log, the self log and history.
    pub async fn link_accept(&self, uri: &str) -> Result<DeviceView> {
        self.ensure_not_revoked()?;
        let request = invite::parse_uri(uri, now_secs())?;
        let InviteKind::LinkDevice { identity_key, .. } = request.kind else {
            return Err(CoreError::wrong_link(&request.kind));
        };
        let addr = endpoint_addr(&request.transport, &request.addresses)?;
        let log = self.own_log_entries().await;
        let announcement = self.own_announcement().await;
        let endpoint = self.inner.sync.endpoint().clone();
        let (reply, dial) = dial_link(&endpoint, addr, request.secret, log, announcement).await?;
        let LinkReply::Join { op } = reply else {
            return Err(CoreError::new("network", "the new device answered oddly"));
        };
        let DeviceOp::AddDevice { device, .. } = op.as_ref() else {
            return Err(CoreError::new(
                "network",
                "the new device sent no add-device operation",
            ));
        };
        if device.device != request.device
            || device.transport != request.transport
            || device.identity_key != identity_key
        {
            return Err(CoreError::new(
                "network",
                "the device that answered is not the one in the link request",
            ));
        }
        let new_device = device.device;
        let entries = self.change_own_log(*op).await?;
        dial.joined(entries).await?;
        // Sync at once: the new device wants the history.
        let node = self.clone();
        self.spawn(async move { node.try_connect_transport(request.transport).await });
        self.devices()
            .await
            .into_iter()
            .find(|d| d.device_id == new_device.to_hex())
            .ok_or_else(|| CoreError::new("internal", "the new device is missing from the log"))
    }
}

/// Why a revoked device is out, in words for the person: by whom, and
/// when the revoker was itself removed at the same time (a mutual
/// revocation: both go), what to do.
fn removal_note(state: &kith_identity::LogState, device: &DeviceState) -> Option<String> {
    let DeviceStatus::Revoked { by, .. } = device.status else {
        return None;
    };
    let revoker = state.devices.get(&by);
    let name = revoker.map_or("another device", |r| r.record.name.as_str());
    let revoker_out = revoker.is_some_and(|r| r.status != DeviceStatus::Active);
    Some(if revoker_out {
        format!(
            "removed because {name}, a device that was itself removed at the same time, \
             revoked it; if it is still yours, link it again from a device that is still in"
        )
    } else {
        format!("removed by {name}")
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use kith_identity::{DeviceKeys, DeviceLog};
    use kith_wire::{DeviceOp, RevokeReason};

    use super::removal_note;

    #[test]
    fn a_device_removed_with_its_revoker_says_to_link_it_again() {
        let laptop = DeviceKeys::generate("laptop", 1).unwrap();
        let mut log = DeviceLog::create(&laptop, "Alice", 1).unwrap();
        let phone = DeviceKeys::generate("phone", 1).unwrap();
        let thief = DeviceKeys::generate("old tablet", 1).unwrap();
        for new in [&phone, &thief] {
            log.append(&laptop, new.join_op(&log.account_id()).unwrap(), 1)
                .unwrap();
        }
        let revoke = |target: &DeviceKeys| DeviceOp::RevokeDevice {
            device: target.device_id(),
            cutoff: None,
            reason: RevokeReason::Lost,
        };
        // The phone and the old tablet revoke each other at the same time.
        let mut at_thief = log.clone();
        log.append(&phone, revoke(&thief), 2).unwrap();
        at_thief.append(&thief, revoke(&phone), 2).unwrap();
        log.merge(at_thief.entries().cloned());
        let state = log.state();
        let note = |k: &DeviceKeys| removal_note(state, &state.devices[&k.device_id()]);
        assert_eq!(note(&laptop), None);
        let phone_note = note(&phone).unwrap();
        assert!(
            phone_note.contains("old tablet") && phone_note.contains("link it again"),
            "{phone_note}"
        );
        let thief_note = note(&thief).unwrap();
        assert!(thief_note.contains("phone"), "{thief_note}");
    }
}
