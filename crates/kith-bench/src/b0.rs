//! B0 crypto_floor: every `kith-crypto` wrapper against libsodium called
//! directly in a tight loop (`kith_crypto::bench_anchor`), plus the time to
//! unlock a profile with Argon2id at the chosen limits.

use std::hint::black_box;
use std::time::{Duration, Instant};

use kith_crypto::aead::AeadKey;
use kith_crypto::bench_anchor::{self, RawOp};
use kith_crypto::dh::DhSecret;
use kith_crypto::hash::blake2b_256;
use kith_crypto::kdf::{KdfContext, derive_subkey, hkdf_sha256};
use kith_crypto::mac::HmacSha256;
use kith_crypto::pwhash::{PwHashLimits, derive_key};
use kith_crypto::sign::SigningKey;
use kith_crypto::stream::StreamEncryptor;
use kith_crypto::{Domain, SecretBytes};
use serde::Serialize;

use crate::measure::{Body, Paired, Plan, paired};

const BENCH: Domain = Domain::new("kith-bench-v1");

/// One row of the B0 table.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What was measured.
    pub item: String,
    /// Bytes of input per operation.
    pub bytes: usize,
    /// Wrapper vs direct.
    #[serde(flatten)]
    pub result: Paired,
}

/// Argon2id unlock time at one set of limits.
#[derive(Debug, Serialize)]
pub struct Unlock {
    /// Limits name.
    pub limits: String,
    /// Passes.
    pub ops: u64,
    /// Memory in MiB.
    pub mem_mib: usize,
    /// Median seconds for one derivation through the wrapper.
    pub seconds: f64,
}

/// The whole B0 report.
#[derive(Debug, Serialize)]
pub struct Report {
    /// libsodium version measured.
    pub libsodium: String,
    /// Wrapper/direct rows.
    pub rows: Vec<Row>,
    /// Profile unlock times.
    pub unlock: Vec<Unlock>,
}

fn anchor<'a>(op: RawOp, msg: &'a [u8]) -> Body<'a> {
    Box::new(move |n| {
        black_box(bench_anchor::run(op, msg, n)?);
        Ok(())
    })
}

fn wrapper<'a>(mut f: impl FnMut() -> anyhow::Result<()> + 'a) -> Body<'a> {
    Box::new(move |n| {
        for _ in 0..n {
            f()?;
        }
        Ok(())
    })
}

