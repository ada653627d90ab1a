//! B9 app: the desktop app started over a profile with 100k messages
//! (half from each side of one conversation, all delivered), against an
//! empty Tauri window (`src-tauri/examples/blank.rs`) in the same run, both
//! under one Xvfb display. Reported: time from process start to the first
//! painted screen (the app reports it, `KITH_REPORT_READY=1`), and memory
//! of the whole process tree (the app and its WebKit processes) a second
//! later: RSS summed (what the target names; shared pages count once per
//! process) and PSS summed (shared pages split). In-process figures for the
//! same profile: opening it (`Node::open`) and reading the newest page of
//! the conversation.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::Context;
use kith_core::{NetConfig, Node};
use kith_store::Protection;
use serde::Serialize;

use crate::storage::scratch;

/// One variant's figures (medians over the runs).
#[derive(Debug, Serialize)]
pub struct Variant {
    /// Process start to first paint, ms.
    pub first_paint_ms: f64,
    /// RSS of the process tree, MiB.
    pub rss_mib: f64,
    /// PSS of the process tree, MiB.
    pub pss_mib: f64,
    /// Processes in the tree.
    pub processes: usize,
}

/// B9's result.
#[derive(Debug, Serialize)]
pub struct AppReport {
    /// Messages in the profile.
    pub messages: usize,
    /// Runs per variant (medians reported).
    pub runs: usize,
    /// Seconds to build the profile (two nodes, bulk writes, sync).
    pub build_seconds: f64,
    /// Size of the profile's database file, MiB.
    pub database_mib: f64,
    /// `Node::open` of the profile, ms (in process).
    pub node_open_ms: f64,
    /// Of which: reading every stored entry (`LogStore::load`), ms.
    pub store_load_ms: f64,
    /// The newest 200 messages of the conversation, ms (in process).
    pub page_ms: f64,
    /// The app over the profile.
    pub kith: Variant,
    /// The empty Tauri window.
    pub blank: Variant,
    /// kith / blank, first paint.
    pub ratio_first_paint: f64,
    /// kith / blank, RSS.
    pub ratio_rss: f64,
}

/// Runs B9 with the given app and blank-window executables.
pub fn b9(
    quick: bool,
    base: &Path,
    app: &Path,
    blank: &Path,
    keep: Option<&Path>,
) -> anyhow::Result<AppReport> {
    for exe in [app, blank] {
        anyhow::ensure!(
            exe.exists(),
            "{} is missing: build it first (see docs/benchmarks.md, B9)",
            exe.display()
        );
    }
    let n = if quick { 1_000 } else { 100_000 };
    let runs = if quick { 1 } else { 5 };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    // A kept profile is built once and reused (to look at the app by hand).
    let dir = match keep {
        Some(keep) => keep.to_owned(),
        None => scratch(base, "b9")?,
    };
    let start = Instant::now();
    let profile = if keep.is_some() && dir.join("alice").join(kith_store::DATABASE_FILE).exists() {
        dir.join("alice")
    } else {
        runtime.block_on(build_profile(&dir, n))?
    };
    let build_seconds = start.elapsed().as_secs_f64();
    let (node_open_ms, page_ms) = runtime.block_on(in_process(&profile, n))?;
    let store_load_ms = {
        use kith_sync::storage::LogStore;
        let store = kith_store::Store::open(&profile, kith_store::Unlock::KeyFile)?;
        let start = Instant::now();
        let (_, entries) = store.load().map_err(|e| anyhow::anyhow!(e))?;
        anyhow::ensure!(entries.len() >= n, "{} entries stored", entries.len());
        start.elapsed().as_secs_f64() * 1e3
    };
    drop(runtime);
    let database_mib = std::fs::metadata(profile.join(kith_store::DATABASE_FILE))?.len() as f64
        / (1024.0 * 1024.0);

    let display = Xvfb::start()?;
    let mut kith = Vec::new();
    let mut empty = Vec::new();
    for _ in 0..runs {
        // Alternate, so drift on a shared machine hits both alike.
        kith.push(launch(app, &display.name, Some(&profile))?);
        empty.push(launch(blank, &display.name, None)?);
    }
    drop(display);
    let kith = median(kith);
    let blank = median(empty);
    if keep.is_none() {
        std::fs::remove_dir_all(&dir).ok();
    }
    Ok(AppReport {
        messages: n,
        runs,
        build_seconds,
        database_mib,
        node_open_ms,
        store_load_ms,
        page_ms,
        ratio_first_paint: kith.first_paint_ms / blank.first_paint_ms,
        ratio_rss: kith.rss_mib / blank.rss_mib,
        kith,
        blank,
    })
}

