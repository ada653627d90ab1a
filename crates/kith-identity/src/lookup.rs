//! Name lookup: `user@example.com` → `GET https://example.com/.well-known/kith/user`,
//! whose body is a `kith:` invite.
//!
//! A looked-up contact is always *unvalidated*: the name server is trusted
//! for nothing but the pointer, and the result says where it came from.
//! HTTPS only, no redirects, a bounded body and an overall timeout.

use std::time::Duration;

use kith_wire::{Invite, InviteKind};
use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::error::{IdentityError, Result};
use crate::invite::parse_uri;

/// Largest response body accepted.
const MAX_BODY_BYTES: u64 = 4096;

/// How a lookup is made.
#[derive(Clone, Debug)]
pub struct LookupConfig {
    /// Overall time limit of the request.
    pub timeout: Duration,
    /// Trust only these root certificates (DER) instead of the built-in
    /// Mozilla roots: for self-hosted name servers and tests.
    pub roots: Option<Vec<Vec<u8>>>,
}

impl Default for LookupConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(10),
            roots: None,
        }
    }
}

/// The result of a lookup.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameLookup {
    /// The name looked up.
    pub name: String,
    /// The URL the invite came from.
    pub url: String,
    /// The invite found there (a contact invite, never a device link).
    pub invite: Invite,
}

/// Splits `user@host` (host may carry a `:port`) after checking both parts.
pub fn parse_name(name: &str) -> Result<(&str, &str)> {
    let (user, host) = name.trim().split_once('@').ok_or(IdentityError::Lookup(
        "a name looks like user@example.com".into(),
    ))?;
    let user_ok = !user.is_empty()
        && user.len() <= 64
        && user
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
        && !user.starts_with('.');
    let (hostname, port) = match host.rsplit_once(':') {
        Some((h, p)) => (h, Some(p)),
        None => (host, None),
    };
    let host_ok = !hostname.is_empty()
        && hostname.len() <= 253
        && hostname.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && !label.starts_with('-')
        })
        && port.is_none_or(|p| p.parse::<u16>().is_ok_and(|p| p > 0));
    if !user_ok {
        return Err(IdentityError::Lookup("invalid user part".into()));
    }
    if !host_ok {
        return Err(IdentityError::Lookup("invalid domain".into()));
    }
    Ok((user, host))
}

/// The URL looked up for `name`.
pub fn lookup_url(name: &str) -> Result<String> {
    let (user, host) = parse_name(name)?;
    Ok(format!(
        "https://{}/.well-known/kith/{}",
        host.to_ascii_lowercase(),
        user
    ))
}

fn agent(config: &LookupConfig) -> Result<ureq::Agent> {
    let mut tls = TlsConfig::builder();
    if let Some(roots) = &config.roots {
        let certs: Vec<Certificate<'static>> = roots
            .iter()
            .map(|der| Certificate::from_der(der).to_owned())
            .collect();
        tls = tls.root_certs(RootCerts::new_with_certs(&certs));
    }
    Ok(ureq::Agent::config_builder()
        .timeout_global(Some(config.timeout))
        .max_redirects(0)
        .https_only(true)
        .http_status_as_error(false)
        .tls_config(tls.build())
        .build()
        .into())
}

fn describe(error: ureq::Error) -> IdentityError {
    let what = match error {
        ureq::Error::Timeout(_) => "timed out".to_owned(),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        ureq::Error::BodyExceedsLimit(_) => "response too large".to_owned(),
        ureq::Error::Tls(why) => format!("tls: {why}"),
        ureq::Error::Rustls(e) => format!("tls: {e}"),
        ureq::Error::Io(e) if e.kind() == std::io::ErrorKind::TimedOut => "timed out".to_owned(),
        // rustls reports handshake failures (an untrusted certificate, a
        // name mismatch) as invalid data from the socket.
        ureq::Error::Io(e)
            if e.kind() == std::io::ErrorKind::InvalidData && e.get_ref().is_some() =>
        {
            format!(
                "tls: {}",
                e.get_ref().map(ToString::to_string).unwrap_or_default()
            )
        }
        ureq::Error::Io(e) => format!("i/o: {}", e.kind()),
        other => format!("request failed: {other}"),
    };
    IdentityError::Lookup(what)
}

/// Looks `name` up and returns the invite it points to.
pub fn lookup(name: &str, config: &LookupConfig, now_secs: u64) -> Result<NameLookup> {
    let url = lookup_url(name)?;
    let mut response = agent(config)?.get(&url).call().map_err(describe)?;
    let status = response.status().as_u16();
    if status != 200 {
        return Err(IdentityError::Lookup(format!(
            "server answered http {status}"
        )));
    }
    let body = response
        .body_mut()
        .with_config()
        .limit(MAX_BODY_BYTES)
        .read_to_string()
        .map_err(describe)?;
    let invite = parse_uri(body.trim(), now_secs)
        .map_err(|e| IdentityError::Lookup(format!("response is not a kith invite ({e})")))?;
    if !matches!(invite.kind, InviteKind::Contact { .. }) {
        return Err(IdentityError::Lookup(
            "response is a device link or a room link, not a contact".into(),
        ));
    }
    Ok(NameLookup {
        name: name.trim().to_owned(),
        url,
        invite,
    })
}
