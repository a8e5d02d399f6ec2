//! The records the stores keep, as handlers and the REST API see them.

use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::{ConversationStatus, ConversationView, Role, WidgetPosition, WidgetView};
use chat_core::records::WriteOp;
use serde::{Deserialize, Serialize};

/// A customer organisation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tenant {
    /// Its id.
    pub id: TenantId,
    /// Its name.
    pub name: String,
    /// When it was created.
    pub created_at: Millis,
}

/// A website of a tenant.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Site {
    /// Owner.
    pub tenant: TenantId,
    /// Its id.
    pub id: SiteId,
    /// The public key the snippet carries.
    pub key: String,
    /// Shown to visitors and agents.
    pub name: String,
    /// Origins (`https://shop.example`) allowed to embed the chat.
    pub allowed_origins: Vec<String>,
    /// Shown to visitors before their first message.
    pub greeting: String,
    /// New conversations go to online agents round-robin; otherwise agents accept them.
    pub auto_assign: bool,
    /// The widget's colour, corner, offline form and languages.
    #[serde(flatten)]
    pub widget: WidgetView,
    /// The key identities are verified with (`POST /sites/{id}/identity-secret`); never shown
    /// again after it is made, never in the site's JSON.
    #[serde(skip)]
    pub identity_secret: Option<IdentitySecret>,
    /// When it was created.
    pub created_at: Millis,
}

/// What creating a site takes.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct NewSite {
    /// Its name.
    pub name: String,
    /// Origins allowed to embed the chat.
    #[serde(default)]
    pub allowed_origins: Vec<String>,
    /// Greeting; a default one if empty.
    #[serde(default)]
    pub greeting: String,
    /// Round-robin assignment (default on).
    #[serde(default = "yes")]
    pub auto_assign: bool,
    /// The widget's colour (`#rrggbb`); the default blue if absent.
    #[serde(default)]
    pub color: Option<String>,
    /// The launcher's corner; right if absent.
    #[serde(default)]
    pub position: Option<WidgetPosition>,
    /// Offer the leave-a-message form when nobody is online (default on).
    #[serde(default)]
    pub offline_form: Option<bool>,
    /// Languages the widget may speak (default `["zh-CN", "en"]`).
    #[serde(default)]
    pub languages: Option<Vec<String>>,
}

fn yes() -> bool {
    true
}

impl NewSite {
    /// The site as created now, with a new id and public key.
    pub fn into_site(self, tenant: &TenantId, now: Millis) -> Site {
        let defaults = WidgetView::default();
        let widget = WidgetView {
            color: self.color.unwrap_or(defaults.color),
            position: self.position.unwrap_or(defaults.position),
            offline_form: self.offline_form.unwrap_or(defaults.offline_form),
            languages: self.languages.unwrap_or(defaults.languages),
        };
        Site {
            tenant: tenant.clone(),
            id: SiteId(new_id("s")),
            // Public, in every page of the site; unguessable so sites cannot be enumerated.
            key: format!("k_{}", uuid::Uuid::new_v4().simple()),
            name: self.name,
            allowed_origins: self.allowed_origins,
            greeting: self.greeting,
            auto_assign: self.auto_assign,
            widget,
            identity_secret: None,
            created_at: now,
        }
    }
}

/// A change to a site; absent fields stay.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct SitePatch {
    /// New name.
    pub name: Option<String>,
    /// New allowed origins.
    pub allowed_origins: Option<Vec<String>>,
    /// New greeting.
    pub greeting: Option<String>,
    /// Round-robin on or off.
    pub auto_assign: Option<bool>,
    /// New widget colour.
    pub color: Option<String>,
    /// New launcher corner.
    pub position: Option<WidgetPosition>,
    /// Offline form on or off.
    pub offline_form: Option<bool>,
    /// New widget languages.
    pub languages: Option<Vec<String>>,
}

/// A person of a tenant who answers chats.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Agent {
    /// Owner.
    pub tenant: TenantId,
    /// Its id.
    pub id: AgentId,
    /// Login, unique across the server.
    pub email: String,
    /// Shown to visitors.
    pub name: String,
    /// Owner, admin or agent.
    pub role: Role,
    /// Open conversations round-robin gives them at most.
    pub capacity: u32,
    /// Serves every site of the tenant, present and future.
    pub all_sites: bool,
    /// The sites they serve when not `all_sites`.
    pub sites: Vec<SiteId>,
    /// A disabled agent cannot log in or connect.
    pub disabled: bool,
    /// When the account was created.
    pub created_at: Millis,
    /// Access tokens name the generation they were issued in; a new password, a new role,
    /// disabling and "log out everywhere" start a new one, and older tokens are refused at once.
    #[serde(skip)]
    pub token_generation: u64,
}

impl Agent {
    /// Whether the agent serves `site`.
    pub fn serves(&self, site: &SiteId) -> bool {
        self.all_sites || self.sites.contains(site)
    }
}

