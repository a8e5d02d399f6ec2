//! The SQLite backend: one file in WAL mode, `synchronous = FULL` so a commit survives power loss,
//! migrations run on open. One module per area.

mod agents;
mod conversations;
mod replies;
mod sites;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chat_core::ids::{Millis, SiteId, TenantId};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite};

use super::{ServerKeyStore, Store, StoreError, StoreResult, Tenant, TenantStore, new_id};

static MIGRATOR: Migrator = sqlx::migrate!("migrations/sqlite");

/// Records in one SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens (creating the file and its folder if needed) and migrates the database at `url`
    /// (`sqlite:PATH` or `sqlite::memory:`).
    pub async fn open(url: &str) -> StoreResult<Self> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            // The admin CLI writes to the same file while the server runs.
            .busy_timeout(Duration::from_secs(10));
        let folder = options.get_filename().parent().filter(|p| !p.as_os_str().is_empty());
        if let Some(folder) = folder {
            std::fs::create_dir_all(folder).map_err(|e| StoreError::Database(sqlx::Error::Io(e)))?;
        }
        let pool = SqlitePoolOptions::new().max_connections(8).connect_with(options).await?;
        MIGRATOR.run(&pool).await?;
        Ok(SqliteStore { pool })
    }
}

/// Maps a unique-constraint violation to `Conflict` with `what` as its message.
pub(super) fn conflict(error: sqlx::Error, what: &str) -> StoreError {
    match error.as_database_error() {
        Some(db) if db.is_unique_violation() => StoreError::Conflict(what.to_owned()),
        _ => StoreError::Database(error),
    }
}

pub(super) fn millis(row: &SqliteRow, column: &str) -> StoreResult<Millis> {
    let value: i64 = row.try_get(column)?;
    Ok(Millis(u64::try_from(value).unwrap_or_default()))
}

pub(super) fn opt_millis(row: &SqliteRow, column: &str) -> StoreResult<Option<Millis>> {
    let value: Option<i64> = row.try_get(column)?;
    Ok(value.map(|v| Millis(u64::try_from(v).unwrap_or_default())))
}

/// Adds ` AND column IN (sites…)` to a query: an agent's sites.
pub(super) fn only_sites(sql: &mut QueryBuilder<'_, Sqlite>, column: &str, sites: &[SiteId]) {
    sql.push(format!(" AND {column} IN ("));
    let mut list = sql.separated(", ");
    // No site has an empty id; it keeps `IN ()` valid when the agent has no site.
    list.push_bind("");
    for site in sites {
        list.push_bind(site.as_str().to_owned());
    }
    sql.push(")");
}

/// Milliseconds as SQLite stores integers.
pub(super) fn sql_time(at: Millis) -> i64 {
    i64::try_from(at.0).unwrap_or(i64::MAX)
}

#[async_trait]
impl TenantStore for SqliteStore {
    async fn create_tenant(&self, name: &str, now: Millis) -> StoreResult<Tenant> {
        let tenant = Tenant { id: TenantId(new_id("t")), name: name.to_owned(), created_at: now };
        sqlx::query("INSERT INTO tenants (id, name, created_at) VALUES (?, ?, ?)")
            .bind(tenant.id.as_str())
            .bind(&tenant.name)
            .bind(sql_time(now))
            .execute(&self.pool)
            .await?;
        Ok(tenant)
    }

    async fn tenant(&self, tenant: &TenantId) -> StoreResult<Option<Tenant>> {
        let row = sqlx::query("SELECT id, name, created_at FROM tenants WHERE id = ?")
            .bind(tenant.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(tenant_from_row).transpose()
    }

    async fn list_tenants(&self) -> StoreResult<Vec<Tenant>> {
        let rows = sqlx::query("SELECT id, name, created_at FROM tenants ORDER BY created_at, id")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(tenant_from_row).collect()
    }
}

fn tenant_from_row(row: &SqliteRow) -> StoreResult<Tenant> {
    Ok(Tenant {
        id: TenantId(row.try_get("id")?),
        name: row.try_get("name")?,
        created_at: millis(row, "created_at")?,
    })
}

#[async_trait]
impl ServerKeyStore for SqliteStore {
    async fn server_key(&self, name: &str) -> StoreResult<Option<Vec<u8>>> {
        let row = sqlx::query("SELECT value FROM server_keys WHERE name = ?")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|row| row.try_get("value")).transpose()?)
    }

    async fn init_server_key(&self, name: &str, value: &[u8], now: Millis) -> StoreResult<Vec<u8>> {
        sqlx::query("INSERT INTO server_keys (name, value, created_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING")
            .bind(name)
            .bind(value)
            .bind(sql_time(now))
            .execute(&self.pool)
            .await?;
        self.server_key(name).await?.ok_or_else(|| StoreError::Corrupt(format!("server key {name} vanished")))
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn ping(&self) -> StoreResult<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    async fn close(&self) {
        self.pool.close().await;
    }
}
