//! Shapes shared by client and server frames and by the records the server keeps.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, Cid, ConversationId, Millis, Seq, SiteId, VisitorId};

/// The page a visitor is on.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct PageInfo {
    /// The page's address.
    pub url: String,
    /// The page's title.
    #[serde(default)]
    pub title: String,
    /// Where the visitor came from (`document.referrer`), empty if nowhere.
    #[serde(default)]
    pub referrer: String,
}

/// What the visitor's browser says about itself. Shown to agents; never trusted for anything else.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct DeviceInfo {
    /// The browser's preferred language (`navigator.language`), e.g. `zh-CN`.
    #[serde(default)]
    pub language: String,
    /// Screen size in CSS pixels, `WIDTHxHEIGHT`.
    #[serde(default)]
    pub screen: String,
    /// The browser's user agent; the server fills it from the socket's request, not from the hello.
    #[serde(default)]
    pub user_agent: String,
}

/// Who the site says the visitor is (`Kefu('identify', …)`), with the site's proof.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct VisitorIdentity {
    /// The visitor's id in the site's own user records.
    pub id: String,
    /// Their name.
    #[serde(default)]
    pub name: String,
    /// Their email address.
    #[serde(default)]
    pub email: String,
    /// Hex of HMAC-SHA256 of `id`, keyed with the site's identity secret; empty if the site has none.
    #[serde(default)]
    pub hash: String,
}

/// A visitor's identity as agents see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct IdentityView {
    /// The visitor's id in the site's own user records.
    pub id: String,
    /// Their name.
    pub name: String,
    /// Their email address.
    pub email: String,
    /// The hash proved that the site vouches for this identity; otherwise anyone could have typed it.
    pub verified: bool,
}

/// A file attached to a message; its bytes are at `GET /api/v1/files/{id}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AttachmentView {
    /// The file's id (unguessable).
    pub id: String,
    /// The name it was uploaded with.
    pub name: String,
    /// Its size in bytes.
    pub size: u64,
    /// Its media type, found from its content (never from its name).
    #[serde(rename = "type")]
    pub content_type: String,
    /// For images: width in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub width: Option<u32>,
    /// For images: height in pixels.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub height: Option<u32>,
}

impl AttachmentView {
    /// Whether chat windows show it as a picture.
    pub fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }
}

/// Which bottom corner the chat launcher sits in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum WidgetPosition {
    /// Bottom right.
    #[default]
    Right,
    /// Bottom left.
    Left,
}

impl WidgetPosition {
    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            WidgetPosition::Right => "right",
            WidgetPosition::Left => "left",
        }
    }

    /// Parses [`WidgetPosition::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Right, Self::Left].into_iter().find(|p| p.as_str() == text)
    }
}

/// How the site wants its chat widget to look and behave.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct WidgetView {
    /// The launcher's and the header's colour, `#rrggbb`.
    pub color: String,
    /// The corner of the launcher.
    pub position: WidgetPosition,
    /// Offer the leave-a-message form when nobody is online.
    pub offline_form: bool,
    /// Languages the widget may speak, most preferred first (`zh-CN`, `en`).
    pub languages: Vec<String>,
}

impl Default for WidgetView {
    fn default() -> Self {
        WidgetView {
            color: "#1f6feb".to_owned(),
            position: WidgetPosition::Right,
            offline_form: true,
            languages: vec!["zh-CN".to_owned(), "en".to_owned()],
        }
    }
}

/// The last `seq` a client holds of a conversation; the server replays what follows.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ResumePoint {
    /// The conversation.
    pub conversation: ConversationId,
    /// The highest `seq` the client has; 0 for none.
    pub last_seq: Seq,
}

/// What an agent may do in a tenant.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything, including the tenant's owners and admins.
    Owner,
    /// Manages sites, agents and quick replies.
    Admin,
    /// Answers chats.
    Agent,
}

impl Role {
    /// Owners and admins manage sites, agents and shared quick replies.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }

    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Agent => "agent",
        }
    }

    /// Parses [`Role::as_str`].
    pub fn parse(text: &str) -> Option<Role> {
        [Role::Owner, Role::Admin, Role::Agent].into_iter().find(|role| role.as_str() == text)
    }
}

/// Whether an agent takes chats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum AgentStatus {
    /// Takes new chats.
    #[default]
    Online,
    /// Connected, keeps their chats, takes no new ones.
    Away,
    /// Not available.
    Offline,
}

/// Where a conversation is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum ConversationStatus {
    /// Started by the visitor, no agent yet.
    Waiting,
    /// An agent has it.
    Open,
    /// Ended; it can still be rated.
    Closed,
}

impl ConversationStatus {
    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Waiting => "waiting",
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
        }
    }

    /// Parses [`ConversationStatus::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Waiting, Self::Open, Self::Closed].into_iter().find(|s| s.as_str() == text)
    }
}

/// Who sent a message or is typing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum Party {
    /// The site's visitor.
    Visitor,
    /// An agent of the site.
    Agent,
    /// The server itself (lifecycle events).
    System,
}

