//! The SQL Server backend, on tiberius (the `mssql` cargo feature). The same records and rules as
//! the sqlx backends, in T-SQL: queries are written with `?` and numbered (`@P1`…) before they
//! are sent; upserts are `MERGE`; pages are `OFFSET … FETCH`. Connections come from a small pool
//! of its own; a connection that failed, or was dropped inside a transaction, is closed rather
//! than reused, so the server rolls the transaction back.
//!
//! `mssql://USER:PASSWORD@HOST:PORT/DATABASE`, with `?encrypt=false` for a server without TLS and
//! `?trust_server_certificate=true` for a self-signed certificate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{anyhow, bail};
use async_trait::async_trait;
use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::limits::CID_WINDOW;
use chat_core::protocol::MessageView;
use chat_core::records::{ConversationRecord, PageViewRecord, StoredConversation, WriteOp};
use tiberius::{AuthMethod, Client, ColumnData, Config, EncryptionLevel, Row, ToSql};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

use super::batch::{self, Batch, visits};
use super::rows::{
    self, AGENT_COLUMNS, Columns, LEAVE_COLUMNS, MESSAGE_COLUMNS, PAGE_VIEW_COLUMNS, REPLY_COLUMNS,
    SITE_COLUMNS, SUMMARY_COLUMNS, TENANT_COLUMNS, sql_int, sql_time,
};
use super::statements::{self, Param, Statement, TextSearch, value_rows};
use super::{
    Agent, AgentPatch, AgentStore, ConversationQuery, ConversationStore, ConversationSummary, ImportCounts,
    ImportStore, LeaveMessage, LeaveMessageQuery, LeaveMessageStore, MAX_ACCOUNTS_PER_EMAIL, MessageRange,
    NewAgent, NewLeaveMessage, NewQuickReply, NewSite, PageView, QuickReply, QuickReplyPatch,
    QuickReplyStore, RefreshToken, Report, ReportQuery, ServerKeyStore, Site, SitePatch, SiteStore, Store,
    StoreError, StoreResult, Tenant, TenantRecord, TenantStore, describe_url, new_id, page_size, report,
    sorted_sites,
};

/// The schema, in order; each runs once, in a transaction, recorded in `kefu_schema`.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "records", include_str!("../../migrations/mssql/0001_records.sql")),
    (2, "widget and files", include_str!("../../migrations/mssql/0002_widget_and_files.sql")),
    (3, "token generations", include_str!("../../migrations/mssql/0003_token_generations.sql")),
    (4, "page views once", include_str!("../../migrations/mssql/0004_page_views_once.sql")),
    (5, "tags", include_str!("../../migrations/mssql/0005_tags.sql")),
    (6, "reports", include_str!("../../migrations/mssql/0006_reports.sql")),
    (7, "agents per tenant", include_str!("../../migrations/mssql/0007_agents_per_tenant.sql")),
    (
        8,
        "messages without cid index",
        include_str!("../../migrations/mssql/0008_messages_without_cid_index.sql"),
    ),
];

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 16;
/// SQL Server takes at most 2,100 parameters per request.
const MAX_PARAMS: usize = 2_000;

type Connection = Client<Compat<TcpStream>>;

/// Records in a SQL Server database.
#[derive(Clone)]
pub struct MssqlStore {
    pool: Arc<Pool>,
}

impl std::fmt::Debug for MssqlStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MssqlStore").field("database", &self.pool.shown).finish()
    }
}

impl MssqlStore {
    /// Connects to the database at `url` and brings its schema up to date. The database must
    /// exist; its tables are created here.
    pub async fn open(url: &str) -> anyhow::Result<Self> {
        let shown = describe_url(url);
        let config = parse_url(url).map_err(|e| anyhow!("{shown} is not a valid SQL Server URL: {e}"))?;
        let first = match tokio::time::timeout(CONNECT_TIMEOUT, connect(&config)).await {
            Err(_) => bail!(
                "cannot reach the database at {shown}: no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ),
            Ok(Err(error)) => bail!("{}", connect_error(&shown, &error)),
            Ok(Ok(conn)) => conn,
        };
        let pool = Arc::new(Pool {
            config,
            shown: shown.clone(),
            idle: Arc::new(Mutex::new(vec![first])),
            permits: Arc::new(Semaphore::new(MAX_CONNECTIONS)),
        });
        let store = MssqlStore { pool };
        store.migrate(&shown).await?;
        Ok(store)
    }

    async fn migrate(&self, shown: &str) -> anyhow::Result<()> {
        let latest = MIGRATIONS.iter().map(|(version, ..)| *version).max().unwrap_or_default();
        let mut conn = self.pool.get().await?;
        let exists = conn.query("SELECT OBJECT_ID('kefu_schema') AS id", Vec::new()).await?;
        let applied: Vec<i64> = if exists.first().and_then(|row| row.opt_int("id").ok().flatten()).is_some() {
            let rows = conn.query("SELECT version FROM kefu_schema", Vec::new()).await?;
            rows.iter().map(|row| row.int("version")).collect::<StoreResult<_>>()?
        } else {
            Vec::new()
        };
        if let Some(newest) = applied.iter().copied().filter(|v| *v > latest).max() {
            bail!(
                "the database at {shown} has schema version {newest}, newer than this kefu knows (up to {latest}); \
                 run the kefu version that last used it, or a newer one"
            );
        }
        for (version, description, script) in MIGRATIONS.iter().filter(|(v, ..)| !applied.contains(v)) {
            conn.begin().await?;
            if applied.is_empty() && *version == 1 {
                conn.batch(
                    "CREATE TABLE kefu_schema (version BIGINT NOT NULL PRIMARY KEY,
                         description NVARCHAR(200) NOT NULL, applied_at BIGINT NOT NULL)",
                )
                .await?;
            }
            conn.batch(script).await.map_err(|e| {
                anyhow!("cannot bring the schema of {shown} up to date (step {version}): {e}")
            })?;
            conn.execute(
                "INSERT INTO kefu_schema (version, description, applied_at) VALUES (?, ?, ?)",
                vec![int(*version), text(*description), int(sql_time(crate::clock::now()))],
            )
            .await?;
            conn.commit().await?;
        }
        Ok(())
    }
}

