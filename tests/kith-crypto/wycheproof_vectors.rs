//! Wycheproof vectors run through Kith's own wrappers. Each suite counts the
//! vectors that were accepted with the right output, rejected as expected,
//! and "acceptable" vectors either way; any disagreement fails the test.

use kith_crypto::aead::AeadKey;
use kith_crypto::dh::{DhPublic, DhSecret};
use kith_crypto::kdf::hkdf_sha256_into;
use kith_crypto::mac::HmacSha256;
use kith_crypto::sign::{Signature, VerifyingKey};
use kith_crypto::{SecretBytes, ct_eq};
use wycheproof::TestResult;

#[derive(Default, Debug)]
struct Tally {
    valid_passed: usize,
    invalid_rejected: usize,
    acceptable_accepted: usize,
    acceptable_rejected: usize,
    mismatches: Vec<String>,
}

impl Tally {
    /// Records one vector: `outcome` is `Some(output_matches)` when our
    /// wrapper accepted the input, `None` when it rejected it.
    fn record(&mut self, id: usize, expected: TestResult, outcome: Option<bool>) {
        match (expected, outcome) {
            (TestResult::Valid, Some(true)) => self.valid_passed += 1,
            (TestResult::Invalid, None) => self.invalid_rejected += 1,
            (TestResult::Acceptable, Some(true)) => self.acceptable_accepted += 1,
            (TestResult::Acceptable, None) => self.acceptable_rejected += 1,
            (expected, outcome) => self
                .mismatches
                .push(format!("tc {id}: expected {expected:?}, got {outcome:?}")),
        }
    }

    fn check(self, suite: &str, min_vectors: usize) {
        let total = self.valid_passed
            + self.invalid_rejected
            + self.acceptable_accepted
            + self.acceptable_rejected;
        println!(
            "wycheproof {suite}: {total} vectors: {} valid passed, {} invalid rejected, {} acceptable accepted, {} acceptable rejected, {} mismatches",
            self.valid_passed,
            self.invalid_rejected,
            self.acceptable_accepted,
            self.acceptable_rejected,
            self.mismatches.len()
        );
        assert!(
            self.mismatches.is_empty(),
            "{suite}: {:#?}",
            self.mismatches
        );
        assert!(total >= min_vectors, "{suite}: only {total} vectors ran");
        let rejected = self.invalid_rejected + self.acceptable_rejected;
        assert!(
            self.valid_passed > 0 && rejected > 0,
            "{suite}: one-sided run {self:?}"
        );
    }
}

#[test]
fn x25519() {
    use wycheproof::xdh::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::X25519).unwrap().test_groups {
        for t in group.tests {
            let outcome = (|| {
                let sk = SecretBytes::<32>::from_slice(&t.private_key).ok()?;
                let pk: [u8; 32] = t.public_key.as_slice().try_into().ok()?;
                let shared = DhSecret::from_secret(sk)
                    .diffie_hellman(&DhPublic::from_bytes(pk))
                    .ok()?;
                Some(ct_eq(shared.expose(), &t.shared_secret))
            })();
            // Wycheproof has no invalid X25519 vectors; the only input Kith
            // refuses is one whose shared secret is all zeros.
            if outcome.is_none() {
                assert!(
                    t.shared_secret.iter().all(|b| *b == 0),
                    "tc {} rejected",
                    t.tc_id
                );
            }
            tally.record(t.tc_id, t.result, outcome);
        }
    }
    tally.check("x25519", 500);
}

#[test]
fn ed25519() {
    use wycheproof::eddsa::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::Ed25519).unwrap().test_groups {
        let key = VerifyingKey::from_slice(&group.key.pk);
        for t in group.tests {
            let outcome = (|| {
                let key = key.as_ref().ok()?;
                let sig = Signature::from_slice(&t.sig).ok()?;
                key.verify_raw(&t.msg, &sig).ok().map(|()| true)
            })();
            tally.record(t.tc_id, t.result, outcome);
        }
    }
    tally.check("ed25519", 140);
}

#[test]
fn xchacha20_poly1305() {
    use wycheproof::aead::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::XChaCha20Poly1305)
        .unwrap()
        .test_groups
    {
        for t in group.tests {
            let outcome = (|| {
                let key = AeadKey::from_secret(SecretBytes::from_slice(&t.key).ok()?);
                let nonce: [u8; 24] = t.nonce.as_slice().try_into().ok()?;
                let mut ct_tag = t.ct.to_vec();
                ct_tag.extend_from_slice(&t.tag);
                let opened = key.decrypt_with_nonce(&nonce, &t.aad, &ct_tag).ok()?;
                // Accepted: decryption must give the plaintext, and encryption
                // must reproduce ciphertext and tag exactly.
                let sealed = key.encrypt_with_nonce(&nonce, &t.aad, &t.pt).ok()?;
                Some(ct_eq(opened.expose(), &t.pt) && sealed == ct_tag)
            })();
            tally.record(t.tc_id, t.result, outcome);
        }
    }
    tally.check("xchacha20-poly1305", 250);
}

#[test]
fn hkdf_sha256() {
    use wycheproof::hkdf::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::HkdfSha256).unwrap().test_groups {
        for t in group.tests {
            let mut out = vec![0u8; t.size];
            let outcome = hkdf_sha256_into(&t.salt, &t.ikm, &t.info, &mut out)
                .ok()
                .map(|()| ct_eq(&out, &t.okm));
            tally.record(t.tc_id, t.result, outcome);
        }
    }
    tally.check("hkdf-sha256", 80);
}

#[test]
fn hmac_sha256() {
    use wycheproof::mac::{TestName, TestSet};
    let mut tally = Tally::default();
    for group in TestSet::load(TestName::HmacSha256).unwrap().test_groups {
        for t in group.tests {
            let outcome = HmacSha256::verify(&t.key, &t.msg, &t.tag)
                .ok()
                .map(|()| true);
            tally.record(t.tc_id, t.result, outcome);
        }
    }
    tally.check("hmac-sha256", 150);
}
