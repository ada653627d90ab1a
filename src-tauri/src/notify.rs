//! Notifications of new messages: the sender's name only, never the text
//! (the screen may be shared or locked). On desktops they are shown with
//! `notify-rust`, which reports a click (the notification plugin does not):
//! clicking one brings the window forward and opens the conversation
//! ([`NotificationOpened`]). On Android and iOS the notification plugin
//! shows them (a tap brings the app forward; opening the conversation from
//! it is not done yet). A conversation has one notification at a time: the
//! next message replaces it where the desktop has notification ids (XDG);
//! on Windows and macOS a later one shows too, but only the first opens
//! the conversation until it is gone (untested there).

use serde::{Deserialize, Serialize};

/// A notification was clicked: the UI opens this conversation.
#[derive(Clone, Debug, Serialize, Deserialize, specta::Type, tauri_specta::Event)]
pub struct NotificationOpened {
    /// The contact whose conversation to open.
    pub contact_id: String,
}

/// At most this many notifications wait for a click at once (each waits on
/// a thread of its own); past it they are still shown, without the click.
const MAX_WAITING: usize = 16;

/// Longest sender name shown (in characters).
const MAX_NAME_CHARS: usize = 64;

/// What a notification says: who wrote, not what.
pub(crate) fn body(from: &str) -> String {
    let name: String = from
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_NAME_CHARS)
        .collect();
    let name = name.trim();
    if name.is_empty() {
        "New message".to_owned()
    } else {
        format!("New message from {name}")
    }
}

/// The notifications waiting for a click, by conversation (the desktop's id
/// of each, where it has ids, so that the next message replaces it).
#[derive(Debug, Default)]
pub struct Notifier(std::sync::Mutex<std::collections::HashMap<String, Option<u32>>>);

/// What to do for a new notification of a conversation.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Plan {
    /// Replace the one shown (it already waits for a click).
    Replace(u32),
    /// Show a new one and wait for its click.
    ShowAndWait,
    /// Show a new one without waiting (too many wait, or one of this
    /// conversation is being shown right now).
    Show,
}

impl Notifier {
    pub(crate) fn plan(&self, contact: &str) -> Plan {
        let Ok(mut waiting) = self.0.lock() else {
            return Plan::Show;
        };
        match waiting.get(contact) {
            Some(Some(id)) => Plan::Replace(*id),
            Some(None) => Plan::Show,
            None if waiting.len() >= MAX_WAITING => Plan::Show,
            None => {
                waiting.insert(contact.to_owned(), None);
                Plan::ShowAndWait
            }
        }
    }

    /// The desktop's id of the conversation's notification, once shown.
    pub(crate) fn shown(&self, contact: &str, id: Option<u32>) {
        if let Ok(mut waiting) = self.0.lock()
            && let Some(slot) = waiting.get_mut(contact)
        {
            *slot = id;
        }
    }

    /// The conversation's notification was clicked, closed or failed.
    pub(crate) fn done(&self, contact: &str) {
        if let Ok(mut waiting) = self.0.lock() {
            waiting.remove(contact);
        }
    }
}

/// Shows the notification of a new message from `from` in the conversation
/// with `contact`.
pub fn message(app: &tauri::AppHandle, contact: String, from: &str) -> Result<(), String> {
    let body = body(from);
    #[cfg(desktop)]
    {
        desktop::show(app, contact, body)
    }
    #[cfg(mobile)]
    {
        use tauri_plugin_notification::NotificationExt;
        let _ = contact;
        app.notification()
            .builder()
            .title("Kith")
            .body(body)
            .show()
            .map_err(|e| e.to_string())
    }
}

#[cfg(desktop)]
mod desktop {
    use tauri::Manager;
    use tauri_specta::Event;

    use super::{NotificationOpened, Notifier, Plan};

    pub fn show(app: &tauri::AppHandle, contact: String, body: String) -> Result<(), String> {
        let mut notification = notify_rust::Notification::new();
        notification
            .appname("Kith")
            .summary("Kith")
            .body(&body)
            .action("default", "Open");
        let plan = app.state::<Notifier>().plan(&contact);
        #[cfg(all(unix, not(target_os = "macos")))]
        if let Plan::Replace(id) = plan {
            notification.id(id);
        }
        let app = app.clone();
        // Showing talks to the desktop (D-Bus, WinRT…) and waiting blocks:
        // a thread of its own, bounded by MAX_WAITING.
        std::thread::Builder::new()
            .name("notification".into())
            .spawn(move || {
                let notifier = app.state::<Notifier>();
                let handle = match notification.show() {
                    Ok(handle) => handle,
                    Err(e) => {
                        tracing::debug!("no notification shown: {e}");
                        if plan == Plan::ShowAndWait {
                            notifier.done(&contact);
                        }
                        return;
                    }
                };
                if plan != Plan::ShowAndWait {
                    return;
                }
                #[cfg(all(unix, not(target_os = "macos")))]
                notifier.shown(&contact, Some(handle.id()));
                #[cfg(not(all(unix, not(target_os = "macos"))))]
                notifier.shown(&contact, None);
                let mut clicked = false;
                handle.wait_for_action(|action| clicked = action == "default");
                notifier.done(&contact);
                if clicked {
                    open(&app, contact);
                }
            })
            .map(drop)
            .map_err(|e| e.to_string())
    }

    /// Brings the window forward and tells the UI which conversation to open.
    fn open(app: &tauri::AppHandle, contact_id: String) {
        if let Some(window) = app.get_webview_window("main") {
            let _ = window.unminimize();
            let _ = window.show();
            let _ = window.set_focus();
        }
        let _ = NotificationOpened { contact_id }.emit(app);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_names_the_sender_and_nothing_else() {
        assert_eq!(body("Bob"), "New message from Bob");
        assert_eq!(body("  "), "New message");
        assert_eq!(body("Bo\u{7}b\n"), "New message from Bob");
        let long = "x".repeat(200);
        assert_eq!(body(&long).chars().count(), "New message from ".len() + 64);
    }

    #[test]
    fn one_notification_per_conversation_waits_and_the_next_replaces_it() {
        let n = Notifier::default();
        assert_eq!(n.plan("bob"), Plan::ShowAndWait);
        // Still being shown: a second one does not wait as well.
        assert_eq!(n.plan("bob"), Plan::Show);
        n.shown("bob", Some(7));
        assert_eq!(n.plan("bob"), Plan::Replace(7));
        n.done("bob");
        assert_eq!(n.plan("bob"), Plan::ShowAndWait);
    }

    #[test]
    fn waiting_is_bounded() {
        let n = Notifier::default();
        for i in 0..MAX_WAITING {
            assert_eq!(n.plan(&i.to_string()), Plan::ShowAndWait);
        }
        assert_eq!(n.plan("one more"), Plan::Show);
        n.done("0");
        assert_eq!(n.plan("one more"), Plan::ShowAndWait);
    }
}
