//! The camera, for scanning QR codes on desktops: the webview captures it
//! (`getUserMedia`, only when a person presses "Scan with camera") and hands
//! frames to the QR reader in Rust (`read_qr_frame`). This module lets the
//! webview do so: the camera is the one device permission the app grants
//! (microphone, screen, location and the rest are refused), and on Linux it
//! switches WebKitGTK's media streams on (they are off by default).
//! `KITH_MOCK_CAMERA=1` gives WebKitGTK a mock camera instead (tests).

use tauri::webview::{PermissionKind, PermissionResponse};

/// What the webview may use: the camera only.
pub fn permission(kind: &PermissionKind) -> PermissionResponse {
    match kind {
        PermissionKind::Camera => PermissionResponse::Allow,
        _ => PermissionResponse::Deny,
    }
}

/// Turns media streams on in the main window's webview (Linux).
pub fn prepare(app: &tauri::App) {
    #[cfg(target_os = "linux")]
    {
        use tauri::Manager;
        use webkit2gtk::{SettingsExt, WebViewExt};
        let mock = std::env::var("KITH_MOCK_CAMERA").is_ok_and(|v| v == "1");
        let Some(window) = app.get_webview_window("main") else {
            return;
        };
        let result = window.with_webview(move |webview| {
            if let Some(settings) = WebViewExt::settings(&webview.inner()) {
                settings.set_enable_media_stream(true);
                settings.set_enable_mock_capture_devices(mock);
            }
        });
        if let Err(e) = result {
            tracing::warn!("the camera will not be available: {e}");
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = app;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_camera_is_granted() {
        assert!(matches!(
            permission(&PermissionKind::Camera),
            PermissionResponse::Allow
        ));
        for kind in [
            PermissionKind::Microphone,
            PermissionKind::DisplayCapture,
            PermissionKind::Geolocation,
            PermissionKind::ClipboardRead,
        ] {
            assert!(matches!(permission(&kind), PermissionResponse::Deny));
        }
    }
}
