//! Integration tests of `kith-store`: unlocking, persistence of sessions,
//! tamper detection, and that secrets never reach the file in the clear.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod logs;

use kith_crypto::SecretVec;
use kith_crypto::pwhash::PwHashLimits;
use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::{LocalDevice, MemoryStore, RemoteDevice, SessionStore, Sessions};
use kith_store::{Protection, Store, StoreError, Unlock};
use redb::ReadableTable;

fn pass(text: &str) -> SecretVec {
    SecretVec::from_vec(text.as_bytes().to_vec())
}

fn passphrase_profile() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(
        dir.path(),
        Protection::Passphrase(pass("hunter2 but longer"), PwHashLimits::MIN),
    )
    .unwrap();
    (dir, store)
}

fn assert_owner_only(path: &std::path::Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{} is not owner-only", path.display());
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[test]
fn a_passphrase_profile_opens_only_with_its_passphrase() {
    let (dir, store) = passphrase_profile();
    drop(store);
    Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap();
    assert_eq!(
        Store::open(dir.path(), Unlock::Passphrase(pass("hunter3"))).unwrap_err(),
        StoreError::WrongPassphrase
    );
    assert!(matches!(
        Store::open(dir.path(), Unlock::KeyFile).unwrap_err(),
        StoreError::WrongProtection(_)
    ));
    assert_eq!(
        Store::create(dir.path(), Protection::KeyFile).unwrap_err(),
        StoreError::ProfileExists
    );
    let empty = tempfile::tempdir().unwrap();
    assert_eq!(
        Store::open(empty.path(), Unlock::KeyFile).unwrap_err(),
        StoreError::NoProfile
    );
}

#[test]
fn a_key_file_profile_is_owner_only() {
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), Protection::KeyFile).unwrap());
    assert_owner_only(&dir.path().join(kith_store::KEY_FILE));
    Store::open(dir.path(), Unlock::KeyFile).unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::Passphrase(pass("x"))).unwrap_err(),
        StoreError::WrongProtection(_)
    ));
}

#[test]
fn a_damaged_key_file_is_an_error() {
    let (dir, store) = passphrase_profile();
    drop(store);
    let path = dir.path().join(kith_store::KEY_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    assert_eq!(
        Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap_err(),
        StoreError::WrongPassphrase
    );
    std::fs::write(&path, b"KITHKEY1").unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::Passphrase(pass("x"))).unwrap_err(),
        StoreError::Corrupt(_)
    ));
}

struct Peer {
    keys: DeviceKeys,
    remote: RemoteDevice,
    account: kith_wire::AccountId,
}

impl Peer {
    fn local(&self) -> LocalDevice<'_> {
        LocalDevice {
            account: self.account,
            keys: &self.keys,
        }
    }
}

fn peer(name: &str) -> Peer {
    let keys = DeviceKeys::generate(name, 0).unwrap();
    let log = DeviceLog::create(&keys, name, 0).unwrap();
    let remote = RemoteDevice::from_log(log.account_id(), &log.state().devices[&keys.device_id()]);
    Peer {
        account: log.account_id(),
        keys,
        remote,
    }
}

/// Alice's first message to Bob, and Bob's sessions on a new passphrase
/// profile (its folder kept alive with it).
fn first_message(
    alice: &Peer,
    bob: &Peer,
) -> (
    kith_wire::SessionMessage,
    tempfile::TempDir,
    Sessions<Store>,
) {
    let mut at_alice = Sessions::new(MemoryStore::default());
    let (dir, store) = passphrase_profile();
    let m1 = at_alice
        .encrypt(&alice.local(), &bob.remote, b"first")
        .unwrap();
    (m1, dir, Sessions::new(store))
}

