//! Inputs that must be rejected: tampering, wrong keys, small-order points,
//! non-canonical encodings, truncation, out-of-range parameters.

use kith_crypto::aead::AeadKey;
use kith_crypto::dh::{DhPublic, DhSecret};
use kith_crypto::kdf::{KdfContext, derive_subkey, hkdf_sha256_into};
use kith_crypto::mac::HmacSha256;
use kith_crypto::pwhash::{PwHashLimits, derive_key};
use kith_crypto::sign::{Signature, SigningKey, VerifyingKey};
use kith_crypto::stream::{StreamDecryptor, StreamEncryptor};
use kith_crypto::{CryptoError, Domain, SecretBytes};

use crate::hex_array;

const A: Domain = Domain::new("kith-test-a");
const B: Domain = Domain::new("kith-test-b");

#[test]
fn aead_rejects_tampering_wrong_key_wrong_ad_and_short_input() {
    let key = AeadKey::generate().unwrap();
    let sealed = key.seal(b"ad", b"secret message").unwrap();
    for i in 0..sealed.len() {
        let mut bad = sealed.clone();
        bad[i] ^= 0x01;
        assert_eq!(
            key.open(b"ad", &bad).unwrap_err(),
            CryptoError::Decrypt,
            "flip at byte {i}"
        );
    }
    assert_eq!(key.open(b"AD", &sealed).unwrap_err(), CryptoError::Decrypt);
    let other = AeadKey::generate().unwrap();
    assert_eq!(
        other.open(b"ad", &sealed).unwrap_err(),
        CryptoError::Decrypt
    );
    for len in [0, 1, 23, 24, 39] {
        assert_eq!(
            key.open(b"ad", &sealed[..len]).unwrap_err(),
            CryptoError::Decrypt,
            "len {len}"
        );
    }
    // Truncating the tag by one byte fails too.
    assert_eq!(
        key.open(b"ad", &sealed[..sealed.len() - 1]).unwrap_err(),
        CryptoError::Decrypt
    );
}

#[test]
fn x25519_small_order_points_give_an_error_not_a_zero_key() {
    let sk = DhSecret::generate().unwrap();
    // The small-order points of Curve25519 and their non-canonical
    // encodings (p - 1, p, p + 1), as listed by libsodium.
    let points = [
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0100000000000000000000000000000000000000000000000000000000000000",
        "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
        "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for p in points {
        let err = sk
            .diffie_hellman(&DhPublic::from_bytes(hex_array(p)))
            .unwrap_err();
        assert_eq!(err, CryptoError::WeakSharedSecret, "point {p}");
    }
}

#[test]
fn ed25519_rejects_small_order_and_non_canonical_public_keys() {
    let bad_keys = [
        // identity (order 1)
        "0100000000000000000000000000000000000000000000000000000000000000",
        // (0, -1), order 2
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        // y = 0, order 4
        "0000000000000000000000000000000000000000000000000000000000000000",
        // y = p: non-canonical encoding
        "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        // y = p + 1: non-canonical encoding of the identity
        "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for k in bad_keys {
        assert_eq!(
            VerifyingKey::from_bytes(&hex_array(k)).unwrap_err(),
            CryptoError::InvalidPublicKey,
            "key {k}"
        );
    }
    assert!(matches!(
        VerifyingKey::from_slice(&[1u8; 31]).unwrap_err(),
        CryptoError::Length {
            expected: 32,
            actual: 31,
            ..
        }
    ));
}

/// `S + L` for a little-endian scalar `S`, where `L` is the group order.
fn add_group_order(s: &[u8]) -> [u8; 32] {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut out = [0u8; 32];
    let mut carry = 0u16;
    for i in 0..32 {
        let sum = u16::from(s[i]) + u16::from(L[i]) + carry;
        out[i] = sum as u8;
        carry = sum >> 8;
    }
    assert_eq!(carry, 0);
    out
}

#[test]
fn ed25519_rejects_malleated_bit_flipped_and_cross_domain_signatures() {
    let key = SigningKey::generate().unwrap();
    let vk = key.verifying_key();
    let sig = key.sign(A, b"message").unwrap();
    vk.verify(A, b"message", &sig).unwrap();

    // Malleability: S + L verifies under lax verifiers, never here.
    let mut bytes = sig.to_bytes();
    let s_plus_l = add_group_order(&bytes[32..]);
    bytes[32..].copy_from_slice(&s_plus_l);
    assert_eq!(
        vk.verify(A, b"message", &Signature::from_bytes(bytes))
            .unwrap_err(),
        CryptoError::BadSignature
    );

    // Every single-bit flip of the signature is rejected.
    for bit in 0..512 {
        let mut bytes = sig.to_bytes();
        bytes[bit / 8] ^= 1 << (bit % 8);
        assert!(
            vk.verify(A, b"message", &Signature::from_bytes(bytes))
                .is_err(),
            "bit {bit}"
        );
    }

    // Another message, another domain, another key, or no domain at all.
    assert!(vk.verify(A, b"massage", &sig).is_err());
    assert_eq!(
        vk.verify(B, b"message", &sig).unwrap_err(),
        CryptoError::BadSignature
    );
    assert!(vk.verify_raw(b"message", &sig).is_err());
    let other = SigningKey::generate().unwrap().verifying_key();
    assert!(other.verify(A, b"message", &sig).is_err());
    assert!(Signature::from_slice(&[0u8; 63]).is_err());
}

