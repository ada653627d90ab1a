//! Secret hygiene: `Debug` never shows key bytes; guarded memory works across
//! threads; constant-time comparison behaves.

use kith_crypto::aead::AeadKey;
use kith_crypto::dh::DhSecret;
use kith_crypto::mac::HmacSha256;
use kith_crypto::sign::SigningKey;
use kith_crypto::stream::{StreamDecryptor, StreamEncryptor};
use kith_crypto::{GuardedSecret, SecretBytes, SecretVec, ct_eq};

/// Asserts `debug` is exactly `expected` and contains no run of the secret's
/// bytes in hex (a short window suffices to catch any leak).
fn assert_redacted(debug: String, expected: &str, secret: &[u8]) {
    assert_eq!(debug, expected);
    let secret_hex = hex::encode(secret);
    for window in secret_hex.as_bytes().chunks(8) {
        let needle = std::str::from_utf8(window).unwrap();
        if needle.len() == 8 {
            assert!(
                !debug.contains(needle),
                "debug output {debug:?} leaks key bytes"
            );
        }
    }
}

#[test]
fn debug_of_every_secret_type_is_redacted() {
    let bytes = SecretBytes::<32>::take_from(&mut [0xab; 32]);
    assert_redacted(
        format!("{bytes:?}"),
        "SecretBytes<32>(redacted)",
        &[0xab; 32],
    );

    let vec = SecretVec::from_vec(vec![0xcd; 40]);
    assert_redacted(
        format!("{vec:?}"),
        "SecretVec(len=40, redacted)",
        &[0xcd; 40],
    );

    let guarded =
        GuardedSecret::from_secret(SecretBytes::<32>::take_from(&mut [0xef; 32])).unwrap();
    assert_redacted(
        format!("{guarded:?}"),
        "GuardedSecret<32>(redacted)",
        &[0xef; 32],
    );

    let signing = SigningKey::from_seed(SecretBytes::take_from(&mut [0x11; 32])).unwrap();
    let public_prefix = hex::encode(&signing.verifying_key().to_bytes()[..4]);
    assert_redacted(
        format!("{signing:?}"),
        &format!("SigningKey {{ public: VerifyingKey({public_prefix}…), .. }}"),
        signing.seed().expose(),
    );

    let dh = DhSecret::from_secret(SecretBytes::take_from(&mut [0x22; 32]));
    assert_redacted(format!("{dh:?}"), "DhSecret(redacted)", &[0x22; 32]);
    let peer = DhSecret::generate().unwrap().public_key().unwrap();
    let shared = dh.diffie_hellman(&peer).unwrap();
    assert_redacted(
        format!("{shared:?}"),
        "SharedSecret(redacted)",
        shared.expose(),
    );

    let aead = AeadKey::from_secret(SecretBytes::take_from(&mut [0x33; 32]));
    assert_redacted(format!("{aead:?}"), "AeadKey(redacted)", &[0x33; 32]);

    let tag = HmacSha256::mac(b"key", b"msg").unwrap();
    assert_redacted(format!("{tag:?}"), "MacTag(redacted)", tag.as_bytes());

    let key = SecretBytes::<32>::take_from(&mut [0x44; 32]);
    let (enc, header) = StreamEncryptor::new(&key).unwrap();
    assert_redacted(format!("{enc:?}"), "StreamEncryptor(redacted)", &[0x44; 32]);
    let dec = StreamDecryptor::new(&key, &header).unwrap();
    assert_redacted(format!("{dec:?}"), "StreamDecryptor(redacted)", &[0x44; 32]);
}

#[test]
fn take_from_zeroes_the_source() {
    let mut source = [0x5a; 32];
    let secret = SecretBytes::take_from(&mut source);
    assert_eq!(source, [0u8; 32]);
    assert_eq!(secret.expose(), &[0x5a; 32]);
}

#[test]
fn guarded_secret_is_readable_only_through_with_and_from_many_threads() {
    let root = std::sync::Arc::new(GuardedSecret::<32>::random().unwrap());
    let first = root.with(|k| *k).unwrap();
    let handles: Vec<_> = (0..4)
        .map(|_| {
            let root = root.clone();
            std::thread::spawn(move || {
                for _ in 0..200 {
                    let copy = root.with(|k| *k).unwrap();
                    assert!(ct_eq(&copy, &first));
                }
            })
        })
        .collect();
    for h in handles {
        h.join().unwrap();
    }
    assert!(root.ct_eq(&root).unwrap());
    let other = GuardedSecret::<32>::random().unwrap();
    assert!(!root.ct_eq(&other).unwrap());
    // Nested reads of one secret do not re-lock it under the outer reader.
    let nested = root.with(|a| root.with(|b| ct_eq(a, b)).unwrap()).unwrap();
    assert!(nested);
}

#[test]
fn constant_time_equality() {
    assert!(ct_eq(b"abc", b"abc"));
    assert!(!ct_eq(b"abc", b"abd"));
    assert!(!ct_eq(b"abc", b"abcd"));
    assert!(ct_eq(b"", b""));
    let a = SecretBytes::<16>::random().unwrap();
    assert!(a.ct_eq(&a.duplicate()));
    assert!(!a.ct_eq(&SecretBytes::<16>::random().unwrap()));
}
