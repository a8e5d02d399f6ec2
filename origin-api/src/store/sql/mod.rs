//! The sqlx backends: SQLite (the default: one file in WAL mode, `synchronous = FULL` so a commit
//! survives power loss) and MySQL 8 / MariaDB 10.11 (InnoDB, whose commits are durable by
//! default). One implementation on sqlx's `Any` driver; where the two dialects differ, [`Dialect`]
//! holds the difference. Each has its own migrations, run on open. One module per area. SQLite's
//! group commit runs on a thread of its own with its own connection (`commit_thread`); the rows
//! it inserts are defined once for both (`inserts`).

mod agents;
mod cluster;
mod commit_thread;
mod conversations;
mod import;
mod inserts;
mod replies;
mod sites;

use std::str::FromStr;
use std::time::Duration;

use anyhow::anyhow;
use async_trait::async_trait;
use chat_core::ids::{Millis, TenantId};
use sqlx::any::{AnyArguments, AnyConnectOptions, AnyPoolOptions, AnyRow};
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::query::Query;
use sqlx::{Any, AnyPool, Connection, Executor, Row};

use super::rows::{self, Columns, TENANT_COLUMNS, sql_time};
use super::statements::{self, Param, Statement};
use super::{ServerKeyStore, Store, StoreError, StoreResult, Tenant, TenantStore, describe_url, new_id};

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("migrations/sqlite");
static MYSQL_MIGRATIONS: Migrator = sqlx::migrate!("migrations/mysql");

/// How long opening waits for a database server to answer.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a request waits for a connection before it is answered "unavailable".
const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);

/// Which SQL the database speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    /// SQLite 3.35 or later.
    Sqlite,
    /// MySQL 8 or MariaDB 10.11 or later.
    MySql,
}

impl Dialect {
    /// Ends an INSERT so that rows whose key exists are skipped; `key` is a column of the key.
    fn skip_existing(self, key: &str) -> String {
        match self {
            Dialect::Sqlite => " ON CONFLICT DO NOTHING".to_owned(),
            Dialect::MySql => format!(" ON DUPLICATE KEY UPDATE {key} = {key}"),
        }
    }

    /// Ends an INSERT so that a row whose `id` exists gets `columns` from the new row, if both
    /// rows are the same tenant's (ids are random, but imports bring their own).
    fn upsert(self, table: &str, columns: &[&str]) -> String {
        match self {
            Dialect::Sqlite => {
                let set: Vec<_> = columns.iter().map(|c| format!("{c} = excluded.{c}")).collect();
                format!(
                    " ON CONFLICT (id) DO UPDATE SET {} WHERE {table}.tenant_id = excluded.tenant_id",
                    set.join(", ")
                )
            }
            Dialect::MySql => {
                let set: Vec<_> = columns
                    .iter()
                    .map(|c| format!("{c} = IF(tenant_id = VALUES(tenant_id), VALUES({c}), {c})"))
                    .collect();
                format!(" ON DUPLICATE KEY UPDATE {}", set.join(", "))
            }
        }
    }
}