#[test]
fn sessions_survive_a_restart_and_never_reach_the_file_in_the_clear() {
    let alice = peer("alice");
    let bob = peer("bob");
    let alice_local = alice.local();
    let bob_local = bob.local();
    let mut at_alice = Sessions::new(MemoryStore::default());
    let (dir, store) = passphrase_profile();
    let mut at_bob = Sessions::new(store);

    let m1 = at_alice
        .encrypt(&alice_local, &bob.remote, b"first")
        .unwrap();
    assert_eq!(
        at_bob
            .decrypt(&bob_local, &alice.remote, &m1, 0)
            .unwrap()
            .expose(),
        b"first"
    );
    let record = at_bob
        .store()
        .load_session(&alice.keys.device_id())
        .unwrap()
        .unwrap();
    let exported = record.export().unwrap();

    // Bob's device restarts: the session comes back from the file.
    drop(at_bob);
    let store = Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap();
    let mut at_bob = Sessions::new(store);
    let m2 = at_alice
        .encrypt(&alice_local, &bob.remote, b"second")
        .unwrap();
    assert_eq!(
        at_bob
            .decrypt(&bob_local, &alice.remote, &m2, 0)
            .unwrap()
            .expose(),
        b"second"
    );
    // The replay cache survived too.
    assert!(at_bob.decrypt(&bob_local, &alice.remote, &m1, 0).is_err());

    // No 16-byte run of the exported record is in the file, except runs of
    // public values it contains (ids and public keys, which the file also
    // holds as table keys).
    let public: Vec<Vec<u8>> = [
        alice.keys.device_id().0,
        alice.account.0,
        alice.remote.identity_key.0,
        bob.keys.device_id().0,
        bob.account.0,
        bob.remote.identity_key.0,
        bob.remote.prekey.key.0,
        // The initiator's X3DH base key: also the replay cache's row key.
        match &m1 {
            kith_wire::SessionMessage::PreKey(p) => p.base_key.0,
            _ => panic!("first message is a pre-key message"),
        },
    ]
    .iter()
    .map(|k| k.to_vec())
    .collect();
    let file = std::fs::read(at_bob.store().database_path()).unwrap();
    let secret = exported.expose();
    let mut checked = 0;
    for window in secret.windows(16) {
        let is_public = public.iter().any(|p| p.windows(16).any(|w| w == window));
        if is_public || window.iter().all(|b| *b == 0) {
            continue;
        }
        checked += 1;
        assert!(
            !file.windows(16).any(|w| w == window),
            "session bytes found in the clear"
        );
    }
    assert!(
        checked > 100,
        "too little of the record was checked: {checked}"
    );
}

