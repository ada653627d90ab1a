//! The conversation list, read markers and mutes across my devices,
//! replies and search.

use std::time::Duration;

use kith_core::{ConversationView, Node};

use super::{add_contact, link_tablet, online_pair};

/// The account ids of two nodes.
async fn ids(a: &Node, b: &Node) -> (String, String) {
    (a.identity().await.account_id, b.identity().await.account_id)
}

/// Waits (at most 20 s) until `node`'s conversation with `contact`
/// satisfies `done`.
async fn conversation_until(
    node: &Node,
    contact: &str,
    done: impl Fn(&ConversationView) -> bool,
) -> ConversationView {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let found = node
            .conversations()
            .await
            .into_iter()
            .find(|c| c.contact.as_ref().is_some_and(|c| c.contact_id == contact));
        if let Some(view) = found.filter(&done) {
            return view;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out: {:?}",
            node.conversations().await
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reading_on_one_of_my_devices_clears_the_unread_count_on_all_of_them() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let (alice_id, bob_id) = ids(&alice, &bob).await;
    let (_, tablet) = link_tablet(&alice, &root.path().join("alice-tablet")).await;
    tablet.go_online().await.unwrap();
    add_contact(&alice, &bob).await;
    // A conversation without messages is listed, with nothing unread.
    let empty = conversation_until(&alice, &bob_id, |_| true).await;
    assert_eq!((empty.unread, empty.last.is_none()), (0, true));

    bob.send(&alice_id, "one", false).await.unwrap();
    bob.send(&alice_id, "two 👋", false).await.unwrap();
    for device in [&alice, &tablet] {
        let view = conversation_until(device, &bob_id, |c| c.unread == 2).await;
        let last = view.last.unwrap();
        assert_eq!((last.text.as_deref(), last.mine), (Some("two 👋"), false));
    }
    // My own message is never unread, and is the preview now.
    alice.send(&bob_id, "three", false).await.unwrap();
    let view = conversation_until(&alice, &bob_id, |c| c.unread == 2).await;
    assert!(view.last.as_ref().unwrap().mine);

    // Read on the laptop: the tablet's count clears too.
    alice.mark_read(&bob_id).await.unwrap();
    conversation_until(&alice, &bob_id, |c| c.unread == 0).await;
    conversation_until(&tablet, &bob_id, |c| c.unread == 0).await;
    // A new message from Bob is unread again, on both.
    bob.send(&alice_id, "four", false).await.unwrap();
    conversation_until(&tablet, &bob_id, |c| c.unread == 1).await;
    conversation_until(&alice, &bob_id, |c| c.unread == 1).await;

    // Read on the tablet: the laptop hears of it (the app refreshes its list).
    let mut laptop_events = alice.subscribe();
    tablet.mark_read(&bob_id).await.unwrap();
    super::next_event(&mut laptop_events, |e| {
        matches!(e, kith_core::NodeEvent::ConversationChanged { .. })
    })
    .await;
    conversation_until(&alice, &bob_id, |c| c.unread == 0).await;

    // Muted on the tablet: muted on the laptop.
    tablet.set_muted(&bob_id, true).await.unwrap();
    conversation_until(&alice, &bob_id, |c| c.muted).await;
    alice.set_muted(&bob_id, false).await.unwrap();
    conversation_until(&tablet, &bob_id, |c| !c.muted).await;
    tablet.shutdown().await;
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_list_puts_the_latest_activity_first() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let carol = super::node(&root.path().join("carol"), "Carol").await;
    carol.go_online().await.unwrap();
    add_contact(&alice, &bob).await;
    add_contact(&alice, &carol).await;
    let (bob_id, carol_id) = ids(&bob, &carol).await;
    let order = |list: Vec<ConversationView>| -> Vec<String> {
        list.into_iter()
            .filter_map(|c| c.contact.map(|c| c.contact_id))
            .collect()
    };
    alice.send(&bob_id, "to Bob", false).await.unwrap();
    assert_eq!(
        order(alice.conversations().await),
        [bob_id.clone(), carol_id.clone()]
    );
    tokio::time::sleep(Duration::from_millis(5)).await;
    alice.send(&carol_id, "to Carol", false).await.unwrap();
    assert_eq!(order(alice.conversations().await), [carol_id, bob_id]);
    carol.shutdown().await;
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_quotes_its_message_and_search_finds_any_script() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let (alice_id, bob_id) = ids(&alice, &bob).await;
    add_contact(&alice, &bob).await;
    let asked = alice
        .send(&bob_id, "Wie geht's? Ünïcödé 日本語のテキスト", false)
        .await
        .unwrap();
    alice
        .send(&bob_id, "and something else", false)
        .await
        .unwrap();
    // Bob answers the first one once it is there.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while bob.messages(&alice_id).await.unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "Alice's messages did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let reply = bob
        .send_reply(&alice_id, "Gut, danke 🙂", Some(&asked.message_id), false)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    let answer = loop {
        let messages = alice.messages(&bob_id).await.unwrap();
        if let Some(m) = messages
            .into_iter()
            .find(|m| m.message_id == reply.message_id)
        {
            break m;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the reply did not arrive"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let quote = answer.reply_to.unwrap();
    assert_eq!(quote.message_id, asked.message_id);
    assert_eq!(quote.author_account.as_deref(), Some(alice_id.as_str()));
    assert_eq!(
        quote.text.as_deref(),
        Some("Wie geht's? Ünïcödé 日本語のテキスト")
    );

    // A reply to a message that is not in the conversation is refused.
    let wrong = bob
        .send_reply(&alice_id, "?", Some(&"ab".repeat(32)), false)
        .await
        .unwrap_err();
    assert_eq!(wrong.code, "unknown_message");

    // Search ignores case in any script, finds every conversation's
    // messages, newest first, and says where the message is.
    let hits = alice.search("ÜNÏCÖDÉ", 10).await.unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0].message_id, asked.message_id);
    assert_eq!(hits[0].contact_id.as_deref(), Some(bob_id.as_str()));
    assert_eq!(hits[0].from_end, 2, "two messages came after it");
    assert!(hits[0].mine);
    let japanese = alice.search("テキスト", 10).await.unwrap();
    assert_eq!(japanese.len(), 1);
    let emoji = alice.search("🙂", 10).await.unwrap();
    assert_eq!(emoji.len(), 1);
    assert!(!emoji[0].mine);
    assert!(
        alice
            .search("nowhere to be found", 10)
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        alice.search("  ", 10).await.unwrap_err().code,
        "invalid_input"
    );
    // A deleted message is no longer found.
    alice.delete(&asked.message_id).await.unwrap();
    assert!(alice.search("テキスト", 10).await.unwrap().is_empty());
    let quote = alice
        .messages(&bob_id)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.message_id == reply.message_id)
        .unwrap()
        .reply_to
        .unwrap();
    assert_eq!(quote.text, None, "the quoted message was deleted");
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_devices_say_when_they_were_last_seen_and_contacts_name_theirs() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    add_contact(&alice, &bob).await;
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let devices = alice.devices().await;
    let this = devices.iter().find(|d| d.this_device).unwrap();
    let seen = this
        .last_seen_ms
        .expect("an online device announced itself");
    assert!(seen <= before && before - seen < 600_000);
    // And when it joined the account (its genesis entry: made just now).
    let linked = this.linked_at_ms.expect("the device log says when");
    assert!(linked <= before && before - linked < 600_000);
    let bob_view = alice.contacts().await.pop().unwrap();
    assert_eq!(
        bob_view.device_names.values().collect::<Vec<_>>(),
        ["Bob-dev"]
    );
    alice.shutdown().await;
    bob.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_device_linked_after_reading_clears_what_arrives_later() {
    let root = tempfile::tempdir().unwrap();
    let (alice, bob) = online_pair(root.path()).await;
    let (alice_id, bob_id) = ids(&alice, &bob).await;
    add_contact(&alice, &bob).await;
    bob.send(&alice_id, "one", false).await.unwrap();
    conversation_until(&alice, &bob_id, |c| c.unread == 1).await;
    alice.mark_read(&bob_id).await.unwrap();
    alice.send(&bob_id, "two", false).await.unwrap();
    let (_, tablet) = link_tablet(&alice, &root.path().join("alice-tablet")).await;
    tablet.go_online().await.unwrap();
    conversation_until(&tablet, &bob_id, |c| c.unread == 0).await;
    bob.send(&alice_id, "three", false).await.unwrap();
    conversation_until(&tablet, &bob_id, |c| c.unread == 1).await;
    conversation_until(&alice, &bob_id, |c| c.unread == 1).await;
    tablet.mark_read(&bob_id).await.unwrap();
    conversation_until(&alice, &bob_id, |c| c.unread == 0).await;
    tablet.shutdown().await;
    alice.shutdown().await;
    bob.shutdown().await;
}
