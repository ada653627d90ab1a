//! Rooms through the simulator: a stranger comes in through a member's
//! door (the link's redemption, done here by hand as `kith-core` does it
//! over `kith/link/1`), joins and posts; a moderator's ban ends what the
//! banned account writes, on every device, and the banned account cannot
//! come back by joining.

use kith_identity::MemberStatus;
use kith_identity::invite::room_door_secret;
use kith_sync::SyncError;
use kith_wire::{
    ConversationId, ConversationKind, EntryHash, GroupOp, InviteSecret, Posting, Role, SelfRecord,
};

use crate::groups::{change, create_of, id_of, readable, say};
use crate::{account, order, world, world_where};

/// `joiner` redeems the room's link with `door`, as `kith-core` does over
/// `kith/link/1`: the door lets its account in as a guest, each learns the
/// other's device log, the joiner keeps the key, and they sync.
fn knock(sim: &mut kith_sync::sim::Sim, door: usize, joiner: usize, room: ConversationId) {
    let (door_account, joiner_account) = (id_of(sim, door), id_of(sim, joiner));
    let key = sim.devices[door].replica.room_key(&room).unwrap().clone();
    let joiner_log = sim.devices[joiner]
        .replica
        .device_log(&joiner_account)
        .unwrap()
        .clone();
    let door_log = sim.devices[door]
        .replica
        .device_log(&door_account)
        .unwrap()
        .clone();
    let outputs = sim.devices[door]
        .replica
        .admit_guest(&room, joiner_log)
        .unwrap();
    sim.route(door, outputs);
    sim.devices[joiner].replica.update_log(door_log);
    let now = sim.now_ms;
    let record = SelfRecord::RoomKey { room, key };
    let outputs = sim.devices[joiner].replica.record(record, now).unwrap();
    sim.route(joiner, outputs);
    sim.connect(door, joiner);
    assert!(sim.run(20_000));
}

/// Each of `joiners` comes in through `door` and joins.
fn come_in(sim: &mut kith_sync::sim::Sim, door: usize, joiners: &[usize], room: ConversationId) {
    for &member in joiners {
        knock(sim, door, member, room);
        let now = sim.now_ms;
        let outputs = sim.devices[member].replica.join_room(room, now).unwrap();
        sim.route(member, outputs);
        assert!(sim.run(20_000));
    }
}

#[test]
fn a_stranger_comes_in_through_a_members_door_joins_and_posts() {
    // Alice, Bob and Carol know each other; Jo (two devices) knows nobody
    // and nobody knows Jo.
    let (mut sim, ix) = world_where(
        vec![
            account("a", 1),
            account("b", 1),
            account("c", 1),
            account("j", 2),
        ],
        |i, j| i < 3 && j < 3,
    );
    let (a1, b1, c1, j1, j2) = (ix[0][0], ix[1][0], ix[2][0], ix[3][0], ix[3][1]);
    for (x, y) in [(a1, b1), (a1, c1), (b1, c1), (j1, j2)] {
        sim.connect(x, y);
    }
    let now = sim.now_ms;
    let (room, outputs) = sim.devices[a1]
        .replica
        .create_room("Town square", now)
        .unwrap();
    sim.route(a1, outputs);
    let key = sim.devices[a1].replica.room_key(&room).unwrap().clone();
    let secret = room_door_secret(&key).unwrap();
    assert_eq!(sim.devices[a1].replica.room_for_door(&secret), Some(room));
    let wrong = InviteSecret([7; 16]);
    assert_eq!(sim.devices[a1].replica.room_for_door(&wrong), None);
    assert_eq!(sim.devices[b1].replica.room_for_door(&secret), None);
    // Bob and Carol come in through Alice's door.
    come_in(&mut sim, a1, &[b1, c1], room);
    say(&mut sim, a1, room, "welcome").unwrap();
    assert!(sim.run(20_000));
    assert_eq!(sim.devices[b1].replica.room_for_door(&secret), Some(room));
    // Jo redeems the link with Bob's device.
    knock(&mut sim, b1, j1, room);
    let jo = id_of(&sim, j1);
    // The room arrived from Bob, created by Alice, whom Jo did not know.
    assert!(sim.devices[j1].replica.room_arrived(&room));
    let alice = id_of(&sim, a1);
    assert!(sim.devices[j1].replica.device_log(&alice).is_some());
    // A guest is no member: it may not post before it joins.
    let err = say(&mut sim, j1, room, "early").unwrap_err();
    assert!(matches!(err, SyncError::Membership(_)), "{err}");
    let now = sim.now_ms;
    let outputs = sim.devices[j1].replica.join_room(room, now).unwrap();
    sim.route(j1, outputs);
    assert!(sim.run(20_000));
    sim.connect_all();
    assert!(sim.run(20_000));
    say(&mut sim, j1, room, "hi, I am Jo").unwrap();
    say(&mut sim, c1, room, "hi Jo").unwrap();
    assert!(sim.run(20_000));
    for i in [a1, b1, c1, j1, j2] {
        let state = sim.devices[i].replica.group_state(&room).unwrap();
        assert_eq!(state.role_of(&jo), Some(Role::Member), "device {i}");
        let got = readable(&sim, i, &room);
        assert!(
            got.ends_with(&["hi, I am Jo".to_owned(), "hi Jo".to_owned()])
                || got.ends_with(&["hi Jo".to_owned(), "hi, I am Jo".to_owned()]),
            "device {i}: {got:?}"
        );
        assert_eq!(order(&sim, i, &room), order(&sim, a1, &room), "device {i}");
    }
    // Room bodies are sealed under the room's key: Jo reads what was
    // written before Jo came, and a post is one envelope, whoever reads it.
    for i in [j1, j2] {
        assert_eq!(readable(&sim, i, &room)[0], "welcome", "device {i}");
    }
    let conv = sim.devices[j1].replica.conversation(&room).unwrap();
    let last = conv.in_order().last().unwrap().id;
    let author = conv.get(&last).unwrap().header.author_device;
    let index = [a1, b1, c1, j1, j2]
        .into_iter()
        .find(|&i| sim.devices[i].replica.device_id() == author)
        .unwrap();
    let fan_out = sim.devices[index]
        .replica
        .conversation(&room)
        .unwrap()
        .get(&last)
        .unwrap()
        .fan_out
        .clone()
        .unwrap();
    assert!(fan_out.room().is_some() && fan_out.envelopes.len() == 1);
    // Jo's other device has the key from Jo's self log: a door too.
    assert_eq!(sim.devices[j2].replica.room_for_door(&secret), Some(room));
    // Joining again writes nothing.
    let now = sim.now_ms;
    assert!(
        sim.devices[j1]
            .replica
            .join_room(room, now)
            .unwrap()
            .is_empty()
    );
    // Banned, Jo cannot come in through the door again.
    let jo_log = sim.devices[j1].replica.device_log(&jo).unwrap().clone();
    change(&mut sim, a1, room, GroupOp::Ban { account: jo }).unwrap();
    assert!(sim.run(20_000));
    let err = sim.devices[b1]
        .replica
        .admit_guest(&room, jo_log)
        .unwrap_err();
    assert!(
        matches!(err, SyncError::Membership(w) if w.contains("banned")),
        "{err}"
    );
}

