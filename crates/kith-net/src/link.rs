//! `kith/link/1`: redeeming a one-time secret. The listener made an invite
//! (contact) or a link request (new device) and holds its secret; the dialer
//! presents it with its account's device log. For a contact invite the
//! listener answers with its own device log and both sides know each other;
//! for a link request the new device answers with its add-device operation,
//! and the dialer answers with the account log that now includes it.
//! Whatever the secret does is decided by the [`LinkService`] (kith-core).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use iroh::endpoint::{Connection, RecvStream, SendStream};
use iroh::protocol::{AcceptError, ProtocolHandler};
use iroh::{Endpoint, EndpointAddr};
use kith_wire::{
    DeviceOp, InviteSecret, LinkMessage, MAX_LINK_FRAME_BYTES, SignedAnnouncement,
    SignedDeviceEntry, TransportId,
};

use crate::frame::{read_frame, write_frame};
use crate::{NetError, Result};

/// The ALPN of invite redemption and device linking.
pub const LINK_ALPN: &[u8] = b"kith/link/1";

/// How long one link exchange may take, end to end.
pub const LINK_TIMEOUT: Duration = Duration::from_secs(20);

/// The listener's answer to a valid secret.
#[derive(Clone, Debug)]
pub enum LinkReply {
    /// A contact invite: the listener's account log and addresses.
    Contact {
        /// The listener's account device log.
        log: Vec<SignedDeviceEntry>,
        /// Where it can be reached.
        announcement: Option<SignedAnnouncement>,
    },
    /// A link request: the new device's add-device operation.
    Join {
        /// The operation the dialer appends to its account log.
        op: Box<DeviceOp>,
    },
}

/// What the listener does with secrets (implemented by the node).
pub trait LinkService: Send + Sync + 'static {
    /// A dialer (authenticated endpoint `remote`) presents `secret` with its
    /// account log; the answer, or why not (sent to the dialer).
    fn redeem(
        &self,
        remote: TransportId,
        secret: InviteSecret,
        log: Vec<SignedDeviceEntry>,
        announcement: Option<SignedAnnouncement>,
    ) -> impl Future<Output = std::result::Result<LinkReply, String>> + Send;

    /// After a [`LinkReply::Join`]: the dialer's account log with the new
    /// device in it.
    fn joined(
        &self,
        remote: TransportId,
        log: Vec<SignedDeviceEntry>,
    ) -> impl Future<Output = std::result::Result<(), String>> + Send;
}

/// The `kith/link/1` handler.
pub struct LinkProtocol<L>(pub Arc<L>);

impl<L> Clone for LinkProtocol<L> {
    fn clone(&self) -> Self {
        Self(self.0.clone())
    }
}

impl<L> std::fmt::Debug for LinkProtocol<L> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("LinkProtocol")
    }
}

async fn read_link(recv: &mut RecvStream) -> Result<LinkMessage> {
    let message: LinkMessage = read_frame(recv, MAX_LINK_FRAME_BYTES)
        .await?
        .ok_or_else(|| NetError::Stream("the peer closed the stream".into()))?;
    message
        .check_limits()
        .map_err(|e| NetError::Stream(e.to_string()))?;
    Ok(message)
}

async fn refuse(send: &mut SendStream, reason: &str) {
    let message = LinkMessage::Refused {
        reason: reason.chars().take(200).collect(),
    };
    let _ = write_frame(send, &message).await;
    let _ = send.finish();
}