#[test]
fn tampered_or_moved_values_are_detected() {
    let alice = peer("alice");
    let bob = peer("bob");
    let carol = peer("carol");
    let alice_local = alice.local();
    let bob_local = bob.local();
    let mut at_alice = Sessions::new(MemoryStore::default());
    let (dir, store) = passphrase_profile();
    let mut at_bob = Sessions::new(store);
    let m = at_alice.encrypt(&alice_local, &bob.remote, b"hi").unwrap();
    at_bob.decrypt(&bob_local, &alice.remote, &m, 0).unwrap();
    drop(at_bob);

    // Move Alice's sealed record under Carol's id, and flip a byte of it.
    let db = redb::Database::open(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
    let txn = db.begin_write().unwrap();
    {
        let mut table = txn.open_table(kith_store::tables::SESSIONS).unwrap();
        let sealed = table
            .get(alice.keys.device_id().as_bytes())
            .unwrap()
            .unwrap()
            .value()
            .to_vec();
        table
            .insert(carol.keys.device_id().as_bytes(), sealed.as_slice())
            .unwrap();
        let mut flipped = sealed.clone();
        flipped[30] ^= 1;
        table
            .insert(alice.keys.device_id().as_bytes(), flipped.as_slice())
            .unwrap();
    }
    txn.commit().unwrap();
    drop(db);

    let store = Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap();
    for device in [alice.keys.device_id(), carol.keys.device_id()] {
        let err = store.load_session(&device).unwrap_err();
        assert!(
            matches!(err, kith_session::SessionError::Store(_)),
            "{err:?}"
        );
    }
}

#[test]
fn one_time_prekeys_and_the_replay_cache_persist() {
    let (dir, mut store) = passphrase_profile();
    let secret = kith_crypto::dh::DhSecret::generate().unwrap();
    store.store_one_time_prekey(9, &secret).unwrap();
    assert!(store.store_one_time_prekey(9, &secret).is_err());
    let base = kith_wire::DhKey([5; 32]);
    assert!(store.record_prekey_use(3, &base).unwrap());
    assert!(!store.record_prekey_use(3, &base).unwrap());
    drop(store);
    let mut store =
        Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap();
    assert!(!store.record_prekey_use(3, &base).unwrap());
    store.retain_prekey_uses(&[4]).unwrap();
    assert!(store.record_prekey_use(3, &base).unwrap());
    let taken = store.take_one_time_prekey(9).unwrap().unwrap();
    assert!(taken.secret().ct_eq(secret.secret()));
    assert!(store.take_one_time_prekey(9).unwrap().is_none());
}

#[test]
fn a_keystore_profile_keeps_its_key_in_the_os_keystore() {
    // Tests use keyring-core's mock store; the application sets the
    // platform's store (Keychain, Credential Manager, Secret Service).
    let dir = tempfile::tempdir().unwrap();
    assert!(!kith_store::keystore_is_set());
    let missing = Store::create(dir.path(), Protection::Keystore);
    assert_eq!(
        missing.unwrap_err(),
        StoreError::Keystore("no keystore is available")
    );
    keyring_core::set_default_store(keyring_core::mock::Store::new().unwrap());
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), Protection::Keystore).unwrap());
    let file = std::fs::read(dir.path().join(kith_store::KEY_FILE)).unwrap();
    assert!(
        file.len() < 48,
        "the key file holds only the keystore entry name"
    );
    Store::open(dir.path(), Unlock::Keystore).unwrap();
    assert!(matches!(
        Store::open(dir.path(), Unlock::KeyFile).unwrap_err(),
        StoreError::WrongProtection(_)
    ));
    // The keystore entry gone: a clear error, nothing opened.
    let name = std::str::from_utf8(&file[10..]).unwrap();
    keyring_core::Entry::new(kith_store::KEYSTORE_SERVICE, name)
        .unwrap()
        .delete_credential()
        .unwrap();
    assert_eq!(
        Store::open(dir.path(), Unlock::Keystore).unwrap_err(),
        StoreError::Keystore("the key is missing from the keystore")
    );
    // Setting a passphrase moves the key out of the keystore: its entry goes.
    let dir = tempfile::tempdir().unwrap();
    drop(Store::create(dir.path(), Protection::Keystore).unwrap());
    let file = std::fs::read(dir.path().join(kith_store::KEY_FILE)).unwrap();
    let entry = keyring_core::Entry::new(
        kith_store::KEYSTORE_SERVICE,
        std::str::from_utf8(&file[10..]).unwrap(),
    )
    .unwrap();
    assert_eq!(entry.get_secret().unwrap().len(), 32);
    kith_store::rewrap(
        dir.path(),
        Unlock::Keystore,
        Protection::Passphrase(pass("moved out"), PwHashLimits::MIN),
    )
    .unwrap();
    assert!(matches!(
        entry.get_secret().unwrap_err(),
        keyring_core::Error::NoEntry
    ));
    Store::open(dir.path(), Unlock::Passphrase(pass("moved out"))).unwrap();
}

#[test]
fn the_way_a_key_is_kept_changes_without_touching_the_data() {
    use kith_store::{KeptBy, kept_by, rewrap};
    let dir = tempfile::tempdir().unwrap();
    let mut store = Store::create(dir.path(), Protection::KeyFile).unwrap();
    store
        .profile_write(&[("keys", Some(b"kept".as_slice()))])
        .unwrap();
    drop(store);
    assert_eq!(kept_by(dir.path()).unwrap(), KeptBy::KeyFile);

    // Set a passphrase: the key file no longer opens it, the passphrase does.
    rewrap(
        dir.path(),
        Unlock::KeyFile,
        Protection::Passphrase(pass("first passphrase"), PwHashLimits::MIN),
    )
    .unwrap();
    assert_eq!(kept_by(dir.path()).unwrap(), KeptBy::Passphrase);
    assert!(!dir.path().join("root-key.new").exists());
    assert!(matches!(
        Store::open(dir.path(), Unlock::KeyFile).unwrap_err(),
        StoreError::WrongProtection(_)
    ));
    let store = Store::open(dir.path(), Unlock::Passphrase(pass("first passphrase"))).unwrap();
    assert_eq!(
        store.profile_get("keys").unwrap().unwrap().expose(),
        b"kept"
    );
    drop(store);

    // Changing it needs the current one; a wrong one changes nothing.
    assert_eq!(
        rewrap(
            dir.path(),
            Unlock::Passphrase(pass("not it")),
            Protection::Passphrase(pass("second"), PwHashLimits::MIN),
        )
        .unwrap_err(),
        StoreError::WrongPassphrase
    );
    rewrap(
        dir.path(),
        Unlock::Passphrase(pass("first passphrase")),
        Protection::Passphrase(pass("second passphrase"), PwHashLimits::MIN),
    )
    .unwrap();
    assert_eq!(
        Store::open(dir.path(), Unlock::Passphrase(pass("first passphrase"))).unwrap_err(),
        StoreError::WrongPassphrase
    );

    // Removing it (back to a key file) keeps the data readable.
    rewrap(
        dir.path(),
        Unlock::Passphrase(pass("second passphrase")),
        Protection::KeyFile,
    )
    .unwrap();
    assert_eq!(kept_by(dir.path()).unwrap(), KeptBy::KeyFile);
    assert_owner_only(&dir.path().join(kith_store::KEY_FILE));
    let store = Store::open(dir.path(), Unlock::KeyFile).unwrap();
    assert_eq!(
        store.profile_get("keys").unwrap().unwrap().expose(),
        b"kept"
    );

    let empty = tempfile::tempdir().unwrap();
    assert_eq!(kept_by(empty.path()).unwrap_err(), StoreError::NoProfile);
    std::fs::write(empty.path().join(kith_store::KEY_FILE), b"garbage").unwrap();
    assert!(matches!(
        kept_by(empty.path()).unwrap_err(),
        StoreError::Corrupt(_)
    ));
}

