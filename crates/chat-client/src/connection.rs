//! The task that owns the socket: connect, hello, resend the outbox after the welcome, send a
//! message the server turned away for now (`rate_limited`, `unavailable`) again after a backoff —
//! with every message after it, none ahead of it, so the conversation keeps their order — keep the
//! resume points, reconnect with backoff.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chat_core::ids::Cid;
use chat_core::protocol::{
    AgentFrame, AgentHello, DeviceInfo, PROTOCOL_VERSION, ResumePoint, ServerFrame, VisitorFrame,
    VisitorHello, close, parse_server_frame,
};
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;

use crate::{Command, Event, Identity, Options, Shared, lock};

pub(crate) struct Connection {
    url: String,
    identity: Identity,
    options: Options,
    shared: Arc<Mutex<Shared>>,
    events: mpsc::UnboundedSender<Event>,
}

/// How a connection ended.
enum Ended {
    /// Reconnect after backoff.
    Retry,
    /// Reconnect after this long (the server asked).
    RetryAfter(Duration),
    /// Do not reconnect.
    Stop,
}

impl Connection {
    pub(crate) fn new(
        url: String,
        identity: Identity,
        options: Options,
        shared: Arc<Mutex<Shared>>,
        events: mpsc::UnboundedSender<Event>,
    ) -> Self {
        Connection { url, identity, options, shared, events }
    }

    pub(crate) async fn run(mut self, mut commands: mpsc::UnboundedReceiver<Command>) {
        let mut failures: u32 = 0;
        loop {
            // A network that drops packets leaves a connect hanging: it gets as long as a ping.
            let connecting = tokio_tungstenite::connect_async(self.url.as_str());
            let ended = match tokio::time::timeout(self.options.pong_wait, connecting).await {
                Ok(Ok((socket, _))) => self.session(socket, &mut commands, &mut failures).await,
                Ok(Err(_)) | Err(_) => {
                    self.try_another_node();
                    Ended::Retry
                }
            };
            let wait = match ended {
                Ended::Stop => return,
                Ended::RetryAfter(wait) => wait,
                Ended::Retry => {
                    failures = failures.saturating_add(1);
                    self.backoff(failures)
                }
            };
            // Commands that arrive while disconnected: sends are in the outbox already.
            let deadline = tokio::time::Instant::now() + wait;
            loop {
                match tokio::time::timeout_at(deadline, commands.recv()).await {
                    Ok(Some(Command::Stop) | None) => return,
                    Ok(Some(_)) => {}
                    Err(_) => break,
                }
            }
        }
    }

    /// After a failed connect: the next of the other nodes, whose path and query become this
    /// URL's (the site, for a socket sent on to the node hosting it).
    fn try_another_node(&mut self) {
        let nodes = &self.options.other_nodes;
        if nodes.is_empty() {
            return;
        }
        let (base, rest) = split_origin(&self.url);
        let next = nodes
            .iter()
            .map(|node| split_origin(node).0)
            .position(|node| node == base)
            .map_or(0, |at| at + 1);
        let node = split_origin(&nodes[next % nodes.len()]).0;
        self.url = format!("{node}{rest}");
    }

    /// `min · 2^failures`, capped, times a random factor in [0.5, 1).
    fn backoff(&self, failures: u32) -> Duration {
        let exponent = failures.saturating_sub(1).min(16);
        let base = self.options.min_backoff.saturating_mul(1 << exponent).min(self.options.max_backoff);
        base.mul_f64(rand::rng().random_range(0.5..1.0))
    }

