//! Groups (and, later, rooms): create, add, remove, promote, leave, list;
//! the target of `send` and `messages` may be a group. The rules are the
//! engine's (`kith_sync` groups, `docs/groups.md`).

use kith_identity::{GroupState, MemberStatus};
use kith_store::Store;
use kith_sync::{Replica, SelfState};
use kith_wire::{AccountId, ConversationId, ConversationKind, GroupOp, Posting, Role};

use crate::error::{CoreError, Result};
use crate::node::{Node, now_ms};
use crate::views::{GroupView, LeftGroup, MemberView};

/// What a target of `send` or `messages` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A contact: the direct conversation with it.
    Contact(AccountId),
    /// A group or room.
    Group(ConversationId),
}

impl Target {
    /// Its conversation.
    pub(crate) fn conversation(self, me: &AccountId) -> Result<ConversationId> {
        match self {
            Self::Contact(account) => Ok(kith_sync::ids::direct_conversation(me, &account)?),
            Self::Group(id) => Ok(id),
        }
    }
}

/// The name I know an account by: my name for a contact, else the name its
/// devices gave it (unverified), else none.
pub(crate) fn account_name(
    r: &Replica<Store>,
    state: &SelfState,
    account: &AccountId,
) -> Option<String> {
    if *account != r.account_id()
        && let Some(alias) = state.contacts.get(account).and_then(|c| c.alias.clone())
    {
        return Some(alias);
    }
    r.device_log(account).and_then(|l| l.state().name.clone())
}

/// The one thing `text` found, or an error: `unknown` (none) or
/// `ambiguous` (several).
fn exactly_one<T: Copy>(found: &[T], unknown: &'static str, what: &str, text: &str) -> Result<T> {
    match found {
        [one] => Ok(*one),
        [] => Err(CoreError::new(
            unknown,
            format!("no {what} matches {text:?}"),
        )),
        _ => Err(CoreError::new(
            "ambiguous",
            format!("several {what}s match {text:?}; use more of the id"),
        )),
    }
}

/// My role in a group as `kith group list` shows it.
fn my_role(state: &GroupState, me: &AccountId) -> &'static str {
    match state.members.get(me).map(|m| (m.status, m.role)) {
        Some((MemberStatus::Active, role)) => role.as_str(),
        Some((MemberStatus::Removed { .. }, _)) => "removed",
        Some((MemberStatus::Left { .. }, _)) => "left",
        Some((MemberStatus::Banned { .. }, _)) => "banned",
        None => "member",
    }
}

/// A group as the CLI and the app show it.
pub(crate) fn group_view(
    r: &Replica<Store>,
    names: &SelfState,
    id: &ConversationId,
) -> Option<GroupView> {
    let conv = r.conversation(id)?;
    let state = r.group_state(id)?;
    let me = r.account_id();
    let room = conv.kind == ConversationKind::Room;
    Some(GroupView {
        group_id: id.to_hex(),
        name: state.name.clone(),
        kind: match conv.kind {
            ConversationKind::Room => "room",
            _ => "group",
        },
        role: my_role(state, &me),
        members: state
            .active()
            .map(|(account, m)| MemberView {
                account_id: account.to_hex(),
                name: account_name(r, names, account),
                role: m.role.as_str(),
            })
            .collect(),
        posting: room.then_some(match state.policy.posting {
            Posting::Everyone => "everyone",
            Posting::Moderators => "moderators",
        }),
        slow_mode_secs: room.then_some(state.policy.slow_mode_secs),
    })
}

/// Every group this device holds (created, with a name).
pub(crate) fn group_ids(r: &Replica<Store>) -> Vec<ConversationId> {
    r.conversation_ids()
        .into_iter()
        .filter(|id| r.group_state(id).is_some_and(|s| s.creator.is_some()))
        .collect()
}

impl Node {
    /// Creates a private group with me as its admin and `members`
    /// (contacts) in it. Works offline: members get it when reached.
    pub async fn create_group(&self, name: &str, members: &[String]) -> Result<GroupView> {
        self.ensure_not_revoked()?;
        let name = name.trim();
        kith_wire::limits::check_name(name).map_err(|_| {
            CoreError::new(
                "invalid_input",
                "a group name is 1 to 64 bytes, without control characters",
            )
        })?;
        let mut accounts = Vec::new();
        for m in members {
            accounts.push(self.resolve_contact(m).await?);
        }
        let name = name.to_owned();
        self.act(|r| {
            if let Some(a) = accounts.iter().find(|a| r.device_log(a).is_none()) {
                return Err(CoreError::new(
                    "not_reachable",
                    format!(
                        "the devices of {} are not known yet: they arrive on the first connection",
                        a.to_hex()
                    ),
                ));
            }
            let (id, outputs) =
                r.create_group(ConversationKind::Group, &name, &accounts, now_ms())?;
            let view = group_view(r, &r.self_state(), &id)
                .ok_or_else(|| CoreError::new("internal", "the new group vanished"))?;
            Ok((view, outputs))
        })
        .await
    }

    /// Adds a contact to a group (I must be an admin there).
    pub async fn group_add(&self, group: &str, contact: &str) -> Result<GroupView> {
        let id = self.resolve_group(group).await?;
        let account = self.resolve_contact(contact).await?;
        self.group_change(id, move |r| {
            // A room's members hold its link key (it seals the room's
            // posts): they come in by the link, not by an admin's add.
            if r.group_state(&id).and_then(|s| s.kind) == Some(ConversationKind::Room) {
                return Err(CoreError::new(
                    "invalid_input",
                    "people join a room by its link: share `kith room invite ROOM`",
                ));
            }
            Ok(r.add_op(&account, Role::Member)?)
        })
        .await
    }

