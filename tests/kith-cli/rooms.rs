//! `kith room …` over real processes: a room made by one person, joined by
//! strangers through its link (one with a daemon, one without), posts
//! read with their authors' names, a ban, and bad links refused.

use crate::groups::{account_of, role_in};
use crate::{Device, befriend, wait};

fn members_of(d: &Device, name: &str) -> usize {
    d.run(&["group", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .map_or(0, |g| g["members"].as_array().unwrap().len())
}

#[test]
fn strangers_join_a_room_by_its_link_post_and_get_banned() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Device::new(root.path(), "a", 47511);
    let mut b = Device::new(root.path(), "b", 47512);
    let c = Device::new(root.path(), "c", 47513);
    a.init("Alice");
    b.init("Bob");
    c.init("Carol");
    a.start();
    b.start();

    let created = a.run(&["room", "create", "Town square"]);
    assert_eq!(created["name"], "Town square");
    let room_id = created["group_id"].as_str().unwrap().to_owned();
    let uri = created["uri"].as_str().unwrap().to_owned();
    assert!(uri.starts_with("kith-room:"), "{uri}");
    let again = a.run(&["room", "invite", "Town square"]);
    assert!(again["uri"].as_str().unwrap().starts_with("kith-room:"));
    let listed = a.run(&["group", "list"]);
    assert_eq!(listed[0]["kind"], "room");
    assert_eq!(listed[0]["role"], "admin");

    // Links of another kind, or no link, are refused with a reason.
    assert_eq!(b.fails(&["room", "join", &a.invite()]), "bad_uri");
    assert_eq!(b.fails(&["room", "join", "kith-room:NOTALINK"]), "bad_uri");
    assert_eq!(b.fails(&["contact", "add", &uri]), "bad_uri");

    // Bob, a stranger to Alice, joins through the daemon.
    let joined = b.run(&["room", "join", &uri]);
    assert_eq!(
        joined,
        serde_json::json!({"group_id": room_id, "name": "Town square"})
    );
    assert_eq!(role_in(&b, "Town square").as_deref(), Some("member"));
    wait("Alice to see Bob join", || {
        members_of(&a, "Town square") == 2
    });
    // Joining again changes nothing.
    assert_eq!(b.run(&["room", "join", &uri])["group_id"], room_id.as_str());

    b.run(&["send", "Town square", "hello, room"]);
    a.wait_texts("Town square", &["hello, room"]);
    let seen = a.run(&["messages", "Town square"]);
    assert_eq!(seen[0]["author_name"], "Bob");
    a.run(&["send", "Town square", "welcome, Bob"]);
    b.wait_texts("Town square", &["hello, room", "welcome, Bob"]);
    // Neither became the other's contact, nor has a direct conversation.
    for d in [&a, &b] {
        assert_eq!(d.run(&["contact", "list"]), serde_json::json!([]));
        let list = d.run(&["conversations"]);
        assert!(
            list.as_array()
                .unwrap()
                .iter()
                .all(|c| c["kind"] != "direct")
        );
    }

    // Carol joins without a daemon: the command goes online by itself.
    let joined = c.run(&["room", "join", &uri]);
    assert_eq!(joined["group_id"], room_id.as_str());
    wait("Alice to see Carol join", || {
        members_of(&a, "Town square") == 3
    });
    // Room posts are sealed under the link's key: Carol, who came last,
    // reads what was written before she came.
    c.wait_texts("Town square", &["hello, room", "welcome, Bob"]);
    // People come into a room by its link, not by an admin's add.
    befriend(&a, &c);
    assert_eq!(
        a.fails(&["group", "add", "Town square", "Carol"]),
        "invalid_input"
    );

    // Bob posts spam; a member may not remove it, the admin does, for
    // everyone.
    let spam = b.run(&["send", "Town square", "buy now"]);
    let spam_id = spam["message_id"].as_str().unwrap().to_owned();
    a.wait_texts("Town square", &["hello, room", "welcome, Bob", "buy now"]);
    assert_eq!(
        b.fails(&["room", "remove-post", "Town square", &spam_id]),
        "not_allowed"
    );
    assert_eq!(
        a.fails(&["room", "remove-post", "Town square", "0000000000"]),
        "unknown_message"
    );
    let removed = a.run(&["room", "remove-post", "Town square", &spam_id[..12]]);
    assert_eq!(
        removed,
        serde_json::json!({"group_id": room_id, "message_id": spam_id, "removed": true})
    );
    assert_eq!(a.texts("Town square"), ["hello, room", "welcome, Bob"]);
    b.wait_texts("Town square", &["hello, room", "welcome, Bob"]);

    // The admin makes it an announcement room, then opens it again with a
    // slow mode; a member may not change that.
    assert_eq!(
        b.fails(&[
            "room",
            "set-policy",
            "Town square",
            "--posting",
            "moderators"
        ]),
        "not_allowed"
    );
    assert_eq!(
        a.fails(&["room", "set-policy", "Town square", "--posting", "nobody"]),
        "invalid_input"
    );
    let policy = a.run(&[
        "room",
        "set-policy",
        "Town square",
        "--posting",
        "moderators",
    ]);
    assert_eq!(policy["posting"], "moderators");
    wait("Bob to learn the room's policy", || {
        b.run(&["group", "list"])[0]["posting"] == "moderators"
    });
    assert_eq!(b.fails(&["send", "Town square", "may I?"]), "not_allowed");
    let policy = a.run(&["room", "set-policy", "Town square", "--slow-mode", "3600"]);
    assert_eq!(
        (&policy["posting"], &policy["slow_mode_secs"]),
        (&"everyone".into(), &3600.into())
    );
    wait("Bob to learn the slow mode", || {
        b.run(&["group", "list"])[0]["slow_mode_secs"] == 3600
    });
    // Bob posted minutes ago: not again within the hour. Admins and
    // moderators are not slowed.
    assert_eq!(b.fails(&["send", "Town square", "again"]), "not_allowed");
    a.run(&["send", "Town square", "rules: one post an hour"]);
    a.run(&["send", "Town square", "thanks"]);
    b.wait_texts(
        "Town square",
        &[
            "hello, room",
            "welcome, Bob",
            "rules: one post an hour",
            "thanks",
        ],
    );

    // A member may not ban; the admin bans Bob, who can post no more.
    let (alice, bob) = (account_of(&a), account_of(&b));
    assert_eq!(
        b.fails(&["room", "ban", "Town square", &alice]),
        "not_allowed"
    );
    let after = a.run(&["room", "ban", "Town square", &bob]);
    assert_eq!(after["members"].as_array().unwrap().len(), 2);
    wait("Bob to learn he was banned", || {
        role_in(&b, "Town square").as_deref() == Some("banned")
    });
    assert_eq!(
        b.fails(&["send", "Town square", "let me back"]),
        "not_allowed"
    );
    assert_eq!(b.fails(&["room", "join", &uri]), "not_allowed");
}

#[test]
fn a_room_whose_door_is_offline_is_not_joined_and_says_why() {
    let root = tempfile::tempdir().unwrap();
    let a = Device::new(root.path(), "a", 47514);
    let b = Device::new(root.path(), "b", 47515);
    a.init("Alice");
    b.init("Bob");
    // Made offline: the link names Alice's device, which is not running.
    let uri = a.run(&["room", "create", "Quiet"])["uri"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(b.fails(&["room", "join", &uri]), "not_reachable");
    assert_eq!(b.run(&["group", "list"]), serde_json::json!([]));
}
