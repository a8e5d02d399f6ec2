//! Conversations, messages, page views, and the rooms' group commits.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_core::ids::{AgentId, Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::limits::CID_WINDOW;
use chat_core::protocol::{ConversationStatus, ConversationView, MessageKind, MessageView, Party, Sender};
use chat_core::records::{ConversationRecord, PageViewRecord, StoredConversation, WriteOp};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::{SqliteStore, millis, only_sites, opt_millis, sql_time};
use crate::store::{
    ConversationQuery, ConversationStore, ConversationSummary, MessageRange, PageView, StoreError,
    StoreResult, page_size,
};

/// Conversation columns plus its last seq and last message time.
const SUMMARY: &str = "SELECT c.id, c.tenant_id, c.site_id, c.visitor_id, c.status, c.agent_id, c.started_at,
        c.closed_at, c.rating, c.rating_comment, c.visitor_read_seq, c.agent_read_seq,
        COALESCE((SELECT MAX(m.seq) FROM messages m WHERE m.conversation_id = c.id), 0) AS last_seq,
        (SELECT m.created_at FROM messages m WHERE m.conversation_id = c.id ORDER BY m.seq DESC LIMIT 1)
            AS last_message_at
    FROM conversations c";

const MESSAGE_COLUMNS: &str =
    "conversation_id, seq, site_id, sender_party, sender_id, sender_name, kind, body, cid, event, created_at";

#[async_trait]
impl ConversationStore for SqliteStore {
    async fn list_conversations(
        &self,
        tenant: &TenantId,
        query: &ConversationQuery,
    ) -> StoreResult<Vec<ConversationSummary>> {
        let mut sql = QueryBuilder::<Sqlite>::new(SUMMARY);
        sql.push(" WHERE c.tenant_id = ").push_bind(tenant.as_str());
        if let Some(site) = &query.site {
            sql.push(" AND c.site_id = ").push_bind(site.as_str());
        }
        if let Some(sites) = &query.sites {
            only_sites(&mut sql, "c.site_id", sites);
        }
        if let Some(status) = query.status {
            sql.push(" AND c.status = ").push_bind(status.as_str());
        }
        if let Some(visitor) = &query.visitor {
            sql.push(" AND c.visitor_id = ").push_bind(visitor.as_str());
        }
        if let Some(before) = &query.before {
            sql.push(" AND c.id < ").push_bind(before.as_str());
        }
        sql.push(" ORDER BY c.id DESC LIMIT ").push_bind(i64::from(page_size(query.limit)));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(summary_from_row).collect()
    }

    async fn conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        let row = sqlx::query(&format!("{SUMMARY} WHERE c.tenant_id = ? AND c.id = ?"))
            .bind(tenant.as_str())
            .bind(conversation.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(summary_from_row).transpose()
    }

