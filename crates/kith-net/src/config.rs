//! How a device's endpoint is set up: where it listens, which relays it
//! uses, and which address lookups (mDNS, DHT) and the portmapper are on.

use std::net::SocketAddr;

use iroh::address_lookup::{AddrFilter, MemoryLookup};
use iroh::endpoint::{PortmapperConfig, presets};
use iroh::{Endpoint, RelayMode, RelayUrl, SecretKey};
use iroh_mainline_address_lookup::DhtAddressLookup;
use iroh_mdns_address_lookup::MdnsAddressLookup;
use kith_crypto::SecretBytes;

use crate::{LINK_ALPN, NetError, Result, SYNC_ALPN};

/// Which relays the endpoint uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Relays {
    /// None: direct connections only.
    Disabled,
    /// The public relays of the iroh project (number 0).
    Default,
    /// Self-hosted `iroh-relay` servers.
    Custom(Vec<String>),
}

/// How the endpoint is set up. Tests use [`NetConfig::local`].
#[derive(Clone, Debug)]
pub struct NetConfig {
    /// Where to listen (`None`: every interface, an ephemeral port).
    pub bind: Option<SocketAddr>,
    /// Relays.
    pub relays: Relays,
    /// Find and announce devices on the local network (mDNS).
    pub mdns: bool,
    /// Publish and resolve addresses on the mainline DHT.
    pub dht: bool,
    /// The DHT's bootstrap nodes (`host:port`): a private DHT instead of
    /// the public one; empty: the public mainline DHT's own.
    pub dht_bootstrap: Vec<String>,
    /// Ask the router for a port mapping (UPnP, PCP, NAT-PMP).
    pub portmapper: bool,
}

impl Default for NetConfig {
    /// Everything on: every interface, public relays, mDNS, DHT, portmapper.
    fn default() -> Self {
        Self {
            bind: None,
            relays: Relays::Default,
            mdns: true,
            dht: true,
            dht_bootstrap: Vec::new(),
            portmapper: true,
        }
    }
}

impl NetConfig {
    /// Loopback only, an ephemeral port, no relay, no portmapper, no lookup.
    pub fn local() -> Self {
        Self {
            bind: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            relays: Relays::Disabled,
            mdns: false,
            dht: false,
            dht_bootstrap: Vec::new(),
            portmapper: false,
        }
    }

    /// The relay URLs to use, checked.
    fn relay_mode(&self) -> Result<RelayMode> {
        Ok(match &self.relays {
            Relays::Disabled => RelayMode::Disabled,
            Relays::Default => RelayMode::Default,
            Relays::Custom(urls) => {
                let urls = urls
                    .iter()
                    .map(|u| {
                        u.parse::<RelayUrl>()
                            .map_err(|e| NetError::Config(format!("relay url {u:?}: {e}")))
                    })
                    .collect::<Result<Vec<_>>>()?;
                RelayMode::custom(urls)
            }
        })
    }
}

/// Binds this device's iroh endpoint with its transport seed.
pub async fn bind(seed: &SecretBytes<32>, config: &NetConfig) -> Result<Endpoint> {
    bind_with(seed, config, None).await
}

/// Binds the endpoint; `lookup` (if any) is consulted when connecting to
/// an endpoint id (addresses from invites and announcements).
pub async fn bind_with(
    seed: &SecretBytes<32>,
    config: &NetConfig,
    lookup: Option<MemoryLookup>,
) -> Result<Endpoint> {
    let mut builder = Endpoint::builder(presets::Minimal)
        .secret_key(SecretKey::from_bytes(seed.expose()))
        .relay_mode(config.relay_mode()?)
        .portmapper_config(if config.portmapper {
            PortmapperConfig::default()
        } else {
            PortmapperConfig::Disabled
        })
        .alpns(vec![SYNC_ALPN.to_vec(), LINK_ALPN.to_vec()]);
    if let Some(addr) = config.bind {
        builder = builder
            .clear_ip_transports()
            .bind_addr(addr)
            .map_err(|e| NetError::Bind(e.to_string()))?;
    }
    if let Some(lookup) = lookup {
        builder = builder.address_lookup(lookup);
    }
    if config.mdns {
        builder = builder.address_lookup(MdnsAddressLookup::builder().service_name("kith"));
    }
    if config.dht {
        // Direct addresses too, so devices without a relay can be found.
        let mut lookup = DhtAddressLookup::builder().addr_filter(AddrFilter::unfiltered());
        if !config.dht_bootstrap.is_empty() {
            let mut dht = n0_mainline::DhtBuilder::default();
            dht.bootstrap(&config.dht_bootstrap);
            lookup = lookup.dht_builder(dht);
        }
        builder = builder.address_lookup(lookup);
    }
    builder
        .bind()
        .await
        .map_err(|e| NetError::Bind(e.to_string()))
}
