//! SQLite's group commit on a thread of its own, with its own connection: each batch is handed
//! over once and its answer comes back once. Through sqlx every statement of a commit (begin, a
//! few inserts, commit) was a round trip between the server's thread and sqlx's worker thread,
//! and each value was converted on the server's thread on the way; at 10,000 msg/s that was a
//! seventh of the server's socket thread (docs/benchmarks.md).

use std::sync::mpsc;

use chat_core::records::WriteOp;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::{Connection, OpenFlags, ToSql};
use tokio::sync::oneshot;

use super::Dialect;
use super::inserts;
use crate::store::batch::Batch;
use crate::store::batch::Value;
use crate::store::{StoreError, StoreResult};

/// Prepared statements the thread keeps: a few sizes of each table's insert, and the transaction's.
const STATEMENT_CACHE: usize = 64;

/// A batch to store and where its answer goes.
struct Job {
    writes: Vec<WriteOp>,
    answer: oneshot::Sender<StoreResult<()>>,
}

/// The thread's end that the store holds; the thread ends when the last store clone is dropped.
#[derive(Debug, Clone)]
pub(super) struct CommitThread {
    jobs: mpsc::Sender<Job>,
}

impl CommitThread {
    /// Starts the thread for the database file at `path` (which exists and is migrated), opening
    /// its connection first so that a file that cannot be opened is told at once.
    pub(super) fn start(path: &str) -> anyhow::Result<Self> {
        let connection = open(path)?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let path = path.to_owned();
        std::thread::Builder::new().name("kefu-commit".into()).spawn(move || {
            let mut connection = Some(connection);
            for job in queue {
                let stored = commit(&mut connection, &path, &job.writes);
                let _ = job.answer.send(stored);
            }
        })?;
        Ok(CommitThread { jobs })
    }

    /// Stores `writes` in one transaction.
    pub(super) async fn commit(&self, writes: &[WriteOp]) -> StoreResult<()> {
        let (answer, answered) = oneshot::channel();
        let stopped = || StoreError::Unavailable("the commit thread stopped".into());
        self.jobs.send(Job { writes: writes.to_vec(), answer }).map_err(|_| stopped())?;
        answered.await.unwrap_or_else(|_| Err(stopped()))
    }
}

fn open(path: &str) -> anyhow::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let connection = Connection::open_with_flags(path, flags)
        .map_err(|error| anyhow::anyhow!("cannot open the SQLite database {path}: {error}"))?;
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
fn commit(connection: &mut Option<Connection>, path: &str, writes: &[WriteOp]) -> StoreResult<()> {
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
        let skipped = rows.len().saturating_sub(done);
        if skipped > 0 && rows.insert.warns_of_skipped() {
            tracing::warn!(skipped, "messages were already stored");
        }
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
