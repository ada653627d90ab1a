//! The app's log: warnings and errors of the node and the shell (keystore,
//! links, network) to stderr and to `app.log` in the profile folder
//! (owner-only; started afresh when it passes 1 MiB). `KITH_LOG` sets the
//! level (`error`, `warn` (default), `info`, `debug`, `trace`). Nothing
//! secret is logged: messages carry no keys or message text.

use std::io::Seek;
use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;

use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::fmt::writer::MakeWriterExt;

/// The log file's name inside the profile folder.
pub const FILE: &str = "app.log";
/// Past this size the log starts afresh.
const MAX_BYTES: u64 = 1 << 20;

/// Sets up logging (once; later calls do nothing).
pub fn init(dir: &Path) {
    let level = std::env::var("KITH_LOG")
        .ok()
        .and_then(|l| LevelFilter::from_str(&l).ok())
        .unwrap_or(LevelFilter::WARN);
    let builder = tracing_subscriber::fmt()
        .with_max_level(level)
        .with_target(false);
    let result = match open(dir) {
        Some(file) => builder
            .with_writer(std::io::stderr.and(Mutex::new(file)))
            .with_ansi(false)
            .try_init(),
        None => builder.with_writer(std::io::stderr).try_init(),
    };
    drop(result);
}

fn open(dir: &Path) -> Option<std::fs::File> {
    std::fs::create_dir_all(dir).ok()?;
    let mut options = std::fs::OpenOptions::new();
    options.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(dir.join(FILE)).ok()?;
    if file.metadata().ok()?.len() > MAX_BYTES {
        file.set_len(0).ok()?;
        file.rewind().ok()?;
    }
    Some(file)
}
