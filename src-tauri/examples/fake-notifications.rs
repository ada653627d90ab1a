//! A stand-in desktop notification server for the end-to-end test: it owns
//! `org.freedesktop.Notifications` on the session bus of
//! `DBUS_SESSION_BUS_ADDRESS` (the test's own bus, never the user's), prints
//! each notification it is asked to show as one JSON line on stdout, and
//! "clicks" one when stdin says `click ID` (it emits `ActionInvoked(ID,
//! "default")`, then `NotificationClosed(ID, 2)`, as a desktop does when a
//! person clicks a notification). It exits when stdin closes.

#[cfg(target_os = "linux")]
mod server {
    use std::collections::HashMap;
    use std::io::{BufRead, Write};

    use zbus::object_server::SignalEmitter;
    use zbus::zvariant::OwnedValue;

    const PATH: &str = "/org/freedesktop/Notifications";

    pub struct Notifications {
        next: u32,
    }

    #[zbus::interface(name = "org.freedesktop.Notifications")]
    impl Notifications {
        #[allow(clippy::too_many_arguments)]
        fn notify(
            &mut self,
            app_name: String,
            replaces_id: u32,
            _app_icon: String,
            summary: String,
            body: String,
            actions: Vec<String>,
            _hints: HashMap<String, OwnedValue>,
            _expire_timeout: i32,
        ) -> u32 {
            let id = if replaces_id != 0 {
                replaces_id
            } else {
                self.next += 1;
                self.next
            };
            let line = serde_json::json!({
                "id": id,
                "replaces_id": replaces_id,
                "app_name": app_name,
                "summary": summary,
                "body": body,
                "actions": actions,
            });
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}").and_then(|()| out.flush());
            id
        }

        fn close_notification(&self, _id: u32) {}

        fn get_capabilities(&self) -> Vec<String> {
            vec!["actions".into(), "body".into()]
        }

        fn get_server_information(&self) -> (String, String, String, String) {
            ("kith-e2e".into(), "kith".into(), "1".into(), "1.2".into())
        }

        #[zbus(signal)]
        async fn action_invoked(
            emitter: &SignalEmitter<'_>,
            id: u32,
            action_key: &str,
        ) -> zbus::Result<()>;

        #[zbus(signal)]
        async fn notification_closed(
            emitter: &SignalEmitter<'_>,
            id: u32,
            reason: u32,
        ) -> zbus::Result<()>;
    }

    pub fn run() -> Result<(), String> {
        let connection = zbus::blocking::connection::Builder::session()
            .and_then(|b| b.serve_at(PATH, Notifications { next: 0 }))
            .and_then(|b| b.name("org.freedesktop.Notifications"))
            .and_then(|b| b.build())
            .map_err(|e| format!("cannot serve notifications: {e}"))?;
        {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{{\"ready\":true}}").and_then(|()| out.flush());
        }
        let iface = connection
            .object_server()
            .interface::<_, Notifications>(PATH)
            .map_err(|e| e.to_string())?;
        for line in std::io::stdin().lock().lines() {
            let line = line.map_err(|e| e.to_string())?;
            let Some(id) = line
                .strip_prefix("click ")
                .and_then(|id| id.trim().parse::<u32>().ok())
            else {
                continue;
            };
            let emitter = iface.signal_emitter();
            zbus::block_on(Notifications::action_invoked(emitter, id, "default"))
                .and_then(|()| zbus::block_on(Notifications::notification_closed(emitter, id, 2)))
                .map_err(|e| format!("cannot click {id}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    match server::run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            use std::io::Write;
            let _ = writeln!(std::io::stderr(), "fake-notifications: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(not(target_os = "linux"))]
fn main() {}
