//! Group ciphertexts under a sender-key chain, from the network: the
//! decoder, and opening with a held chain. Whatever opens must be the
//! message that was sent, once; everything else is an error, never a
//! panic, and leaves the chain able to open the genuine message.
#![no_main]

use std::sync::OnceLock;

use kith_session::sender_keys::{Given, NewChain};
use kith_session::{MemoryStore, Sessions};
use kith_wire::{ConversationId, DeviceId, FanOut, SenderKeyMessage, decode, limits};
use libfuzzer_sys::fuzz_target;

const PLAINTEXT: &[u8] = b"the one group message Alice sent";
const GROUP: ConversationId = ConversationId([3; 32]);
const ALICE: DeviceId = DeviceId([1; 32]);

struct Fixture {
    reader: MemoryStore,
    genuine: SenderKeyMessage,
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let mut author = Sessions::new(MemoryStore::default());
        let mut reader = Sessions::new(MemoryStore::default());
        let chain = NewChain::start(&[DeviceId([2; 32])], 0).expect("chain");
        let (id, iteration, key) = chain.distribution();
        author.adopt_sender_chain(&GROUP, chain).expect("adopt");
        let given = Given {
            chain: id,
            iteration,
            key: &key,
            order: 0,
        };
        reader
            .hold_sender_chain(&GROUP, ALICE, given)
            .expect("hold");
        let genuine = author
            .sender_encrypt(&GROUP, &ALICE, PLAINTEXT)
            .expect("encrypt");
        Fixture {
            reader: reader.store().duplicate(),
            genuine,
        }
    })
}

fuzz_target!(|bytes: &[u8]| {
    if let Ok(fan_out) = decode::<FanOut>(bytes, limits::MAX_FANOUT_BYTES) {
        let _ = fan_out.check_limits();
        let _ = fan_out.sender_key();
    }
    let fixture = fixture();
    let mut reader = Sessions::new(fixture.reader.duplicate());
    // The input as a message of Alice's chain (and as one with the
    // genuine chain id and iteration but other bytes).
    let mut candidates = Vec::new();
    if let Ok(message) = decode::<SenderKeyMessage>(bytes, limits::MAX_FANOUT_BYTES) {
        candidates.push(message);
    }
    candidates.push(SenderKeyMessage {
        chain: fixture.genuine.chain,
        iteration: fixture.genuine.iteration,
        ciphertext: bytes.to_vec(),
    });
    for message in &candidates {
        if let Ok(plain) = reader.sender_open_if(&GROUP, &ALICE, message, |_| true) {
            assert!(
                kith_crypto::ct_eq(plain.expose(), PLAINTEXT),
                "only the genuine message opens"
            );
            assert_eq!(message.ciphertext, fixture.genuine.ciphertext);
            return;
        }
    }
    let plain = reader
        .sender_open_if(&GROUP, &ALICE, &fixture.genuine, |_| true)
        .expect("what failed changed nothing");
    assert!(kith_crypto::ct_eq(plain.expose(), PLAINTEXT));
});
