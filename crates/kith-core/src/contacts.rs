//! Contacts: invites, adding (by invite or by name), redeeming, learning a
//! contact's device log, listing and finding contacts.

use kith_identity::{DeviceLog, invite};
use kith_net::{LinkReply, dial_link};
use kith_store::Store;
use kith_sync::{Replica, SelfState};
use kith_wire::{
    AccountId, Invite, InviteKind, SelfRecord, SignedAnnouncement, TrustLevel, encode,
};

use crate::error::{CoreError, Result};
use crate::node::{Node, hex_id, now_ms, now_secs};
use crate::online::{endpoint_addr, feed};
use crate::profile_table::{addr_key, encode_log, invite_key, log_key, redeem_key};
use crate::views::{ContactView, NodeEvent, trust_name};

/// A contact as the self log and the directory describe it.
pub(crate) struct ContactInfo {
    pub(crate) account: AccountId,
    pub(crate) alias: Option<String>,
    pub(crate) trust: TrustLevel,
    pub(crate) reason: String,
    pub(crate) log: Option<DeviceLog>,
    /// The devices I acknowledged for this contact (at validation, or
    /// since): a self-log setting, the same on all my devices.
    pub(crate) seen: Option<Vec<String>>,
}

/// The active devices of a device log, as hex ids.
pub(crate) fn active_device_ids(log: &DeviceLog) -> Vec<String> {
    log.state()
        .active_devices()
        .map(|d| d.record.device.to_hex())
        .collect()
}

/// The self-log setting that lists the devices of `account` I acknowledged.
pub(crate) fn seen_devices_key(account: &AccountId) -> String {
    format!("seen-devices/{}", account.to_hex())
}

impl Node {
    /// A fresh `kith:` contact invite (valid 7 days, single use).
    pub async fn invite(&self) -> Result<String> {
        self.ensure_not_revoked()?;
        let addresses = self.addresses().await;
        let made = self
            .with(|r| {
                let log = r
                    .device_log(&r.account_id())
                    .ok_or_else(|| CoreError::new("storage", "own device log missing"))?;
                let made = invite::contact_invite(
                    r.keys(),
                    log,
                    addresses,
                    now_secs(),
                    invite::DEFAULT_INVITE_TTL_SECS,
                )?;
                let key = invite_key(&made.secret)?;
                let bytes = encode(&made)?;
                r.storage_mut().profile_write(&[(&key, Some(&bytes))])?;
                Ok::<_, CoreError>(made)
            })
            .await?;
        Ok(invite::to_uri(&made)?)
    }

    /// Adds a contact from its `kith:` invite. The contact starts
    /// unvalidated; its device list arrives when the invite is redeemed with
    /// the inviting device (at once when online and reachable, else later).
    pub async fn add_contact(&self, uri: &str, alias: Option<&str>) -> Result<ContactView> {
        let invite = invite::parse_uri(uri, now_secs())?;
        self.add_invited(invite, alias, "added from an invite")
            .await
    }

    /// Adds a contact by name (`user@example.com`) through its name server
    /// (`https://example.com/.well-known/kith/user`). The contact is
    /// unvalidated, and its note says where it came from.
    pub async fn add_contact_by_name(
        &self,
        name: &str,
        alias: Option<&str>,
    ) -> Result<ContactView> {
        self.add_contact_by_name_with(name, alias, kith_identity::lookup::LookupConfig::default())
            .await
    }

    /// [`Node::add_contact_by_name`] with explicit lookup settings (a
    /// self-hosted name server's certificate roots, the timeout).
    pub async fn add_contact_by_name_with(
        &self,
        name: &str,
        alias: Option<&str>,
        config: kith_identity::lookup::LookupConfig,
    ) -> Result<ContactView> {
        let owned = name.trim().to_owned();
        let found = tokio::task::spawn_blocking(move || {
            kith_identity::lookup::lookup(&owned, &config, now_secs())
        })
        .await
        .map_err(|e| CoreError::new("internal", e.to_string()))?
        .map_err(|e| CoreError::new("lookup_failed", format!("looking up {}: {e}", name.trim())))?;
        let reason = format!("looked up {} at {} (not validated)", found.name, found.url);
        let alias = alias
            .map(str::to_owned)
            .unwrap_or_else(|| found.name.clone());
        self.add_invited(found.invite, Some(&alias), &reason).await
    }

