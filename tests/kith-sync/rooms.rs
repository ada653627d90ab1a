//! Rooms through the simulator, as far as the engine has them: a
//! moderator's ban ends what the banned account writes, on every device,
//! and the banned account cannot come back by joining. (Joining by link
//! over the network is not built yet: `docs/groups.md` §8.)

use kith_identity::MemberStatus;
use kith_sync::SyncError;
use kith_wire::{ConversationKind, EntryHash, GroupOp, Role};

use crate::groups::{change, create_of, id_of, readable, say};
use crate::{account, order, world};

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
