//! Group membership: the rules of `docs/groups.md` (admins change members,
//! strong remove shared with the device log) and convergence whatever the
//! delivery order.

use std::collections::BTreeMap;

use kith_identity::{GroupState, IdentityError, MemberStatus, Membership, RoomPolicy, group_id};
use kith_wire::{AccountId, ConversationKind, EntryHash, GroupOp, Posting, Role};
use proptest::prelude::*;

fn account(n: u8) -> AccountId {
    AccountId([n; 32])
}

/// A log of operations with explicit causal pasts, and one replica.
struct Log {
    group: kith_wire::ConversationId,
    /// (hash, author, op, past) in the order written.
    ops: Vec<(EntryHash, AccountId, GroupOp, Vec<EntryHash>)>,
    next: u32,
}

const CREATOR: u8 = 1;

impl Log {
    fn new() -> (Self, EntryHash) {
        Self::of(ConversationKind::Group)
    }

    fn of(kind: ConversationKind) -> (Self, EntryHash) {
        let nonce = [7u8; 32];
        let group = group_id(kind, &account(CREATOR), &nonce).unwrap();
        let mut log = Self {
            group,
            ops: Vec::new(),
            next: 0,
        };
        let create = GroupOp::Create {
            kind,
            name: "Climbing".into(),
            nonce,
        };
        let h = log.push(CREATOR, create, &[]);
        (log, h)
    }

    fn push(&mut self, author: u8, op: GroupOp, past: &[EntryHash]) -> EntryHash {
        self.next += 1;
        let mut bytes = [0u8; 32];
        bytes[..4].copy_from_slice(&self.next.to_be_bytes());
        let h = EntryHash(bytes);
        self.ops.push((h, account(author), op, past.to_vec()));
        h
    }

    /// Every operation inserted in the order written.
    fn replay(&self) -> Result<Membership, IdentityError> {
        self.replay_order(&(0..self.ops.len()).collect::<Vec<_>>())
    }

    /// Operations inserted in `order` (each one's past before it).
    fn replay_order(&self, order: &[usize]) -> Result<Membership, IdentityError> {
        let mut m = Membership::new(self.group);
        for &i in order {
            let (h, author, op, past) = &self.ops[i];
            m.insert(*h, *author, op.clone(), past)?;
        }
        Ok(m)
    }
}

fn add(n: u8, role: Role) -> GroupOp {
    GroupOp::Add {
        account: account(n),
        role,
        heads: vec![EntryHash([n; 32])],
    }
}

fn status(state: &GroupState, n: u8) -> Option<MemberStatus> {
    state.members.get(&account(n)).map(|m| m.status)
}

#[test]
fn an_admin_adds_removes_and_promotes_and_the_creator_is_admin() {
    let (mut log, create) = Log::new();
    let b = log.push(CREATOR, add(2, Role::Member), &[create]);
    let c = log.push(CREATOR, add(3, Role::Member), &[b]);
    let p = log.push(
        CREATOR,
        GroupOp::SetRole {
            account: account(2),
            role: Role::Admin,
        },
        &[c],
    );
    let r = log.push(
        2,
        GroupOp::Remove {
            account: account(3),
        },
        &[p],
    );
    let m = log.replay().unwrap();
    let s = m.state();
    assert_eq!(s.name, "Climbing");
    assert_eq!(s.creator, Some(account(CREATOR)));
    assert_eq!(s.role_of(&account(CREATOR)), Some(Role::Admin));
    assert_eq!(s.role_of(&account(2)), Some(Role::Admin));
    assert_eq!(
        status(s, 3),
        Some(MemberStatus::Removed {
            by: account(2),
            entry: r
        })
    );
    assert_eq!(s.members[&account(3)].added_by, Some(account(CREATOR)));
    assert_eq!(s.heads, vec![r]);
}