    async fn room_conversations(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        closed_since: Millis,
    ) -> StoreResult<Vec<StoredConversation>> {
        // Two indexed halves rather than one OR that would scan the site's whole history.
        let rows = sqlx::query(&format!(
            "{SUMMARY} WHERE c.tenant_id = ? AND c.site_id = ? AND c.status != 'closed'
             UNION ALL
             {SUMMARY} WHERE c.tenant_id = ? AND c.site_id = ? AND c.status = 'closed' AND c.closed_at >= ?"
        ))
        .bind(tenant.as_str())
        .bind(site.as_str())
        .bind(tenant.as_str())
        .bind(site.as_str())
        .bind(sql_time(closed_since))
        .fetch_all(&self.pool)
        .await?;
        let mut stored = Vec::with_capacity(rows.len());
        for row in &rows {
            let summary = summary_from_row(row)?;
            let cids = sqlx::query(
                "SELECT sender_id, cid, seq FROM messages
                 WHERE conversation_id = ? AND cid IS NOT NULL AND sender_id IS NOT NULL ORDER BY seq DESC LIMIT ?",
            )
            .bind(summary.conversation.id.as_str())
            .bind(i64::try_from(CID_WINDOW).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await?;
            let mut recent_cids = cids
                .iter()
                .map(|row| {
                    let seq = row.try_get::<i64, _>("seq")?.unsigned_abs();
                    Ok((row.try_get("sender_id")?, Cid(row.try_get("cid")?), seq))
                })
                .collect::<StoreResult<Vec<_>>>()?;
            recent_cids.reverse();
            stored.push(StoredConversation {
                last_seq: summary.conversation.last_seq,
                last_activity: summary.last_message_at.unwrap_or(summary.conversation.started_at),
                record: record_from_summary(tenant, summary),
                recent_cids,
            });
        }
        Ok(stored)
    }

    async fn messages(&self, tenant: &TenantId, range: &MessageRange) -> StoreResult<Vec<MessageView>> {
        let notes = if range.include_notes { "" } else { " AND kind != 'note'" };
        let rows = sqlx::query(&format!(
            "SELECT {MESSAGE_COLUMNS} FROM messages
             WHERE tenant_id = ? AND conversation_id = ? AND seq > ? AND seq <= ?{notes}
             ORDER BY seq LIMIT ?"
        ))
        .bind(tenant.as_str())
        .bind(range.conversation.as_str())
        .bind(i64::try_from(range.after_seq).unwrap_or(i64::MAX))
        .bind(i64::try_from(range.through_seq).unwrap_or(i64::MAX))
        .bind(i64::from(range.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(message_from_row).collect()
    }

    async fn apply_writes(&self, writes: &[WriteOp]) -> StoreResult<()> {
        let batch = Batch::of(writes);
        let mut tx = self.pool.begin().await?;
        for rows in batch.conversations.chunks(ROWS_PER_STATEMENT) {
            save_conversations(&mut tx, rows).await?;
        }
        for rows in batch.messages.chunks(ROWS_PER_STATEMENT) {
            insert_messages(&mut tx, rows).await?;
        }
        for rows in batch.page_views.chunks(ROWS_PER_STATEMENT) {
            save_page_views(&mut tx, rows).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn page_views(
        &self,
        tenant: &TenantId,
        visitor: &VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<PageView>> {
        let rows = sqlx::query(
            "SELECT site_id, url, title, referrer, keywords, viewed_at FROM page_views
             WHERE tenant_id = ? AND visitor_id = ? ORDER BY viewed_at DESC, id DESC LIMIT ?",
        )
        .bind(tenant.as_str())
        .bind(visitor.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(PageView {
                    site: SiteId(row.try_get("site_id")?),
                    url: row.try_get("url")?,
                    title: row.try_get("title")?,
                    referrer: row.try_get("referrer")?,
                    keywords: row.try_get("keywords")?,
                    at: millis(row, "viewed_at")?,
                })
            })
            .collect()
    }
}

/// Rows per INSERT: one statement per few hundred rows instead of one per row is what lets a
/// batch of thousands commit in milliseconds (SQLite allows 32,766 bound values per statement).
const ROWS_PER_STATEMENT: usize = 400;

/// A group commit's writes, by table. The transaction makes them visible together, so their order
/// across tables does not matter; within a table it is kept, and of several states of one
/// conversation the last is stored.
struct Batch<'a> {
    conversations: Vec<&'a ConversationRecord>,
    messages: Vec<(&'a TenantId, &'a MessageView)>,
    page_views: Vec<&'a PageViewRecord>,
}

impl<'a> Batch<'a> {
    fn of(writes: &'a [WriteOp]) -> Self {
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

/// Inserts skip rows that exist, so a batch retried after a commit whose answer was lost stores
/// nothing twice.
async fn insert_messages(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[(&TenantId, &MessageView)],
) -> StoreResult<()> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO messages (conversation_id, seq, tenant_id, site_id, sender_party, sender_id, sender_name,
             kind, body, cid, event, created_at) ",
    );
    sql.push_values(rows, |mut row, (tenant, message)| {
        let event = message.event.as_ref().and_then(|event| serde_json::to_string(event).ok());
        row.push_bind(message.conversation.as_str())
            .push_bind(i64::try_from(message.seq).unwrap_or(i64::MAX))
            .push_bind(tenant.as_str())
            .push_bind(message.site.as_str())
            .push_bind(message.sender.party.as_str())
            .push_bind(message.sender.id.as_deref())
            .push_bind(message.sender.name.as_deref())
            .push_bind(message.kind.as_str())
            .push_bind(message.body.as_str())
            .push_bind(message.cid.as_ref().map(Cid::as_str))
            .push_bind(event)
            .push_bind(sql_time(message.at));
    });
    sql.push(" ON CONFLICT DO NOTHING");
    let done = sql.build().execute(&mut **tx).await?;
    let skipped = rows.len() as u64 - done.rows_affected();
    if skipped > 0 {
        tracing::warn!(skipped, "messages were already stored");
    }
    Ok(())
}

async fn save_conversations(
    tx: &mut Transaction<'_, Sqlite>,
    rows: &[&ConversationRecord],
) -> StoreResult<()> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO conversations (id, tenant_id, site_id, visitor_id, status, agent_id, started_at, closed_at,
             rating, rating_comment, visitor_read_seq, agent_read_seq) ",
    );
    sql.push_values(rows, |mut row, record| {
        row.push_bind(record.id.as_str())
            .push_bind(record.tenant.as_str())
            .push_bind(record.site.as_str())
            .push_bind(record.visitor.as_str())
            .push_bind(record.status.as_str())
            .push_bind(record.agent.as_ref().map(AgentId::as_str))
            .push_bind(sql_time(record.started_at))
            .push_bind(record.closed_at.map(sql_time))
            .push_bind(record.rating.map(i64::from))
            .push_bind(record.rating_comment.as_deref())
            .push_bind(i64::try_from(record.visitor_read_seq).unwrap_or(i64::MAX))
            .push_bind(i64::try_from(record.agent_read_seq).unwrap_or(i64::MAX));
    });
    // The tenant check keeps a (impossible) clash of ids from touching another tenant's row.
    sql.push(
        " ON CONFLICT (id) DO UPDATE SET status = excluded.status, agent_id = excluded.agent_id,
             closed_at = excluded.closed_at, rating = excluded.rating, rating_comment = excluded.rating_comment,
             visitor_read_seq = excluded.visitor_read_seq, agent_read_seq = excluded.agent_read_seq
         WHERE conversations.tenant_id = excluded.tenant_id",
    );
    sql.build().execute(&mut **tx).await?;
    Ok(())
}

async fn save_page_views(tx: &mut Transaction<'_, Sqlite>, rows: &[&PageViewRecord]) -> StoreResult<()> {
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO page_views (tenant_id, site_id, visitor_id, url, title, referrer, keywords, viewed_at) ",
    );
    sql.push_values(rows, |mut row, view| {
        row.push_bind(view.tenant.as_str())
            .push_bind(view.site.as_str())
            .push_bind(view.visitor.as_str())
            .push_bind(view.page.url.as_str())
            .push_bind(view.page.title.as_str())
            .push_bind(view.page.referrer.as_str())
            .push_bind(view.keywords.as_deref())
            .push_bind(sql_time(view.at));
    });
    sql.build().execute(&mut **tx).await?;
    // One row per visitor: the last view of each in this batch.
    let mut last: HashMap<&VisitorId, &PageViewRecord> = HashMap::new();
    for view in rows {
        last.insert(&view.visitor, view);
    }
    let mut sql = QueryBuilder::<Sqlite>::new(
        "INSERT INTO visitors (id, tenant_id, site_id, first_seen_at, last_seen_at, last_url) ",
    );
    sql.push_values(last.values(), |mut row, view| {
        row.push_bind(view.visitor.as_str())
            .push_bind(view.tenant.as_str())
            .push_bind(view.site.as_str())
            .push_bind(sql_time(view.at))
            .push_bind(sql_time(view.at))
            .push_bind(view.page.url.as_str());
    });
    sql.push(
        " ON CONFLICT (id) DO UPDATE SET last_seen_at = excluded.last_seen_at, last_url = excluded.last_url
         WHERE visitors.tenant_id = excluded.tenant_id",
    );
    sql.build().execute(&mut **tx).await?;
    Ok(())
}

fn corrupt(what: &str, value: &str) -> StoreError {
    StoreError::Corrupt(format!("{what} {value:?}"))
}

fn summary_from_row(row: &SqliteRow) -> StoreResult<ConversationSummary> {
    let status: String = row.try_get("status")?;
    let rating: Option<i64> = row.try_get("rating")?;
    let seq = |column: &str| -> StoreResult<u64> { Ok(row.try_get::<i64, _>(column)?.unsigned_abs()) };
    Ok(ConversationSummary {
        conversation: ConversationView {
            id: ConversationId(row.try_get("id")?),
            site: SiteId(row.try_get("site_id")?),
            visitor: VisitorId(row.try_get("visitor_id")?),
            status: ConversationStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
            agent: row.try_get::<Option<String>, _>("agent_id")?.map(AgentId),
            started_at: millis(row, "started_at")?,
            last_seq: seq("last_seq")?,
            rating: rating.and_then(|r| u8::try_from(r).ok()),
            visitor_read_seq: seq("visitor_read_seq")?,
            agent_read_seq: seq("agent_read_seq")?,
        },
        rating_comment: row.try_get("rating_comment")?,
        closed_at: opt_millis(row, "closed_at")?,
        last_message_at: opt_millis(row, "last_message_at")?,
    })
}

fn record_from_summary(tenant: &TenantId, summary: ConversationSummary) -> ConversationRecord {
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

fn message_from_row(row: &SqliteRow) -> StoreResult<MessageView> {
    let party: String = row.try_get("sender_party")?;
    let kind: String = row.try_get("kind")?;
    let event: Option<String> = row.try_get("event")?;
    Ok(MessageView {
        site: SiteId(row.try_get("site_id")?),
        conversation: ConversationId(row.try_get("conversation_id")?),
        seq: row.try_get::<i64, _>("seq")?.unsigned_abs(),
        sender: Sender {
            party: Party::parse(&party).ok_or_else(|| corrupt("sender", &party))?,
            id: row.try_get("sender_id")?,
            name: row.try_get("sender_name")?,
        },
        kind: MessageKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        body: row.try_get("body")?,
        cid: row.try_get::<Option<String>, _>("cid")?.map(Cid),
        at: millis(row, "created_at")?,
        event: event
            .map(|json| serde_json::from_str(&json).map_err(|e| StoreError::Corrupt(format!("event: {e}"))))
            .transpose()?,
    })
}
