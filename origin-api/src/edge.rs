//! The origin's side of the edge: telling it of changes, and keeping files in its R2 bucket.
//!
//! A site's room object keeps the
//! settings and the agents it fetched once; after a change the origin asks the Worker
//! (`POST {edge_url}/internal/v1/sites/{site}/changed`, signed with the edge secret) to have each
//! of the tenant's objects fetch them again. An agent whose token generation moved on (a new
//! password, "log out everywhere", disabling) or who no longer serves the site is sent away at
//! once, and their old tokens are refused at the next hello.

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::edge::{self, SIGNATURE_HEADER};
use chat_core::ids::TenantId;

use crate::app::AppState;
use crate::clock::now;
use crate::files::{FileError, FileStorage, StoredFile};

/// The header a file's details travel in (JSON, in base64url), beside its bytes.
const FILE_HEADER: &str = "x-kefu-file";

/// Where the edge is and the secret it shares with the origin.
#[derive(Clone, Debug)]
pub struct Edge {
    url: String,
    secret: crate::config::Secret,
    client: reqwest::Client,
}

impl Edge {
    /// The edge at `url` (its Worker's address), signing with `secret`.
    pub fn new(url: &str, secret: crate::config::Secret) -> Edge {
        Edge { url: url.trim_end_matches('/').to_owned(), secret, client: reqwest::Client::new() }
    }

    /// A signed request to the Worker.
    fn request(&self, method: reqwest::Method, path: &str, body: &[u8]) -> reqwest::RequestBuilder {
        let signature = edge::sign(self.secret.expose().as_bytes(), method.as_str(), path, now(), body);
        self.client.request(method, format!("{}{path}", self.url)).header(SIGNATURE_HEADER, signature)
    }
}

/// Files in the edge's R2 bucket (the Worker's `FILES` binding), through its signed
/// `/internal/v1/files/{tenant}/{id}`: what the origin keeps when it runs on Lambda, whose disk
/// does not last.
#[derive(Debug)]
pub struct EdgeFiles {
    edge: Edge,
}

impl EdgeFiles {
    /// Files kept by the edge at `edge`.
    pub fn new(edge: Edge) -> Self {
        EdgeFiles { edge }
    }
}

fn file_path(tenant: &TenantId, id: &str) -> Option<String> {
    let safe = |name: &str| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (safe(tenant.as_str()) && safe(id)).then(|| format!("/internal/v1/files/{}/{id}", tenant.as_str()))
}

fn unreachable(error: impl std::fmt::Display) -> FileError {
    FileError::Io(std::io::Error::other(format!("the edge's file store: {error}")))
}

#[async_trait]
impl FileStorage for EdgeFiles {
    async fn put(&self, file: &StoredFile, bytes: &[u8]) -> Result<(), FileError> {
        let path = file_path(&file.tenant, &file.view.id)
            .ok_or_else(|| FileError::Corrupt(format!("unusable file id {:?}", file.view.id)))?;
        // Base64url: a header carries ASCII only, and names are in any script.
        let details = serde_json::to_vec(file).map_err(|e| FileError::Corrupt(e.to_string()))?;
        let details = URL_SAFE_NO_PAD.encode(details);
        let response = self
            .edge
            .request(reqwest::Method::PUT, &path, bytes)
            .header(FILE_HEADER, details)
            .body(bytes.to_vec())
            .send()
            .await
            .map_err(unreachable)?;
        match response.status().as_u16() {
            200 => Ok(()),
            507 => Err(FileError::Full),
            status => Err(unreachable(format!("answered {status}"))),
        }
    }

    async fn get(&self, tenant: &TenantId, id: &str) -> Result<Option<(StoredFile, Vec<u8>)>, FileError> {
        let Some(path) = file_path(tenant, id) else { return Ok(None) };
        let response =
            self.edge.request(reqwest::Method::GET, &path, b"").send().await.map_err(unreachable)?;
        match response.status().as_u16() {
            200 => {}
            404 => return Ok(None),
            status => return Err(unreachable(format!("answered {status}"))),
        }
        let details =
            response.headers().get(FILE_HEADER).and_then(|value| value.to_str().ok()).unwrap_or_default();
        let details = URL_SAFE_NO_PAD.decode(details).map_err(|e| FileError::Corrupt(e.to_string()))?;
        let file: StoredFile =
            serde_json::from_slice(&details).map_err(|e| FileError::Corrupt(e.to_string()))?;
        let bytes = response.bytes().await.map_err(unreachable)?;
        Ok((file.tenant == *tenant).then(|| (file, bytes.to_vec())))
    }
}

/// Tells the edge, in the background, that the tenant's sites or agents changed. A failed call is
/// logged; the objects keep what they had until the next change reaches them.
pub fn tenant_changed(state: &AppState, tenant: &TenantId) {
    let Some(edge) = state.edge.clone() else { return };
    let (store, tenant) = (state.store.clone(), tenant.clone());
    tokio::spawn(async move {
        let sites = match store.list_sites(&tenant).await {
            Ok(sites) => sites,
            Err(error) => return tracing::warn!(%error, "the edge could not be told of a change"),
        };
        for site in sites {
            let path = format!("/internal/v1/sites/{}/changed", site.id.0);
            let signature = edge::sign(edge.secret.expose().as_bytes(), "POST", &path, now(), b"");
            let sent = edge
                .client
                .post(format!("{}{path}", edge.url))
                .header(SIGNATURE_HEADER, signature)
                .send()
                .await;
            match sent {
                Ok(response) if response.status().is_success() => {}
                Ok(response) => {
                    tracing::warn!(status = %response.status(), site = %site.id.0, "the edge refused a change")
                }
                Err(error) => {
                    tracing::warn!(%error, site = %site.id.0, "the edge could not be told of a change")
                }
            }
        }
    });
}
