//! What every socket does: wait for the hello, then one loop that reads frames, writes what the
//! rooms queued (replays included), and closes on a slow queue, an idle client or shutdown.
//!
//! One task per socket does both directions, so an idle connection costs one small task, one
//! queue and the socket's buffers.

use std::borrow::Cow;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use chat_core::ids::{Millis, TenantId};
use chat_core::limits::{HELLO_TIMEOUT_MS, MAX_FRAME_BYTES, MAX_PAGE_MESSAGES};
use chat_core::protocol::{ErrorCode, FrameError, HelloRefused, ServerFrame, close};
use chat_core::rate;
use futures_util::SinkExt;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite;
use tokio_util::sync::CancellationToken;

use super::{Inbound, Outgoing, Replay, Stall};
use crate::app::AppState;
use crate::clock::now;
use crate::store::MessageRange;

/// Socket buffers kept small: most sockets are idle visitors. The read buffer is filled whole on
/// every read, so all of it is resident; 1 KiB holds a hello and most frames in one read, and
/// grows for a larger frame.
pub(crate) fn configure(upgrade: WebSocketUpgrade) -> WebSocketUpgrade {
    upgrade
        .read_buffer_size(1024)
        .write_buffer_size(WRITE_BATCH_BYTES)
        .max_message_size(TRANSPORT_FRAME_BYTES)
        .max_frame_size(TRANSPORT_FRAME_BYTES)
}

/// Frames queued together are written together, up to about this many bytes: a commit that hands
/// an agent a thousand messages costs a few writes to the socket, not a thousand. The buffer only
/// grows as large as what was written at once, so an idle visitor's stays small.
const WRITE_BATCH_BYTES: usize = 64 * 1024;

/// Frames up to this size (1 MiB and a little) are read whole, so one over [`MAX_FRAME_BYTES`] can
/// be answered and the socket closed cleanly with 1009; beyond it the connection is dropped
/// mid-frame. Reading so much is brief, and sockets per address are limited.
const TRANSPORT_FRAME_BYTES: usize = 1024 * 1024 + MAX_FRAME_BYTES;

/// A hello refused; see [`chat_core::protocol::HelloRefused`].
pub(crate) type Refusal = HelloRefused;

/// The database failed while checking a hello.
pub(crate) fn unavailable(error: impl std::fmt::Display) -> Refusal {
    tracing::warn!(%error, "hello could not be checked");
    Refusal::new(ErrorCode::Unavailable, "the service is unavailable; reconnect shortly", close::INTERNAL)
}

/// Sends the refusal's error, then closes with its code.
pub(crate) async fn refuse(socket: &mut WebSocket, refusal: Refusal) {
    let frame = ServerFrame::error(refusal.code, refusal.message, None);
    send_text(socket, frame.to_json()).await;
    close_with(socket, refusal.close, "refused").await;
}

/// Sends the socket to the node of the cluster hosting its site: `reconnect` there, close 4010.
pub(crate) async fn send_elsewhere(socket: &mut WebSocket, url: String) {
    send_text(socket, ServerFrame::Reconnect { after_ms: 0, url: Some(url) }.to_json()).await;
    close_with(socket, close::ELSEWHERE, "hosted by another node").await;
}

/// Reads frames until one parses as the hello; answers anything else with an error. `None` if the
/// client went away or sent no hello in time.
pub(crate) async fn read_hello<F>(
    socket: &mut WebSocket,
    state: &AppState,
    parse: fn(&str) -> Result<F, FrameError>,
    is_hello: fn(&F) -> bool,
) -> Option<F> {
    let deadline = Instant::now() + Duration::from_millis(HELLO_TIMEOUT_MS);
    loop {
        let received = tokio::select! {
            received = tokio::time::timeout_at(deadline, socket.recv()) => match received {
                Ok(received) => received,
                Err(_) => {
                    close_with(socket, close::HELLO_TIMEOUT, "no hello").await;
                    return None;
                }
            },
            () = state.hub.shutting_down() => {
                close_with(socket, close::RESTARTING, "restarting").await;
                return None;
            }
        };
        let reply = match received {
            Some(Ok(Message::Text(text))) if text.len() > MAX_FRAME_BYTES => {
                refuse_too_large(socket).await;
                return None;
            }
            Some(Ok(Message::Text(text))) => match parse(text.as_str()) {
                Ok(frame) if is_hello(&frame) => return Some(frame),
                Ok(_) => ServerFrame::error(ErrorCode::HelloRequired, "send the hello first", None),
                Err(error) => error.into_frame(),
            },
            Some(Ok(Message::Binary(_))) => binary_refused(),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            Some(Ok(Message::Close(_))) | None => return None,
            Some(Err(error)) => {
                on_read_error(socket, error).await;
                return None;
            }
        };
        if !send_text(socket, reply.to_json()).await {
            return None;
        }
    }
}

