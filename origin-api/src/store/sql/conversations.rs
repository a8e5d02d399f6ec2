//! Conversations, messages, page views, and the rooms' group commits.
use async_trait::async_trait;
use chat_core::ids::{ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::limits::CID_WINDOW;
use chat_core::protocol::MessageView;
use chat_core::records::{StoredConversation, WriteOp};
use sqlx::{Any, Connection, Transaction};

use super::inserts;
use super::{Dialect, SqlStore, bound, paged};
use crate::store::batch::{Batch, Value};
use crate::store::rows::{self, MESSAGE_COLUMNS, PAGE_VIEW_COLUMNS, SUMMARY_COLUMNS, sql_int, sql_time};
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
        if let (Some(thread), []) = (&self.commit_thread, fences) {
            return thread.commit(writes).await;
        }
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
    for rows in inserts::statements(&Batch::of(writes)) {
        let sql = inserts::sql(rows.insert, rows.len(), dialect);
        let mut query = sqlx::query(&sql);
        for value in &rows.values {
            query = match value {
                Value::Text(text) => query.bind(text.as_deref()),
                Value::Int(int) => query.bind(*int),
            };
        }
        rows.stored(query.execute(&mut **tx).await?.rows_affected());
    }
    Ok(())
}
