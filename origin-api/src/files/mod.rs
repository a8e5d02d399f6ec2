//! Files sent in chats: what was uploaded (and by whom) and its bytes, behind one small trait so a
//! self-hosted server keeps them in a directory and the edge can keep them in R2.
//!
//! - [`sniff`] — what a file is, from its content.
//! - [`LocalFiles`] — files under the data directory: `files/<tenant>/<id>` and `<id>.json`.

pub mod sniff;

use std::io::ErrorKind;
use std::path::PathBuf;

use async_trait::async_trait;
use chat_core::ids::{Millis, SiteId, TenantId};
use chat_core::protocol::{AttachmentView, Party};
use serde::{Deserialize, Serialize};

/// An uploaded file's details.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct StoredFile {
    /// The tenant it belongs to.
    pub tenant: TenantId,
    /// The site it was uploaded for.
    pub site: SiteId,
    /// Visitor or agent.
    pub uploader_party: Party,
    /// The visitor's or agent's id.
    pub uploader: String,
    /// The file as messages carry it.
    #[serde(flatten)]
    pub view: AttachmentView,
    /// When it was uploaded.
    pub created_at: Millis,
}

/// Why a file could not be kept or read.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The disk (or bucket) is full; nothing was kept.
    #[error("no room left for files")]
    Full,
    /// Anything else.
    #[error("file storage failed: {0}")]
    Io(#[from] std::io::Error),
    /// Details that cannot be read back.
    #[error("corrupt file details: {0}")]
    Corrupt(String),
}

/// Where file bytes and details live.
#[async_trait]
pub trait FileStorage: std::fmt::Debug + Send + Sync + 'static {
    /// Keeps a file: all of it or, on failure, nothing.
    async fn put(&self, file: &StoredFile, bytes: &[u8]) -> Result<(), FileError>;
    /// A tenant's file and its bytes; `None` if the tenant has no such file.
    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<(StoredFile, Vec<u8>)>, FileError>;
}

/// Files in a directory: one folder per tenant; bytes and details side by side.
#[derive(Debug)]
pub struct LocalFiles {
    root: PathBuf,
}

impl LocalFiles {
    /// Files under `root` (created when the first file arrives).
    pub fn new(root: PathBuf) -> Self {
        LocalFiles { root }
    }

    /// The folder of a tenant's file, or `None` for names that could leave the root.
    fn place(&self, tenant: &TenantId, id: &str) -> Option<(PathBuf, PathBuf)> {
        let safe =
            |name: &str| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
        if !safe(tenant.as_str()) || !safe(id) {
            return None;
        }
        let folder = self.root.join(tenant.as_str());
        Some((folder.join(id), folder.join(format!("{id}.json"))))
    }
}

#[async_trait]
impl FileStorage for LocalFiles {
    async fn put(&self, file: &StoredFile, bytes: &[u8]) -> Result<(), FileError> {
        let (data, details) = self
            .place(&file.tenant, &file.view.id)
            .ok_or_else(|| FileError::Corrupt(format!("unusable file id {:?}", file.view.id)))?;
        let json = serde_json::to_vec(file).map_err(|e| FileError::Corrupt(e.to_string()))?;
        let written = async {
            if let Some(folder) = data.parent() {
                tokio::fs::create_dir_all(folder).await?;
            }
            // The details are written last, each through a temporary name: a file is there whole
            // or not at all, whatever stops the server midway.
            write_whole(&data, bytes).await?;
            write_whole(&details, &json).await
        }
        .await;
        if let Err(error) = written {
            let _ = tokio::fs::remove_file(&data).await;
            let _ = tokio::fs::remove_file(&details).await;
            return Err(match error.kind() {
                ErrorKind::StorageFull | ErrorKind::QuotaExceeded => FileError::Full,
                _ => FileError::Io(error),
            });
        }
        Ok(())
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<(StoredFile, Vec<u8>)>, FileError> {
        let Some((data, details)) = self.place(tenant, id) else { return Ok(None) };
        let json = match tokio::fs::read(&details).await {
            Ok(json) => json,
            Err(error) if error.kind() == ErrorKind::NotFound => return Ok(None),
            Err(error) => return Err(error.into()),
        };
        let file: StoredFile =
            serde_json::from_slice(&json).map_err(|e| FileError::Corrupt(e.to_string()))?;
        if file.tenant != *tenant {
            return Ok(None);
        }
        Ok(Some((file, tokio::fs::read(&data).await?)))
    }
}

async fn write_whole(path: &std::path::Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut partial = path.as_os_str().to_owned();
    partial.push(".partial");
    let written = match tokio::fs::write(&partial, bytes).await {
        Ok(()) => tokio::fs::rename(&partial, path).await,
        Err(error) => Err(error),
    };
    if written.is_err() {
        let _ = tokio::fs::remove_file(&partial).await;
    }
    written
}
