//! Records, behind small async traits so handlers never hold SQL and backends can be swapped.
//!
//! Every method that reads or changes a tenant's rows takes the tenant: a query can never cross
//! tenants, and an id of another tenant reads as "not found". The few lookups that come before the
//! tenant is known (a site by its public key, an agent by email at login) say so in their names.
//!
//! - [`types`] — the records and what creating or changing one takes.
//! - [`rows`] — reading records out of rows, once for every backend.
//! - [`statements`] — the statements every backend runs alike.
//! - [`sql`] — SQLite (the default: one file, nothing to install) and MySQL/MariaDB, on sqlx.
//! - `mssql` — SQL Server, on tiberius (the `mssql` cargo feature).

mod batch;
#[cfg(feature = "mssql")]
pub mod mssql;
pub mod report;
pub mod rows;
pub mod sql;
pub mod statements;
pub mod types;

use std::sync::Arc;

use async_trait::async_trait;
use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, ConversationId, Millis, Seq, SiteId, TenantId, VisitorId};
use chat_core::protocol::MessageView;
use chat_core::records::{StoredConversation, WriteOp};

pub use report::{Report, ReportQuery, ReportRow};
pub use types::*;

/// What can go wrong in a store. Backends sort their errors into these, so callers never see
/// which database is behind.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A unique value is taken (an email, a site key); the text names it.
    #[error("{0}")]
    Conflict(String),
    /// A value refers to something that does not exist (a site of another tenant); the text says what.
    #[error("{0}")]
    Invalid(String),
    /// A stored value could not be read back (a bug or a hand-edited row).
    #[error("corrupt record: {0}")]
    Corrupt(String),
    /// The database cannot be reached, is busy, or timed out: the same request can work later.
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// The database refused the request for another reason.
    #[error("database error: {0}")]
    Database(String),
    /// The schema cannot be brought up to date (including a database newer than this binary).
    #[error("{0}")]
    Schema(String),
    /// A room's writes were refused: another node holds its site's lease now (cluster).
    #[error("the site {0} is hosted by another node now")]
    Fenced(SiteId),
}