/// Records in SQLite or MySQL/MariaDB.
#[derive(Debug, Clone)]
pub struct SqlStore {
    pool: AnyPool,
    /// The group commit's own connection: a crowd of reads (a login flood, a wave of hellos)
    /// queued for the shared pool never holds a commit, and with it every `ack`, back.
    writes: AnyPool,
    /// SQLite's group commit, for a database in a file.
    commit_thread: Option<commit_thread::CommitThread>,
    /// SQLite's search index's own connection (see `keep_search_index`).
    indexer: Option<AnyPool>,
    dialect: Dialect,
    /// When the rooms last committed (ms since the epoch): the search index keeps out of their way.
    last_commit: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl SqlStore {
    /// Opens (creating the file and its folder if needed) and migrates the SQLite database at
    /// `url` (`sqlite:PATH`). An in-memory database is refused: each of the store's connections
    /// would have one of its own, and a restart would lose every message.
    pub async fn open_sqlite(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let path = url.trim_start_matches("sqlite:").trim_start_matches("//");
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        if path == ":memory:" || query.split('&').any(|pair| pair == "mode=memory") {
            anyhow::bail!(
                "{url} is a database in memory: Kefu keeps its records in a file (sqlite:PATH, \
                 e.g. sqlite:./kefu-data/kefu.db)"
            );
        }
        let folder = std::path::Path::new(path).parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = folder {
            std::fs::create_dir_all(folder).map_err(|e| {
                anyhow!("cannot create the folder {} for the database: {e}", folder.display())
            })?;
        }
        let shown = describe_url(url);
        let url = if url.contains('?') { url.to_owned() } else { format!("{url}?mode=rwc") };
        let options: AnyConnectOptions =
            url.parse().map_err(|e| anyhow!("{shown} is not a SQLite URL: {e}"))?;
        let pool = |connections, more: &'static str| {
            AnyPoolOptions::new().max_connections(connections).acquire_timeout(ACQUIRE_TIMEOUT).after_connect(
                move |conn, _| {
                    Box::pin(async move {
                        // The admin CLI writes to the same file while the server runs: wait for it.
                        conn.execute(
                            "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
                             PRAGMA busy_timeout = 10000",
                        )
                        .await?;
                        if !more.is_empty() {
                            conn.execute(more).await?;
                        }
                        Ok(())
                    })
                },
            )
        };
        let opened =
            |e: sqlx::Error| anyhow!("cannot open the SQLite database {path}: {}", StoreError::from(e));
        // The group commit's connection keeps its statement journal (the undo of one multi-row
        // insert within the batch's transaction) in memory rather than in a temporary file. It
        // opens at the first commit: a database in a file commits on its own thread instead.
        let writes = pool(1, "PRAGMA temp_store = MEMORY").connect_lazy_with(options.clone());
        let pool = pool(8, "").connect_with(options.clone()).await.map_err(opened)?;
        let mut store = SqlStore {
            pool,
            writes,
            commit_thread: None,
            indexer: None,
            dialect: Dialect::Sqlite,
            last_commit: Default::default(),
        };
        store.migrate(&SQLITE_MIGRATIONS, &shown).await?;
        store.sqlite_agents_per_tenant(&shown).await?;
        // The commit thread opens the file as the pool does. A URL with options that change how
        // (another VFS, read-only, immutable) keeps committing through the pool, which honours
        // them all.
        let plain = url
            .split_once('?')
            .is_none_or(|(_, query)| query.split('&').all(|pair| matches!(pair, "mode=rwc" | "mode=rw")));
        if plain {
            let file = sqlx::sqlite::SqliteConnectOptions::from_str(&url)
                .map_err(|e| anyhow!("{shown} is not a SQLite URL: {e}"))?;
            store.commit_thread = Some(commit_thread::CommitThread::start(file.get_filename())?);
        }
        // The index's own connection: what it writes can be rebuilt, so its commits skip the
        // fsync (its progress is in the same transactions, so a crash loses both or neither).
        let indexer = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(ACQUIRE_TIMEOUT)
            .after_connect(|conn, _| {
                Box::pin(async move {
                    conn.execute("PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 10000").await?;
                    Ok(())
                })
            })
            .connect_with(options.clone())
            .await
            .map_err(opened)?;
        tokio::spawn(keep_search_index(indexer.clone(), store.pool.clone(), store.last_commit.clone()));
        store.indexer = Some(indexer);
        Ok(store)
    }

