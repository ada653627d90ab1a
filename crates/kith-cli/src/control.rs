//! The daemon and its control socket: `<data-dir>/kith.sock`, a Unix socket
//! only its owner may use (mode 0600 inside the owner's data folder). One
//! request per connection: the command as one JSON line; the answer as one
//! JSON line, `{"ok": value}` or `{"error": {"code", "message"}}`.

use std::path::{Path, PathBuf};

use kith_core::{CoreError, Node};
use serde_json::{Value, json};

use crate::{Command, Ctx, execute};

/// The control socket's file name inside the data dir.
pub(crate) const SOCKET: &str = "kith.sock";

fn socket_path(dir: &Path) -> PathBuf {
    dir.join(SOCKET)
}

/// Largest request or answer line.
const MAX_LINE: usize = 1 << 20;

#[cfg(unix)]
async fn connect(dir: &Path) -> Option<tokio::net::UnixStream> {
    tokio::net::UnixStream::connect(socket_path(dir)).await.ok()
}

/// Whether a daemon answers on `dir`'s control socket.
pub(crate) async fn daemon_running(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        connect(dir).await.is_some()
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        false
    }
}

/// How long a command or a starting daemon waits for the profile while
/// another kith process holds it.
const PROFILE_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// Where a command runs: through the daemon, or on the profile opened here.
pub(crate) enum Reach {
    /// A daemon answered.
    Daemon(Result<Value, CoreError>),
    /// No daemon: the profile, opened by this process.
    Here(Node),
}

/// Sends `command` to the daemon if one answers, else opens the profile
/// here. While the profile is held by another process (a daemon that is
/// starting, or another command), waits for it (at most [`PROFILE_WAIT`],
/// saying so once) instead of failing.
pub(crate) async fn reach(
    ctx: &Ctx,
    command: &Command,
    net: kith_core::NetConfig,
) -> Result<Reach, CoreError> {
    let mut wait = ProfileWait::new(
        "the profile is busy (a daemon is starting, or another kith command runs); waiting…",
    );
    loop {
        if let Some(reply) = send(&ctx.data_dir, command).await? {
            return Ok(Reach::Daemon(reply));
        }
        match Node::open(&ctx.data_dir, net.clone()).await {
            Ok(node) => return Ok(Reach::Here(node)),
            Err(e) if wait.should_wait(ctx, &e) => tokio::time::sleep(ProfileWait::POLL).await,
            Err(e) => return Err(e),
        }
    }
}

/// Waiting, bounded by [`PROFILE_WAIT`], while another kith process holds
/// the profile, saying so once.
struct ProfileWait {
    deadline: tokio::time::Instant,
    said: bool,
    message: &'static str,
}

impl ProfileWait {
    /// How often opening is tried again.
    const POLL: std::time::Duration = std::time::Duration::from_millis(100);

    fn new(message: &'static str) -> Self {
        Self {
            deadline: tokio::time::Instant::now() + PROFILE_WAIT,
            said: false,
            message,
        }
    }

    /// Whether opening failed only because another process holds the
    /// profile, with time left to wait (said once on stderr).
    fn should_wait(&mut self, ctx: &Ctx, error: &CoreError) -> bool {
        let wait = error.code == "daemon_running" && tokio::time::Instant::now() < self.deadline;
        if wait && !self.said {
            crate::human::progress(ctx, self.message);
            self.said = true;
        }
        wait
    }
}

fn bad(message: impl Into<String>) -> CoreError {
    CoreError::new("daemon", message)
}