impl StoreError {
    /// Whether trying the same request later can work.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Results of store methods.
pub type StoreResult<T> = Result<T, StoreError>;

/// Tenants: the organisations using Kefu.
#[async_trait]
pub trait TenantStore {
    /// Creates a tenant.
    async fn create_tenant(&self, name: &str, now: Millis) -> StoreResult<Tenant>;
    /// One tenant.
    async fn tenant(&self, tenant: &TenantId) -> StoreResult<Option<Tenant>>;
    /// Every tenant, oldest first (for the admin CLI).
    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>>;
}

/// Sites: the websites of a tenant.
#[async_trait]
pub trait SiteStore {
    /// Creates a site with a new public key.
    async fn create_site(&self, tenant: &TenantId, site: NewSite, now: Millis) -> StoreResult<Site>;
    /// One site of the tenant.
    async fn site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<Option<Site>>;
    /// The site with this public key, whatever its tenant (a visitor's hello names only the key).
    async fn site_by_key_any_tenant(&self, key: &str) -> StoreResult<Option<Site>>;
    /// A site by its id, whoever's it is: for the edge, whose room objects know only the site.
    async fn site_any_tenant(&self, site: &SiteId) -> StoreResult<Option<Site>>;
    /// The tenant's sites, oldest first.
    async fn list_sites(&self, tenant: &TenantId) -> StoreResult<Vec<Site>>;
    /// Changes a site; `None` if the tenant has no such site.
    async fn update_site(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        patch: SitePatch,
    ) -> StoreResult<Option<Site>>;
    /// Sets (or with `None` clears) the key the site's identities are verified with; false if the
    /// tenant has no such site.
    async fn set_identity_secret(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        secret: Option<&IdentitySecret>,
    ) -> StoreResult<bool>;
    /// Deletes a site (its conversations stay as history); false if there was none.
    async fn delete_site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<bool>;
}

/// Agents and their credentials.
#[async_trait]
pub trait AgentStore {
    /// Creates an agent; `Conflict` if the email is taken in the tenant (another tenant's agents
    /// may have it: nothing tells one tenant of another's staff).
    async fn create_agent(&self, tenant: &TenantId, agent: NewAgent, now: Millis) -> StoreResult<Agent>;
    /// One agent of the tenant.
    async fn agent(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<Option<Agent>>;
    /// The agents with this email in any tenant, with their password hashes, oldest first and
    /// at most [`MAX_ACCOUNTS_PER_EMAIL`] (a login finds the one its password opens).
    async fn agents_by_email(&self, email: &str) -> StoreResult<Vec<(Agent, String)>>;
    /// One agent of the tenant with their password hash (a password change checks the old one).
    async fn agent_with_hash(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> StoreResult<Option<(Agent, String)>>;
    /// The tenant's agents, oldest first.
    async fn list_agents(&self, tenant: &TenantId) -> StoreResult<Vec<Agent>>;
    /// Changes an agent; `None` if the tenant has no such agent.
    async fn update_agent(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        patch: AgentPatch,
    ) -> StoreResult<Option<Agent>>;
    /// Sets a new password hash and ends every session of the agent: refresh tokens go, and a new
    /// token generation refuses every access token issued before.
    async fn set_password(&self, tenant: &TenantId, agent: &AgentId, hash: &str) -> StoreResult<bool>;
    /// Ends every session of the agent (a new role, disabling, "log out everywhere"): refresh
    /// tokens go and a new token generation begins; false if there is no such agent.
    async fn end_sessions(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool>;
    /// The token generation and disabled flag of these agents, whatever their tenant: what the
    /// live sockets compare with the tokens they were opened with. Agents that no longer exist
    /// are missing.
    async fn session_states_any_tenant(&self, agents: &[AgentId]) -> StoreResult<Vec<(AgentId, u64, bool)>>;
    /// Deletes an agent; false if there was none.
    async fn delete_agent(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool>;
    /// Stores a refresh token (by its hash), dropping the agent's expired ones.
    async fn save_refresh_token(&self, token: RefreshToken, now: Millis) -> StoreResult<()>;
    /// Removes and returns a refresh token, so each is used once.
    async fn take_refresh_token(&self, hash: &str) -> StoreResult<Option<RefreshToken>>;
}

/// Conversations and their messages.
#[async_trait]
pub trait ConversationStore {
    /// A page of the tenant's conversations, newest first.
    async fn list_conversations(
        &self,
        tenant: &TenantId,
        query: &ConversationQuery,
    ) -> StoreResult<Vec<ConversationSummary>>;
    /// One conversation of the tenant.
    async fn conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> StoreResult<Option<ConversationSummary>>;
    /// What a site's room loads when it starts: conversations not closed, or closed since `closed_since`.
    async fn room_conversations(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        closed_since: Millis,
    ) -> StoreResult<Vec<StoredConversation>>;
    /// Gives a conversation of the tenant these tags (replacing its earlier ones); false if the
    /// tenant has no such conversation.
    async fn set_tags(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        tags: &[String],
    ) -> StoreResult<bool>;
    /// The figures of the tenant's conversations started within a span (see [`report`]).
    async fn report(&self, tenant: &TenantId, query: &ReportQuery) -> StoreResult<Report>;
    /// Messages with `after_seq < seq <= through_seq`, in order, at most `limit`.
    async fn messages(&self, tenant: &TenantId, range: &MessageRange) -> StoreResult<Vec<MessageView>>;
    /// Stores the rooms' writes, in order, in one transaction: all or none.
    async fn apply_writes(&self, writes: &[WriteOp]) -> StoreResult<()>;
    /// A page of the tenant's visitors with recorded visits, by id.
    async fn visitors(
        &self,
        tenant: &TenantId,
        after: Option<&VisitorId>,
        limit: u32,
    ) -> StoreResult<Vec<VisitorId>>;
    /// A visitor's recorded visits, newest first.
    async fn page_views(
        &self,
        tenant: &TenantId,
        visitor: &VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<PageView>>;
}

/// What visitors leave when nobody is online.
#[async_trait]
pub trait LeaveMessageStore {
    /// Stores a leave-a-message.
    async fn create_leave_message(
        &self,
        tenant: &TenantId,
        message: NewLeaveMessage,
        now: Millis,
    ) -> StoreResult<LeaveMessage>;
    /// A page of the tenant's leave-a-messages, newest first.
    async fn list_leave_messages(
        &self,
        tenant: &TenantId,
        query: &LeaveMessageQuery,
    ) -> StoreResult<Vec<LeaveMessage>>;
    /// One leave-a-message of the tenant.
    async fn leave_message(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<LeaveMessage>>;
    /// Marks one handled by `agent`; `None` if the tenant has no such message.
    async fn mark_leave_message_handled(
        &self,
        tenant: &TenantId,
        id: &str,
        agent: &AgentId,
        now: Millis,
    ) -> StoreResult<Option<LeaveMessage>>;
}

/// Canned answers, shared by a tenant or an agent's own.
#[async_trait]
pub trait QuickReplyStore {
    /// Creates a quick reply.
    async fn create_quick_reply(
        &self,
        tenant: &TenantId,
        reply: NewQuickReply,
        now: Millis,
    ) -> StoreResult<QuickReply>;
    /// The tenant's shared replies and `agent`'s own.
    async fn list_quick_replies(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<Vec<QuickReply>>;
    /// One quick reply of the tenant.
    async fn quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<QuickReply>>;
    /// Changes title and body.
    async fn update_quick_reply(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: QuickReplyPatch,
    ) -> StoreResult<Option<QuickReply>>;
    /// Deletes one; false if there was none.
    async fn delete_quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<bool>;
}

/// The server's own secrets kept with the records (the token signing key).
#[async_trait]
pub trait ServerKeyStore {
    /// A stored key, by name.
    async fn server_key(&self, name: &str) -> StoreResult<Option<Vec<u8>>>;
    /// Stores `value` under `name` unless a key of that name exists; returns the one stored.
    async fn init_server_key(&self, name: &str, value: &[u8], now: Millis) -> StoreResult<Vec<u8>>;
}

/// Moving a tenant between databases (`kefu export` / `kefu import`).
#[async_trait]
pub trait ImportStore {
    /// Stores a tenant exported elsewhere, its ids and times kept, in one transaction: all of it
    /// or, on the first error (a malformed record, an id or email already here), nothing.
    /// `Conflict` if the tenant exists. Records are read one at a time, so a tenant of any size
    /// fits in memory.
    async fn import_tenant(
        &self,
        tenant: &Tenant,
        records: &mut (dyn Iterator<Item = Result<TenantRecord, String>> + Send),
    ) -> StoreResult<ImportCounts>;
}

/// Most accounts one email is looked up in at a login (each costs a password check).
pub const MAX_ACCOUNTS_PER_EMAIL: usize = 10;

/// A cluster of `kefu serve` nodes on one database (MySQL or MariaDB): the nodes alive, and which
/// node hosts each site's room — a lease with a fencing number. Writes made under a lease carry
/// its fence, and the store refuses them once the lease has changed hands, so a node that lost a
/// site (stalled, cut off) can never write over the node that took it. The sqlx backends keep
/// them; the others answer that a cluster needs MySQL or MariaDB.
#[async_trait]
pub trait ClusterStore {
    /// Registers the node, or records that it is alive: its URL and the time.
    async fn node_alive(&self, _node: &str, _url: &str, _now: Millis) -> StoreResult<()> {
        Err(no_cluster())
    }
    /// Every registered node, by name.
    async fn nodes(&self) -> StoreResult<Vec<Node>> {
        Err(no_cluster())
    }
    /// Marks a node draining (it gives its sites away and takes no new ones) or not; false if
    /// there is no such node.
    async fn set_draining(&self, _node: &str, _draining: bool) -> StoreResult<bool> {
        Err(no_cluster())
    }
    /// Takes the site's lease for `node` until `now + ttl_ms` if nobody holds it, it lapsed, or
    /// `node` holds it already; each taking has the next fence (a room started anew on the same
    /// node, too). Answers the lease as it is now, whoever holds it.
    async fn acquire_lease(
        &self,
        _site: &SiteId,
        _node: &str,
        _now: Millis,
        _ttl_ms: u64,
    ) -> StoreResult<Lease> {
        Err(no_cluster())
    }
    /// Extends the leases `node` holds and that have not lapsed to `now + ttl_ms`; answers the
    /// leases it holds after.
    async fn renew_leases(&self, _node: &str, _now: Millis, _ttl_ms: u64) -> StoreResult<Vec<Lease>> {
        Err(no_cluster())
    }
    /// Gives the lease to `to` if `from` still holds it with `fence` (a move): the next fence,
    /// until `now + ttl_ms`. `None` if `from` no longer held it.
    async fn hand_over_lease(
        &self,
        _site: &SiteId,
        _from: &str,
        _fence: u64,
        _to: &str,
        _now: Millis,
        _ttl_ms: u64,
    ) -> StoreResult<Option<Lease>> {
        Err(no_cluster())
    }
    /// Lets a lease held by `node` with `fence` lapse at once (its room stopped); the fence stays,
    /// so the next holder's is higher. False if `node` no longer held it.
    async fn release_lease(&self, _site: &SiteId, _node: &str, _fence: u64) -> StoreResult<bool> {
        Err(no_cluster())
    }
    /// Asks the holder of the site's lease to move its room to the node `to`; false if nobody
    /// holds it at `now`.
    async fn request_move(&self, _site: &SiteId, _to: &str, _now: Millis) -> StoreResult<bool> {
        Err(no_cluster())
    }
    /// The site's lease, if it ever had one.
    async fn lease(&self, _site: &SiteId) -> StoreResult<Option<Lease>> {
        Err(no_cluster())
    }
    /// Every lease.
    async fn leases(&self) -> StoreResult<Vec<Lease>> {
        Err(no_cluster())
    }
    /// The sites whose lease has not lapsed at `now`, by key, with the node holding each.
    async fn hosted_sites(&self, _now: Millis) -> StoreResult<Vec<(String, String)>> {
        Err(no_cluster())
    }
    /// Stores writes as [`ConversationStore::apply_writes`] does, if each site's lease still has
    /// the fence given for it; otherwise stores nothing and answers [`StoreError::Fenced`].
    async fn apply_fenced_writes(&self, _writes: &[WriteOp], _fences: &[(SiteId, u64)]) -> StoreResult<()> {
        Err(no_cluster())
    }
}

fn no_cluster() -> StoreError {
    StoreError::Invalid("a cluster keeps its records in MySQL or MariaDB".to_owned())
}

/// Every store, in one backend.
#[async_trait]
pub trait Store:
    TenantStore
    + SiteStore
    + AgentStore
    + ConversationStore
    + LeaveMessageStore
    + QuickReplyStore
    + ServerKeyStore
    + ImportStore
    + ClusterStore
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// Whether the database answers.
    async fn ping(&self) -> StoreResult<()>;
    /// Closes the connections, waiting for the ones in use.
    async fn close(&self);
}

/// Opens the database a URL names, creating it (SQLite) and bringing its schema up to date.
/// Errors are one sentence naming the database by [`describe_url`] (never its password).
pub async fn open(url: &str) -> anyhow::Result<Arc<dyn Store>> {
    // TLS to MySQL (`ssl-mode` in the URL) goes through rustls with ring; SQL Server's driver
    // brings in another provider, and rustls does not choose between them by itself.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let scheme = url.split_once(':').map_or(url, |(scheme, _)| scheme);
    let store: Arc<dyn Store> = match scheme {
        "sqlite" => Arc::new(sql::SqlStore::open_sqlite(url).await?),
        "mysql" | "mariadb" => Arc::new(sql::SqlStore::open_mysql(url).await?),
        #[cfg(feature = "mssql")]
        "mssql" | "sqlserver" => Arc::new(mssql::MssqlStore::open(url).await?),
        #[cfg(not(feature = "mssql"))]
        "mssql" | "sqlserver" => anyhow::bail!(
            "this kefu was built without SQL Server support; build it with `cargo build --release --features mssql`"
        ),
        _ => anyhow::bail!(
            "database URLs starting with {scheme:?} are not supported; use sqlite:PATH, mysql://USER:PASSWORD@HOST/DATABASE or mssql://USER:PASSWORD@HOST/DATABASE"
        ),
    };
    Ok(store)
}

/// The database a URL names, for printing: SQLite paths in full, other URLs by scheme, host and
/// database only (their user, password and settings are left out).
pub fn describe_url(url: &str) -> String {
    match url.split_once("://") {
        _ if url.starts_with("sqlite:") => url.to_owned(),
        Some((scheme, rest)) => {
            let rest = rest.split('?').next().unwrap_or_default();
            let place = rest.rsplit_once('@').map_or(rest, |(_, place)| place);
            format!("{scheme}://{place}")
        }
        None => "(unrecognised URL)".to_owned(),
    }
}

/// Which messages to read.
#[derive(Clone, Debug)]
pub struct MessageRange {
    /// The conversation.
    pub conversation: ConversationId,
    /// Exclusive lower bound.
    pub after_seq: Seq,
    /// Inclusive upper bound.
    pub through_seq: Seq,
    /// At most this many.
    pub limit: u32,
    /// Include agents-only notes.
    pub include_notes: bool,
}