#[test]
fn what_a_member_may_not_do_is_refused_and_changes_nothing() {
    let (mut log, create) = Log::new();
    let b = log.push(CREATOR, add(2, Role::Member), &[create]);
    let mut m = log.replay().unwrap();
    let before = m.state().clone();
    let refused = [
        (
            2,
            add(4, Role::Member),
            "only an admin may change the members",
        ),
        (
            2,
            GroupOp::Remove {
                account: account(CREATOR),
            },
            "only an admin",
        ),
        (
            2,
            GroupOp::SetRole {
                account: account(2),
                role: Role::Admin,
            },
            "only an admin",
        ),
        (
            2,
            GroupOp::Rename {
                name: "Mine".into(),
            },
            "only an admin",
        ),
        (9, GroupOp::Leave, "not a member"),
        (CREATOR, add(2, Role::Member), "already a member"),
        (
            CREATOR,
            GroupOp::Remove {
                account: account(CREATOR),
            },
            "leave",
        ),
        (
            CREATOR,
            GroupOp::SetRole {
                account: account(2),
                role: Role::Member,
            },
            "roles only go up",
        ),
        (
            CREATOR,
            GroupOp::Remove {
                account: account(9),
            },
            "not a member",
        ),
    ];
    for (i, (author, op, why)) in refused.into_iter().enumerate() {
        let h = EntryHash([200 + i as u8; 32]);
        let err = m.insert(h, account(author), op.clone(), &[b]).unwrap_err();
        assert!(
            matches!(&err, IdentityError::Membership(w) if w.contains(why)),
            "{op:?}: {err}"
        );
        assert!(!m.contains(&h));
    }
    assert_eq!(m.state(), &before);
    // A second creation, a creation that does not match the id, and an
    // operation before the creation are refused too.
    let second = GroupOp::Create {
        kind: ConversationKind::Group,
        name: "x".into(),
        nonce: [7; 32],
    };
    assert!(
        m.insert(EntryHash([250; 32]), account(CREATOR), second.clone(), &[])
            .is_err()
    );
    let mut fresh = Membership::new(log.group);
    assert!(
        fresh
            .insert(EntryHash([251; 32]), account(2), second, &[])
            .is_err()
    );
    assert!(
        fresh
            .insert(EntryHash([252; 32]), account(CREATOR), GroupOp::Leave, &[])
            .is_err()
    );
    assert!(fresh.state().members.is_empty());
}

#[test]
fn a_former_member_cannot_be_added_again_and_a_leaver_writes_no_more() {
    let (mut log, create) = Log::new();
    let b = log.push(CREATOR, add(2, Role::Member), &[create]);
    let r = log.push(
        CREATOR,
        GroupOp::Remove {
            account: account(2),
        },
        &[b],
    );
    let c = log.push(CREATOR, add(3, Role::Admin), &[r]);
    let l = log.push(3, GroupOp::Leave, &[c]);
    let mut m = log.replay().unwrap();
    let again = m.insert(
        EntryHash([240; 32]),
        account(CREATOR),
        add(2, Role::Member),
        &[l],
    );
    assert!(matches!(again, Err(IdentityError::Membership(w)) if w.contains("former member")));
    let after_leave = m.insert(EntryHash([241; 32]), account(3), add(5, Role::Member), &[l]);
    assert!(after_leave.is_err());
    assert_eq!(status(m.state(), 3), Some(MemberStatus::Left { entry: l }));
    assert_eq!(m.state().active().count(), 1);
}

#[test]
fn admins_who_remove_each_other_concurrently_both_go() {
    let (mut log, create) = Log::new();
    let b = log.push(CREATOR, add(2, Role::Admin), &[create]);
    let c = log.push(CREATOR, add(3, Role::Admin), &[b]);
    let x = log.push(
        2,
        GroupOp::Remove {
            account: account(3),
        },
        &[c],
    );
    let y = log.push(
        3,
        GroupOp::Remove {
            account: account(2),
        },
        &[c],
    );
    let s = log.replay().unwrap().state().clone();
    assert!(matches!(status(&s, 2), Some(MemberStatus::Removed { entry, .. }) if entry == y));
    assert!(matches!(status(&s, 3), Some(MemberStatus::Removed { entry, .. }) if entry == x));
    assert_eq!(s.role_of(&account(CREATOR)), Some(Role::Admin));
}

