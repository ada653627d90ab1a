//! Invites: URIs, QR codes (PNG, SVG) and reading QR codes from images.

use kith_identity::invite::{
    DEFAULT_INVITE_TTL_SECS, contact_invite, link_request, parse_uri, qr_png, qr_svg, qr_text,
    read_qr, read_qr_frame, room_door_secret, room_link, to_uri,
};
use kith_identity::{DeviceKeys, IdentityError};
use kith_wire::InviteKind;

use crate::account;

fn addresses() -> Vec<std::net::SocketAddr> {
    vec![
        "127.0.0.1:7001".parse().unwrap(),
        "[::1]:7001".parse().unwrap(),
    ]
}

/// Alice's laptop and a fresh contact invite from it (at t = 1,000 s).
fn alice_invite() -> (crate::Replica, kith_wire::Invite) {
    let alice = account("laptop");
    let invite = contact_invite(
        &alice.keys,
        &alice.log,
        addresses(),
        1_000,
        DEFAULT_INVITE_TTL_SECS,
    )
    .unwrap();
    (alice, invite)
}

#[test]
fn a_contact_invite_survives_uri_qr_png_decode_uri_byte_for_byte() {
    let (alice, invite) = alice_invite();
    let uri = to_uri(&invite).unwrap();
    assert!(uri.starts_with("kith:"));
    assert!(uri.len() < 400, "invite URI is {} characters", uri.len());
    let png = qr_png(&qr_text(&uri)).unwrap();
    assert_eq!(&png[1..4], b"PNG");
    let scanned = read_qr(&png).unwrap();
    assert_eq!(scanned, qr_text(&uri));
    let parsed = parse_uri(&scanned, 1_000).unwrap();
    assert_eq!(parsed, invite);
    assert_eq!(to_uri(&parsed).unwrap(), uri, "not byte-for-byte");
    let InviteKind::Contact { account, name, .. } = &parsed.kind else {
        panic!("kind")
    };
    assert_eq!(*account, alice.log.account_id());
    assert_eq!(name, "Alice");
}

#[test]
fn the_svg_form_is_a_qr_drawing() {
    let svg = qr_svg("KITH:ABC").unwrap();
    assert!(svg.starts_with("<?xml") && svg.contains("<svg") && svg.contains("#000000"));
}

#[test]
fn link_requests_use_their_own_scheme() {
    let phone = DeviceKeys::generate("phone", 0).unwrap();
    let request = link_request(&phone, addresses(), 50).unwrap();
    let uri = to_uri(&request).unwrap();
    assert!(uri.starts_with("kith-link:"));
    let parsed = parse_uri(&uri, 60).unwrap();
    assert_eq!(parsed.device, phone.device_id());
    assert!(matches!(parsed.kind, InviteKind::LinkDevice { .. }));
    // A link body under the contact scheme is refused.
    let swapped = uri.replacen("kith-link:", "kith:", 1);
    assert_eq!(
        parse_uri(&swapped, 60).unwrap_err(),
        IdentityError::Invite("scheme does not match the invite kind")
    );
}

#[test]
fn a_room_link_carries_the_room_and_its_key_never_expires_and_scans_back() {
    let alice = account("laptop");
    let room = kith_wire::ConversationId([9; 32]);
    let key = kith_wire::RoomKey([5; 32]);
    let link = room_link(&alice.keys, room, "Rustaceans", &key, addresses()).unwrap();
    let uri = to_uri(&link).unwrap();
    assert!(uri.starts_with("kith-room:"), "{uri}");
    assert!(uri.len() < 400, "room link is {} characters", uri.len());
    let scanned = read_qr(&qr_png(&qr_text(&uri)).unwrap()).unwrap();
    let parsed = parse_uri(&scanned, u64::MAX).unwrap();
    assert_eq!(parsed, link);
    let InviteKind::Room {
        room: r,
        name,
        key: k,
    } = &parsed.kind
    else {
        panic!("kind")
    };
    assert_eq!((*r, name.as_str()), (room, "Rustaceans"));
    assert!(*k == key);
    assert_eq!(parsed.device, alice.keys.device_id());
    // The door secret follows from the key and differs from it; another
    // key gives another secret.
    assert_eq!(parsed.secret, room_door_secret(&key).unwrap());
    assert_ne!(
        room_door_secret(&kith_wire::RoomKey([6; 32])).unwrap(),
        parsed.secret
    );
    // The key is never printed.
    assert!(!format!("{parsed:?}").contains("[5, 5"));
}

#[test]
fn a_room_link_with_a_foreign_secret_or_scheme_is_refused() {
    let alice = account("laptop");
    let key = kith_wire::RoomKey([5; 32]);
    let mut link = room_link(
        &alice.keys,
        kith_wire::ConversationId([9; 32]),
        "r",
        &key,
        vec![],
    )
    .unwrap();
    link.secret = kith_wire::InviteSecret([1; 16]);
    assert_eq!(
        parse_uri(&to_uri(&link).unwrap(), 0).unwrap_err(),
        IdentityError::Invite("the room link's secret does not match its key")
    );
    link.secret = room_door_secret(&key).unwrap();
    let uri = to_uri(&link).unwrap();
    assert!(parse_uri(&uri, 0).is_ok());
    for scheme in ["kith:", "kith-link:"] {
        assert_eq!(
            parse_uri(&uri.replacen("kith-room:", scheme, 1), 0).unwrap_err(),
            IdentityError::Invite("scheme does not match the invite kind")
        );
    }
    assert!(parse_uri(&uri.replacen("kith-room:", "KITH-ROOM:", 1), 0).is_ok());
}

