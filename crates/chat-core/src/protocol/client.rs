//! Frames clients send. Visitors and agents have separate enums: an agent frame is never accepted on
//! a visitor socket, and the other way round.

use serde::{Deserialize, Serialize};

use super::views::{AgentStatus, DeviceInfo, PageInfo, ResumePoint, VisitorIdentity};
use crate::ids::{AgentId, Cid, ConversationId, Seq, SiteId, VisitorId};

/// The first frame on a visitor socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitorHello {
    /// Protocol version; must be [`super::PROTOCOL_VERSION`].
    pub v: u32,
    /// The site's public key from the snippet.
    pub site_key: String,
    /// The token from an earlier `welcome`; none for a first visit.
    #[serde(default)]
    pub visitor_token: Option<String>,
    /// The page the visitor is on.
    pub page: PageInfo,
    /// The browser's language and screen (its user agent comes from the request).
    #[serde(default)]
    pub device: DeviceInfo,
    /// Who the site says the visitor is, if the page called `Kefu('identify', …)` before connecting.
    #[serde(default)]
    pub identity: Option<VisitorIdentity>,
    /// What the visitor already has; the server replays the rest.
    #[serde(default)]
    pub resume: Vec<ResumePoint>,
}

/// The first frame on an agent socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentHello {
    /// Protocol version; must be [`super::PROTOCOL_VERSION`].
    pub v: u32,
    /// An access token from `POST /api/v1/auth/login` or `/refresh`.
    pub access_token: String,
    /// The status to take on joining.
    #[serde(default)]
    pub status: AgentStatus,
    /// What the agent already has; the server replays the rest.
    #[serde(default)]
    pub resume: Vec<ResumePoint>,
}

/// Everything a visitor sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum VisitorFrame {
    /// Must come first.
    VisitorHello(Box<VisitorHello>),
    /// A message to the site; starts a conversation if the visitor has no open one.
    Send {
        /// A new id per message, reused on retry.
        cid: Cid,
        /// The text; may be empty when a file is attached.
        #[serde(default)]
        body: String,
        /// A file: the `attachment_token` `POST /api/v1/files` answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<String>,
    },
    /// What the visitor is typing right now (the agents see a preview); empty when they stopped.
    Typing {
        /// The current draft.
        text: String,
    },
    /// The visitor has seen the conversation up to `seq`.
    Read {
        /// The conversation.
        conversation: ConversationId,
        /// The highest `seq` seen.
        seq: Seq,
    },
    /// The visitor moved to another page without reloading (single-page sites).
    Page {
        /// The new page.
        page: PageInfo,
    },
    /// The visitor rates a conversation.
    Rate {
        /// The conversation.
        conversation: ConversationId,
        /// 1 (bad) to 5 (excellent).
        score: u8,
        /// Optional words.
        #[serde(default)]
        comment: String,
    },
    /// The visitor ends their conversation.
    Close,
    /// The site says who the visitor is (they logged in on a single-page site).
    Identify(VisitorIdentity),
    /// Keeps the socket alive; answered with `pong`.
    Ping {
        /// Echoed back.
        #[serde(default)]
        t: Option<u64>,
    },
}

/// Everything an agent sends. Frames about a conversation name its site, which picks the room.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentFrame {
    /// Must come first.
    AgentHello(AgentHello),
    /// A message into a conversation; `note: true` keeps it among agents.
    Send {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
        /// A new id per message, reused on retry.
        cid: Cid,
        /// The text; may be empty when a file is attached.
        #[serde(default)]
        body: String,
        /// An internal note, never shown to the visitor.
        #[serde(default)]
        note: bool,
        /// A file: the `attachment_token` `POST /api/v1/files` answered.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        attachment: Option<String>,
    },
    /// The agent is (or stopped) typing in a conversation.
    Typing {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
        /// Typing now.
        active: bool,
    },
    /// The agent has seen the conversation up to `seq`.
    Read {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
        /// The highest `seq` seen.
        seq: Seq,
    },
    /// Online, away or offline, in every site the agent serves.
    Status {
        /// The new status.
        status: AgentStatus,
    },
    /// Take a waiting conversation.
    Accept {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
    },
    /// Hand a conversation to another agent of the site.
    Transfer {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
        /// The agent to take it; they must be connected and not offline.
        to: AgentId,
    },
    /// End a conversation.
    Close {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
    },
    /// A fresh access token (from `/auth/refresh`) for this socket, before its own expires.
    Refresh {
        /// The new token.
        access_token: String,
    },
    /// Start a conversation with a visitor on the site, with a first message.
    Invite {
        /// The site.
        site: SiteId,
        /// The visitor.
        visitor: VisitorId,
        /// The first message's client id.
        cid: Cid,
        /// The first message.
        body: String,
    },
    /// Keeps the socket alive; answered with `pong`.
    Ping {
        /// Echoed back.
        #[serde(default)]
        t: Option<u64>,
    },
}

impl VisitorFrame {
    /// The client id of a frame that is stored under one (a `send`).
    pub fn cid(&self) -> Option<&Cid> {
        match self {
            VisitorFrame::Send { cid, .. } => Some(cid),
            _ => None,
        }
    }
}

impl AgentFrame {
    /// The client id of a frame that is stored under one (a `send`, an `invite`).
    pub fn cid(&self) -> Option<&Cid> {
        match self {
            AgentFrame::Send { cid, .. } | AgentFrame::Invite { cid, .. } => Some(cid),
            _ => None,
        }
    }

    /// The site whose room handles this frame; `None` for frames every room (or no room) handles.
    pub fn site(&self) -> Option<&SiteId> {
        match self {
            AgentFrame::Send { site, .. }
            | AgentFrame::Typing { site, .. }
            | AgentFrame::Read { site, .. }
            | AgentFrame::Accept { site, .. }
            | AgentFrame::Transfer { site, .. }
            | AgentFrame::Close { site, .. }
            | AgentFrame::Invite { site, .. } => Some(site),
            AgentFrame::AgentHello(_)
            | AgentFrame::Status { .. }
            | AgentFrame::Refresh { .. }
            | AgentFrame::Ping { .. } => None,
        }
    }
}

/// The `"type"` of every [`VisitorFrame`].
pub const VISITOR_FRAME_TYPES: &[&str] =
    &["visitor_hello", "send", "typing", "read", "page", "rate", "close", "identify", "ping"];

/// The `"type"` of every [`AgentFrame`].
pub const AGENT_FRAME_TYPES: &[&str] = &[
    "agent_hello",
    "send",
    "typing",
    "read",
    "status",
    "accept",
    "transfer",
    "close",
    "refresh",
    "invite",
    "ping",
];