    pub(crate) async fn add_invited(
        &self,
        invite: Invite,
        alias: Option<&str>,
        reason: &str,
    ) -> Result<ContactView> {
        self.ensure_not_revoked()?;
        let InviteKind::Contact { account, name, .. } = &invite.kind else {
            return Err(CoreError::wrong_link(&invite.kind));
        };
        let account = *account;
        if let Some(alias) = alias {
            kith_wire::limits::check_name(alias)
                .map_err(|_| CoreError::new("invalid_input", "the name must be 1–64 bytes"))?;
        }
        let me = self.with(|r| r.account_id()).await;
        if account == me {
            return Err(CoreError::new("invalid_input", "this is your own invite"));
        }
        let alias = alias.map(str::to_owned).or_else(|| Some(name.clone()));
        // Redeemed unless already a contact: knowing the log (a co-member's)
        // is not enough, the inviter learns me from the redemption.
        let known = self.contact_info(&account).await.is_some();
        if !known {
            let online = self.inner.online.lock().await.is_some();
            let redeemed = if online {
                match self.redeem(&invite).await {
                    Ok(()) => true,
                    // A definite no (used, expired, not ours): nothing is added.
                    Err(e) if e.code == "invite_refused" => return Err(e),
                    Err(e) => {
                        tracing::info!("the invite could not be redeemed yet: {e}");
                        false
                    }
                }
            } else {
                false
            };
            if !redeemed {
                let bytes = encode(&invite)?;
                let key = redeem_key(&account);
                self.with(|r| r.storage_mut().profile_write(&[(&key, Some(&bytes))]))
                    .await?;
            }
        }
        if self.contact_info(&account).await.is_none() {
            self.act(|r| {
                let record = SelfRecord::Contact {
                    account,
                    alias: alias.clone(),
                    trust: TrustLevel::Unvalidated,
                    reason: reason.into(),
                };
                Ok(((), r.record(record, now_ms())?))
            })
            .await?;
        }
        self.emit(NodeEvent::TrustChanged {
            contact_id: account.to_hex(),
            state: "unvalidated".into(),
        });
        self.contact_view(&account).await
    }

    /// Redeems a contact invite with its device: both sides learn each other.
    pub(crate) async fn redeem(&self, invite: &Invite) -> Result<()> {
        let InviteKind::Contact { account, heads, .. } = &invite.kind else {
            return Err(CoreError::new("bad_uri", "not a contact invite"));
        };
        let account = *account;
        let (log, announcement) = self.knock(invite).await?;
        if log.account_id() != account {
            return Err(CoreError::new(
                "network",
                "the inviting device sent a device log of another account",
            ));
        }
        check_invite_heads(&log, heads)?;
        self.learn_contact(log, announcement).await?;
        let key = redeem_key(&account);
        self.with(|r| r.storage_mut().profile_write(&[(&key, None)]))
            .await?;
        // Sync at once with the device we just met.
        let node = self.clone();
        let transport = invite.transport;
        self.spawn(async move { node.try_connect_transport(transport).await });
        Ok(())
    }

    /// Presents an invite's secret to its device on `kith/link/1` with my
    /// device log: the device's own log (checked: it verifies and has
    /// that device, at that endpoint, active) and its announcement.
    pub(crate) async fn knock(
        &self,
        invite: &Invite,
    ) -> Result<(DeviceLog, Option<SignedAnnouncement>)> {
        let addr = endpoint_addr(&invite.transport, &invite.addresses)?;
        let log = self.own_log_entries().await;
        let announcement = self.own_announcement().await;
        let endpoint = self.inner.sync.endpoint().clone();
        let (reply, dial) = dial_link(&endpoint, addr, invite.secret, log, announcement)
            .await
            .map_err(|e| match e {
                kith_net::NetError::Refused(reason) => CoreError::new(
                    "invite_refused",
                    format!("the inviting device refused: {reason}"),
                ),
                e => e.into(),
            })?;
        dial.finish();
        let LinkReply::Contact { log, announcement } = reply else {
            return Err(CoreError::new(
                "network",
                "the inviting device answered oddly",
            ));
        };
        let log = DeviceLog::from_entries(log)
            .map_err(|_| CoreError::new("network", "the device log it sent does not verify"))?;
        if !log
            .state()
            .active_devices()
            .any(|d| d.record.device == invite.device && d.record.transport == invite.transport)
        {
            return Err(CoreError::new(
                "network",
                "the inviting device sent a device log that is not its own",
            ));
        }
        Ok((log, announcement))
    }

