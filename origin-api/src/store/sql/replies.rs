//! Leave-a-messages and quick replies.

use async_trait::async_trait;
use chat_core::ids::{AgentId, Millis, TenantId};
use sqlx::{Any, Executor};

use super::{SqlStore, bound, conflict, paged};
use crate::store::rows::{self, LEAVE_COLUMNS, REPLY_COLUMNS};
use crate::store::statements;
use crate::store::{
    LeaveMessage, LeaveMessageQuery, LeaveMessageStore, NewLeaveMessage, NewQuickReply, QuickReply,
    QuickReplyPatch, QuickReplyStore, StoreResult, page_size,
};

#[async_trait]
impl LeaveMessageStore for SqlStore {
    async fn create_leave_message(
        &self,
        tenant: &TenantId,
        message: NewLeaveMessage,
        now: Millis,
    ) -> StoreResult<LeaveMessage> {
        let stored = message.into_message(now);
        insert_leave_message(&self.pool, tenant, &stored).await?;
        Ok(stored)
    }

    async fn list_leave_messages(
        &self,
        tenant: &TenantId,
        query: &LeaveMessageQuery,
    ) -> StoreResult<Vec<LeaveMessage>> {
        let list = paged(statements::list_leave_messages(tenant, query), page_size(query.limit));
        let rows = bound(&list).fetch_all(&self.pool).await?;
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
        bound(&statements::mark_handled(tenant, id, agent, now)).execute(&self.pool).await?;
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
        let stored = reply.into_reply(now);
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
        bound(&statements::update_quick_reply(tenant, id, patch)).execute(&self.pool).await?;
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
    bound(&statements::insert_leave_message(tenant, message))
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
    bound(&statements::insert_quick_reply(tenant, reply))
        .execute(executor)
        .await
        .map_err(|e| conflict(e, &format!("a quick reply with the id {} exists", reply.id)))?;
    Ok(())
}
