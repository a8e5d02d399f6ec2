//! Agents, the sites they serve, and refresh tokens.

use std::collections::HashMap;

use async_trait::async_trait;
use chat_core::ids::{AgentId, Millis, SiteId, TenantId};
use sqlx::any::AnyRow;
use sqlx::{Any, Transaction};

use super::{SqlStore, bound, conflict};
use crate::store::rows::{self, AGENT_COLUMNS, Columns, sql_time};
use crate::store::statements::{self, Statement};
use crate::store::{
    Agent, AgentPatch, AgentStore, MAX_ACCOUNTS_PER_EMAIL, NewAgent, RefreshToken, StoreError, StoreResult,
    sorted_sites,
};

const EMAIL_TAKEN: &str = "an agent of this organisation has this email";

#[async_trait]
impl AgentStore for SqlStore {
    async fn create_agent(&self, tenant: &TenantId, agent: NewAgent, now: Millis) -> StoreResult<Agent> {
        let (created, password_hash) = agent.into_agent(tenant, now);
        let mut tx = self.pool.begin().await?;
        insert_agent(&mut tx, &created, &password_hash).await?;
        replace_sites(&mut tx, tenant, &created.id, &created.sites).await?;
        tx.commit().await?;
        Ok(created)
    }

    async fn agent(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<Option<Agent>> {
        let row = sqlx::query(&format!("SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = ? AND id = ?"))
            .bind(tenant.as_str())
            .bind(agent.as_str())
            .fetch_optional(&self.pool)
            .await?;
        match row {
            Some(row) => Ok(Some(self.with_sites(vec![rows::agent(&row)?]).await?.remove(0))),
            None => Ok(None),
        }
    }

    async fn agents_by_email(&self, email: &str) -> StoreResult<Vec<(Agent, String)>> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE email = ? ORDER BY created_at, id LIMIT {MAX_ACCOUNTS_PER_EMAIL}"
        ))
        .bind(email.to_lowercase())
        .fetch_all(&self.pool)
        .await?;
        self.with_hashes(&rows).await
    }

    async fn agent_with_hash(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> StoreResult<Option<(Agent, String)>> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS}, password_hash FROM agents WHERE tenant_id = ? AND id = ?"
        ))
        .bind(tenant.as_str())
        .bind(agent.as_str())
        .fetch_all(&self.pool)
        .await?;
        Ok(self.with_hashes(&rows).await?.pop())
    }

    async fn list_agents(&self, tenant: &TenantId) -> StoreResult<Vec<Agent>> {
        let rows = sqlx::query(&format!(
            "SELECT {AGENT_COLUMNS} FROM agents WHERE tenant_id = ? ORDER BY created_at, id"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        let agents = rows.iter().map(rows::agent).collect::<StoreResult<Vec<_>>>()?;
        self.with_sites(agents).await
    }

    async fn update_agent(
        &self,
        tenant: &TenantId,
        agent: &AgentId,
        patch: AgentPatch,
    ) -> StoreResult<Option<Agent>> {
        // A list of sites given alone means "only these".
        let all_sites = patch.all_sites.or(patch.sites.as_ref().map(|_| false));
        let mut tx = self.pool.begin().await?;
        let done =
            bound(&statements::update_agent(tenant, agent, &patch, all_sites)).execute(&mut *tx).await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        match (all_sites, patch.sites) {
            (Some(true), _) => replace_sites(&mut tx, tenant, agent, &[]).await?,
            (_, Some(sites)) => replace_sites(&mut tx, tenant, agent, &sorted_sites(sites)).await?,
            _ => {}
        }
        // Disabled or given another role: every session ends, the tokens already issued too.
        if patch.disabled == Some(true) || patch.role.is_some() {
            bound(&statements::new_token_generation(tenant, agent)).execute(&mut *tx).await?;
            bound(&statements::delete_refresh_tokens(tenant, agent)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.agent(tenant, agent).await
    }

    async fn set_password(&self, tenant: &TenantId, agent: &AgentId, hash: &str) -> StoreResult<bool> {
        self.new_generation(statements::set_password(tenant, agent, hash), tenant, agent).await
    }

    async fn end_sessions(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool> {
        self.new_generation(statements::new_token_generation(tenant, agent), tenant, agent).await
    }

    async fn session_states_any_tenant(&self, agents: &[AgentId]) -> StoreResult<Vec<(AgentId, u64, bool)>> {
        let rows = bound(&statements::session_states(agents)).fetch_all(&self.pool).await?;
        rows.iter().map(rows::session_state).collect()
    }

    async fn delete_agent(&self, tenant: &TenantId, agent: &AgentId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM agents WHERE tenant_id = ? AND id = ?")
            .bind(tenant.as_str())
            .bind(agent.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn save_refresh_token(&self, token: RefreshToken, now: Millis) -> StoreResult<()> {
        // Two statements, not one transaction: the clearing of expired tokens need not go with the
        // new one, and in one transaction concurrent logins of an agent deadlock on MySQL (each
        // holds the gap its delete locked and waits for the other's to insert).
        sqlx::query("DELETE FROM refresh_tokens WHERE agent_id = ? AND expires_at <= ?")
            .bind(token.agent.as_str())
            .bind(sql_time(now))
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO refresh_tokens (token_hash, tenant_id, agent_id, expires_at) VALUES (?, ?, ?, ?)",
        )
        .bind(&token.hash)
        .bind(token.tenant.as_str())
        .bind(token.agent.as_str())
        .bind(sql_time(token.expires_at))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn take_refresh_token(&self, hash: &str) -> StoreResult<Option<RefreshToken>> {
        let row = sqlx::query(
            "SELECT token_hash, tenant_id, agent_id, expires_at FROM refresh_tokens WHERE token_hash = ?",
        )
        .bind(hash)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        // Of two requests with the same token, only the one whose delete removed it may use it.
        let done = sqlx::query("DELETE FROM refresh_tokens WHERE token_hash = ?")
            .bind(hash)
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Ok(None);
        }
        Ok(Some(RefreshToken {
            hash: row.text("token_hash")?,
            tenant: TenantId(row.text("tenant_id")?),
            agent: AgentId(row.text("agent_id")?),
            expires_at: row.millis("expires_at")?,
        }))
    }
}

impl SqlStore {
    /// The agents of rows that also hold `password_hash`, each with it.
    async fn with_hashes(&self, rows: &[AnyRow]) -> StoreResult<Vec<(Agent, String)>> {
        let hashes = rows.iter().map(|row| row.text("password_hash")).collect::<StoreResult<Vec<_>>>()?;
        let agents = self.with_sites(rows.iter().map(rows::agent).collect::<StoreResult<Vec<_>>>()?).await?;
        Ok(agents.into_iter().zip(hashes).collect())
    }

    /// Fills in the sites each agent serves (one agent: its rows only; several: the tenant's).
    async fn with_sites(&self, mut agents: Vec<Agent>) -> StoreResult<Vec<Agent>> {
        let rows = match agents.as_slice() {
            [] => return Ok(agents),
            [one] => {
                sqlx::query("SELECT agent_id, site_id FROM agent_sites WHERE agent_id = ? ORDER BY site_id")
                    .bind(one.id.as_str())
                    .fetch_all(&self.pool)
                    .await?
            }
            [first, ..] => {
                sqlx::query(
                    "SELECT s.agent_id, s.site_id FROM agent_sites s JOIN agents a ON a.id = s.agent_id
                     WHERE a.tenant_id = ? ORDER BY s.site_id",
                )
                .bind(first.tenant.as_str())
                .fetch_all(&self.pool)
                .await?
            }
        };
        let mut sites: HashMap<String, Vec<SiteId>> = HashMap::new();
        for row in rows {
            sites.entry(row.text("agent_id")?).or_default().push(SiteId(row.text("site_id")?));
        }
        for agent in &mut agents {
            agent.sites = sites.remove(agent.id.as_str()).unwrap_or_default();
        }
        Ok(agents)
    }
}

pub(super) async fn replace_sites(
    tx: &mut Transaction<'_, Any>,
    tenant: &TenantId,
    agent: &AgentId,
    sites: &[SiteId],
) -> StoreResult<()> {
    sqlx::query("DELETE FROM agent_sites WHERE agent_id = ?").bind(agent.as_str()).execute(&mut **tx).await?;
    for site in sites {
        // Only sites of the agent's own tenant can be attached.
        let done = bound(&statements::attach_site(tenant, agent, site)).execute(&mut **tx).await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Invalid(format!("there is no site {site}")));
        }
    }
    Ok(())
}

/// Inserts an agent and nothing else (their sites are [`replace_sites`]').
pub(super) async fn insert_agent(
    tx: &mut Transaction<'_, Any>,
    agent: &Agent,
    password_hash: &str,
) -> StoreResult<()> {
    bound(&statements::insert_agent(agent, password_hash))
        .execute(&mut **tx)
        .await
        .map_err(|e| conflict(e, EMAIL_TAKEN))?;
    Ok(())
}

impl SqlStore {
    /// Runs `change` (which starts a new token generation) and drops the agent's refresh tokens,
    /// together.
    async fn new_generation(
        &self,
        change: Statement,
        tenant: &TenantId,
        agent: &AgentId,
    ) -> StoreResult<bool> {
        let mut tx = self.pool.begin().await?;
        let done = bound(&change).execute(&mut *tx).await?;
        bound(&statements::delete_refresh_tokens(tenant, agent)).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done.rows_affected() > 0)
    }
}