/// What handling one text frame asks of the socket.
#[derive(Debug)]
pub(crate) enum Reply {
    /// Nothing: the frame went to a room.
    Nothing,
    /// Answer directly (errors, pongs), already serialised: only a string waits across the send.
    Text(String),
    /// Close with this code.
    Close(u16, &'static str),
    /// The agent sent a fresh access token: the socket lasts until it expires; answer with the text.
    Renewed(Millis, String),
}

/// What ends an agent's socket besides the agent: their sessions ending, or their access token
/// expiring without a fresh one sent in a `refresh` frame.
#[derive(Debug)]
pub(crate) struct Access {
    /// Cancelled when the agent's sessions end.
    pub(crate) revoked: CancellationToken,
    /// When the socket's access token expires.
    pub(crate) expires: Millis,
}

impl Reply {
    /// Answers with `frame`.
    pub(crate) fn frame(frame: ServerFrame) -> Reply {
        Reply::Text(frame.to_json())
    }
}

/// How long a socket waits, when the server stops, for its room's last frames.
const SHUTDOWN_FLUSH: Duration = Duration::from_secs(1);

/// The socket's life after its hello. Returns when it closed, for any reason.
pub(crate) async fn run(
    socket: &mut WebSocket,
    mut inbound: Inbound,
    access: Option<Access>,
    state: &AppState,
    tenant: &TenantId,
    mut on_text: impl FnMut(&str) -> Reply,
) {
    let idle_for = state.config.socket_idle;
    let idle = tokio::time::sleep(idle_for);
    tokio::pin!(idle);
    let mut frames = rate::socket_frames(now());
    // Made once, not on every turn of the loop.
    let shutting_down = state.hub.shutting_down();
    // Boxed: visitors' sockets, which have neither, stay small.
    let mut revoked = access.as_ref().map(|access| Box::pin(access.revoked.cancelled()));
    let mut expiry =
        access.as_ref().map(|access| Box::pin(tokio::time::sleep_until(instant_at(access.expires))));
    tokio::pin!(shutting_down);
    // Only the common path is awaited in the loop; how the socket ends is awaited after it, boxed,
    // so an idle socket's task holds none of that (memory per idle visitor, docs/benchmarks.md).
    let ending = loop {
        // Each turn sends at most one frame, from one place: one send in the task's state.
        let message = tokio::select! {
            biased;
            () = some(&mut revoked) => {
                break Ending::Close(close::UNAUTHORIZED, "the account changed; log in again".into());
            }
            () = some(&mut expiry) => break Ending::Expired,
            () = &mut shutting_down => break Ending::Restart,
            item = inbound.next() => match item {
                Some(Outgoing::Frame(text)) => Message::Text(text),
                Some(Outgoing::Replay(replay)) => {
                    if !Box::pin(send_replay(socket, &inbound.stall(), state, tenant, &replay)).await {
                        break Ending::Gone;
                    }
                    continue;
                }
                Some(Outgoing::Close(code, reason)) => break Ending::Close(code, reason.into()),
                None => break Ending::Gone,
            },
            received = socket.recv() => {
                idle.as_mut().reset(Instant::now() + idle_for);
                let reply = match received {
                    Some(Ok(Message::Text(text))) if text.len() > MAX_FRAME_BYTES => break Ending::TooLarge,
                    Some(Ok(Message::Text(text))) if !frames.take(now()) => {
                        Reply::frame(rate::too_many_frames(text.as_str()))
                    }
                    Some(Ok(Message::Text(text))) => on_text(text.as_str()),
                    Some(Ok(Message::Binary(_))) => Reply::frame(binary_refused()),
                    Some(Ok(Message::Ping(_) | Message::Pong(_))) => Reply::Nothing,
                    Some(Ok(Message::Close(_))) | None => break Ending::Gone,
                    Some(Err(error)) => break Ending::ReadError(error),
                };
                match reply {
                    Reply::Nothing => continue,
                    Reply::Text(text) => Message::Text(text.into()),
                    Reply::Close(code, reason) => break Ending::Close(code, reason.into()),
                    Reply::Renewed(until, text) => {
                        if let Some(expiry) = expiry.as_mut() {
                            expiry.as_mut().reset(instant_at(until));
                        }
                        Message::Text(text.into())
                    }
                }
            }
            () = &mut idle => break Ending::Close(close::IDLE, "nothing received for too long".into()),
        };
        if !send_queued(socket, message, &mut inbound).await {
            break Ending::Gone;
        }
    };
    Box::pin(finish(socket, &mut inbound, ending)).await;
}

/// How a socket's loop ended.
enum Ending {
    /// The client closed, or the socket failed: nothing more to say.
    Gone,
    Close(u16, Cow<'static, str>),
    /// The agent's access token expired.
    Expired,
    /// The server is stopping.
    Restart,
    /// A frame over [`MAX_FRAME_BYTES`].
    TooLarge,
    ReadError(axum::Error),
}

/// Says goodbye as `ending` requires.
async fn finish(socket: &mut WebSocket, inbound: &mut Inbound, ending: Ending) {
    match ending {
        Ending::Gone => {}
        Ending::Close(code, reason) => close_with(socket, code, &reason).await,
        Ending::Expired => {
            let message = "the access token expired; send a fresh one in a refresh frame before it does";
            send_text(socket, ServerFrame::error(ErrorCode::TokenExpired, message, None).to_json()).await;
            close_with(socket, close::UNAUTHORIZED, "token expired").await;
        }
        Ending::Restart => {
            // The room stores what it holds before it ends: its acks (and anything else it says
            // until then) go out before the goodbye, so clients have less to send again.
            let flushed = tokio::time::timeout(SHUTDOWN_FLUSH, async {
                while let Some(item) = inbound.next().await {
                    match item {
                        Outgoing::Frame(text) => {
                            if !send(socket, Message::Text(text)).await {
                                return false;
                            }
                        }
                        // The client resumes from the next server.
                        Outgoing::Replay(_) => {}
                        Outgoing::Close(..) => break,
                    }
                }
                true
            });
            if flushed.await == Ok(false) {
                return;
            }
            let after_ms = reconnect_delay_ms();
            send_text(socket, ServerFrame::Reconnect { after_ms, url: None }.to_json()).await;
            close_with(socket, close::RESTARTING, "restarting").await;
        }
        Ending::TooLarge => refuse_too_large(socket).await,
        Ending::ReadError(error) => on_read_error(socket, error).await,
    }
}

/// Waits for `future`, if there is one; forever if not.
async fn some<F: std::future::Future<Output = ()> + Unpin>(future: &mut Option<F>) {
    match future {
        Some(future) => future.await,
        None => std::future::pending().await,
    }
}

/// The monotonic instant of a wall-clock time.
fn instant_at(at: Millis) -> Instant {
    Instant::now() + Duration::from_millis(at.since(now()))
}

/// Sends stored messages of a replay in pages. False if the socket or the database failed; the
/// socket is then closed so the client reconnects and resumes, never skipping a gap.
async fn send_replay(
    socket: &mut WebSocket,
    stall: &Stall,
    state: &AppState,
    tenant: &TenantId,
    replay: &Replay,
) -> bool {
    let mut after_seq = replay.after_seq;
    while after_seq < replay.through_seq {
        let range = MessageRange {
            conversation: replay.conversation.clone(),
            after_seq,
            through_seq: replay.through_seq,
            limit: MAX_PAGE_MESSAGES,
            include_notes: replay.include_notes,
        };
        let page = match state.store.messages(tenant, &range).await {
            Ok(page) => page,
            Err(error) => {
                tracing::warn!(%error, "replay failed");
                close_with(socket, close::INTERNAL, "replay failed; reconnect").await;
                return false;
            }
        };
        let Some(last) = page.last().map(|message| message.seq) else { break };
        after_seq = last;
        for message in page {
            let text = ServerFrame::Message(message).to_json();
            if !watched(stall, send_text(socket, text)).await {
                return false;
            }
        }
    }
    true
}

async fn on_read_error(socket: &mut WebSocket, error: axum::Error) {
    let too_large = error
        .into_inner()
        .downcast_ref::<tungstenite::Error>()
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)));
    if too_large {
        // Rarely seen by the client: the rest of the frame is unread, so the connection resets.
        refuse_too_large(socket).await;
    }
}