impl Party {
    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            Party::Visitor => "visitor",
            Party::Agent => "agent",
            Party::System => "system",
        }
    }

    /// Parses [`Party::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Visitor, Self::Agent, Self::System].into_iter().find(|p| p.as_str() == text)
    }
}

/// What a message is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(rename_all = "snake_case")]
pub enum MessageKind {
    /// Text for everyone in the conversation.
    Text,
    /// An agents-only note; never sent to the visitor.
    Note,
    /// A lifecycle event written by the server; see [`ConversationEvent`].
    Event,
}

impl MessageKind {
    /// The name used on the wire and in the database.
    pub fn as_str(self) -> &'static str {
        match self {
            MessageKind::Text => "text",
            MessageKind::Note => "note",
            MessageKind::Event => "event",
        }
    }

    /// Parses [`MessageKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        [Self::Text, Self::Note, Self::Event].into_iter().find(|k| k.as_str() == text)
    }
}

/// The author of a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct Sender {
    /// Visitor, agent or system.
    pub party: Party,
    /// The visitor's or agent's id; none for system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The agent's display name; none for visitors and system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// A lifecycle event, carried by a message of kind `event` so it has its place in the conversation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[serde(tag = "event", rename_all = "snake_case")]
pub enum ConversationEvent {
    /// An agent took the conversation (round-robin or accept).
    Assigned {
        /// The agent.
        agent: AgentId,
        /// Their display name.
        name: String,
    },
    /// The conversation moved from one agent to another.
    Transferred {
        /// Who had it, if anyone.
        from: Option<AgentId>,
        /// Who has it now.
        to: AgentId,
        /// The new agent's display name.
        name: String,
    },
    /// An agent started the conversation by inviting the visitor.
    Invited {
        /// The agent.
        agent: AgentId,
        /// Their display name.
        name: String,
    },
    /// The agent who had it left and did not come back in time; it waits for another agent.
    Requeued {
        /// The agent who left.
        agent: AgentId,
    },
    /// The conversation ended.
    Closed {
        /// Who ended it; `system` when it closed after inactivity.
        by: Party,
    },
    /// The visitor rated the conversation.
    Rated {
        /// 1 (bad) to 5 (excellent).
        score: u8,
    },
}

/// One message of a conversation, as clients receive it and as it is stored.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct MessageView {
    /// The site of the conversation.
    pub site: SiteId,
    /// The conversation.
    pub conversation: ConversationId,
    /// Its position in the conversation.
    pub seq: Seq,
    /// Who wrote it.
    pub sender: Sender,
    /// Text, note or event.
    pub kind: MessageKind,
    /// The text; for events, a sentence describing it.
    pub body: String,
    /// The sender's client id; none for system messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cid: Option<Cid>,
    /// When the server accepted it.
    pub at: Millis,
    /// The lifecycle event, for messages of kind `event`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<ConversationEvent>,
    /// A file sent with the message (the body is then its caption, possibly empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attachment: Option<AttachmentView>,
}

/// A conversation as clients see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct ConversationView {
    /// Its id.
    pub id: ConversationId,
    /// Its site.
    pub site: SiteId,
    /// Its visitor.
    pub visitor: VisitorId,
    /// Waiting, open or closed.
    pub status: ConversationStatus,
    /// The agent who has it, if any.
    #[serde(default)]
    pub agent: Option<AgentId>,
    /// When it started.
    pub started_at: Millis,
    /// The highest stored `seq`.
    pub last_seq: Seq,
    /// The visitor's rating, 1–5, once given.
    #[serde(default)]
    pub rating: Option<u8>,
    /// The highest `seq` the visitor has read.
    #[serde(default)]
    pub visitor_read_seq: Seq,
    /// The highest `seq` an agent has read.
    #[serde(default)]
    pub agent_read_seq: Seq,
}

/// A visitor on the site right now, as agents see them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct LiveVisitorView {
    /// The visitor.
    pub visitor: VisitorId,
    /// The page they are on.
    pub page: PageInfo,
    /// Search keywords found in the referrer, if it was a search engine.
    #[serde(default)]
    pub keywords: Option<String>,
    /// When they arrived on the site.
    pub arrived_at: Millis,
    /// Their latest conversation, if any.
    #[serde(default)]
    pub conversation: Option<ConversationId>,
    /// Pages they opened since they arrived.
    #[serde(default)]
    pub pages: u32,
    /// Their browser's language, screen and user agent.
    #[serde(default)]
    pub device: DeviceInfo,
    /// Who the site says they are, if it said.
    #[serde(default)]
    pub identity: Option<IdentityView>,
}

/// An agent's presence in a site, as agents see it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct AgentPresenceView {
    /// The agent.
    pub agent: AgentId,
    /// Their display name.
    pub name: String,
    /// Online, away or offline.
    pub status: AgentStatus,
    /// Open conversations they have in this site.
    pub open_conversations: u32,
    /// How many open conversations round-robin gives them at most.
    pub capacity: u32,
}

/// A site an agent serves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
pub struct SiteSummary {
    /// The site.
    pub id: SiteId,
    /// Its name.
    pub name: String,
}
