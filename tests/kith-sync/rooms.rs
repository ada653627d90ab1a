//! Rooms through the simulator: a stranger comes in through a member's
//! door (the link's redemption, done here by hand as `kith-core` does it
//! over `kith/link/1`), joins and posts; a moderator's ban ends what the
//! banned account writes, on every device, and the banned account cannot
//! come back by joining.

use kith_identity::MemberStatus;
use kith_identity::invite::room_door_secret;
use kith_sync::SyncError;
use kith_wire::{ConversationKind, EntryHash, GroupOp, InviteSecret, Role, SelfRecord};

use crate::groups::{change, create_of, id_of, readable, say};
use crate::{account, order, world, world_where};

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
    for member in [b1, c1] {
        let op = sim.devices[a1]
            .replica
            .add_op(&id_of(&sim, member), Role::Member)
            .unwrap();
        change(&mut sim, a1, room, op).unwrap();
    }
    assert!(sim.run(20_000));
    say(&mut sim, a1, room, "welcome").unwrap();
    // Bob holds the room's link (he was given it): his device is a door.
    let key = sim.devices[a1].replica.room_key(&room).unwrap().clone();
    let now = sim.now_ms;
    let record = SelfRecord::RoomKey {
        room,
        key: key.clone(),
    };
    let outputs = sim.devices[b1].replica.record(record.clone(), now).unwrap();
    sim.route(b1, outputs);
    assert!(sim.run(20_000));
    let secret = room_door_secret(&key).unwrap();
    assert_eq!(sim.devices[b1].replica.room_for_door(&secret), Some(room));
    let wrong = InviteSecret([7; 16]);
    assert_eq!(sim.devices[b1].replica.room_for_door(&wrong), None);
    assert_eq!(sim.devices[c1].replica.room_for_door(&secret), None);
    // Jo redeems the link with Bob's device: each learns the other's log,
    // Jo keeps the key, and they connect.
    let jo = id_of(&sim, j1);
    let jo_log = sim.devices[j1].replica.device_log(&jo).unwrap().clone();
    let bob = id_of(&sim, b1);
    let bob_log = sim.devices[b1].replica.device_log(&bob).unwrap().clone();
    let outputs = sim.devices[b1]
        .replica
        .admit_guest(&room, jo_log.clone())
        .unwrap();
    sim.route(b1, outputs);
    sim.devices[j1].replica.update_log(bob_log);
    let now = sim.now_ms;
    let outputs = sim.devices[j1].replica.record(record, now).unwrap();
    sim.route(j1, outputs);
    sim.connect(b1, j1);
    assert!(sim.run(20_000));
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
