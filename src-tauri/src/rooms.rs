//! The public-room commands: each a one-line delegation to `kith-core`.

use kith_core::{CoreError, GroupView, Host, RemovedPost, RoomCreated, RoomJoined, RoomLink};
use tauri::State;

type Answer<T> = Result<T, CoreError>;

/// Creates a public room with me as its admin; returns its link.
#[tauri::command]
#[specta::specta]
pub async fn create_room(host: State<'_, Host>, name: String) -> Answer<RoomCreated> {
    host.node().await?.create_room(&name).await
}

/// A room's `kith-room:` link, with this device as its door.
#[tauri::command]
#[specta::specta]
pub async fn room_invite(host: State<'_, Host>, room: String) -> Answer<RoomLink> {
    host.node().await?.room_invite(&room).await
}

/// Joins a room by its `kith-room:` link.
#[tauri::command]
#[specta::specta]
pub async fn join_room(host: State<'_, Host>, uri: String) -> Answer<RoomJoined> {
    host.node().await?.join_room(&uri).await
}

/// Bans an account from a room (moderators and admins).
#[tauri::command]
#[specta::specta]
pub async fn room_ban(host: State<'_, Host>, room: String, account: String) -> Answer<GroupView> {
    host.node().await?.room_ban(&room, &account).await
}

/// Removes a post from a room for everyone (moderators and admins).
#[tauri::command]
#[specta::specta]
pub async fn room_remove_post(
    host: State<'_, Host>,
    room: String,
    message: String,
) -> Answer<RemovedPost> {
    host.node().await?.room_remove_post(&room, &message).await
}

/// Sets who may post in a room (`everyone` or `moderators`) and its slow
/// mode in seconds (moderators and admins).
#[tauri::command]
#[specta::specta]
pub async fn room_set_policy(
    host: State<'_, Host>,
    room: String,
    posting: String,
    slow_mode_secs: u32,
) -> Answer<GroupView> {
    host.node()
        .await?
        .room_set_policy(&room, &posting, slow_mode_secs)
        .await
}

/// Makes a member of a room a moderator (admins only).
#[tauri::command]
#[specta::specta]
pub async fn room_make_moderator(
    host: State<'_, Host>,
    room: String,
    member: String,
) -> Answer<GroupView> {
    host.node().await?.room_make_moderator(&room, &member).await
}