#[test]
fn bad_invites_get_clear_errors() {
    let alice = account("laptop");
    let invite = contact_invite(&alice.keys, &alice.log, addresses(), 1_000, 60).unwrap();
    let uri = to_uri(&invite).unwrap();
    assert_eq!(
        parse_uri(&uri, 2_000).unwrap_err(),
        IdentityError::InviteExpired
    );
    assert_eq!(parse_uri(&uri.to_lowercase(), 1_000).unwrap(), invite);
    for bad in [
        "",
        "kith",
        "http://example.com",
        "kith:",
        "kith:!!!!",
        "kith:AAAA",
        "mailto:a@b",
    ] {
        assert!(parse_uri(bad, 0).is_err(), "{bad:?} accepted");
    }
    let truncated = &uri[..uri.len() - 7];
    assert!(parse_uri(truncated, 1_000).is_err());
    assert!(read_qr(b"not an image").is_err());
}

#[test]
fn a_link_with_any_one_character_changed_is_refused_at_once() {
    let (_, invite) = alice_invite();
    let uri = to_uri(&invite).unwrap();
    let body_start = uri.find(':').unwrap() + 1;
    let alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut accepted = Vec::new();
    for (i, c) in uri.char_indices().skip(body_start) {
        // Every other base32 letter in this place: a typo, a damaged QR.
        for other in alphabet.chars().filter(|o| *o != c) {
            let mut typo = uri.clone();
            typo.replace_range(i..i + 1, &other.to_string());
            if parse_uri(&typo, 1_000).is_ok() {
                accepted.push((i, other));
            }
        }
    }
    assert!(
        accepted.is_empty(),
        "{} of the one-character changes parsed, e.g. {:?}",
        accepted.len(),
        accepted.first()
    );
    // A dropped or doubled character is refused too.
    let mut dropped = uri.clone();
    dropped.remove(body_start + 10);
    assert!(parse_uri(&dropped, 1_000).is_err());
    let mut doubled = uri.clone();
    doubled.insert(body_start + 10, uri.as_bytes()[body_start + 10] as char);
    assert!(parse_uri(&doubled, 1_000).is_err());
}

#[test]
fn the_qr_code_carries_a_lower_case_scheme_and_an_alphanumeric_body() {
    let (alice, invite) = alice_invite();
    let uri = to_uri(&invite).unwrap();
    let text = qr_text(&uri);
    // Android matches intent schemes case-sensitively, and camera apps
    // pass the text on as it is.
    assert!(text.starts_with("kith:"), "{text}");
    let body = &text["kith:".len()..];
    assert!(
        body.chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()),
        "the body must stay in QR alphanumeric mode: {body}"
    );
    let read = read_qr(&qr_png(&text).unwrap()).unwrap();
    assert_eq!(read, text);
    assert_eq!(parse_uri(&read, 1_000).unwrap(), invite);
    let link = to_uri(&link_request(&alice.keys, addresses(), 1_000).unwrap()).unwrap();
    assert!(qr_text(&link).starts_with("kith-link:"));
}

/// A camera frame (640 × 480 grey levels) showing `png` small, off-centre
/// and with poor contrast, as a webcam pointed at a screen sees it.
fn camera_frame(png: &[u8]) -> Vec<u8> {
    let code = image::load_from_memory(png).unwrap().to_luma8();
    let code = image::imageops::resize(&code, 260, 260, image::imageops::FilterType::Triangle);
    let mut frame = image::GrayImage::from_pixel(640, 480, image::Luma([90]));
    for (x, y, p) in code.enumerate_pixels() {
        let level = 40 + u16::from(p.0[0]) * 150 / 255;
        frame.put_pixel(
            x + 300,
            y + 150,
            image::Luma([u8::try_from(level).unwrap()]),
        );
    }
    frame.into_raw()
}

#[test]
fn a_camera_frame_with_a_code_reads_and_one_without_reads_nothing() {
    let (_, invite) = alice_invite();
    let text = qr_text(&to_uri(&invite).unwrap());
    let frame = camera_frame(&qr_png(&text).unwrap());
    assert_eq!(read_qr_frame(640, 480, frame).unwrap(), Some(text));
    assert_eq!(read_qr_frame(640, 480, vec![90; 640 * 480]).unwrap(), None);
}

#[test]
fn a_camera_frame_of_the_wrong_size_is_refused() {
    assert!(read_qr_frame(640, 480, vec![0; 100]).is_err());
    assert!(read_qr_frame(0, 480, Vec::new()).is_err());
    assert!(read_qr_frame(100_000, 1, vec![0; 100_000]).is_err());
}