#[test]
fn an_add_by_a_concurrently_removed_admin_has_no_effect() {
    let (mut log, create) = Log::new();
    let b = log.push(CREATOR, add(2, Role::Admin), &[create]);
    // The creator removes 2 while 2, not knowing, adds 4, and 4 adds... nothing
    // it may: 4 is a member only; 4 leaves, which must not count either.
    let r = log.push(
        CREATOR,
        GroupOp::Remove {
            account: account(2),
        },
        &[b],
    );
    let d = log.push(2, add(4, Role::Admin), &[b]);
    let e = log.push(4, add(5, Role::Member), &[d]);
    let s = log.replay().unwrap().state().clone();
    assert!(matches!(status(&s, 2), Some(MemberStatus::Removed { .. })));
    assert_eq!(
        status(&s, 4),
        None,
        "the add of a concurrently removed admin is dropped"
    );
    assert_eq!(status(&s, 5), None, "and so is what its addee did");
    let mut heads = vec![r, e];
    heads.sort();
    assert_eq!(s.heads, heads);
}

#[test]
fn a_promotion_dropped_with_its_author_takes_the_promoted_admins_changes_with_it() {
    let (mut log, create) = Log::new();
    let a = log.push(CREATOR, add(2, Role::Admin), &[create]);
    let b = log.push(CREATOR, add(3, Role::Member), &[a]);
    // 2 promotes 3 while the creator removes 2; 3, promoted, adds 6.
    let _r = log.push(
        CREATOR,
        GroupOp::Remove {
            account: account(2),
        },
        &[b],
    );
    let p = log.push(
        2,
        GroupOp::SetRole {
            account: account(3),
            role: Role::Admin,
        },
        &[b],
    );
    let _x = log.push(3, add(6, Role::Member), &[p]);
    let s = log.replay().unwrap().state().clone();
    assert_eq!(
        s.role_of(&account(3)),
        Some(Role::Member),
        "the promotion is dropped"
    );
    assert_eq!(status(&s, 6), None, "so the promoted member's add is too");
}

#[test]
fn a_removal_that_saw_the_removed_members_change_keeps_it() {
    let (mut log, create) = Log::new();
    let a = log.push(CREATOR, add(2, Role::Admin), &[create]);
    let d = log.push(2, add(4, Role::Member), &[a]);
    let _r = log.push(
        CREATOR,
        GroupOp::Remove {
            account: account(2),
        },
        &[d],
    );
    let s = log.replay().unwrap().state().clone();
    assert_eq!(s.role_of(&account(4)), Some(Role::Member));
    // What the membership was for an entry that saw only the add.
    let at = log.replay().unwrap().state_at(&[d]).unwrap();
    assert_eq!(at.role_of(&account(2)), Some(Role::Admin));
}

fn join(n: u8) -> GroupOp {
    GroupOp::Join {
        heads: vec![EntryHash([n; 32])],
    }
}

fn ban(n: u8) -> GroupOp {
    GroupOp::Ban {
        account: account(n),
    }
}

/// A room where 2 and 3 joined by themselves and the creator made 3 a
/// moderator; the promotion's hash.
fn room_with_moderator() -> (Log, EntryHash) {
    let (mut log, create) = Log::of(ConversationKind::Room);
    let j2 = log.push(2, join(2), &[create]);
    let j3 = log.push(3, join(3), &[j2]);
    let p = log.push(
        CREATOR,
        GroupOp::SetRole {
            account: account(3),
            role: Role::Moderator,
        },
        &[j3],
    );
    (log, p)
}

