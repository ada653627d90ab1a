//! Known answers from RFCs, and from independent implementations where no
//! RFC vector fits libsodium's parameters (noted at each vector).

use kith_crypto::aead::AeadKey;
use kith_crypto::dh::{DhPublic, DhSecret};
use kith_crypto::hash::{Blake2b, Sha512, blake2b_256};
use kith_crypto::kdf::{KdfContext, derive_subkey, hkdf_sha256};
use kith_crypto::mac::HmacSha256;
use kith_crypto::pwhash::{PwHashLimits, derive_key};
use kith_crypto::sign::{Signature, SigningKey, VerifyingKey};
use kith_crypto::{Domain, SecretBytes};

use crate::{hex, hex_array};

#[test]
fn ed25519_rfc8032_test_vectors_1_and_2() {
    let cases = [
        (
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
            "",
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b",
        ),
        (
            "4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
            "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c",
            "72",
            "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00",
        ),
    ];
    for (seed, public, msg, sig) in cases {
        let key = SigningKey::from_seed(SecretBytes::take_from(&mut hex_array(seed))).unwrap();
        assert_eq!(key.verifying_key().to_bytes(), hex_array::<32>(public));
        let signature = key.sign_raw(&hex(msg)).unwrap();
        assert_eq!(signature.to_bytes().to_vec(), hex(sig));
        let vk = VerifyingKey::from_bytes(&hex_array(public)).unwrap();
        vk.verify_raw(&hex(msg), &Signature::from_bytes(hex_array(sig)))
            .unwrap();
    }
}