impl MssqlStore {
    /// Runs a query on a connection of the pool.
    async fn rows(&self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        self.pool.get().await?.query(sql, params).await
    }

    /// Runs a shared statement's query on a connection of the pool.
    async fn fetch(&self, statement: Statement) -> StoreResult<Vec<Row>> {
        self.rows(&statement.sql, statement.params).await
    }

    /// Runs a statement on a connection of the pool; returns the rows it changed.
    async fn run(&self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        self.pool.get().await?.execute(sql, params).await
    }
}

impl MssqlStore {
    /// Puts each conversation's tags in its summary.
    async fn fill_tags(&self, tenant: &TenantId, summaries: &mut [ConversationSummary]) -> StoreResult<()> {
        if summaries.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = summaries.iter().map(|c| c.conversation.id.as_str()).collect();
        let rows = self.fetch(statements::tags_of(tenant, &ids)).await?;
        rows::put_tags(&rows, summaries)
    }

    /// Runs `change` (which starts a new token generation) and drops the agent's refresh tokens,
    /// together.
    async fn new_generation(
        &self,
        change: Statement,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> StoreResult<bool> {
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        let done = conn.run(change).await?;
        conn.run(statements::delete_refresh_tokens(tenant, agent)).await?;
        conn.commit().await?;
        Ok(done > 0)
    }
}

/// Makes a database on the server `url` names (tests make one each).
pub async fn create_database(url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = Conn::detached(connect(&parse_url(url).map_err(|e| anyhow!(e))?).await?);
    conn.batch(&format!("CREATE DATABASE [{}]", name.replace(']', "]]"))).await?;
    Ok(())
}

/// Drops a database made by [`create_database`].
pub async fn drop_database(url: &str, name: &str) -> anyhow::Result<()> {
    let mut conn = Conn::detached(connect(&parse_url(url).map_err(|e| anyhow!(e))?).await?);
    let name = name.replace(']', "]]");
    conn.batch(&format!(
        "IF DB_ID(N'{name}') IS NOT NULL BEGIN ALTER DATABASE [{name}] SET SINGLE_USER WITH ROLLBACK IMMEDIATE; DROP DATABASE [{name}] END"
    ))
    .await?;
    Ok(())
}

/// `mssql://USER:PASSWORD@HOST[:PORT][/DATABASE][?encrypt=false&trust_server_certificate=true]`.
fn parse_url(url: &str) -> Result<Config, String> {
    let rest = url.split_once("://").map(|(_, rest)| rest).ok_or("it has no scheme")?;
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (credentials, address) = rest.rsplit_once('@').ok_or("it names no user (USER:PASSWORD@HOST)")?;
    let (user, password) = credentials.split_once(':').unwrap_or((credentials, ""));
    let (host_port, database) = address.split_once('/').unwrap_or((address, ""));
    let (host, port) = match host_port.rsplit_once(':') {
        Some((host, port)) => {
            (host, port.parse::<u16>().map_err(|_| format!("the port {port:?} is not a number"))?)
        }
        None => (host_port, 1433),
    };
    if host.is_empty() {
        return Err("it names no host".to_owned());
    }
    let mut config = Config::new();
    config.host(host);
    config.port(port);
    config.application_name("kefu");
    config.authentication(AuthMethod::sql_server(percent_decode(user)?, percent_decode(password)?));
    if !database.is_empty() {
        config.database(percent_decode(database)?);
    }
    config.encryption(EncryptionLevel::Required);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=').unwrap_or((pair, "true")) {
            ("encrypt", "false") => config.encryption(EncryptionLevel::NotSupported),
            ("encrypt", _) => {}
            ("trust_server_certificate", "true") => config.trust_cert(),
            ("trust_server_certificate", _) => {}
            (other, _) => return Err(format!("unknown setting {other:?}")),
        }
    }
    Ok(config)
}

fn percent_decode(text: &str) -> Result<String, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or("a % is not followed by two hex digits")?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| "a % is not followed by two hex digits")?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "it is not UTF-8 once decoded".to_owned())
}

async fn connect(config: &Config) -> tiberius::Result<Connection> {
    let tcp = TcpStream::connect(config.get_addr()).await?;
    tcp.set_nodelay(true)?;
    let mut client = Client::connect(config.clone(), tcp.compat_write()).await?;
    // Row counts decide "not found" and "not attached": a server whose default is NOCOUNT ON
    // would hide them.
    client.simple_query("SET NOCOUNT OFF").await?.into_results().await?;
    Ok(client)
}

fn connect_error(shown: &str, error: &tiberius::error::Error) -> String {
    match error {
        tiberius::error::Error::Server(token) if token.code() == 18456 => {
            format!("cannot log in to the database at {shown}: the user name or password is wrong")
        }
        tiberius::error::Error::Server(token) if token.code() == 4060 => {
            format!(
                "the database at {shown} does not exist or the user may not open it; create it first (CREATE DATABASE name)"
            )
        }
        tiberius::error::Error::Io { message, .. } => {
            format!("cannot reach the database at {shown}: {message}")
        }
        other => format!("cannot connect to the database at {shown}: {other}"),
    }
}

