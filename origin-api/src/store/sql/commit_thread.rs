//! SQLite's group commit on a thread of its own, with its own connection: each batch is handed
//! over once and its answer comes back once. Through sqlx every statement of a commit (begin, a
//! few inserts, commit) was a round trip between the server's thread and sqlx's worker thread,
//! and each value was converted on the server's thread on the way; at 10,000 msg/s that was a
//! seventh of the server's socket thread (docs/benchmarks.md).

use std::panic::{self, AssertUnwindSafe};
use std::path::Path;
use std::sync::mpsc;

use chat_core::records::WriteOp;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::oneshot;

use super::Dialect;
use super::inserts;
use crate::store::batch::{Batch, Value};
use crate::store::{StoreError, StoreResult};

/// Prepared statements the thread keeps: a few sizes of each table's insert, and the transaction's.
const STATEMENT_CACHE: usize = 64;

/// What the thread is asked to do.
enum Job {
    /// Store a batch and say how that went.
    Commit { writes: Vec<WriteOp>, answer: oneshot::Sender<StoreResult<()>> },
    /// Close the connection (after the batches handed over before) and end.
    Stop { stopped: oneshot::Sender<()> },
}

/// The thread's end that the store holds. The thread ends when it is told to stop (the store is
/// closed) or when the last store clone is dropped.
#[derive(Debug, Clone)]
pub(super) struct CommitThread {
    jobs: mpsc::Sender<Job>,
}

impl CommitThread {
    /// Starts the thread for the database file at `path` (which exists and is migrated), opening
    /// its connection first so that a file that cannot be opened is told at once.
    pub(super) fn start(path: &Path) -> anyhow::Result<Self> {
        let connection = open(path)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let path = path.to_owned();
        std::thread::Builder::new().name("kefu-commit".into()).spawn(move || {
            let mut connection = Some(connection);
            for job in queue {
                let (writes, answer) = match job {
                    Job::Commit { writes, answer } => (writes, answer),
                    Job::Stop { stopped } => {
                        // The last connection to close checkpoints the log into the database
                        // file and removes it: a stopped server's records are one file.
                        drop(connection.take());
                        let _ = stopped.send(());
                        return;
                    }
                };
                // A bug that panics refuses the batch (the writer then finds and sets aside the
                // write it cannot store) rather than stopping every commit after it.
                let stored =
                    panic::catch_unwind(AssertUnwindSafe(|| commit(&mut connection, &path, &writes)))
                        .unwrap_or_else(|_| {
                            connection = None;
                            Err(StoreError::Database(
                                "storing the batch failed (a panic); see the log".into(),
                            ))
                        });
                let _ = answer.send(stored);
            }
        })?;
        Ok(CommitThread { jobs })
    }

    /// Stores `writes` in one transaction.
    pub(super) async fn commit(&self, writes: &[WriteOp]) -> StoreResult<()> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the commit thread stopped".into());
        self.jobs.send(Job::Commit { writes: writes.to_vec(), answer }).map_err(|_| stopped())?;
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }

    /// Ends the thread once the batches handed over before are stored, closing its connection;
    /// later commits are refused as unavailable.
    pub(super) async fn stop(&self) {
        let (stopped, done) = oneshot::channel();
        if self.jobs.send(Job::Stop { stopped }).is_ok() {
            let _ = done.await;
        }
    }
}

/// Opens the database as sqlx does (a `file:` name is a URI), read and write.
fn open(path: &Path) -> anyhow::Result<Connection> {
    let flags =
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX | OpenFlags::SQLITE_OPEN_URI;
    let connection = Connection::open_with_flags(path, flags)
        .map_err(|error| anyhow::anyhow!("cannot open the SQLite database {}: {error}", path.display()))?;
    // As the pool's connections (see `SqlStore::open_sqlite`); the statement journal of one
    // multi-row insert within the batch's transaction stays in memory.
    connection.execute_batch(
        "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;
         PRAGMA busy_timeout = 10000; PRAGMA temp_store = MEMORY",
    )?;
    connection.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    Ok(connection)
}

/// Stores `writes` over `connection`, opening it again first if the last commit failed: a
/// connection whose commit failed may still hold its transaction (SQLite keeps the write lock
/// after a COMMIT refused for a full disk), and the retry would wait behind it.
fn commit(connection: &mut Option<Connection>, path: &Path, writes: &[WriteOp]) -> StoreResult<()> {
    let conn = match connection {
        Some(conn) => conn,
        None => connection.insert(open(path).map_err(|error| StoreError::Unavailable(error.to_string()))?),
    };
    let stored = store(conn, writes);
    if stored.is_err() {
        *connection = None;
    }
    stored.map_err(store_error)
}

