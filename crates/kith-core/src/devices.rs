//! My devices: listing, revoking, and accepting a new device's link request.

use kith_identity::{DeviceStatus, invite};
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
            r.device_log(&r.account_id())
                .map(|l| {
                    l.state()
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
        Ok(())
    }

    /// Accepts a `kith-link:` request from a new device: adds it to this
    /// account; it then receives the device log, the self log and history.
    pub async fn link_accept(&self, uri: &str) -> Result<DeviceView> {
        self.ensure_not_revoked()?;
        let request = invite::parse_uri(uri, now_secs())?;
        let InviteKind::LinkDevice { identity_key, .. } = request.kind else {
            return Err(CoreError::new(
                "bad_uri",
                "this is a contact invite (kith:); use `kith contact add`",
            ));
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