impl From<tiberius::error::Error> for StoreError {
    fn from(error: tiberius::error::Error) -> Self {
        use tiberius::error::Error;
        match &error {
            Error::Io { .. } | Error::Tls(_) | Error::Routing { .. } => {
                StoreError::Unavailable(error.to_string())
            }
            // Deadlock victim, lock timeout, a full data file or log (the operator frees space,
            // then everything waiting is stored), and Azure SQL's "try again" codes.
            Error::Server(token)
                if matches!(
                    token.code(),
                    1105 | 1205 | 1222 | 9002 | 40197 | 40501 | 40613 | 49918 | 49919
                ) =>
            {
                StoreError::Unavailable(token.message().to_owned())
            }
            Error::Server(token) if matches!(token.code(), 2601 | 2627) => {
                StoreError::Conflict(token.message().to_owned())
            }
            Error::Server(token) => StoreError::Database(token.message().to_owned()),
            Error::Conversion(_) | Error::Utf8 | Error::Utf16 => StoreError::Corrupt(error.to_string()),
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// Names what a unique-key violation (read from its error number, which does not depend on the
/// server's language) was about.
fn conflict(error: StoreError, what: &str) -> StoreError {
    match error {
        StoreError::Conflict(_) => StoreError::Conflict(what.to_owned()),
        other => other,
    }
}

struct Pool {
    config: Config,
    shown: String,
    idle: Arc<Mutex<Vec<Connection>>>,
    permits: Arc<Semaphore>,
}

impl Pool {
    async fn get(&self) -> StoreResult<Conn> {
        let permit = tokio::time::timeout(ACQUIRE_TIMEOUT, Arc::clone(&self.permits).acquire_owned())
            .await
            .map_err(|_| StoreError::Unavailable("no database connection became free".to_owned()))?
            .map_err(|_| StoreError::Unavailable("the store is closed".to_owned()))?;
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let client = match idle {
            Some(client) => client,
            None => tokio::time::timeout(CONNECT_TIMEOUT, connect(&self.config))
                .await
                .map_err(|_| StoreError::Unavailable(format!("{} did not answer", self.shown)))??,
        };
        Ok(Conn {
            client: Some(client),
            home: Some((Arc::clone(&self.idle), permit)),
            healthy: true,
            in_tx: false,
        })
    }
}

/// A connection taken from the pool; it goes back when dropped, unless it failed or a
/// transaction was left open (then it is closed and the server rolls back).
struct Conn {
    client: Option<Connection>,
    home: Option<(Arc<Mutex<Vec<Connection>>>, OwnedSemaphorePermit)>,
    healthy: bool,
    in_tx: bool,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let (Some(client), Some((idle, _permit))) = (self.client.take(), self.home.take())
            && self.healthy
            && !self.in_tx
        {
            idle.lock().unwrap_or_else(PoisonError::into_inner).push(client);
        }
    }
}

impl ToSql for Param {
    fn to_sql(&self) -> ColumnData<'_> {
        match self {
            Param::Text(text) => ColumnData::String(text.as_deref().map(Into::into)),
            Param::Int(int) => ColumnData::I64(*int),
            Param::Bytes(bytes) => ColumnData::Binary(Some(bytes.as_slice().into())),
        }
    }
}

fn text(value: impl Into<String>) -> Param {
    Param::Text(Some(value.into()))
}

fn int(value: i64) -> Param {
    Param::Int(Some(value))
}

/// Numbers the `?` of a query: `@P1`, `@P2`… (no query here has a `?` in a string literal).
fn numbered(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len() + 16);
    let mut n = 0;
    for c in sql.chars() {
        if c == '?' {
            n += 1;
            out.push_str(&format!("@P{n}"));
        } else {
            out.push(c);
        }
    }
    out
}

impl Conn {
    fn detached(client: Connection) -> Conn {
        Conn { client: Some(client), home: None, healthy: true, in_tx: false }
    }

    fn client(&mut self) -> StoreResult<&mut Connection> {
        self.client.as_mut().ok_or_else(|| StoreError::Unavailable("the connection is closed".to_owned()))
    }

    /// Marks the connection unusable while a request is in flight: if the caller is cancelled
    /// before the answer is read, the connection is closed rather than handed to the next one.
    fn start(&mut self) -> StoreResult<&mut Connection> {
        self.healthy = false;
        self.client()
    }

    /// Ends a request: the connection is usable again unless the failure was its own (a server's
    /// refusal of one statement leaves it usable).
    fn check<T>(&mut self, result: tiberius::Result<T>) -> StoreResult<T> {
        self.healthy = match &result {
            Ok(_) => true,
            Err(error) => matches!(error, tiberius::error::Error::Server(_)),
        };
        result.map_err(StoreError::from)
    }

    async fn query(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<Vec<Row>> {
        let sql = numbered(sql);
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let client = self.start()?;
        let result = match client.query(sql, &refs).await {
            Ok(stream) => stream.into_first_result().await,
            Err(error) => Err(error),
        };
        self.check(result)
    }

    async fn execute(&mut self, sql: &str, params: Vec<Param>) -> StoreResult<u64> {
        let sql = numbered(sql);
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let client = self.start()?;
        let result = client.execute(sql, &refs).await.map(|done| done.rows_affected().iter().sum());
        self.check(result)
    }

    async fn run(&mut self, statement: Statement) -> StoreResult<u64> {
        self.execute(&statement.sql, statement.params).await
    }

    async fn batch(&mut self, sql: &str) -> StoreResult<()> {
        let client = self.start()?;
        let result = match client.simple_query(sql).await {
            Ok(stream) => stream.into_results().await.map(|_| ()),
            Err(error) => Err(error),
        };
        self.check(result)
    }

    async fn begin(&mut self) -> StoreResult<()> {
        // Set first: a transaction may be open on the server even if this call never returns.
        self.in_tx = true;
        self.batch("SET XACT_ABORT ON; BEGIN TRANSACTION").await
    }

    async fn commit(&mut self) -> StoreResult<()> {
        self.batch("COMMIT TRANSACTION").await?;
        self.in_tx = false;
        Ok(())
    }
}

impl Columns for Row {
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        Ok(self.try_get::<&str, _>(column)?.map(str::to_owned))
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        if let Ok(value) = self.try_get::<i64, _>(column) {
            return Ok(value);
        }
        if let Ok(value) = self.try_get::<i32, _>(column) {
            return Ok(value.map(i64::from));
        }
        if let Ok(value) = self.try_get::<i16, _>(column) {
            return Ok(value.map(i64::from));
        }
        if let Ok(value) = self.try_get::<u8, _>(column) {
            return Ok(value.map(i64::from));
        }
        Ok(self.try_get::<bool, _>(column)?.map(i64::from))
    }

    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get::<&[u8], _>(column)?.map(<[u8]>::to_vec).unwrap_or_default())
    }
}

