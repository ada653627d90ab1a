//! Public rooms: create one (and its `kith-room:` link), hand out the link,
//! join by it, ban. The door: any member device lets in whoever presents
//! the link's secret (`kith/link/1`), as a guest who syncs the room until
//! it joins. Rules: the engine's (`kith_sync` rooms, `docs/groups.md` §8).

use std::time::{Duration, Instant};

use kith_identity::{MemberStatus, invite};
use kith_net::LinkReply;
use kith_wire::{
    ConversationId, ConversationKind, EntryHash, GroupOp, InviteKind, Posting, SignedAnnouncement,
    SignedDeviceEntry, TransportId,
};

use crate::error::{CoreError, Result};
use crate::link_service::dialer_log;
use crate::node::{Node, now_ms, now_secs};
use crate::views::{GroupView, RemovedPost, RoomCreated, RoomJoined, RoomLink};

/// How long joining waits for the room's log to arrive from its door.
const JOIN_WAIT: Duration = Duration::from_secs(30);

impl Node {
    /// Creates a public room with me as its admin; its link lets anyone in.
    /// Works offline (the link names this device's last known addresses).
    pub async fn create_room(&self, name: &str) -> Result<RoomCreated> {
        self.ensure_not_revoked()?;
        let name = name.trim().to_owned();
        kith_wire::limits::check_name(&name).map_err(|_| {
            CoreError::new(
                "invalid_input",
                "a room name is 1 to 64 bytes, without control characters",
            )
        })?;
        let room = self.act(|r| Ok(r.create_room(&name, now_ms())?)).await?;
        let uri = self.room_uri(room).await?;
        Ok(RoomCreated {
            group_id: room.to_hex(),
            name,
            uri,
        })
    }

    /// A room's link, with this device as its door.
    pub async fn room_invite(&self, room: &str) -> Result<RoomLink> {
        let room = self.resolve_group(room).await?;
        Ok(RoomLink {
            uri: self.room_uri(room).await?,
        })
    }

    async fn room_uri(&self, room: ConversationId) -> Result<String> {
        let addresses = self.addresses().await;
        let made = self
            .with(|r| {
                let state = r
                    .group_state(&room)
                    .filter(|s| s.kind == Some(ConversationKind::Room))
                    .ok_or_else(|| {
                        CoreError::new("invalid_input", "that is a group, not a room")
                    })?;
                if state.role_of(&r.account_id()).is_none() {
                    return Err(CoreError::new(
                        "not_allowed",
                        "only a member of the room can let others in",
                    ));
                }
                let key = r.room_key(&room).ok_or_else(|| {
                    CoreError::new("not_allowed", "this device does not hold the room's link")
                })?;
                Ok(invite::room_link(
                    r.keys(),
                    room,
                    &state.name,
                    key,
                    addresses,
                )?)
            })
            .await?;
        Ok(invite::to_uri(&made)?)
    }

    /// Joins a room by its `kith-room:` link: its door device lets me in,
    /// the room's log arrives, and I write my join. Needs the network.
    pub async fn join_room(&self, uri: &str) -> Result<RoomJoined> {
        self.ensure_not_revoked()?;
        let link = invite::parse_uri(uri, now_secs())?;
        let InviteKind::Room { room, name, key } = &link.kind else {
            return Err(CoreError::wrong_link(&link.kind));
        };
        let (room, key) = (*room, key.clone());
        let status = self
            .with(|r| {
                r.group_state(&room)
                    .and_then(|s| s.members.get(&r.account_id()).map(|m| m.status))
            })
            .await;
        match status {
            Some(MemberStatus::Active) => {}
            Some(MemberStatus::Banned { .. }) => {
                return Err(CoreError::new(
                    "not_allowed",
                    "you are banned from this room",
                ));
            }
            Some(_) => {
                return Err(CoreError::new(
                    "not_allowed",
                    "you left this room (or were removed) and cannot join it again",
                ));
            }
            None => {
                if self.with(|r| r.room_key(&room).is_none()).await {
                    self.act(move |r| {
                        let record = kith_wire::SelfRecord::RoomKey { room, key };
                        Ok(((), r.record(record, now_ms())?))
                    })
                    .await?;
                }
                if !self.with(|r| r.room_arrived(&room)).await {
                    self.come_in(&link, room).await?;
                }
                self.act(|r| Ok(((), r.join_room(room, now_ms())?))).await?;
            }
        }
        let name = self
            .with(|r| r.group_state(&room).map(|s| s.name.clone()))
            .await
            .unwrap_or_else(|| name.clone());
        Ok(RoomJoined {
            group_id: room.to_hex(),
            name,
        })
    }

