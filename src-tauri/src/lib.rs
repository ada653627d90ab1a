//! Kith's app: every command is a one-line delegation to `kith-core`
//! (through its [`Host`], which opens the profile on demand). Commands and
//! events are collected with tauri-specta, which generates the UI's typed
//! bindings (`ui/src/lib/bindings.ts`; a test fails when they drift).
//! Errors reach the UI as `{ code, message }`.
#![forbid(unsafe_code)]

mod camera;
mod commands;
mod keystore;
mod links;
mod log;
mod notify;
mod rooms;

use commands::*;
use kith_core::{Host, NetConfig, NodeEvent};
use rooms::*;
use serde::{Deserialize, Serialize};
use tauri::Manager;
use tauri_specta::{Event, collect_commands, collect_events};

/// Something the node reports (new message, delivery, trust, devices).
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct KithEvent(pub NodeEvent);

/// The `kith-link:` link this new device shows while it waits to be linked.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct LinkUri {
    /// The link (also shown as a QR code).
    pub uri: String,
}

/// A `kith:` or `kith-link:` link the system opened the app with (at start
/// or while running); the UI takes them with `take_opened_links`.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct LinkOpened {
    /// The link.
    pub uri: String,
}

/// Opened links the UI has not taken yet (it may still be starting,
/// onboarding or locked when one arrives).
#[derive(Debug, Default)]
pub struct OpenedLinks(std::sync::Mutex<Vec<String>>);

impl OpenedLinks {
    /// Keeps the links of Kith's schemes; returns the newest of them.
    fn add(&self, urls: impl IntoIterator<Item = String>) -> Option<String> {
        let ours: Vec<String> = urls
            .into_iter()
            .filter(|u| is_kith_link(u))
            .take(MAX_OPENED_LINKS)
            .collect();
        let newest = ours.last().cloned();
        if let Ok(mut links) = self.0.lock() {
            links.extend(ours);
            let excess = links.len().saturating_sub(MAX_OPENED_LINKS);
            links.drain(..excess);
        }
        newest
    }

    /// The links not taken yet, oldest first.
    pub fn take(&self) -> Vec<String> {
        self.0
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default()
    }
}

/// At most this many opened links wait (a flood of launches keeps the newest).
const MAX_OPENED_LINKS: usize = 8;

/// Whether `uri` is one of Kith's links (`kith:` invite, `kith-link:` device
/// link, `kith-room:` public room).
fn is_kith_link(uri: &str) -> bool {
    let ours = |s: &str| {
        [
            kith_core::CONTACT_SCHEME,
            kith_core::LINK_SCHEME,
            kith_core::ROOM_SCHEME,
        ]
        .iter()
        .any(|ours| s.eq_ignore_ascii_case(ours))
    };
    uri.len() <= 4096 && uri.split_once(':').is_some_and(|(scheme, _)| ours(scheme))
}

/// Prints `ready` on stdout, once, when `KITH_REPORT_READY=1`: the UI has
/// painted its first screen (benchmark B9 measures the time to it).
pub fn report_ready() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var("KITH_REPORT_READY").is_ok_and(|v| v == "1") {
        ONCE.call_once(|| {
            use std::io::Write;
            let mut out = std::io::stdout();
            let _ = writeln!(out, "ready").and_then(|()| out.flush());
        });
    }
}

/// Commands and events, for the invoke handler and the TypeScript export.
pub fn specta_builder() -> tauri_specta::Builder<tauri::Wry> {
    tauri_specta::Builder::<tauri::Wry>::new()
        .commands(collect_commands![
            status,
            create_account,
            link_request,
            identity,
            invite,
            qr_svg,
            read_qr,
            read_qr_frame,
            add_contact,
            add_contact_by_name,
            contacts,
            safety_number,
            validate,
            compromise,
            acknowledge_devices,
            send,
            conversations,
            mark_read,
            set_muted,
            search,
            open_link,
            notify_message,
            messages,
            delete_message,
            delete_conversation,
            devices,
            link_accept,
            revoke,
            sync_now,
            network_settings,
            set_network_settings,
            unlock,
            lock,
            set_passphrase,
            take_opened_links,
            app_ready,
            safety_code,
            validate_code,
            create_group,
            groups,
            group_add,
            group_remove,
            group_promote,
            group_leave,
            create_room,
            room_invite,
            join_room,
            room_ban,
            room_remove_post,
            room_set_policy,
            room_make_moderator,
        ])
        .events(collect_events![
            KithEvent,
            LinkUri,
            LinkOpened,
            notify::NotificationOpened
        ])
        .constant("MIN_PASSPHRASE_CHARS", kith_core::MIN_PASSPHRASE_CHARS)
        // Only timestamps (Unix milliseconds, far below 2^53) are 64-bit.
        .dangerously_cast_bigints_to_number()
}

