//! The commands: each a one-line delegation to `kith-core`. (They live in
//! their own module: Tauri's glue cannot export `pub` commands from the
//! crate root.)

use kith_core::{
    ContactView, ConversationView, CoreError, DeviceView, GroupView, Host, Identity, LeftGroup,
    MessagePage, NetworkSettings, SearchHit, Sent, Status, SyncReport,
};
use tauri::State;
use tauri_specta::Event;

use crate::LinkUri;

type Answer<T> = Result<T, CoreError>;

/// Whether a profile exists, and who it is.
#[tauri::command]
#[specta::specta]
pub async fn status(host: State<'_, Host>) -> Answer<Status> {
    host.status().await
}

/// Creates a new account on this device.
#[tauri::command]
#[specta::specta]
pub async fn create_account(
    host: State<'_, Host>,
    name: String,
    device_name: String,
) -> Answer<Identity> {
    host.create(&name, &device_name).await
}

/// Links this new device to an existing account (shows a link, waits).
#[tauri::command]
#[specta::specta]
pub async fn link_request(
    app: tauri::AppHandle,
    host: State<'_, Host>,
    device_name: String,
) -> Answer<Identity> {
    host.link_request(&device_name, |uri| drop(LinkUri { uri }.emit(&app)))
        .await
}

/// This device and account.
#[tauri::command]
#[specta::specta]
pub async fn identity(host: State<'_, Host>) -> Answer<Identity> {
    Ok(host.node().await?.identity().await)
}

/// A fresh `kith:` invite.
#[tauri::command]
#[specta::specta]
pub async fn invite(host: State<'_, Host>) -> Answer<String> {
    host.node().await?.invite().await
}

/// The QR code of a link, as an SVG document.
#[tauri::command]
#[specta::specta]
pub fn qr_svg(uri: String) -> Answer<String> {
    kith_core::qr_svg(&uri)
}

/// The link in a QR code image (PNG or JPEG bytes).
#[tauri::command]
#[specta::specta]
pub async fn read_qr(image: Vec<u8>) -> Answer<String> {
    off_the_main_thread(move || kith_core::read_qr(&image)).await
}

/// The text of a QR code in a camera frame (`width` × `height` grey
/// levels, row by row), or nothing when it shows no readable code.
#[tauri::command]
#[specta::specta]
pub async fn read_qr_frame(width: u32, height: u32, luma: Vec<u8>) -> Answer<Option<String>> {
    off_the_main_thread(move || kith_core::read_qr_frame(width, height, luma)).await
}

/// Runs CPU-heavy work (reading a QR code: tens to hundreds of
/// milliseconds a frame) on a blocking thread: a command without `async`
/// runs on the main thread and would freeze the window meanwhile.
async fn off_the_main_thread<T: Send + 'static>(
    work: impl FnOnce() -> Answer<T> + Send + 'static,
) -> Answer<T> {
    tauri::async_runtime::spawn_blocking(work)
        .await
        .map_err(|e| CoreError::new("internal", format!("the QR reader stopped: {e}")))?
}

/// Adds a contact from its `kith:` link.
#[tauri::command]
#[specta::specta]
pub async fn add_contact(
    host: State<'_, Host>,
    uri: String,
    name: Option<String>,
) -> Answer<ContactView> {
    host.node().await?.add_contact(&uri, name.as_deref()).await
}

/// Adds a contact by name (`user@example.com`) through its name server.
#[tauri::command]
#[specta::specta]
pub async fn add_contact_by_name(
    host: State<'_, Host>,
    name: String,
    alias: Option<String>,
) -> Answer<ContactView> {
    host.node()
        .await?
        .add_contact_by_name(&name, alias.as_deref())
        .await
}

/// Every contact.
#[tauri::command]
#[specta::specta]
pub async fn contacts(host: State<'_, Host>) -> Answer<Vec<ContactView>> {
    Ok(host.node().await?.contacts().await)
}

/// The safety number shared with a contact (60 digits).
#[tauri::command]
#[specta::specta]
pub async fn safety_number(host: State<'_, Host>, contact: String) -> Answer<String> {
    host.node().await?.safety_number(&contact).await
}

