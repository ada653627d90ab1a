//! Sessions: the Double Ratchet per message and fan-out, each against raw
//! XChaCha20-Poly1305 on the same bytes in the same run.

use std::hint::black_box;

use kith_crypto::aead::AeadKey;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::{LocalDevice, MemoryStore, RemoteDevice, Sessions};
use serde::Serialize;

use crate::measure::{Body, Paired, Plan, paired};

/// One row.
#[derive(Debug, Serialize)]
pub struct Row {
    /// What was measured.
    pub item: String,
    /// Candidate vs anchor.
    #[serde(flatten)]
    pub result: Paired,
}

/// A device with its log entry, keys and sessions.
struct Peer {
    keys: DeviceKeys,
    account: kith_wire::AccountId,
    remote: RemoteDevice,
    sessions: Sessions<MemoryStore>,
}

fn peer(name: &str) -> anyhow::Result<Peer> {
    let keys = DeviceKeys::generate(name, 0)?;
    let log = DeviceLog::create(&keys, name, 0)?;
    let state = log
        .state()
        .devices
        .get(&keys.device_id())
        .ok_or_else(|| anyhow::anyhow!("no device"))?;
    let remote = RemoteDevice::from_log(log.account_id(), state);
    Ok(Peer {
        account: log.account_id(),
        keys,
        remote,
        sessions: Sessions::new(MemoryStore::default()),
    })
}

fn send(
    from: &mut Peer,
    to: &RemoteDevice,
    text: &[u8],
) -> anyhow::Result<kith_wire::SessionMessage> {
    let local = LocalDevice {
        account: from.account,
        keys: &from.keys,
    };
    Ok(from.sessions.encrypt(&local, to, text)?)
}

fn receive(
    at: &mut Peer,
    from: &RemoteDevice,
    m: &kith_wire::SessionMessage,
) -> anyhow::Result<()> {
    let local = LocalDevice {
        account: at.account,
        keys: &at.keys,
    };
    black_box(at.sessions.decrypt(&local, from, m, 0)?);
    Ok(())
}

/// Runs the session benchmark.
pub fn run(quick: bool) -> anyhow::Result<Vec<Row>> {
    let plan = Plan::for_mode(quick, 7);
    let text = vec![0x42u8; 1024];
    let key = AeadKey::generate()?;
    let mut rows = Vec::new();

    // Establish a session both ways.
    let mut alice = peer("alice")?;
    let mut bob = peer("bob")?;
    let (a_remote, b_remote) = (alice.remote.clone(), bob.remote.clone());
    let first = send(&mut alice, &b_remote, b"hello")?;
    receive(&mut bob, &a_remote, &first)?;
    let reply = send(&mut bob, &a_remote, b"hi")?;
    receive(&mut alice, &b_remote, &reply)?;

    let seal_open = |n: u64| -> anyhow::Result<()> {
        for _ in 0..n {
            let sealed = key.seal(b"", &text)?;
            black_box(key.open(b"", &sealed)?);
        }
        Ok(())
    };
    let one_way: Body<'_> = Box::new(|n| {
        for _ in 0..n {
            let m = send(&mut alice, &b_remote, &text)?;
            receive(&mut bob, &a_remote, &m)?;
        }
        Ok(())
    });
    let result = paired(plan, Box::new(seal_open), one_way)?;
    rows.push(Row {
        item: "ratchet 1 KiB, same chain (encrypt+decrypt)".into(),
        result,
    });

    let ping_pong: Body<'_> = Box::new(|n| {
        for i in 0..n {
            if i % 2 == 0 {
                let m = send(&mut alice, &b_remote, &text)?;
                receive(&mut bob, &a_remote, &m)?;
            } else {
                let m = send(&mut bob, &a_remote, &text)?;
                receive(&mut alice, &b_remote, &m)?;
            }
        }
        Ok(())
    });
    let result = paired(plan, Box::new(seal_open), ping_pong)?;
    rows.push(Row {
        item: "ratchet 1 KiB, ping-pong (DH step each)".into(),
        result,
    });

    for devices in [10usize, 50] {
        let mut sender = peer("sender")?;
        let recipients: Vec<RemoteDevice> = (0..devices)
            .map(|i| peer(&format!("r{i}")).map(|p| p.remote))
            .collect::<anyhow::Result<_>>()?;
        // Sessions exist already (the steady state): one message first.
        {
            let local = LocalDevice {
                account: sender.account,
                keys: &sender.keys,
            };
            black_box(sender.sessions.fan_out(&local, &recipients, &text));
        }
        let anchor: Body<'_> = Box::new(|n| {
            for _ in 0..n {
                for _ in 0..devices {
                    black_box(key.seal(b"", &text)?);
                }
            }
            Ok(())
        });
        let fan: Body<'_> = Box::new(|n| {
            let local = LocalDevice {
                account: sender.account,
                keys: &sender.keys,
            };
            for _ in 0..n {
                let result = sender.sessions.fan_out(&local, &recipients, &text);
                anyhow::ensure!(result.failed.is_empty(), "fan-out failed");
                black_box(result);
            }
            Ok(())
        });
        let result = paired(plan, anchor, fan)?;
        rows.push(Row {
            item: format!("fan-out 1 KiB to {devices} devices (encrypt)"),
            result,
        });
    }
    Ok(rows)
}