    /// Connects to the MySQL or MariaDB database at `url` (`mysql://USER:PASSWORD@HOST:PORT/DATABASE`)
    /// and brings its schema up to date. The database must exist; its tables are created here.
    pub async fn open_mysql(url: &str) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let shown = describe_url(url);
        let url = url.replacen("mariadb://", "mysql://", 1);
        let options: AnyConnectOptions =
            url.parse().map_err(|e| anyhow!("{shown} is not a valid MySQL URL: {e}"))?;
        // One connection first, so a refused connection or a wrong password is told at once
        // rather than retried until the pool gives up.
        match tokio::time::timeout(CONNECT_TIMEOUT, sqlx::AnyConnection::connect_with(&options)).await {
            Err(_) => anyhow::bail!(
                "cannot reach the database at {shown}: no answer within {} s",
                CONNECT_TIMEOUT.as_secs()
            ),
            Ok(Err(error)) => return Err(anyhow!(mysql_connect_error(&shown, &url, &error))),
            Ok(Ok(conn)) => {
                let _ = conn.close().await;
            }
        }
        let pool = |connections| {
            AnyPoolOptions::new()
                .max_connections(connections)
                .acquire_timeout(ACQUIRE_TIMEOUT)
                .connect_with(options.clone())
        };
        let connected =
            |e: sqlx::Error| anyhow!("cannot connect to the database at {shown}: {}", StoreError::from(e));
        let (pool, writes) = (pool(16).await.map_err(connected)?, pool(1).await.map_err(connected)?);
        let store = SqlStore {
            pool,
            writes,
            commit_thread: None,
            indexer: None,
            dialect: Dialect::MySql,
            last_commit: Default::default(),
        };
        store.migrate(&MYSQL_MIGRATIONS, &shown).await?;
        Ok(store)
    }

    /// Makes an agent's email unique per tenant in a database whose `agents` table has it unique
    /// across tenants (as the first migrations made it), once.
    async fn sqlite_agents_per_tenant(&self, shown: &str) -> anyhow::Result<()> {
        let failed = |e: sqlx::Error| anyhow!("cannot bring the schema of {shown} up to date: {e}");
        let mut conn = self.pool.acquire().await.map_err(failed)?;
        let table: String =
            sqlx::query_scalar("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'agents'")
                .fetch_one(&mut *conn)
                .await
                .map_err(failed)?;
        if table.contains("UNIQUE (tenant_id, email)") {
            return Ok(());
        }
        if let Err(error) =
            sqlx::raw_sql(include_str!("sqlite_agents_per_tenant.sql")).execute(&mut *conn).await
        {
            // Nothing of it stays; the connection goes back as it came.
            let _ = sqlx::raw_sql("ROLLBACK; PRAGMA foreign_keys = ON").execute(&mut *conn).await;
            return Err(failed(error));
        }
        Ok(())
    }

    async fn migrate(&self, migrator: &Migrator, shown: &str) -> anyhow::Result<()> {
        let latest = migrator.iter().map(|m| m.version).max().unwrap_or_default();
        migrator.run(&self.pool).await.map_err(|error| match error {
            MigrateError::VersionMissing(version) => anyhow!(
                "the database at {shown} has schema version {version}, newer than this kefu knows \
                 (up to {latest}); run the kefu version that last used it, or a newer one"
            ),
            MigrateError::VersionMismatch(version) => anyhow!(
                "the database at {shown} has a schema version {version} that differs from this kefu's; \
                 it was changed by hand or by another build"
            ),
            other => anyhow!("cannot bring the schema of {shown} up to date: {other}"),
        })
    }
}

/// The one sentence an operator needs when the first connection fails.
fn mysql_connect_error(shown: &str, url: &str, error: &sqlx::Error) -> String {
    // A server that takes only TLS refuses plaintext as "access denied" (MariaDB) or 3159 (MySQL).
    let encrypted =
        ["ssl-mode=required", "ssl-mode=verify"].iter().any(|mode| url.to_lowercase().contains(mode));
    let tls_hint = if encrypted {
        ""
    } else {
        ", or the server takes only encrypted connections (add ?ssl-mode=required to the URL)"
    };
    match error {
        sqlx::Error::Database(db) => match mysql_number(&**db) {
            Some(3159) => format!(
                "the database at {shown} takes only encrypted connections: add ?ssl-mode=required to its URL \
                 (or ssl-mode=verify_ca&ssl-ca=FILE to check its certificate)"
            ),
            Some(1045 | 1698) => {
                format!(
                    "cannot log in to the database at {shown}: the user name or password is wrong{tls_hint}"
                )
            }
            Some(1044) => format!("the database user may not use the database at {shown}: {}", db.message()),
            Some(1049) => format!(
                "the database at {shown} does not exist; create it first (CREATE DATABASE name CHARACTER SET utf8mb4)"
            ),
            _ => format!("the database at {shown} refused the connection: {}", db.message()),
        },
        sqlx::Error::Io(io) => format!("cannot reach the database at {shown}: {io}"),
        other => format!("cannot connect to the database at {shown}: {other}"),
    }
}

