//! Sender keys: one chain per author device and group, forward only,
//! bounded, rotated when the member devices change or the chain is used
//! up or old; a failed open changes nothing.

use kith_session::sender_keys::{Given, NewChain, ROTATE_AFTER_MESSAGES, ROTATE_AFTER_MS};
use kith_session::{MemoryStore, SenderKeyRecord, SessionError, SessionStore, Sessions};
use kith_wire::{ChainKey, ConversationId, DeviceId, SenderKeyMessage};

const GROUP: ConversationId = ConversationId([7; 32]);
const AUTHOR: DeviceId = DeviceId([1; 32]);
const READER: DeviceId = DeviceId([2; 32]);

/// A reader takes a distribution that was the author's `order`-th entry.
fn give(
    reader: &mut Sessions<MemoryStore>,
    (chain, iteration, key): &(u32, u32, ChainKey),
    order: u64,
) -> bool {
    let given = Given {
        chain: *chain,
        iteration: *iteration,
        key,
        order,
    };
    reader.hold_sender_chain(&GROUP, AUTHOR, given).unwrap()
}

/// A new chain of the author's, adopted, and given to the reader (which
/// had not held it) as the author's `order`-th entry.
fn new_chain(author: &mut Sessions<MemoryStore>, reader: &mut Sessions<MemoryStore>, order: u64) {
    let chain = NewChain::start(&[READER], 0).unwrap();
    let distribution = chain.distribution();
    author.adopt_sender_chain(&GROUP, chain).unwrap();
    assert!(give(reader, &distribution, order));
    assert!(
        !give(reader, &distribution, order),
        "seen again: not wound back"
    );
}

/// The author's sessions with a chain adopted, and a reader holding it.
fn pair() -> (Sessions<MemoryStore>, Sessions<MemoryStore>) {
    let mut author = Sessions::new(MemoryStore::default());
    let mut reader = Sessions::new(MemoryStore::default());
    new_chain(&mut author, &mut reader, 0);
    (author, reader)
}

/// The sender-key record `sessions` keep for the group.
fn record_of(sessions: &Sessions<MemoryStore>) -> SenderKeyRecord {
    let bytes = sessions.store().load_sender_keys(&GROUP).unwrap().unwrap();
    SenderKeyRecord::import(bytes.expose()).unwrap()
}

fn seal(author: &mut Sessions<MemoryStore>, text: &[u8]) -> SenderKeyMessage {
    author.sender_encrypt(&GROUP, &AUTHOR, text).unwrap()
}

fn open(reader: &mut Sessions<MemoryStore>, m: &SenderKeyMessage) -> Result<Vec<u8>, SessionError> {
    reader
        .sender_open_if(&GROUP, &AUTHOR, m, |_| true)
        .map(|p| p.expose().to_vec())
}

