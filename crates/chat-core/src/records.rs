//! What a room asks its driver to store, and what a driver loads to start a room.
//!
//! Writes carry the tenant so one writer can commit the writes of many rooms in one transaction.

use crate::ids::{AgentId, Cid, ConversationId, Millis, Seq, SiteId, TenantId, VisitorId};
use serde::{Deserialize, Serialize};

use crate::protocol::{ConversationStatus, ConversationView, MessageView, PageInfo};

/// A conversation's stored state (its messages are stored apart).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConversationRecord {
    /// Owner of the row.
    pub tenant: TenantId,
    /// The site.
    pub site: SiteId,
    /// The conversation.
    pub id: ConversationId,
    /// Its visitor.
    pub visitor: VisitorId,
    /// Waiting, open or closed.
    pub status: ConversationStatus,
    /// The agent who has it.
    pub agent: Option<AgentId>,
    /// When it started.
    pub started_at: Millis,
    /// When it closed.
    pub closed_at: Option<Millis>,
    /// The visitor's rating.
    pub rating: Option<u8>,
    /// The visitor's words with the rating.
    pub rating_comment: Option<String>,
    /// The highest `seq` the visitor has read.
    pub visitor_read_seq: Seq,
    /// The highest `seq` an agent has read.
    pub agent_read_seq: Seq,
}

impl ConversationRecord {
    /// The conversation as clients see it, given its highest stored `seq`.
    pub fn view(&self, last_seq: Seq) -> ConversationView {
        ConversationView {
            id: self.id.clone(),
            site: self.site.clone(),
            visitor: self.visitor.clone(),
            status: self.status,
            agent: self.agent.clone(),
            started_at: self.started_at,
            last_seq,
            rating: self.rating,
            visitor_read_seq: self.visitor_read_seq,
            agent_read_seq: self.agent_read_seq,
        }
    }
}

/// A page a visitor opened.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageViewRecord {
    /// Owner of the row.
    pub tenant: TenantId,
    /// The site.
    pub site: SiteId,
    /// The visitor.
    pub visitor: VisitorId,
    /// The page.
    pub page: PageInfo,
    /// Search keywords from the referrer.
    pub keywords: Option<String>,
    /// When.
    pub at: Millis,
}

/// One thing to store. A driver stores writes in the order the room emitted them. As JSON, the
/// edge's outbox carries them to the origin.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum WriteOp {
    /// Insert or update a conversation.
    Conversation(ConversationRecord),
    /// Append a message; `(conversation, seq)` and `(conversation, cid)` are new.
    Message {
        /// Owner of the row.
        tenant: TenantId,
        /// The message.
        message: MessageView,
    },
    /// Record a page view and the visitor's last visit.
    PageView(PageViewRecord),
}

/// A conversation as loaded when a room starts: every one not closed, and those closed less than
/// [`crate::limits::CLOSED_RETENTION_MS`] ago (so a retry of their messages is still recognised).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredConversation {
    /// Its state.
    pub record: ConversationRecord,
    /// The highest stored `seq`, 0 if none.
    pub last_seq: Seq,
    /// When its last message was stored (or it started).
    pub last_activity: Millis,
    /// The sender id, client id and `seq` of its latest messages with a client id, oldest first,
    /// at most [`crate::limits::CID_WINDOW`], so retries across a restart are still recognised.
    pub recent_cids: Vec<(String, Cid, Seq)>,
}