/// MySQL's error number, if the error is MySQL's.
fn mysql_number(db: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(sqlx::mysql::MySqlDatabaseError::number)
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        match &error {
            sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::WorkerCrashed => StoreError::Unavailable(error.to_string()),
            sqlx::Error::Database(db) if transient(&**db) => StoreError::Unavailable(db.message().to_owned()),
            sqlx::Error::Database(db) => StoreError::Database(db.message().to_owned()),
            sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) | sqlx::Error::ColumnNotFound(_) => {
                StoreError::Corrupt(error.to_string())
            }
            _ => StoreError::Database(error.to_string()),
        }
    }
}

/// Errors that mean "try again": SQLite's busy, locked and disk full (with their extended codes);
/// MySQL's too many connections, server shutting down, lock wait timeout, deadlock, read-only (a
/// failover in progress), disk full and table full. A full disk is the operator's to free, and
/// then everything waiting is stored: it must not count as a write refused for good.
fn transient(db: &dyn sqlx::error::DatabaseError) -> bool {
    if let Some(number) = mysql_number(db) {
        return matches!(number, 1021 | 1040 | 1053 | 1114 | 1205 | 1213 | 1290 | 1836);
    }
    let code = db.code().and_then(|code| code.parse::<u32>().ok());
    db.try_downcast_ref::<sqlx::sqlite::SqliteError>().is_some()
        && code.is_some_and(|c| matches!(c & 0xff, 5 | 6 | 13))
}

impl Columns for AnyRow {
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>> {
        // MySQL sends TEXT columns as binary strings.
        match self.try_get::<Option<String>, _>(column) {
            Ok(text) => Ok(text),
            Err(_) => match self.try_get::<Option<Vec<u8>>, _>(column)? {
                Some(bytes) => String::from_utf8(bytes)
                    .map(Some)
                    .map_err(|_| StoreError::Corrupt(format!("{column} is not UTF-8"))),
                None => Ok(None),
            },
        }
    }

    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>> {
        Ok(self.try_get::<Option<i64>, _>(column)?)
    }

    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>> {
        Ok(self.try_get::<Vec<u8>, _>(column)?)
    }
}

/// A shared statement, bound for sqlx.
pub(super) fn bound(statement: &Statement) -> Query<'_, Any, AnyArguments<'_>> {
    let mut query = sqlx::query(&statement.sql);
    for param in &statement.params {
        query = match param {
            Param::Text(text) => query.bind(text.as_deref()),
            Param::Int(int) => query.bind(*int),
            Param::Bytes(bytes) => query.bind(bytes.as_slice()),
        };
    }
    query
}

/// Messages the search index takes in at a time: a batch holds the database's write lock for a
/// few milliseconds, between the rooms' commits.
const SEARCH_BATCH: i64 = 200;
/// While the rooms commit, the index takes at most one part in this many of the writer's time
/// (the backlog is found by a scan meanwhile); once they have been quiet for [`QUIET_MS`], all.
const BUSY_SHARE: u32 = 20;
const QUIET_MS: u64 = 1_000;

/// Keeps SQLite's full-text index (`message_search`) up with the messages, behind the commits,
/// until the store's pool closes.
async fn keep_search_index(
    indexer: AnyPool,
    store: AnyPool,
    last_commit: std::sync::Arc<std::sync::atomic::AtomicU64>,
) {
    loop {
        let started = std::time::Instant::now();
        let pause = match index_messages(&indexer).await {
            Ok(0) => Duration::from_secs(1),
            Ok(_) => {
                let last = last_commit.load(std::sync::atomic::Ordering::Relaxed);
                let busy = crate::clock::now().0.saturating_sub(last) < QUIET_MS;
                if busy { started.elapsed() * (BUSY_SHARE - 1) } else { Duration::from_millis(1) }
            }
            Err(_) if store.is_closed() => break,
            Err(error) => {
                tracing::warn!(%error, "the search index could not take in new messages; trying again");
                Duration::from_secs(5)
            }
        };
        tokio::time::sleep(pause).await;
        if store.is_closed() {
            break;
        }
    }
    indexer.close().await;
}