/// A list statement with its page size.
fn paged(mut statement: Statement, limit: u32) -> Statement {
    statement.sql.push_str(" OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY");
    statement.int(i64::from(limit))
}

#[async_trait]
impl TenantStore for MssqlStore {
    async fn create_tenant(&self, name: &str, now: Millis) -> StoreResult<Tenant> {
        let tenant = Tenant { id: TenantId(new_id("t")), name: name.to_owned(), created_at: now };
        insert_tenant(&mut self.pool.get().await?, &tenant).await?;
        Ok(tenant)
    }

    async fn tenant(&self, tenant: &TenantId) -> StoreResult<Option<Tenant>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?"), vec![text(tenant.as_str())])
            .await?;
        rows.first().map(rows::tenant).transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, id"), Vec::new())
            .await?;
        rows.iter().map(rows::tenant).collect()
    }
}

async fn insert_tenant(conn: &mut Conn, tenant: &Tenant) -> StoreResult<()> {
    conn.run(statements::insert_tenant(tenant))
        .await
        .map_err(|e| conflict(e, &format!("the tenant {} exists", tenant.id)))?;
    Ok(())
}

#[async_trait]
impl SiteStore for MssqlStore {
    async fn create_site(&self, tenant: &TenantId, site: NewSite, now: Millis) -> StoreResult<Site> {
        let site = site.into_site(tenant, now);
        insert_site(&mut self.pool.get().await?, &site).await?;
        Ok(site)
    }

    async fn site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<Option<Site>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!("SELECT {SITE_COLUMNS} FROM sites WHERE tenant_id = ? AND id = ?"),
                vec![text(tenant.as_str()), text(site.as_str())],
            )
            .await?;
        rows.first().map(rows::site).transpose()
    }

    async fn site_by_key_any_tenant(&self, key: &str) -> StoreResult<Option<Site>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE site_key = ?"), vec![text(key)])
            .await?;
        rows.first().map(rows::site).transpose()
    }

    async fn site_any_tenant(&self, site: &SiteId) -> StoreResult<Option<Site>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = ?"), vec![text(site.as_str())])
            .await?;
        rows.first().map(rows::site).transpose()
    }

    async fn list_sites(&self, tenant: &TenantId) -> StoreResult<Vec<Site>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!("SELECT {SITE_COLUMNS} FROM sites WHERE tenant_id = ? ORDER BY created_at, id"),
                vec![text(tenant.as_str())],
            )
            .await?;
        rows.iter().map(rows::site).collect()
    }

    async fn update_site(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        patch: SitePatch,
    ) -> StoreResult<Option<Site>> {
        self.pool.get().await?.run(statements::update_site(tenant, site, patch)).await?;
        self.site(tenant, site).await
    }

    async fn set_identity_secret(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        secret: Option<&IdentitySecret>,
    ) -> StoreResult<bool> {
        let done = self.pool.get().await?.run(statements::set_identity_secret(tenant, site, secret)).await?;
        Ok(done > 0)
    }

    async fn delete_site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<bool> {
        let mut conn = self.pool.get().await?;
        let done = conn
            .execute(
                "DELETE FROM sites WHERE tenant_id = ? AND id = ?",
                vec![text(tenant.as_str()), text(site.as_str())],
            )
            .await?;
        Ok(done > 0)
    }
}

async fn insert_site(conn: &mut Conn, site: &Site) -> StoreResult<()> {
    conn.run(statements::insert_site(site)).await.map_err(|e| {
        conflict(e, &format!("a site with the id {} or the key {} exists", site.id, site.key))
    })?;
    Ok(())
}

const EMAIL_TAKEN: &str = "an agent of this organisation has this email";

#[async_trait]
impl AgentStore for MssqlStore {
    async fn create_agent(&self, tenant: &TenantId, agent: NewAgent, now: Millis) -> StoreResult<Agent> {
        let (created, password_hash) = agent.into_agent(tenant, now);
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        insert_agent(&mut conn, &created, &password_hash).await?;
        replace_sites(&mut conn, tenant, &created.id, &created.sites).await?;
        conn.commit().await?;
        Ok(created)
    }

