//! Protocol v1: JSON text frames over a WebSocket, each an object with a `"type"`.
//!
//! - [`client`] — what visitors ([`VisitorFrame`]) and agents ([`AgentFrame`]) send.
//! - [`server`] — what the server sends ([`ServerFrame`]).
//! - [`views`] — the shapes both directions share: pages, messages, conversations, presence.
//!
//! `docs/protocol.md` shows every frame; a test parses its examples with these types.

pub mod client;
pub mod server;
pub mod views;

pub use client::{AgentFrame, AgentHello, VisitorFrame, VisitorHello};
pub use server::{ErrorCode, ServerFrame};
pub use views::*;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::ids::Cid;

/// The protocol version a hello must name.
pub const PROTOCOL_VERSION: u32 = 1;

/// WebSocket close codes the server uses; clients act on them as documented.
pub mod close {
    /// Normal closure.
    pub const NORMAL: u16 = 1000;
    /// A frame exceeded [`crate::limits::MAX_FRAME_BYTES`].
    pub const TOO_LARGE: u16 = 1009;
    /// The server failed; reconnect with backoff.
    pub const INTERNAL: u16 = 1011;
    /// The server is restarting; reconnect with backoff and resume.
    pub const RESTARTING: u16 = 1012;
    /// The hello was malformed, named an unknown site or an unsupported version. Do not retry as is.
    pub const BAD_HELLO: u16 = 4000;
    /// The token in the hello was missing, invalid or expired. Get a new token before retrying.
    pub const UNAUTHORIZED: u16 = 4001;
    /// No hello arrived within [`crate::limits::HELLO_TIMEOUT_MS`].
    pub const HELLO_TIMEOUT: u16 = 4002;
    /// The agent may not use this site or the account was disabled.
    pub const FORBIDDEN: u16 = 4003;
    /// Nothing was received for [`crate::limits::IDLE_TIMEOUT_MS`].
    pub const IDLE: u16 = 4004;
    /// The socket fell behind ([`crate::limits::SOCKET_QUEUE_BYTES`] while its reader takes
    /// nothing, [`crate::limits::SOCKET_QUEUE_MAX_BYTES`] in any case); reconnect and resume.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// The site holds [`crate::limits::MAX_VISITORS_PER_SITE`] visitors already.
    pub const SITE_FULL: u16 = 4009;
    /// Another node of the cluster hosts the site's room: reconnect to the `url` of the
    /// `reconnect` frame sent before, or ask `GET /route/{site_key}` again.
    pub const ELSEWHERE: u16 = 4010;
    /// Too many sockets from one address; retry later.
    pub const TOO_MANY_SOCKETS: u16 = 4029;
}

/// Why a text frame could not be read; becomes an `error` frame.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    /// `bad_frame` or `unknown_type`.
    pub code: ErrorCode,
    /// What to fix, for the developer of the client.
    pub message: String,
    /// The frame's `cid`, when one could be read: the client drops that send from its outbox.
    pub cid: Option<Cid>,
}

impl FrameError {
    /// The `error` frame that answers it.
    pub fn into_frame(self) -> ServerFrame {
        ServerFrame::error(self.code, self.message, self.cid)
    }
}

/// A hello refused: the error to send and the close code that follows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HelloRefused {
    /// The error's code.
    pub code: ErrorCode,
    /// What to fix.
    pub message: String,
    /// One of [`close`].
    pub close: u16,
}

impl HelloRefused {
    /// A refusal with this code, message and close code.
    pub fn new(code: ErrorCode, message: impl Into<String>, close: u16) -> Self {
        HelloRefused { code, message: message.into(), close }
    }
}

/// What every hello, visitor's or agent's, must satisfy before anything is looked up.
pub fn check_hello(version: u32, resume: &[ResumePoint]) -> Result<(), HelloRefused> {
    if version != PROTOCOL_VERSION {
        let message = format!("this server speaks protocol version {PROTOCOL_VERSION}");
        return Err(HelloRefused::new(ErrorCode::UnsupportedVersion, message, close::BAD_HELLO));
    }
    if resume.len() > crate::limits::MAX_RESUME_POINTS {
        let message = format!("a hello has at most {} resume points", crate::limits::MAX_RESUME_POINTS);
        return Err(HelloRefused::new(ErrorCode::BadFrame, message, close::BAD_HELLO));
    }
    Ok(())
}

