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
pub mod cluster;
pub mod hub;
pub mod ip;
mod room_task;
mod session;
pub mod set_aside;
mod visitor;
mod writer;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Poll, Waker};

use axum::Router;
use axum::extract::ws::Utf8Bytes;
use axum::routing::get;
use chat_core::ids::{Cid, ConversationId, Seq, SiteId, TenantId};
use chat_core::protocol::{AttachmentView, ErrorCode, ServerFrame, close};

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
    /// What it counts against the socket's queue (see [`ConnLink::push`]).
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

/// How a room reaches a socket: its queue.
#[derive(Debug)]
pub(crate) struct ConnLink {
    queue: Arc<Queue>,
}

/// A socket's end of its queue.
#[derive(Debug)]
pub(crate) struct Inbound {
    queue: Arc<Queue>,
}

/// What rooms put for one socket, counted in bytes against its limits (see [`ConnLink::push`]).
/// One small allocation per socket; its items' storage is given back whenever it empties, so an
/// idle socket's queue holds nothing.
#[derive(Debug, Default)]
struct Queue {
    state: Mutex<QueueState>,
}

#[derive(Debug, Default)]
struct QueueState {
    items: VecDeque<Outgoing>,
    bytes: usize,
    /// Links alive (rooms holding the socket); at none and empty, the socket's queue has ended.
    links: usize,
    /// The socket fell too far behind: it closes and the client resumes.
    killed: bool,
    /// The socket's last write is waiting for its reader: the connection's buffers are full.
    stalled: bool,
    /// The socket's end is gone.
    closed: bool,
    waker: Option<Waker>,
}

/// A socket's queue: the link rooms push to and the socket's end.
pub(crate) fn queue() -> (ConnLink, Inbound) {
    let queue = Arc::new(Queue::default());
    lock(&queue.state).links = 1;
    (ConnLink { queue: Arc::clone(&queue) }, Inbound { queue })
}

fn lock(state: &Mutex<QueueState>) -> MutexGuard<'_, QueueState> {
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

impl QueueState {
    /// The first item, no longer counted; an emptied queue gives its storage back.
    fn pop(&mut self) -> Option<Outgoing> {
        let item = self.items.pop_front()?;
        self.bytes -= item.size();
        if self.items.is_empty() && self.items.capacity() > IDLE_QUEUE_CAPACITY {
            self.items = VecDeque::new();
        }
        Some(item)
    }

    fn wake(&mut self) {
        if let Some(waker) = self.waker.take() {
            waker.wake();
        }
    }
}

impl ConnLink {
    /// Queues `item`; false (and nothing queued) if the socket is behind: its reader has stopped
    /// taking what is written (the connection's buffers are full) and
    /// [`SOCKET_QUEUE_BYTES`](chat_core::limits::SOCKET_QUEUE_BYTES) wait, or
    /// [`SOCKET_QUEUE_MAX_BYTES`](chat_core::limits::SOCKET_QUEUE_MAX_BYTES) wait whatever the
    /// reader does. Between the two the server is the one behind (a commit's burst, a busy core).
    pub(crate) fn push(&self, item: Outgoing) -> bool {
        let size = item.size();
        let mut state = lock(&self.queue.state);
        let limit = if state.stalled {
            chat_core::limits::SOCKET_QUEUE_BYTES
        } else {
            chat_core::limits::SOCKET_QUEUE_MAX_BYTES
        };
        if state.bytes + size > limit {
            return false;
        }
        // A closed queue means the socket task ended; its `Disconnected` is on the way.
        if !state.closed {
            state.bytes += size;
            state.items.push_back(item);
            state.wake();
        }
        true
    }

    /// Closes the socket, which fell too far behind, ahead of anything still queued.
    pub(crate) fn kill(&self) {
        let mut state = lock(&self.queue.state);
        state.killed = true;
        state.wake();
    }
}

