//! The node API in one process: two accounts on loopback, the event stream,
//! and errors with stable codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::time::Duration;

use kith_core::{NetConfig, Node, NodeEvent};
use kith_store::Protection;

mod inbox;

async fn node(dir: &std::path::Path, name: &str) -> Node {
    Node::create(
        dir,
        name,
        &format!("{name}-dev"),
        NetConfig::local(),
        Protection::KeyFile,
    )
    .await
    .unwrap()
}

/// Sets the passphrase "a long passphrase" on `host`'s profile: the app
/// lock is on and the profile still open as `me`.
async fn turn_app_lock_on(host: &kith_core::Host, me: &kith_core::Identity) {
    let status = host
        .set_passphrase(None, Some("a long passphrase".into()))
        .await
        .unwrap();
    assert!(status.app_lock && !status.locked);
    assert_eq!(status.identity.as_ref(), Some(me));
}

/// Alice and Bob, new accounts, online (not contacts yet).
async fn online_pair(root: &std::path::Path) -> (Node, Node) {
    let alice = node(&root.join("alice"), "Alice").await;
    let bob = node(&root.join("bob"), "Bob").await;
    alice.go_online().await.unwrap();
    bob.go_online().await.unwrap();
    (alice, bob)
}

/// `me` adds `them` from their invite.
async fn add_contact(me: &Node, them: &Node) {
    me.add_contact(&them.invite().await.unwrap(), None)
        .await
        .unwrap();
}