/// What creating an agent takes.
#[derive(Clone, Debug)]
pub struct NewAgent {
    /// Login.
    pub email: String,
    /// Display name.
    pub name: String,
    /// Role.
    pub role: Role,
    /// Capacity.
    pub capacity: u32,
    /// Serves every site of the tenant.
    pub all_sites: bool,
    /// The sites served when not `all_sites`.
    pub sites: Vec<SiteId>,
    /// The argon2id hash of their password.
    pub password_hash: String,
}

impl NewAgent {
    /// The agent as created now (email lower-case, sites once each), and their password hash.
    pub fn into_agent(self, tenant: &TenantId, now: Millis) -> (Agent, String) {
        let agent = Agent {
            tenant: tenant.clone(),
            id: AgentId(new_id("a")),
            email: self.email.to_lowercase(),
            name: self.name,
            role: self.role,
            capacity: self.capacity,
            all_sites: self.all_sites,
            sites: if self.all_sites { Vec::new() } else { sorted_sites(self.sites) },
            disabled: false,
            created_at: now,
            token_generation: 0,
        };
        (agent, self.password_hash)
    }
}

/// Sites sorted, each once.
pub fn sorted_sites(mut sites: Vec<SiteId>) -> Vec<SiteId> {
    sites.sort();
    sites.dedup();
    sites
}

/// A change to an agent; absent fields stay.
#[derive(Clone, Debug, Default)]
pub struct AgentPatch {
    /// New display name.
    pub name: Option<String>,
    /// New role.
    pub role: Option<Role>,
    /// New capacity.
    pub capacity: Option<u32>,
    /// Serve every site (`true`), or only `sites` (`false`).
    pub all_sites: Option<bool>,
    /// New sites; given alone, it means only these.
    pub sites: Option<Vec<SiteId>>,
    /// Disable or enable.
    pub disabled: Option<bool>,
}

/// A refresh token, stored by the SHA-256 of its text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RefreshToken {
    /// Hex SHA-256 of the token.
    pub hash: String,
    /// The agent's tenant.
    pub tenant: TenantId,
    /// The agent.
    pub agent: AgentId,
    /// Not valid after this.
    pub expires_at: Millis,
}

/// A conversation with what a list shows of it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ConversationSummary {
    /// The conversation.
    #[serde(flatten)]
    pub conversation: ConversationView,
    /// The tags agents gave it, in order.
    pub tags: Vec<String>,
    /// The visitor's rating comment.
    pub rating_comment: Option<String>,
    /// When it closed.
    pub closed_at: Option<Millis>,
    /// When its last message was stored.
    pub last_message_at: Option<Millis>,
}

/// Which conversations to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ConversationQuery {
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only in this state.
    pub status: Option<ConversationStatus>,
    /// Only this visitor's.
    pub visitor: Option<VisitorId>,
    /// Only sites among these (an agent's sites); `None` for all.
    #[serde(skip)]
    pub sites: Option<Vec<SiteId>>,
    /// Only those with a message (not an event) containing this text, in any case.
    pub q: Option<String>,
    /// Only those with this tag.
    pub tag: Option<String>,
    /// Only those started at or after this time.
    pub from: Option<Millis>,
    /// Only those started before this time.
    pub to: Option<Millis>,
    /// Only conversations older than this one (the previous page's last id; ids sort by time).
    pub before: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

/// A visitor's visit to a page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PageView {
    /// The site.
    pub site: SiteId,
    /// The page's address.
    pub url: String,
    /// Its title.
    pub title: String,
    /// Where they came from.
    pub referrer: String,
    /// Search keywords from the referrer.
    pub keywords: Option<String>,
    /// When.
    pub at: Millis,
}

/// What a visitor leaves when nobody is online.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaveMessage {
    /// Its id.
    pub id: String,
    /// The site it was left on.
    pub site: SiteId,
    /// The visitor, if the widget knew them.
    pub visitor: Option<VisitorId>,
    /// Their name.
    pub name: String,
    /// How to reach them.
    pub email: String,
    /// What they wrote.
    pub body: String,
    /// The page they were on.
    pub page_url: String,
    /// When.
    pub created_at: Millis,
    /// When an agent handled it.
    pub handled_at: Option<Millis>,
    /// Who handled it.
    pub handled_by: Option<AgentId>,
}

/// What storing a leave-a-message takes.
#[derive(Clone, Debug)]
pub struct NewLeaveMessage {
    /// The site.
    pub site: SiteId,
    /// The visitor, if known.
    pub visitor: Option<VisitorId>,
    /// Their name.
    pub name: String,
    /// Their email.
    pub email: String,
    /// The message.
    pub body: String,
    /// The page.
    pub page_url: String,
}

impl NewLeaveMessage {
    /// The message as left now, not yet handled.
    pub fn into_message(self, now: Millis) -> LeaveMessage {
        LeaveMessage {
            id: new_id("lm"),
            site: self.site,
            visitor: self.visitor,
            name: self.name,
            email: self.email,
            body: self.body,
            page_url: self.page_url,
            created_at: now,
            handled_at: None,
            handled_by: None,
        }
    }
}