#[test]
fn anyone_joins_a_room_by_itself_and_a_moderator_bans_for_good() {
    let (mut log, p) = room_with_moderator();
    let b = log.push(3, ban(2), &[p]);
    let mut m = log.replay().unwrap();
    let s = m.state().clone();
    assert_eq!(s.role_of(&account(3)), Some(Role::Moderator));
    assert_eq!(
        status(&s, 2),
        Some(MemberStatus::Banned {
            by: account(3),
            entry: b
        })
    );
    assert_eq!(s.members[&account(3)].added_by, None);
    assert_eq!(s.members[&account(3)].heads, vec![EntryHash([3; 32])]);
    let refused = [
        (2, join(2), "a former member cannot join again"),
        (3, join(3), "already a member"),
        (2, GroupOp::Leave, "the author is not a member"),
        (
            3,
            ban(CREATOR),
            "only a member of a lower role can be banned",
        ),
        (3, ban(3), "only a member of a lower role can be banned"),
        (
            3,
            add(5, Role::Member),
            "only an admin may change the members",
        ),
    ];
    for (i, (author, op, why)) in refused.into_iter().enumerate() {
        let h = EntryHash([200 + i as u8; 32]);
        let got = m.insert(h, account(author), op, &[b]);
        assert_eq!(got, Err(IdentityError::Membership(why)));
    }
    // A member who is no moderator may not ban.
    let j4 = log.push(4, join(4), &[b]);
    let mut m = log.replay().unwrap();
    let got = m.insert(EntryHash([230; 32]), account(4), ban(3), &[j4]);
    assert_eq!(
        got,
        Err(IdentityError::Membership(
            "only a moderator or an admin may ban"
        ))
    );
    assert_eq!(m.state().active().count(), 3);
}

#[test]
fn a_moderator_removes_a_post_for_everyone_and_a_member_may_not() {
    let (mut log, p) = room_with_moderator();
    let post = EntryHash([90; 32]);
    let remove = |entry| GroupOp::RemovePost { entry };
    let r = log.push(3, remove(post), &[p]);
    let mut m = log.replay().unwrap();
    assert!(m.state().removed_posts.contains(&post));
    assert_eq!(
        m.insert(
            EntryHash([231; 32]),
            account(2),
            remove(EntryHash([91; 32])),
            &[r]
        ),
        Err(IdentityError::Membership(
            "only a moderator or an admin may remove a post"
        ))
    );
    // Removed concurrently with the moderator's own removal: no effect.
    let (mut log, p) = room_with_moderator();
    log.push(3, remove(post), &[p]);
    log.push(
        CREATOR,
        GroupOp::Remove {
            account: account(3),
        },
        &[p],
    );
    assert!(log.replay().unwrap().state().removed_posts.is_empty());
    // Groups have no such thing.
    let (log, create) = Log::new();
    let mut m = log.replay().unwrap();
    assert_eq!(
        m.insert(
            EntryHash([232; 32]),
            account(CREATOR),
            remove(post),
            &[create]
        ),
        Err(IdentityError::Membership(
            "posts are removed for everyone in rooms only"
        ))
    );
}

