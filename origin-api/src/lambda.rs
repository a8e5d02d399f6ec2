//! The origin on AWS Lambda (`kefu-lambda`): the same router as `kefu serve`, fed the events of an
//! API Gateway HTTP API or a function URL (payload 2.0) by `lambda_http`. Rooms do not live here:
//! in the SaaS the edge hosts them and calls the internal endpoints; this function keeps the
//! records, answers REST and takes the rooms' outboxes.

use std::convert::Infallible;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use lambda_http::request::RequestContext;
use lambda_http::{RequestExt, service_fn};
use tower::ServiceExt;

use crate::app::{self, AppState};
use crate::auth::Keys;
use crate::config::Config;
use crate::store;

/// Opens the records, loads the keys and answers events until the runtime stops the function.
pub async fn run(config: Config) -> anyhow::Result<()> {
    let store = store::open(config.database_url.expose()).await?;
    let keys = Keys::load(config.signing_key.as_ref(), &*store).await?;
    let router = app::router(AppState::new(store, keys, config));
    lambda_http::run(service_fn(move |event| {
        let router = router.clone();
        async move { Ok::<_, Infallible>(handle(router, event).await) }
    }))
    .await
    .map_err(|error| anyhow::anyhow!("the Lambda runtime stopped: {error}"))
}

/// One event through the router. The caller's address is the one API Gateway saw (there is no
/// socket to ask); the answer's body is passed on as bytes.
pub async fn handle(router: Router, event: lambda_http::Request) -> lambda_http::Response<lambda_http::Body> {
    let source = match event.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(context)) => {
            context.http.source_ip.as_deref().and_then(|ip| ip.parse().ok())
        }
        _ => None,
    };
    let (parts, body) = event.into_parts();
    let mut request = axum::http::Request::from_parts(parts, Body::from(body.to_vec()));
    let ip = source.unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    request.extensions_mut().insert(ConnectInfo(SocketAddr::new(ip, 0)));
    let response = match router.oneshot(request).await {
        Ok(response) => response,
        Err(never) => match never {},
    };
    let (parts, body) = response.into_parts();
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => bytes,
        Err(error) => {
            tracing::error!(%error, "an answer's body could not be read");
            let mut failed = lambda_http::Response::new(lambda_http::Body::Empty);
            *failed.status_mut() = axum::http::StatusCode::INTERNAL_SERVER_ERROR;
            return failed;
        }
    };
    let body =
        if bytes.is_empty() { lambda_http::Body::Empty } else { lambda_http::Body::Binary(bytes.to_vec()) };
    lambda_http::Response::from_parts(parts, body)
}
