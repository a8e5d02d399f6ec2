//! The cluster's nodes and site leases (see [`crate::store::ClusterStore`]). Every change is one
//! statement that checks what it expects (compare-and-set), so nodes racing for a site agree on
//! one holder without holding locks across round trips. The fence check of a write batch locks
//! the lease rows it reads until the batch commits (MySQL), so a node taking a site over waits
//! for the batch the previous holder was committing, and then loads the room with it.

use async_trait::async_trait;
use chat_core::ids::{Millis, SiteId};
use chat_core::records::WriteOp;
use sqlx::{Any, Row, Transaction};

use super::{Dialect, SqlStore};
use crate::store::rows::{Columns, sql_int, sql_time};
use crate::store::{ClusterStore, Lease, Node, StoreError, StoreResult};

const LEASE_COLUMNS: &str = "site_id, node, fence, expires_at, move_to";

fn lease(row: &sqlx::any::AnyRow) -> StoreResult<Lease> {
    Ok(Lease {
        site: SiteId(row.text("site_id")?),
        node: row.text("node")?,
        fence: row.seq("fence")?,
        expires_at: row.millis("expires_at")?,
        move_to: row.opt_text("move_to")?,
    })
}

impl SqlStore {
    async fn read_lease(&self, site: &SiteId) -> StoreResult<Option<Lease>> {
        let row = sqlx::query(&format!("SELECT {LEASE_COLUMNS} FROM site_leases WHERE site_id = ?"))
            .bind(site.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(lease).transpose()
    }

    async fn changed<'q>(
        &self,
        query: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments<'q>>,
    ) -> StoreResult<bool> {
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }
}

#[async_trait]
impl ClusterStore for SqlStore {
    async fn node_alive(&self, node: &str, url: &str, now: Millis) -> StoreResult<()> {
        let updated = sqlx::query("UPDATE cluster_nodes SET url = ?, heartbeat_at = ? WHERE name = ?")
            .bind(url)
            .bind(sql_time(now))
            .bind(node)
            .execute(&self.pool)
            .await?;
        if updated.rows_affected() == 0 {
            sqlx::query(&format!(
                "INSERT INTO cluster_nodes (name, url, heartbeat_at, draining) VALUES (?, ?, ?, 0){}",
                self.dialect.skip_existing("name")
            ))
            .bind(node)
            .bind(url)
            .bind(sql_time(now))
            .execute(&self.pool)
            .await?;
        }
        Ok(())
    }