#[test]
fn a_moderator_sets_who_posts_and_the_slow_mode_and_a_member_may_not() {
    let (mut log, p) = room_with_moderator();
    let policy = |posting, slow_mode_secs| GroupOp::SetPolicy {
        posting,
        slow_mode_secs,
    };
    assert_eq!(log.replay().unwrap().state().policy, RoomPolicy::default());
    let s1 = log.push(3, policy(Posting::Moderators, 0), &[p]);
    let s2 = log.push(CREATOR, policy(Posting::Everyone, 30), &[s1]);
    let mut m = log.replay().unwrap();
    assert_eq!(
        m.state().policy,
        RoomPolicy {
            posting: Posting::Everyone,
            slow_mode_secs: 30
        }
    );
    assert_eq!(
        m.insert(
            EntryHash([233; 32]),
            account(2),
            policy(Posting::Everyone, 0),
            &[s2]
        ),
        Err(IdentityError::Membership(
            "only a moderator or an admin may set who posts"
        ))
    );
    let (log, create) = Log::new();
    let mut m = log.replay().unwrap();
    assert_eq!(
        m.insert(
            EntryHash([234; 32]),
            account(CREATOR),
            policy(Posting::Moderators, 0),
            &[create]
        ),
        Err(IdentityError::Membership(
            "a posting policy is for rooms only"
        ))
    );
    // Over a day of slow mode does not even decode as valid.
    assert!(policy(Posting::Everyone, 86_401).check_limits().is_err());
}

#[test]
fn a_group_is_not_joined_by_link_and_bans_nobody() {
    let (mut log, create) = Log::new();
    let b = log.push(CREATOR, add(2, Role::Member), &[create]);
    let mut m = log.replay().unwrap();
    let before = m.state().clone();
    assert_eq!(
        m.insert(EntryHash([240; 32]), account(5), join(5), &[b]),
        Err(IdentityError::Membership(
            "only a room is joined by link: a group's admin adds members"
        ))
    );
    assert_eq!(
        m.insert(EntryHash([241; 32]), account(CREATOR), ban(2), &[b]),
        Err(IdentityError::Membership(
            "only a room's members are banned: remove the member"
        ))
    );
    assert_eq!(m.state(), &before);
}

#[test]
fn a_ban_by_a_moderator_removed_concurrently_bans_nobody() {
    let (mut log, p) = room_with_moderator();
    // The moderator bans 2 while the creator removes the moderator.
    let _b = log.push(3, ban(2), &[p]);
    let r = log.push(
        CREATOR,
        GroupOp::Remove {
            account: account(3),
        },
        &[p],
    );
    let s = log.replay().unwrap().state().clone();
    assert_eq!(s.role_of(&account(2)), Some(Role::Member));
    assert!(matches!(
        status(&s, 3),
        Some(MemberStatus::Removed { entry, .. }) if entry == r
    ));
}

#[test]
fn a_join_written_without_seeing_the_ban_does_not_bring_the_account_back() {
    let (mut log, create) = Log::of(ConversationKind::Room);
    let j2 = log.push(2, join(2), &[create]);
    let b = log.push(CREATOR, ban(2), &[j2]);
    // Another device of account 2, which saw neither its join nor the ban
    // but two later joins, joins again: later than the ban in canonical
    // order (deeper), it must still not undo it.
    let j3 = log.push(3, join(3), &[create]);
    let j4 = log.push(4, join(4), &[j3]);
    let _again = log.push(2, join(2), &[j4]);
    for order in [
        vec![0, 1, 2, 3, 4, 5],
        vec![0, 3, 4, 5, 1, 2],
        vec![0, 1, 3, 4, 5, 2],
    ] {
        let s = log.replay_order(&order).unwrap().state().clone();
        assert_eq!(
            status(&s, 2),
            Some(MemberStatus::Banned {
                by: account(CREATOR),
                entry: b
            }),
            "order {order:?}"
        );
    }
}