/// The next event matching `want`, within 20 s.
async fn next_event(
    events: &mut tokio::sync::broadcast::Receiver<NodeEvent>,
    want: impl Fn(&NodeEvent) -> bool,
) -> NodeEvent {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match events.recv().await {
                Ok(event) if want(&event) => return event,
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("event stream ended: {e}"),
            }
        }
    })
    .await
    .expect("no such event within 20 s")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_meet_by_invite_and_the_event_stream_reports_it_all() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let mut alice_events = alice.subscribe();
    let mut bob_events = bob.subscribe();
    let alice_id = alice.identity().await.account_id;
    let bob_id = bob.identity().await.account_id;
    assert!(!alice.identity().await.addresses.is_empty());

    let added = bob
        .add_contact(&alice.invite().await.unwrap(), None)
        .await
        .unwrap();
    assert_eq!(added.contact_id, alice_id);
    assert_eq!(added.state, "unvalidated");
    assert_eq!(added.devices.len(), 1, "the invite was redeemed at once");
    // Alice hears of Bob (the invite made it mutual).
    let event = next_event(&mut alice_events, |e| {
        matches!(e, NodeEvent::TrustChanged { .. })
    })
    .await;
    assert_eq!(
        event,
        NodeEvent::TrustChanged {
            contact_id: bob_id.clone(),
            state: "unvalidated".into()
        }
    );

    let sent = alice.send(&bob_id, "hello Bob", false).await.unwrap();
    let event = next_event(&mut bob_events, |e| {
        matches!(e, NodeEvent::MessageReceived { .. })
    })
    .await;
    assert_eq!(
        event,
        NodeEvent::MessageReceived {
            conversation_id: sent.conversation_id.clone(),
            message_id: sent.message_id.clone(),
            author_account: alice_id.clone(),
        }
    );
    // Bob's device confirms; Alice sees the delivery.
    let event = next_event(&mut alice_events, |e| {
        matches!(e, NodeEvent::Delivered { .. })
    })
    .await;
    let NodeEvent::Delivered { message_ids, .. } = event else {
        unreachable!()
    };
    assert!(message_ids.contains(&sent.message_id));
    let messages = alice.messages(&bob_id).await.unwrap();
    assert_eq!(messages[0].text.as_deref(), Some("hello Bob"));
    assert!(messages[0].delivery.values().all(|d| *d == "delivered"));

    // Validation by scanning the other side's code: both directions at once.
    let bob_code = bob.safety_code(&alice_id).await.unwrap();
    let alice_code = alice.safety_code(&bob_id).await.unwrap();
    assert_ne!(bob_code, alice_code);
    // My own code, or no code at all, validates nothing and changes nothing.
    assert_eq!(
        alice
            .validate_code(&bob_id, &alice_code)
            .await
            .unwrap_err()
            .code,
        "safety_number_mismatch"
    );
    assert_eq!(
        alice
            .validate_code(&bob_id, "kith:AEAC")
            .await
            .unwrap_err()
            .code,
        "invalid_input"
    );
    assert_eq!(alice.contacts().await[0].state, "unvalidated");
    let view = alice.validate_code(&bob_id, &bob_code).await.unwrap();
    assert_eq!(view.state, "validated");
    let view = bob.validate_code(&alice_id, &alice_code).await.unwrap();
    assert_eq!(view.state, "validated");

    // Trust changes are events too, and errors carry stable codes.
    alice.compromise("Bob").await.unwrap();
    let event = next_event(
        &mut alice_events,
        |e| matches!(e, NodeEvent::TrustChanged { state, .. } if state == "compromised"),
    )
    .await;
    assert!(matches!(event, NodeEvent::TrustChanged { .. }));
    assert_eq!(
        alice.send("Bob", "hi", false).await.unwrap_err().code,
        "contact_compromised"
    );
    assert_eq!(
        alice.send("Carol", "hi", false).await.unwrap_err().code,
        "unknown_contact"
    );
    assert_eq!(
        alice.add_contact("kith:AAAA", None).await.unwrap_err().code,
        "bad_uri"
    );
    assert_eq!(
        alice.link_accept("not a link").await.unwrap_err().code,
        "bad_uri"
    );
    // Name lookup failures are clear and add nothing.
    let quick = kith_identity::lookup::LookupConfig {
        timeout: Duration::from_secs(2),
        roots: None,
    };
    for name in ["no-at-sign", "bob@127.0.0.1:1"] {
        let err = alice
            .add_contact_by_name_with(name, None, quick.clone())
            .await
            .unwrap_err();
        assert_eq!(err.code, "lookup_failed", "{name}: {err:?}");
    }
    assert_eq!(alice.contacts().await.len(), 1);
    assert_eq!(alice.contacts().await[0].note, "marked by the user");

    alice.shutdown().await;
    bob.shutdown().await;
    // Everything is still there after a restart.
    drop((alice, bob));
    let alice = Node::open(&root.path().join("alice"), NetConfig::local())
        .await
        .unwrap();
    assert_eq!(alice.contacts().await[0].state, "compromised");
    assert_eq!(alice.messages(&bob_id).await.unwrap().len(), 1);
    // Pages: the newest `limit`, and how many are older.
    let page = alice.latest_messages(&bob_id, 0).await.unwrap();
    assert!(page.messages.is_empty());
    assert_eq!(page.earlier, 1);
    let page = alice.latest_messages(&bob_id, 5).await.unwrap();
    assert_eq!(page.messages, alice.messages(&bob_id).await.unwrap());
    assert_eq!(page.earlier, 0);
    alice.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_host_opens_on_demand_and_keeps_network_settings() {
    let root = tempfile::tempdir().unwrap();
    let host = kith_core::Host::new(root.path(), NetConfig::local(), true);
    let status = host.status().await.unwrap();
    assert!(!status.has_profile);
    assert_eq!(host.node().await.unwrap_err().code, "no_profile");
    assert_eq!(
        host.network_settings(),
        kith_core::NetworkSettings::default()
    );
    let bad = kith_core::NetworkSettings {
        relay: "relay.example.org".into(),
        ..Default::default()
    };
    assert_eq!(
        host.set_network_settings(bad).await.unwrap_err().code,
        "invalid_input"
    );
    let own = kith_core::NetworkSettings {
        lan_discovery: false,
        dht: false,
        relay: "https://relay.example.org".into(),
    };
    host.set_network_settings(own.clone()).await.unwrap();
    assert_eq!(host.network_settings(), own);
    // Creating the account opens the node; the settings survive a restart.
    let me = host.create("Alice", "laptop").await.unwrap();
    assert_eq!(host.status().await.unwrap().identity.unwrap(), me);
    host.set_network_settings(own.clone()).await.unwrap();
    assert_eq!(
        host.node().await.unwrap().identity().await.account_id,
        me.account_id
    );
    host.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_lock_keeps_the_profile_shut_until_the_passphrase_is_given() {
    let root = tempfile::tempdir().unwrap();
    let host = kith_core::Host::new(root.path(), NetConfig::local(), true);
    let me = host.create("Alice", "laptop").await.unwrap();
    let status = host.status().await.unwrap();
    assert!(!status.app_lock && !status.locked);
    // Locking without a passphrase would lock nothing.
    assert_eq!(host.lock().await.unwrap_err().code, "invalid_input");
    assert_eq!(
        host.set_passphrase(None, None).await.unwrap_err().code,
        "invalid_input"
    );
    assert_eq!(
        host.set_passphrase(None, Some("short".into()))
            .await
            .unwrap_err()
            .code,
        "invalid_input"
    );
    turn_app_lock_on(&host, &me).await;

    // Locked: the node is closed and nothing opens it without the passphrase.
    host.lock().await.unwrap();
    let status = host.status().await.unwrap();
    assert!(status.has_profile && status.locked && status.identity.is_none());
    assert_eq!(host.node().await.unwrap_err().code, "locked");
    assert_eq!(
        host.unlock("a wrong passphrase".into())
            .await
            .unwrap_err()
            .code,
        "wrong_passphrase"
    );
    let again = host.unlock("a long passphrase".into()).await.unwrap();
    assert_eq!(
        (again.account_id, again.device_id),
        (me.account_id.clone(), me.device_id.clone())
    );
    assert!(!host.status().await.unwrap().locked);
    host.shutdown().await;

    // A restarted app asks too.
    let host = kith_core::Host::new(root.path(), NetConfig::local(), true);
    assert!(host.status().await.unwrap().locked);
    host.unlock("a long passphrase".into()).await.unwrap();
    // Changing or removing it needs the current one.
    assert_eq!(
        host.set_passphrase(Some("not it at all".into()), None)
            .await
            .unwrap_err()
            .code,
        "wrong_passphrase"
    );
    let status = host
        .set_passphrase(Some("a long passphrase".into()), None)
        .await
        .unwrap();
    assert!(!status.app_lock && !status.locked);
    host.shutdown().await;
    let host = kith_core::Host::new(root.path(), NetConfig::local(), true);
    let again = host.status().await.unwrap().identity.unwrap();
    assert_eq!(again.device_id, me.device_id);
    host.shutdown().await;
}

/// Many dialers race with one invite's secret: exactly one gets in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invite_is_used_once_even_when_dialers_race() {
    use kith_net::LinkService;
    let root = tempfile::tempdir().unwrap();
    let alice = node(&root.path().join("alice"), "Alice").await;
    for round in 0..10 {
        let invite = kith_identity::invite::parse_uri(&alice.invite().await.unwrap(), 0).unwrap();
        let dialers: Vec<_> = (0..6)
            .map(|i| {
                let keys =
                    kith_identity::DeviceKeys::generate(&format!("dialer-{round}-{i}"), 1).unwrap();
                let log = kith_identity::DeviceLog::create(&keys, "Dialer", 1).unwrap();
                (
                    keys.transport_id(),
                    log.entries().cloned().collect::<Vec<_>>(),
                )
            })
            .collect();
        // All dialers start together.
        let start = std::sync::Arc::new(tokio::sync::Barrier::new(dialers.len()));
        let mut racers = tokio::task::JoinSet::new();
        for (transport, entries) in dialers {
            let alice = alice.clone();
            let secret = invite.secret;
            let start = start.clone();
            racers.spawn(async move {
                start.wait().await;
                LinkService::redeem(&alice, transport, secret, entries, None)
                    .await
                    .is_ok()
            });
        }
        let won = racers.join_all().await.into_iter().filter(|ok| *ok).count();
        assert_eq!(won, 1, "round {round}: {won} dialers redeemed one invite");
    }
    alice.shutdown().await;
}

