//! Telling the edge that a tenant's sites or agents changed. A site's room object keeps the
//! settings and the agents it fetched once; after a change the origin asks the Worker
//! (`POST {edge_url}/internal/v1/sites/{site}/changed`, signed with the edge secret) to have each
//! of the tenant's objects fetch them again. An agent whose token generation moved on (a new
//! password, "log out everywhere", disabling) or who no longer serves the site is sent away at
//! once, and their old tokens are refused at the next hello.

use chat_core::edge::{self, SIGNATURE_HEADER};
use chat_core::ids::TenantId;

use crate::app::AppState;
use crate::clock::now;

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