#[test]
fn profile_records_are_sealed_bound_to_their_key_and_durable() {
    let (dir, mut store) = passphrase_profile();
    let secret = b"profile secret that must not leak";
    store
        .profile_write(&[
            ("keys", Some(secret.as_slice())),
            ("log/aa", Some(b"one")),
            ("log/bb", Some(b"two")),
        ])
        .unwrap();
    assert_eq!(store.profile_get("keys").unwrap().unwrap().expose(), secret);
    let logs: Vec<(String, Vec<u8>)> = store
        .profile_scan("log/")
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.expose().to_vec()))
        .collect();
    assert_eq!(
        logs,
        [
            ("log/aa".to_owned(), b"one".to_vec()),
            ("log/bb".to_owned(), b"two".to_vec())
        ]
    );
    store.profile_write(&[("log/aa", None)]).unwrap();
    assert!(store.profile_get("log/aa").unwrap().is_none());
    drop(store);
    let file = std::fs::read(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
    assert!(
        !file.windows(secret.len()).any(|w| w == secret),
        "a profile value reached the file in the clear"
    );
    // A sealed value moved to another key does not open.
    {
        let db = redb::Database::open(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        {
            let mut table = txn.open_table(kith_store::tables::PROFILE).unwrap();
            let sealed = table.get("keys").unwrap().unwrap().value().to_vec();
            table.insert("log/cc", sealed.as_slice()).unwrap();
        }
        txn.commit().unwrap();
    }
    let store = Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap();
    assert_eq!(store.profile_get("keys").unwrap().unwrap().expose(), secret);
    assert!(matches!(
        store.profile_get("log/cc"),
        Err(StoreError::Corrupt(_))
    ));
}

#[test]
fn a_new_profile_folder_and_its_database_are_owner_only() {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let parent = tempfile::tempdir().unwrap();
        let dir = parent.path().join("profile");
        let _store = Store::create(&dir, Protection::KeyFile).unwrap();
        let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700, "the profile folder");
        assert_eq!(
            mode(&dir.join(kith_store::DATABASE_FILE)),
            0o600,
            "the database"
        );
        // A folder that already exists (made by someone else first) is
        // narrowed too.
        let existing = parent.path().join("existing");
        std::fs::create_dir(&existing).unwrap();
        std::fs::set_permissions(&existing, std::fs::Permissions::from_mode(0o755)).unwrap();
        let _second = Store::create(&existing, Protection::KeyFile).unwrap();
        assert_eq!(mode(&existing), 0o700);
    }
}