    async fn agent(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<Option<Agent>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = ? AND id = ?"),
                vec![text(tenant.as_str()), text(agent.as_str())],
            )
            .await?;
        match rows.first() {
            Some(row) => Ok(with_sites(&mut conn, vec![rows::agent(row)?]).await?.pop()),
            None => Ok(None),
        }
    }

    async fn agents_by_email(&self, email: &str) -> StoreResult<Vec<(Agent, String)>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT TOP {MAX_ACCOUNTS_PER_EMAIL} {AGENT_COLUMNS}, password_hash FROM agents WHERE email = ? \
                     ORDER BY created_at, id"
                ),
                vec![text(email.to_lowercase())],
            )
            .await?;
        with_hashes(&mut conn, &rows).await
    }

    async fn agent_with_hash(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> StoreResult<Option<(Agent, String)>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!("SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE tenant_id = ? AND id = ?"),
                vec![text(tenant.as_str()), text(agent.as_str())],
            )
            .await?;
        Ok(with_hashes(&mut conn, &rows).await?.pop())
    }

    async fn list_agents(&self, tenant: &TenantId) -> StoreResult<Vec<Agent>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!("SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = ? ORDER BY created_at, id"),
                vec![text(tenant.as_str())],
            )
            .await?;
        let agents = rows.iter().map(rows::agent).collect::<StoreResult<Vec<_>>>()?;
        with_sites(&mut conn, agents).await
    }

    async fn update_agent(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        patch: AgentPatch,
    ) -> StoreResult<Option<Agent>> {
        let all_sites = patch.all_sites.or(patch.sites.as_ref().map(|_| false));
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        let done = conn.run(statements::update_agent(tenant, agent, &patch, all_sites)).await?;
        if done == 0 {
            conn.commit().await?;
            return Ok(None);
        }
        match (all_sites, patch.sites) {
            (Some(true), _) => replace_sites(&mut conn, tenant, agent, &[]).await?,
            (_, Some(sites)) => replace_sites(&mut conn, tenant, agent, &sorted_sites(sites)).await?,
            _ => {}
        }
        // Disabled or given another role: every session ends, the tokens already issued too.
        if patch.disabled == Some(true) || patch.role.is_some() {
            conn.run(statements::new_token_generation(tenant, agent)).await?;
            conn.run(statements::delete_refresh_tokens(tenant, agent)).await?;
        }
        conn.commit().await?;
        drop(conn);
        self.agent(tenant, agent).await
    }

    async fn set_password(&self, tenant: &TenantId, agent: &AgentId, hash: &str) -> StoreResult<bool> {
        self.new_generation(statements::set_password(tenant, agent, hash), tenant, agent).await
    }

    async fn end_sessions(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool> {
        self.new_generation(statements::new_token_generation(tenant, agent), tenant, agent).await
    }

    async fn session_states_any_tenant(&self, agents: &[AgentId]) -> StoreResult<Vec<(AgentId, u64, bool)>> {
        let rows = self.fetch(statements::session_states(agents)).await?;
        rows.iter().map(rows::session_state).collect()
    }

    async fn delete_agent(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool> {
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        let owned = "agent_id IN (SELECT id FROM agents WHERE tenant_id = ? AND id = ?)";
        let params = || vec![text(tenant.as_str()), text(agent.as_str())];
        conn.execute(&format!("DELETE FROM agent_sites WHERE {owned}"), params()).await?;
        conn.execute(&format!("DELETE FROM quick_replies WHERE {owned}"), params()).await?;
        let done = conn.execute("DELETE FROM agents WHERE tenant_id = ? AND id = ?", params()).await?;
        conn.commit().await?;
        Ok(done > 0)
    }

    async fn save_refresh_token(&self, token: RefreshToken, now: Millis) -> StoreResult<()> {
        // Two statements, not one transaction, as on MySQL: concurrent logins of one agent would
        // otherwise wait on each other's range locks.
        let mut conn = self.pool.get().await?;
        conn.execute(
            "DELETE FROM refresh_tokens WHERE agent_id = ? AND expires_at <= ?",
            vec![text(token.agent.as_str()), int(sql_time(now))],
        )
        .await?;
        conn.execute(
            "INSERT INTO refresh_tokens (token_hash, tenant_id, agent_id, expires_at) VALUES (?, ?, ?, ?)",
            vec![
                text(&token.hash),
                text(token.tenant.as_str()),
                text(token.agent.as_str()),
                int(sql_time(token.expires_at)),
            ],
        )
        .await?;
        Ok(())
    }

    async fn take_refresh_token(&self, hash: &str) -> StoreResult<Option<RefreshToken>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                "DELETE FROM refresh_tokens OUTPUT deleted.token_hash, deleted.tenant_id, deleted.agent_id,
                     deleted.expires_at WHERE token_hash = ?",
                vec![text(hash)],
            )
            .await?;
        let Some(row) = rows.first() else { return Ok(None) };
        Ok(Some(RefreshToken {
            hash: row.text("token_hash")?,
            tenant: TenantId(row.text("tenant_id")?),
            agent: AgentId(row.text("agent_id")?),
            expires_at: row.millis("expires_at")?,
        }))
    }
}

async fn insert_agent(conn: &mut Conn, agent: &Agent, password_hash: &str) -> StoreResult<()> {
    conn.run(statements::insert_agent(agent, password_hash)).await.map_err(|e| conflict(e, EMAIL_TAKEN))?;
    Ok(())
}

async fn replace_sites(
    conn: &mut Conn,
    tenant: &TenantId,
    agent: &AgentId,
    sites: &[SiteId],
) -> StoreResult<()> {
    conn.execute("DELETE FROM agent_sites WHERE agent_id = ?", vec![text(agent.as_str())]).await?;
    for site in sites {
        // Only sites of the agent's own tenant can be attached.
        let done = conn.run(statements::attach_site(tenant, agent, site)).await?;
        if done == 0 {
            return Err(StoreError::Invalid(format!("there is no site {site}")));
        }
    }
    Ok(())
}

/// The agents of rows that also hold `password_hash`, each with it.
async fn with_hashes(conn: &mut Conn, rows: &[Row]) -> StoreResult<Vec<(Agent, String)>> {
    let hashes = rows.iter().map(|row| row.text("password_hash")).collect::<StoreResult<Vec<_>>>()?;
    let agents = with_sites(conn, rows.iter().map(rows::agent).collect::<StoreResult<Vec<_>>>()?).await?;
    Ok(agents.into_iter().zip(hashes).collect())
}

