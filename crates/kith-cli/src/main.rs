//! `kith`: the Kith node on the command line.
//!
//! Every command works on one profile folder (`--data-dir`). While a
//! `kith daemon` runs on that folder, the other commands go through its
//! owner-only control socket instead of opening the store themselves.
//! `--json` prints one JSON value on stdout (errors as
//! `{"error":{"code","message"}}` with a non-zero exit).
//!
//! This file parses the command line and dispatches; each command group
//! runs and prints in its own module (`account`, `contact`, `device`,
//! `link`, `messages`, `sync`; the daemon in `control`).
#![forbid(unsafe_code)]

mod account;
mod contact;
mod control;
mod device;
mod docs;
mod group;
mod human;
mod inbox;
mod link;
mod messages;
mod room;
mod sync;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use contact::ContactCommand;
use device::DeviceCommand;
use group::GroupCommand;
use kith_core::{CoreError, NetConfig, Node, Relays};
use link::LinkCommand;
use room::RoomCommand;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Parser)]
#[command(
    name = "kith",
    version,
    about = "Kith: a peer-to-peer, end-to-end encrypted messenger",
    long_about = "Kith: a peer-to-peer, end-to-end encrypted messenger.\n\n\
        Every device is a full peer; there is no server that holds accounts or messages.\n\
        Start with `kith init --name NAME`, share `kith invite`, and run `kith daemon`\n\
        (or `kith sync`) to exchange messages.\n\n\
        KITH_LOG=debug (or info, warn, error, trace) writes a log to stderr."
)]
struct Cli {
    /// Profile folder (default: the OS data folder, e.g. ~/.local/share/kith).
    #[arg(long, global = true, env = "KITH_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Machine-readable output: one JSON value on stdout.
    #[arg(long, global = true)]
    json: bool,
    #[command(flatten)]
    net: NetFlags,
    #[command(subcommand)]
    command: Command,
}

#[derive(Args, Clone, Debug, Default)]
struct NetFlags {
    /// Where to listen, e.g. 127.0.0.1:7001 (default: every interface, any port).
    #[arg(long, global = true)]
    listen: Option<SocketAddr>,
    /// No relays (direct connections only).
    #[arg(long, global = true)]
    no_relay: bool,
    /// A self-hosted iroh relay instead of the public ones.
    #[arg(long, global = true, value_name = "URL")]
    relay: Option<String>,
    /// No local-network discovery (mDNS).
    #[arg(long, global = true)]
    no_mdns: bool,
    /// No address publishing or lookup on the mainline DHT.
    #[arg(long, global = true)]
    no_dht: bool,
    /// A private mainline DHT through this bootstrap node (HOST:PORT;
    /// repeatable) instead of the public DHT.
    #[arg(long, global = true, value_name = "HOST:PORT", value_parser = host_port)]
    dht_bootstrap: Vec<String>,
    /// No port mapping on the router (UPnP, PCP, NAT-PMP).
    #[arg(long, global = true)]
    no_portmapper: bool,
    /// Loopback/LAN only: --no-relay --no-mdns --no-dht --no-portmapper.
    #[arg(long, global = true)]
    local: bool,
}

/// A `HOST:PORT` (a name or an address, and a port).
fn host_port(value: &str) -> Result<String, String> {
    match value.rsplit_once(':') {
        Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok_and(|p| p != 0) => {
            Ok(value.to_owned())
        }
        _ => Err(format!("{value:?} is not HOST:PORT")),
    }
}

impl NetFlags {
    fn config(&self) -> NetConfig {
        let local = self.local;
        NetConfig {
            bind: self.listen,
            relays: if local || self.no_relay {
                Relays::Disabled
            } else if let Some(url) = &self.relay {
                Relays::Custom(vec![url.clone()])
            } else {
                Relays::Default
            },
            mdns: !(local || self.no_mdns),
            dht: !(local || self.no_dht),
            dht_bootstrap: self.dht_bootstrap.clone(),
            portmapper: !(local || self.no_portmapper),
        }
    }
}

