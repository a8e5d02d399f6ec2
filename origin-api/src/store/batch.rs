//! A group commit's writes sorted by table, the same for every backend.

use std::collections::HashMap;

use chat_core::ids::{ConversationId, Millis, TenantId, VisitorId};
use chat_core::protocol::MessageView;
use chat_core::records::{ConversationRecord, PageViewRecord, WriteOp};

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