#[test]
fn a_moderators_ban_hides_what_the_banned_wrote_after_it_everywhere() {
    let (mut sim, ix) = world(vec![
        account("a", 1),
        account("b", 1),
        account("c", 1),
        account("d", 1),
    ]);
    let (a1, b1, c1, d1) = (ix[0][0], ix[1][0], ix[2][0], ix[3][0]);
    let room = create_of(&mut sim, ConversationKind::Room, a1, &[b1, c1, d1]);
    sim.connect_all();
    assert!(sim.run(20_000));
    let (bob, carol) = (id_of(&sim, b1), id_of(&sim, c1));
    let promote = GroupOp::SetRole {
        account: carol,
        role: Role::Moderator,
    };
    change(&mut sim, a1, room, promote).unwrap();
    assert!(sim.run(20_000));
    say(&mut sim, b1, room, "hello").unwrap();
    assert!(sim.run(20_000));
    // A member who is no moderator may not ban; a moderator may not ban
    // an admin.
    let err = change(&mut sim, b1, room, GroupOp::Ban { account: carol }).unwrap_err();
    assert!(matches!(err, SyncError::Membership(_)), "{err}");
    let alice = id_of(&sim, a1);
    assert!(change(&mut sim, c1, room, GroupOp::Ban { account: alice }).is_err());
    // Carol bans Bob while Bob, away from everyone, posts unaware.
    for other in [a1, c1] {
        sim.disconnect(b1, other);
    }
    change(&mut sim, c1, room, GroupOp::Ban { account: bob }).unwrap();
    say(&mut sim, b1, room, "spam").unwrap();
    assert!(sim.run(20_000));
    sim.connect_all();
    assert!(sim.run(20_000));
    // Everyone who got the ban hides the post. (Bob himself never hears
    // of a ban written while he was away: a former member is served
    // nothing more, in rooms as in groups; `docs/groups.md` §8.)
    for i in [a1, c1, d1] {
        assert_eq!(readable(&sim, i, &room), ["hello"], "device {i}");
        let state = sim.devices[i].replica.group_state(&room).unwrap();
        assert!(matches!(
            state.members[&bob].status,
            MemberStatus::Banned { by, .. } if by == carol
        ));
    }
    assert_eq!(order(&sim, a1, &room), order(&sim, c1, &room));
    // Dave, banned while connected, learns it: he can neither post nor
    // join again.
    let dave = id_of(&sim, d1);
    change(&mut sim, c1, room, GroupOp::Ban { account: dave }).unwrap();
    assert!(sim.run(20_000));
    let err = say(&mut sim, d1, room, "more").unwrap_err();
    assert!(matches!(err, SyncError::Membership(_)), "{err}");
    let join = GroupOp::Join {
        heads: vec![EntryHash([1; 32])],
    };
    let err = change(&mut sim, d1, room, join).unwrap_err();
    assert!(
        matches!(err, SyncError::Membership(w) if w.contains("former member")),
        "{err}"
    );
}

