//! Sites.

use async_trait::async_trait;
use chat_core::identity::IdentitySecret;
use chat_core::ids::{Millis, SiteId, TenantId};
use sqlx::{Any, Executor};

use super::{SqlStore, bound, conflict};
use crate::store::rows::{self, SITE_COLUMNS};
use crate::store::statements;
use crate::store::{NewSite, Site, SitePatch, SiteStore, StoreResult};

#[async_trait]
impl SiteStore for SqlStore {
    async fn create_site(&self, tenant: &TenantId, site: NewSite, now: Millis) -> StoreResult<Site> {
        let site = site.into_site(tenant, now);
        insert_site(&self.pool, &site).await?;
        Ok(site)
    }

    async fn site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<Option<Site>> {
        let row = sqlx::query(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE tenant_id = ? AND id = ?"))
            .bind(tenant.as_str())
            .bind(site.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::site).transpose()
    }

    async fn site_by_key_any_tenant(&self, key: &str) -> StoreResult<Option<Site>> {
        let row = sqlx::query(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE site_key = ?"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::site).transpose()
    }

    async fn site_any_tenant(&self, site: &SiteId) -> StoreResult<Option<Site>> {
        let row = sqlx::query(&format!("SELECT {SITE_COLUMNS} FROM sites WHERE id = ?"))
            .bind(site.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(rows::site).transpose()
    }

    async fn list_sites(&self, tenant: &TenantId) -> StoreResult<Vec<Site>> {
        let rows = sqlx::query(&format!(
            "SELECT {SITE_COLUMNS} FROM sites WHERE tenant_id = ? ORDER BY created_at, id"
        ))
        .bind(tenant.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(rows::site).collect()
    }

    async fn update_site(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        patch: SitePatch,
    ) -> StoreResult<Option<Site>> {
        bound(&statements::update_site(tenant, site, patch)).execute(&self.pool).await?;
        self.site(tenant, site).await
    }

    async fn set_identity_secret(
        &self,
        tenant: &TenantId,
        site: &SiteId,
        secret: Option<&IdentitySecret>,
    ) -> StoreResult<bool> {
        let done = bound(&statements::set_identity_secret(tenant, site, secret)).execute(&self.pool).await?;
        Ok(done.rows_affected() > 0)
    }

    async fn delete_site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<bool> {
        let done = sqlx::query("DELETE FROM sites WHERE tenant_id = ? AND id = ?")
            .bind(tenant.as_str())
            .bind(site.as_str())
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() > 0)
    }
}

pub(super) async fn insert_site<'c>(
    executor: impl Executor<'c, Database = Any>,
    site: &Site,
) -> StoreResult<()> {
    bound(&statements::insert_site(site)).execute(executor).await.map_err(|e| {
        conflict(e, &format!("a site with the id {} or the key {} exists", site.id, site.key))
    })?;
    Ok(())
}
