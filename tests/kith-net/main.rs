//! Integration tests of `kith-net`: real iroh endpoints on loopback.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use iroh::protocol::Router;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_net::{NetConfig, SYNC_ALPN, SyncNode, SyncProtocol, bind};
use kith_session::Sessions;
use kith_sync::{MemoryStorage, Replica};
use kith_wire::ConversationId;

struct Device {
    node: SyncNode<MemoryStorage>,
    router: Router,
}

async fn devices() -> (Device, Device) {
    let a_keys = DeviceKeys::generate("alice-laptop", 0).unwrap();
    let a_log = DeviceLog::create(&a_keys, "Alice", 0).unwrap();
    let b_keys = DeviceKeys::generate("bob-phone", 0).unwrap();
    let b_log = DeviceLog::create(&b_keys, "Bob", 0).unwrap();
    let a_seed = a_keys.transport_seed().duplicate();
    let b_seed = b_keys.transport_seed().duplicate();
    let mut a = Replica::new(
        a_keys,
        a_log.clone(),
        Sessions::new(MemoryStorage::default()),
    )
    .unwrap();
    let mut b = Replica::new(
        b_keys,
        b_log.clone(),
        Sessions::new(MemoryStorage::default()),
    )
    .unwrap();
    a.update_log(b_log);
    b.update_log(a_log);
    let mut out = Vec::new();
    for (seed, replica) in [(a_seed, a), (b_seed, b)] {
        let endpoint = bind(&seed, &NetConfig::local()).await.unwrap();
        let node = SyncNode::new(endpoint.clone(), replica);
        let router = Router::builder(endpoint)
            .accept(SYNC_ALPN, SyncProtocol(node.clone()))
            .spawn();
        out.push(Device { node, router });
    }
    let b = out.pop().unwrap();
    let a = out.pop().unwrap();
    (a, b)
}

async fn texts(
    node: &SyncNode<MemoryStorage>,
    conversation: ConversationId,
) -> Vec<Option<String>> {
    node.with_replica(|r| {
        (
            r.messages(&conversation)
                .into_iter()
                .map(|(_, t)| t)
                .collect(),
            Vec::new(),
        )
    })
    .await
}

