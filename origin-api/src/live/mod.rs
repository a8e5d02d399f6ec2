//! The live side of self-hosted Kefu: WebSockets at `/ws/visitor` and `/ws/agent`, one tokio task
//! per active site hosting its `chat_core` room, and one writer committing every room's writes.
//!
//! - [`hub`] — starts a site's room on first use, stops it when idle, shuts everything down.
//! - `room_task` — the driver of one room.
//! - `writer` — group commit.
//! - `session` — what every socket does: hello, the frame loop, its queue, replays, closing.
//! - `visitor`, `agent` — the two hellos and where their frames go.
//! - `ip` — per-address limits.
//! - [`set_aside`] — writes the database refuses for good, kept on disk instead of blocking.

mod agent;
pub mod agent_sessions;
pub mod hub;
pub mod ip;
mod room_task;
mod session;
pub mod set_aside;
mod visitor;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::extract::ws::Utf8Bytes;
use axum::routing::get;
use chat_core::ids::{Cid, ConversationId, Seq, SiteId, TenantId};
use chat_core::protocol::{AttachmentView, ErrorCode, ServerFrame};
use chat_core::token;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::app::AppState;

pub use hub::Hub;

/// The WebSocket routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/ws/visitor", get(visitor::upgrade)).route("/ws/agent", get(agent::upgrade))
}

/// What a room puts on a socket's queue.
#[derive(Debug)]
pub(crate) enum Outgoing {
    /// A frame, serialised once for all its recipients.
    Frame(Utf8Bytes),
    /// Stored messages to send before anything queued later.
    Replay(Box<Replay>),
    /// Close the socket after what was queued before.
    Close(u16, String),
}

impl Outgoing {
    /// What it counts against the socket's queue ([`chat_core::limits::SOCKET_QUEUE_BYTES`]).
    pub(crate) fn size(&self) -> usize {
        match self {
            Outgoing::Frame(text) => text.len(),
            Outgoing::Replay(_) | Outgoing::Close(..) => 64,
        }
    }
}

/// See [`chat_core::room::Effect::Replay`].
#[derive(Debug)]
pub(crate) struct Replay {
    pub(crate) conversation: ConversationId,
    pub(crate) after_seq: Seq,
    pub(crate) through_seq: Seq,
    pub(crate) include_notes: bool,
}

/// How a room reaches a socket.
#[derive(Clone, Debug)]
pub(crate) struct ConnLink {
    /// The socket's queue, bounded by [`queued`](ConnLink::queued).
    pub(crate) tx: mpsc::UnboundedSender<Outgoing>,
    /// Bytes waiting in the queue.
    pub(crate) queued: Arc<AtomicUsize>,
    /// Cancelled when the socket fell too far behind; the socket closes and the client resumes.
    pub(crate) kill: CancellationToken,
}

impl ConnLink {
    /// Queues `item`; false (and nothing queued) if the socket is already
    /// [`SOCKET_QUEUE_BYTES`](chat_core::limits::SOCKET_QUEUE_BYTES) behind.
    pub(crate) fn push(&self, item: Outgoing) -> bool {
        let size = item.size();
        if self.queued.load(Ordering::Relaxed) + size > chat_core::limits::SOCKET_QUEUE_BYTES {
            return false;
        }
        self.queued.fetch_add(size, Ordering::Relaxed);
        // A closed queue means the socket task ended; its `Disconnected` is on the way.
        if let Err(mpsc::error::SendError(item)) = self.tx.send(item) {
            self.queued.fetch_sub(item.size(), Ordering::Relaxed);
        }
        true
    }
}

/// A socket's end of its queue.
#[derive(Debug)]
pub(crate) struct Inbound {
    pub(crate) rx: mpsc::UnboundedReceiver<Outgoing>,
    pub(crate) queued: Arc<AtomicUsize>,
    pub(crate) kill: CancellationToken,
}

impl Inbound {
    /// The next item, no longer counted as waiting.
    pub(crate) async fn next(&mut self) -> Option<Outgoing> {
        let item = self.rx.recv().await?;
        self.queued.fetch_sub(item.size(), Ordering::Relaxed);
        Some(item)
    }
}

/// The file an attachment token stands for, if it was made by this server for this sender in this
/// site; otherwise the error to answer the send with (with its cid, so the client drops it).
pub(crate) fn attachment(
    state: &AppState,
    token: Option<&str>,
    (tenant, site, uploader): (&TenantId, &SiteId, &str),
    cid: &Cid,
) -> Result<Option<AttachmentView>, session::Reply> {
    let Some(token) = token else { return Ok(None) };
    match token::verify_attachment(&state.keys.verifying, token) {
        Ok(claims) if claims.tenant == *tenant && claims.site == *site && claims.uploader == uploader => {
            Ok(Some(claims.file))
        }
        _ => {
            let message = "the attachment is not valid here; upload the file again";
            Err(session::Reply::frame(ServerFrame::error(ErrorCode::BadFrame, message, Some(cid.clone()))))
        }
    }
}