/// Indexes the next batch of messages (events too: the search leaves them out); answers whether
/// there were any. `BEGIN IMMEDIATE` waits for the write lock (busy timeout) before reading, where
/// a deferred transaction would read, then fail to write after a commit of the rooms.
pub(super) async fn index_messages(pool: &AnyPool) -> Result<u64, sqlx::Error> {
    let mut conn = pool.acquire().await?;
    conn.execute("BEGIN IMMEDIATE").await?;
    let batch_end = "(SELECT MAX(rowid) FROM (SELECT rowid FROM messages
                      WHERE rowid > (SELECT indexed_through FROM search_progress) ORDER BY rowid LIMIT ?))";
    let indexed = async {
        sqlx::query(&format!(
            "INSERT INTO message_search (rowid, body) SELECT rowid, body FROM messages
             WHERE rowid > (SELECT indexed_through FROM search_progress) AND rowid <= {batch_end}"
        ))
        .bind(SEARCH_BATCH)
        .execute(&mut *conn)
        .await?;
        let moved = sqlx::query(&format!(
            "UPDATE search_progress SET indexed_through = {batch_end}
             WHERE EXISTS (SELECT 1 FROM messages WHERE rowid > indexed_through)"
        ))
        .bind(SEARCH_BATCH)
        .execute(&mut *conn)
        .await?
        .rows_affected();
        conn.execute("COMMIT").await?;
        Ok(moved)
    }
    .await;
    if indexed.is_err() {
        let _ = conn.execute("ROLLBACK").await;
    }
    indexed
}

/// A list statement with its page size.
pub(super) fn paged(mut statement: Statement, limit: u32) -> Statement {
    statement.sql.push_str(" LIMIT ?");
    statement.int(i64::from(limit))
}

/// Maps a unique-key violation to `Conflict` with `what` as its message.
pub(super) fn conflict(error: sqlx::Error, what: &str) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::from(error),
    }
}

#[async_trait]
impl TenantStore for SqlStore {
    async fn create_tenant(&self, name: &str, now: Millis) -> StoreResult<Tenant> {
        let tenant = Tenant { id: TenantId(new_id("t")), name: name.to_owned(), created_at: now };
        insert_tenant(&self.pool, &tenant).await?;
        Ok(tenant)
    }

    async fn tenant(&self, tenant: &TenantId) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants WHERE id = ?"))
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::tenant).transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query(&format!("SELECT {TENANT_COLUMNS} FROM tenants ORDER BY created_at, id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(rows::tenant).collect()
    }
}

pub(super) async fn insert_tenant<'c>(
    executor: impl Executor<'c, Database = Any>,
    tenant: &Tenant,
) -> StoreResult<()> {
    bound(&statements::insert_tenant(tenant))
        .execute(executor)
        .await
        .map_err(|e| conflict(e, &format!("the tenant {} exists", tenant.id)))?;
    Ok(())
}

#[async_trait]
impl ServerKeyStore for SqlStore {
    async fn server_key(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| row.bytes("value")).transpose()
    }

    async fn init_server_key(&self, name: &str, value: &[u8], now: Millis) -> StoreResult<Vec<u8>> {
        sqlx::query(&format!(
            "INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?){}",
            self.dialect.skip_existing("name")
        ))
        .bind(name)
        .bind(value)
        .bind(sql_time(now))
        .execute(&self.pool)
        .await?;
        self.server_key(name).await?.ok_or_else(|| StoreError::Corrupt(format!("server key {name} vanished")))
    }
}

