//! A Rust client for Kefu's live protocol, for visitors and agents: it says hello, keeps what it
//! sends in an outbox until the server acknowledges it, resumes after every reconnect from the last
//! `seq` it holds of each conversation, and reconnects with jittered exponential backoff.
//!
//! - [`Client`] — start one with [`Client::visitor`] or [`Client::agent`], send with
//!   [`Client::send`], read with [`Client::next_event`].
//! - `connection` — the task that owns the socket.

mod connection;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chat_core::ids::{Cid, ConversationId, Seq, SiteId};
use chat_core::protocol::{AgentStatus, PageInfo, ServerFrame};
use tokio::sync::mpsc;

/// Who the client is.
#[derive(Clone, Debug)]
pub enum Identity {
    /// A visitor of the site with this public key.
    Visitor {
        /// The site's public key.
        site_key: String,
        /// The page they are on.
        page: PageInfo,
        /// A token from an earlier visit, to stay the same visitor.
        visitor_token: Option<String>,
    },
    /// An agent with this access token.
    Agent {
        /// From `POST /api/v1/auth/login`.
        access_token: String,
        /// Status to take on joining.
        status: AgentStatus,
    },
}

/// How the client reconnects.
#[derive(Clone, Debug)]
pub struct Options {
    /// The first wait after a lost connection; doubles on each failure, with jitter.
    pub min_backoff: Duration,
    /// The longest wait.
    pub max_backoff: Duration,
    /// How often to ping a quiet socket.
    pub ping_interval: Duration,
    /// Hearing nothing for this long after a ping, or after opening a socket before the welcome
    /// (or while opening it), the connection counts as dead and is replaced.
    pub pong_wait: Duration,
    /// Other nodes of a cluster to try, in turn, when the node connected to cannot be reached
    /// (any node sends the socket on to the one hosting the site).
    pub other_nodes: Vec<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(15),
            ping_interval: Duration::from_millis(chat_core::limits::CLIENT_PING_INTERVAL_MS),
            pong_wait: Duration::from_millis(chat_core::limits::CLIENT_PONG_WAIT_MS),
            other_nodes: Vec::new(),
        }
    }
}

/// What the client tells its user. Frames are the common case; boxing them would cost an
/// allocation per frame to save bytes on the rare close.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    /// A frame from the server.
    Frame(ServerFrame),
    /// The socket closed; the client reconnects unless `last` is set.
    Closed {
        /// The close code, if the server sent one.
        code: Option<u16>,
        /// The client gave up: the server refused it for good (bad site key, bad token, disabled).
        last: bool,
    },
}

/// A message to send.
#[derive(Clone, Debug)]
pub enum Outgoing {
    /// From a visitor.
    Visitor {
        /// The text.
        body: String,
    },
    /// From an agent.
    Agent {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
        /// The text.
        body: String,
        /// Keep it among agents.
        note: bool,
    },
}

/// What the connection task and the user share.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// The highest seq held per conversation.
    pub(crate) resume: BTreeMap<ConversationId, Seq>,
    /// Sent and not acknowledged, oldest first, as the JSON frame to resend.
    pub(crate) outbox: Vec<(Cid, String)>,
    /// The visitor token from the last welcome.
    pub(crate) visitor_token: Option<String>,
}

pub(crate) enum Command {
    /// A message, already in the outbox.
    Send(String),
    /// Any other frame, sent once.
    Frame(String),
    Stop,
}

/// A visitor or agent connection that survives drops.
#[derive(Debug)]
pub struct Client {
    shared: Arc<Mutex<Shared>>,
    commands: mpsc::UnboundedSender<Command>,
    events: mpsc::UnboundedReceiver<Event>,
    next_cid: u64,
    cid_prefix: String,
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Command::Send(_) => "Send",
            Command::Frame(_) => "Frame",
            Command::Stop => "Stop",
        })
    }
}

