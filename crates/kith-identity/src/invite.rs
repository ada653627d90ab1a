//! Invites as text and QR codes.
//!
//! A contact invite is `kith:` followed by the unpadded base32 of the
//! encoded [`Invite`] and a check value over it; a device-link request
//! uses `kith-link:`. The check value makes a mistyped or damaged link fail
//! at once instead of naming another account. Base32 in upper case keeps
//! the QR code's body in its compact alphanumeric mode; the scheme stays
//! lower case (`kith:…`), as phones match schemes case-sensitively.
//! Parsing accepts either case. See `docs/identity.md`.

use std::io::Cursor;
use std::net::SocketAddr;

use kith_wire::{
    ConversationId, Invite, InviteKind, InviteSecret, RoomKey, decode, encode, limits,
};

use crate::device_log::DeviceLog;
use crate::error::{IdentityError, Result};
use crate::keys::DeviceKeys;

/// Scheme of a contact invite.
pub const CONTACT_SCHEME: &str = "kith";
/// Scheme of a device-link request.
pub const LINK_SCHEME: &str = "kith-link";
/// Scheme of a public room's link.
pub const ROOM_SCHEME: &str = "kith-room";
/// How long an invite stays valid by default: 7 days.
pub const DEFAULT_INVITE_TTL_SECS: u64 = 7 * 24 * 3600;
/// How long a device-link request stays valid by default: 10 minutes.
pub const DEFAULT_LINK_TTL_SECS: u64 = 600;
/// Bytes of the check value that ends a link's body.
pub const CHECK_BYTES: usize = 5;

/// The check value of an encoded invite: the first [`CHECK_BYTES`] of a
/// domain-separated BLAKE2b-256 (a one-character change is missed with
/// probability 2⁻⁴⁰).
fn check_value(encoded: &[u8]) -> Result<[u8; CHECK_BYTES]> {
    truncated_hash(kith_wire::domain::INVITE_CHECK, encoded)
}

/// The first `N` bytes of a domain-separated BLAKE2b-256 of `data`.
fn truncated_hash<const N: usize>(domain: kith_crypto::Domain, data: &[u8]) -> Result<[u8; N]> {
    let hash = kith_crypto::hash::blake2b_256(domain, &[data])?;
    let mut out = [0u8; N];
    for (o, byte) in out.iter_mut().zip(hash) {
        *o = byte;
    }
    Ok(out)
}

/// A fresh contact invite from this device.
pub fn contact_invite(
    keys: &DeviceKeys,
    log: &DeviceLog,
    addresses: Vec<SocketAddr>,
    now_secs: u64,
    ttl_secs: u64,
) -> Result<Invite> {
    let mut heads = log.state().heads.clone();
    heads.truncate(limits::MAX_INVITE_HEADS);
    let name = log
        .state()
        .name
        .clone()
        .unwrap_or_else(|| keys.name().to_owned());
    let invite = Invite {
        kind: InviteKind::Contact {
            account: log.account_id(),
            heads,
            name,
        },
        device: keys.device_id(),
        transport: keys.transport_id(),
        addresses: addresses.into_iter().take(limits::MAX_ADDRESSES).collect(),
        secret: InviteSecret(kith_crypto::random::array()?),
        expires_at: now_secs.saturating_add(ttl_secs),
    };
    invite.check_limits()?;
    Ok(invite)
}

/// A fresh device-link request from a new device.
pub fn link_request(
    keys: &DeviceKeys,
    addresses: Vec<SocketAddr>,
    now_secs: u64,
) -> Result<Invite> {
    let record = keys.record()?;
    let invite = Invite {
        kind: InviteKind::LinkDevice {
            identity_key: record.identity_key,
            name: record.name,
        },
        device: keys.device_id(),
        transport: keys.transport_id(),
        addresses: addresses.into_iter().take(limits::MAX_ADDRESSES).collect(),
        secret: InviteSecret(kith_crypto::random::array()?),
        expires_at: now_secs.saturating_add(DEFAULT_LINK_TTL_SECS),
    };
    invite.check_limits()?;
    Ok(invite)
}