#[test]
fn a_post_a_moderator_removes_is_gone_everywhere_also_where_it_arrives_later() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 2)]);
    let (a1, b1, c1, c2) = (ix[0][0], ix[1][0], ix[2][0], ix[2][1]);
    sim.connect(a1, b1);
    sim.connect(a1, c1);
    let now = sim.now_ms;
    let (room, outputs) = sim.devices[a1].replica.create_room("Square", now).unwrap();
    sim.route(a1, outputs);
    come_in(&mut sim, a1, &[b1, c1], room);
    // Carol's second device is away; Bob posts, Alice removes the post.
    say(&mut sim, b1, room, "fine").unwrap();
    say(&mut sim, b1, room, "spam").unwrap();
    assert!(sim.run(20_000));
    let spam = *order(&sim, a1, &room).last().unwrap();
    let remove = GroupOp::RemovePost { entry: spam };
    let err = change(&mut sim, c1, room, remove.clone()).unwrap_err();
    assert!(matches!(err, SyncError::Membership(_)), "{err}");
    change(&mut sim, a1, room, remove).unwrap();
    assert!(sim.run(20_000));
    sim.connect_all();
    assert!(sim.run(20_000));
    for i in [a1, b1, c1, c2] {
        assert_eq!(readable(&sim, i, &room), ["fine"], "device {i}");
        let conv = sim.devices[i].replica.conversation(&room).unwrap();
        let entry = conv.get(&spam).cloned();
        assert!(
            entry.is_some_and(|e| e.body == kith_sync::Body::Deleted),
            "device {i}"
        );
    }
}

#[test]
fn a_rooms_policy_holds_who_posts_and_the_slow_mode_of_member_devices() {
    let (mut sim, ix) = world(vec![account("a", 1), account("b", 1), account("c", 1)]);
    let (a1, b1, c1) = (ix[0][0], ix[1][0], ix[2][0]);
    sim.connect(a1, b1);
    sim.connect(a1, c1);
    let now = sim.now_ms;
    let (room, outputs) = sim.devices[a1].replica.create_room("News", now).unwrap();
    sim.route(a1, outputs);
    come_in(&mut sim, a1, &[b1, c1], room);
    let carol = id_of(&sim, c1);
    let promote = GroupOp::SetRole {
        account: carol,
        role: Role::Moderator,
    };
    change(&mut sim, a1, room, promote).unwrap();
    // A member may not set the policy; the moderator makes it an
    // announcement room.
    let policy = |posting, slow_mode_secs| GroupOp::SetPolicy {
        posting,
        slow_mode_secs,
    };
    assert!(change(&mut sim, b1, room, policy(Posting::Everyone, 0)).is_err());
    assert!(sim.run(20_000));
    change(&mut sim, c1, room, policy(Posting::Moderators, 0)).unwrap();
    assert!(sim.run(20_000));
    let err = say(&mut sim, b1, room, "may I?").unwrap_err();
    assert!(
        matches!(err, SyncError::Membership(w) if w.contains("only moderators")),
        "{err}"
    );
    say(&mut sim, c1, room, "announcement").unwrap();
    // Then everyone may post again, once a minute per member device.
    change(&mut sim, c1, room, policy(Posting::Everyone, 60)).unwrap();
    assert!(sim.run(20_000));
    say(&mut sim, b1, room, "first").unwrap();
    let err = say(&mut sim, b1, room, "second").unwrap_err();
    assert!(
        matches!(err, SyncError::Membership(w) if w.contains("slow mode")),
        "{err}"
    );
    say(&mut sim, c1, room, "moderators are not slowed").unwrap();
    say(&mut sim, c1, room, "not at all").unwrap();
    sim.now_ms += 60_000;
    say(&mut sim, b1, room, "a minute later").unwrap();
    assert!(sim.run(20_000));
    let mut want = vec![
        "a minute later",
        "announcement",
        "first",
        "moderators are not slowed",
        "not at all",
    ];
    want.sort_unstable();
    for i in [a1, b1, c1] {
        let mut got = readable(&sim, i, &room);
        got.sort();
        assert_eq!(got, want, "device {i}");
        assert_eq!(order(&sim, i, &room), order(&sim, a1, &room), "device {i}");
    }
}