/// Fills in the sites each agent serves.
async fn with_sites(conn: &mut Conn, mut agents: Vec<Agent>) -> StoreResult<Vec<Agent>> {
    let Some(first) = agents.first() else { return Ok(agents) };
    let rows = conn
        .query(
            "SELECT s.agent_id, s.site_id FROM agent_sites s JOIN agents a ON a.id = s.agent_id
             WHERE a.tenant_id = ? ORDER BY s.site_id",
            vec![text(first.tenant.as_str())],
        )
        .await?;
    let mut sites: HashMap<String, Vec<SiteId>> = HashMap::new();
    for row in rows {
        sites.entry(row.text("agent_id")?).or_default().push(SiteId(row.text("site_id")?));
    }
    for agent in &mut agents {
        agent.sites = sites.remove(agent.id.as_str()).unwrap_or_default();
    }
    Ok(agents)
}

#[async_trait]
impl ConversationStore for MssqlStore {
    async fn list_conversations(
        &self,
        tenant: &TenantId,
        query: &ConversationQuery,
    ) -> StoreResult<Vec<ConversationSummary>> {
        let list = statements::list_conversations(tenant, query, TextSearch::Like);
        let rows = self.fetch(paged(list, page_size(query.limit))).await?;
        let mut summaries = rows.iter().map(rows::summary).collect::<StoreResult<Vec<_>>>()?;
        self.fill_tags(tenant, &mut summaries).await?;
        Ok(summaries)
    }

    async fn conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        let rows = self
            .rows(
                &format!("SELECT {SUMMARY_COLUMNS} FROM conversations c WHERE c.tenant_id = ? AND c.id = ?"),
                vec![text(tenant.as_str()), text(conversation.as_str())],
            )
            .await?;
        let mut found: Vec<_> = rows.first().map(rows::summary).transpose()?.into_iter().collect();
        self.fill_tags(tenant, &mut found).await?;
        Ok(found.pop())
    }

    async fn set_tags(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        tags: &[String],
    ) -> StoreResult<bool> {
        let owned = self
            .rows(
                "SELECT id FROM conversations WHERE tenant_id = ? AND id = ?",
                vec![text(tenant.as_str()), text(conversation.as_str())],
            )
            .await?;
        if owned.is_empty() {
            return Ok(false);
        }
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        for statement in statements::set_tags(tenant, conversation, tags) {
            conn.run(statement).await?;
        }
        conn.commit().await?;
        Ok(true)
    }

    async fn report(&self, tenant: &TenantId, query: &ReportQuery) -> StoreResult<Report> {
        let rows = self.fetch(statements::report_rows(tenant, query)).await?;
        let rows = rows.iter().map(rows::report_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(report::summarise(query, &rows))
    }

    async fn room_conversations(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        closed_since: Millis,
    ) -> StoreResult<Vec<StoredConversation>> {
        let mut conn = self.pool.get().await?;
        let rows = conn
            .query(
                &format!(
                    "SELECT {SUMMARY_COLUMNS} FROM conversations c
                     WHERE c.tenant_id = ? AND c.site_id = ? AND c.status <> 'closed'
                     UNION ALL
                     SELECT {SUMMARY_COLUMNS} FROM conversations c
                     WHERE c.tenant_id = ? AND c.site_id = ? AND c.status = 'closed' AND c.closed_at >= ?"
                ),
                vec![
                    text(tenant.as_str()),
                    text(site.as_str()),
                    text(tenant.as_str()),
                    text(site.as_str()),
                    int(sql_time(closed_since)),
                ],
            )
            .await?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in &rows {
            let summary = rows::summary(row)?;
            let cids = conn
                .query(
                    "SELECT sender_id, cid, seq FROM messages
                     WHERE conversation_id = ? AND cid IS NOT NULL AND sender_id IS NOT NULL
                     ORDER BY seq DESC OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY",
                    vec![text(summary.conversation.id.as_str()), int(sql_int(CID_WINDOW as u64))],
                )
                .await?;
            let recent_cids = cids.iter().map(rows::recent_cid).collect::<StoreResult<Vec<_>>>()?;
            stored.push(rows::stored_conversation(tenant, summary, recent_cids));
        }
        Ok(stored)
    }

    async fn messages(&self, tenant: &TenantId, range: &MessageRange) -> StoreResult<Vec<MessageView>> {
        let notes = if range.include_notes { "" } else { " AND kind <> 'note'" };
        let rows = self
            .rows(
                &format!(
                    "SELECT {MESSAGE_COLUMNS} FROM messages
                     WHERE tenant_id = ? AND conversation_id = ? AND seq > ? AND seq <= ?{notes}
                     ORDER BY seq OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY"
                ),
                vec![
                    text(tenant.as_str()),
                    text(range.conversation.as_str()),
                    int(sql_int(range.after_seq)),
                    int(sql_int(range.through_seq)),
                    int(i64::from(range.limit)),
                ],
            )
            .await?;
        rows.iter().map(rows::message).collect()
    }

    async fn apply_writes(&self, writes: &[WriteOp]) -> StoreResult<()> {
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        store_writes(&mut conn, writes).await?;
        conn.commit().await
    }

    async fn visitors(
        &self,
        tenant: &TenantId,
        after: Option<&VisitorId>,
        limit: u32,
    ) -> StoreResult<Vec<VisitorId>> {
        let rows = self.rows(
                "SELECT id FROM visitors WHERE tenant_id = ? AND id > ? ORDER BY id OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY",
                vec![text(tenant.as_str()), text(after.map_or("", VisitorId::as_str)), int(i64::from(limit))],
            )
            .await?;
        rows.iter().map(|row| Ok(VisitorId(row.text("id")?))).collect()
    }

    async fn page_views(
        &self,
        tenant: &TenantId,
        visitor: &VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<PageView>> {
        let rows = self
            .rows(
                &format!(
                    "SELECT {PAGE_VIEW_COLUMNS} FROM page_views WHERE tenant_id = ? AND visitor_id = ?
                     ORDER BY viewed_at DESC, id DESC OFFSET 0 ROWS FETCH NEXT ? ROWS ONLY"
                ),
                vec![text(tenant.as_str()), text(visitor.as_str()), int(i64::from(limit))],
            )
            .await?;
        rows.iter().map(rows::page_view).collect()
    }
}

/// Stores a group commit's writes: of several states of one conversation the last; messages
/// already stored are skipped, so a retried batch stores nothing twice.
async fn store_writes(conn: &mut Conn, writes: &[WriteOp]) -> StoreResult<()> {
    let batch = Batch::of(writes);
    for rows in batch.conversations.chunks(MAX_PARAMS / 12) {
        save_conversations(conn, rows).await?;
    }
    for rows in batch.messages.chunks(MAX_PARAMS / 13) {
        insert_messages(conn, rows).await?;
    }
    for rows in batch.page_views.chunks(MAX_PARAMS / 9) {
        save_page_views(conn, rows).await?;
    }
    Ok(())
}

/// Rows' values as parameters.
fn as_params<'a>(values: impl Iterator<Item = batch::Value<'a>>) -> Vec<Param> {
    values
        .map(|value| match value {
            batch::Value::Text(text) => Param::Text(text.map(Cow::into_owned)),
            batch::Value::Int(int) => Param::Int(int),
        })
        .collect()
}