/// The secret a room's link presents at its door: derived from the link
/// key (every link to the room opens every member device's door; the
/// secret does not reveal the key).
pub fn room_door_secret(key: &RoomKey) -> Result<InviteSecret> {
    Ok(InviteSecret(truncated_hash(
        kith_wire::domain::ROOM_DOOR,
        &key.0,
    )?))
}

/// A link to a public room, whose door is this device (a member device
/// of the room): anyone holding it may join. It does not expire.
pub fn room_link(
    keys: &DeviceKeys,
    room: ConversationId,
    name: &str,
    key: &RoomKey,
    addresses: Vec<SocketAddr>,
) -> Result<Invite> {
    let invite = Invite {
        kind: InviteKind::Room {
            room,
            name: name.to_owned(),
            key: key.clone(),
        },
        device: keys.device_id(),
        transport: keys.transport_id(),
        addresses: addresses.into_iter().take(limits::MAX_ADDRESSES).collect(),
        secret: room_door_secret(key)?,
        expires_at: u64::MAX,
    };
    invite.check_limits()?;
    Ok(invite)
}

/// The scheme of an invite's kind.
fn scheme_of(kind: &InviteKind) -> &'static str {
    match kind {
        InviteKind::Contact { .. } => CONTACT_SCHEME,
        InviteKind::LinkDevice { .. } => LINK_SCHEME,
        InviteKind::Room { .. } => ROOM_SCHEME,
    }
}

/// The URI of an invite: `kith:…`, `kith-link:…` or `kith-room:…`
/// (upper-case base32 body: the encoded invite, then its check value).
pub fn to_uri(invite: &Invite) -> Result<String> {
    let scheme = scheme_of(&invite.kind);
    let mut body = encode(invite)?;
    let check = check_value(&body)?;
    body.extend_from_slice(&check);
    Ok(format!(
        "{scheme}:{}",
        data_encoding::BASE32_NOPAD.encode(&body)
    ))
}

/// Parses a `kith:`, `kith-link:` or `kith-room:` URI (any case,
/// surrounding whitespace ignored), checks its limits, and refuses it
/// after expiry. A room link's secret must be its key's door secret.
pub fn parse_uri(uri: &str, now_secs: u64) -> Result<Invite> {
    let uri = uri.trim();
    let (scheme, body) = uri
        .split_once(':')
        .ok_or(IdentityError::Invite("missing scheme"))?;
    let body = body.trim_start_matches("//");
    let Some(expected) = [CONTACT_SCHEME, LINK_SCHEME, ROOM_SCHEME]
        .into_iter()
        .find(|s| scheme.eq_ignore_ascii_case(s))
    else {
        return Err(IdentityError::Invite(
            "not a kith:, kith-link: or kith-room: link",
        ));
    };
    if body.len() > limits::MAX_INVITE_BYTES * 2 {
        return Err(IdentityError::Invite("too long"));
    }
    let bytes = data_encoding::BASE32_NOPAD
        .decode(body.to_ascii_uppercase().as_bytes())
        .map_err(|_| IdentityError::Invite("not base32"))?;
    let split = bytes
        .len()
        .checked_sub(CHECK_BYTES)
        .ok_or(IdentityError::Invite("too short"))?;
    let (encoded, check) = bytes.split_at(split);
    if !kith_crypto::ct_eq(&check_value(encoded)?, check) {
        return Err(IdentityError::Invite(
            "the link is damaged or mistyped (its check does not match): copy or scan it again",
        ));
    }
    let invite: Invite = decode(encoded, limits::MAX_INVITE_BYTES)?;
    invite.check_limits()?;
    if scheme_of(&invite.kind) != expected {
        return Err(IdentityError::Invite(
            "scheme does not match the invite kind",
        ));
    }
    if let InviteKind::Room { key, .. } = &invite.kind
        && !kith_crypto::ct_eq(room_door_secret(key)?.as_bytes(), invite.secret.as_bytes())
    {
        return Err(IdentityError::Invite(
            "the room link's secret does not match its key",
        ));
    }
    if invite.expires_at < now_secs {
        return Err(IdentityError::InviteExpired);
    }
    Ok(invite)
}

