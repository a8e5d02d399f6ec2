//! Leave-a-messages and quick replies.

use async_trait::async_trait;
use chat_core::ids::{AgentId, Millis, SiteId, TenantId, VisitorId};
use sqlx::sqlite::SqliteRow;
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{SqliteStore, millis, only_sites, opt_millis, sql_time};
use crate::store::{
    LeaveMessage, LeaveMessageQuery, LeaveMessageStore, NewLeaveMessage, NewQuickReply, QuickReply,
    QuickReplyPatch, QuickReplyStore, StoreResult, new_id, page_size,
};

const LEAVE_COLUMNS: &str =
    "id, site_id, visitor_id, name, email, body, page_url, created_at, handled_at, handled_by";
const REPLY_COLUMNS: &str = "id, agent_id, title, body, created_at";

#[async_trait]
impl LeaveMessageStore for SqliteStore {
    async fn create_leave_message(
        &self,
        tenant: &TenantId,
        message: NewLeaveMessage,
        now: Millis,
    ) -> StoreResult<LeaveMessage> {
        let stored = LeaveMessage {
            id: new_id("lm"),
            site: message.site,
            visitor: message.visitor,
            name: message.name,
            email: message.email,
            body: message.body,
            page_url: message.page_url,
            created_at: now,
            handled_at: None,
            handled_by: None,
        };
        sqlx::query(
            "INSERT INTO leave_messages (id, tenant_id, site_id, visitor_id, name, email, body, page_url, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&stored.id)
        .bind(tenant.as_str())
        .bind(stored.site.as_str())
        .bind(stored.visitor.as_ref().map(VisitorId::as_str))
        .bind(&stored.name)
        .bind(&stored.email)
        .bind(&stored.body)
        .bind(&stored.page_url)
        .bind(sql_time(now))
        .execute(&self.pool)
        .await?;
        Ok(stored)
    }

    async fn list_leave_messages(
        &self,
        tenant: &TenantId,
        query: &LeaveMessageQuery,
    ) -> StoreResult<Vec<LeaveMessage>> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {LEAVE_COLUMNS} FROM leave_messages"));
        sql.push(" WHERE tenant_id = ").push_bind(tenant.as_str());
        match query.handled {
            Some(true) => {
                sql.push(" AND handled_at IS NOT NULL");
            }
            Some(false) => {
                sql.push(" AND handled_at IS NULL");
            }
            None => {}
        }
        if let Some(site) = &query.site {
            sql.push(" AND site_id = ").push_bind(site.as_str());
        }
        if let Some(sites) = &query.sites {
            only_sites(&mut sql, "site_id", sites);
        }
        if let Some(before) = &query.before {
            sql.push(" AND id < ").push_bind(before.as_str());
        }
        sql.push(" ORDER BY id DESC LIMIT ").push_bind(i64::from(page_size(query.limit)));
        let rows = sql.build().fetch_all(&self.pool).await?;
        rows.iter().map(leave_from_row).collect()
    }

    async fn leave_message(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<LeaveMessage>> {
        let row = sqlx::query(&format!(
            "SELECT {LEAVE_COLUMNS} FROM leave_messages WHERE tenant_id = ? AND id = ?"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(leave_from_row).transpose()
    }

    async fn mark_leave_message_handled(
        &self,
        tenant: &TenantId,
        id: &str,
        agent: &AgentId,
        now: Millis,
    ) -> StoreResult<Option<LeaveMessage>> {
        let row = sqlx::query(&format!(
            "UPDATE leave_messages SET handled_at = COALESCE(handled_at, ?), handled_by = COALESCE(handled_by, ?)
             WHERE tenant_id = ? AND id = ? RETURNING {LEAVE_COLUMNS}"
        ))
        .bind(sql_time(now))
        .bind(agent.as_str())
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(leave_from_row).transpose()
    }
}

fn leave_from_row(row: &SqliteRow) -> StoreResult<LeaveMessage> {
    Ok(LeaveMessage {
        id: row.try_get("id")?,
        site: SiteId(row.try_get("site_id")?),
        visitor: row.try_get::<Option<String>, _>("visitor_id")?.map(VisitorId),
        name: row.try_get("name")?,
        email: row.try_get("email")?,
        body: row.try_get("body")?,
        page_url: row.try_get("page_url")?,
        created_at: millis(row, "created_at")?,
        handled_at: opt_millis(row, "handled_at")?,
        handled_by: row.try_get::<Option<String>, _>("handled_by")?.map(AgentId),
    })
}

#[async_trait]
impl QuickReplyStore for SqliteStore {
    async fn create_quick_reply(
        &self,
        tenant: &TenantId,
        reply: NewQuickReply,
        now: Millis,
    ) -> StoreResult<QuickReply> {
        let stored = QuickReply {
            id: new_id("qr"),
            agent: reply.agent,
            title: reply.title,
            body: reply.body,
            created_at: now,
        };
        sqlx::query(
            "INSERT INTO quick_replies (id, tenant_id, agent_id, title, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(&stored.id)
        .bind(tenant.as_str())
        .bind(stored.agent.as_ref().map(AgentId::as_str))
        .bind(&stored.title)
        .bind(&stored.body)
        .bind(sql_time(now))
        .execute(&self.pool)
        .await?;
        Ok(stored)
    }

    async fn list_quick_replies(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<Vec<QuickReply>> {
        let rows = sqlx::query(&format!(
            "SELECT {REPLY_COLUMNS} FROM quick_replies WHERE tenant_id = ? AND (agent_id IS NULL OR agent_id = ?)
             ORDER BY title, id"
        ))
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(reply_from_row).collect()
    }

    async fn quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<QuickReply>> {
        let row =
            sqlx::query(&format!("SELECT {REPLY_COLUMNS} FROM quick_replies WHERE tenant_id = ? AND id = ?"))
                .bind(tenant.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(reply_from_row).transpose()
    }

    async fn update_quick_reply(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: QuickReplyPatch,
    ) -> StoreResult<Option<QuickReply>> {
        let row = sqlx::query(&format!(
            "UPDATE quick_replies SET title = COALESCE(?, title), body = COALESCE(?, body)
             WHERE tenant_id = ? AND id = ? RETURNING {REPLY_COLUMNS}"
        ))
        .bind(patch.title)
        .bind(patch.body)
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(reply_from_row).transpose()
    }

    async fn delete_quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM quick_replies WHERE tenant_id = ? AND id = ?")
            .bind(tenant.as_str())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

fn reply_from_row(row: &SqliteRow) -> StoreResult<QuickReply> {
    Ok(QuickReply {
        id: row.try_get("id")?,
        agent: row.try_get::<Option<String>, _>("agent_id")?.map(AgentId),
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        created_at: millis(row, "created_at")?,
    })
}