/// Commands. Serializable: the daemon receives them over its socket.
#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum Command {
    /// Versions of kith and of the libsodium it runs on.
    Version,
    /// Create a new account on this device.
    Init {
        /// Your display name (what contacts see).
        #[arg(long)]
        name: String,
        /// This device's name (default: the host name).
        #[arg(long)]
        device_name: Option<String>,
    },
    /// This account, this device and where it listens.
    Whoami,
    /// A new contact invite (a `kith:` link, single use, valid 7 days).
    Invite {
        /// Also write the QR code as a PNG image.
        #[arg(long, value_name = "FILE.png")]
        qr: Option<PathBuf>,
    },
    /// Contacts.
    #[command(subcommand)]
    Contact(ContactCommand),
    /// Link devices of one account.
    #[command(subcommand)]
    Link(LinkCommand),
    /// This account's devices.
    #[command(subcommand)]
    Device(DeviceCommand),
    /// Private groups.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Public rooms: anyone with a room's link reads it and may post.
    #[command(subcommand)]
    Room(RoomCommand),
    /// Send a message to a contact or a group (queued; delivered when
    /// possible).
    Send {
        /// The contact or group (id, a prefix of it, or its name).
        contact: String,
        /// The text.
        text: String,
        /// Send even if the contact is marked compromised.
        #[arg(long)]
        anyway: bool,
        /// Answer this message (its id), quoting it.
        #[arg(long, value_name = "MESSAGE_ID")]
        reply_to: Option<String>,
    },
    /// Every conversation, the most recently active first, with its
    /// unread count.
    Conversations,
    /// Mark the conversation with a contact read (on all my devices).
    Read {
        /// The contact.
        contact: String,
    },
    /// Mute a conversation's notifications on all my devices.
    Mute {
        /// The contact.
        contact: String,
        /// Unmute it instead.
        #[arg(long)]
        off: bool,
    },
    /// Search the messages of every conversation (on this device only).
    Search {
        /// The text to find (case is ignored).
        query: String,
        /// At most this many results (newest first).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// The messages with a contact, or of a group, in display order.
    Messages {
        /// The contact or group.
        contact: String,
    },
    /// Delete a message from all of my devices.
    Delete {
        /// The message id (or at least 8 of its first hex digits).
        message_id: String,
    },
    /// Stay online until SIGINT/SIGTERM; other commands go through it.
    Daemon,
    /// Go online, sync with every reachable device, and exit.
    Sync {
        /// Give up after this many seconds.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
    /// Write the man pages and shell completions (for packaging).
    #[command(hide = true)]
    GenerateDocs {
        /// The folder to write `man/` and `completions/` into.
        #[arg(long)]
        out: PathBuf,
    },
}

fn host_name() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty() && s.len() <= 64)
        .or_else(|| std::env::var("COMPUTERNAME").ok())
        .unwrap_or_else(|| "device".to_owned())
}

/// Settings of a run.
pub(crate) struct Ctx {
    pub data_dir: PathBuf,
    pub net: NetConfig,
    pub json: bool,
}

pub(crate) fn offline() -> NetConfig {
    NetConfig::local()
}

pub(crate) fn to_value<T: Serialize>(value: T) -> Result<Value, CoreError> {
    serde_json::to_value(value).map_err(|e| CoreError::new("internal", e.to_string()))
}

/// Runs one command on an open node (in this process or in the daemon).
pub(crate) async fn execute(node: &Node, command: &Command) -> Result<Value, CoreError> {
    match command {
        Command::Whoami => account::whoami(node).await,
        Command::Invite { .. } => contact::invite(node).await,
        Command::Contact(c) => contact::execute(node, c).await,
        Command::Link(LinkCommand::Accept { uri }) => link::accept(node, uri).await,
        Command::Device(d) => device::execute(node, d).await,
        Command::Group(g) => group::execute(node, g).await,
        Command::Room(room) => room::execute(node, room).await,
        Command::Send {
            contact,
            text,
            anyway,
            reply_to,
        } => messages::send(node, contact, text, reply_to.as_deref(), *anyway).await,
        Command::Conversations => inbox::conversations(node).await,
        Command::Read { contact } => inbox::read(node, contact).await,
        Command::Mute { contact, off } => inbox::mute(node, contact, !off).await,
        Command::Search { query, limit } => inbox::search(node, query, *limit).await,
        Command::Messages { contact } => messages::list(node, contact).await,
        Command::Delete { message_id } => messages::delete(node, message_id).await,
        Command::Sync { timeout } => sync::sync(node, *timeout).await,
        Command::Version
        | Command::Init { .. }
        | Command::Daemon
        | Command::Link(_)
        | Command::GenerateDocs { .. } => Err(CoreError::new(
            "invalid_input",
            "this command cannot run through the daemon",
        )),
    }
}

fn needs_network(command: &Command) -> bool {
    matches!(
        command,
        Command::Sync { .. }
            | Command::Link(LinkCommand::Accept { .. })
            | Command::Contact(ContactCommand::Add { .. })
            | Command::Room(RoomCommand::Join { .. })
    )
}

