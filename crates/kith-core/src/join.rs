//! The new device's side of linking: `kith link request`.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use kith_identity::{DeviceKeys, DeviceLog, invite};
use kith_net::iroh::protocol::Router;
use kith_net::{LINK_ALPN, LinkProtocol, LinkReply, LinkService, NetConfig, bind_with};
use kith_store::DATABASE_FILE;
use kith_wire::{AccountId, InviteSecret, SignedAnnouncement, SignedDeviceEntry, TransportId};
use tokio::sync::{Mutex, oneshot};

use crate::error::{CoreError, Result};
use crate::link_service::dialer_log;
use crate::node::{Node, now_ms};
use crate::profile::{reopen, save_linked_profile};

/// What the accepting device sent.
type Outcome = (DeviceLog, Option<SignedAnnouncement>);

struct JoinService {
    keys: Arc<DeviceKeys>,
    secret: InviteSecret,
    /// The account that presented the secret, and where its device is.
    offered: Mutex<Option<(AccountId, Option<SignedAnnouncement>)>>,
    done: Mutex<Option<oneshot::Sender<Outcome>>>,
}

impl LinkService for JoinService {
    async fn redeem(
        &self,
        remote: TransportId,
        secret: InviteSecret,
        log: Vec<SignedDeviceEntry>,
        announcement: Option<SignedAnnouncement>,
    ) -> std::result::Result<LinkReply, String> {
        if !kith_crypto::ct_eq(self.secret.as_bytes(), secret.as_bytes()) {
            return Err("wrong link secret".into());
        }
        let log = dialer_log(log, &remote)?;
        let account = log.account_id();
        *self.offered.lock().await = Some((account, announcement));
        let op = self.keys.join_op(&account).map_err(|e| e.to_string())?;
        Ok(LinkReply::Join { op: Box::new(op) })
    }

    async fn joined(
        &self,
        _remote: TransportId,
        log: Vec<SignedDeviceEntry>,
    ) -> std::result::Result<(), String> {
        let Some((account, announcement)) = self.offered.lock().await.clone() else {
            return Err("no link in progress".into());
        };
        let log = DeviceLog::from_entries(log)
            .map_err(|_| "the device log does not verify".to_owned())?;
        if log.account_id() != account || !log.state().is_active(&self.keys.device_id()) {
            return Err("the device log does not include this device".into());
        }
        let sender = self
            .done
            .lock()
            .await
            .take()
            .ok_or_else(|| "already linked".to_owned())?;
        let _ = sender.send((log, announcement));
        Ok(())
    }
}

/// Links a new device: makes its keys, shows the `kith-link:` URI through
/// `on_uri`, waits (at most `wait`) for an existing device to accept, then
/// stores the profile in `dir` (which must hold none) and opens it. The
/// returned node is offline; go online (or `sync`) to fetch the history.
pub async fn request_link(
    dir: &Path,
    device_name: &str,
    net: NetConfig,
    wait: Duration,
    on_uri: impl FnOnce(String) + Send,
) -> Result<Node> {
    if dir.join(DATABASE_FILE).exists() {
        return Err(CoreError::new(
            "profile_exists",
            format!("{} already holds a Kith profile", dir.display()),
        ));
    }
    kith_wire::limits::check_name(device_name)
        .map_err(|_| CoreError::new("invalid_input", "the device name must be 1–64 bytes"))?;
    let keys = Arc::new(DeviceKeys::generate(device_name, now_ms())?);
    let seed = keys.transport_seed().duplicate();
    let endpoint = bind_with(&seed, &net, None).await?;
    let addresses: Vec<_> = endpoint.addr().ip_addrs().copied().collect();
    let request = invite::link_request(&keys, addresses, now_ms() / 1000)?;
    let uri = invite::to_uri(&request)?;
    let (tx, rx) = oneshot::channel();
    let service = Arc::new(JoinService {
        keys: keys.clone(),
        secret: request.secret,
        offered: Mutex::new(None),
        done: Mutex::new(Some(tx)),
    });
    let router = Router::builder(endpoint)
        .accept(LINK_ALPN, LinkProtocol(service))
        .spawn();
    on_uri(uri);
    let outcome = tokio::time::timeout(wait, rx).await;
    // Let the accepting device read our answer before the endpoint closes.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let _ = tokio::time::timeout(Duration::from_secs(4), router.shutdown()).await;
    drop(router);
    let (log, announcement) = match outcome {
        Ok(Ok(outcome)) => outcome,
        Ok(Err(_)) => return Err(CoreError::new("internal", "the link exchange ended early")),
        Err(_) => {
            return Err(CoreError::new(
                "timeout",
                "no device accepted the link request in time",
            ));
        }
    };
    let keys = Arc::try_unwrap(keys)
        .map_err(|_| CoreError::new("internal", "the link service is still running"))?;
    let addresses: Vec<SignedAnnouncement> = announcement.into_iter().collect();
    save_linked_profile(dir, &keys, &log, &[], &addresses)?;
    drop(keys);
    reopen(dir, net, &[], None).await
}