/// Validates a contact with the digits read from their device.
#[tauri::command]
#[specta::specta]
pub async fn validate(
    host: State<'_, Host>,
    contact: String,
    digits: String,
) -> Answer<ContactView> {
    host.node().await?.validate(&contact, &digits).await
}

/// Marks a contact compromised.
#[tauri::command]
#[specta::specta]
pub async fn compromise(host: State<'_, Host>, contact: String) -> Answer<ContactView> {
    host.node().await?.compromise(&contact).await
}

/// Acknowledges the devices a validated contact has now (it gained one).
#[tauri::command]
#[specta::specta]
pub async fn acknowledge_devices(host: State<'_, Host>, contact: String) -> Answer<ContactView> {
    host.node().await?.acknowledge_devices(&contact).await
}

/// Sends a text (queued; delivered when possible), answering `reply_to`
/// (a message id) if given.
#[tauri::command]
#[specta::specta]
pub async fn send(
    host: State<'_, Host>,
    contact: String,
    text: String,
    reply_to: Option<String>,
    anyway: bool,
) -> Answer<Sent> {
    host.node()
        .await?
        .send_reply(&contact, &text, reply_to.as_deref(), anyway)
        .await
}

/// Every conversation, the most recently active first.
#[tauri::command]
#[specta::specta]
pub async fn conversations(host: State<'_, Host>) -> Answer<Vec<ConversationView>> {
    Ok(host.node().await?.conversations().await)
}

/// Marks the conversation with a contact read, on all my devices.
#[tauri::command]
#[specta::specta]
pub async fn mark_read(host: State<'_, Host>, contact: String) -> Answer<()> {
    host.node().await?.mark_read(&contact).await
}

/// Mutes or unmutes the conversation with a contact, on all my devices.
#[tauri::command]
#[specta::specta]
pub async fn set_muted(host: State<'_, Host>, contact: String, muted: bool) -> Answer<()> {
    host.node().await?.set_muted(&contact, muted).await
}

/// Messages of every conversation that contain `query` (ignoring case).
#[tauri::command]
#[specta::specta]
pub async fn search(host: State<'_, Host>, query: String, limit: u32) -> Answer<Vec<SearchHit>> {
    host.node().await?.search(&query, limit as usize).await
}

/// Opens a link from a message in the system browser (`http`, `https` or
/// `mailto` only).
#[tauri::command]
#[specta::specta]
pub fn open_link(app: tauri::AppHandle, url: String) -> Answer<()> {
    use tauri_plugin_opener::OpenerExt;
    crate::links::check_openable(&url)?;
    app.opener()
        .open_url(url, None::<&str>)
        .map_err(|e| CoreError::new("unsupported", format!("no browser could open it: {e}")))
}

/// Tells the user a message from `from` arrived in the conversation with
/// `contact` (a notification naming the sender only; clicking it opens the
/// conversation, see [`crate::notify::NotificationOpened`]).
#[tauri::command]
#[specta::specta]
pub fn notify_message(app: tauri::AppHandle, contact: String, from: String) -> Answer<()> {
    if contact.len() > 128 {
        return Err(CoreError::new("invalid_input", "not a contact id"));
    }
    crate::notify::message(&app, contact, &from).map_err(|e| CoreError::new("unsupported", e))
}

/// The newest `limit` messages with a contact, in display order.
#[tauri::command]
#[specta::specta]
pub async fn messages(host: State<'_, Host>, contact: String, limit: u32) -> Answer<MessagePage> {
    host.node()
        .await?
        .latest_messages(&contact, limit as usize)
        .await
}

/// Deletes a message from all of my devices.
#[tauri::command]
#[specta::specta]
pub async fn delete_message(host: State<'_, Host>, message_id: String) -> Answer<()> {
    host.node().await?.delete(&message_id).await
}

/// Deletes a whole conversation from all of my devices.
#[tauri::command]
#[specta::specta]
pub async fn delete_conversation(host: State<'_, Host>, contact: String) -> Answer<()> {
    host.node().await?.delete_conversation(&contact).await
}

/// My devices.
#[tauri::command]
#[specta::specta]
pub async fn devices(host: State<'_, Host>) -> Answer<Vec<DeviceView>> {
    Ok(host.node().await?.devices().await)
}

/// Accepts a new device's `kith-link:` link.
#[tauri::command]
#[specta::specta]
pub async fn link_accept(host: State<'_, Host>, uri: String) -> Answer<DeviceView> {
    host.node().await?.link_accept(&uri).await
}