#[test]
fn messages_open_in_any_order_once_and_only_under_their_own_binding() {
    let (mut author, mut reader) = pair();
    let m: Vec<SenderKeyMessage> = (0..5).map(|i| seal(&mut author, &[i])).collect();
    assert_eq!(
        m.iter().map(|m| m.iteration).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    // Later first: the passed-over keys wait for their messages.
    assert_eq!(open(&mut reader, &m[3]).unwrap(), [3]);
    assert_eq!(open(&mut reader, &m[0]).unwrap(), [0]);
    assert_eq!(open(&mut reader, &m[4]).unwrap(), [4]);
    assert_eq!(open(&mut reader, &m[1]).unwrap(), [1]);
    // Each opens once: its key is gone.
    assert_eq!(open(&mut reader, &m[3]), Err(SessionError::Duplicate));
    assert_eq!(open(&mut reader, &m[0]), Err(SessionError::Duplicate));
    // Bound to the group and the author: elsewhere it opens nothing.
    let other_group = ConversationId([8; 32]);
    let as_other = reader.sender_open_if(&other_group, &AUTHOR, &m[2], |_| true);
    assert!(as_other.is_err());
    let someone_else = reader.sender_open_if(&GROUP, &READER, &m[2], |_| true);
    assert_eq!(someone_else.err(), Some(SessionError::NoSession));
    assert_eq!(open(&mut reader, &m[2]).unwrap(), [2]);
}

#[test]
fn a_tampered_or_refused_message_changes_nothing() {
    let (mut author, mut reader) = pair();
    let genuine = seal(&mut author, b"hello");
    let mut tampered = genuine.clone();
    let last = tampered.ciphertext.len() - 1;
    tampered.ciphertext[last] ^= 1;
    assert!(open(&mut reader, &tampered).is_err());
    let mut moved = genuine.clone();
    moved.iteration = 1;
    assert!(open(&mut reader, &moved).is_err());
    // Refused by the caller (not the body the header names): not spent.
    let refused = reader.sender_open_if(&GROUP, &AUTHOR, &genuine, |_| false);
    assert_eq!(refused.err(), Some(SessionError::Rejected));
    assert_eq!(open(&mut reader, &genuine).unwrap(), b"hello");
}

#[test]
fn a_message_too_far_ahead_of_its_chain_is_refused_without_work() {
    let (mut author, mut reader) = pair();
    let mut far = seal(&mut author, b"far");
    far.iteration = kith_session::ratchet::MAX_SKIP + 2;
    assert_eq!(
        open(&mut reader, &far).err(),
        Some(SessionError::TooFarAhead)
    );
    assert_eq!(reader.keys_derived_ahead(), 0);
    // An author holds no chain of its own: its record keeps its chain only.
    assert!(!record_of(&author).holds(&AUTHOR, far.chain));
    assert!(record_of(&reader).holds(&AUTHOR, far.chain));
}

#[test]
fn a_chain_is_due_when_the_devices_change_or_it_is_used_up_or_old() {
    let mut author = Sessions::new(MemoryStore::default());
    let devices = [READER, DeviceId([3; 32])];
    assert!(
        author.sender_chain_due(&GROUP, &devices, 0).unwrap(),
        "none yet"
    );
    let chain = NewChain::start(&devices, 0).unwrap();
    author.adopt_sender_chain(&GROUP, chain).unwrap();
    assert!(!author.sender_chain_due(&GROUP, &devices, 0).unwrap());
    let reversed = [devices[1], devices[0]];
    assert!(
        !author.sender_chain_due(&GROUP, &reversed, 0).unwrap(),
        "order is no change"
    );
    assert!(
        author.sender_chain_due(&GROUP, &devices[..1], 0).unwrap(),
        "one left"
    );
    let more = [READER, DeviceId([3; 32]), DeviceId([4; 32])];
    assert!(
        author.sender_chain_due(&GROUP, &more, 0).unwrap(),
        "one joined"
    );
    assert!(
        author
            .sender_chain_due(&GROUP, &devices, ROTATE_AFTER_MS)
            .unwrap(),
        "old"
    );
    assert!(
        !author
            .sender_chain_due(&GROUP, &devices, ROTATE_AFTER_MS - 1)
            .unwrap()
    );
    for _ in 0..ROTATE_AFTER_MESSAGES - 1 {
        seal(&mut author, b"x");
    }
    assert!(!author.sender_chain_due(&GROUP, &devices, 0).unwrap());
    seal(&mut author, b"x");
    assert!(
        author.sender_chain_due(&GROUP, &devices, 0).unwrap(),
        "used up"
    );
}

#[test]
fn a_new_chain_replaces_the_old_and_two_per_device_are_kept() {
    let (mut author, mut reader) = pair();
    let first = seal(&mut author, b"first chain");
    let mut chains = Vec::new();
    for order in 1..3 {
        new_chain(&mut author, &mut reader, order);
        chains.push(seal(&mut author, b"next chain"));
    }
    assert_ne!(first.chain, chains[0].chain);
    // The newest two chains open; the oldest was let go.
    assert_eq!(open(&mut reader, &chains[1]).unwrap(), b"next chain");
    assert_eq!(open(&mut reader, &chains[0]).unwrap(), b"next chain");
    assert_eq!(
        open(&mut reader, &first).err(),
        Some(SessionError::NoSession)
    );
}

#[test]
fn encrypting_without_a_chain_is_an_error() {
    let mut author = Sessions::new(MemoryStore::default());
    assert_eq!(
        author.sender_encrypt(&GROUP, &AUTHOR, b"x").err(),
        Some(SessionError::NoSession)
    );
}

#[test]
fn of_distributions_arriving_out_of_order_the_newest_two_are_kept() {
    let mut author = Sessions::new(MemoryStore::default());
    let mut reader = Sessions::new(MemoryStore::default());
    let mut chains = Vec::new();
    for _ in 0..3 {
        let chain = NewChain::start(&[READER], 0).unwrap();
        let distribution = chain.distribution();
        author.adopt_sender_chain(&GROUP, chain).unwrap();
        chains.push((distribution, seal(&mut author, b"under it")));
    }
    // The newest first, then the oldest (a body fetched late), then the
    // middle one: the oldest is not kept, the two newest are.
    assert!(give(&mut reader, &chains[2].0, 30));
    assert!(give(&mut reader, &chains[0].0, 10));
    assert!(give(&mut reader, &chains[1].0, 20));
    assert!(!give(&mut reader, &chains[0].0, 10), "older than both kept");
    assert_eq!(open(&mut reader, &chains[2].1).unwrap(), b"under it");
    assert_eq!(open(&mut reader, &chains[1].1).unwrap(), b"under it");
    assert_eq!(
        open(&mut reader, &chains[0].1).err(),
        Some(SessionError::NoSession)
    );
}