async fn run(cli: &Cli, ctx: &Ctx) -> Result<Value, CoreError> {
    let command = &cli.command;
    match command {
        Command::Version => account::version(),
        Command::GenerateDocs { out } => docs::generate(out),
        Command::Init { name, device_name } => {
            let device_name = device_name.clone().unwrap_or_else(host_name);
            account::init(ctx, name, &device_name).await
        }
        Command::Link(LinkCommand::Request { device_name, wait }) => {
            link::request(ctx, device_name.clone().unwrap_or_else(host_name), *wait).await
        }
        Command::Daemon => control::daemon(ctx).await,
        other => {
            let net = if needs_network(other) {
                ctx.net.clone()
            } else {
                offline()
            };
            let node = match control::reach(ctx, other, net).await? {
                control::Reach::Daemon(reply) => return reply,
                control::Reach::Here(node) => node,
            };
            let result = match other {
                Command::Sync { timeout } => sync::sync_here(ctx, &node, *timeout).await,
                Command::Contact(add @ ContactCommand::Add { .. }) => {
                    contact::add_here(&node, add).await
                }
                Command::Link(LinkCommand::Accept { uri }) => {
                    link::accept_here(ctx, &node, uri).await
                }
                Command::Room(RoomCommand::Join { uri }) => room::join_here(&node, uri).await,
                _ => execute(&node, other).await,
            };
            node.shutdown().await;
            result
        }
    }
}

/// Prints `value`, the result of `command`, for people.
fn print(out: &mut impl Write, command: &Command, value: &Value) -> std::io::Result<()> {
    match command {
        Command::Version => account::print_version(out, value),
        Command::Init { .. } => account::print_init(out, value),
        Command::Whoami => account::print_whoami(out, value),
        Command::Invite { qr } => contact::print_invite(out, qr.as_deref(), value),
        Command::Contact(c) => contact::print(out, c, value),
        Command::Device(d) => device::print(out, d, value),
        Command::Group(g) => group::print(out, g, value),
        Command::Room(room) => room::print(out, room, value),
        Command::Link(l) => link::print(out, l, value),
        Command::Send { .. } => messages::print_sent(out, value),
        Command::Conversations => inbox::print_conversations(out, value),
        Command::Read { .. } => writeln!(out, "Marked read on all of your devices."),
        Command::Mute { off, .. } => inbox::print_muted(out, !off),
        Command::Search { .. } => inbox::print_hits(out, value),
        Command::Messages { .. } => messages::print_list(out, value),
        Command::Delete { .. } => messages::print_deleted(out),
        Command::Daemon => writeln!(out, "Stopped."),
        Command::Sync { .. } => sync::print(out, value),
        Command::GenerateDocs { out: folder } => {
            writeln!(
                out,
                "Wrote the man pages and completions to {}.",
                folder.display()
            )
        }
    }
}

/// Work done on this side after a command succeeded: the invite's QR file.
fn after(command: &Command, value: &Value) -> Result<(), CoreError> {
    if let Command::Invite { qr: Some(path) } = command {
        contact::write_qr(path, value)?;
    }
    Ok(())
}

/// Logs to stderr at the level `KITH_LOG` names (`error` … `trace`); no
/// log at all without it, so stdout and stderr stay what scripts expect.
fn init_log() {
    let level = std::env::var("KITH_LOG")
        .ok()
        .and_then(|l| tracing_subscriber::filter::LevelFilter::from_str(&l).ok());
    if let Some(level) = level {
        let _ = tracing_subscriber::fmt()
            .with_max_level(level)
            .with_writer(std::io::stderr)
            .try_init();
    }
}

fn main() -> std::process::ExitCode {
    init_log();
    let cli = Cli::parse();
    let ctx = Ctx {
        data_dir: cli
            .data_dir
            .clone()
            .unwrap_or_else(kith_core::default_data_dir),
        net: cli.net.config(),
        json: cli.json,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "kith: cannot start: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    let result = runtime
        .block_on(run(&cli, &ctx))
        .and_then(|value| after(&cli.command, &value).map(|()| value));
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    let code = match result {
        // The daemon said it was online when it was; nothing more on stdout.
        Ok(_) if cli.json && matches!(cli.command, Command::Daemon) => {
            std::process::ExitCode::SUCCESS
        }
        Ok(value) => {
            let printed = if cli.json {
                writeln!(out, "{value}")
            } else {
                print(&mut out, &cli.command, &value)
            };
            if printed.is_ok() {
                std::process::ExitCode::SUCCESS
            } else {
                std::process::ExitCode::FAILURE
            }
        }
        Err(error) => {
            if cli.json {
                let body = json!({"error": {"code": error.code, "message": error.message}});
                let _ = writeln!(out, "{body}");
            } else {
                let _ = writeln!(std::io::stderr(), "kith: {}", error.message);
            }
            std::process::ExitCode::FAILURE
        }
    };
    drop(out);
    runtime.shutdown_timeout(Duration::from_secs(2));
    code
}
