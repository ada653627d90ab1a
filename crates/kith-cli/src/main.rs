//! `kith`: the Kith node on the command line.
//!
//! Every command works on one profile folder (`--data-dir`). While a
//! `kith daemon` runs on that folder, the other commands go through its
//! owner-only control socket instead of opening the store themselves.
//! `--json` prints one JSON value on stdout (errors as
//! `{"error":{"code","message"}}` with a non-zero exit).
#![forbid(unsafe_code)]

mod control;
mod human;

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand};
use kith_core::{CoreError, NetConfig, Node, Relays};
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
        (or `kith sync`) to exchange messages."
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
    /// No port mapping on the router (UPnP, PCP, NAT-PMP).
    #[arg(long, global = true)]
    no_portmapper: bool,
    /// Loopback/LAN only: --no-relay --no-mdns --no-dht --no-portmapper.
    #[arg(long, global = true)]
    local: bool,
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
    /// Send a message to a contact (queued; delivered when possible).
    Send {
        /// The contact (account id, a prefix of it, or its name).
        contact: String,
        /// The text.
        text: String,
        /// Send even if the contact is marked compromised.
        #[arg(long)]
        anyway: bool,
    },
    /// The messages with a contact, in display order.
    Messages {
        /// The contact.
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
}

#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum ContactCommand {
    /// Add a contact from its `kith:` link.
    Add {
        /// The link.
        uri: String,
        /// Your name for the contact.
        #[arg(long)]
        name: Option<String>,
    },
    /// All contacts with their trust state.
    List,
    /// The 60-digit safety number to compare with a contact.
    SafetyNumber {
        /// The contact.
        contact: String,
    },
    /// Validate a contact with the safety number shown on their device.
    Validate {
        /// The contact.
        contact: String,
        /// The 60 digits (spaces allowed).
        #[arg(long)]
        safety_number: String,
    },
    /// Mark a contact compromised.
    Compromise {
        /// The contact.
        contact: String,
    },
}

#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum LinkCommand {
    /// On a new device (empty data dir): show a `kith-link:` link and wait.
    Request {
        /// This device's name (default: the host name).
        #[arg(long)]
        device_name: Option<String>,
        /// How long to wait for acceptance, in seconds.
        #[arg(long, default_value_t = 600)]
        wait: u64,
    },
    /// On a device of the account: accept a new device's link.
    Accept {
        /// The `kith-link:` link.
        uri: String,
    },
}

