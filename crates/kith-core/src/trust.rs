//! Trust in contacts: safety numbers and codes, validation, compromise.

use kith_identity::SafetyNumber;
use kith_wire::{AccountId, SelfRecord, TrustLevel};

use crate::error::{CoreError, Result};
use crate::node::{Node, now_ms};
use crate::views::{ContactView, NodeEvent, trust_name};

impl Node {
    /// The 60-digit safety number shared with a contact.
    pub async fn safety_number(&self, contact: &str) -> Result<String> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        Ok(SafetyNumber::new(&me, &account)?.digits())
    }

    pub(crate) async fn set_trust(
        &self,
        account: AccountId,
        trust: TrustLevel,
        reason: &str,
    ) -> Result<()> {
        let alias = self.contact_info(&account).await.and_then(|i| i.alias);
        self.act(|r| {
            let record = SelfRecord::Contact {
                account,
                alias,
                trust,
                reason: reason.into(),
            };
            Ok(((), r.record(record, now_ms())?))
        })
        .await?;
        if trust == TrustLevel::Validated {
            // The devices it has now are the ones I validated.
            self.record_seen_devices(account).await?;
        }
        self.emit(NodeEvent::TrustChanged {
            contact_id: account.to_hex(),
            state: trust_name(trust).into(),
        });
        Ok(())
    }

    /// Compares the safety number the user read from the contact's device:
    /// a match validates the contact; a mismatch marks it compromised and
    /// fails with `safety_number_mismatch`.
    pub async fn validate(&self, contact: &str, digits: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        let number = SafetyNumber::new(&me, &account)?;
        if number.matches(digits) {
            self.set_trust(account, TrustLevel::Validated, "safety number compared")
                .await?;
            self.contact_view(&account).await
        } else {
            self.set_trust(account, TrustLevel::Compromised, "safety number mismatch")
                .await?;
            Err(CoreError::new(
                "safety_number_mismatch",
                "the safety numbers differ: the contact is now marked compromised",
            ))
        }
    }

    /// My safety-number code for a contact, to show as a QR code: their
    /// device scans it and checks both directions at once.
    pub async fn safety_code(&self, contact: &str) -> Result<String> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        Ok(SafetyNumber::new(&me, &account)?.scannable())
    }

    /// Checks the code scanned from a contact's device: a match validates
    /// the contact. A code that does not match fails with
    /// `safety_number_mismatch` and changes nothing (unlike typed digits: a
    /// scan of the wrong person's screen is the likely cause; the user can
    /// then mark the contact compromised); a QR code that is no safety
    /// number code at all is `invalid_input`.
    pub async fn validate_code(&self, contact: &str, code: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        let me = self.with(|r| r.account_id()).await;
        match SafetyNumber::new(&me, &account)?.verify_scanned(code) {
            Ok(()) => {
                self.set_trust(account, TrustLevel::Validated, "safety code scanned")
                    .await?;
                self.contact_view(&account).await
            }
            Err(kith_identity::IdentityError::SafetyNumberMismatch) => Err(CoreError::new(
                "safety_number_mismatch",
                "this code is not from this contact's account: scan it from their device again; \
                 if it still differs, someone may stand between you",
            )),
            Err(_) => Err(CoreError::new(
                "invalid_input",
                "this QR code is not a Kith safety-number code",
            )),
        }
    }

    /// Marks a contact compromised.
    pub async fn compromise(&self, contact: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        self.set_trust(account, TrustLevel::Compromised, "marked by the user")
            .await?;
        self.contact_view(&account).await
    }

    /// Acknowledges the devices a validated contact has now: they are no
    /// longer shown as new (`ContactView::new_devices`).
    pub async fn acknowledge_devices(&self, contact: &str) -> Result<ContactView> {
        let account = self.resolve_contact(contact).await?;
        self.record_seen_devices(account).await?;
        self.contact_view(&account).await
    }

    /// Records the contact's active devices as acknowledged (a self-log
    /// setting, so all my devices agree).
    async fn record_seen_devices(&self, account: AccountId) -> Result<()> {
        self.act(|r| {
            let devices = r
                .device_log(&account)
                .map(crate::contacts::active_device_ids)
                .unwrap_or_default();
            let record = SelfRecord::Setting {
                key: crate::contacts::seen_devices_key(&account),
                value: devices.join(","),
            };
            Ok(((), r.record(record, now_ms())?))
        })
        .await?;
        self.emit(NodeEvent::DevicesChanged {
            account_id: account.to_hex(),
        });
        Ok(())
    }
}