/// The sealed bytes of a stored entry, read with the node closed.
fn sealed_entry(dir: &std::path::Path, conversation: &str, message: &str) -> Vec<u8> {
    let hex32 = |s: &str| <[u8; 32]>::try_from(kith_wire::hex_decode(s).unwrap()).unwrap();
    let store = kith_store::Store::open(dir, kith_store::Unlock::KeyFile).unwrap();
    store
        .sealed_entry(
            &kith_wire::ConversationId(hex32(conversation)),
            &kith_wire::EntryHash(hex32(message)),
        )
        .unwrap()
        .unwrap()
}

/// Waits (at most 20 s) until `done`.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !done() {
        assert!(std::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Deleting a message or a conversation removes its sealed body from the
/// database file itself, soon, while the node keeps running (a daemon or
/// the app may run for weeks), not only from what the node shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deleted_messages_leave_the_database_file() {
    let root = tempfile::tempdir().unwrap();
    let (alice_dir, bob_dir) = (root.path().join("alice"), root.path().join("bob"));
    let alice = node(&alice_dir, "Alice").await;
    let bob = node(&bob_dir, "Bob").await;
    alice.go_online().await.unwrap();
    bob.go_online().await.unwrap();
    add_contact(&bob, &alice).await;
    let bob_id = bob.identity().await.account_id;
    bob.shutdown().await;
    drop(bob);
    let doomed = alice.send(&bob_id, "delete me", false).await.unwrap();
    let kept = alice.send(&bob_id, "keep me", false).await.unwrap();
    alice.shutdown().await;
    drop(alice);
    let middle = |sealed: Vec<u8>| sealed[sealed.len() / 2..sealed.len() / 2 + 64].to_vec();
    let doomed_bytes = middle(sealed_entry(
        &alice_dir,
        &doomed.conversation_id,
        &doomed.message_id,
    ));
    let kept_bytes = middle(sealed_entry(
        &alice_dir,
        &kept.conversation_id,
        &kept.message_id,
    ));
    let file_has = |window: &[u8]| {
        let file = std::fs::read(alice_dir.join(kith_store::DATABASE_FILE)).unwrap();
        file.windows(window.len()).any(|w| w == window)
    };
    assert!(
        file_has(&doomed_bytes),
        "the test looks for the wrong bytes"
    );

    let alice = Node::open(&alice_dir, NetConfig::local()).await.unwrap();
    alice.delete(&doomed.message_id).await.unwrap();
    eventually("the deleted body to leave the file", || {
        !file_has(&doomed_bytes)
    })
    .await;
    assert!(file_has(&kept_bytes), "a kept message went too");
    // A whole conversation likewise.
    alice.delete_conversation(&bob_id).await.unwrap();
    eventually("the deleted conversation to leave the file", || {
        !file_has(&kept_bytes)
    })
    .await;
    alice.shutdown().await;
}