/// Where the TypeScript bindings live.
pub const BINDINGS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");

/// Network settings from the environment: `KITH_LOCAL=1` keeps to
/// loopback (no relay, mDNS, DHT or portmapper; tests) and then the
/// settings screen's choices are ignored; `KITH_LISTEN` sets the listening
/// address.
fn net_from_env() -> (NetConfig, bool) {
    let local = std::env::var("KITH_LOCAL").is_ok_and(|v| v == "1");
    let mut net = if local {
        NetConfig::local()
    } else {
        NetConfig::default()
    };
    if let Some(addr) = std::env::var("KITH_LISTEN")
        .ok()
        .and_then(|a| a.parse().ok())
    {
        net.bind = Some(addr);
    }
    (net, local)
}

/// Starts the app.
#[cfg_attr(mobile, tauri::mobile_entry_point)]
pub fn run() {
    let dir = kith_core::default_data_dir();
    log::init(&dir);
    let builder = specta_builder();
    let app = tauri::Builder::default();
    // First, so a second launch hands over its arguments (a `kith:` link)
    // to the running app and exits before anything else starts.
    #[cfg(desktop)]
    let app = app.plugin(single_instance(&dir));
    let app = app
        .plugin(tauri_plugin_notification::init())
        .plugin(tauri_plugin_deep_link::init())
        .plugin(tauri_plugin_opener::init());
    // The window opens at the size and place it had when last closed.
    #[cfg(desktop)]
    let app = app.plugin(tauri_plugin_window_state::Builder::new().build());
    #[cfg(mobile)]
    let app = app.plugin(tauri_plugin_barcode_scanner::init());
    let result = app
        .invoke_handler(builder.invoke_handler())
        .on_permission_request(|_, kind| camera::permission(&kind))
        .setup(move |app| {
            builder.mount_events(app);
            camera::prepare(app);
            let (net, fixed) = net_from_env();
            deep_links(app.handle(), fixed);
            keystore::prepare(&dir);
            app.manage(Host::new(&dir, net, fixed));
            app.manage(notify::Notifier::default());
            let warm = app.handle().clone();
            tauri::async_runtime::spawn(async move { warm.state::<Host>().warm_up().await });
            let handle = app.handle().clone();
            let mut events = app.state::<Host>().subscribe();
            tauri::async_runtime::spawn(async move {
                while let Ok(event) = events.recv().await {
                    let _ = KithEvent(event).emit(&handle);
                }
            });
            #[cfg(unix)]
            exit_on_signals(app.handle().clone());
            Ok(())
        })
        .build(tauri::generate_context!())
        .map(|app| {
            app.run(|app, event| {
                // Quitting closes the profile cleanly (last writes synced,
                // connections closed) before the process ends.
                if let tauri::RunEvent::Exit = event {
                    tauri::async_runtime::block_on(app.state::<Host>().shutdown());
                }
            });
        });
    if let Err(e) = result {
        // No window to show it in: the terminal is all there is.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("kith: the app failed: {e}");
        }
        std::process::exit(1);
    }
}

/// SIGTERM, SIGINT and SIGHUP (logout, `kill`, Ctrl-C in a terminal) quit
/// like closing the window: the profile is closed cleanly first.
#[cfg(unix)]
fn exit_on_signals(app: tauri::AppHandle) {
    use tokio::signal::unix::{SignalKind, signal};
    tauri::async_runtime::spawn(async move {
        let (Ok(mut term), Ok(mut int), Ok(mut hup)) = (
            signal(SignalKind::terminate()),
            signal(SignalKind::interrupt()),
            signal(SignalKind::hangup()),
        ) else {
            tracing::warn!("cannot watch signals: they end the app without closing the profile");
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
            _ = hup.recv() => {}
        }
        app.exit(0);
    });
}