fn store(conn: &Connection, writes: &[WriteOp]) -> rusqlite::Result<()> {
    conn.prepare_cached("BEGIN IMMEDIATE")?.execute([])?;
    for rows in inserts::statements(&Batch::of(writes)) {
        let sql = inserts::sql(rows.insert, rows.len(), Dialect::Sqlite);
        let done = conn.prepare_cached(&sql)?.execute(rusqlite::params_from_iter(&rows.values))?;
        rows.stored(done as u64);
    }
    conn.prepare_cached("COMMIT")?.execute([])?;
    Ok(())
}

impl ToSql for Value<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Text(Some(text)) => ToSqlOutput::Borrowed(ValueRef::Text(text.as_bytes())),
            Value::Int(Some(int)) => ToSqlOutput::Owned(rusqlite::types::Value::Integer(*int)),
            Value::Text(None) | Value::Int(None) => ToSqlOutput::Owned(rusqlite::types::Value::Null),
        })
    }
}

/// As sqlx's errors are told apart (`From<sqlx::Error> for StoreError`): busy, locked and a full
/// disk can work later; anything else is a refusal.
fn store_error(error: rusqlite::Error) -> StoreError {
    match &error {
        rusqlite::Error::SqliteFailure(failure, _) if matches!(failure.extended_code & 0xff, 5 | 6 | 13) => {
            StoreError::Unavailable(error.to_string())
        }
        _ => StoreError::Database(error.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_commit_connection_is_as_durable_as_the_pools() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kefu.db");
        Connection::open(&path).unwrap();
        let conn = open(&path).unwrap();
        let pragma =
            |name: &str| conn.pragma_query_value(None, name, |row| row.get::<_, rusqlite::types::Value>(0));
        assert_eq!(pragma("journal_mode").unwrap(), rusqlite::types::Value::Text("wal".into()));
        assert_eq!(
            pragma("synchronous").unwrap(),
            rusqlite::types::Value::Integer(2),
            "FULL: a commit survives power loss"
        );
        assert_eq!(pragma("foreign_keys").unwrap(), rusqlite::types::Value::Integer(1));
        assert_eq!(pragma("busy_timeout").unwrap(), rusqlite::types::Value::Integer(10_000));
    }

    const VISITORS: &str = "CREATE TABLE visitors (id TEXT PRIMARY KEY, tenant_id TEXT NOT NULL, site_id TEXT, first_seen_at INTEGER, last_seen_at INTEGER, last_url TEXT)";
    const PAGE_VIEWS: &str = "CREATE TABLE page_views (id INTEGER PRIMARY KEY, tenant_id TEXT, site_id TEXT, visitor_id TEXT, url TEXT, title TEXT, referrer TEXT, keywords TEXT, viewed_at INTEGER, view_key TEXT UNIQUE)";

    fn page_view(visitor: &str, at: u64) -> WriteOp {
        WriteOp::PageView(chat_core::records::PageViewRecord {
            tenant: "t1".into(),
            site: "s1".into(),
            visitor: visitor.into(),
            page: chat_core::protocol::PageInfo { url: "https://example.com/".into(), ..Default::default() },
            keywords: None,
            at: chat_core::ids::Millis(at),
        })
    }

    fn count(conn: &Connection, table: &str) -> i64 {
        conn.query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0)).unwrap()
    }

    #[test]
    fn a_refused_commit_leaves_no_lock_behind_and_the_next_one_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kefu.db");
        let path = path.as_path();
        Connection::open(path).unwrap();
        open(path).unwrap().execute_batch(VISITORS).unwrap();
        let mut connection = Some(open(path).unwrap());
        // No page_views table: the batch is refused for good, and nothing of it is kept.
        let refused = commit(&mut connection, path, &[page_view("v1", 1_000)]);
        assert!(matches!(refused, Err(StoreError::Database(_))), "{refused:?}");
        assert!(connection.is_none(), "the connection that failed is not used again");
        let other = open(path).unwrap();
        other.execute_batch(PAGE_VIEWS).unwrap();
        commit(&mut connection, path, &[page_view("v1", 1_000)]).unwrap();
        assert_eq!((count(&other, "page_views"), count(&other, "visitors")), (1, 1));
    }

    #[tokio::test]
    async fn a_stopped_thread_stores_what_it_was_handed_closes_its_connection_and_refuses_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kefu.db");
        Connection::open(&path).unwrap().execute_batch(&format!("{VISITORS}; {PAGE_VIEWS}")).unwrap();
        let thread = CommitThread::start(&path).unwrap();
        let handed = [page_view("v1", 1_000), page_view("v2", 2_000)];
        let (stored, ()) = tokio::join!(thread.commit(&handed), thread.stop());
        stored.unwrap();
        let later = thread.commit(&[page_view("v3", 3_000)]).await;
        assert!(matches!(later, Err(StoreError::Unavailable(_))), "{later:?}");
        // Its connection was the last one: closing it folded the log into the file.
        assert!(!dir.path().join("kefu.db-wal").exists(), "the log is left after the stop");
        assert_eq!(count(&Connection::open(&path).unwrap(), "page_views"), 2);
    }
}