/// The database of `dir` opened with another key file (a backup of the
/// old one, a disk block it left): can it read the profile?
fn opens_with(dir: &std::path::Path, key_file: &[u8], unlock: kith_store::Unlock) -> bool {
    let copy = tempfile::tempdir().unwrap();
    std::fs::copy(
        dir.join(kith_store::DATABASE_FILE),
        copy.path().join(kith_store::DATABASE_FILE),
    )
    .unwrap();
    std::fs::write(copy.path().join(kith_store::KEY_FILE), key_file).unwrap();
    kith_store::Store::open(copy.path(), unlock)
        .and_then(|store| store.profile_get("keys"))
        .is_ok_and(|keys| keys.is_some())
}

/// Setting or changing a passphrase gives the profile a new root key: the
/// key file kept before (in a backup, in freed disk blocks) opens nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_passphrase_re_keys_the_profile_so_older_key_files_open_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("alice");
    let host = kith_core::Host::new(&dir, NetConfig::local(), true);
    let me = host.create("Alice", "laptop").await.unwrap();
    let plain_key = std::fs::read(dir.join(kith_store::KEY_FILE)).unwrap();
    assert!(opens_with(&dir, &plain_key, kith_store::Unlock::KeyFile));

    turn_app_lock_on(&host, &me).await;
    assert!(
        !opens_with(&dir, &plain_key, kith_store::Unlock::KeyFile),
        "the key file from before the passphrase still opens the database"
    );
    let wrapped = std::fs::read(dir.join(kith_store::KEY_FILE)).unwrap();
    let pass = |p: &str| kith_store::Unlock::Passphrase(kith_crypto::SecretVec::from_vec(p.into()));
    assert!(opens_with(&dir, &wrapped, pass("a long passphrase")));

    host.set_passphrase(
        Some("a long passphrase".into()),
        Some("another long passphrase".into()),
    )
    .await
    .unwrap();
    assert!(
        !opens_with(&dir, &wrapped, pass("a long passphrase")),
        "the old passphrase's key file still opens the database"
    );
    host.shutdown().await;
    let host = kith_core::Host::new(&dir, NetConfig::local(), true);
    let again = host.unlock("another long passphrase".into()).await.unwrap();
    assert_eq!(again.device_id, me.device_id);
    host.shutdown().await;
}