impl<L: LinkService> LinkProtocol<L> {
    async fn serve(&self, connection: &Connection) -> Result<()> {
        let remote = TransportId(*connection.remote_id().as_bytes());
        let (mut send, mut recv) = connection
            .accept_bi()
            .await
            .map_err(|e| NetError::Stream(e.to_string()))?;
        let LinkMessage::Redeem {
            secret,
            log,
            announcement,
        } = read_link(&mut recv).await?
        else {
            refuse(&mut send, "expected a redeem frame").await;
            return Err(NetError::Protocol("expected a redeem frame"));
        };
        let reply = match self.0.redeem(remote, secret, log, announcement).await {
            Ok(reply) => reply,
            Err(reason) => {
                refuse(&mut send, &reason).await;
                return Err(NetError::Refused(reason));
            }
        };
        let joining = matches!(reply, LinkReply::Join { .. });
        let message = match reply {
            LinkReply::Contact { log, announcement } => LinkMessage::Contact { log, announcement },
            LinkReply::Join { op } => LinkMessage::Join { op },
        };
        write_frame(&mut send, &message).await?;
        if joining {
            match read_link(&mut recv).await? {
                LinkMessage::Joined { log } => {
                    if let Err(reason) = self.0.joined(remote, log).await {
                        refuse(&mut send, &reason).await;
                        return Err(NetError::Refused(reason));
                    }
                }
                LinkMessage::Refused { reason } => return Err(NetError::Refused(reason)),
                _ => return Err(NetError::Protocol("expected a joined frame")),
            }
        }
        let _ = send.finish();
        Ok(())
    }
}

impl<L: LinkService> ProtocolHandler for LinkProtocol<L> {
    async fn accept(&self, connection: Connection) -> std::result::Result<(), AcceptError> {
        match tokio::time::timeout(LINK_TIMEOUT, self.serve(&connection)).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => tracing::info!("link exchange ended: {e}"),
            Err(_) => tracing::info!("link exchange timed out"),
        }
        // Let the last frame (an answer or a refusal) reach the dialer: it
        // closes the connection once it has read it.
        let _ = tokio::time::timeout(Duration::from_secs(2), connection.closed()).await;
        connection.close(0u32.into(), b"done");
        Ok(())
    }
}

/// The dialer's side of a link exchange in progress.
#[derive(Debug)]
pub struct LinkDial {
    connection: Connection,
    send: SendStream,
    recv: RecvStream,
}

/// Dials `addr` on `kith/link/1` and presents `secret` with this account's
/// log; returns the listener's answer and the open exchange.
pub async fn dial_link(
    endpoint: &Endpoint,
    addr: EndpointAddr,
    secret: InviteSecret,
    log: Vec<SignedDeviceEntry>,
    announcement: Option<SignedAnnouncement>,
) -> Result<(LinkReply, LinkDial)> {
    let exchange = async {
        let connection = endpoint
            .connect(addr, LINK_ALPN)
            .await
            .map_err(|e| NetError::Connect(e.to_string()))?;
        let (mut send, mut recv) = connection
            .open_bi()
            .await
            .map_err(|e| NetError::Connect(e.to_string()))?;
        let redeem = LinkMessage::Redeem {
            secret,
            log,
            announcement,
        };
        write_frame(&mut send, &redeem).await?;
        let reply = match read_link(&mut recv).await? {
            LinkMessage::Contact { log, announcement } => LinkReply::Contact { log, announcement },
            LinkMessage::Join { op } => LinkReply::Join { op },
            LinkMessage::Refused { reason } => return Err(NetError::Refused(reason)),
            _ => return Err(NetError::Protocol("unexpected link frame")),
        };
        Ok((
            reply,
            LinkDial {
                connection,
                send,
                recv,
            },
        ))
    };
    tokio::time::timeout(LINK_TIMEOUT, exchange)
        .await
        .map_err(|_| NetError::Timeout)?
}

impl LinkDial {
    /// Ends a contact exchange.
    pub fn finish(mut self) {
        let _ = self.send.finish();
        self.connection.close(0u32.into(), b"done");
    }

    /// Completes a device link: sends the account log with the new device.
    /// Returns once the new device has taken it (or refused it).
    pub async fn joined(mut self, log: Vec<SignedDeviceEntry>) -> Result<()> {
        write_frame(&mut self.send, &LinkMessage::Joined { log }).await?;
        let _ = self.send.finish();
        let outcome = tokio::time::timeout(LINK_TIMEOUT, async {
            match read_frame::<LinkMessage>(&mut self.recv, MAX_LINK_FRAME_BYTES).await {
                Ok(Some(LinkMessage::Refused { reason })) => Err(NetError::Refused(reason)),
                _ => Ok(()),
            }
        })
        .await
        .map_err(|_| NetError::Timeout)?;
        self.connection.close(0u32.into(), b"done");
        outcome
    }
}
