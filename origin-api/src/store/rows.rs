//! Reading records out of rows, once for every backend: a backend says how to read one column as
//! text, an integer or bytes ([`Columns`]); the records are built from those here. Every backend's
//! schema uses the same column names.

use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::{
    ConversationStatus, ConversationView, MessageKind, MessageView, Party, Role, Sender, WidgetPosition,
    WidgetView,
};
use chat_core::records::{ConversationRecord, StoredConversation};

use super::{
    Agent, ConversationSummary, LeaveMessage, PageView, QuickReply, ReportRow, Site, StoreError, StoreResult,
    Tenant,
};

/// One row, read column by column.
pub trait Columns {
    /// A text column that may be NULL.
    fn opt_text(&self, column: &str) -> StoreResult<Option<String>>;
    /// An integer column (flags included) that may be NULL.
    fn opt_int(&self, column: &str) -> StoreResult<Option<i64>>;
    /// A binary column.
    fn bytes(&self, column: &str) -> StoreResult<Vec<u8>>;

    /// A text column.
    fn text(&self, column: &str) -> StoreResult<String> {
        self.opt_text(column)?.ok_or_else(|| null(column))
    }

    /// An integer column.
    fn int(&self, column: &str) -> StoreResult<i64> {
        self.opt_int(column)?.ok_or_else(|| null(column))
    }

    /// A flag stored as 0 or 1.
    fn flag(&self, column: &str) -> StoreResult<bool> {
        Ok(self.int(column)? != 0)
    }

    /// A time in milliseconds.
    fn millis(&self, column: &str) -> StoreResult<Millis> {
        Ok(Millis(self.int(column)?.max(0).unsigned_abs()))
    }

    /// A time in milliseconds that may be NULL.
    fn opt_millis(&self, column: &str) -> StoreResult<Option<Millis>> {
        Ok(self.opt_int(column)?.map(|v| Millis(v.max(0).unsigned_abs())))
    }

    /// A sequence number.
    fn seq(&self, column: &str) -> StoreResult<u64> {
        Ok(self.int(column)?.max(0).unsigned_abs())
    }
}

fn null(column: &str) -> StoreError {
    StoreError::Corrupt(format!("{column} is NULL"))
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

/// Milliseconds as the databases store them (signed 64-bit).
pub fn sql_time(at: Millis) -> i64 {
    i64::try_from(at.0).unwrap_or(i64::MAX)
}

/// A sequence number or count as the databases store it.
pub fn sql_int(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// A list of texts (a site's allowed origins, its languages), stored as JSON.
pub fn json_list(items: &[String]) -> String {
    serde_json::to_string(items).unwrap_or_else(|_| "[]".to_owned())
}

/// A lifecycle event, stored as JSON.
pub fn event_json(message: &MessageView) -> Option<String> {
    message.event.as_ref().and_then(|event| serde_json::to_string(event).ok())
}

/// A message's file, stored as JSON.
pub fn attachment_json(message: &MessageView) -> Option<String> {
    message.attachment.as_ref().and_then(|file| serde_json::to_string(file).ok())
}

pub(crate) const TENANT_COLUMNS: &str = "id, name, created_at";

pub(crate) fn tenant(row: &impl Columns) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: TenantId(row.text("id")?),
        name: row.text("name")?,
        created_at: row.millis("created_at")?,
    })
}

pub(crate) const SITE_COLUMNS: &str = "id, tenant_id, site_key, name, allowed_origins, greeting, auto_assign,
     color, position, offline_form, languages, identity_secret, created_at";

pub(crate) fn site(row: &impl Columns) -> StoreResult<Site> {
    let origins = row.text("allowed_origins")?;
    let position = row.text("position")?;
    let languages = row.text("languages")?;
    Ok(Site {
        tenant: TenantId(row.text("tenant_id")?),
        id: SiteId(row.text("id")?),
        key: row.text("site_key")?,
        name: row.text("name")?,
        allowed_origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt(format!("allowed_origins: {e}")))?,
        greeting: row.text("greeting")?,
        auto_assign: row.flag("auto_assign")?,
        widget: WidgetView {
            color: row.text("color")?,
            position: WidgetPosition::parse(&position).ok_or_else(|| corrupt("position", &position))?,
            offline_form: row.flag("offline_form")?,
            languages: serde_json::from_str(&languages)
                .map_err(|e| StoreError::Corrupt(format!("languages: {e}")))?,
        },
        identity_secret: row.opt_text("identity_secret")?.map(IdentitySecret),
        created_at: row.millis("created_at")?,
    })
}