/// An online node replaces a signed prekey older than a week, publishes
/// the new one in its device log, and erases replaced prekeys whose grace
/// has run out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_prekey_is_rotated_published_and_erased_after_its_grace() {
    use kith_identity::{DeviceKeys, DeviceLog};
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("alice");
    let alice = node(&dir, "Alice").await;
    let me = alice.identity().await;
    alice.shutdown().await;
    drop(alice);
    // Make the current prekey look a month old (the one published at
    // creation is then replaced, its grace long over).
    let read_keys = || {
        let store = kith_store::Store::open(&dir, kith_store::Unlock::KeyFile).unwrap();
        DeviceKeys::import(store.profile_get("keys").unwrap().unwrap().expose()).unwrap()
    };
    let mut keys = read_keys();
    let first = keys.prekey_ids()[0];
    keys.rotate_prekey(1).unwrap();
    let aged = keys.current_prekey().unwrap().public().id;
    {
        let mut store = kith_store::Store::open(&dir, kith_store::Unlock::KeyFile).unwrap();
        store
            .profile_write(&[("keys", Some(keys.export().unwrap().expose()))])
            .unwrap();
    }
    drop(keys);
    let alice = Node::open(&dir, NetConfig::local()).await.unwrap();
    let mut events = alice.subscribe();
    alice.go_online().await.unwrap();
    // The keeper runs at once when the node goes online; publishing the
    // new prekey changes this account's device log.
    next_event(
        &mut events,
        |e| matches!(e, NodeEvent::DevicesChanged { account_id } if *account_id == me.account_id),
    )
    .await;
    alice.shutdown().await;
    drop(alice);
    let keys = read_keys();
    let current = keys.current_prekey().unwrap().public().clone();
    assert!(current.id > aged, "no rotation");
    assert!(
        keys.prekey(first).is_none(),
        "a prekey past its grace is still held"
    );
    assert!(
        keys.prekey(aged).is_some(),
        "the replaced prekey went before its grace"
    );
    let store = kith_store::Store::open(&dir, kith_store::Unlock::KeyFile).unwrap();
    let account = me.account_id.clone();
    let bytes = store
        .profile_get(&format!("log/{account}"))
        .unwrap()
        .unwrap();
    let entries: Vec<kith_wire::SignedDeviceEntry> =
        kith_wire::decode(bytes.expose(), 1 << 24).unwrap();
    let log = DeviceLog::from_entries(entries).unwrap();
    let device = kith_wire::DeviceId(
        <[u8; 32]>::try_from(kith_wire::hex_decode(&me.device_id).unwrap()).unwrap(),
    );
    assert_eq!(
        log.state().devices[&device].prekey,
        current,
        "not published"
    );
}

/// A validated contact that gains a device says so (until I compare safety
/// numbers again or acknowledge it), as Signal shows a safety-number change.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_validated_contact_s_new_device_is_shown_until_acknowledged() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let bob_id = bob.identity().await.account_id;
    add_contact(&alice, &bob).await;
    let digits = bob
        .safety_number(&alice.identity().await.account_id)
        .await
        .unwrap();
    let validated = alice.validate(&bob_id, &digits).await.unwrap();
    assert_eq!(validated.state, "validated");
    assert!(validated.new_devices.is_empty());
    // Bob links a tablet.
    let (tablet, tablet_node) = link_tablet(&bob, &root.path().join("bob-tablet")).await;
    // Alice hears of it, and her contact view of Bob says so.
    eventually_async(&alice, &bob_id, |c| {
        c.new_devices == [tablet.device_id.clone()]
    })
    .await;
    let seen = alice.acknowledge_devices(&bob_id).await.unwrap();
    assert!(seen.new_devices.is_empty());
    assert_eq!(seen.state, "validated");
    tablet_node.shutdown().await;
    alice.shutdown().await;
    bob.shutdown().await;
}