    /// Knocks at a room's door and waits for the room's log to arrive.
    async fn come_in(&self, link: &kith_wire::Invite, room: ConversationId) -> Result<()> {
        if self.inner.online.lock().await.is_none() {
            return Err(CoreError::new(
                "not_reachable",
                "joining a room needs the network (this device is offline)",
            ));
        }
        let (log, announcement) = self.knock(link).await.map_err(|e| match e.code {
            "invite_refused" => CoreError::new(
                "invite_refused",
                e.message.replace("the inviting device", "the room's door"),
            ),
            "network" | "timeout" => CoreError::new(
                "not_reachable",
                format!(
                    "the room's door (the device the link names) cannot be reached now; \
                     try again when it is online, or ask for a link from another member ({})",
                    e.message
                ),
            ),
            _ => e,
        })?;
        self.learn_log(log, announcement, false).await?;
        self.try_connect_transport(link.transport).await;
        let deadline = Instant::now() + JOIN_WAIT;
        while !self.with(|r| r.room_arrived(&room)).await {
            if Instant::now() >= deadline {
                return Err(CoreError::new(
                    "timeout",
                    "the room's door let me in, but the room did not arrive in time; try again",
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(())
    }

    /// Bans an account from a room (moderators and admins, of a lower
    /// role): what it writes from then on is shown and forwarded by nobody.
    pub async fn room_ban(&self, room: &str, account: &str) -> Result<GroupView> {
        let id = self.resolve_group(room).await?;
        let account = self.resolve_member(&id, account).await?;
        self.group_change(id, move |_| Ok(GroupOp::Ban { account }))
            .await
    }

    /// Makes a member of a room a moderator (admins only).
    pub async fn room_make_moderator(&self, room: &str, member: &str) -> Result<GroupView> {
        self.group_promote_to(room, member, kith_wire::Role::Moderator)
            .await
    }

    /// Sets who may post in a room (`everyone` or `moderators`) and its
    /// slow mode (seconds between two posts of one member device, 0 for
    /// none, at most a day); moderators and admins.
    pub async fn room_set_policy(
        &self,
        room: &str,
        posting: &str,
        slow_mode_secs: u32,
    ) -> Result<GroupView> {
        let posting = match posting.trim() {
            "everyone" => Posting::Everyone,
            "moderators" => Posting::Moderators,
            other => {
                return Err(CoreError::new(
                    "invalid_input",
                    format!("who posts is `everyone` or `moderators`, not {other:?}"),
                ));
            }
        };
        if slow_mode_secs > kith_wire::MAX_SLOW_MODE_SECS {
            return Err(CoreError::new(
                "invalid_input",
                "slow mode is at most a day (86400 seconds)",
            ));
        }
        let id = self.resolve_group(room).await?;
        self.group_change(id, move |_| {
            Ok(GroupOp::SetPolicy {
                posting,
                slow_mode_secs,
            })
        })
        .await
    }

    /// Removes a post from a room for everyone (moderators and admins):
    /// `message` is its id or a unique prefix of it (8 hex digits at least).
    pub async fn room_remove_post(&self, room: &str, message: &str) -> Result<RemovedPost> {
        let id = self.resolve_group(room).await?;
        let lower = message.trim().to_ascii_lowercase();
        if lower.len() < 8 {
            return Err(CoreError::new(
                "invalid_input",
                "give at least 8 hex digits of the message id",
            ));
        }
        let found: Vec<EntryHash> = self
            .with(move |r| {
                r.messages(&id)
                    .into_iter()
                    .map(|(entry, _)| entry)
                    .filter(|entry| entry.to_hex().starts_with(&lower))
                    .collect()
            })
            .await;
        let entry = match found.as_slice() {
            [one] => *one,
            [] => {
                return Err(CoreError::new(
                    "unknown_message",
                    "no such message in that room",
                ));
            }
            _ => {
                return Err(CoreError::new(
                    "ambiguous",
                    "several messages match; use more of the id",
                ));
            }
        };
        self.group_change(id, move |_| Ok(GroupOp::RemovePost { entry }))
            .await?;
        Ok(RemovedPost {
            group_id: id.to_hex(),
            message_id: entry.to_hex(),
            removed: true,
        })
    }

    /// The door: a stranger presenting a room's secret comes in as a guest
    /// (refused if banned, removed or departed), and we sync at once.
    pub(crate) async fn open_door(
        &self,
        room: ConversationId,
        remote: TransportId,
        log: Vec<SignedDeviceEntry>,
        announcement: Option<SignedAnnouncement>,
    ) -> Result<LinkReply, String> {
        let log = dialer_log(log, &remote)?;
        let guest = log.clone();
        self.act(move |r| Ok(((), r.admit_guest(&room, guest)?)))
            .await
            .map_err(|e| e.to_string())?;
        self.learn_log(log, announcement, false)
            .await
            .map_err(|e| e.to_string())?;
        Ok(self.welcome(remote).await)
    }
}