async fn refuse_too_large(socket: &mut WebSocket) {
    let message = format!("frames are limited to {MAX_FRAME_BYTES} bytes");
    let frame = ServerFrame::error(ErrorCode::BadFrame, message, None);
    send_text(socket, frame.to_json()).await;
    close_with(socket, close::TOO_LARGE, "frame too large").await;
}

/// Sends a close frame, giving up after [`CLOSE_TIMEOUT`]: a client that stopped reading (the
/// reason for many closes) would otherwise hold the task forever.
pub(crate) async fn close_with(socket: &mut WebSocket, code: u16, reason: &str) {
    let frame = CloseFrame { code, reason: reason.into() };
    let _ = tokio::time::timeout(CLOSE_TIMEOUT, socket.send(Message::Close(Some(frame)))).await;
}

/// How long a close frame may take to leave.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(2);

/// How long one frame may take to leave. A client that reads nothing for this long is dropped,
/// whatever its queue: otherwise its task would wait on it forever, deaf to everything else.
const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// Sends a frame; false if the socket failed or took longer than [`SEND_TIMEOUT`].
pub(crate) async fn send(socket: &mut WebSocket, message: Message) -> bool {
    matches!(tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await, Ok(Ok(())))
}

/// Sends `first` and the frames queued behind it (up to [`WRITE_BATCH_BYTES`]) in as few writes
/// as it takes; see [`send`]. While the write waits for the reader, the socket's queue is marked
/// stalled (see [`super::ConnLink::push`]).
async fn send_queued(socket: &mut WebSocket, first: Message, inbound: &mut Inbound) -> bool {
    let stall = inbound.stall();
    let write = async {
        socket.feed(first).await?;
        let mut fed = 0;
        while fed < WRITE_BATCH_BYTES {
            let Some(text) = inbound.next_frame() else { break };
            fed += text.len();
            socket.feed(Message::Text(text)).await?;
        }
        socket.flush().await
    };
    // On the heap: a socket task holds its largest state for its whole life, and an idle socket
    // should not carry a write's.
    let sent = watched(&stall, Box::pin(tokio::time::timeout(SEND_TIMEOUT, write))).await;
    matches!(sent, Ok(Ok(())))
}