/// Waits (at most 20 s) until `contact`'s view on `node` satisfies `done`.
async fn eventually_async(
    node: &Node,
    contact: &str,
    done: impl Fn(&kith_core::ContactView) -> bool,
) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let view = node
            .contacts()
            .await
            .into_iter()
            .find(|c| c.contact_id == contact)
            .unwrap();
        if done(&view) {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "timed out: {view:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Links a new device ("tablet", its profile in `dir`) to `node`'s account.
async fn link_tablet(node: &Node, dir: &std::path::Path) -> (kith_core::DeviceView, Node) {
    let (tx, rx) = tokio::sync::oneshot::channel();
    let dir = dir.to_path_buf();
    let linking = tokio::spawn(async move {
        kith_core::request_link(
            &dir,
            "tablet",
            NetConfig::local(),
            Duration::from_secs(30),
            move |uri| {
                let _ = tx.send(uri);
            },
        )
        .await
    });
    let view = node.link_accept(&rx.await.unwrap()).await.unwrap();
    (view, linking.await.unwrap().unwrap())
}

/// Copies a profile folder (a backup of it while it is closed).
fn copy_profile(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// Alice's device is restored from a backup made before it linked a
/// tablet, and meets Bob, who knows of the tablet: Bob marks Alice
/// compromised (her device presents an older device log than it sent),
/// with the reason, and that outlives a restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contact_restored_from_an_old_backup_is_marked_compromised() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let alice_id = alice.identity().await.account_id;
    add_contact(&alice, &bob).await;
    eventually_async(&bob, &alice_id, |c| c.devices.len() == 1).await;
    let alice_dir = root.path().join("alice");
    let backup = root.path().join("alice-backup");
    alice.shutdown().await;
    drop(alice);
    copy_profile(&alice_dir, &backup);
    let alice = Node::open(&alice_dir, NetConfig::local()).await.unwrap();
    alice.go_online().await.unwrap();
    // Alice links a tablet; Bob hears of it.
    let (_, tablet) = link_tablet(&alice, &root.path().join("alice-tablet")).await;
    eventually_async(&bob, &alice_id, |c| c.devices.len() == 2).await;
    assert_ne!(
        bob.contacts().await[0].state,
        "compromised",
        "compromised before any rollback"
    );
    tablet.shutdown().await;
    alice.shutdown().await;
    drop(alice);
    // The backup comes back, and goes online.
    std::fs::remove_dir_all(&alice_dir).unwrap();
    copy_profile(&backup, &alice_dir);
    let alice = Node::open(&alice_dir, NetConfig::local()).await.unwrap();
    alice.go_online().await.unwrap();
    eventually_async(&bob, &alice_id, |c| c.state == "compromised").await;
    let view = bob.contacts().await.remove(0);
    assert!(view.note.contains("older device log"), "{view:?}");
    alice.shutdown().await;
    let bob_dir = root.path().join("bob");
    bob.shutdown().await;
    drop(bob);
    let bob = Node::open(&bob_dir, NetConfig::local()).await.unwrap();
    assert_eq!(bob.contacts().await[0].state, "compromised");
    bob.shutdown().await;
}

/// When `shutdown` returns and the caller drops its node, the profile is
/// closed: even with engine events still being handled (messages just
/// arrived), the database opens again at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_closed_node_releases_its_profile_at_once() {
    let root = tempfile::tempdir().unwrap();
    let (alice, mut bob) = online_pair(root.path()).await;
    let bob_dir = root.path().join("bob");
    add_contact(&bob, &alice).await;
    let bob_id = bob.identity().await.account_id;
    for round in 0..10 {
        let mut events = bob.subscribe();
        for i in 0..5 {
            alice
                .send(&bob_id, &format!("{round}.{i}"), false)
                .await
                .unwrap();
        }
        next_event(&mut events, |e| {
            matches!(e, NodeEvent::MessageReceived { .. })
        })
        .await;
        bob.shutdown().await;
        drop(bob);
        let opened = kith_store::Store::open(&bob_dir, kith_store::Unlock::KeyFile);
        assert!(opened.is_ok(), "round {round}: {:?}", opened.err());
        drop(opened);
        bob = Node::open(&bob_dir, NetConfig::local()).await.unwrap();
        bob.go_online().await.unwrap();
    }
    bob.shutdown().await;
    alice.shutdown().await;
}