pub(crate) const AGENT_COLUMNS: &str =
    "id, tenant_id, email, name, role, capacity, all_sites, disabled, created_at, token_generation";

/// An agent without their sites (read apart).
pub(crate) fn agent(row: &impl Columns) -> StoreResult<Agent> {
    let role = row.text("role")?;
    Ok(Agent {
        tenant: TenantId(row.text("tenant_id")?),
        id: AgentId(row.text("id")?),
        email: row.text("email")?,
        name: row.text("name")?,
        role: Role::parse(&role).ok_or_else(|| corrupt("role", &role))?,
        capacity: u32::try_from(row.int("capacity")?).unwrap_or_default(),
        all_sites: row.flag("all_sites")?,
        sites: Vec::new(),
        disabled: row.flag("disabled")?,
        created_at: row.millis("created_at")?,
        token_generation: row.seq("token_generation")?,
    })
}

/// An agent's session state, as the live sockets check it: id, token generation, disabled.
pub(crate) fn session_state(row: &impl Columns) -> StoreResult<(AgentId, u64, bool)> {
    Ok((AgentId(row.text("id")?), row.seq("token_generation")?, row.flag("disabled")?))
}

/// A conversation's columns (as `c`) and its last seq and last message time.
pub(crate) const SUMMARY_COLUMNS: &str = "c.id, c.tenant_id, c.site_id, c.visitor_id, c.status, c.agent_id,
        c.started_at, c.closed_at, c.rating, c.rating_comment, c.visitor_read_seq, c.agent_read_seq,
        COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conversation_id = c.id), 0) AS last_seq,
        (SELECT MAX(m.created_at) FROM messages m WHERE m.conversation_id = c.id) AS last_message_at";

pub(crate) fn summary(row: &impl Columns) -> StoreResult<ConversationSummary> {
    let status = row.text("status")?;
    Ok(ConversationSummary {
        conversation: ConversationView {
            id: ConversationId(row.text("id")?),
            site: SiteId(row.text("site_id")?),
            visitor: VisitorId(row.text("visitor_id")?),
            status: ConversationStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            agent: row.opt_text("agent_id")?.map(AgentId),
            started_at: row.millis("started_at")?,
            last_seq: row.seq("last_seq")?,
            rating: row.opt_int("rating")?.and_then(|r| u8::try_from(r).ok()),
            visitor_read_seq: row.seq("visitor_read_seq")?,
            agent_read_seq: row.seq("agent_read_seq")?,
        },
        tags: Vec::new(),
        rating_comment: row.opt_text("rating_comment")?,
        closed_at: row.opt_millis("closed_at")?,
        last_message_at: row.opt_millis("last_message_at")?,
    })
}

/// A conversation as a report reads it ([`super::statements::report_rows`]).
pub(crate) fn report_row(row: &impl Columns) -> StoreResult<ReportRow> {
    Ok(ReportRow {
        site: (SiteId(row.text("site_id")?), row.opt_text("site_name")?),
        agent: match row.opt_text("agent_id")? {
            Some(agent) => Some((AgentId(agent), row.opt_text("agent_name")?)),
            None => None,
        },
        started_at: row.millis("started_at")?,
        asked_at: row.opt_millis("asked_at")?,
        answered_at: row.opt_millis("answered_at")?,
        closed_at: row.opt_millis("closed_at")?,
        rating: row.opt_int("rating")?.and_then(|r| u8::try_from(r).ok()),
    })
}

/// Puts rows of `conversation_id`, `tag` into the summaries they belong to.
pub(crate) fn put_tags(rows: &[impl Columns], summaries: &mut [ConversationSummary]) -> StoreResult<()> {
    for row in rows {
        let conversation = row.text("conversation_id")?;
        if let Some(summary) = summaries.iter_mut().find(|c| c.conversation.id.as_str() == conversation) {
            summary.tags.push(row.text("tag")?);
        }
    }
    Ok(())
}

