//! Frames the server sends.

use serde::{Deserialize, Serialize};

use super::views::{
    AgentPresenceView, ConversationView, IdentityView, LiveVisitorView, MessageView, PageInfo, Party, Role,
    SiteSummary, WidgetView,
};
use crate::ids::{AgentId, Cid, ConversationId, Millis, Seq, SiteId, TenantId, VisitorId};

/// Everything the server sends, to visitors and agents alike.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// The visitor's hello was accepted.
    Welcome {
        /// The visitor's id.
        visitor: VisitorId,
        /// Keep it (localStorage) and send it in the next hello to stay the same visitor.
        visitor_token: String,
        /// The site.
        site: SiteId,
        /// The site's name.
        site_name: String,
        /// The site's greeting, shown before the first message.
        greeting: String,
        /// How the site's widget looks and behaves.
        widget: WidgetView,
        /// Whether an agent is online to answer.
        agents_online: bool,
        /// The visitor's latest conversation, if any.
        conversation: Option<ConversationView>,
    },
    /// The agent's hello was accepted; one `site_state` per site follows.
    AgentWelcome {
        /// The tenant.
        tenant: TenantId,
        /// The agent.
        agent: AgentId,
        /// Their display name.
        name: String,
        /// Their role.
        role: Role,
        /// The sites they serve.
        sites: Vec<SiteSummary>,
    },
    /// Everything an agent needs to draw one site: who is on it, who is online, the conversations.
    SiteState {
        /// The site.
        site: SiteId,
        /// Agents connected to the site.
        agents: Vec<AgentPresenceView>,
        /// Visitors on the site, the latest arrivals first, at most
        /// [`crate::limits::MAX_VISITORS_IN_SITE_STATE`].
        visitors: Vec<LiveVisitorView>,
        /// How many visitors are on the site.
        visitors_total: u32,
        /// Waiting, open and recently closed conversations.
        conversations: Vec<ConversationView>,
    },
    /// A sent message is stored: the client may drop it from its outbox.
    Ack {
        /// The client id of the send.
        cid: Cid,
        /// The conversation it went to.
        conversation: ConversationId,
        /// Its place there.
        seq: Seq,
    },
    /// A stored message.
    Message(MessageView),
    /// Someone is typing, or stopped. Agents see the visitor's draft in `preview`.
    Typing {
        /// The site.
        site: SiteId,
        /// The visitor of the conversation.
        visitor: VisitorId,
        /// The conversation, if one exists yet.
        conversation: Option<ConversationId>,
        /// Who is typing.
        from: Party,
        /// The agent typing, when `from` is `agent`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        agent: Option<AgentId>,
        /// Typing now, or stopped.
        active: bool,
        /// The visitor's current draft (to agents only).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        preview: Option<String>,
    },
    /// The other side has read up to `seq`.
    Read {
        /// The site.
        site: SiteId,
        /// The conversation.
        conversation: ConversationId,
        /// Who read.
        by: Party,
        /// Up to which `seq`.
        seq: Seq,
    },
    /// A visitor arrived on the site.
    VisitorArrived {
        /// The site.
        site: SiteId,
        /// The visitor.
        visitor: LiveVisitorView,
    },
    /// A visitor moved to another page.
    VisitorPage {
        /// The site.
        site: SiteId,
        /// The visitor.
        visitor: VisitorId,
        /// The new page.
        page: PageInfo,
        /// Search keywords from the referrer, if any.
        keywords: Option<String>,
    },
    /// The site said who a visitor is.
    VisitorIdentified {
        /// The site.
        site: SiteId,
        /// The visitor.
        visitor: VisitorId,
        /// Who the site says they are.
        identity: IdentityView,
    },
    /// A visitor left the site.
    VisitorLeft {
        /// The site.
        site: SiteId,
        /// The visitor.
        visitor: VisitorId,
    },
    /// An agent's presence in a site changed.
    AgentStatus {
        /// The site.
        site: SiteId,
        /// The agent now.
        agent: AgentPresenceView,
    },
    /// To visitors: whether anyone is online to answer.
    AgentsOnline {
        /// At least one agent is online.
        online: bool,
    },
    /// A conversation's state changed (started, assigned, transferred, closed, rated).
    Conversation {
        /// The conversation now.
        conversation: ConversationView,
    },
    /// To a visitor: an agent started a conversation with them.
    Invited {
        /// The new conversation.
        conversation: ConversationId,
        /// The agent.
        agent: AgentId,
        /// Their display name.
        name: String,
    },
    /// Something the client sent was refused; nothing of it was stored.
    Error {
        /// What kind of refusal; see [`ErrorCode`].
        code: ErrorCode,
        /// What to fix, in words.
        message: String,
        /// The client id of the refused send, if it was one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cid: Option<Cid>,
    },
    /// The agent's fresh access token was taken: the socket lasts until it expires.
    Refreshed {
        /// When the new token expires.
        expires_at: Millis,
    },
    /// The answer to a `ping`.
    Pong {
        /// The `t` of the ping.
        #[serde(default)]
        t: Option<u64>,
    },
    /// The server is going away: reconnect after about `after_ms` and resume.
    Reconnect {
        /// Suggested wait before reconnecting, in milliseconds.
        after_ms: u64,
        /// Where to reconnect, when it is another node of a cluster than the one the socket
        /// reached (the site's room is hosted there); absent: the same address.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
}

/// The `"type"` of every [`ServerFrame`].
pub const SERVER_FRAME_TYPES: &[&str] = &[
    "welcome",
    "agent_welcome",
    "site_state",
    "ack",
    "message",
    "typing",
    "read",
    "visitor_arrived",
    "visitor_page",
    "visitor_identified",
    "visitor_left",
    "agent_status",
    "agents_online",
    "conversation",
    "invited",
    "error",
    "refreshed",
    "pong",
    "reconnect",
];

impl ServerFrame {
    /// An `error` frame.
    pub fn error(code: ErrorCode, message: impl Into<String>, cid: Option<Cid>) -> Self {
        ServerFrame::Error { code, message: message.into(), cid }
    }

    /// The frame as JSON text.
    pub fn to_json(&self) -> String {
        // Every field is a string, number, bool, list or map with string keys: this cannot fail.
        serde_json::to_string(self).unwrap_or_else(|_| {
            String::from(r#"{"type":"error","code":"internal","message":"encoding failed"}"#)
        })
    }
}

/// Why something a client sent was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// Not JSON, not an object, a missing or wrongly typed field, or an invalid value.
    BadFrame,
    /// A `"type"` this socket does not accept.
    UnknownType,
    /// A message body over [`crate::limits::MAX_MESSAGE_CHARS`].
    MessageTooLong,
    /// A frame other than the hello arrived before the hello was accepted.
    HelloRequired,
    /// The hello named a protocol version the server does not speak.
    UnsupportedVersion,
    /// The token is missing, malformed, for another site, or not signed by this server.
    Unauthorized,
    /// The access token has expired; refresh it.
    TokenExpired,
    /// The agent may not do this.
    Forbidden,
    /// No such site, conversation, visitor or agent here (including any of another tenant).
    NotFound,
    /// Not possible in the conversation's current state (closed, already assigned, …).
    InvalidState,
    /// Too many messages; wait and send again.
    RateLimited,
    /// The site holds as many visitors as it may.
    SiteFull,
    /// The server cannot store messages right now; the client retries from its outbox.
    Unavailable,
    /// The server failed; the details are in its log.
    Internal,
}

impl ErrorCode {
    /// Whether sending the same frame again later may succeed.
    pub fn retryable(self) -> bool {
        matches!(self, ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal)
    }
}