    async fn session<S>(
        &mut self,
        socket: tokio_tungstenite::WebSocketStream<S>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
        failures: &mut u32,
    ) -> Ended
    where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
    {
        let (mut sink, mut stream) = socket.split();
        if sink.send(Message::Text(self.hello().into())).await.is_err() {
            return Ended::Retry;
        }
        let mut ping = tokio::time::interval(self.options.ping_interval);
        ping.tick().await;
        // Set while something is owed to this side (the welcome, a pong): nothing heard by then
        // and the connection is dead, though no FIN or RST said so.
        let mut hear_by = Some(tokio::time::Instant::now() + self.options.pong_wait);
        let mut welcomed = false;
        // Messages turned away for now: at `resend_at` the outbox goes again from the first of
        // them on; until then new messages wait behind them. `refusals` in a row set the wait.
        let mut refused: Vec<Cid> = Vec::new();
        let mut refusals: u32 = 0;
        let mut resend_at: Option<tokio::time::Instant> = None;
        loop {
            tokio::select! {
                command = commands.recv() => match command {
                    // Before the welcome, or behind a refused message, it waits in the outbox.
                    Some(Command::Send(text)) if !welcomed || resend_at.is_some() => drop(text),
                    Some(Command::Send(text) | Command::Frame(text)) => {
                        if welcomed && sink.send(Message::Text(text.into())).await.is_err() {
                            return Ended::Retry;
                        }
                    }
                    Some(Command::Stop) | None => {
                        let _ = sink.send(Message::Close(Some(CloseFrame { code: close::NORMAL.into(), reason: "bye".into() }))).await;
                        return Ended::Stop;
                    }
                },
                () = tokio::time::sleep_until(resend_at.unwrap_or_else(tokio::time::Instant::now)), if resend_at.is_some() => {
                    resend_at = None;
                    // (Were they all acknowledged meanwhile, what waited behind them goes: all of it.)
                    let texts: Vec<String> = {
                        let outbox = &lock(&self.shared).outbox;
                        let from = outbox.iter().position(|(cid, _)| refused.contains(cid)).unwrap_or(0);
                        outbox[from..].iter().map(|(_, text)| text.clone()).collect()
                    };
                    refused.clear();
                    for text in texts {
                        if sink.send(Message::Text(text.into())).await.is_err() {
                            return Ended::Retry;
                        }
                    }
                }
                _ = ping.tick() => {
                    if sink.send(Message::Text(r#"{"type":"ping"}"#.into())).await.is_err() {
                        return Ended::Retry;
                    }
                    hear_by.get_or_insert(tokio::time::Instant::now() + self.options.pong_wait);
                }
                () = tokio::time::sleep_until(hear_by.unwrap_or_else(tokio::time::Instant::now)), if hear_by.is_some() => {
                    let _ = self.events.send(Event::Closed { code: None, last: false });
                    return Ended::Retry;
                }
                received = stream.next() => match received {
                    Some(Ok(Message::Text(text))) => {
                        hear_by = None;
                        let Ok(frame) = parse_server_frame(text.as_str()) else { continue };
                        let mut retry_after = None;
                        match &frame {
                            ServerFrame::Welcome { .. } | ServerFrame::AgentWelcome { .. } => {
                                welcomed = true;
                                *failures = 0;
                                let outbox: Vec<String> = lock(&self.shared).outbox.iter().map(|(_, t)| t.clone()).collect();
                                for text in outbox {
                                    if sink.send(Message::Text(text.into())).await.is_err() {
                                        return Ended::Retry;
                                    }
                                }
                            }
                            ServerFrame::Reconnect { after_ms, url } => {
                                // Another node of a cluster hosts the site: go there from now on.
                                if let Some(url) = url {
                                    self.url.clone_from(url);
                                }
                                retry_after = Some(Duration::from_millis(*after_ms));
                            }
                            ServerFrame::Error { code, cid: Some(cid), .. } if code.retryable() => {
                                refused.push(cid.clone());
                                if resend_at.is_none() {
                                    refusals = refusals.saturating_add(1);
                                    resend_at = Some(tokio::time::Instant::now() + self.backoff(refusals));
                                }
                            }
                            _ => {}
                        }
                        self.remember(&frame);
                        if matches!(frame, ServerFrame::Ack { .. }) && lock(&self.shared).outbox.is_empty() {
                            refusals = 0;
                        }
                        let _ = self.events.send(Event::Frame(frame));
                        if let Some(wait) = retry_after {
                            let _ = self.events.send(Event::Closed { code: Some(close::RESTARTING), last: false });
                            return Ended::RetryAfter(wait);
                        }
                    }
                    Some(Ok(Message::Close(frame))) => {
                        let code = frame.map(|f| u16::from(f.code));
                        let last = code.is_some_and(|code| self.refused_for_good(code));
                        let _ = self.events.send(Event::Closed { code, last });
                        return if last { Ended::Stop } else { Ended::Retry };
                    }
                    Some(Ok(_)) => {}
                    Some(Err(_)) | None => {
                        let _ = self.events.send(Event::Closed { code: None, last: false });
                        return Ended::Retry;
                    }
                },
            }
        }
    }

    /// Keeps what the next hello needs: resume points, the visitor token; and empties the outbox of
    /// what was acknowledged or refused for good.
    fn remember(&self, frame: &ServerFrame) {
        let mut shared = lock(&self.shared);
        match frame {
            ServerFrame::Welcome { visitor_token, .. } => shared.visitor_token = Some(visitor_token.clone()),
            ServerFrame::Message(message) => {
                let held = shared.resume.entry(message.conversation.clone()).or_default();
                *held = (*held).max(message.seq);
            }
            ServerFrame::Ack { cid, conversation, seq } => {
                // The sender gets the ack in its message's place: it holds that seq now.
                shared.outbox.retain(|(c, _)| c != cid);
                let held = shared.resume.entry(conversation.clone()).or_default();
                *held = (*held).max(*seq);
            }
            ServerFrame::Error { code, cid: Some(cid), .. } if !code.retryable() => {
                shared.outbox.retain(|(c, _)| c != cid);
            }
            _ => {}
        }
    }

    fn refused_for_good(&self, code: u16) -> bool {
        match code {
            close::BAD_HELLO | close::FORBIDDEN => true,
            // A visitor with a bad token starts afresh; an agent needs a new token.
            close::UNAUTHORIZED => match &self.identity {
                Identity::Visitor { .. } => {
                    lock(&self.shared).visitor_token = None;
                    false
                }
                Identity::Agent { .. } => true,
            },
            _ => false,
        }
    }

    fn hello(&self) -> String {
        let shared = lock(&self.shared);
        let resume: Vec<ResumePoint> = shared
            .resume
            .iter()
            .map(|(conversation, seq)| ResumePoint { conversation: conversation.clone(), last_seq: *seq })
            .collect();
        let frame = match &self.identity {
            Identity::Visitor { site_key, page, .. } => {
                serde_json::to_string(&VisitorFrame::VisitorHello(Box::new(VisitorHello {
                    v: PROTOCOL_VERSION,
                    site_key: site_key.clone(),
                    visitor_token: shared.visitor_token.clone(),
                    page: page.clone(),
                    device: DeviceInfo::default(),
                    identity: None,
                    resume,
                })))
            }
            Identity::Agent { access_token, status } => {
                serde_json::to_string(&AgentFrame::AgentHello(AgentHello {
                    v: PROTOCOL_VERSION,
                    access_token: access_token.clone(),
                    status: *status,
                    resume,
                }))
            }
        };
        // Strings, numbers and lists only: serialising cannot fail.
        frame.unwrap_or_default()
    }
}

/// `ws://host:port` and the rest (`/ws/visitor?site=…`) of a WebSocket URL.
fn split_origin(url: &str) -> (&str, &str) {
    let after_scheme = url.find("://").map_or(0, |at| at + 3);
    let path = url[after_scheme..].find('/').map_or(url.len(), |at| after_scheme + at);
    url.split_at(path)
}
