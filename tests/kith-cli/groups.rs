//! `kith group …` and groups as targets of `send` and `messages`, over real
//! processes: members who are not each other's contacts, roles, removal,
//! leaving, ambiguity.

use serde_json::Value;

use crate::{Device, befriend, wait};

pub(crate) fn account_of(d: &Device) -> String {
    d.run(&["whoami"])["account_id"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// My role in the group named `name`, as `group list` shows it.
pub(crate) fn role_in(d: &Device, name: &str) -> Option<String> {
    d.run(&["group", "list"])
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["name"] == name)
        .map(|g| g["role"].as_str().unwrap().to_owned())
}

fn member_roles(group: &Value) -> Vec<(String, String)> {
    let mut roles: Vec<(String, String)> = group["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["account_id"].as_str().unwrap().to_owned(),
                m["role"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    roles.sort();
    roles
}

#[test]
fn a_group_of_people_who_are_not_all_contacts_talks_removes_and_leaves() {
    let root = tempfile::tempdir().unwrap();
    let mut a = Device::new(root.path(), "a", 47501);
    let mut b = Device::new(root.path(), "b", 47502);
    let mut c = Device::new(root.path(), "c", 47503);
    a.init("Alice");
    b.init("Bob");
    c.init("Carol");
    for d in [&mut a, &mut b, &mut c] {
        d.start();
    }
    // Alice knows Bob and Carol; Bob and Carol do not know each other.
    befriend(&a, &b);
    let (alice, carol) = befriend(&a, &c);
    let bob = account_of(&b);
    let created = a.run(&[
        "group", "create", "Climbing", "--member", "Bob", "--member", "Carol",
    ]);
    assert_eq!(created["name"], "Climbing");
    let group_id = created["group_id"].as_str().unwrap().to_owned();
    let mut want = vec![
        (alice.clone(), "admin".to_owned()),
        (bob.clone(), "member".to_owned()),
        (carol.clone(), "member".to_owned()),
    ];
    want.sort();
    assert_eq!(member_roles(&created), want);
    let me = created["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["account_id"] == alice.as_str())
        .unwrap()
        .clone();
    assert_eq!(me["name"], "Alice");

    // Bob and Carol get the group with every member.
    for d in [&b, &c] {
        wait("the group to reach its members", || {
            role_in(d, "Climbing").as_deref() == Some("member")
        });
        // Each knows the others' devices (and so their names), contacts
        // or not.
        wait("the members' device logs to travel with the group", || {
            d.run(&["group", "list"])[0]["members"]
                .as_array()
                .unwrap()
                .iter()
                .all(|m| m["name"].is_string())
        });
        let listed = d.run(&["group", "list"]);
        assert_eq!(listed[0]["group_id"], group_id.as_str());
        assert_eq!(listed[0]["kind"], "group");
        assert_eq!(member_roles(&listed[0]), want);
    }

    // Bob writes; Carol, who does not know Bob, reads it with his name.
    b.run(&["send", "Climbing", "hi from Bob"]);
    c.wait_texts("Climbing", &["hi from Bob"]);
    let seen = c.run(&["messages", &group_id[..12]]);
    assert_eq!(seen[0]["author_name"], "Bob");
    assert_eq!(seen[0]["author_account"], bob.as_str());
    a.wait_texts("Climbing", &["hi from Bob"]);
    // The group is in Alice's conversation list, unread until she reads it.
    let unread_of = |d: &Device| {
        d.run(&["conversations"])
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["kind"] == "group")
            .map(|c| (c["group"]["name"].clone(), c["unread"].as_u64().unwrap()))
    };
    assert_eq!(unread_of(&a), Some((Value::from("Climbing"), 1)));
    a.run(&["read", "Climbing"]);
    assert_eq!(unread_of(&a), Some((Value::from("Climbing"), 0)));

    // A member may not remove or promote: a JSON error, nothing changes.
    assert_eq!(
        b.fails(&["group", "remove", "Climbing", &carol]),
        "not_allowed"
    );
    assert_eq!(
        b.fails(&["group", "promote", "Climbing", &bob]),
        "not_allowed"
    );
    assert_eq!(member_roles(&b.run(&["group", "list"])[0]), want);

    // Alice removes Carol: Carol reads nothing new and cannot write.
    let after = a.run(&["group", "remove", "Climbing", "Carol"]);
    assert_eq!(after["members"].as_array().unwrap().len(), 2);
    wait("Carol to learn she was removed", || {
        role_in(&c, "Climbing").as_deref() == Some("removed")
    });
    a.run(&["send", "Climbing", "after Carol"]);
    b.wait_texts("Climbing", &["hi from Bob", "after Carol"]);
    assert_eq!(c.texts("Climbing"), ["hi from Bob"]);
    assert_eq!(c.fails(&["send", "Climbing", "let me back"]), "not_allowed");

    // Alice promotes Bob; Bob leaves on all of his devices.
    let promoted = a.run(&["group", "promote", "Climbing", "Bob"]);
    assert!(member_roles(&promoted).contains(&(bob.clone(), "admin".to_owned())));
    let left = b.run(&["group", "leave", "Climbing"]);
    assert_eq!(
        left,
        serde_json::json!({"group_id": group_id, "left": true})
    );
    assert_eq!(role_in(&b, "Climbing").as_deref(), Some("left"));
    wait("Alice to see Bob leave", || {
        a.run(&["group", "list"])[0]["members"]
            .as_array()
            .unwrap()
            .len()
            == 1
    });
    // Still listed, read-only.
    assert_eq!(b.texts("Climbing"), ["hi from Bob", "after Carol"]);
}

#[test]
fn group_targets_are_resolved_and_bad_input_is_refused() {
    let root = tempfile::tempdir().unwrap();
    let a = Device::new(root.path(), "a", 47504);
    let b = Device::new(root.path(), "b", 47505);
    a.init("Alice");
    b.init("Bob");
    // Offline: an invite is redeemed when both are online.
    let mut a = a;
    let mut b = b;
    a.start();
    b.start();
    befriend(&a, &b);
    a.stop();
    b.stop();
    // Without a daemon group commands work offline.
    let g = a.run(&["group", "create", "Bob", "--member", "Bob"]);
    assert_eq!(g["role"], "admin");
    assert_eq!(a.fails(&["send", "Bob", "which one?"]), "ambiguous");
    let id = g["group_id"].as_str().unwrap();
    a.run(&["send", &id[..12], "to the group"]);
    assert_eq!(a.texts(&id[..12]), ["to the group"]);
    assert_eq!(a.fails(&["group", "create", ""]), "invalid_input");
    assert_eq!(
        a.fails(&["group", "create", "X", "--member", "nobody"]),
        "unknown_contact"
    );
    assert_eq!(
        a.fails(&["group", "add", "nosuchgroup", "Bob"]),
        "unknown_group"
    );
    assert_eq!(a.fails(&["group", "add", id, "Bob"]), "not_allowed");
    assert_eq!(a.fails(&["send", "nobody", "x"]), "unknown_contact");
    // Bob gets it once both are online.
    a.start();
    b.start();
    wait("Bob to get the offline group", || {
        b.run(&["group", "list"]).as_array().unwrap().len() == 1
    });
    b.wait_texts(&id[..12], &["to the group"]);
}