/// Runs B0. `quick` shortens every round and skips the moderate Argon2id
/// limits: it proves the benchmark works, its numbers are rough.
pub fn run(quick: bool) -> anyhow::Result<Report> {
    let plan = Plan::for_mode(quick, 9);
    let small = vec![0x5au8; 256];
    let kib = vec![0x5au8; 1024];
    let mib = vec![0x5au8; 1 << 20];
    let chunk = vec![0x5au8; 64 << 10];
    let ikm = [0x5au8; 32];
    // Kith signs and hashes `domain || message`; the anchors get the same bytes.
    let small_prefixed = BENCH.prefixed(&small);
    let kib_prefixed = BENCH.prefixed(&kib);

    let signing = SigningKey::from_seed(SecretBytes::take_from(&mut [7u8; 32]))?;
    let verifying = signing.verifying_key();
    let signature = signing.sign(BENCH, &small)?;
    let dh = DhSecret::from_secret(SecretBytes::take_from(&mut [7u8; 32]));
    let peer = dh.public_key()?;
    let aead = AeadKey::from_secret(SecretBytes::take_from(&mut [7u8; 32]));
    let sealed_kib = aead.seal(&[], &kib)?;
    let sealed_mib = aead.seal(&[], &mib)?;
    let root = SecretBytes::take_from(&mut [7u8; 32]);
    let ctx = KdfContext::new(b"kithbnch");
    let (mut stream, _header) = StreamEncryptor::new(&root)?;

    let mut rows = Vec::new();
    let mut add = |item: &str, bytes: usize, a: Body<'_>, w: Body<'_>| -> anyhow::Result<()> {
        let result = paired(plan, a, w)?;
        rows.push(Row {
            item: item.to_owned(),
            bytes,
            result,
        });
        Ok(())
    };

    add(
        "ed25519 sign",
        small.len(),
        anchor(RawOp::Sign, &small_prefixed),
        wrapper(|| {
            black_box(signing.sign(BENCH, &small)?);
            Ok(())
        }),
    )?;
    add(
        "ed25519 verify",
        small.len(),
        anchor(RawOp::Verify, &small_prefixed),
        wrapper(|| {
            verifying.verify(BENCH, &small, &signature)?;
            Ok(())
        }),
    )?;
    add(
        "x25519",
        32,
        anchor(RawOp::X25519, &[]),
        wrapper(|| {
            black_box(dh.diffie_hellman(&peer)?);
            Ok(())
        }),
    )?;
    add(
        "aead seal 1 KiB",
        kib.len(),
        anchor(RawOp::AeadSeal, &kib),
        wrapper(|| {
            black_box(aead.seal(&[], &kib)?);
            Ok(())
        }),
    )?;
    let nonce = [9u8; 24];
    add(
        "aead encrypt 1 KiB (nonce)",
        kib.len(),
        anchor(RawOp::AeadEncrypt, &kib),
        wrapper(|| {
            black_box(aead.encrypt_with_nonce(&nonce, &[], &kib)?);
            Ok(())
        }),
    )?;
    add(
        "aead open 1 KiB",
        kib.len(),
        anchor(RawOp::AeadDecrypt, &kib),
        wrapper(|| {
            black_box(aead.open(&[], &sealed_kib)?);
            Ok(())
        }),
    )?;
    add(
        "aead seal 1 MiB",
        mib.len(),
        anchor(RawOp::AeadSeal, &mib),
        wrapper(|| {
            black_box(aead.seal(&[], &mib)?);
            Ok(())
        }),
    )?;
    add(
        "aead open 1 MiB",
        mib.len(),
        anchor(RawOp::AeadDecrypt, &mib),
        wrapper(|| {
            black_box(aead.open(&[], &sealed_mib)?);
            Ok(())
        }),
    )?;
    add(
        "blake2b-256 1 KiB",
        kib.len(),
        anchor(RawOp::Blake2b, &kib_prefixed),
        wrapper(|| {
            black_box(blake2b_256(BENCH, &[&kib])?);
            Ok(())
        }),
    )?;
    add(
        "hmac-sha256 1 KiB",
        kib.len(),
        anchor(RawOp::HmacSha256, &kib),
        wrapper(|| {
            black_box(HmacSha256::mac(&[7u8; 32], &kib)?);
            Ok(())
        }),
    )?;
    add(
        "hkdf-sha256 32 B",
        32,
        anchor(RawOp::HkdfSha256, &ikm),
        wrapper(|| {
            black_box(hkdf_sha256::<32>(&[9u8; 24], &ikm, b"kith")?);
            Ok(())
        }),
    )?;
    let mut id = 0u64;
    add(
        "kdf subkey",
        32,
        anchor(RawOp::KdfSubkey, &[]),
        wrapper(|| {
            id = id.wrapping_add(1);
            black_box(derive_subkey::<32>(&root, ctx, id)?);
            Ok(())
        }),
    )?;
    add(
        "secretstream push 64 KiB",
        chunk.len(),
        anchor(RawOp::StreamPush, &chunk),
        wrapper(|| {
            black_box(stream.push(&chunk, &[])?);
            Ok(())
        }),
    )?;

    let password = b"correct horse battery staple";
    let argon_plan = Plan {
        round: Duration::ZERO,
        rounds: if quick { 1 } else { 3 },
    };
    let mut unlock = Vec::new();
    let mut limits = vec![("interactive", PwHashLimits::INTERACTIVE)];
    if !quick {
        limits.push(("moderate", PwHashLimits::MODERATE));
    }
    for (name, l) in limits {
        let op = RawOp::Argon2id {
            ops: l.ops,
            mem: l.mem_bytes,
        };
        let salt = [1u8; 16];
        let mut times = Vec::new();
        let w = wrapper(|| {
            let start = Instant::now();
            black_box(derive_key(password, &salt, l)?);
            times.push(start.elapsed().as_secs_f64());
            Ok(())
        });
        let result = paired(argon_plan, anchor(op, password), w)?;
        rows.push(Row {
            item: format!("argon2id {name}"),
            bytes: password.len(),
            result,
        });
        times.sort_by(f64::total_cmp);
        let seconds = times.get(times.len() / 2).copied().unwrap_or(f64::NAN);
        unlock.push(Unlock {
            limits: name.to_owned(),
            ops: l.ops,
            mem_mib: l.mem_bytes >> 20,
            seconds,
        });
    }

    Ok(Report {
        libsodium: kith_crypto::libsodium_version()?,
        rows,
        unlock,
    })
}
