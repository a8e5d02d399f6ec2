//! The REST API under `/api/v1/`. One module per resource, each exporting `router()`; JSON in and
//! out; errors as `{"error": {"code", "message"}}`.

mod agents;
mod auth;
mod conversations;
mod files;
pub mod health;
pub mod internal;
mod leave_messages;
pub(crate) mod live;
mod quick_replies;
mod reports;
mod sites;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
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
        .merge(files::router())
        .merge(live::router())
        .merge(reports::router())
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

/// A list's `?limit=`: 1 to [`MAX_PAGE`](crate::store::MAX_PAGE), the default if absent.
fn page_limit(limit: Option<u32>) -> ApiResult<u32> {
    use crate::store::{DEFAULT_PAGE, MAX_PAGE};
    match limit {
        None => Ok(DEFAULT_PAGE),
        Some(limit) if (1..=MAX_PAGE).contains(&limit) => Ok(limit),
        Some(_) => Err(ApiError::Invalid(format!("limit is 1 to {MAX_PAGE}"))),
    }
}

/// Checks a text field's length in characters.
fn check_length(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    crate::validate::length(field, value, min, max).map_err(ApiError::Invalid)
}

/// The client's address: the socket's peer, or, when the peer is a trusted reverse proxy, the
/// last address in X-Forwarded-For that is not one. Requests without a socket count as 0.0.0.0.
#[derive(Debug, Clone, Copy)]
pub struct ClientIp(pub IpAddr);

impl FromRequestParts<AppState> for ClientIp {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|info| info.0.ip());
        let peer = peer.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
        Ok(ClientIp(client_address(peer, &parts.headers, &state.config.trusted_proxies)))
    }
}

fn client_address(peer: IpAddr, headers: &HeaderMap, trusted: &[IpAddr]) -> IpAddr {
    if !trusted.contains(&peer) {
        return peer;
    }
    // Each proxy appends the address it received from; walk back past the trusted ones.
    let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|value| value.to_str().ok());
    let hops: Vec<IpAddr> =
        forwarded.flat_map(|value| value.split(',')).filter_map(|hop| hop.trim().parse().ok()).collect();
    hops.into_iter().rev().find(|hop| !trusted.contains(hop)).unwrap_or(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_addresses_count_only_behind_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7".parse().unwrap());
        let client: IpAddr = "198.51.100.7".parse().unwrap();
        assert_eq!(client_address(proxy, &headers, &[proxy]), client);
        assert_eq!(client_address(proxy, &headers, &[]), proxy, "not trusted: the header is ignored");
        let other: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(client_address(other, &headers, &[proxy]), other);
        // A chain of two trusted proxies.
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        headers.insert("x-forwarded-for", "198.51.100.7, 10.0.0.1".parse().unwrap());
        assert_eq!(client_address(inner, &headers, &[proxy, inner]), client);
        headers.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_address(proxy, &headers, &[proxy]), proxy);
    }
}
