//! The OS keystore for the profile's root key: on Linux the Secret Service
//! (GNOME Keyring, KWallet) over the session bus. Without a passphrase, a
//! profile the app creates keeps its root key there instead of in a plain
//! key file, when the keystore answers (see `docs/storage.md`).
//!
//! The keystore is probed off the main thread (a round trip: write, read
//! and delete an entry), so a missing or slow Secret Service never delays
//! the window; only a profile whose key is already in the keystore waits
//! for it before opening (an unlock prompt of the keyring may show).
//! macOS, Windows and the phones have store crates for `keyring-core` too
//! (`apple-native-keyring-store`, `windows-native-keyring-store`,
//! `android-native-keyring-store`); they are not wired yet, so there the
//! app keeps key files (with a passphrase on request).

use std::path::Path;
use std::time::Duration;

/// How long a profile kept in the keystore waits for it at start-up (the
/// keyring may ask the user to unlock it).
const OPEN_WAIT: Duration = Duration::from_secs(60);

/// Sets the platform's keystore as the default store, if it works, when
/// it can matter: the profile in `dir` keeps its key there (then this
/// blocks up to [`OPEN_WAIT`]: it is needed to open), or there is no
/// profile yet (one may be created). A profile kept by a passphrase or a
/// key file does not touch the keystore (no keyring prompt at start-up);
/// removing its passphrase later moves the key to a key file.
pub fn prepare(dir: &Path) {
    let needed = match kith_core::keystore_use(dir) {
        kith_core::KeystoreUse::Needed => true,
        kith_core::KeystoreUse::Possible => false,
        kith_core::KeystoreUse::Unused => return,
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let result = platform_store();
        match &result {
            Ok(store) => keyring_core::set_default_store(store.clone()),
            Err(e) => tracing::warn!("no OS keystore: {e}"),
        }
        let _ = tx.send(result.is_ok());
    });
    if needed && rx.recv_timeout(OPEN_WAIT) != Ok(true) {
        tracing::warn!("the OS keystore did not answer: the profile will say it is locked");
    }
}

/// The Secret Service, if a round trip through it works.
#[cfg(target_os = "linux")]
fn platform_store() -> keyring_core::Result<std::sync::Arc<keyring_core::CredentialStore>> {
    let store: std::sync::Arc<keyring_core::CredentialStore> =
        dbus_secret_service_keyring_store::Store::new()?;
    let probe = keyring_core::Entry::new_in_store(
        &store,
        kith_core::KEYSTORE_SERVICE,
        &format!("probe-{}", std::process::id()),
    )?;
    probe.set_secret(b"kith keystore probe")?;
    let read = probe.get_secret();
    let _ = probe.delete_credential();
    if read? != b"kith keystore probe" {
        return Err(keyring_core::Error::Invalid(
            "probe".into(),
            "the keystore returned something else".into(),
        ));
    }
    Ok(store)
}

#[cfg(not(target_os = "linux"))]
fn platform_store() -> keyring_core::Result<std::sync::Arc<keyring_core::CredentialStore>> {
    Err(keyring_core::Error::NoDefaultStore)
}