/// A random history: replicas write what they may from the membership they
/// see and sometimes learn each other's operations.
fn history(kind: ConversationKind, script: &[(u8, u8, u8)]) -> Log {
    let (mut log, create) = Log::of(kind);
    // Replica r knows the indices in `known[r]`.
    let mut known: Vec<Vec<usize>> = vec![vec![0]; 4];
    let mut authors = [CREATOR, 2, 3, 4];
    // Start with three admins so contests happen.
    let mut last = create;
    for n in 2..=4 {
        last = log.push(CREATOR, add(n, Role::Admin), &[last]);
        for k in known.iter_mut() {
            k.push(log.ops.len() - 1);
        }
    }
    for &(who, what, arg) in script {
        let r = usize::from(who % 4);
        if what % 5 == 0 {
            // Learn everything another replica knows.
            let other = known[usize::from(arg % 4)].clone();
            for i in other {
                if !known[r].contains(&i) {
                    known[r].push(i);
                }
            }
            known[r].sort_unstable();
            continue;
        }
        let target = account(2 + arg % 8);
        let op = match what % 9 {
            8 => GroupOp::SetPolicy {
                posting: if arg % 2 == 0 {
                    Posting::Everyone
                } else {
                    Posting::Moderators
                },
                slow_mode_secs: u32::from(arg),
            },
            7 => GroupOp::RemovePost {
                entry: EntryHash([arg; 32]),
            },
            5 => GroupOp::Join {
                heads: vec![EntryHash([1; 32])],
            },
            6 => GroupOp::Ban { account: target },
            1 => GroupOp::Add {
                account: target,
                role: if arg % 3 == 0 {
                    Role::Admin
                } else {
                    Role::Member
                },
                heads: vec![EntryHash([1; 32])],
            },
            2 => GroupOp::Remove { account: target },
            3 => GroupOp::SetRole {
                account: target,
                role: Role::Admin,
            },
            _ => GroupOp::Leave,
        };
        // The replica's membership, to write only what it may.
        let mut m = Membership::new(log.group);
        for &i in &known[r] {
            let (h, a, o, p) = &log.ops[i];
            m.insert(*h, *a, o.clone(), p).unwrap();
        }
        let hashes: Vec<EntryHash> = known[r].iter().map(|&i| log.ops[i].0).collect();
        let past = m.frontier(&hashes);
        let author = authors[r];
        let probe = EntryHash([255; 32]);
        if m.clone()
            .insert(probe, account(author), op.clone(), &past)
            .is_ok()
        {
            log.push(author, op, &past);
            known[r].push(log.ops.len() - 1);
        } else if m.state().role_of(&account(author)).is_none() {
            // A replica whose account is out writes as another member.
            if let Some((a, _)) = m.state().active().next() {
                authors[r] = a.0[0];
            }
        }
    }
    log
}

/// A random order of `log`'s operations in which each comes after its past.
fn shuffled_causal(log: &Log, seed: &[u8]) -> Vec<usize> {
    let index: BTreeMap<EntryHash, usize> =
        log.ops.iter().enumerate().map(|(i, o)| (o.0, i)).collect();
    let mut done = vec![false; log.ops.len()];
    let mut order = Vec::new();
    let mut k = 0usize;
    while order.len() < log.ops.len() {
        let ready: Vec<usize> = (0..log.ops.len())
            .filter(|&i| !done[i] && log.ops[i].3.iter().all(|p| done[index[p]]))
            .collect();
        let pick =
            ready[usize::from(seed.get(k % seed.len().max(1)).copied().unwrap_or(0)) % ready.len()];
        k += 1;
        done[pick] = true;
        order.push(pick);
    }
    order
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    /// Any delivery order gives every replica the same members and roles.
    #[test]
    fn membership_converges_whatever_the_order(
        script in proptest::collection::vec((0u8..4, 0u8..14, 0u8..16), 0..40),
        seed in proptest::collection::vec(any::<u8>(), 1..64),
    ) {
        let kind = if script.len() % 2 == 0 { ConversationKind::Group } else { ConversationKind::Room };
        let log = history(kind, &script);
        let written = log.replay().unwrap();
        let shuffled = log.replay_order(&shuffled_causal(&log, &seed)).unwrap();
        prop_assert_eq!(written.state(), shuffled.state());
        let reversed: Vec<u8> = seed.iter().rev().map(|b| b.wrapping_mul(31)).collect();
        let other = log.replay_order(&shuffled_causal(&log, &reversed)).unwrap();
        prop_assert_eq!(written.state(), other.state());
    }
}
