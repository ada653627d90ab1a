//! Safety numbers: libsignal's numeric fingerprint over two AccountIds.
//!
//! For each party, `fingerprint = SHA-512^5200` chained as libsignal does:
//! `h = SHA-512(0x0000 || key || id || key)`, then 5199 times
//! `h = SHA-512(h || key)`. The displayable form takes the first 30 bytes as
//! six 5-byte big-endian numbers, each mod 100000 as five digits; the two
//! 30-digit halves are concatenated smaller first, so both sides see the
//! same 60 digits. Kith uses the AccountId as both `key` and `id`.
//!
//! The scannable form carries both 32-byte fingerprints; scanning the other
//! side's code checks both directions at once (theirs must equal what I
//! compute for them, mine what I compute for me).

use kith_crypto::ct_eq;
use kith_crypto::hash::Sha512;
use kith_wire::AccountId;

use crate::error::{IdentityError, Result};

/// libsignal's iteration count for displayable fingerprints.
pub const ITERATIONS: u32 = 5200;
/// Version of Kith's scannable payload.
const SCANNABLE_VERSION: u8 = 1;
/// Prefix of the scannable payload as text.
pub const SCANNABLE_PREFIX: &str = "KITH-VERIFY:";

/// One party's fingerprint (libsignal's algorithm).
pub fn fingerprint(iterations: u32, key: &[u8], id: &[u8]) -> Result<[u8; 64]> {
    if !(2..=1_000_000).contains(&iterations) {
        return Err(IdentityError::Parameter("fingerprint iterations"));
    }
    let mut hash = Sha512::new()?;
    hash.update(&[0, 0])?;
    hash.update(key)?;
    hash.update(id)?;
    hash.update(key)?;
    let mut out = hash.finalize()?;
    for _ in 1..iterations {
        let mut hash = Sha512::new()?;
        hash.update(&out)?;
        hash.update(key)?;
        out = hash.finalize()?;
    }
    Ok(out)
}

/// The 30 digits of one fingerprint.
pub fn digits(fingerprint: &[u8; 64]) -> String {
    fingerprint
        .chunks_exact(5)
        .take(6)
        .map(|chunk| chunk.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)) % 100_000)
        .map(|n| format!("{n:05}"))
        .collect()
}

/// The 60-digit displayable number from both parties' fingerprints.
pub fn displayable(local: &[u8; 64], remote: &[u8; 64]) -> String {
    let (l, r) = (digits(local), digits(remote));
    if l < r { l + &r } else { r + &l }
}

/// The safety number between two accounts, as both of them see it.
#[derive(Clone, Debug)]
pub struct SafetyNumber {
    local: [u8; 64],
    remote: [u8; 64],
}

impl SafetyNumber {
    /// Computes the safety number of `me` and `them`.
    pub fn new(me: &AccountId, them: &AccountId) -> Result<Self> {
        Ok(Self {
            local: fingerprint(ITERATIONS, me.as_bytes(), me.as_bytes())?,
            remote: fingerprint(ITERATIONS, them.as_bytes(), them.as_bytes())?,
        })
    }

    /// The 60 digits.
    pub fn digits(&self) -> String {
        displayable(&self.local, &self.remote)
    }

    /// The 60 digits in twelve groups of five, for reading aloud.
    pub fn grouped(&self) -> String {
        let digits = self.digits();
        digits
            .as_bytes()
            .chunks(5)
            .filter_map(|c| std::str::from_utf8(c).ok())
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Compares digits typed or read by the user (spaces and dashes ignored)
    /// in constant time.
    pub fn matches(&self, typed: &str) -> bool {
        let cleaned: String = typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        ct_eq(cleaned.as_bytes(), self.digits().as_bytes())
    }

    /// The payload of my QR code: version, my fingerprint, the fingerprint I
    /// compute for you (32 bytes each), as `KITH-VERIFY:` + base32.
    pub fn scannable(&self) -> String {
        let mut bytes = Vec::with_capacity(65);
        bytes.push(SCANNABLE_VERSION);
        bytes.extend_from_slice(self.local.get(..32).unwrap_or(&self.local));
        bytes.extend_from_slice(self.remote.get(..32).unwrap_or(&self.remote));
        format!(
            "{SCANNABLE_PREFIX}{}",
            data_encoding::BASE32_NOPAD.encode(&bytes)
        )
    }

    /// Checks the other side's QR payload: their "local" must be my
    /// "remote" and their "remote" my "local". One scan checks both views.
    pub fn verify_scanned(&self, payload: &str) -> Result<()> {
        let body = payload
            .trim()
            .get(..SCANNABLE_PREFIX.len())
            .filter(|p| p.eq_ignore_ascii_case(SCANNABLE_PREFIX))
            .and_then(|_| payload.trim().get(SCANNABLE_PREFIX.len()..))
            .ok_or(IdentityError::Invite("not a safety-number code"))?;
        let bytes = data_encoding::BASE32_NOPAD
            .decode(body.to_ascii_uppercase().as_bytes())
            .map_err(|_| IdentityError::Invite("safety-number code is not base32"))?;
        let (version, rest) = bytes
            .split_first()
            .ok_or(IdentityError::Invite("empty code"))?;
        if *version != SCANNABLE_VERSION || rest.len() != 64 {
            return Err(IdentityError::Invite("unknown safety-number code version"));
        }
        let (theirs, mine) = rest.split_at(32);
        let ok_theirs = ct_eq(theirs, self.remote.get(..32).unwrap_or(&[]));
        let ok_mine = ct_eq(mine, self.local.get(..32).unwrap_or(&[]));
        if ok_theirs & ok_mine {
            Ok(())
        } else {
            Err(IdentityError::SafetyNumberMismatch)
        }
    }
}
