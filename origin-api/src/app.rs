//! What every handler shares, and the one function that builds the whole router: the server binary,
//! a future Lambda entry point and the tests all serve this router.

use std::net::IpAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

use crate::auth::Keys;
use crate::clock::now;
use crate::config::Config;
use crate::error::MAX_JSON_BODY_BYTES;
use crate::files::{FileStorage, LocalFiles};
use crate::live::Hub;
use crate::live::ip::{IpLimits, SocketSlot};
use crate::store::Store;
use crate::{api, live, web};

/// Shared by every handler.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The records.
    pub store: Arc<dyn Store>,
    /// Token keys.
    pub keys: Arc<Keys>,
    /// Settings.
    pub config: Arc<Config>,
    /// The live rooms.
    pub hub: Arc<Hub>,
    /// Per-address limits.
    pub ip_limits: Arc<IpLimits>,
    /// Files sent in chats.
    pub files: Arc<dyn FileStorage>,
    /// The edge, told of changes, when rooms live there.
    pub edge: Option<crate::edge::Edge>,
}

impl AppState {
    /// State over an opened store.
    pub fn new(store: Arc<dyn Store>, keys: Keys, config: Config) -> AppState {
        let edge = match (&config.edge_url, &config.edge_secret) {
            (Some(url), Some(secret)) => Some(crate::edge::Edge::new(url, secret.clone())),
            _ => None,
        };
        AppState {
            hub: Hub::new(
                Arc::clone(&store),
                config.room_idle,
                config.data_dir.clone(),
                config.cluster.clone(),
            ),
            ip_limits: IpLimits::new(&config),
            edge: edge.clone(),
            // Behind the edge the files live in its R2 bucket; a Lambda's disk does not last.
            files: match edge {
                Some(edge) => Arc::new(crate::edge::EdgeFiles::new(edge)),
                None => Arc::new(LocalFiles::new(config.data_dir.join("files"))),
            },
            store,
            keys: Arc::new(keys),
            config: Arc::new(config),
        }
    }

    /// A socket place for `ip`, unless it has too many or the server is shutting down.
    pub(crate) fn open_socket(&self, ip: IpAddr) -> Option<SocketSlot> {
        if self.hub.is_shutting_down() {
            return None;
        }
        self.ip_limits.open_socket(ip, now())
    }
}

/// Every route: REST under `/api/v1/`, WebSockets under `/ws/`, `/healthz`, and the browser side
/// (`/embed.js`, `/chat/…`, `/assets/…`, `/demo`).
pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/api/v1", api::router().layer(DefaultBodyLimit::max(MAX_JSON_BODY_BYTES)))
        .merge(live::router())
        .merge(api::health::router())
        .merge(api::live::route_router())
        .merge(crate::metrics::router())
        .merge(api::internal::router())
        .merge(web::router())
        .with_state(state)
}