/// A PreKey message decrypted inside a batch that never commits (the
/// device crashed before it was durable) leaves no trace: when it comes
/// again it opens, instead of being refused as a replay forever.
#[test]
fn a_crash_before_the_batch_commits_forgets_the_replay_cache_entry_too() {
    use kith_sync::LogStore;
    let alice = peer("alice");
    let bob = peer("bob");
    let bob_local = bob.local();
    let (m1, dir, mut at_bob) = first_message(&alice, &bob);
    at_bob.store_mut().begin();
    at_bob.decrypt(&bob_local, &alice.remote, &m1, 0).unwrap();
    // The crash: the batch is dropped without `put`.
    drop(at_bob);
    let reopen =
        || Store::open(dir.path(), Unlock::Passphrase(pass("hunter2 but longer"))).unwrap();
    let mut at_bob = Sessions::new(reopen());
    at_bob.store_mut().begin();
    let again = at_bob.decrypt(&bob_local, &alice.remote, &m1, 0);
    assert_eq!(again.unwrap().expose(), b"first", "refused after a crash");
    at_bob.store_mut().put(&[], &[]).unwrap();
    // Committed now: a replay is refused, across a restart too.
    drop(at_bob);
    let mut at_bob = Sessions::new(reopen());
    assert!(at_bob.decrypt(&bob_local, &alice.remote, &m1, 0).is_err());
}

/// A one-time prekey taken inside a batch and put back (the message that
/// named it was a forgery) is still there once the batch commits: a forged
/// message does not burn it.
#[test]
fn a_one_time_prekey_put_back_inside_a_batch_survives_the_commit() {
    use kith_sync::LogStore;
    let (_dir, mut store) = passphrase_profile();
    let secret = kith_crypto::dh::DhSecret::generate().unwrap();
    store.store_one_time_prekey(9, &secret).unwrap();
    store.begin();
    let taken = store.take_one_time_prekey(9).unwrap().unwrap();
    assert!(
        store.take_one_time_prekey(9).unwrap().is_none(),
        "taken twice in one batch"
    );
    store.store_one_time_prekey(9, &taken).unwrap();
    store.put(&[], &[]).unwrap();
    let again = store.take_one_time_prekey(9).unwrap().unwrap();
    assert!(again.secret().ct_eq(secret.secret()));
}

#[test]
fn sender_key_records_are_sealed_durable_rekeyed_and_old_databases_get_their_table() {
    let dir = tempfile::tempdir().unwrap();
    let group = kith_wire::ConversationId([5; 32]);
    let secret = b"chain key bytes that must not leak";
    let record = || SecretVec::from_vec(secret.to_vec());
    {
        let mut store = Store::create(dir.path(), Protection::KeyFile).unwrap();
        assert!(store.load_sender_keys(&group).unwrap().is_none());
        store.store_sender_keys(&group, &record()).unwrap();
    }
    let file = std::fs::read(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
    assert!(
        !file.windows(secret.len()).any(|w| w == secret),
        "a sender-key record reached the file in the clear"
    );
    // A new root key (rekey) copies and reseals the table.
    kith_store::rekey(
        dir.path(),
        Unlock::KeyFile,
        Protection::Passphrase(pass("a passphrase long enough"), PwHashLimits::MIN),
    )
    .unwrap();
    let unlock = || Unlock::Passphrase(pass("a passphrase long enough"));
    {
        let mut store = Store::open(dir.path(), unlock()).unwrap();
        assert_eq!(
            store.load_sender_keys(&group).unwrap().unwrap().expose(),
            secret
        );
        // Inside a batch: read back at once, durable with the batch.
        kith_sync::LogStore::begin(&mut store);
        store
            .store_sender_keys(&group, &SecretVec::from_vec(b"newer".to_vec()))
            .unwrap();
        assert_eq!(
            store.load_sender_keys(&group).unwrap().unwrap().expose(),
            b"newer"
        );
        kith_sync::LogStore::put(&mut store, &[], &[]).unwrap();
    }
    let store = Store::open(dir.path(), unlock()).unwrap();
    assert_eq!(
        store.load_sender_keys(&group).unwrap().unwrap().expose(),
        b"newer"
    );
    drop(store);
    // A database of the previous version has no sender-key table: it
    // opens, and gets an empty one.
    {
        let db = redb::Database::open(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
        let txn = db.begin_write().unwrap();
        assert!(txn.delete_table(kith_store::tables::SENDER_KEYS).unwrap());
        txn.commit().unwrap();
    }
    let mut store = Store::open(dir.path(), unlock()).unwrap();
    assert!(store.load_sender_keys(&group).unwrap().is_none());
    store.store_sender_keys(&group, &record()).unwrap();
    drop(store);
    let store = Store::open(dir.path(), unlock()).unwrap();
    assert_eq!(
        store.load_sender_keys(&group).unwrap().unwrap().expose(),
        secret
    );
}
