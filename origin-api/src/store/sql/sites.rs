//! Sites.

use async_trait::async_trait;
use chat_core::ids::{Millis, SiteId, TenantId};
use sqlx::{Any, Executor};

use super::{SqlStore, conflict};
use crate::store::rows::{self, SITE_COLUMNS, origins_json, sql_time};
use crate::store::{NewSite, Site, SitePatch, SiteStore, StoreResult, new_id};

/// A site key: public, in every page of the site, unguessable so sites cannot be enumerated.
fn new_site_key() -> String {
    format!("k_{}", uuid::Uuid::new_v4().simple())
}

#[async_trait]
impl SiteStore for SqlStore {
    async fn create_site(&self, tenant: &TenantId, site: NewSite, now: Millis) -> StoreResult<Site> {
        let site = Site {
            tenant: tenant.clone(),
            id: SiteId(new_id("s")),
            key: new_site_key(),
            name: site.name,
            allowed_origins: site.allowed_origins,
            greeting: site.greeting,
            auto_assign: site.auto_assign,
            created_at: now,
        };
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
        sqlx::query(
            "UPDATE sites SET name = COALESCE(?, name), allowed_origins = COALESCE(?, allowed_origins),
                 greeting = COALESCE(?, greeting), auto_assign = COALESCE(?, auto_assign)
             WHERE tenant_id = ? AND id = ?",
        )
        .bind(patch.name)
        .bind(patch.allowed_origins.as_deref().map(origins_json))
        .bind(patch.greeting)
        .bind(patch.auto_assign.map(i64::from))
        .bind(tenant.as_str())
        .bind(site.as_str())
        .execute(&self.pool)
        .await?;
        self.site(tenant, site).await
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
    sqlx::query(
        "INSERT INTO sites (id, tenant_id, site_key, name, allowed_origins, greeting, auto_assign, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(site.id.as_str())
    .bind(site.tenant.as_str())
    .bind(&site.key)
    .bind(&site.name)
    .bind(origins_json(&site.allowed_origins))
    .bind(&site.greeting)
    .bind(i64::from(site.auto_assign))
    .bind(sql_time(site.created_at))
    .execute(executor)
    .await
    .map_err(|e| conflict(e, &format!("a site with the id {} or the key {} exists", site.id, site.key)))?;
    Ok(())
}