    /// Takes a contact's verified device log and address; opens the direct
    /// conversation.
    pub(crate) async fn learn_contact(
        &self,
        log: DeviceLog,
        announcement: Option<SignedAnnouncement>,
    ) -> Result<()> {
        self.learn_log(log, announcement, true).await
    }

    /// Takes a verified device log and address (of a contact, or of a
    /// stranger met at a room's door); `direct`: opens the direct
    /// conversation with it (contacts only).
    pub(crate) async fn learn_log(
        &self,
        log: DeviceLog,
        announcement: Option<SignedAnnouncement>,
        direct: bool,
    ) -> Result<()> {
        let account = log.account_id();
        let bytes = encode_log(&log)?;
        let key = log_key(&account);
        let fed = self
            .act(|r| {
                r.update_log(log);
                let fed = announcement.and_then(|a| {
                    let bytes = encode(&a).ok()?;
                    let taken = r.add_announcement(a).ok().flatten()?;
                    Some((taken, bytes))
                });
                let mut writes: Vec<(String, Vec<u8>)> = vec![(key, bytes)];
                if let Some((a, bytes)) = &fed {
                    writes.push((addr_key(&a.device), bytes.clone()));
                }
                let changes: Vec<(&str, Option<&[u8]>)> = writes
                    .iter()
                    .map(|(k, v)| (k.as_str(), Some(v.as_slice())))
                    .collect();
                r.storage_mut().profile_write(&changes)?;
                if direct {
                    r.open_direct(&account)?;
                }
                // My other devices learn the contact's devices now, not at
                // their next connection: its messages verify there at once.
                Ok::<_, CoreError>((fed.map(|(a, _)| a), r.publish_directory()))
            })
            .await?;
        if let Some(a) = fed {
            feed(&self.inner.lookup, &a);
        }
        self.emit(NodeEvent::DevicesChanged {
            account_id: account.to_hex(),
        });
        Ok(())
    }

    /// Contacts as the self log lists them (all, or just `only`), folded once.
    pub(crate) async fn contact_infos(&self, only: Option<&AccountId>) -> Vec<ContactInfo> {
        self.with(|r| contact_infos_in(r, &r.self_state(), only))
            .await
    }

    pub(crate) async fn contact_info(&self, account: &AccountId) -> Option<ContactInfo> {
        self.contact_infos(Some(account)).await.pop()
    }

    pub(crate) fn view(info: &ContactInfo) -> ContactView {
        let evidence = info
            .log
            .as_ref()
            .is_some_and(|l| !l.state().compromise.is_empty());
        let trust = if evidence {
            TrustLevel::Compromised
        } else {
            info.trust
        };
        let devices = info.log.as_ref().map(active_device_ids).unwrap_or_default();
        // Devices a validated contact gained since I validated it (or last
        // acknowledged its devices): as Signal shows a safety-number change.
        let new_devices = match (&info.seen, trust) {
            (Some(seen), TrustLevel::Validated) => devices
                .iter()
                .filter(|d| !seen.contains(d))
                .cloned()
                .collect(),
            _ => Vec::new(),
        };
        ContactView {
            note: info.reason.clone(),
            contact_id: info.account.to_hex(),
            name: info
                .alias
                .clone()
                .or_else(|| info.log.as_ref().and_then(|l| l.state().name.clone())),
            state: trust_name(trust),
            device_names: info
                .log
                .as_ref()
                .map(|l| {
                    l.state()
                        .active_devices()
                        .map(|d| (d.record.device.to_hex(), d.record.name.clone()))
                        .collect()
                })
                .unwrap_or_default(),
            devices,
            new_devices,
        }
    }