impl Client {
    /// Connects a visitor to `url` (`ws://host:port/ws/visitor`).
    pub fn visitor(
        url: &str,
        site_key: &str,
        page: PageInfo,
        visitor_token: Option<String>,
        options: Options,
    ) -> Client {
        Client::start(url, Identity::Visitor { site_key: site_key.to_owned(), page, visitor_token }, options)
    }

    /// Connects an agent to `url` (`ws://host:port/ws/agent`).
    pub fn agent(url: &str, access_token: &str, options: Options) -> Client {
        let identity = Identity::Agent { access_token: access_token.to_owned(), status: AgentStatus::Online };
        Client::start(url, identity, options)
    }

    /// Connects as `identity`.
    pub fn start(url: &str, identity: Identity, options: Options) -> Client {
        let shared = Arc::new(Mutex::new(Shared::default()));
        if let Identity::Visitor { visitor_token, .. } = &identity {
            lock(&shared).visitor_token.clone_from(visitor_token);
        }
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, events) = mpsc::unbounded_channel();
        let task =
            connection::Connection::new(url.to_owned(), identity, options, Arc::clone(&shared), event_tx);
        tokio::spawn(task.run(command_rx));
        Client {
            shared,
            commands,
            events,
            next_cid: 0,
            cid_prefix: uuid::Uuid::now_v7().simple().to_string(),
        }
    }

    /// Sends a message: it goes into the outbox now and is sent (again after every reconnect, and
    /// after a backoff when the server turns it away for now) until the server acknowledges it or
    /// refuses it for good. Returns its client id.
    pub fn send(&mut self, message: Outgoing) -> Cid {
        self.next_cid += 1;
        let cid = Cid(format!("{}-{}", self.cid_prefix, self.next_cid));
        self.resend(cid.clone(), message);
        cid
    }

    /// Sends a message under a client id of the caller's choosing (a retry, or a test).
    pub fn resend(&mut self, cid: Cid, message: Outgoing) {
        let frame = match message {
            Outgoing::Visitor { body } => serde_json::json!({ "type": "send", "cid": cid, "body": body }),
            Outgoing::Agent { site, conversation, body, note } => serde_json::json!({
                "type": "send", "site": site, "conversation": conversation, "cid": cid, "body": body, "note": note,
            }),
        };
        let text = frame.to_string();
        lock(&self.shared).outbox.push((cid, text.clone()));
        let _ = self.commands.send(Command::Send(text));
    }

    /// Sends any frame once (typing, read, status, accept, …); not kept if the socket is down.
    pub fn send_frame(&self, frame: &serde_json::Value) {
        let _ = self.commands.send(Command::Frame(frame.to_string()));
    }

    /// The next event; `None` once the client has stopped.
    pub async fn next_event(&mut self) -> Option<Event> {
        self.events.recv().await
    }

    /// The next frame the server sends that `wanted` accepts, skipping others; `None` on timeout.
    pub async fn wait_for(
        &mut self,
        timeout: Duration,
        mut wanted: impl FnMut(&ServerFrame) -> bool,
    ) -> Option<ServerFrame> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            match tokio::time::timeout_at(deadline, self.events.recv()).await {
                Ok(Some(Event::Frame(frame))) if wanted(&frame) => return Some(frame),
                Ok(Some(_)) => {}
                Ok(None) | Err(_) => return None,
            }
        }
    }

    /// Messages sent and not yet acknowledged.
    pub fn unacknowledged(&self) -> usize {
        lock(&self.shared).outbox.len()
    }

    /// The highest `seq` held of a conversation.
    pub fn last_seq(&self, conversation: &ConversationId) -> Option<Seq> {
        lock(&self.shared).resume.get(conversation).copied()
    }

    /// The visitor token from the last welcome.
    pub fn visitor_token(&self) -> Option<String> {
        lock(&self.shared).visitor_token.clone()
    }

    /// Closes the socket and stops.
    pub fn stop(&self) {
        let _ = self.commands.send(Command::Stop);
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        self.stop();
    }
}

pub(crate) fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(PoisonError::into_inner)
}
