//! Leave-a-messages and quick replies.

use async_trait::async_trait;
use chat_core::ids::{AgentId, Millis, TenantId, VisitorId};
use sqlx::{Any, Executor, QueryBuilder};

use super::{SqlStore, conflict, only_sites};
use crate::store::rows::{self, LEAVE_COLUMNS, REPLY_COLUMNS, sql_time};
use crate::store::{
    LeaveMessage, LeaveMessageQuery, LeaveMessageStore, NewLeaveMessage, NewQuickReply, QuickReply,
    QuickReplyPatch, QuickReplyStore, StoreResult, new_id, page_size,
};

#[async_trait]
impl LeaveMessageStore for SqlStore {
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
        insert_leave_message(&self.pool, tenant, &stored).await?;
        Ok(stored)
    }

    async fn list_leave_messages(
        &self,
        tenant: &TenantId,
        query: &LeaveMessageQuery,
    ) -> StoreResult<Vec<LeaveMessage>> {
        let mut sql = QueryBuilder::<Any>::new(format!("SELECT {LEAVE_COLUMNS} FROM leave_messages"));
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
        rows.iter().map(rows::leave_message).collect()
    }

    async fn leave_message(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<LeaveMessage>> {
        let row = sqlx::query(&format!(
            "SELECT {LEAVE_COLUMNS} FROM leave_messages WHERE tenant_id = ? AND id = ?"
        ))
        .bind(tenant.as_str())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(rows::leave_message).transpose()
    }

    async fn mark_leave_message_handled(
        &self,
        tenant: &TenantId,
        id: &str,
        agent: &AgentId,
        now: Millis,
    ) -> StoreResult<Option<LeaveMessage>> {
        sqlx::query(
            "UPDATE leave_messages SET handled_at = COALESCE(handled_at, ?), handled_by = COALESCE(handled_by, ?)
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(sql_time(now))
        .bind(agent.as_str())
        .bind(tenant.as_str())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.leave_message(tenant, id).await
    }
}

#[async_trait]
impl QuickReplyStore for SqlStore {
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
        insert_quick_reply(&self.pool, tenant, &stored).await?;
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
        rows.iter().map(rows::quick_reply).collect()
    }

    async fn quick_reply(&self, tenant: &TenantId, id: &str) -> StoreResult<Option<QuickReply>> {
        let row =
            sqlx::query(&format!("SELECT {REPLY_COLUMNS} FROM quick_replies WHERE tenant_id = ? AND id = ?"))
                .bind(tenant.as_str())
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
        row.as_ref().map(rows::quick_reply).transpose()
    }

    async fn update_quick_reply(
        &self,
        tenant: &TenantId,
        id: &str,
        patch: QuickReplyPatch,
    ) -> StoreResult<Option<QuickReply>> {
        sqlx::query(
            "UPDATE quick_replies SET title = COALESCE(?, title), body = COALESCE(?, body)
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(patch.title)
        .bind(patch.body)
        .bind(tenant.as_str())
        .bind(id)
        .execute(&self.pool)
        .await?;
        self.quick_reply(tenant, id).await
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

pub(super) async fn insert_leave_message<'c>(
    executor: impl Executor<'c, Database = Any>,
    tenant: &TenantId,
    message: &LeaveMessage,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO leave_messages (id, tenant_id, site_id, visitor_id, name, email, body, page_url, created_at,
             handled_at, handled_by)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(&message.id)
    .bind(tenant.as_str())
    .bind(message.site.as_str())
    .bind(message.visitor.as_ref().map(VisitorId::as_str))
    .bind(&message.name)
    .bind(&message.email)
    .bind(&message.body)
    .bind(&message.page_url)
    .bind(sql_time(message.created_at))
    .bind(message.handled_at.map(sql_time))
    .bind(message.handled_by.as_ref().map(AgentId::as_str))
    .execute(executor)
    .await
    .map_err(|e| conflict(e, &format!("a leave-a-message with the id {} exists", message.id)))?;
    Ok(())
}

pub(super) async fn insert_quick_reply<'c>(
    executor: impl Executor<'c, Database = Any>,
    tenant: &TenantId,
    reply: &QuickReply,
) -> StoreResult<()> {
    sqlx::query(
        "INSERT INTO quick_replies (id, tenant_id, agent_id, title, body, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(&reply.id)
    .bind(tenant.as_str())
    .bind(reply.agent.as_ref().map(AgentId::as_str))
    .bind(&reply.title)
    .bind(&reply.body)
    .bind(sql_time(reply.created_at))
    .execute(executor)
    .await
    .map_err(|e| conflict(e, &format!("a quick reply with the id {} exists", reply.id)))?;
    Ok(())
}
