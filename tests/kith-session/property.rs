//! A stateful property test: 3 accounts × 3 devices send fan-outs over a
//! network that drops, shuffles and duplicates, while devices restart from
//! their stores. Every delivered plaintext equals what was sent; duplicates
//! are refused without state change; everything not dropped is delivered.

use kith_session::{SessionError, Sessions};
use kith_wire::SessionMessage;
use proptest::prelude::*;

use crate::{Device, account};

#[derive(Clone, Debug)]
enum Op {
    Send { from: usize, to_account: usize },
    Deliver { pick: usize },
    Duplicate { pick: usize },
    Drop { pick: usize },
    Restart { device: usize },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..9usize, 0..3usize).prop_map(|(from, to_account)| Op::Send { from, to_account }),
        5 => any::<usize>().prop_map(|pick| Op::Deliver { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Duplicate { pick }),
        1 => any::<usize>().prop_map(|pick| Op::Drop { pick }),
        1 => (0..9usize).prop_map(|device| Op::Restart { device }),
    ]
}

struct Packet {
    from: usize,
    to: usize,
    message: SessionMessage,
    text: Vec<u8>,
}

fn deliver(devices: &mut [Device], p: &Packet) -> kith_session::Result<Vec<u8>> {
    let from = devices[p.from].remote();
    let d = &mut devices[p.to];
    let local = kith_session::LocalDevice {
        account: d.account,
        keys: &d.keys,
    };
    d.sessions
        .decrypt(&local, &from, &p.message, 1_000)
        .map(|x| x.expose().to_vec())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, .. ProptestConfig::default() })]

    #[test]
    fn every_delivered_plaintext_is_what_was_sent(ops in proptest::collection::vec(op(), 1..80)) {
        let mut devices: Vec<Device> = (0..3).flat_map(|a| account(&format!("acct{a}"), 3)).collect();
        let mut network: Vec<Packet> = Vec::new();
        let mut delivered: Vec<Packet> = Vec::new();
        let mut counter = 0u32;
        for op in ops {
            match op {
                Op::Send { from, to_account } => {
                    counter += 1;
                    let text = format!("message {counter} from {from}").into_bytes();
                    // All devices of the other account, and the sender's own other devices.
                    let recipients: Vec<usize> = (0..9)
                        .filter(|&i| i != from && (i / 3 == to_account || i / 3 == from / 3))
                        .collect();
                    let remotes: Vec<_> = recipients.iter().map(|&i| devices[i].remote()).collect();
                    let result = devices[from].fan_out(&remotes, &text);
                    prop_assert!(result.failed.is_empty(), "{:?}", result.failed);
                    for envelope in result.fan_out.envelopes {
                        let to = recipients.iter().copied().find(|&i| devices[i].keys.device_id() == envelope.recipient).unwrap();
                        network.push(Packet { from, to, message: envelope.message, text: text.clone() });
                    }
                }
                Op::Deliver { pick } if !network.is_empty() => {
                    let p = network.remove(pick % network.len());
                    let plaintext = deliver(&mut devices, &p);
                    prop_assert_eq!(plaintext.as_deref().ok(), Some(p.text.as_slice()), "{:?}", plaintext.as_ref().err());
                    delivered.push(p);
                }
                Op::Duplicate { pick } if !delivered.is_empty() => {
                    let p = &delivered[pick % delivered.len()];
                    let before = devices[p.to].record_bytes(&devices[p.from]);
                    let again = deliver(&mut devices, p);
                    prop_assert!(again.is_err(), "a duplicate was accepted");
                    prop_assert_eq!(again.unwrap_err(), SessionError::Duplicate);
                    prop_assert_eq!(devices[p.to].record_bytes(&devices[p.from]), before);
                }
                Op::Drop { pick } if !network.is_empty() => {
                    network.remove(pick % network.len());
                }
                Op::Restart { device } => {
                    let store = devices[device].sessions.store().duplicate();
                    devices[device].sessions = Sessions::new(store);
                }
                _ => {}
            }
        }
        // Everything still in flight arrives, in a scrambled order.
        let mut rest = network;
        rest.reverse();
        for p in rest {
            let plaintext = deliver(&mut devices, &p);
            prop_assert_eq!(plaintext.as_deref().ok(), Some(p.text.as_slice()), "{:?}", plaintext.as_ref().err());
        }
    }
}
