//! Every limit the protocol and the room enforce. Each names the error a client gets when it hits it.

/// Largest WebSocket frame the server reads; bigger frames close the socket with
/// [`crate::protocol::close::TOO_LARGE`].
pub const MAX_FRAME_BYTES: usize = 16 * 1024;

/// Longest message body, in characters. Longer: `message_too_long`, nothing stored.
pub const MAX_MESSAGE_CHARS: usize = 4_000;

/// Longest client id. Longer or empty: `bad_frame`.
pub const MAX_CID_CHARS: usize = 64;

/// A typing preview longer than this is cut to its last characters; it is a preview, not the message.
pub const MAX_PREVIEW_CHARS: usize = 500;

/// The agent sees at most one typing preview per visitor in this interval; later ones wait and the
/// newest is sent when the interval ends, so a fast typist cannot flood the agents.
pub const TYPING_PREVIEW_INTERVAL_MS: u64 = 300;

/// Page fields are cut to these lengths so a visitor cannot grow the room's memory.
pub const MAX_URL_CHARS: usize = 2_048;
/// See [`MAX_URL_CHARS`].
pub const MAX_TITLE_CHARS: usize = 300;

/// Messages a visitor socket may send per second, sustained. More: `rate_limited`, nothing stored.
pub const VISITOR_SENDS_PER_SECOND: u32 = 5;
/// Messages a visitor socket may send in a burst before [`VISITOR_SENDS_PER_SECOND`] applies.
pub const VISITOR_SEND_BURST: u32 = 20;
/// Messages an agent socket may send per second, sustained.
pub const AGENT_SENDS_PER_SECOND: u32 = 20;
/// Messages an agent socket may send in a burst.
pub const AGENT_SEND_BURST: u32 = 60;

/// How long a socket's later sends are refused, with the same code, after one of its sends was
/// refused for now (`rate_limited`, `unavailable`): until that send comes again, or this long. A
/// client that sends its outbox again in order then keeps its messages in the order they were
/// written, though a burst had some taken and some refused.
pub const RESEND_HOLD_MS: u64 = 10_000;

/// Live visitors one site room holds. More: `site_full` and the socket is closed.
pub const MAX_VISITORS_PER_SITE: usize = 50_000;

/// Writes a room may have handed to its driver and not yet seen committed. More (the database is
/// slow or down): sends get `unavailable`, which clients retry; nothing acknowledged is lost.
pub const MAX_UNCOMMITTED_WRITES: usize = 20_000;

/// How long a room's oldest write may wait to be stored before the room takes the store to be
/// away (down, or its disk full) and refuses sends with `unavailable` until it catches up. Commits
/// take milliseconds, a few hundred at saturation.
pub const STORE_STALL_MS: u64 = 5_000;

/// How many recent client ids per conversation the room remembers to recognise a retried send.
/// A client's outbox resends only unacknowledged messages, so a retry falls well within it.
pub const CID_WINDOW: usize = 256;

/// Resume points accepted in one hello. More: `bad_frame` and close 4000. Chosen so that one more
/// still fits in a frame of [`MAX_FRAME_BYTES`] (about 66 bytes each), so the refusal is reachable.
pub const MAX_RESUME_POINTS: usize = 200;

/// A visitor whose last socket closed is shown as left only after this long, so moving from page to
/// page does not flash "left" and "arrived" at the agents.
pub const VISITOR_LEFT_GRACE_MS: u64 = 15_000;

/// An agent whose last socket closed keeps their open conversations this long (a dropped network,
/// a restart of the app); then the conversations go back to the queue for another agent.
pub const AGENT_LEFT_GRACE_MS: u64 = 2 * 60 * 1_000;

/// Conversations of one visitor a room holds at most (open ones and those closed in the last
/// [`CLOSED_RETENTION_MS`]). Starting one more: `rate_limited`.
pub const MAX_CONVERSATIONS_PER_VISITOR: usize = 20;

/// Visitors listed in a `site_state` at most, the latest arrivals first; `visitors_total` says how
/// many there are.
pub const MAX_VISITORS_IN_SITE_STATE: usize = 1_000;

/// A closed conversation stays in the room this long, so its visitor can still rate it and resume.
pub const CLOSED_RETENTION_MS: u64 = 10 * 60 * 1_000;

/// An open conversation whose visitor is gone and which saw no message for this long is closed.
pub const CONVERSATION_IDLE_CLOSE_MS: u64 = 30 * 60 * 1_000;

/// Longest rating comment, in characters. Longer: `bad_frame`.
pub const MAX_RATING_COMMENT_CHARS: usize = 1_000;

/// How long a socket may stay open without a hello before the server closes it.
pub const HELLO_TIMEOUT_MS: u64 = 10_000;

/// A socket that sends nothing (not even a ping) for this long is closed; clients ping every
/// [`CLIENT_PING_INTERVAL_MS`].
pub const IDLE_TIMEOUT_MS: u64 = 75_000;
/// How often clients ping an otherwise quiet socket.
pub const CLIENT_PING_INTERVAL_MS: u64 = 25_000;
/// A client that hears nothing within this after a `ping`, or after opening a socket before its
/// welcome, takes the connection for dead (a network that drops packets closes nothing), closes
/// the socket and reconnects.
pub const CLIENT_PONG_WAIT_MS: u64 = 10_000;

/// Bytes of frames queued for one socket whose reader has stopped taking them (the connection's
/// buffers are full). A socket that falls this far behind is closed with
/// [`crate::protocol::close::SLOW_CONSUMER`] and resumes, so a slow reader cannot grow memory.
/// Counted in bytes, not frames: a commit that hands an agent two thousand short messages at once
/// is the server's own burst, not a slow reader.
pub const SOCKET_QUEUE_BYTES: usize = 1024 * 1024;

/// Bytes of frames queued for one socket whose reader takes everything written: the server itself
/// is behind (its core is saturated, and a socket receiving thousands of messages a second waits
/// its turn). Past this the socket is closed as for [`SOCKET_QUEUE_BYTES`].
pub const SOCKET_QUEUE_MAX_BYTES: usize = 8 * 1024 * 1024;

/// Messages one replay or one history page returns at most; a longer gap is replayed in pages.
pub const MAX_PAGE_MESSAGES: u32 = 500;

/// Frames of any kind a socket may send per second, sustained; beyond it frames are answered with
/// `rate_limited` and dropped, so no client can flood a room's inbox.
pub const FRAMES_PER_SECOND: u32 = 40;
/// Frames a socket may send in a burst before [`FRAMES_PER_SECOND`] applies.
pub const FRAME_BURST: u32 = 120;
