//! Errors of the node: a stable machine-readable code and a message for
//! people. The CLI prints them as `{"error":{"code","message"}}`; the app
//! receives them as `{ code, message }`.

use serde::Serialize;

/// An error with a stable code.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
#[error("{message}")]
pub struct CoreError {
    /// Stable, machine-readable: one of [`CODES`].
    pub code: &'static str,
    /// For people.
    pub message: String,
}

/// Every code a [`CoreError`] can carry.
pub const CODES: &[&str] = &[
    "no_profile",
    "profile_exists",
    "unknown_contact",
    "unknown_group",
    "unknown_member",
    "not_allowed",
    "ambiguous",
    "bad_uri",
    "bad_image",
    "lookup_failed",
    "invite_expired",
    "invite_refused",
    "unknown_message",
    "unknown_device",
    "not_reachable",
    "contact_compromised",
    "safety_number_mismatch",
    "device_revoked",
    "daemon_running",
    "daemon",
    "timeout",
    "locked",
    "wrong_passphrase",
    "network",
    "storage",
    "io",
    "invalid_input",
    "unsupported",
    "internal",
];

impl CoreError {
    /// A link given to the command for another kind: which command takes it.
    pub fn wrong_link(kind: &kith_wire::InviteKind) -> Self {
        use kith_wire::InviteKind;
        let message = match kind {
            InviteKind::Contact { .. } => {
                "this is a contact invite (kith:); use `kith contact add`"
            }
            InviteKind::LinkDevice { .. } => {
                "this is a device-link request (kith-link:); use `kith link accept`"
            }
            InviteKind::Room { .. } => "this is a room link (kith-room:); use `kith room join`",
        };
        Self::new("bad_uri", message)
    }

    /// An error with `code` and `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }

    /// An error whose code arrived as text (from the daemon's socket): one
    /// of [`CODES`], else `daemon`.
    pub fn from_code(code: &str, message: impl Into<String>) -> Self {
        let code = CODES
            .iter()
            .find(|c| **c == code)
            .copied()
            .unwrap_or("daemon");
        Self::new(code, message)
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = CoreError> = std::result::Result<T, E>;

impl From<kith_store::StoreError> for CoreError {
    fn from(e: kith_store::StoreError) -> Self {
        use kith_store::StoreError as S;
        let code = match e {
            S::NoProfile => "no_profile",
            S::ProfileExists => "profile_exists",
            S::WrongPassphrase => "wrong_passphrase",
            S::WrongProtection(_) | S::Keystore(_) => "locked",
            ref e if e.is_in_use() => "daemon_running",
            _ => "storage",
        };
        let message = match e {
            ref e if e.is_in_use() => {
                "the profile is in use by another kith process (is a daemon running?)".to_owned()
            }
            e => e.to_string(),
        };
        Self::new(code, message)
    }
}

impl From<kith_net::NetError> for CoreError {
    fn from(e: kith_net::NetError) -> Self {
        Self::new("network", e.to_string())
    }
}

impl From<kith_sync::SyncError> for CoreError {
    fn from(e: kith_sync::SyncError) -> Self {
        match e {
            kith_sync::SyncError::Membership(why) => Self::new("not_allowed", why),
            e => Self::new("internal", e.to_string()),
        }
    }
}

impl From<kith_identity::IdentityError> for CoreError {
    fn from(e: kith_identity::IdentityError) -> Self {
        use kith_identity::IdentityError as I;
        match e {
            I::Invite(m) => Self::new("bad_uri", format!("not a valid invite: {m}")),
            I::InviteExpired => Self::new("invite_expired", "the invite has expired"),
            I::Wire(w) => Self::new("bad_uri", format!("not a valid invite: {w}")),
            e => Self::new("internal", e.to_string()),
        }
    }
}

impl From<kith_wire::WireError> for CoreError {
    fn from(e: kith_wire::WireError) -> Self {
        Self::new("internal", e.to_string())
    }
}

impl From<kith_crypto::CryptoError> for CoreError {
    fn from(e: kith_crypto::CryptoError) -> Self {
        Self::new("internal", e.to_string())
    }
}
