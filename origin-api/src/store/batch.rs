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
                WriteOp::PageView(view) => batch.page_views.push(view),
            }
        }
        batch
    }
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
