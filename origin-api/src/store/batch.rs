//! A group commit's writes sorted by table, and the values of their rows in the tables' column
//! order, the same for every backend.

use std::borrow::Cow;
use std::collections::HashMap;

use chat_core::ids::{AgentId, Cid, ConversationId, Millis, TenantId, VisitorId};
use chat_core::protocol::MessageView;
use chat_core::records::{ConversationRecord, PageViewRecord, WriteOp};

use super::rows::{attachment_json, event_json, sql_int, sql_time};

/// A group commit's writes, by table. The transaction makes them visible together, so their order
/// across tables does not matter; within a table it is kept, and of several states of one
/// conversation the last is stored.
pub(crate) struct Batch<'a> {
    pub conversations: Vec<&'a ConversationRecord>,
    pub messages: Vec<(&'a TenantId, &'a MessageView)>,
    pub page_views: Vec<&'a PageViewRecord>,
}

impl<'a> Batch<'a> {
    pub fn of(writes: &'a [WriteOp]) -> Self {
        let mut batch = Batch { conversations: Vec::new(), messages: Vec::new(), page_views: Vec::new() };
        let mut latest: HashMap<&ConversationId, usize> = HashMap::new();
        let mut views = std::collections::HashSet::new();
        for write in writes {
            match write {
                WriteOp::Conversation(record) => match latest.get(&record.id) {
                    Some(&at) => batch.conversations[at] = record,
                    None => {
                        latest.insert(&record.id, batch.conversations.len());
                        batch.conversations.push(record);
                    }
                },
                WriteOp::Message { tenant, message } => batch.messages.push((tenant, message)),
                // The same view twice (a visitor's two tabs in one millisecond) is one.
                WriteOp::PageView(view) => {
                    if views.insert(view_key(view)) {
                        batch.page_views.push(view);
                    }
                }
            }
        }
        batch
    }
}

/// What makes a page view the same one again: its tenant, visitor, time and address. Stored
/// with it under a unique index, so a batch stored again after its commit's answer was lost
/// adds no second row.
pub(crate) fn view_key(view: &PageViewRecord) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for part in [view.tenant.as_str(), view.visitor.as_str(), &view.at.0.to_string(), &view.page.url] {
        hasher.update(part.as_bytes());
        hasher.update([0]);
    }
    hasher.finalize()[..16].iter().map(|b| format!("{b:02x}")).collect()
}

/// One row per visitor of some page views: when they were first seen among them, and their last
/// view.
pub(crate) fn visits<'a>(views: &[&'a PageViewRecord]) -> Vec<(Millis, &'a PageViewRecord)> {
    let mut seen: HashMap<&VisitorId, (Millis, &PageViewRecord)> = HashMap::new();
    for view in views {
        let first = seen.get(&view.visitor).map_or(view.at, |(first, _)| (*first).min(view.at));
        seen.insert(&view.visitor, (first, view));
    }
    seen.into_values().collect()
}

/// A value of a row, borrowed from its write where it can be.
#[derive(Debug)]
pub(crate) enum Value<'a> {
    /// Text, or NULL.
    Text(Option<Cow<'a, str>>),
    /// An integer, or NULL.
    Int(Option<i64>),
}

/// A message's row: conversation_id, seq, tenant_id, site_id, sender_party, sender_id, sender_name,
/// kind, body, cid, event, attachment, created_at.
pub(crate) fn message<'a>(tenant: &'a TenantId, message: &'a MessageView) -> [Value<'a>; 13] {
    [
        text(message.conversation.as_str()),
        int(sql_int(message.seq)),
        text(tenant.as_str()),
        text(message.site.as_str()),
        text(message.sender.party.as_str()),
        opt_text(message.sender.id.as_deref()),
        opt_text(message.sender.name.as_deref()),
        text(message.kind.as_str()),
        text(message.body.as_str()),
        opt_text(message.cid.as_ref().map(Cid::as_str)),
        owned_text(event_json(message)),
        owned_text(attachment_json(message)),
        int(sql_time(message.at)),
    ]
}

/// A conversation's row: id, tenant_id, site_id, visitor_id, status, agent_id, started_at, closed_at,
/// rating, rating_comment, visitor_read_seq, agent_read_seq.
pub(crate) fn conversation(record: &ConversationRecord) -> [Value<'_>; 12] {
    [
        text(record.id.as_str()),
        text(record.tenant.as_str()),
        text(record.site.as_str()),
        text(record.visitor.as_str()),
        text(record.status.as_str()),
        opt_text(record.agent.as_ref().map(AgentId::as_str)),
        int(sql_time(record.started_at)),
        Value::Int(record.closed_at.map(sql_time)),
        Value::Int(record.rating.map(i64::from)),
        opt_text(record.rating_comment.as_deref()),
        int(sql_int(record.visitor_read_seq)),
        int(sql_int(record.agent_read_seq)),
    ]
}

/// A page view's row: tenant_id, site_id, visitor_id, url, title, referrer, keywords, viewed_at,
/// view_key.
pub(crate) fn page_view(view: &PageViewRecord) -> [Value<'_>; 9] {
    [
        text(view.tenant.as_str()),
        text(view.site.as_str()),
        text(view.visitor.as_str()),
        text(view.page.url.as_str()),
        text(view.page.title.as_str()),
        text(view.page.referrer.as_str()),
        opt_text(view.keywords.as_deref()),
        int(sql_time(view.at)),
        owned_text(Some(view_key(view))),
    ]
}

/// A visitor's row from their views: id, tenant_id, site_id, first_seen_at, last_seen_at, last_url.
pub(crate) fn visit(first: Millis, view: &PageViewRecord) -> [Value<'_>; 6] {
    [
        text(view.visitor.as_str()),
        text(view.tenant.as_str()),
        text(view.site.as_str()),
        int(sql_time(first)),
        int(sql_time(view.at)),
        text(view.page.url.as_str()),
    ]
}

fn text(value: &str) -> Value<'_> {
    Value::Text(Some(Cow::Borrowed(value)))
}

fn opt_text(value: Option<&str>) -> Value<'_> {
    Value::Text(value.map(Cow::Borrowed))
}

fn owned_text(value: Option<String>) -> Value<'static> {
    Value::Text(value.map(Cow::Owned))
}

fn int(value: i64) -> Value<'static> {
    Value::Int(Some(value))
}