    async fn nodes(&self) -> StoreResult<Vec<Node>> {
        let rows = sqlx::query("SELECT name, url, heartbeat_at, draining FROM cluster_nodes ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| {
                Ok(Node {
                    name: row.text("name")?,
                    url: row.text("url")?,
                    heartbeat_at: row.millis("heartbeat_at")?,
                    draining: row.flag("draining")?,
                })
            })
            .collect()
    }

    async fn set_draining(&self, node: &str, draining: bool) -> StoreResult<bool> {
        sqlx::query("UPDATE cluster_nodes SET draining = ? WHERE name = ?")
            .bind(i16::from(draining))
            .bind(node)
            .execute(&self.pool)
            .await?;
        Ok(self.nodes().await?.iter().any(|known| known.name == node))
    }

    async fn acquire_lease(&self, site: &SiteId, node: &str, now: Millis, ttl_ms: u64) -> StoreResult<Lease> {
        // Ours already, lapsed, or let go: ours, with the next fence.
        let taken = sqlx::query(
            "UPDATE site_leases SET node = ?, fence = fence + 1, expires_at = ?, move_to = NULL
             WHERE site_id = ? AND (node = ? OR expires_at <= ?)",
        )
        .bind(node)
        .bind(sql_time(Millis(now.0 + ttl_ms)))
        .bind(site.as_str())
        .bind(node)
        .bind(sql_time(now));
        if !self.changed(taken).await? {
            // Never held: the first fence, unless another node inserted it meanwhile.
            sqlx::query(&format!(
                "INSERT INTO site_leases ({LEASE_COLUMNS}) VALUES (?, ?, 1, ?, NULL){}",
                self.dialect.skip_existing("site_id")
            ))
            .bind(site.as_str())
            .bind(node)
            .bind(sql_time(Millis(now.0 + ttl_ms)))
            .execute(&self.pool)
            .await?;
        }
        self.read_lease(site)
            .await?
            .ok_or_else(|| StoreError::Corrupt(format!("the lease of {site} vanished")))
    }

    async fn renew_leases(&self, node: &str, now: Millis, ttl_ms: u64) -> StoreResult<Vec<Lease>> {
        sqlx::query("UPDATE site_leases SET expires_at = ? WHERE node = ? AND expires_at > ?")
            .bind(sql_time(Millis(now.0 + ttl_ms)))
            .bind(node)
            .bind(sql_time(now))
            .execute(&self.pool)
            .await?;
        let rows = sqlx::query(&format!(
            "SELECT {LEASE_COLUMNS} FROM site_leases WHERE node = ? AND expires_at > ? ORDER BY site_id"
        ))
        .bind(node)
        .bind(sql_time(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(lease).collect()
    }

    async fn hand_over_lease(
        &self,
        site: &SiteId,
        from: &str,
        fence: u64,
        to: &str,
        now: Millis,
        ttl_ms: u64,
    ) -> StoreResult<Option<Lease>> {
        let handed = sqlx::query(
            "UPDATE site_leases SET node = ?, fence = fence + 1, expires_at = ?, move_to = NULL
             WHERE site_id = ? AND node = ? AND fence = ?",
        )
        .bind(to)
        .bind(sql_time(Millis(now.0 + ttl_ms)))
        .bind(site.as_str())
        .bind(from)
        .bind(sql_int(fence));
        if self.changed(handed).await? { self.read_lease(site).await } else { Ok(None) }
    }

    async fn release_lease(&self, site: &SiteId, node: &str, fence: u64) -> StoreResult<bool> {
        let released = sqlx::query(
            "UPDATE site_leases SET expires_at = 0, move_to = NULL WHERE site_id = ? AND node = ? AND fence = ?",
        )
        .bind(site.as_str())
        .bind(node)
        .bind(sql_int(fence));
        self.changed(released).await
    }

    async fn request_move(&self, site: &SiteId, to: &str, now: Millis) -> StoreResult<bool> {
        sqlx::query("UPDATE site_leases SET move_to = ? WHERE site_id = ? AND expires_at > ?")
            .bind(to)
            .bind(site.as_str())
            .bind(sql_time(now))
            .execute(&self.pool)
            .await?;
        let lease = self.read_lease(site).await?;
        Ok(lease.is_some_and(|lease| lease.expires_at > now && lease.move_to.as_deref() == Some(to)))
    }

    async fn lease(&self, site: &SiteId) -> StoreResult<Option<Lease>> {
        self.read_lease(site).await
    }

    async fn leases(&self) -> StoreResult<Vec<Lease>> {
        let rows = sqlx::query(&format!("SELECT {LEASE_COLUMNS} FROM site_leases ORDER BY site_id"))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(lease).collect()
    }

    async fn hosted_sites(&self, now: Millis) -> StoreResult<Vec<(String, String)>> {
        let rows = sqlx::query(
            "SELECT sites.site_key, site_leases.node FROM site_leases \
             JOIN sites ON sites.id = site_leases.site_id WHERE site_leases.expires_at > ?",
        )
        .bind(sql_time(now))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|row| Ok((row.text("site_key")?, row.text("node")?))).collect()
    }

    async fn apply_fenced_writes(&self, writes: &[WriteOp], fences: &[(SiteId, u64)]) -> StoreResult<()> {
        self.commit_writes(writes, fences).await
    }
}

/// Within a write transaction: each site's lease still has the given fence, and (MySQL) stays so
/// until the transaction ends.
pub(super) async fn check_fences(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    fences: &[(SiteId, u64)],
) -> StoreResult<()> {
    let lock = match dialect {
        Dialect::MySql => " FOR UPDATE",
        // SQLite writes one transaction at a time: nothing changes the row before this commits.
        Dialect::Sqlite => "",
    };
    for (site, fence) in fences {
        let row = sqlx::query(&format!("SELECT fence FROM site_leases WHERE site_id = ?{lock}"))
            .bind(site.as_str())
            .fetch_optional(&mut **tx)
            .await?;
        let current: Option<i64> = row.map(|row| row.try_get("fence")).transpose()?;
        if current != i64::try_from(*fence).ok() {
            return Err(StoreError::Fenced(site.clone()));
        }
    }
    Ok(())
}