async fn save_conversations(conn: &mut Conn, rows: &[&ConversationRecord]) -> StoreResult<()> {
    let params = as_params(rows.iter().flat_map(|record| batch::conversation(record)));
    let columns = "id, tenant_id, site_id, visitor_id, status, agent_id, started_at, closed_at, rating,                    rating_comment, visitor_read_seq, agent_read_seq";
    // The tenant check keeps a clash of ids (only an import can bring one) from touching another
    // tenant's row.
    let sql = format!(
        "MERGE conversations WITH (HOLDLOCK) AS t USING (VALUES {}) AS s ({columns}) ON t.id = s.id
         WHEN MATCHED AND t.tenant_id = s.tenant_id THEN UPDATE SET status = s.status, agent_id = s.agent_id,
             closed_at = s.closed_at, rating = s.rating, rating_comment = s.rating_comment,
             visitor_read_seq = s.visitor_read_seq, agent_read_seq = s.agent_read_seq
         WHEN NOT MATCHED THEN INSERT ({columns}) VALUES (s.id, s.tenant_id, s.site_id, s.visitor_id, s.status,
             s.agent_id, s.started_at, s.closed_at, s.rating, s.rating_comment, s.visitor_read_seq, s.agent_read_seq);",
        value_rows(rows.len(), 12)
    );
    conn.execute(&sql, params).await?;
    Ok(())
}

async fn insert_messages(conn: &mut Conn, rows: &[(&TenantId, &MessageView)]) -> StoreResult<()> {
    let params = as_params(rows.iter().flat_map(|(tenant, message)| batch::message(tenant, message)));
    let columns =
        "conversation_id, seq, tenant_id, site_id, sender_party, sender_id, sender_name, kind, body,
                   cid, event, attachment, created_at";
    let sql = format!(
        "INSERT INTO messages ({columns}) SELECT {columns} FROM (VALUES {}) AS s ({columns})
         WHERE NOT EXISTS (SELECT 1 FROM messages m WHERE m.conversation_id = s.conversation_id AND m.seq = s.seq)",
        value_rows(rows.len(), 13)
    );
    let stored = conn.execute(&sql, params).await?;
    let skipped = (rows.len() as u64).saturating_sub(stored);
    if skipped > 0 {
        tracing::warn!(skipped, "messages were already stored");
    }
    Ok(())
}

async fn save_page_views(conn: &mut Conn, rows: &[&PageViewRecord]) -> StoreResult<()> {
    let params = as_params(rows.iter().flat_map(|view| batch::page_view(view)));
    let columns = "tenant_id, site_id, visitor_id, url, title, referrer, keywords, viewed_at, view_key";
    let sql = format!(
        "INSERT INTO page_views ({columns}) SELECT {columns} FROM (VALUES {}) AS s ({columns})
         WHERE NOT EXISTS (SELECT 1 FROM page_views p WHERE p.view_key = s.view_key)",
        value_rows(rows.len(), 9)
    );
    conn.execute(&sql, params).await?;
    // One row per visitor: when this batch first and last saw them.
    let visits = visits(rows);
    let params = as_params(visits.iter().flat_map(|(first, view)| batch::visit(*first, view)));
    let columns = "id, tenant_id, site_id, first_seen_at, last_seen_at, last_url";
    let sql = format!(
        "MERGE visitors WITH (HOLDLOCK) AS t USING (VALUES {}) AS s ({columns}) ON t.id = s.id
         WHEN MATCHED AND t.tenant_id = s.tenant_id THEN UPDATE SET last_seen_at = s.last_seen_at, last_url = s.last_url
         WHEN NOT MATCHED THEN INSERT ({columns})
             VALUES (s.id, s.tenant_id, s.site_id, s.first_seen_at, s.last_seen_at, s.last_url);",
        value_rows(visits.len(), 6)
    );
    conn.execute(&sql, params).await?;
    Ok(())
}

#[async_trait]
impl LeaveMessageStore for MssqlStore {
    async fn create_leave_message(
        &self,
        tenant: &TenantId,
        message: NewLeaveMessage,
        now: Millis,
    ) -> StoreResult<LeaveMessage> {
        let stored = message.into_message(now);
        insert_leave_message(&mut self.pool.get().await?, tenant, &stored).await?;
        Ok(stored)
    }

    async fn list_leave_messages(
        &self,
        tenant: &TenantId,
        query: &LeaveMessageQuery,
    ) -> StoreResult<Vec<LeaveMessage>> {
        let rows =
            self.fetch(paged(statements::list_leave_messages(tenant, query), page_size(query.limit))).await?;
        rows.iter().map(rows::leave_message).collect()
    }

