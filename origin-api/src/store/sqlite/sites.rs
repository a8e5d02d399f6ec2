//! Sites.

use async_trait::async_trait;
use chat_core::ids::{Millis, SiteId, TenantId};
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::{SqliteStore, conflict, millis, sql_time};
use crate::store::{NewSite, Site, SitePatch, SiteStore, StoreError, StoreResult, new_id};

const COLUMNS: &str = "id, tenant_id, site_key, name, allowed_origins, greeting, auto_assign, created_at";

/// A site key: public, in every page of the site, unguessable so sites cannot be enumerated.
fn new_site_key() -> String {
    format!("k_{}", uuid::Uuid::new_v4().simple())
}

#[async_trait]
impl SiteStore for SqliteStore {
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
        sqlx::query(
            "INSERT INTO sites (id, tenant_id, site_key, name, allowed_origins, greeting, auto_assign, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(site.id.as_str())
        .bind(tenant.as_str())
        .bind(&site.key)
        .bind(&site.name)
        .bind(origins_json(&site.allowed_origins))
        .bind(&site.greeting)
        .bind(site.auto_assign)
        .bind(sql_time(now))
        .execute(&self.pool)
        .await
        .map_err(|e| conflict(e, "a site with this key exists"))?;
        Ok(site)
    }

    async fn site(&self, tenant: &TenantId, site: &SiteId) -> StoreResult<Option<Site>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sites WHERE tenant_id = ? AND id = ?"))
            .bind(tenant.as_str())
            .bind(site.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    async fn site_by_key_any_tenant(&self, key: &str) -> StoreResult<Option<Site>> {
        let row = sqlx::query(&format!("SELECT {COLUMNS} FROM sites WHERE site_key = ?"))
            .bind(key)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(site_from_row).transpose()
    }

    async fn list_sites(&self, tenant: &TenantId) -> StoreResult<Vec<Site>> {
        let rows =
            sqlx::query(&format!("SELECT {COLUMNS} FROM sites WHERE tenant_id = ? ORDER BY created_at, id"))
                .bind(tenant.as_str())
                .fetch_all(&self.pool)
                .await?;
        rows.iter().map(site_from_row).collect()
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
        .bind(patch.auto_assign)
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

fn origins_json(origins: &[String]) -> String {
    serde_json::to_string(origins).unwrap_or_else(|_| "[]".to_owned())
}

fn site_from_row(row: &SqliteRow) -> StoreResult<Site> {
    let origins: String = row.try_get("allowed_origins")?;
    Ok(Site {
        tenant: TenantId(row.try_get("tenant_id")?),
        id: SiteId(row.try_get("id")?),
        key: row.try_get("site_key")?,
        name: row.try_get("name")?,
        allowed_origins: serde_json::from_str(&origins)
            .map_err(|e| StoreError::Corrupt(format!("allowed_origins: {e}")))?,
        greeting: row.try_get("greeting")?,
        auto_assign: row.try_get("auto_assign")?,
        created_at: millis(row, "created_at")?,
    })
}
