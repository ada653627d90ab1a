//! `kith-bench`: Kith's benchmarks. Each workload runs next to an anchor
//! measured in the same process, and is reported as a ratio plus CPU time per
//! item; a table goes to stdout and JSON to `target/bench/`.
//!
//! ```text
//! cargo run --release -p kith-bench -- b0            # full run
//! cargo run --release -p kith-bench -- --quick b0    # smoke run (CI)
//! ```
#![forbid(unsafe_code)]
#![allow(clippy::print_stdout)] // a benchmark's job is to print its table

mod app;
mod b0;
mod groups;
mod measure;
mod net;
mod reconcile;
mod sessions;
mod storage;

use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::Context;
use clap::{Parser, Subcommand};
use serde::Serialize;

#[derive(Parser)]
#[command(
    version,
    about = "Kith benchmarks: ratios against anchors measured in the same run"
)]
struct Cli {
    /// Short rounds: proves the benchmarks run; numbers are rough.
    #[arg(long, global = true)]
    quick: bool,
    /// Folder for the JSON results.
    #[arg(long, global = true, default_value = "target/bench")]
    out: PathBuf,
    #[command(subcommand)]
    bench: Bench,
}

#[derive(Subcommand, Clone)]
enum Bench {
    /// B0 crypto_floor: kith-crypto wrappers vs direct libsodium calls.
    B0,
    /// Sessions: Double Ratchet and fan-out vs raw AEAD on the same bytes.
    Sessions,
    /// B4 reconcile: bytes and round trips to reconcile two logs.
    B4,
    /// B1 durable_commit: messages into the store vs fdatasync and an empty commit.
    B1,
    /// B2 ingest: received entries verified, decrypted and stored.
    B2,
    /// B3 link_sync: a newly linked device pulls the history over loopback iroh.
    B3,
    /// B5 latency: messages A1 -> B1, B2 over loopback iroh, durable on both sides.
    B5,
    /// B6 group fan-out (pairwise): one message to groups of N devices vs N raw seals.
    B6,
    /// B9 app: first paint and memory of the app over a 100k-message profile
    /// vs an empty Tauri window (needs Xvfb and both executables built).
    B9 {
        /// The app (built with `--features custom-protocol`).
        #[arg(long)]
        app: PathBuf,
        /// The empty window (`--example blank`, same features).
        #[arg(long)]
        blank: PathBuf,
        /// Keep the profile in this folder (reused when it exists).
        #[arg(long)]
        keep: Option<PathBuf>,
    },
}

#[derive(Serialize)]
struct Envelope<'a, T> {
    bench: &'a str,
    quick: bool,
    unix_time: u64,
    cores: usize,
    result: &'a T,
}

fn write_json<T: Serialize>(
    out: &Path,
    bench: &str,
    quick: bool,
    result: &T,
) -> anyhow::Result<PathBuf> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let envelope = Envelope {
        bench,
        quick,
        unix_time: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        cores: std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1),
        result,
    };
    let path = out.join(format!("{bench}.json"));
    std::fs::write(&path, serde_json::to_vec_pretty(&envelope)?)
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(path)
}

fn print_b0(report: &b0::Report) {
    println!(
        "B0 crypto_floor (libsodium {}): wrapper vs direct call, same run",
        report.libsodium
    );
    println!(
        "{:<26} {:>14} {:>14} {:>7} {:>11} {:>11}",
        "item", "direct op/s", "wrapper op/s", "ratio", "direct µs", "wrapper µs"
    );
    for row in &report.rows {
        let r = &row.result;
        println!(
            "{:<26} {:>14.0} {:>14.0} {:>7.3} {:>11.2} {:>11.2}",
            row.item,
            r.anchor.ops_per_sec,
            r.candidate.ops_per_sec,
            r.ratio,
            r.anchor.cpu_us_per_op,
            r.candidate.cpu_us_per_op
        );
    }
    for u in &report.unlock {
        println!(
            "argon2id unlock at {} limits ({} passes, {} MiB): {:.3} s",
            u.limits, u.ops, u.mem_mib, u.seconds
        );
    }
    println!("(target: every ratio >= 0.95; unlock <= 1 s; µs = CPU time per operation)");
}