    async fn leave_message(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<LeaveMessage>> {
        let rows = self
            .rows(
                &format!("SELECT {LEAVE_COLUMNS} FROM leave_messages WHERE tenant_id = ? AND id = ?"),
                vec![text(tenant.as_str()), text(id)],
            )
            .await?;
        rows.first().map(rows::leave_message).transpose()
    }

    async fn mark_leave_message_handled(
        &self,
        tenant: &TenantId,
        id: &str,
        agent: &AgentId,
        now: Millis,
    ) -> StoreResult<Option<LeaveMessage>> {
        self.pool.get().await?.run(statements::mark_handled(tenant, id, agent, now)).await?;
        self.leave_message(tenant, id).await
    }
}

async fn insert_leave_message(conn: &mut Conn, tenant: &TenantId, message: &LeaveMessage) -> StoreResult<()> {
    conn.run(statements::insert_leave_message(tenant, message))
        .await
        .map_err(|e| conflict(e, &format!("a leave-a-message with the id {} exists", message.id)))?;
    Ok(())
}

#[async_trait]
impl QuickReplyStore for MssqlStore {
    async fn create_quick_reply(
        &self,
        tenant: &TenantId,
        reply: NewQuickReply,
        now: Millis,
    ) -> StoreResult<QuickReply> {
        let stored = reply.into_reply(now);
        insert_quick_reply(&mut self.pool.get().await?, tenant, &stored).await?;
        Ok(stored)
    }

    async fn list_quick_replies(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<Vec<QuickReply>> {
        let rows = self
            .rows(
                &format!(
                    "SELECT {REPLY_COLUMNS} FROM quick_replies
                     WHERE tenant_id = ? AND (agent_id IS NULL OR agent_id = ?) ORDER BY title, id"
                ),
                vec![text(tenant.as_str()), text(agent.as_str())],
            )
            .await?;
        rows.iter().map(rows::quick_reply).collect()
    }

    async fn quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<QuickReply>> {
        let rows = self
            .rows(
                &format!("SELECT {REPLY_COLUMNS} FROM quick_replies WHERE tenant_id = ? AND id = ?"),
                vec![text(tenant.as_str()), text(id)],
            )
            .await?;
        rows.first().map(rows::quick_reply).transpose()
    }

    async fn update_quick_reply(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: QuickReplyPatch,
    ) -> StoreResult<Option<QuickReply>> {
        self.pool.get().await?.run(statements::update_quick_reply(tenant, id, patch)).await?;
        self.quick_reply(tenant, id).await
    }

    async fn delete_quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<bool> {
        let done = self
            .run(
                "DELETE FROM quick_replies WHERE tenant_id = ? AND id = ?",
                vec![text(tenant.as_str()), text(id)],
            )
            .await?;
        Ok(done > 0)
    }
}

async fn insert_quick_reply(conn: &mut Conn, tenant: &TenantId, reply: &QuickReply) -> StoreResult<()> {
    conn.run(statements::insert_quick_reply(tenant, reply))
        .await
        .map_err(|e| conflict(e, &format!("a quick reply with the id {} exists", reply.id)))?;
    Ok(())
}

#[async_trait]
impl ServerKeyStore for MssqlStore {
    async fn server_key(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let rows = self.rows("SELECT value FROM server_keys WHERE name = ?", vec![text(name)]).await?;
        rows.first().map(|row| row.bytes("value")).transpose()
    }

    async fn init_server_key(&self, name: &str, value: &[u8], now: Millis) -> StoreResult<Vec<u8>> {
        self.run(
                "INSERT INTO server_keys (name, value, created_at)
                 SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM server_keys WITH (UPDLOCK, HOLDLOCK) WHERE name = ?)",
                vec![text(name), Param::Bytes(value.to_vec()), int(sql_time(now)), text(name)],
            )
            .await?;
        self.server_key(name).await?.ok_or_else(|| StoreError::Corrupt(format!("server key {name} vanished")))
    }
}

#[async_trait]
impl ImportStore for MssqlStore {
    async fn import_tenant(
        &self,
        tenant: &Tenant,
        records: &mut (dyn Iterator<Item = Result<TenantRecord, String>> + Send),
    ) -> StoreResult<ImportCounts> {
        let mut conn = self.pool.get().await?;
        conn.begin().await?;
        insert_tenant(&mut conn, tenant).await?;
        let mut counts = ImportCounts::default();
        let mut writes = Vec::new();
        for record in records {
            let record = record.map_err(StoreError::Invalid)?;
            counts.add(&record);
            if let TenantRecord::Write(write) = record {
                writes.push(write);
                if writes.len() == 2_000 {
                    store_writes(&mut conn, &writes).await?;
                    writes.clear();
                }
                continue;
            }
            // Sites come before the agents that serve them: keep the file's order.
            store_writes(&mut conn, &writes).await?;
            writes.clear();
            match record {
                TenantRecord::Site(site) => insert_site(&mut conn, &site).await?,
                TenantRecord::Agent { agent, password_hash } => {
                    insert_agent(&mut conn, &agent, &password_hash).await?;
                    replace_sites(&mut conn, &tenant.id, &agent.id, &agent.sites).await?;
                }
                TenantRecord::QuickReply(reply) => insert_quick_reply(&mut conn, &tenant.id, &reply).await?,
                TenantRecord::LeaveMessage(message) => {
                    insert_leave_message(&mut conn, &tenant.id, &message).await?
                }
                TenantRecord::Write(_) => {}
            }
        }
        store_writes(&mut conn, &writes).await?;
        conn.commit().await?;
        Ok(counts)
    }
}

/// A cluster keeps its records in MySQL or MariaDB: every method answers so.
impl super::ClusterStore for MssqlStore {}

#[async_trait]
impl Store for MssqlStore {
    async fn ping(&self) -> StoreResult<()> {
        self.rows("SELECT 1 AS one", Vec::new()).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.permits.close();
        self.pool.idle.lock().unwrap_or_else(PoisonError::into_inner).clear();
    }
}