    /// Removes a member (a contact, or a member's account id).
    pub async fn group_remove(&self, group: &str, member: &str) -> Result<GroupView> {
        let id = self.resolve_group(group).await?;
        let account = self.resolve_member(&id, member).await?;
        self.group_change(id, move |_| Ok(GroupOp::Remove { account }))
            .await
    }

    /// Makes a member an admin.
    pub async fn group_promote(&self, group: &str, member: &str) -> Result<GroupView> {
        self.group_promote_to(group, member, Role::Admin).await
    }

    /// Raises a member to `role` (a room's moderator, or an admin).
    pub(crate) async fn group_promote_to(
        &self,
        group: &str,
        member: &str,
        role: Role,
    ) -> Result<GroupView> {
        let id = self.resolve_group(group).await?;
        let account = self.resolve_member(&id, member).await?;
        self.group_change(id, move |_| Ok(GroupOp::SetRole { account, role }))
            .await
    }

    /// Leaves a group: all of my devices are out of it; its history stays
    /// here, read-only, until I delete it.
    pub async fn group_leave(&self, group: &str) -> Result<LeftGroup> {
        let id = self.resolve_group(group).await?;
        self.group_change(id, |_| Ok(GroupOp::Leave)).await?;
        Ok(LeftGroup {
            group_id: id.to_hex(),
            left: true,
        })
    }

    /// Every group and room I am or was in.
    pub async fn groups(&self) -> Vec<GroupView> {
        self.with(|r| {
            let names = r.self_state();
            let mut list: Vec<GroupView> = group_ids(r)
                .iter()
                .filter_map(|id| group_view(r, &names, id))
                .collect();
            list.sort_by(|a, b| a.name.cmp(&b.name).then(a.group_id.cmp(&b.group_id)));
            list
        })
        .await
    }

    /// Writes one membership change, refused (with nothing written) if I
    /// may not make it.
    pub(crate) async fn group_change(
        &self,
        id: ConversationId,
        op: impl FnOnce(&Replica<Store>) -> Result<GroupOp> + Send,
    ) -> Result<GroupView> {
        self.ensure_not_revoked()?;
        self.act(move |r| {
            let op = op(r)?;
            let (_, outputs) = r.change_membership(id, op, now_ms())?;
            let view = group_view(r, &r.self_state(), &id)
                .ok_or_else(|| CoreError::new("internal", "the group vanished"))?;
            Ok((view, outputs))
        })
        .await
    }

    /// A group by id, unique id prefix (8 hex digits at least) or name.
    pub(crate) async fn resolve_group(&self, text: &str) -> Result<ConversationId> {
        exactly_one(
            &self.find_groups(text).await,
            "unknown_group",
            "group",
            text,
        )
    }

    async fn find_groups(&self, text: &str) -> Vec<ConversationId> {
        let text = text.trim().to_owned();
        let lower = text.to_ascii_lowercase();
        self.with(move |r| {
            let ids = group_ids(r);
            let by_id: Vec<ConversationId> = ids
                .iter()
                .filter(|id| lower.len() >= 8 && id.to_hex().starts_with(&lower))
                .copied()
                .collect();
            if !by_id.is_empty() {
                return by_id;
            }
            ids.into_iter()
                .filter(|id| {
                    r.group_state(id)
                        .is_some_and(|s| s.name.eq_ignore_ascii_case(&text))
                })
                .collect()
        })
        .await
    }

    /// A member of a group: a contact, or a member's account id (or a
    /// unique prefix of it, 8 hex digits at least).
    pub(crate) async fn resolve_member(
        &self,
        id: &ConversationId,
        text: &str,
    ) -> Result<AccountId> {
        if let Ok(account) = self.resolve_contact(text).await {
            return Ok(account);
        }
        let lower = text.trim().to_ascii_lowercase();
        let id = *id;
        let found: Vec<AccountId> = self
            .with(move |r| {
                r.group_state(&id)
                    .map(|s| {
                        s.members
                            .keys()
                            .filter(|a| lower.len() >= 8 && a.to_hex().starts_with(&lower))
                            .copied()
                            .collect()
                    })
                    .unwrap_or_default()
            })
            .await;
        exactly_one(&found, "unknown_member", "member", text)
    }

    /// What `send` or `messages` is aimed at: a contact or a group; a name
    /// that matches both is ambiguous.
    pub(crate) async fn resolve_target(&self, text: &str) -> Result<Target> {
        let contact = self.resolve_contact(text).await;
        let groups = self.find_groups(text).await;
        match (contact, groups.as_slice()) {
            (Ok(_), [_, ..]) => Err(CoreError::new(
                "ambiguous",
                format!("{text:?} names a contact and a group; use the id"),
            )),
            (Ok(account), []) => Ok(Target::Contact(account)),
            (Err(_), [one]) => Ok(Target::Group(*one)),
            (Err(e), []) => Err(if e.code == "unknown_contact" {
                // The code scripts know from before groups.
                CoreError::new(
                    "unknown_contact",
                    format!("no contact or group matches {text:?}"),
                )
            } else {
                e
            }),
            (Err(_), _) => Err(CoreError::new(
                "ambiguous",
                format!("several groups match {text:?}; use more of the id"),
            )),
        }
    }
}