#[test]
fn domain_encoding_is_prefix_free() {
    // ("ab", "c") and ("a", "bc") would collide without the length byte.
    assert_ne!(
        Domain::new("ab").prefixed(b"c"),
        Domain::new("a").prefixed(b"bc")
    );
    assert_eq!(Domain::new("ab").prefixed(b"c"), b"\x02abc".to_vec());
}

#[test]
fn secretstream_detects_truncation_reordering_tampering_and_extension() {
    let key = SecretBytes::<32>::random().unwrap();
    let (mut enc, header) = StreamEncryptor::new(&key).unwrap();
    let c0 = enc.push(b"chunk zero", b"").unwrap();
    let c1 = enc.push(b"chunk one", b"").unwrap();
    let last = enc.finish(b"end", b"").unwrap();

    // Truncated: the final chunk never arrives.
    let mut dec = StreamDecryptor::new(&key, &header).unwrap();
    dec.pull(&c0, b"").unwrap();
    dec.pull(&c1, b"").unwrap();
    assert_eq!(dec.finish().unwrap_err(), CryptoError::StreamTruncated);

    // Reordered chunks fail.
    let mut dec = StreamDecryptor::new(&key, &header).unwrap();
    assert_eq!(dec.pull(&c1, b"").unwrap_err(), CryptoError::Decrypt);

    // A tampered chunk fails and leaves the state unchanged.
    let mut dec = StreamDecryptor::new(&key, &header).unwrap();
    let mut bad = c0.clone();
    bad[3] ^= 0x80;
    assert_eq!(dec.pull(&bad, b"").unwrap_err(), CryptoError::Decrypt);
    assert_eq!(dec.pull(&c0, b"").unwrap().0.expose(), b"chunk zero");
    assert!(dec.pull(&c1, b"other ad").is_err());
    dec.pull(&c1, b"").unwrap();
    let (end, is_final) = dec.pull(&last, b"").unwrap();
    assert!(is_final && end.expose() == b"end");
    // Nothing may follow the final chunk.
    assert_eq!(
        dec.pull(&c0, b"").unwrap_err(),
        CryptoError::StreamAfterFinal
    );
    dec.finish().unwrap();

    // Wrong key, short chunks.
    let wrong = SecretBytes::<32>::random().unwrap();
    let mut dec = StreamDecryptor::new(&wrong, &header).unwrap();
    assert!(dec.pull(&c0, b"").is_err());
    assert!(dec.pull(&[], b"").is_err());
    assert!(dec.pull(&[0u8; 16], b"").is_err());
}

#[test]
fn hmac_verify_rejects_wrong_key_flipped_and_short_tags() {
    let tag = HmacSha256::mac(b"key", b"msg").unwrap();
    HmacSha256::verify(b"key", b"msg", tag.as_bytes()).unwrap();
    HmacSha256::verify(b"key", b"msg", &tag.as_bytes()[..16]).unwrap();
    assert_eq!(
        HmacSha256::verify(b"kez", b"msg", tag.as_bytes()).unwrap_err(),
        CryptoError::BadMac
    );
    let mut flipped = *tag.as_bytes();
    flipped[31] ^= 1;
    assert_eq!(
        HmacSha256::verify(b"key", b"msg", &flipped).unwrap_err(),
        CryptoError::BadMac
    );
    assert_eq!(
        HmacSha256::verify(b"key", b"msg", &tag.as_bytes()[..15]).unwrap_err(),
        CryptoError::BadMac
    );
    assert_eq!(
        HmacSha256::verify(b"key", b"msg", &[]).unwrap_err(),
        CryptoError::BadMac
    );
}

#[test]
fn out_of_range_parameters_are_errors() {
    let salt = [0u8; 16];
    for limits in [
        PwHashLimits {
            ops: 0,
            mem_bytes: 64 << 10,
        },
        PwHashLimits {
            ops: 1,
            mem_bytes: 1024,
        },
    ] {
        assert!(matches!(
            derive_key(b"pw", &salt, limits).unwrap_err(),
            CryptoError::Parameter(_)
        ));
    }
    let key = SecretBytes::<32>::random().unwrap();
    assert!(matches!(
        derive_subkey::<8>(&key, KdfContext::new(b"kithtest"), 1).unwrap_err(),
        CryptoError::Length { .. }
    ));
    let mut big = vec![0u8; 255 * 32 + 1];
    assert!(matches!(
        hkdf_sha256_into(b"", b"ikm", b"", &mut big).unwrap_err(),
        CryptoError::Length { .. }
    ));
    let mut max = vec![0u8; 255 * 32];
    hkdf_sha256_into(b"", b"ikm", b"", &mut max).unwrap();
    assert!(
        kith_crypto::hash::Blake2b::new_raw(&[0u8; 8], 32).is_err(),
        "short blake2b key"
    );
    assert!(
        kith_crypto::hash::Blake2b::new(A, 65).is_err(),
        "long blake2b output"
    );
}
