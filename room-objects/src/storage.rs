//! The object's own SQLite: the site's conversations and messages as the room wrote them, and the
//! outbox of writes still to reach the origin. A write here is durable before anything the room
//! sends after it leaves the object (the runtime holds outgoing messages until it is), which is
//! what lets an `ack` follow it at once.

use chat_core::ids::{Cid, ConversationId, Millis, Seq};
use chat_core::limits::{CID_WINDOW, CLOSED_RETENTION_MS};
use chat_core::protocol::{ConversationStatus, MessageKind, MessageView};
use chat_core::records::{ConversationRecord, StoredConversation, WriteOp};
use serde::Deserialize;
use worker::{SqlStorage, SqlStorageValue};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY,
    open INTEGER NOT NULL,
    closed_at INTEGER,
    record TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS messages (
    conversation TEXT NOT NULL,
    seq INTEGER NOT NULL,
    sender TEXT,
    cid TEXT,
    note INTEGER NOT NULL,
    at INTEGER NOT NULL,
    message TEXT NOT NULL,
    PRIMARY KEY (conversation, seq)
);
CREATE TABLE IF NOT EXISTS outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    op TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS sockets (
    conn INTEGER PRIMARY KEY,
    snapshot TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
";

/// Creates the tables on first use.
pub fn migrate(sql: &SqlStorage) -> worker::Result<()> {
    sql.exec(SCHEMA, None)?;
    Ok(())
}

/// Stores one write of the room, and queues it for the origin.
pub fn write(sql: &SqlStorage, op: &WriteOp) -> worker::Result<()> {
    match op {
        WriteOp::Conversation(record) => {
            let open = i64::from(record.status != ConversationStatus::Closed);
            sql.exec(
                "INSERT OR REPLACE INTO conversations (id, open, closed_at, record) VALUES (?, ?, ?, ?)",
                vec![
                    text(&record.id.0),
                    open.into(),
                    record.closed_at.map_or(SqlStorageValue::Null, millis),
                    json(record)?,
                ],
            )?;
        }
        WriteOp::Message { message, .. } => {
            sql.exec(
                "INSERT INTO messages (conversation, seq, sender, cid, note, at, message) VALUES (?, ?, ?, ?, ?, ?, ?)",
                vec![
                    text(&message.conversation.0),
                    seq(message.seq),
                    message.sender.id.as_deref().map_or(SqlStorageValue::Null, text),
                    message.cid.as_ref().map_or(SqlStorageValue::Null, |cid| text(&cid.0)),
                    i64::from(message.kind == MessageKind::Note).into(),
                    millis(message.at),
                    json(message)?,
                ],
            )?;
        }
        WriteOp::PageView(_) => {}
    }
    sql.exec("INSERT INTO outbox (op) VALUES (?)", vec![json(op)?])?;
    Ok(())
}

/// The oldest writes still to reach the origin, at most `limit`: their last id, and the writes
/// as JSON (each as the room emitted it).
pub fn outbox(sql: &SqlStorage, limit: u32) -> worker::Result<Option<(i64, Vec<String>)>> {
    #[derive(Deserialize)]
    struct Row {
        id: f64,
        op: String,
    }
    let rows: Vec<Row> = sql
        .exec("SELECT id, op FROM outbox ORDER BY id LIMIT ?", vec![i64::from(limit).into()])?
        .to_array()?;
    let Some(last) = rows.last().map(|row| row.id) else { return Ok(None) };
    #[allow(clippy::cast_possible_truncation)]
    Ok(Some((last as i64, rows.into_iter().map(|row| row.op).collect())))
}

/// The origin has stored every write up to `last`.
pub fn delivered(sql: &SqlStorage, last: i64) -> worker::Result<()> {
    sql.exec("DELETE FROM outbox WHERE id <= ?", vec![last.into()])?;
    Ok(())
}

/// Whether writes wait for the origin.
pub fn outbox_waiting(sql: &SqlStorage) -> bool {
    #[derive(Deserialize)]
    struct Row {
        #[allow(dead_code)]
        id: f64,
    }
    sql.exec("SELECT id FROM outbox LIMIT 1", None)
        .and_then(|cursor| cursor.to_array::<Row>())
        .is_ok_and(|rows| !rows.is_empty())
}

/// The conversations a room starts with: every one not closed, and those closed recently.
pub fn load(sql: &SqlStorage, now: Millis) -> worker::Result<Vec<StoredConversation>> {
    #[derive(Deserialize)]
    struct Row {
        id: String,
        record: String,
    }
    let since = millis(Millis(now.0.saturating_sub(CLOSED_RETENTION_MS)));
    let rows: Vec<Row> = sql
        .exec("SELECT id, record FROM conversations WHERE open = 1 OR closed_at >= ?", vec![since])?
        .to_array()?;
    let mut stored = Vec::with_capacity(rows.len());
    for row in rows {
        let record: ConversationRecord = parse(&row.record)?;
        let (last_seq, last_activity) = last_message(sql, &row.id)?.unwrap_or((0, record.started_at));
        stored.push(StoredConversation {
            recent_cids: recent_cids(sql, &row.id)?,
            record,
            last_seq,
            last_activity,
        });
    }
    Ok(stored)
}

fn last_message(sql: &SqlStorage, conversation: &str) -> worker::Result<Option<(Seq, Millis)>> {
    #[derive(Deserialize)]
    struct Row {
        seq: Option<f64>,
        at: Option<f64>,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT MAX(seq) AS seq, MAX(at) AS at FROM messages WHERE conversation = ?",
            vec![text(conversation)],
        )?
        .to_array()?;
    Ok(rows.first().and_then(|row| Some((whole(row.seq?), Millis(whole(row.at?))))))
}

fn recent_cids(sql: &SqlStorage, conversation: &str) -> worker::Result<Vec<(String, Cid, Seq)>> {
    #[derive(Deserialize)]
    struct Row {
        sender: String,
        cid: String,
        seq: f64,
    }
    let window = i64::try_from(CID_WINDOW).unwrap_or(i64::MAX);
    let mut rows: Vec<Row> = sql
        .exec(
            "SELECT sender, cid, seq FROM messages WHERE conversation = ? AND cid IS NOT NULL AND sender IS NOT NULL \
             ORDER BY seq DESC LIMIT ?",
            vec![text(conversation), window.into()],
        )?
        .to_array()?;
    rows.reverse();
    Ok(rows.into_iter().map(|row| (row.sender, Cid(row.cid), whole(row.seq))).collect())
}

/// The visitor of a conversation this room holds.
pub fn conversation(sql: &SqlStorage, id: &ConversationId) -> worker::Result<Option<ConversationRecord>> {
    #[derive(Deserialize)]
    struct Row {
        record: String,
    }
    let rows: Vec<Row> =
        sql.exec("SELECT record FROM conversations WHERE id = ?", vec![text(&id.0)])?.to_array()?;
    rows.first().map(|row| parse(&row.record)).transpose()
}

/// Messages of a conversation after `after_seq` through `through_seq`, in order.
pub fn messages(
    sql: &SqlStorage,
    conversation: &ConversationId,
    after_seq: Seq,
    through_seq: Seq,
    include_notes: bool,
    limit: u64,
) -> worker::Result<Vec<MessageView>> {
    #[derive(Deserialize)]
    struct Row {
        message: String,
    }
    let rows: Vec<Row> = sql
        .exec(
            "SELECT message FROM messages WHERE conversation = ? AND seq > ? AND seq <= ? AND (note = 0 OR ?) \
             ORDER BY seq LIMIT ?",
            vec![text(&conversation.0), seq(after_seq), seq(through_seq), i64::from(include_notes).into(), seq(limit)],
        )?
        .to_array()?;
    rows.iter().map(|row| parse(&row.message)).collect()
}

/// Who is on a socket, kept for a room rebuilt after the object was evicted.
pub fn keep_socket(sql: &SqlStorage, conn: u64, snapshot: &str) -> worker::Result<()> {
    sql.exec(
        "INSERT OR REPLACE INTO sockets (conn, snapshot) VALUES (?, ?)",
        vec![seq(conn), text(snapshot)],
    )?;
    Ok(())
}

/// The socket is gone.
pub fn forget_socket(sql: &SqlStorage, conn: u64) -> worker::Result<()> {
    sql.exec("DELETE FROM sockets WHERE conn = ?", vec![seq(conn)])?;
    Ok(())
}

/// Every socket's snapshot kept, by socket.
pub fn sockets(sql: &SqlStorage) -> worker::Result<Vec<(u64, String)>> {
    #[derive(Deserialize)]
    struct Row {
        conn: f64,
        snapshot: String,
    }
    let rows: Vec<Row> = sql.exec("SELECT conn, snapshot FROM sockets", None)?.to_array()?;
    Ok(rows.into_iter().map(|row| (whole(row.conn), row.snapshot)).collect())
}

/// A value kept between the object's lives.
pub fn meta(sql: &SqlStorage, key: &str) -> worker::Result<Option<String>> {
    #[derive(Deserialize)]
    struct Row {
        value: String,
    }
    let rows: Vec<Row> = sql.exec("SELECT value FROM meta WHERE key = ?", vec![text(key)])?.to_array()?;
    Ok(rows.into_iter().next().map(|row| row.value))
}

/// Keeps a value between the object's lives.
pub fn set_meta(sql: &SqlStorage, key: &str, value: &str) -> worker::Result<()> {
    sql.exec("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", vec![text(key), text(value)])?;
    Ok(())
}

fn text(value: &str) -> SqlStorageValue {
    SqlStorageValue::String(value.to_owned())
}

fn json<T: serde::Serialize>(value: &T) -> worker::Result<SqlStorageValue> {
    Ok(SqlStorageValue::String(serde_json::to_string(value).map_err(|error| error.to_string())?))
}

fn parse<T: serde::de::DeserializeOwned>(text: &str) -> worker::Result<T> {
    serde_json::from_str(text)
        .map_err(|error| worker::Error::RustError(format!("a stored row is damaged: {error}")))
}

/// Sequence numbers and times are far below 2^53, where JavaScript numbers are exact.
fn seq(value: Seq) -> SqlStorageValue {
    SqlStorageValue::Integer(i64::try_from(value).unwrap_or(i64::MAX))
}

fn millis(value: Millis) -> SqlStorageValue {
    seq(value.0)
}

/// SQLite integers arrive as JavaScript numbers.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn whole(value: f64) -> u64 {
    value.max(0.0) as u64
}
