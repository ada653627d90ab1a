//! Signed prekeys rotate: weekly, and at once after a device of the
//! account was revoked; a replaced prekey's secret is erased after its
//! grace (`kith_identity::keys::PREKEY_GRACE_MS`), so a thief holding this
//! device's keys cannot open PreKey envelopes sent before that. The keys
//! are stored before a new prekey is published (a crash in between must
//! not publish a prekey whose secret is lost).

use std::sync::atomic::Ordering;
use std::time::Duration;

use kith_identity::DeviceStatus;
use kith_wire::DeviceOp;

use crate::error::Result;
use crate::node::{Inner, Node, now_ms};

/// How often an online node checks its prekeys.
const CHECK_EVERY: Duration = Duration::from_secs(3600);

impl Node {
    /// Revoked devices of this account, as far as known.
    pub(crate) async fn own_revoked_count(&self) -> usize {
        self.with(|r| {
            r.device_log(&r.account_id()).map_or(0, |l| {
                l.state()
                    .devices
                    .values()
                    .filter(|d| d.status != DeviceStatus::Active)
                    .count()
            })
        })
        .await
    }

    /// Rotates and erases prekeys as they are due; rotates at once if a
    /// device of the account was revoked since the last check.
    pub(crate) async fn maintain_prekeys(&self) -> Result<()> {
        let revoked = self.own_revoked_count().await;
        let seen = self.inner.revocations_seen.swap(revoked, Ordering::SeqCst);
        let force = revoked > seen;
        let now = now_ms();
        let (change, keys) = self
            .with(|r| {
                let change = r.keys_mut().maintain_prekeys(now, force)?;
                let keys = if change.rotated.is_some() || change.erased > 0 {
                    Some(r.keys().export()?)
                } else {
                    None
                };
                Ok::<_, crate::CoreError>((change, keys))
            })
            .await?;
        let Some(keys) = keys else {
            return Ok(());
        };
        self.with(|r| {
            r.storage_mut()
                .profile_write(&[("keys", Some(keys.expose()))])?;
            // The replay cache of prekeys no longer held goes too.
            let ids = r.keys().prekey_ids();
            kith_session::SessionStore::retain_prekey_uses(r.storage_mut(), &ids)
                .map_err(|e| crate::CoreError::new("storage", e.to_string()))
        })
        .await?;
        if let Some(prekey) = change.rotated {
            self.change_own_log(DeviceOp::RotatePrekey { prekey })
                .await?;
        }
        if change.erased > 0 {
            // The erased secrets leave the database file too.
            self.compact_soon();
        }
        Ok(())
    }
}

/// Checks the prekeys at once and then every [`CHECK_EVERY`] while online.
pub(crate) async fn prekey_keeper(weak: std::sync::Weak<Inner>) {
    loop {
        let Some(inner) = weak.upgrade() else { return };
        let node = Node { inner };
        if let Err(e) = node.maintain_prekeys().await {
            tracing::warn!("prekey maintenance failed: {e}");
        }
        drop(node);
        tokio::time::sleep(CHECK_EVERY).await;
    }
}
