//! What browsers load from `kefu serve`: the loader sites embed (`/embed.js`), the chat window
//! (`/chat/{site_key}`, in the loader's iframe or as a page of its own) with its script and style
//! sheet, and `/demo`, a page that embeds the demo site so a newcomer can chat at once.
//!
//! - [`assets`] — the built browser code, embedded at compile time.
//! - `pages` — the HTML pages and the headers that fence them in (CSP, frame ancestors).

pub mod assets;
pub(crate) mod pages;

use axum::Router;
use axum::extract::Query;
use axum::http::{HeaderMap, HeaderValue};
use axum::response::{Redirect, Response};
use axum::routing::get;
use serde::Deserialize;

use crate::app::AppState;
use assets::{Asset, CHAT_CSS, CHAT_JS, CONSOLE_CSS, CONSOLE_JS, EMBED_JS};

/// The server-key name under which the first start keeps the demo site's public key.
pub const DEMO_SITE_KEY: &str = "demo-site-key";

/// Every route of the browser side.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/embed.js", get(embed_js))
        .route("/assets/chat.js", get(|q, h| versioned(&CHAT_JS, q, h)))
        .route("/assets/chat.css", get(|q, h| versioned(&CHAT_CSS, q, h)))
        .route("/chat/{site_key}", get(pages::chat))
        .route("/demo", get(pages::demo))
        .route("/console", get(|| async { Redirect::permanent("/console/") }))
        .route("/console/", get(pages::console))
        .route("/console/console.js", get(|q, h| versioned(&CONSOLE_JS, q, h)))
        .route("/console/console.css", get(|q, h| versioned(&CONSOLE_CSS, q, h)))
}

/// The loader's URL never changes, so browsers keep it only a few minutes: a new Kefu reaches
/// every site soon after an upgrade.
async fn embed_js(headers: HeaderMap) -> Response {
    let mut response = EMBED_JS.serve(&headers, "public, max-age=300");
    // Sites that isolate themselves (COEP) may still load it.
    response.headers_mut().insert("cross-origin-resource-policy", HeaderValue::from_static("cross-origin"));
    response
}

#[derive(Deserialize)]
struct Version {
    v: Option<String>,
}

/// The window's files are linked with `?v=` their hash: that URL may be kept for ever.
async fn versioned(asset: &'static Asset, Query(query): Query<Version>, headers: HeaderMap) -> Response {
    let forever = query.v.as_deref() == Some(asset.version.as_str());
    asset.serve(&headers, if forever { "public, max-age=31536000, immutable" } else { "no-cache" })
}
