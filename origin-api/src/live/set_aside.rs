//! Writes the database refuses for good (not "unavailable": refused, every time, such as a value a
//! misconfigured MySQL column cannot hold) are set aside rather than block every room behind them:
//! kept whole in `set-aside.jsonl` under the data directory, reported in the log, and for a
//! message replaced by a stand-in of the same place, so the conversation keeps its order and its
//! sender's `ack`. The operator repairs the cause and can put the originals back by hand.

use std::io::Write;
use std::path::PathBuf;

use chat_core::ids::{Millis, TenantId};
use chat_core::protocol::MessageView;
use chat_core::records::{ConversationRecord, PageViewRecord, WriteOp};
use serde::Serialize;

use crate::clock::now;

/// What a set-aside message shows in its place.
pub const STAND_IN_BODY: &str =
    "This message could not be stored in the database; the server has kept it for its operator.";

/// Where set-aside writes go.
#[derive(Debug, Clone)]
pub(crate) struct SetAside {
    path: PathBuf,
}

/// One line of `set-aside.jsonl`.
#[derive(Serialize)]
struct Line<'a> {
    at: Millis,
    error: &'a str,
    #[serde(flatten)]
    write: Kept<'a>,
}

#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Kept<'a> {
    Conversation(&'a ConversationRecord),
    Message {
        tenant: &'a TenantId,
        #[serde(flatten)]
        message: &'a MessageView,
    },
    PageView(&'a PageViewRecord),
}

impl SetAside {
    /// Writes set aside in `data_dir`.
    pub(crate) fn new(data_dir: PathBuf) -> Self {
        SetAside { path: data_dir.join("set-aside.jsonl") }
    }

    /// Keeps `op` on disk (synced) with why the database refused it. Only once it is kept may
    /// the write be given up on: an error here means "try the database again later".
    pub(crate) fn keep(&self, op: &WriteOp, error: &str) -> std::io::Result<()> {
        let write = match op {
            WriteOp::Conversation(record) => Kept::Conversation(record),
            WriteOp::Message { tenant, message } => Kept::Message { tenant, message },
            WriteOp::PageView(view) => Kept::PageView(view),
        };
        let mut line = serde_json::to_vec(&Line { at: now(), error, write })?;
        line.push(b'\n');
        if let Some(folder) = self.path.parent() {
            std::fs::create_dir_all(folder)?;
        }
        let mut file = std::fs::OpenOptions::new().create(true).append(true).open(&self.path)?;
        file.write_all(&line)?;
        file.sync_data()?;
        tracing::error!(
            path = %self.path.display(),
            %error,
            "the database refused a write for good; it was set aside"
        );
        Ok(())
    }

    /// What takes a set-aside write's place: for a message, a stand-in at its `seq` with its
    /// `cid`; nothing for the rest (a conversation's next change stores its whole state anew).
    pub(crate) fn stand_in(op: &WriteOp) -> Option<WriteOp> {
        let WriteOp::Message { tenant, message } = op else { return None };
        let message = MessageView { body: STAND_IN_BODY.to_owned(), attachment: None, ..message.clone() };
        Some(WriteOp::Message { tenant: tenant.clone(), message })
    }
}
