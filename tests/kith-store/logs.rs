//! Conversation logs on redb: restart, deletion leaving nothing readable in
//! the file, and acknowledged entries surviving `kill -9`.

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

use kith_identity::{DeviceKeys, DeviceLog};
use kith_session::Sessions;
use kith_store::{Protection, Store, StoreError, Unlock};
use kith_sync::{LogStore, Replica};

const CHILD_DIR: &str = "KITH_CRASH_CHILD_DIR";

fn replica(store: Store) -> Replica<Store> {
    let keys = DeviceKeys::generate("laptop", 0).unwrap();
    let log = DeviceLog::create(&keys, "Alice", 0).unwrap();
    Replica::new(keys, log, Sessions::new(store)).unwrap()
}

#[test]
fn a_deleted_message_leaves_nothing_readable_in_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), Protection::KeyFile).unwrap();
    let mut alice = replica(store);
    let notes = alice.self_conversation_id().unwrap();
    let marker = "MARKER-7f3a9c-the-launch-code-is-0000";
    let (doomed, _) = alice.send_text(notes, marker, 1).unwrap();
    alice.send_text(notes, "keep me", 2).unwrap();
    let sealed_before = alice
        .storage_mut()
        .sealed_entry(&notes, &doomed)
        .unwrap()
        .unwrap();
    let file = std::fs::read(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
    assert!(
        !file.windows(marker.len()).any(|w| w == marker.as_bytes()),
        "plaintext stored in the clear"
    );

    alice.delete(notes, Some(doomed), 3).unwrap();
    alice.storage_mut().compact().unwrap();
    let sealed_after = alice
        .storage_mut()
        .sealed_entry(&notes, &doomed)
        .unwrap()
        .unwrap();
    assert_ne!(
        sealed_before, sealed_after,
        "the stored entry still holds its body"
    );
    let file = std::fs::read(dir.path().join(kith_store::DATABASE_FILE)).unwrap();
    assert!(!file.windows(marker.len()).any(|w| w == marker.as_bytes()));
    let window = &sealed_before[..64];
    assert!(
        !file.windows(64).any(|w| w == window),
        "the sealed body is still in the file after compaction"
    );
    // The deletion holds across a restart.
    alice.reload().unwrap();
    let texts: Vec<_> = alice.messages(&notes).into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts, vec![Some("keep me".to_owned())]);
}

#[test]
fn logs_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create(dir.path(), Protection::KeyFile).unwrap();
    let mut alice = replica(store);
    let notes = alice.self_conversation_id().unwrap();
    for i in 0..20 {
        alice.send_text(notes, &format!("note {i}"), i).unwrap();
    }
    let before = alice.messages(&notes);
    alice.reload().unwrap();
    assert_eq!(alice.messages(&notes), before);
    assert_eq!(before.len(), 20);
}

/// Not a test of its own: the child process of
/// `acknowledged_entries_survive_kill_9` (run with `--ignored`), writing notes
/// forever and printing `ACK <entry>` after each `send_text` returns.
#[test]
#[ignore = "child process of acknowledged_entries_survive_kill_9"]
fn crash_child() {
    let dir = std::env::var_os(CHILD_DIR).expect("run by acknowledged_entries_survive_kill_9");
    let dir = std::path::PathBuf::from(dir);
    let store = match Store::open(&dir, Unlock::KeyFile) {
        Ok(store) => store,
        Err(StoreError::NoProfile) => Store::create(&dir, Protection::KeyFile).unwrap(),
        Err(e) => panic!("{e}"),
    };
    let mut writer = replica(store);
    let notes = writer.self_conversation_id().unwrap();
    let stdout = std::io::stdout();
    for i in 0u64.. {
        let (id, _) = writer.send_text(notes, &format!("entry {i}"), i).unwrap();
        let mut out = stdout.lock();
        writeln!(out, "ACK {}", id.to_hex()).unwrap();
        out.flush().unwrap();
    }
}

#[test]
fn acknowledged_entries_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let mut acked: BTreeSet<String> = BTreeSet::new();
    for round in 0..6usize {
        let mut child = Command::new(&exe)
            .args([
                "--exact",
                "logs::crash_child",
                "--ignored",
                "--nocapture",
                "--test-threads=1",
            ])
            .env(CHILD_DIR, dir.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut this_round = 0;
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Some(id) = line.strip_prefix("ACK ") {
                acked.insert(id.to_owned());
                this_round += 1;
                if this_round >= 15 + round * 11 {
                    break;
                }
            }
        }
        // SIGKILL, in the middle of the next write.
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(
            this_round > 0,
            "round {round}: the child acknowledged nothing"
        );

        let store = Store::open(dir.path(), Unlock::KeyFile).unwrap();
        let (_, entries) = store.load().unwrap();
        let ids: Vec<String> = entries
            .iter()
            .map(|(_, r)| kith_sync::ids::entry_id(&r.header).unwrap().to_hex())
            .collect();
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(unique.len(), ids.len(), "round {round}: duplicated entries");
        let lost: Vec<_> = acked.difference(&unique).collect();
        assert!(
            lost.is_empty(),
            "round {round}: acknowledged entries lost: {}",
            lost.len()
        );
    }
}
