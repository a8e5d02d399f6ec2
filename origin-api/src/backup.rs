//! `kefu backup`: a copy of a SQLite database taken while the server runs. SQLite's `VACUUM INTO`
//! writes the database as one read transaction sees it, so the copy is consistent (every
//! committed message, none half-written) and writers are not held up (the database is in WAL
//! mode). MySQL/MariaDB and SQL Server have their own tools for this.

use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use sqlx::ConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;

/// Writes the database at `database_url` to `to`, a file that must not exist yet; answers its
/// size in bytes.
pub async fn sqlite(database_url: &str, to: &Path) -> anyhow::Result<u64> {
    if !database_url.starts_with("sqlite:") {
        anyhow::bail!(
            "kefu backup copies a SQLite database; back up MySQL or MariaDB with `mysqldump --single-transaction`, SQL Server with BACKUP DATABASE"
        );
    }
    if to.exists() {
        anyhow::bail!("{} exists already; name a new file", to.display());
    }
    let target = to.to_str().context("the backup's path must be UTF-8")?;
    let options = SqliteConnectOptions::from_str(database_url)
        .context("the database URL is not a SQLite URL")?
        .create_if_missing(false)
        .busy_timeout(std::time::Duration::from_secs(10));
    let mut conn = options.connect().await.context("cannot open the database")?;
    sqlx::query("VACUUM INTO ?")
        .bind(target)
        .execute(&mut conn)
        .await
        .with_context(|| format!("cannot write {}", to.display()))?;
    Ok(std::fs::metadata(to)?.len())
}