/// One running app per profile folder: a second launch (say, a `kith:`
/// link clicked in a browser) brings the running window forward and hands
/// it the link. On Linux the D-Bus name is keyed by the profile folder, so
/// apps with different `KITH_DATA_DIR`s run side by side.
#[cfg(desktop)]
fn single_instance<R: tauri::Runtime>(dir: &std::path::Path) -> tauri::plugin::TauriPlugin<R> {
    use std::hash::{Hash, Hasher};
    let mut builder = tauri_plugin_single_instance::Builder::new().callback(|app, _argv, _cwd| {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.set_focus();
        }
    });
    if std::env::var_os("KITH_DATA_DIR").is_some() {
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        dir.hash(&mut hasher);
        builder = builder.dbus_id(format!("org.kith.messenger.p{:016x}", hasher.finish()));
    }
    builder.build()
}

/// Takes `kith:` and `kith-link:` links from the system: the one the app
/// was started with and those opened while it runs (through the
/// single-instance hand-over on desktops). Unbundled Linux builds register
/// the schemes for this executable (an installed package does it with its
/// `.desktop` file), except when the environment keeps the app local
/// (`KITH_LOCAL=1`, tests).
fn deep_links(app: &tauri::AppHandle, local: bool) {
    use tauri_plugin_deep_link::DeepLinkExt;
    app.manage(OpenedLinks::default());
    #[cfg(not(target_os = "linux"))]
    let _ = local;
    #[cfg(target_os = "linux")]
    if !local
        && !installed()
        && let Err(e) = app.deep_link().register_all()
    {
        tracing::warn!("kith: links will not open the app: {e}");
    }
    let urls = |urls: Vec<tauri::Url>| urls.into_iter().map(String::from);
    if let Ok(Some(start)) = app.deep_link().get_current() {
        app.state::<OpenedLinks>().add(urls(start));
    }
    let handle = app.clone();
    app.deep_link().on_open_url(move |event| {
        if let Some(uri) = handle.state::<OpenedLinks>().add(urls(event.urls())) {
            let _ = LinkOpened { uri }.emit(&handle);
        }
    });
}

/// Whether this executable was installed by a package (whose `.desktop`
/// file registers the URL schemes).
#[cfg(target_os = "linux")]
fn installed() -> bool {
    std::env::current_exe().map_or(true, |exe| {
        exe.starts_with("/usr") || exe.starts_with("/opt")
    })
}

#[cfg(test)]
mod tests {
    use super::OpenedLinks;

    #[test]
    fn opened_links_keep_only_kith_links_and_the_newest_few() {
        let links = OpenedLinks::default();
        let newest = links.add(
            [
                "https://example.org/kith:x",
                "kith:AEAC",
                "kith-room:ROOM",
                "file:///etc/passwd",
                "KITH-LINK:ABC",
                "kithx:no",
                "",
            ]
            .map(String::from),
        );
        assert_eq!(newest.as_deref(), Some("KITH-LINK:ABC"));
        assert_eq!(
            links.take(),
            ["kith:AEAC", "kith-room:ROOM", "KITH-LINK:ABC"]
        );
        assert!(links.take().is_empty());
        assert_eq!(links.add(["mailto:a@b".to_owned()]), None);
        let long = format!("kith:{}", "A".repeat(5000));
        assert_eq!(links.add([long]), None);
        for i in 0..20 {
            links.add([format!("kith:{i}")]);
        }
        let kept = links.take();
        assert_eq!(kept.len(), super::MAX_OPENED_LINKS);
        assert_eq!(kept.last().map(String::as_str), Some("kith:19"));
    }

    /// The committed bindings are what the commands export now; set
    /// `KITH_UPDATE_BINDINGS=1` to rewrite them.
    #[test]
    fn bindings_are_current() {
        let dir = std::env::temp_dir().join(format!("kith-bindings-{}", std::process::id()));
        let fresh = dir.join("bindings.ts");
        super::specta_builder()
            .export(specta_typescript::Typescript::default(), &fresh)
            .expect("export the bindings");
        let fresh = std::fs::read_to_string(&fresh).expect("read the fresh bindings");
        let _ = std::fs::remove_dir_all(&dir);
        if std::env::var("KITH_UPDATE_BINDINGS").is_ok_and(|v| v == "1") {
            std::fs::write(super::BINDINGS, &fresh).expect("write the bindings");
        }
        let committed = std::fs::read_to_string(super::BINDINGS).unwrap_or_default();
        assert!(
            committed == fresh,
            "ui/src/lib/bindings.ts differs from the commands: run \
             `KITH_UPDATE_BINDINGS=1 cargo test -p kith-app bindings` and commit it"
        );
    }
}