fn texts(from: &'static str, count: usize) -> impl Iterator<Item = String> + Send {
    // Lengths vary like chat: mostly short, some long.
    (0..count).map(move |i| {
        let words = 3 + (i * 7919) % 40;
        let body: String = "lorem ipsum dolor sit amet "
            .chars()
            .cycle()
            .take(words * 4)
            .collect();
        format!("{from} #{i}: {body}")
    })
}

/// Alice's profile: Bob is her contact, `n` messages between them (half
/// each), exchanged and delivered. Returns Alice's profile folder.
async fn build_profile(dir: &Path, n: usize) -> anyhow::Result<PathBuf> {
    let make = |name: &'static str| {
        let path = dir.join(name);
        async move {
            Node::create(
                &path,
                name,
                &format!("{name}-desktop"),
                NetConfig::local(),
                Protection::KeyFile,
            )
            .await
        }
    };
    let alice = make("alice").await?;
    let bob = make("bob").await?;
    alice.go_online().await?;
    bob.go_online().await?;
    let alice_id = alice.identity().await.account_id;
    let bob_id = bob.identity().await.account_id;
    bob.add_contact(&alice.invite().await?, Some("Alice"))
        .await?;
    wait("Alice to learn Bob", Duration::from_secs(30), || async {
        alice
            .contacts()
            .await
            .iter()
            .any(|c| c.contact_id == bob_id)
    })
    .await?;
    alice.write_many(&bob_id, texts("Alice", n / 2)).await?;
    bob.write_many(&alice_id, texts("Bob", n - n / 2)).await?;
    wait("the history to sync", Duration::from_secs(900), || async {
        let _ = alice.sync(Duration::from_secs(5)).await;
        let page = alice.latest_messages(&bob_id, 0).await;
        page.is_ok_and(|p| p.earlier as usize >= n)
    })
    .await?;
    alice.shutdown().await;
    bob.shutdown().await;
    Ok(dir.join("alice"))
}

/// Opening the profile and reading the newest page, in process (ms).
async fn in_process(profile: &Path, n: usize) -> anyhow::Result<(f64, f64)> {
    let start = Instant::now();
    let node = Node::open(profile, NetConfig::local()).await?;
    let open_ms = start.elapsed().as_secs_f64() * 1e3;
    let contact = node
        .contacts()
        .await
        .first()
        .map(|c| c.contact_id.clone())
        .context("the profile has no contact")?;
    let start = Instant::now();
    let page = node.latest_messages(&contact, 200).await?;
    let page_ms = start.elapsed().as_secs_f64() * 1e3;
    anyhow::ensure!(
        page.messages.len() == 200.min(n) && page.earlier as usize + page.messages.len() == n,
        "the page holds {} of {n} (earlier {})",
        page.messages.len(),
        page.earlier
    );
    node.shutdown().await;
    Ok((open_ms, page_ms))
}

async fn wait<F, Fut>(what: &str, limit: Duration, mut done: F) -> anyhow::Result<()>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + limit;
    while !done().await {
        anyhow::ensure!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Ok(())
}

/// An Xvfb display for the run, stopped on drop.
struct Xvfb {
    name: String,
    child: Child,
}