#[test]
fn x25519_rfc7748_section_6_1() {
    let alice = DhSecret::from_secret(SecretBytes::take_from(&mut hex_array(
        "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a",
    )));
    let bob = DhSecret::from_secret(SecretBytes::take_from(&mut hex_array(
        "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb",
    )));
    let alice_pub = alice.public_key().unwrap();
    let bob_pub = bob.public_key().unwrap();
    assert_eq!(
        alice_pub.to_bytes(),
        hex_array::<32>("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
    );
    assert_eq!(
        bob_pub.to_bytes(),
        hex_array::<32>("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
    );
    let shared =
        hex_array::<32>("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
    assert_eq!(alice.diffie_hellman(&bob_pub).unwrap().expose(), &shared);
    assert_eq!(
        bob.diffie_hellman(&DhPublic::from_bytes(alice_pub.to_bytes()))
            .unwrap()
            .expose(),
        &shared
    );
}

#[test]
fn hkdf_sha256_rfc5869_test_case_1() {
    let okm = hkdf_sha256::<42>(
        &hex("000102030405060708090a0b0c"),
        &[0x0b; 22],
        &hex("f0f1f2f3f4f5f6f7f8f9"),
    )
    .unwrap();
    assert_eq!(
        okm.expose().to_vec(),
        hex("3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865")
    );
}

#[test]
fn hmac_sha256_rfc4231_test_case_2() {
    let tag = HmacSha256::mac(b"Jefe", b"what do ya want for nothing?").unwrap();
    assert_eq!(
        tag.as_bytes().to_vec(),
        hex("5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    );
    // The incremental form gives the same tag.
    let mut hmac = HmacSha256::new(b"Jefe").unwrap();
    hmac.update(b"what do ya want ").unwrap();
    hmac.update(b"for nothing?").unwrap();
    assert_eq!(hmac.finalize().unwrap(), tag);
}

#[test]
fn blake2b_rfc7693_abc_and_keyed() {
    let mut h = Blake2b::new_raw(&[], 64).unwrap();
    h.update(b"abc").unwrap();
    assert_eq!(
        h.finalize().unwrap(),
        hex(
            "ba80a53f981c4d0d6a2797b69f12f6e94c212f14685ac4b74b12bb6fdbffa2d17d87c5392aab792dc252d5de4533cc9518d38aa8dbf1925ab92386edd4009923"
        )
    );
    // Keyed BLAKE2b-256; reference value from Python's hashlib.blake2b.
    let mut h = Blake2b::new_raw(&[b'k'; 32], 32).unwrap();
    h.update(b"abc").unwrap();
    assert_eq!(
        h.finalize().unwrap(),
        hex("0a9b1f4f633832a535f3e4539d906998c3814fbcd4cc136e57e8ea742ac36b61")
    );
}

#[test]
fn blake2b_with_domain_is_length_prefixed_label_then_input() {
    // hashlib.blake2b(bytes([15]) + b"kith-account-v1" + b"genesis", digest_size=32)
    let digest = blake2b_256(Domain::new("kith-account-v1"), &[b"gen", b"esis"]).unwrap();
    assert_eq!(
        digest.to_vec(),
        hex("a64f754ee9c985300c296a52c4724dcc02a4983e889b43f94575896c32793593")
    );
}

#[test]
fn sha512_fips180_abc() {
    assert_eq!(
        Sha512::digest(b"abc").unwrap().to_vec(),
        hex(
            "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
        )
    );
}

#[test]
fn kdf_subkeys_match_blake2b_with_salt_and_personalisation() {
    // crypto_kdf_derive_from_key is BLAKE2b(key, salt = id_le64 || 0^8,
    // personal = ctx || 0^8); reference values from Python's hashlib.blake2b.
    let key = SecretBytes::from_slice(&(0u8..32).collect::<Vec<_>>()).unwrap();
    let ctx = KdfContext::new(b"kithstor");
    for (id, expected) in [
        (
            0u64,
            "7ea7c2fd28ee945ea5b34fc021f06d7907aedd9662eaecb1568d57cfb38b752f",
        ),
        (
            1,
            "e5fe39f233691de162151a7ebc0d5bb2da88ec0a4d49de677d195c1789a98660",
        ),
        (
            0xdead_beef,
            "99e61c1f0d395faf189cb49c345550afba187a9d0d11aec9e1461878df3d2467",
        ),
    ] {
        let subkey = derive_subkey::<32>(&key, ctx, id).unwrap();
        assert_eq!(subkey.expose().to_vec(), hex(expected), "subkey {id}");
    }
}

#[test]
fn argon2id_matches_the_reference_implementation() {
    // Reference values from argon2-cffi (the Argon2 reference C code),
    // Argon2id v1.3, parallelism 1 (libsodium's), 32-byte output.
    let salt: [u8; 16] = *b"kith-salt-16byte";
    for (ops, kib, expected) in [
        (
            1u64,
            8usize,
            "764bcedd38d2164145e08608be5652ddf71f43d3ff8e6af024244f760cada7d2",
        ),
        (
            2,
            64,
            "36af216bb9e02814f8d879709b409a7733a817a7cdc5500984fcfc5e194af286",
        ),
        (
            3,
            256,
            "2efff2e9587a88a6d73f85aea500785016c33138633107ab32cea55462dbf6fe",
        ),
    ] {
        let limits = PwHashLimits {
            ops,
            mem_bytes: kib << 10,
        };
        let key = derive_key(b"correct horse battery staple", &salt, limits).unwrap();
        assert_eq!(
            key.expose().to_vec(),
            hex(expected),
            "ops {ops} mem {kib} KiB"
        );
    }
}

#[test]
fn aead_seal_open_round_trip_and_layout() {
    let key = AeadKey::generate().unwrap();
    let sealed = key.seal(b"ad", b"attack at dawn").unwrap();
    assert_eq!(sealed.len(), 14 + kith_crypto::aead::SEAL_OVERHEAD);
    assert_eq!(
        key.open(b"ad", &sealed).unwrap().expose(),
        b"attack at dawn"
    );
    // Two seals of one plaintext differ (fresh random nonces).
    assert_ne!(sealed, key.seal(b"ad", b"attack at dawn").unwrap());
    // The layout is nonce || ct || tag, decryptable with the explicit-nonce API.
    let nonce: [u8; 24] = sealed[..24].try_into().unwrap();
    assert_eq!(
        key.decrypt_with_nonce(&nonce, b"ad", &sealed[24..])
            .unwrap()
            .expose(),
        b"attack at dawn"
    );
}

#[test]
fn secretstream_round_trip_over_many_chunks() {
    use kith_crypto::stream::{StreamDecryptor, StreamEncryptor};
    let key = SecretBytes::<32>::random().unwrap();
    let (mut enc, header) = StreamEncryptor::new(&key).unwrap();
    let chunks: Vec<Vec<u8>> = (0..10u8).map(|i| vec![i; 1000 + usize::from(i)]).collect();
    let mut wire: Vec<Vec<u8>> = chunks
        .iter()
        .map(|c| enc.push(c, b"file-1").unwrap())
        .collect();
    wire.push(enc.finish(b"", b"file-1").unwrap());

    let mut dec = StreamDecryptor::new(&key, &header).unwrap();
    for (i, ct) in wire.iter().enumerate() {
        let (pt, last) = dec.pull(ct, b"file-1").unwrap();
        if i < chunks.len() {
            assert_eq!(pt.expose(), &chunks[i][..]);
            assert!(!last);
        } else {
            assert!(pt.is_empty() && last);
        }
    }
    dec.finish().unwrap();
}

#[test]
fn libsodium_is_the_bundled_version_with_hkdf() {
    let version = kith_crypto::libsodium_version().unwrap();
    let parts: Vec<u32> = version.split('.').map(|p| p.parse().unwrap()).collect();
    assert!(
        parts >= vec![1, 0, 19],
        "libsodium {version} lacks crypto_kdf_hkdf_sha256"
    );
}
