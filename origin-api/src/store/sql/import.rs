//! Storing a tenant exported from another database, in one transaction.

use async_trait::async_trait;
use chat_core::records::WriteOp;
use sqlx::{Any, Transaction};

use super::agents::{insert_agent, replace_sites};
use super::conversations::store_writes;
use super::replies::{insert_leave_message, insert_quick_reply};
use super::sites::insert_site;
use super::{Dialect, SqlStore, insert_tenant};
use crate::store::{ImportCounts, ImportStore, StoreError, StoreResult, Tenant, TenantRecord};

/// Records held before they are written: a batch of writes is stored a few statements at a time.
const BATCH: usize = 2_000;

#[async_trait]
impl ImportStore for SqlStore {
    async fn import_tenant(
        &self,
        tenant: &Tenant,
        records: &mut (dyn Iterator<Item = Result<TenantRecord, String>> + Send),
    ) -> StoreResult<ImportCounts> {
        let mut tx = self.pool.begin().await?;
        insert_tenant(&mut *tx, tenant).await?;
        let mut counts = ImportCounts::default();
        let mut writes = Vec::with_capacity(BATCH);
        for record in records {
            let record = record.map_err(StoreError::Invalid)?;
            counts.add(&record);
            match record {
                TenantRecord::Write(write) => {
                    writes.push(write);
                    if writes.len() == BATCH {
                        store_writes(&mut tx, self.dialect, &writes).await?;
                        writes.clear();
                    }
                }
                other => {
                    // Sites come before the agents that serve them: keep the file's order.
                    flush(&mut tx, self.dialect, &mut writes).await?;
                    import_one(&mut tx, tenant, other).await?;
                }
            }
        }
        flush(&mut tx, self.dialect, &mut writes).await?;
        tx.commit().await?;
        Ok(counts)
    }
}

async fn flush(
    tx: &mut Transaction<'_, Any>,
    dialect: Dialect,
    writes: &mut Vec<WriteOp>,
) -> StoreResult<()> {
    if !writes.is_empty() {
        store_writes(tx, dialect, writes).await?;
        writes.clear();
    }
    Ok(())
}

async fn import_one(tx: &mut Transaction<'_, Any>, tenant: &Tenant, record: TenantRecord) -> StoreResult<()> {
    match record {
        TenantRecord::Site(site) => {
            insert_site(&mut **tx, &site).await?;
        }
        TenantRecord::Agent { agent, password_hash } => {
            insert_agent(tx, &agent, &password_hash).await?;
            replace_sites(tx, &tenant.id, &agent.id, &agent.sites).await?;
        }
        TenantRecord::QuickReply(reply) => {
            insert_quick_reply(&mut **tx, &tenant.id, &reply).await?;
        }
        TenantRecord::LeaveMessage(message) => {
            insert_leave_message(&mut **tx, &tenant.id, &message).await?;
        }
        TenantRecord::Write(_) => {}
    }
    Ok(())
}