impl Xvfb {
    fn start() -> anyhow::Result<Self> {
        let name = format!(":{}", 120 + std::process::id() % 400);
        let child = Command::new("Xvfb")
            .args([&name, "-screen", "0", "1100x760x24", "-nolisten", "tcp"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting Xvfb (apt-get install xvfb)")?;
        let socket = PathBuf::from(format!("/tmp/.X11-unix/X{}", &name[1..]));
        let deadline = Instant::now() + Duration::from_secs(10);
        while !socket.exists() {
            anyhow::ensure!(Instant::now() < deadline, "Xvfb did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { name, child })
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `exe`, waits for `ready` on its stdout, measures its process
/// tree a second later, and stops it.
fn launch(exe: &Path, display: &str, profile: Option<&Path>) -> anyhow::Result<Variant> {
    let mut command = Command::new(exe);
    command
        .env("DISPLAY", display)
        .env("WEBKIT_DISABLE_COMPOSITING_MODE", "1")
        .env("KITH_REPORT_READY", "1")
        .env("KITH_LOCAL", "1")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    if let Some(profile) = profile {
        command.env("KITH_DATA_DIR", profile);
    }
    let start = Instant::now();
    let mut child = command
        .spawn()
        .with_context(|| format!("starting {}", exe.display()))?;
    let stdout = child.stdout.take().context("no stdout")?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(l) if l.trim() == "ready" => {
                    let _ = tx.send(start.elapsed());
                }
                Ok(_) => {}
                Err(_) => return,
            }
        }
    });
    let painted = rx.recv_timeout(Duration::from_secs(120));
    let result = painted
        .map_err(|_| anyhow::anyhow!("{} did not report its first paint", exe.display()))
        .map(|elapsed| {
            std::thread::sleep(Duration::from_secs(1));
            let (rss, pss, processes) = tree_memory(child.id());
            Variant {
                first_paint_ms: elapsed.as_secs_f64() * 1e3,
                rss_mib: rss as f64 / 1024.0,
                pss_mib: pss as f64 / 1024.0,
                processes,
            }
        });
    stop(&mut child);
    result
}

/// SIGTERM (the app closes its profile cleanly), then SIGKILL after 10 s.
fn stop(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// RSS and PSS (KiB) summed over `root` and its descendants, and their count.
fn tree_memory(root: u32) -> (u64, u64, usize) {
    let mut parents = Vec::new();
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|p| p.parse::<u32>().ok())
            else {
                continue;
            };
            let stat = std::fs::read_to_string(entry.path().join("stat")).unwrap_or_default();
            // pid (comm) state ppid …: comm may hold spaces, so split after ')'.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if let Some(ppid) = ppid {
                parents.push((pid, ppid));
            }
        }
    }
    let mut tree = vec![root];
    let mut i = 0;
    while let Some(&pid) = tree.get(i) {
        tree.extend(parents.iter().filter(|(_, pp)| *pp == pid).map(|(p, _)| *p));
        i += 1;
    }
    let field = |pid: u32, file: &str, key: &str| -> u64 {
        std::fs::read_to_string(format!("/proc/{pid}/{file}"))
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    let rss = tree.iter().map(|p| field(*p, "status", "VmRSS:")).sum();
    let pss = tree.iter().map(|p| field(*p, "smaps_rollup", "Pss:")).sum();
    (rss, pss, tree.len())
}

fn median(mut runs: Vec<Variant>) -> Variant {
    let mid = |values: &mut Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values.get(values.len() / 2).copied().unwrap_or(0.0)
    };
    let mut paint: Vec<f64> = runs.iter().map(|r| r.first_paint_ms).collect();
    let mut rss: Vec<f64> = runs.iter().map(|r| r.rss_mib).collect();
    let mut pss: Vec<f64> = runs.iter().map(|r| r.pss_mib).collect();
    let processes = runs.pop().map_or(0, |r| r.processes);
    Variant {
        first_paint_ms: mid(&mut paint),
        rss_mib: mid(&mut rss),
        pss_mib: mid(&mut pss),
        processes,
    }
}