/// Awaits `write`, marking the socket's queue stalled while the write waits for the reader (see
/// [`super::ConnLink::push`]).
async fn watched<T>(stall: &Stall, write: impl Future<Output = T>) -> T {
    let mut write = std::pin::pin!(write);
    let mut stalled = false;
    let done = std::future::poll_fn(|cx| {
        let poll = write.as_mut().poll(cx);
        // Pending with the task's work budget spent is the runtime making the task take turns
        // (a long queue being written out), not the reader.
        if poll.is_pending() && !stalled && tokio::task::coop::has_budget_remaining() {
            stalled = true;
            stall.set(true);
        }
        poll
    })
    .await;
    if stalled {
        stall.set(false);
    }
    done
}

/// Sends JSON text; see [`send`].
pub(crate) async fn send_text(socket: &mut WebSocket, text: String) -> bool {
    send(socket, Message::Text(text.into())).await
}

fn binary_refused() -> ServerFrame {
    ServerFrame::error(ErrorCode::BadFrame, "frames are JSON text, not binary", None)
}

/// Spreads reconnects over 0.5–3 s so a restart is not met by every client at once.
fn reconnect_delay_ms() -> u64 {
    let mut byte = [0u8; 2];
    let _ = getrandom::fill(&mut byte);
    500 + u64::from(u16::from_le_bytes(byte)) % 2_500
}