impl Clone for ConnLink {
    fn clone(&self) -> Self {
        lock(&self.queue.state).links += 1;
        ConnLink { queue: Arc::clone(&self.queue) }
    }
}

impl Drop for ConnLink {
    fn drop(&mut self) {
        let mut state = lock(&self.queue.state);
        state.links -= 1;
        if state.links == 0 {
            state.wake();
        }
    }
}

impl Inbound {
    /// The next item, no longer counted as waiting; a close first if the socket was killed for
    /// falling behind; `None` once no room holds the socket and nothing is left.
    pub(crate) async fn next(&mut self) -> Option<Outgoing> {
        std::future::poll_fn(|cx| {
            let mut state = lock(&self.queue.state);
            if state.killed {
                state.killed = false;
                state.items = VecDeque::new();
                state.bytes = 0;
                let reason = "too far behind; reconnect and resume".to_owned();
                return Poll::Ready(Some(Outgoing::Close(close::SLOW_CONSUMER, reason)));
            }
            if let Some(item) = state.pop() {
                return Poll::Ready(Some(item));
            }
            if state.links == 0 {
                return Poll::Ready(None);
            }
            state.waker = Some(cx.waker().clone());
            Poll::Pending
        })
        .await
    }

    /// Where the socket's writes say whether they wait for the reader (see [`ConnLink::push`]).
    pub(crate) fn stall(&self) -> Stall {
        Stall { queue: Arc::clone(&self.queue) }
    }

    /// The next item if it is a frame already queued: what can be written with the one before.
    pub(crate) fn next_frame(&mut self) -> Option<Utf8Bytes> {
        let mut state = lock(&self.queue.state);
        if state.killed || !matches!(state.items.front(), Some(Outgoing::Frame(_))) {
            return None;
        }
        let Some(Outgoing::Frame(text)) = state.pop() else { return None };
        Some(text)
    }
}

/// Marks a socket's queue stalled while a write waits for the socket's reader.
pub(crate) struct Stall {
    queue: Arc<Queue>,
}

impl Stall {
    pub(crate) fn set(&self, stalled: bool) {
        lock(&self.queue.state).stalled = stalled;
    }
}

/// Items a socket's emptied queue keeps room for; beyond, the storage is given back.
const IDLE_QUEUE_CAPACITY: usize = 4;

impl Drop for Inbound {
    fn drop(&mut self) {
        let mut state = lock(&self.queue.state);
        state.closed = true;
        state.items = VecDeque::new();
        state.waker = None;
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
    chat_core::admission::attachment(&state.keys.verifying, token, (tenant, site, uploader)).map_err(
        |message| session::Reply::frame(ServerFrame::error(ErrorCode::BadFrame, message, Some(cid.clone()))),
    )
}

#[cfg(test)]
mod tests {
    use chat_core::limits::{SOCKET_QUEUE_BYTES, SOCKET_QUEUE_MAX_BYTES};

    use super::*;

    const CHUNK: usize = 64 * 1024;

    fn frame() -> Outgoing {
        Outgoing::Frame("x".repeat(CHUNK).into())
    }

    /// Pushes until the queue refuses; answers how many bytes it took.
    fn fill(link: &ConnLink) -> usize {
        let mut taken = 0;
        while link.push(frame()) {
            taken += CHUNK;
        }
        taken
    }

    #[test]
    fn only_a_reader_that_stopped_taking_is_held_to_the_smaller_queue() {
        // Its reader takes what is written: the server's own burst fills the queue up to the cap.
        let (link, mut inbound) = queue();
        assert_eq!(fill(&link), SOCKET_QUEUE_MAX_BYTES);

        // The socket is written out; then a write waits for the reader, and past
        // SOCKET_QUEUE_BYTES nothing more is queued.
        while inbound.next_frame().is_some() {}
        inbound.stall().set(true);
        assert_eq!(fill(&link), SOCKET_QUEUE_BYTES);

        // The reader catches up and its writes go through at once again.
        inbound.stall().set(false);
        assert!(link.push(frame()));
    }
}