/// Revokes (untrusts) one of my devices.
#[tauri::command]
#[specta::specta]
pub async fn revoke(host: State<'_, Host>, device_id: String) -> Answer<()> {
    host.node().await?.revoke(&device_id).await
}

/// Syncs with every reachable device now.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(host: State<'_, Host>, timeout_secs: u32) -> Answer<SyncReport> {
    host.node()
        .await?
        .sync(std::time::Duration::from_secs(timeout_secs.into()))
        .await
}

/// This device's network settings.
#[tauri::command]
#[specta::specta]
pub fn network_settings(host: State<'_, Host>) -> NetworkSettings {
    host.network_settings()
}

/// Saves network settings; the node restarts with them.
#[tauri::command]
#[specta::specta]
pub async fn set_network_settings(
    host: State<'_, Host>,
    settings: NetworkSettings,
) -> Answer<NetworkSettings> {
    host.set_network_settings(settings).await
}

/// Unlocks the passphrase-protected profile.
#[tauri::command]
#[specta::specta]
pub async fn unlock(host: State<'_, Host>, passphrase: String) -> Answer<Identity> {
    host.unlock(passphrase).await
}

/// Locks the app now (only with a passphrase set).
#[tauri::command]
#[specta::specta]
pub async fn lock(host: State<'_, Host>) -> Answer<()> {
    host.lock().await
}

/// Sets, changes or removes (`next` = null) the app-lock passphrase.
#[tauri::command]
#[specta::specta]
pub async fn set_passphrase(
    host: State<'_, Host>,
    current: Option<String>,
    next: Option<String>,
) -> Answer<Status> {
    host.set_passphrase(current, next).await
}

/// `kith:` / `kith-link:` links the system opened the app with, not yet
/// taken (oldest first).
#[tauri::command]
#[specta::specta]
pub fn take_opened_links(links: State<'_, crate::OpenedLinks>) -> Vec<String> {
    links.take()
}

/// The UI has painted its first screen (reported for benchmark B9).
#[tauri::command]
#[specta::specta]
pub fn app_ready() {
    crate::report_ready();
}

/// My safety-number code for a contact (shown as a QR code).
#[tauri::command]
#[specta::specta]
pub async fn safety_code(host: State<'_, Host>, contact: String) -> Answer<String> {
    host.node().await?.safety_code(&contact).await
}

/// Validates a contact by the code scanned from their device.
#[tauri::command]
#[specta::specta]
pub async fn validate_code(
    host: State<'_, Host>,
    contact: String,
    code: String,
) -> Answer<ContactView> {
    host.node().await?.validate_code(&contact, &code).await
}

/// Creates a private group with me as its admin and these contacts in it.
#[tauri::command]
#[specta::specta]
pub async fn create_group(
    host: State<'_, Host>,
    name: String,
    members: Vec<String>,
) -> Answer<GroupView> {
    host.node().await?.create_group(&name, &members).await
}

/// Every group I am or was in.
#[tauri::command]
#[specta::specta]
pub async fn groups(host: State<'_, Host>) -> Answer<Vec<GroupView>> {
    Ok(host.node().await?.groups().await)
}

/// Adds a contact to a group (admins only).
#[tauri::command]
#[specta::specta]
pub async fn group_add(host: State<'_, Host>, group: String, contact: String) -> Answer<GroupView> {
    host.node().await?.group_add(&group, &contact).await
}

/// Removes a member from a group (admins only).
#[tauri::command]
#[specta::specta]
pub async fn group_remove(
    host: State<'_, Host>,
    group: String,
    member: String,
) -> Answer<GroupView> {
    host.node().await?.group_remove(&group, &member).await
}

/// Makes a member an admin (admins only).
#[tauri::command]
#[specta::specta]
pub async fn group_promote(
    host: State<'_, Host>,
    group: String,
    member: String,
) -> Answer<GroupView> {
    host.node().await?.group_promote(&group, &member).await
}

/// Leaves a group on all of my devices.
#[tauri::command]
#[specta::specta]
pub async fn group_leave(host: State<'_, Host>, group: String) -> Answer<LeftGroup> {
    host.node().await?.group_leave(&group).await
}