    pub(crate) async fn contact_view(&self, account: &AccountId) -> Result<ContactView> {
        let info = self
            .contact_info(account)
            .await
            .ok_or_else(|| CoreError::new("unknown_contact", "no such contact"))?;
        Ok(Self::view(&info))
    }

    /// Every contact.
    pub async fn contacts(&self) -> Vec<ContactView> {
        self.contact_infos(None)
            .await
            .iter()
            .map(Self::view)
            .collect()
    }

    /// Finds a contact by account id (or a unique prefix of at least 4 hex
    /// digits) or by name.
    pub async fn resolve_contact(&self, text: &str) -> Result<AccountId> {
        let text = text.trim();
        let contacts = self.contacts().await;
        let lower = text.to_ascii_lowercase();
        let by_id: Vec<&ContactView> = contacts
            .iter()
            .filter(|c| lower.len() >= 4 && c.contact_id.starts_with(&lower))
            .collect();
        let by_name: Vec<&ContactView> = contacts
            .iter()
            .filter(|c| {
                c.name
                    .as_deref()
                    .is_some_and(|n| n.eq_ignore_ascii_case(text))
            })
            .collect();
        let found = match (by_id.as_slice(), by_name.as_slice()) {
            ([one], _) | ([], [one]) => *one,
            ([], []) => {
                return Err(CoreError::new(
                    "unknown_contact",
                    format!("no contact matches {text:?}"),
                ));
            }
            _ => {
                return Err(CoreError::new(
                    "ambiguous",
                    format!("several contacts match {text:?}; use more of the id"),
                ));
            }
        };
        hex_id::<32>(&found.contact_id)
            .map(AccountId)
            .ok_or_else(|| CoreError::new("internal", "bad contact id"))
    }
}

/// Contacts as `state` (the folded self log) lists them, all or just `only`.
pub(crate) fn contact_infos_in(
    r: &Replica<Store>,
    state: &SelfState,
    only: Option<&AccountId>,
) -> Vec<ContactInfo> {
    state
        .contacts
        .iter()
        .filter(|(account, _)| only.is_none_or(|o| o == *account))
        .map(|(account, record)| ContactInfo {
            account: *account,
            alias: record.alias.clone(),
            trust: record.trust,
            reason: record.reason.clone(),
            log: r.device_log(account).cloned(),
            seen: state.settings.get(&seen_devices_key(account)).map(|v| {
                v.split(',')
                    .filter(|d| !d.is_empty())
                    .map(str::to_owned)
                    .collect()
            }),
        })
        .collect()
}

/// The device log an inviting device sent must hold every head its invite
/// named: one that lacks some was rolled back (a device restored from an
/// old backup, or lying) since it made the invite.
pub(crate) fn check_invite_heads(log: &DeviceLog, heads: &[kith_wire::EntryHash]) -> Result<()> {
    if heads.iter().all(|h| log.contains(h)) {
        return Ok(());
    }
    Err(CoreError::new(
        "invite_refused",
        "the inviting device sent a device log older than its own invite (rolled back?): \
         nothing was added; ask for a new invite",
    ))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use kith_identity::{DeviceKeys, DeviceLog};
    use kith_wire::DeviceOp;

    use super::check_invite_heads;

    #[test]
    fn a_log_older_than_its_invite_is_refused() {
        let keys = DeviceKeys::generate("laptop", 1).unwrap();
        let mut log = DeviceLog::create(&keys, "Alice", 1).unwrap();
        let old = log.clone();
        log.append(&keys, DeviceOp::Profile { name: "A".into() }, 2)
            .unwrap();
        let heads = log.state().heads.clone();
        assert!(check_invite_heads(&log, &heads).is_ok());
        let refused = check_invite_heads(&old, &heads).unwrap_err();
        assert_eq!(refused.code, "invite_refused");
    }
}
