//! Conversations, messages, page views, and the rooms' group commits.
use async_trait::async_trait;
use chat_core::ids::{AgentId, Cid, ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::limits::CID_WINDOW;
use chat_core::protocol::MessageView;
use chat_core::records::{ConversationRecord, PageViewRecord, StoredConversation, WriteOp};
use sqlx::{Any, Connection, QueryBuilder, Transaction};

use super::{Dialect, SqlStore, bound, paged};
use crate::store::batch::{Batch, view_key, visits};
use crate::store::rows::{
    self, MESSAGE_COLUMNS, PAGE_VIEW_COLUMNS, SUMMARY_COLUMNS, attachment_json, event_json, sql_int, sql_time,
};
use crate::store::statements;
use crate::store::statements::TextSearch;
use crate::store::{
    ConversationQuery, ConversationStore, ConversationSummary, MessageRange, PageView, Report, ReportQuery,
    StoreResult, page_size, report,
};

impl SqlStore {
    /// Puts each conversation's tags in its summary.
    async fn fill_tags(&self, tenant: &TenantId, summaries: &mut [ConversationSummary]) -> StoreResult<()> {
        if summaries.is_empty() {
            return Ok(());
        }
        let ids: Vec<&str> = summaries.iter().map(|c| c.conversation.id.as_str()).collect();
        let tags = statements::tags_of(tenant, &ids);
        let rows = bound(&tags).fetch_all(&self.pool).await?;
        rows::put_tags(&rows, summaries)
    }
}

#[async_trait]
impl ConversationStore for SqlStore {
    async fn list_conversations(
        &self,
        tenant: &TenantId,
        query: &ConversationQuery,
    ) -> StoreResult<Vec<ConversationSummary>> {
        let search = match self.dialect {
            Dialect::Sqlite => TextSearch::Trigram,
            Dialect::MySql => TextSearch::FullText,
        };
        let list = paged(statements::list_conversations(tenant, query, search), page_size(query.limit));
        let rows = bound(&list).fetch_all(&self.pool).await?;
        let mut summaries = rows.iter().map(rows::summary).collect::<StoreResult<Vec<_>>>()?;
        self.fill_tags(tenant, &mut summaries).await?;
        Ok(summaries)
    }

    async fn conversation(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
    ) -> StoreResult<Option<ConversationSummary>> {
        let row = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations c WHERE c.tenant_id = ? AND c.id = ?"
        ))
        .bind(tenant.as_str())
        .bind(conversation.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let mut found: Vec<_> = row.as_ref().map(rows::summary).transpose()?.into_iter().collect();
        self.fill_tags(tenant, &mut found).await?;
        Ok(found.pop())
    }

    async fn set_tags(
        &self,
        tenant: &TenantId,
        conversation: &ConversationId,
        tags: &[String],
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        // The first statement clears the tags: writing before reading, the transaction takes
        // SQLite's write lock at once (waiting its turn) rather than upgrading a read lock, which
        // fails at once while the search index is being written.
        let mut statements = statements::set_tags(tenant, conversation, tags).into_iter();
        if let Some(clear) = statements.next() {
            bound(&clear).execute(&mut *tx).await?;
        }
        let owned = sqlx::query("SELECT id FROM conversations WHERE tenant_id = ? AND id = ?")
            .bind(tenant.as_str())
            .bind(conversation.as_str())
            .fetch_optional(&mut *tx)
            .await?;
        if owned.is_none() {
            return Ok(false);
        }
        for statement in statements {
            bound(&statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    async fn report(&self, tenant: &TenantId, query: &ReportQuery) -> StoreResult<Report> {
        let rows = bound(&statements::report_rows(tenant, query)).fetch_all(&self.pool).await?;
        let rows = rows.iter().map(rows::report_row).collect::<StoreResult<Vec<_>>>()?;
        Ok(report::summarise(query, &rows))
    }

    async fn room_conversations(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        closed_since: Millis,
    ) -> StoreResult<Vec<StoredConversation>> {
        // Two indexed halves rather than one OR that would scan the site's whole history.
        let rows = sqlx::query(&format!(
            "SELECT {SUMMARY_COLUMNS} FROM conversations c
             WHERE c.tenant_id = ? AND c.site_id = ? AND c.status != 'closed'
             UNION ALL
             SELECT {SUMMARY_COLUMNS} FROM conversations c WHERE c.tenant_id = ? AND c.site_id = ? AND c.status = 'closed' AND c.closed_at >= ?"
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
            let summary = rows::summary(row)?;
            let cids = sqlx::query(
                "SELECT sender_id, cid, seq FROM messages
                 WHERE conversation_id = ? AND cid IS NOT NULL AND sender_id IS NOT NULL ORDER BY seq DESC LIMIT ?",
            )
            .bind(summary.conversation.id.as_str())
            .bind(sql_int(CID_WINDOW as u64))
            .fetch_all(&self.pool)
            .await?;
            let recent_cids = cids.iter().map(rows::recent_cid).collect::<StoreResult<Vec<_>>>()?;
            stored.push(rows::stored_conversation(tenant, summary, recent_cids));
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
        .bind(sql_int(range.after_seq))
        .bind(sql_int(range.through_seq))
        .bind(i64::from(range.limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::message).collect()
    }

    async fn apply_writes(&self, writes: &[WriteOp]) -> StoreResult<()> {
        self.commit_writes(writes, &[]).await
    }

    async fn page_views(
        &self,
        tenant: &TenantId,
        visitor: &VisitorId,
        limit: u32,
    ) -> StoreResult<Vec<PageView>> {
        let rows = sqlx::query(&format!(
            "SELECT {PAGE_VIEW_COLUMNS} FROM page_views
             WHERE tenant_id = ? AND visitor_id = ? ORDER BY viewed_at DESC, id DESC LIMIT ?"
        ))
        .bind(tenant.as_str())
        .bind(visitor.as_str())
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::page_view).collect()
    }

    async fn visitors(
        &self,
        tenant: &TenantId,
        after: Option<&VisitorId>,
        limit: u32,
    ) -> StoreResult<Vec<VisitorId>> {
        let rows = sqlx::query("SELECT id FROM visitors WHERE tenant_id = ? AND id > ? ORDER BY id LIMIT ?")
            .bind(tenant.as_str())
            .bind(after.map_or("", VisitorId::as_str))
            .bind(i64::from(limit))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|row| Ok(VisitorId(rows::Columns::text(row, "id")?))).collect()
    }
}

/// Stores writes in `tx`: one statement per table per few hundred rows.
impl SqlStore {
    /// Stores `writes` in one transaction, if each site's lease still has the fence given for it
    /// (see [`super::cluster`]).
    pub(super) async fn commit_writes(
        &self,
        writes: &[WriteOp],
        fences: &[(SiteId, u64)],
    ) -> StoreResult<()> {
        self.last_commit.store(crate::clock::now().0, std::sync::atomic::Ordering::Relaxed);
        let mut conn = self.writes.acquire().await?;
        let stored = async {
            let mut tx = conn.begin().await?;
            super::cluster::check_fences(&mut tx, self.dialect, fences).await?;
            store_writes(&mut tx, self.dialect, writes).await?;
            tx.commit().await?;
            StoreResult::Ok(())
        }
        .await;
        if matches!(stored, Err(ref error) if !matches!(error, crate::store::StoreError::Fenced(_))) {
            // A connection whose write failed may still hold its transaction (SQLite keeps the
            // write lock after a COMMIT refused for a full disk), and the retry would wait behind
            // it: close it rather than hand it back.
            let _ = conn.detach().close().await;
        }
        stored
    }
}

pub(super) async fn store_writes(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    writes: &[WriteOp],
) -> StoreResult<()> {
    let batch = Batch::of(writes);
    for rows in statements(&batch.conversations) {
        save_conversations(tx, dialect, rows).await?;
    }
    for rows in statements(&batch.messages) {
        insert_messages(tx, dialect, rows).await?;
    }
    for rows in statements(&batch.page_views) {
        save_page_views(tx, dialect, rows).await?;
    }
    Ok(())
}

/// Rows per INSERT: one statement per few hundred rows instead of one per row is what lets a
/// batch of thousands commit in milliseconds (SQLite allows 32,766 bound values per statement,
/// MySQL 65,535). Only these sizes are used, largest first, so each table's inserts are a few
/// statements the connection prepares once and keeps, not one to compile for every batch size.
const ROWS_PER_STATEMENT: [usize; 5] = [256, 64, 16, 4, 1];

/// `rows` in pieces of [`ROWS_PER_STATEMENT`] sizes.
fn statements<T>(mut rows: &[T]) -> impl Iterator<Item = &[T]> {
    std::iter::from_fn(move || {
        let size = ROWS_PER_STATEMENT.into_iter().find(|size| *size <= rows.len())?;
        let (piece, rest) = rows.split_at(size);
        rows = rest;
        Some(piece)
    })
}

/// Inserts skip rows that exist, so a batch retried after a commit whose answer was lost stores
/// nothing twice.
async fn insert_messages(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    rows: &[(&TenantId, &MessageView)],
) -> StoreResult<()> {
    let mut sql = QueryBuilder::<Any>::new(
        "INSERT INTO messages (conversation_id, seq, tenant_id, site_id, sender_party, sender_id, sender_name,
             kind, body, cid, event, attachment, created_at) ",
    );
    sql.push_values(rows, |mut row, (tenant, message)| {
        row.push_bind(message.conversation.as_str())
            .push_bind(sql_int(message.seq))
            .push_bind(tenant.as_str())
            .push_bind(message.site.as_str())
            .push_bind(message.sender.party.as_str())
            .push_bind(message.sender.id.as_deref())
            .push_bind(message.sender.name.as_deref())
            .push_bind(message.kind.as_str())
            .push_bind(message.body.as_str())
            .push_bind(message.cid.as_ref().map(Cid::as_str))
            .push_bind(event_json(message))
            .push_bind(attachment_json(message))
            .push_bind(sql_time(message.at));
    });
    sql.push(dialect.skip_existing("seq"));
    let done = sql.build().execute(&mut **tx).await?;
    let skipped = (rows.len() as u64).saturating_sub(done.rows_affected());
    if skipped > 0 {
        tracing::warn!(skipped, "messages were already stored");
    }
    Ok(())
}

async fn save_conversations(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    rows: &[&ConversationRecord],
) -> StoreResult<()> {
    let mut sql = QueryBuilder::<Any>::new(
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
            .push_bind(sql_int(record.visitor_read_seq))
            .push_bind(sql_int(record.agent_read_seq));
    });
    // The tenant check keeps a clash of ids (only an import can bring one) from touching
    // another tenant's row.
    sql.push(dialect.upsert(
        "conversations",
        &[
            "status",
            "agent_id",
            "closed_at",
            "rating",
            "rating_comment",
            "visitor_read_seq",
            "agent_read_seq",
        ],
    ));
    sql.build().execute(&mut **tx).await?;
    Ok(())
}

async fn save_page_views(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    rows: &[&PageViewRecord],
) -> StoreResult<()> {
    let mut sql = QueryBuilder::<Any>::new(
        "INSERT INTO page_views (tenant_id, site_id, visitor_id, url, title, referrer, keywords, viewed_at, view_key) ",
    );
    sql.push_values(rows, |mut row, view| {
        row.push_bind(view.tenant.as_str())
            .push_bind(view.site.as_str())
            .push_bind(view.visitor.as_str())
            .push_bind(view.page.url.as_str())
            .push_bind(view.page.title.as_str())
            .push_bind(view.page.referrer.as_str())
            .push_bind(view.keywords.as_deref())
            .push_bind(sql_time(view.at))
            .push_bind(view_key(view));
    });
    sql.push(dialect.skip_existing("view_key"));
    sql.build().execute(&mut **tx).await?;
    // One row per visitor: when this batch first and last saw them.
    let visits = visits(rows);
    let mut sql = QueryBuilder::<Any>::new(
        "INSERT INTO visitors (id, tenant_id, site_id, first_seen_at, last_seen_at, last_url) ",
    );
    sql.push_values(&visits, |mut row, (first, view)| {
        row.push_bind(view.visitor.as_str())
            .push_bind(view.tenant.as_str())
            .push_bind(view.site.as_str())
            .push_bind(sql_time(*first))
            .push_bind(sql_time(view.at))
            .push_bind(view.page.url.as_str());
    });
    sql.push(dialect.upsert("visitors", &["last_seen_at", "last_url"]));
    sql.build().execute(&mut **tx).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_is_cut_into_statements_of_a_few_sizes_in_order() {
        for len in [0, 1, 3, 4, 5, 255, 256, 400, 2_000] {
            let rows: Vec<usize> = (0..len).collect();
            let pieces: Vec<&[usize]> = statements(&rows).collect();
            assert_eq!(pieces.concat(), rows, "every row once, in order ({len})");
            assert!(pieces.iter().all(|piece| ROWS_PER_STATEMENT.contains(&piece.len())), "{len}");
            assert!(pieces.windows(2).all(|pair| pair[0].len() >= pair[1].len()), "largest first ({len})");
        }
        assert_eq!(statements(&[0u8; 400]).map(<[u8]>::len).collect::<Vec<_>>(), [256, 64, 64, 16]);
    }
}