/// Sends `command` to the daemon on `dir` if one runs; `None` if none does.
pub(crate) async fn send(
    dir: &Path,
    command: &Command,
) -> Result<Option<Result<Value, CoreError>>, CoreError> {
    #[cfg(unix)]
    {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
        let Some(mut stream) = connect(dir).await else {
            return Ok(None);
        };
        let mut line = serde_json::to_vec(command).map_err(|e| bad(e.to_string()))?;
        line.push(b'\n');
        stream
            .write_all(&line)
            .await
            .map_err(|e| bad(format!("cannot talk to the daemon: {e}")))?;
        let mut reader = BufReader::new(stream).take(MAX_LINE as u64);
        let mut answer = String::new();
        reader
            .read_line(&mut answer)
            .await
            .map_err(|e| bad(format!("cannot read the daemon's answer: {e}")))?;
        let value: Value = serde_json::from_str(&answer)
            .map_err(|_| bad("the daemon sent an unreadable answer"))?;
        if let Some(ok) = value.get("ok") {
            return Ok(Some(Ok(ok.clone())));
        }
        let code = value
            .pointer("/error/code")
            .and_then(Value::as_str)
            .unwrap_or("daemon")
            .to_owned();
        let message = value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .unwrap_or("the daemon failed")
            .to_owned();
        Ok(Some(Err(CoreError::from_code(&code, message))))
    }
    #[cfg(not(unix))]
    {
        let _ = (dir, command);
        Ok(None)
    }
}

/// `kith daemon`: online until SIGINT/SIGTERM.
#[cfg(unix)]
pub(crate) async fn daemon(ctx: &Ctx) -> Result<Value, CoreError> {
    use std::os::unix::fs::PermissionsExt;

    use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
    use tokio::signal::unix::{SignalKind, signal};

    // Handled from the start: Ctrl-C while waiting for the profile stops
    // cleanly too.
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| bad(e.to_string()))?;
    let mut terminate = signal(SignalKind::terminate()).map_err(|e| bad(e.to_string()))?;
    let dir = &ctx.data_dir;
    let mut wait = ProfileWait::new("another kith command holds the profile; waiting…");
    let node = loop {
        if daemon_running(dir).await {
            return Err(CoreError::new(
                "daemon_running",
                format!("a kith daemon already runs on {}", dir.display()),
            ));
        }
        match Node::open(dir, ctx.net.clone()).await {
            Ok(node) => break node,
            // A command holds the profile for a moment: wait for it.
            Err(e) if wait.should_wait(ctx, &e) => {
                tokio::select! {
                    _ = interrupt.recv() => return Ok(json!({ "stopped": true })),
                    _ = terminate.recv() => return Ok(json!({ "stopped": true })),
                    () = tokio::time::sleep(ProfileWait::POLL) => {}
                }
            }
            Err(e) => return Err(e),
        }
    };
    let path = socket_path(dir);
    // A socket file nobody answers on is left over from a crash.
    let _ = std::fs::remove_file(&path);
    let listener = tokio::net::UnixListener::bind(&path)
        .map_err(|e| bad(format!("cannot open the control socket: {e}")))?;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| bad(format!("cannot restrict the control socket: {e}")))?;
    node.go_online().await?;
    let id = node.identity().await;
    crate::human::announce_daemon(ctx, &id);
    loop {
        tokio::select! {
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            accepted = listener.accept() => {
                let Ok((stream, _)) = accepted else { continue };
                let node = node.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read).take(MAX_LINE as u64);
                    let mut line = String::new();
                    if reader.read_line(&mut line).await.is_err() {
                        return;
                    }
                    let answer = match serde_json::from_str::<Command>(&line) {
                        Ok(command) => match execute(&node, &command).await {
                            Ok(value) => json!({ "ok": value }),
                            Err(e) => json!({"error": {"code": e.code, "message": e.message}}),
                        },
                        Err(e) => json!({"error": {"code": "invalid_input", "message": e.to_string()}}),
                    };
                    let mut bytes = answer.to_string().into_bytes();
                    bytes.push(b'\n');
                    let _ = write.write_all(&bytes).await;
                });
            }
        }
    }
    drop(listener);
    let _ = std::fs::remove_file(&path);
    node.shutdown().await;
    Ok(json!({ "stopped": true, "device_id": id.device_id }))
}

/// `kith daemon` needs Unix sockets for now.
#[cfg(not(unix))]
pub(crate) async fn daemon(ctx: &Ctx) -> Result<Value, CoreError> {
    let _ = ctx;
    Err(CoreError::new(
        "unsupported",
        "the daemon's control socket needs a Unix system for now",
    ))
}