#[async_trait]
impl Store for SqlStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection, the commit thread's last once what it was handed is stored: on
    /// SQLite the last one to close folds the write-ahead log into the database file.
    async fn close(&self) {
        if let Some(thread) = &self.commit_thread {
            thread.stop().await;
        }
        self.writes.close().await;
        // The index's task stops quietly once it finds the shared pool closed.
        self.pool.close().await;
        if let Some(indexer) = &self.indexer {
            indexer.close().await;
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use chat_core::ids::{ConversationId, SiteId};
    use chat_core::protocol::{ConversationStatus, MessageKind, MessageView, Party, Sender};
    use chat_core::records::{ConversationRecord, WriteOp};

    use super::*;
    use crate::store::{ConversationQuery, ConversationStore};

    fn said(tenant: &TenantId, conversation: &str, seq: u64, body: &str) -> WriteOp {
        WriteOp::Message {
            tenant: tenant.clone(),
            message: MessageView {
                site: SiteId::from("s1"),
                conversation: ConversationId::from(conversation),
                seq,
                sender: Sender { party: Party::Visitor, id: Some("v1".into()), name: None },
                kind: MessageKind::Text,
                body: body.into(),
                cid: None,
                at: Millis(seq),
                event: None,
                attachment: None,
            },
        }
    }

    async fn found(store: &SqlStore, tenant: &TenantId, q: &str) -> Vec<String> {
        let query = ConversationQuery { q: Some(q.into()), ..ConversationQuery::default() };
        let page = store.list_conversations(tenant, &query).await.unwrap();
        page.into_iter().map(|c| c.conversation.id.0).collect()
    }

    #[tokio::test]
    async fn a_database_in_memory_is_refused_in_one_sentence() {
        for url in ["sqlite::memory:", "sqlite:file:kefu?mode=memory&cache=shared"] {
            let refused = SqlStore::open_sqlite(url).await.err().unwrap().to_string();
            assert!(
                refused.contains("is a database in memory") && refused.contains("sqlite:PATH"),
                "{refused}"
            );
        }
    }

    #[tokio::test]
    async fn the_search_index_takes_messages_in_behind_the_commits_and_finds_them_before_and_after() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqlStore::open_sqlite(&format!("sqlite:{}/kefu.db", dir.path().display())).await.unwrap();
        let tenant = TenantId::from("t1");
        let conversation = ConversationRecord {
            tenant: tenant.clone(),
            site: SiteId::from("s1"),
            id: ConversationId::from("c1"),
            visitor: chat_core::ids::VisitorId::from("v1"),
            status: ConversationStatus::Open,
            agent: None,
            started_at: Millis(1),
            closed_at: None,
            rating: None,
            rating_comment: None,
            visitor_read_seq: 0,
            agent_read_seq: 0,
        };
        let mut writes = vec![WriteOp::Conversation(conversation)];
        writes.extend((1..=450).map(|seq| said(&tenant, "c1", seq, &format!("message number {seq}"))));
        writes.push(said(&tenant, "c1", 451, "我想买一张橡木桌子"));
        store.apply_writes(&writes).await.unwrap();
        // Not indexed yet (or only partly): the scan finds it.
        assert_eq!(found(&store, &tenant, "橡木桌").await, ["c1"]);
        let mut batches = 0;
        while index_messages(&store.pool).await.unwrap() > 0 {
            batches += 1;
        }
        assert!(batches >= 2, "{batches} batches of at most {SEARCH_BATCH}");
        let indexed: i64 = sqlx::query_scalar("SELECT indexed_through FROM search_progress")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        let newest: i64 =
            sqlx::query_scalar("SELECT MAX(rowid) FROM messages").fetch_one(&store.pool).await.unwrap();
        assert_eq!(indexed, newest, "everything is indexed");
        let hits: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM message_search WHERE message_search MATCH '\"橡木桌\"'")
                .fetch_one(&store.pool)
                .await
                .unwrap();
        assert_eq!(hits, 1, "the index itself finds it");
        assert_eq!(found(&store, &tenant, "橡木桌").await, ["c1"]);
        assert_eq!(found(&store, &tenant, "NUMBER 45").await, ["c1"]);
        assert!(found(&store, &tenant, "number 452").await.is_empty());
        assert!(found(&store, &TenantId::from("t2"), "橡木桌").await.is_empty(), "another tenant's");
        store.close().await;
    }
}