#[derive(Subcommand, Clone, Debug, Serialize, Deserialize)]
pub(crate) enum DeviceCommand {
    /// This account's devices.
    List,
    /// Revoke (untrust) a device: it is cut off everywhere.
    Revoke {
        /// The device id (or a unique prefix).
        device_id: String,
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

fn offline() -> NetConfig {
    NetConfig::local()
}

fn to_value<T: Serialize>(value: T) -> Result<Value, CoreError> {
    serde_json::to_value(value).map_err(|e| CoreError::new("internal", e.to_string()))
}

/// Runs one command on an open node (in this process or in the daemon).
pub(crate) async fn execute(node: &Node, command: &Command) -> Result<Value, CoreError> {
    match command {
        Command::Whoami => to_value(node.identity().await),
        Command::Invite { .. } => Ok(json!({ "uri": node.invite().await? })),
        Command::Contact(c) => match c {
            ContactCommand::Add { uri, name } => {
                to_value(node.add_contact(uri, name.as_deref()).await?)
            }
            ContactCommand::List => to_value(node.contacts().await),
            ContactCommand::SafetyNumber { contact } => {
                Ok(json!({ "safety_number": node.safety_number(contact).await? }))
            }
            ContactCommand::Validate {
                contact,
                safety_number,
            } => to_value(node.validate(contact, safety_number).await?),
            ContactCommand::Compromise { contact } => to_value(node.compromise(contact).await?),
        },
        Command::Link(LinkCommand::Accept { uri }) => to_value(node.link_accept(uri).await?),
        Command::Device(DeviceCommand::List) => to_value(node.devices().await),
        Command::Device(DeviceCommand::Revoke { device_id }) => {
            node.revoke(device_id).await?;
            Ok(json!({ "revoked": device_id }))
        }
        Command::Send {
            contact,
            text,
            anyway,
        } => to_value(node.send(contact, text, *anyway).await?),
        Command::Messages { contact } => to_value(node.messages(contact).await?),
        Command::Delete { message_id } => {
            node.delete(message_id).await?;
            Ok(json!({ "deleted": message_id }))
        }
        Command::Sync { timeout } => to_value(node.sync(Duration::from_secs(*timeout)).await?),
        Command::Version | Command::Init { .. } | Command::Daemon | Command::Link(_) => {
            Err(CoreError::new(
                "invalid_input",
                "this command cannot run through the daemon",
            ))
        }
    }
}

fn needs_network(command: &Command) -> bool {
    matches!(
        command,
        Command::Sync { .. }
            | Command::Link(LinkCommand::Accept { .. })
            | Command::Contact(ContactCommand::Add { .. })
    )
}

async fn run(cli: &Cli, ctx: &Ctx) -> Result<Value, CoreError> {
    let command = &cli.command;
    match command {
        Command::Version => Ok(json!({
            "kith": env!("CARGO_PKG_VERSION"),
            "libsodium": kith_crypto::libsodium_version()
                .map_err(|e| CoreError::new("internal", e.to_string()))?,
        })),
        Command::Init { name, device_name } => {
            if control::daemon_running(&ctx.data_dir).await {
                return Err(CoreError::new(
                    "daemon_running",
                    "a daemon runs on this data dir",
                ));
            }
            let device_name = device_name.clone().unwrap_or_else(host_name);
            let protection = kith_core::protection_from_env();
            let protected_by = match protection {
                kith_store::Protection::Passphrase(..) => "passphrase",
                kith_store::Protection::Keystore => "keystore",
                kith_store::Protection::KeyFile => "key_file",
            };
            let node =
                Node::create(&ctx.data_dir, name, &device_name, offline(), protection).await?;
            let id = node.identity().await;
            node.shutdown().await;
            Ok(json!({
                "account_id": id.account_id,
                "device_id": id.device_id,
                "protection": protected_by,
            }))
        }
        Command::Link(LinkCommand::Request { device_name, wait }) => {
            human::link_request(ctx, device_name.clone().unwrap_or_else(host_name), *wait).await
        }
        Command::Daemon => control::daemon(ctx).await,
        other => {
            if let Some(reply) = control::send(&ctx.data_dir, other).await? {
                return reply;
            }
            let net = if needs_network(other) {
                ctx.net.clone()
            } else {
                offline()
            };
            let node = Node::open(&ctx.data_dir, net).await?;
            if let Command::Sync { timeout } = other {
                human::progress(
                    ctx,
                    &format!("syncing with every reachable device (at most {timeout} s)…"),
                );
            }
            let result = match other {
                Command::Contact(ContactCommand::Add { .. }) => {
                    node.go_online().await?;
                    let added = execute(&node, other).await;
                    // Give the new contact's device a moment to sync.
                    if added.is_ok() {
                        let _ = node.sync(Duration::from_secs(5)).await;
                    }
                    added
                }
                Command::Link(LinkCommand::Accept { .. }) => {
                    node.go_online().await?;
                    let accepted = execute(&node, other).await;
                    if accepted.is_ok() {
                        human::progress(ctx, "sending the history to the new device…");
                        let _ = node.sync(Duration::from_secs(60)).await;
                    }
                    accepted
                }
                _ => execute(&node, other).await,
            };
            node.shutdown().await;
            result
        }
    }
}

fn main() -> std::process::ExitCode {
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
        .and_then(|value| human::after(&cli.command, &value).map(|()| value));
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
                human::print(&mut out, &cli.command, &value)
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