/// Reads a visitor's frame.
pub fn parse_visitor_frame(text: &str) -> Result<VisitorFrame, FrameError> {
    parse(text, client::VISITOR_FRAME_TYPES)
}

/// Reads an agent's frame.
pub fn parse_agent_frame(text: &str) -> Result<AgentFrame, FrameError> {
    parse(text, client::AGENT_FRAME_TYPES)
}

/// Reads a server frame (clients and tests).
pub fn parse_server_frame(text: &str) -> Result<ServerFrame, FrameError> {
    parse(text, server::SERVER_FRAME_TYPES)
}

fn parse<T: DeserializeOwned>(text: &str, known: &[&str]) -> Result<T, FrameError> {
    serde_json::from_str(text).map_err(|error| classify(text, known, &error))
}

/// The parts of any object a refusal can name: its type, and its `cid` if it is a string.
#[derive(Deserialize)]
struct Tagged {
    #[serde(rename = "type", default, deserialize_with = "text_or_nothing")]
    kind: Option<String>,
    #[serde(default, deserialize_with = "text_or_nothing")]
    cid: Option<String>,
}

fn text_or_nothing<'de, D: serde::Deserializer<'de>>(value: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(value)? {
        serde_json::Value::String(text) => Some(text),
        _ => None,
    })
}

/// The `cid` of a frame refused before it was read (too many frames), if one can be read: an
/// error about a send carries it, so the client keeps that send for later.
pub fn frame_cid(text: &str) -> Option<Cid> {
    serde_json::from_str::<Tagged>(text).ok()?.cid.map(Cid)
}

/// Tells a frame of an unknown type from a malformed one; runs only when parsing failed.
fn classify(text: &str, known: &[&str], error: &serde_json::Error) -> FrameError {
    let Ok(Tagged { kind, cid }) = serde_json::from_str::<Tagged>(text) else {
        return FrameError {
            code: ErrorCode::BadFrame,
            message: format!("not a JSON object: {error}"),
            cid: None,
        };
    };
    let cid = cid.map(Cid);
    match kind {
        None => {
            FrameError { code: ErrorCode::BadFrame, message: "the frame has no \"type\"".to_owned(), cid }
        }
        Some(kind) if !known.contains(&kind.as_str()) => {
            FrameError { code: ErrorCode::UnknownType, message: format!("unknown frame type {kind:?}"), cid }
        }
        Some(kind) => {
            FrameError { code: ErrorCode::BadFrame, message: format!("bad {kind:?} frame: {error}"), cid }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_frame_gives_back_its_cid_whenever_it_can_be_read() {
        // (A send without a body parses, as a file may come alone; the room refuses it with its cid.)
        for (text, parse) in [
            (
                r#"{"type":"send","cid":"x","body":["a"]}"#,
                parse_visitor_frame as fn(&str) -> Result<VisitorFrame, FrameError>,
            ),
            (r#"{"type":"send","cid":"x","body":null}"#, parse_visitor_frame),
            (r#"{"type":"sned","cid":"x","body":"hi"}"#, parse_visitor_frame),
        ] {
            let error = parse(text).unwrap_err();
            assert_eq!(error.cid, Some(Cid::from("x")), "{text}");
        }
        let agent =
            parse_agent_frame(r#"{"type":"send","cid":"y","conversation":"c1","body":"hi"}"#).unwrap_err();
        assert_eq!((agent.code, agent.cid), (ErrorCode::BadFrame, Some(Cid::from("y"))), "no site");
        assert_eq!(frame_cid(r#"{"type":"send","cid":"z","body":"hi"}"#), Some(Cid::from("z")));
        assert_eq!(frame_cid(r#"{"type":"ping","t":1}"#), None);
        assert_eq!(frame_cid("{not json"), None);
        let unknown = parse_visitor_frame(r#"{"type":"sned","cid":"x"}"#).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::UnknownType);
        for text in [r#"{"type":"send","cid":7,"body":"hi"}"#, "not json", r#"{"cid":"z"}"#] {
            let error = parse_visitor_frame(text).unwrap_err();
            assert_eq!(error.code, ErrorCode::BadFrame, "{text}");
            assert_eq!(error.cid.is_some(), text.contains(r#""z""#), "{text}");
        }
    }
}
