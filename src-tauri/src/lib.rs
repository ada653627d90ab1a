//! Kith's app: every command is a one-line delegation to `kith-core`
//! (through its [`Host`], which opens the profile on demand). Commands and
//! events are collected with tauri-specta, which generates the UI's typed
//! bindings (`ui/src/lib/bindings.ts`; a test fails when they drift).
//! Errors reach the UI as `{ code, message }`.
#![forbid(unsafe_code)]

mod commands;

use commands::*;
use kith_core::{Host, NetConfig, NodeEvent};
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
            add_contact,
            add_contact_by_name,
            contacts,
            safety_number,
            validate,
            compromise,
            send,
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
        ])
        .events(collect_events![KithEvent, LinkUri])
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
    let builder = specta_builder();
    let app = tauri::Builder::default().plugin(tauri_plugin_notification::init());
    #[cfg(mobile)]
    let app = app.plugin(tauri_plugin_barcode_scanner::init());
    let result = app
        .invoke_handler(builder.invoke_handler())
        .setup(move |app| {
            builder.mount_events(app);
            let (net, fixed) = net_from_env();
            app.manage(Host::new(&kith_core::default_data_dir(), net, fixed));
            let handle = app.handle().clone();
            let mut events = app.state::<Host>().subscribe();
            tauri::async_runtime::spawn(async move {
                while let Ok(event) = events.recv().await {
                    let _ = KithEvent(event).emit(&handle);
                }
            });
            Ok(())
        })
        .run(tauri::generate_context!());
    if let Err(e) = result {
        // No window to show it in: the terminal is all there is.
        #[allow(clippy::print_stderr)]
        {
            eprintln!("kith: the app failed: {e}");
        }
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
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