/// Which leave-a-messages to list.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct LeaveMessageQuery {
    /// Only handled (`true`) or open (`false`) ones.
    pub handled: Option<bool>,
    /// Only this site.
    pub site: Option<SiteId>,
    /// Only sites among these (an agent's sites); `None` for all.
    #[serde(skip)]
    pub sites: Option<Vec<SiteId>>,
    /// Only those with a message (not an event) containing this text, in any case.
    pub q: Option<String>,
    /// Only those with this tag.
    pub tag: Option<String>,
    /// Only those started at or after this time.
    pub from: Option<Millis>,
    /// Only those started before this time.
    pub to: Option<Millis>,
    /// Only ones older than this one (the previous page's last id).
    pub before: Option<String>,
    /// Page size.
    pub limit: Option<u32>,
}

/// A canned answer.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuickReply {
    /// Its id.
    pub id: String,
    /// The agent it belongs to; `None` when shared by the tenant.
    pub agent: Option<AgentId>,
    /// A short name to find it by.
    pub title: String,
    /// The text it inserts.
    pub body: String,
    /// When it was created.
    pub created_at: Millis,
}

/// What creating a quick reply takes.
#[derive(Clone, Debug)]
pub struct NewQuickReply {
    /// Owner agent; `None` for shared.
    pub agent: Option<AgentId>,
    /// Title.
    pub title: String,
    /// Text.
    pub body: String,
}

impl NewQuickReply {
    /// The reply as created now.
    pub fn into_reply(self, now: Millis) -> QuickReply {
        QuickReply {
            id: new_id("qr"),
            agent: self.agent,
            title: self.title,
            body: self.body,
            created_at: now,
        }
    }
}

/// A change to a quick reply.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct QuickReplyPatch {
    /// New title.
    pub title: Option<String>,
    /// New text.
    pub body: Option<String>,
}

/// One record of a tenant being imported; its tenant is the import's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TenantRecord {
    /// A site.
    Site(Site),
    /// An agent, the sites they serve, and their password hash (so they log in as before).
    Agent {
        /// The agent.
        agent: Agent,
        /// Their argon2id hash.
        password_hash: String,
    },
    /// A quick reply.
    QuickReply(QuickReply),
    /// A leave-a-message.
    LeaveMessage(LeaveMessage),
    /// A conversation, message or page view, as the rooms write them.
    Write(WriteOp),
}

/// How many records an import stored, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ImportCounts {
    /// Sites.
    pub sites: u64,
    /// Agents.
    pub agents: u64,
    /// Quick replies.
    pub quick_replies: u64,
    /// Leave-a-messages.
    pub leave_messages: u64,
    /// Conversations.
    pub conversations: u64,
    /// Messages.
    pub messages: u64,
    /// Page views.
    pub page_views: u64,
}

impl ImportCounts {
    /// Counts one record.
    pub fn add(&mut self, record: &TenantRecord) {
        let count = match record {
            TenantRecord::Site(_) => &mut self.sites,
            TenantRecord::Agent { .. } => &mut self.agents,
            TenantRecord::QuickReply(_) => &mut self.quick_replies,
            TenantRecord::LeaveMessage(_) => &mut self.leave_messages,
            TenantRecord::Write(WriteOp::Conversation(_)) => &mut self.conversations,
            TenantRecord::Write(WriteOp::Message { .. }) => &mut self.messages,
            TenantRecord::Write(WriteOp::PageView(_)) => &mut self.page_views,
        };
        *count += 1;
    }
}

/// A `kefu serve` node of a cluster, as the database knows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Node {
    /// Its name (`--node-name`), unique in the cluster.
    pub name: String,
    /// Where clients reach it (`--node-url`).
    pub url: String,
    /// When it last said it is alive.
    pub heartbeat_at: Millis,
    /// Whether it is giving its sites away and taking no new ones.
    pub draining: bool,
}

/// Which node hosts a site's room, until when, under which fencing number.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Lease {
    /// The site.
    pub site: SiteId,
    /// The node holding it.
    pub node: String,
    /// Grows by one each time the lease changes hands (never when it is renewed).
    pub fence: u64,
    /// The holder must renew it before this; after, another node may take it.
    pub expires_at: Millis,
    /// A node the room is asked to move to (`kefu site move`, `kefu node drain`).
    pub move_to: Option<String>,
}

impl Lease {
    /// Whether `node` holds it at `now`.
    pub fn held_by(&self, node: &str, now: Millis) -> bool {
        self.node == node && self.expires_at > now
    }
}

/// The largest page any list returns, and the default.
pub const MAX_PAGE: u32 = 200;
/// See [`MAX_PAGE`].
pub const DEFAULT_PAGE: u32 = 50;

/// A requested page size, bounded.
pub fn page_size(limit: Option<u32>) -> u32 {
    limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
}

/// A new id: a prefix naming the kind and a time-ordered UUID, so ids sort by creation.
pub fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}
