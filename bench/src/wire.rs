//! How frames travel: as Kefu sends them (one JSON object per WebSocket text message), or inside
//! Socket.IO's framing for the Socket.IO peer (`bench/peers/socketio-relay.mjs`), where each of
//! Kefu's frames is the event `frame`: `42["frame",{…}]`.

use anyhow::{Context, bail};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wire {
    Kefu,
    SocketIo,
}

/// What arrived.
pub enum Incoming<'a> {
    /// One of Kefu's frames, as JSON text.
    Frame(&'a str),
    /// Socket.IO's heartbeat: answer [`PONG`].
    Ping,
    /// Anything else.
    Other,
}

/// Socket.IO's answer to its heartbeat.
pub const PONG: &str = "3";
const EVENT: &str = "42[\"frame\",";

impl Wire {
    /// The socket URL for `path` (`/ws/visitor`, `/ws/agent`) under `ws` (ws://HOST:PORT).
    pub fn url(self, ws: &str, path: &str) -> String {
        match self {
            Wire::Kefu => format!("{ws}{path}"),
            Wire::SocketIo => format!("{ws}/socket.io/?EIO=4&transport=websocket"),
        }
    }

    /// A visitor's socket URL for the site `site_key` (the edge routes by it).
    pub fn visitor_url(self, ws: &str, site_key: &str) -> String {
        self.url(ws, &format!("/ws/visitor?site={site_key}"))
    }

    /// What a fresh socket does before frames can pass: for Socket.IO, the Engine.IO open packet
    /// and joining the default namespace.
    pub async fn open<S: AsyncRead + AsyncWrite + Unpin>(
        self,
        ws: &mut WebSocketStream<S>,
    ) -> anyhow::Result<()> {
        if self == Wire::Kefu {
            return Ok(());
        }
        let open = next_text(ws).await?;
        if !open.starts_with('0') {
            bail!("expected Engine.IO's open packet, got {open}");
        }
        ws.send(Message::Text("40".into())).await?;
        let joined = next_text(ws).await?;
        if !joined.starts_with("40") {
            bail!("expected Socket.IO's connect packet, got {joined}");
        }
        Ok(())
    }

    pub fn encode(self, frame: &str) -> String {
        match self {
            Wire::Kefu => frame.to_owned(),
            Wire::SocketIo => format!("{EVENT}{frame}]"),
        }
    }

    pub fn decode(self, text: &str) -> Incoming<'_> {
        match self {
            Wire::Kefu => Incoming::Frame(text),
            Wire::SocketIo if text == "2" => Incoming::Ping,
            Wire::SocketIo => match text.strip_prefix(EVENT).and_then(|t| t.strip_suffix(']')) {
                Some(frame) => Incoming::Frame(frame),
                None => Incoming::Other,
            },
        }
    }
}

async fn next_text<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocketStream<S>) -> anyhow::Result<String> {
    loop {
        match ws.next().await.context("closed while opening")?? {
            Message::Text(text) => return Ok(text.as_str().to_owned()),
            Message::Close(_) => bail!("closed while opening"),
            _ => {}
        }
    }
}