/// The text a QR code should carry for `uri`: the scheme in lower case
/// (phone camera apps pass the text on as it is, and Android matches
/// schemes case-sensitively), the body in upper case so that most of the
/// code uses the compact alphanumeric mode.
pub fn qr_text(uri: &str) -> String {
    let uri = uri.trim();
    match uri.split_once(':') {
        Some((scheme, body)) => format!(
            "{}:{}",
            scheme.to_ascii_lowercase(),
            body.to_ascii_uppercase()
        ),
        None => uri.to_ascii_uppercase(),
    }
}

fn qr_code(text: &str) -> Result<qrcode::QrCode> {
    qrcode::QrCode::with_error_correction_level(text.as_bytes(), qrcode::EcLevel::M)
        .map_err(|e| IdentityError::Qr(e.to_string()))
}

/// A PNG image of the QR code of `text`.
pub fn qr_png(text: &str) -> Result<Vec<u8>> {
    let image = qr_code(text)?
        .render::<image::Luma<u8>>()
        .min_dimensions(400, 400)
        .build();
    let mut png = Vec::new();
    image
        .write_to(&mut Cursor::new(&mut png), image::ImageFormat::Png)
        .map_err(|e| IdentityError::Qr(e.to_string()))?;
    Ok(png)
}

/// An SVG document of the QR code of `text`.
pub fn qr_svg(text: &str) -> Result<String> {
    Ok(qr_code(text)?
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(400, 400)
        .dark_color(qrcode::render::svg::Color("#000000"))
        .light_color(qrcode::render::svg::Color("#ffffff"))
        .build())
}

/// Largest image accepted for QR decoding (bytes of the file).
const MAX_QR_IMAGE_BYTES: usize = 20 << 20;
/// Largest image side accepted for QR decoding (pixels).
const MAX_QR_IMAGE_SIDE: u32 = 8192;

/// Reads the first QR code found in an image file (PNG or JPEG).
pub fn read_qr(image_bytes: &[u8]) -> Result<String> {
    if image_bytes.len() > MAX_QR_IMAGE_BYTES {
        return Err(IdentityError::Qr("image too large".into()));
    }
    let mut reader = image::ImageReader::new(Cursor::new(image_bytes))
        .with_guessed_format()
        .map_err(|e| IdentityError::Qr(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(MAX_QR_IMAGE_SIDE);
    limits.max_image_height = Some(MAX_QR_IMAGE_SIDE);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let image = reader
        .decode()
        .map_err(|e| IdentityError::Qr(e.to_string()))?
        .to_luma8();
    decode_grey(image).ok_or_else(|| IdentityError::Qr("no readable qr code in the image".into()))
}

/// Largest camera frame side accepted (pixels).
const MAX_FRAME_SIDE: u32 = 4096;

/// Reads the first QR code in a camera frame: `width` × `height` grey
/// levels, row by row. `None` when the frame shows no readable code (most
/// frames, while a person aims).
pub fn read_qr_frame(width: u32, height: u32, luma: Vec<u8>) -> Result<Option<String>> {
    if width == 0 || height == 0 || width > MAX_FRAME_SIDE || height > MAX_FRAME_SIDE {
        return Err(IdentityError::Qr("frame size out of range".into()));
    }
    let image = image::GrayImage::from_raw(width, height, luma)
        .ok_or_else(|| IdentityError::Qr("frame size does not match its pixels".into()))?;
    Ok(decode_grey(image))
}

fn decode_grey(image: image::GrayImage) -> Option<String> {
    let mut prepared = rqrr::PreparedImage::prepare(image);
    prepared
        .detect_grids()
        .into_iter()
        .find_map(|grid| grid.decode().ok().map(|(_, content)| content))
}
