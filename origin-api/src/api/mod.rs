//! The REST API under `/api/v1/`. One module per resource, each exporting `router()`; JSON in and
//! out; errors as `{"error": {"code", "message"}}`.

mod agents;
mod auth;
mod conversations;
pub mod health;
mod leave_messages;
mod quick_replies;
mod sites;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use serde::Serialize;

use crate::app::AppState;
use crate::error::{ApiError, ApiResult};

/// Every REST route.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(auth::router())
        .merge(sites::router())
        .merge(agents::router())
        .merge(quick_replies::router())
        .merge(conversations::router())
        .merge(leave_messages::router())
}

/// A page of a list, and the cursor for the next one.
#[derive(Debug, Serialize)]
pub struct Page<T> {
    /// This page.
    pub items: Vec<T>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<String>,
}

impl<T> Page<T> {
    /// A page of at most `limit`; full pages get a cursor from their last item.
    fn new(items: Vec<T>, limit: u32, cursor: impl Fn(&T) -> String) -> Self {
        let full = items.len() >= limit as usize;
        let next_before = items.last().filter(|_| full).map(cursor);
        Page { items, next_before }
    }
}

/// Checks a text field's length in characters.
fn check_length(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    crate::validate::length(field, value, min, max).map_err(ApiError::Invalid)
}

/// The client's address (from the socket; requests that came without one count as 0.0.0.0).
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl<S: Send + Sync> FromRequestParts<S> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        Ok(ClientIp(peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED))))
    }
}