/// Waits (at most 10 s, polling every 20 ms) until `node` shows `count` messages.
async fn wait_for(
    node: &SyncNode<MemoryStorage>,
    conversation: ConversationId,
    count: usize,
) -> Vec<Option<String>> {
    for _ in 0..500 {
        let now = texts(node, conversation).await;
        if now.len() >= count {
            return now;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out waiting for {count} messages");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_devices_sync_over_loopback_iroh() {
    let (a, b) = devices().await;
    let bob_account = b.node.with_replica(|r| (r.account_id(), Vec::new())).await;
    let alice_account = a.node.with_replica(|r| (r.account_id(), Vec::new())).await;
    // Alice writes while not connected: the message waits.
    let conversation = a
        .node
        .with_replica(|r| {
            let c = r.open_direct(&bob_account).unwrap();
            let (_, out) = r.send_text(c, "hello over iroh", 1).unwrap();
            (c, out)
        })
        .await;
    b.node
        .with_replica(|r| (r.open_direct(&alice_account).unwrap(), Vec::new()))
        .await;
    // Alice connects: anti-entropy brings it to Bob.
    a.node.connect(b.node.endpoint().addr()).await.unwrap();
    assert_eq!(
        wait_for(&b.node, conversation, 1).await,
        vec![Some("hello over iroh".to_owned())]
    );
    // Bob answers; the push comes back on the same connection.
    b.node
        .with_replica(|r| {
            r.send_text(conversation, "hi Alice", 2)
                .map(|(_, o)| ((), o))
                .unwrap()
        })
        .await;
    let at_alice = wait_for(&a.node, conversation, 2).await;
    assert_eq!(at_alice[1].as_deref(), Some("hi Alice"));
    a.router.shutdown().await.unwrap();
    b.router.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_endpoint_gets_nothing_and_brings_nothing() {
    let (a, b) = devices().await;
    // Bob has a conversation with Alice.
    let alice_account = a.node.with_replica(|r| (r.account_id(), Vec::new())).await;
    let with_alice = b
        .node
        .with_replica(|r| {
            let c = r.open_direct(&alice_account).unwrap();
            let (_, out) = r.send_text(c, "for Alice only", 1).unwrap();
            (c, out)
        })
        .await;
    // A stranger knows Bob's log; Bob does not know the stranger.
    let stranger_keys = DeviceKeys::generate("stranger", 0).unwrap();
    let stranger_log = DeviceLog::create(&stranger_keys, "Mallory", 0).unwrap();
    let seed = stranger_keys.transport_seed().duplicate();
    let mut replica = Replica::new(
        stranger_keys,
        stranger_log,
        Sessions::new(MemoryStorage::default()),
    )
    .unwrap();
    let b_log = b
        .node
        .with_replica(|r| {
            let account = r.account_id();
            (r.device_log(&account).unwrap().clone(), Vec::new())
        })
        .await;
    let bob_account = b_log.account_id();
    replica.update_log(b_log);
    let endpoint = bind(&seed, &NetConfig::local()).await.unwrap();
    let stranger = SyncNode::new(endpoint, replica);
    let towards_bob = stranger
        .with_replica(|r| {
            let c = r.open_direct(&bob_account).unwrap();
            let (_, out) = r.send_text(c, "let me in", 2).unwrap();
            (c, out)
        })
        .await;
    stranger.connect(b.node.endpoint().addr()).await.unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Nothing crossed either way.
    assert!(
        b.node
            .with_replica(|r| (r.conversation(&towards_bob).is_none(), Vec::new()))
            .await
    );
    assert!(
        stranger
            .with_replica(|r| (r.conversation(&with_alice).is_none(), Vec::new()))
            .await
    );
    b.router.shutdown().await.unwrap();
    a.router.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_known_peer_sending_garbage_is_cut_off_and_the_node_keeps_serving() {
    let (a, b) = devices().await;
    let alice_account = a.node.with_replica(|r| (r.account_id(), Vec::new())).await;
    // A raw endpoint with Alice's key (so Bob sees a known device) that
    // sends junk instead of frames.
    let a_seed = a
        .node
        .with_replica(|r| (r.keys().transport_seed().duplicate(), Vec::new()))
        .await;
    let raw = bind(&a_seed, &NetConfig::local()).await.unwrap();
    let connection = raw
        .connect(b.node.endpoint().addr(), SYNC_ALPN)
        .await
        .unwrap();
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    // A length that claims 4 GiB, then bytes that decode as nothing.
    send.write_all(&u32::MAX.to_be_bytes()).await.unwrap();
    send.write_all(&[0xff; 64]).await.unwrap();
    let mut buf = vec![0u8; 1 << 16];
    let outcome = tokio::time::timeout(Duration::from_secs(10), async {
        // Bob may send its own frames first; then it closes the connection.
        while let Ok(Some(_)) = recv.read(&mut buf).await {}
    })
    .await;
    assert!(
        outcome.is_ok(),
        "an oversized frame did not close the connection"
    );
    // A malformed (not oversized) frame is cut off too.
    let connection = raw
        .connect(b.node.endpoint().addr(), SYNC_ALPN)
        .await
        .unwrap();
    let (mut send, _recv) = connection.open_bi().await.unwrap();
    send.write_all(&8u32.to_be_bytes()).await.unwrap();
    send.write_all(&[0x01, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee, 0xee])
        .await
        .unwrap();
    let closed = tokio::time::timeout(Duration::from_secs(10), connection.closed()).await;
    assert!(
        closed.is_ok(),
        "a malformed frame did not close the connection"
    );
    raw.close().await;
    // Bob lost nothing and still serves the real device.
    let conversation = b
        .node
        .with_replica(|r| {
            let c = r.open_direct(&alice_account).unwrap();
            let (_, out) = r.send_text(c, "still here", 1).unwrap();
            (c, out)
        })
        .await;
    a.node.connect(b.node.endpoint().addr()).await.unwrap();
    assert_eq!(
        wait_for(&a.node, conversation, 1).await,
        vec![Some("still here".to_owned())]
    );
    a.router.shutdown().await.unwrap();
    b.router.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wrong_link_secret_is_refused_with_a_reason() {
    struct Nobody;
    impl kith_net::LinkService for Nobody {
        async fn redeem(
            &self,
            _: kith_wire::TransportId,
            _: kith_wire::InviteSecret,
            _: Vec<kith_wire::SignedDeviceEntry>,
            _: Option<kith_wire::SignedAnnouncement>,
        ) -> Result<kith_net::LinkReply, String> {
            Err("unknown or already used invite".into())
        }
        async fn joined(
            &self,
            _: kith_wire::TransportId,
            _: Vec<kith_wire::SignedDeviceEntry>,
        ) -> Result<(), String> {
            Err("no".into())
        }
    }
    let keys = DeviceKeys::generate("listener", 0).unwrap();
    let endpoint = bind(keys.transport_seed(), &NetConfig::local())
        .await
        .unwrap();
    let router = Router::builder(endpoint.clone())
        .accept(
            kith_net::LINK_ALPN,
            kith_net::LinkProtocol(std::sync::Arc::new(Nobody)),
        )
        .spawn();
    let dialer_keys = DeviceKeys::generate("dialer", 0).unwrap();
    let dialer = bind(dialer_keys.transport_seed(), &NetConfig::local())
        .await
        .unwrap();
    let log = DeviceLog::create(&dialer_keys, "Dialer", 0).unwrap();
    let outcome = kith_net::dial_link(
        &dialer,
        endpoint.addr(),
        kith_wire::InviteSecret([7; 16]),
        log.entries().cloned().collect(),
        None,
    )
    .await;
    match outcome {
        Err(kith_net::NetError::Refused(reason)) => {
            assert_eq!(reason, "unknown or already used invite");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
    router.shutdown().await.unwrap();
}
