//! `kith`: the Kith node on the command line.
//!
//! Today it reports its build (`kith version`); the node commands (`init`,
//! `invite`, `contact`, `link`, `send`, …) arrive with `kith-core`.
#![forbid(unsafe_code)]

use std::io::Write;

use clap::{Parser, Subcommand};
use serde::Serialize;

#[derive(Parser)]
#[command(
    name = "kith",
    version,
    about = "Kith: a peer-to-peer, end-to-end encrypted messenger",
    long_about = "Kith: a peer-to-peer, end-to-end encrypted messenger.\n\n\
        Every device is a full peer; there is no server that holds accounts or messages.\n\
        The messaging commands arrive with the node (kith-core); today `kith` reports its build."
)]
struct Cli {
    /// Machine-readable output: one JSON value on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Versions of kith and of the libsodium it runs on.
    Version,
}

#[derive(Serialize)]
struct Version {
    kith: &'static str,
    libsodium: String,
}

fn run(cli: &Cli, out: &mut impl Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Version => {
            let version = Version {
                kith: env!("CARGO_PKG_VERSION"),
                libsodium: kith_crypto::libsodium_version()?,
            };
            if cli.json {
                serde_json::to_writer(&mut *out, &version)?;
                writeln!(out)?;
            } else {
                writeln!(
                    out,
                    "kith {} (libsodium {})",
                    version.kith, version.libsodium
                )?;
            }
        }
    }
    Ok(())
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let stdout = std::io::stdout();
    match run(&cli, &mut stdout.lock()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            let message = format!("{error:#}");
            if cli.json {
                let body = serde_json::json!({"error": {"code": "internal", "message": message}});
                let _ = writeln!(stdout.lock(), "{body}");
            } else {
                let _ = writeln!(std::io::stderr(), "kith: {message}");
            }
            std::process::ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_json_names_kith_and_libsodium() {
        let cli = Cli::parse_from(["kith", "--json", "version"]);
        let mut out = Vec::new();
        run(&cli, &mut out).unwrap();
        let value: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["kith"], env!("CARGO_PKG_VERSION"));
        assert!(value["libsodium"].as_str().unwrap().starts_with("1.0."));
    }
}