fn print_rates(rates: &[storage::Rate]) {
    println!("{:<48} {:>14} {:>12}", "item", "per second", "CPU µs/item");
    for r in rates {
        println!("{:<48} {:>14.0} {:>12.2}", r.item, r.per_sec, r.cpu_us);
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    kith_crypto::init()?;
    match cli.bench.clone() {
        Bench::B0 => {
            let report = b0::run(cli.quick)?;
            print_b0(&report);
            let path = write_json(&cli.out, "B0", cli.quick, &report)?;
            println!("wrote {}", path.display());
        }
        Bench::B1 => {
            let base = cli.out.join("tmp");
            let rates = storage::b1(cli.quick, &base)?;
            println!(
                "B1 durable_commit: ~400 B messages into the store (folder {})",
                base.display()
            );
            print_rates(&rates);
            let path = write_json(&cli.out, "B1", cli.quick, &rates)?;
            std::fs::remove_dir_all(&base).ok();
            println!("wrote {}", path.display());
        }
        Bench::B2 => {
            let base = cli.out.join("tmp");
            let ingest = storage::b2(cli.quick, &base)?;
            println!(
                "B2 ingest: {} entries received from another device",
                ingest.entries
            );
            print_rates(&ingest.rates);
            println!(
                "ingest / verify-only = {:.3} (target >= 0.70)",
                ingest.ratio_to_verify
            );
            let path = write_json(&cli.out, "B2", cli.quick, &ingest)?;
            std::fs::remove_dir_all(&base).ok();
            println!("wrote {}", path.display());
        }
        Bench::B3 => {
            let base = cli.out.join("tmp");
            let r = net::b3(cli.quick, &base)?;
            println!(
                "B3 link_sync: a device linked after {} messages pulls them over loopback iroh ({} bytes of frames)",
                r.entries, r.bytes
            );
            println!(
                "kith: {:.2} s ({:.0} entries/s); anchors: ingest from memory {:.2} s, bare iroh copy {:.3} s",
                r.kith_seconds, r.kith_entries_per_sec, r.ingest_only_seconds, r.bare_copy_seconds
            );
            println!(
                "kith / ingest-only = {:.2}, kith / bare copy = {:.1} (target: < 10 s for 100k)",
                r.ratio_to_ingest, r.ratio_to_bare_copy
            );
            let path = write_json(&cli.out, "B3", cli.quick, &r)?;
            std::fs::remove_dir_all(&base).ok();
            println!("wrote {}", path.display());
        }
        Bench::B5 => {
            let base = cli.out.join("tmp");
            let r = net::b5(cli.quick, &base)?;
            println!(
                "B5 latency: {} messages A1 -> B1, B2 over loopback iroh, durable on both sides",
                r.messages
            );
            for (name, p50, p99) in &r.devices {
                println!("to {name}: p50 {p50:.2} ms, p99 {p99:.2} ms");
            }
            println!(
                "anchor (bare iroh ping-pong + 2 fdatasync): p50 {:.2} ms, p99 {:.2} ms",
                r.anchor_p50_ms, r.anchor_p99_ms
            );
            println!("worst p99 / anchor p99 = {:.2} (target <= 3)", r.ratio_p99);
            let path = write_json(&cli.out, "B5", cli.quick, &r)?;
            std::fs::remove_dir_all(&base).ok();
            println!("wrote {}", path.display());
        }
        Bench::B6 => {
            let rows = groups::run(cli.quick)?;
            println!(
                "B6 group fan-out (one ~90 B message; anchor = N raw XChaCha20-Poly1305 seals)"
            );
            println!(
                "{:>12} {:>8} {:>12} {:>13} {:>13} {:>10} {:>12} {:>10}",
                "mode",
                "devices",
                "write/anchor",
                "write CPU ms",
                "bytes/member",
                "own env B",
                "take CPU µs",
                "take/open"
            );
            for r in &rows {
                println!(
                    "{:>12} {:>8} {:>12.3} {:>13.3} {:>13} {:>10} {:>12.1} {:>10.0}",
                    r.mode,
                    r.devices,
                    r.write.ratio,
                    r.write.candidate.cpu_us_per_op / 1000.0,
                    r.bytes_per_member,
                    r.own_envelope_bytes,
                    r.take_cpu_us,
                    r.take_per_open
                );
            }
            println!(
                "(write/anchor: throughput ratio; pairwise, every member is sent the whole fan-out, so bytes grow with N per member; sender keys: one ciphertext, plus a pairwise distribution when the member devices change)"
            );
            let path = write_json(&cli.out, "B6", cli.quick, &rows)?;
            println!("wrote {}", path.display());
        }
        Bench::B4 => {
            let rows = reconcile::run(cli.quick)?;
            println!("B4 reconcile: two devices meet; anchor = sending both full id lists");
            println!(
                "{:>8} {:>6} {:>12} {:>7} {:>6} {:>9} {:>14} {:>10}",
                "common", "diff", "bytes", "frames", "waves", "ms", "anchor bytes", "B/entry"
            );
            for r in &rows {
                println!(
                    "{:>8} {:>6} {:>12} {:>7} {:>6} {:>9.1} {:>14} {:>10.0}",
                    r.common,
                    r.difference,
                    r.bytes,
                    r.frames,
                    r.waves,
                    r.ms,
                    r.anchor_id_list_bytes,
                    r.bytes_per_missing_entry
                );
            }
            let path = write_json(&cli.out, "B4", cli.quick, &rows)?;
            println!("wrote {}", path.display());
        }
        Bench::B9 { app, blank, keep } => {
            let base = cli.out.join("tmp");
            let r = app::b9(cli.quick, &base, &app, &blank, keep.as_deref())?;
            println!(
                "B9 app: {} messages (profile built in {:.1} s, database {:.1} MiB), median of {} runs",
                r.messages, r.build_seconds, r.database_mib, r.runs
            );
            println!(
                "{:<22} {:>15} {:>10} {:>10} {:>10}",
                "", "first paint ms", "RSS MiB", "PSS MiB", "processes"
            );
            for (name, v) in [
                ("kith over the profile", &r.kith),
                ("empty Tauri window", &r.blank),
            ] {
                println!(
                    "{:<22} {:>15.0} {:>10.1} {:>10.1} {:>10}",
                    name, v.first_paint_ms, v.rss_mib, v.pss_mib, v.processes
                );
            }
            println!(
                "kith / empty: first paint {:.2}, RSS {:.2} (target <= 1.5 and < 1 s)",
                r.ratio_first_paint, r.ratio_rss
            );
            println!(
                "in process: open the profile {:.0} ms (reading the entries {:.0} ms), newest 200 messages {:.1} ms",
                r.node_open_ms, r.store_load_ms, r.page_ms
            );
            let path = write_json(&cli.out, "B9", cli.quick, &r)?;
            std::fs::remove_dir_all(&base).ok();
            println!("wrote {}", path.display());
        }
        Bench::Sessions => {
            let rows = sessions::run(cli.quick)?;
            println!(
                "Sessions: Kith's ratchet and fan-out vs XChaCha20-Poly1305 seal(+open), same bytes, same run"
            );
            println!(
                "{:<46} {:>12} {:>12} {:>7} {:>11}",
                "item", "anchor op/s", "kith op/s", "ratio", "kith µs"
            );
            for row in &rows {
                let r = &row.result;
                println!(
                    "{:<46} {:>12.0} {:>12.0} {:>7.3} {:>11.2}",
                    row.item,
                    r.anchor.ops_per_sec,
                    r.candidate.ops_per_sec,
                    r.ratio,
                    r.candidate.cpu_us_per_op
                );
            }
            let path = write_json(&cli.out, "sessions", cli.quick, &rows)?;
            println!("wrote {}", path.display());
        }
    }
    Ok(())
}