/// The record a room keeps of a listed conversation.
pub(crate) fn record_from_summary(tenant: &TenantId, summary: ConversationSummary) -> ConversationRecord {
    let view = summary.conversation;
    ConversationRecord {
        tenant: tenant.clone(),
        site: view.site,
        id: view.id,
        visitor: view.visitor,
        status: view.status,
        agent: view.agent,
        started_at: view.started_at,
        closed_at: summary.closed_at,
        rating: view.rating,
        rating_comment: summary.rating_comment,
        visitor_read_seq: view.visitor_read_seq,
        agent_read_seq: view.agent_read_seq,
    }
}

/// What a room loads of a conversation, given its latest cids newest first.
pub(crate) fn stored_conversation(
    tenant: &TenantId,
    summary: ConversationSummary,
    mut recent_cids: Vec<(String, Cid, u64)>,
) -> StoredConversation {
    recent_cids.reverse();
    StoredConversation {
        last_seq: summary.conversation.last_seq,
        last_activity: summary.last_message_at.unwrap_or(summary.conversation.started_at),
        record: record_from_summary(tenant, summary),
        recent_cids,
    }
}

pub(crate) const MESSAGE_COLUMNS: &str =
    "conversation_id, seq, site_id, sender_party, sender_id, sender_name, kind,
     body, cid, event, attachment, created_at";

pub(crate) fn message(row: &impl Columns) -> StoreResult<MessageView> {
    let party = row.text("sender_party")?;
    let kind = row.text("kind")?;
    Ok(MessageView {
        site: SiteId(row.text("site_id")?),
        conversation: ConversationId(row.text("conversation_id")?),
        seq: row.seq("seq")?,
        sender: Sender {
            party: Party::parse(&party).ok_or_else(|| corrupt("sender", &party))?,
            id: row.opt_text("sender_id")?,
            name: row.opt_text("sender_name")?,
        },
        kind: MessageKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        body: row.text("body")?,
        cid: row.opt_text("cid")?.map(Cid),
        at: row.millis("created_at")?,
        event: row
            .opt_text("event")?
            .map(|json| serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("event: {e}"))))
            .transpose()?,
        attachment: row
            .opt_text("attachment")?
            .map(|json| {
                serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("attachment: {e}")))
            })
            .transpose()?,
    })
}

/// One of a conversation's latest cids, as a room keeps them.
pub(crate) fn recent_cid(row: &impl Columns) -> StoreResult<(String, Cid, u64)> {
    Ok((row.text("sender_id")?, Cid(row.text("cid")?), row.seq("seq")?))
}

pub(crate) const PAGE_VIEW_COLUMNS: &str = "site_id, url, title, referrer, keywords, viewed_at";

pub(crate) fn page_view(row: &impl Columns) -> StoreResult<PageView> {
    Ok(PageView {
        site: SiteId(row.text("site_id")?),
        url: row.text("url")?,
        title: row.text("title")?,
        referrer: row.text("referrer")?,
        keywords: row.opt_text("keywords")?,
        at: row.millis("viewed_at")?,
    })
}

pub(crate) const LEAVE_COLUMNS: &str =
    "id, site_id, visitor_id, name, email, body, page_url, created_at, handled_at, handled_by";

pub(crate) fn leave_message(row: &impl Columns) -> StoreResult<LeaveMessage> {
    Ok(LeaveMessage {
        id: row.text("id")?,
        site: SiteId(row.text("site_id")?),
        visitor: row.opt_text("visitor_id")?.map(VisitorId),
        name: row.text("name")?,
        email: row.text("email")?,
        body: row.text("body")?,
        page_url: row.text("page_url")?,
        created_at: row.millis("created_at")?,
        handled_at: row.opt_millis("handled_at")?,
        handled_by: row.opt_text("handled_by")?.map(AgentId),
    })
}

pub(crate) const REPLY_COLUMNS: &str = "id, agent_id, title, body, created_at";

pub(crate) fn quick_reply(row: &impl Columns) -> StoreResult<QuickReply> {
    Ok(QuickReply {
        id: row.text("id")?,
        agent: row.opt_text("agent_id")?.map(AgentId),
        title: row.text("title")?,
        body: row.text("body")?,
        created_at: row.millis("created_at")?,
    })
}
