//! The chat window's page and the demo page. The window may be framed only by the site's allowed
//! origins (`frame-ancestors`), runs only Kefu's own script, and talks only to Kefu.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chat_core::chat_page::{self, PageRequest, PageSite, escape, is_host};
use serde::Deserialize;

use super::DEMO_SITE_KEY;
use super::assets::{CHAT_CSS, CHAT_JS, CONSOLE_CSS, CONSOLE_JS};
use crate::app::AppState;
use crate::error::{ApiError, ApiPath};
use crate::store::Site;

const CONSOLE_HTML: &str = include_str!("console.html");

#[derive(Deserialize)]
pub(super) struct ChatQuery {
    /// `1` inside the loader's iframe.
    #[serde(default)]
    embed: String,
    /// The embedding page's origin: the only one the window talks to.
    #[serde(default)]
    parent: String,
    /// The language the page asked for.
    #[serde(default)]
    lang: String,
}

/// `/chat/{site_key}`: the window, for the loader's iframe or as a page of its own.
pub(super) async fn chat(
    State(state): State<AppState>,
    ApiPath(site_key): ApiPath<String>,
    Query(query): Query<ChatQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let Some(site) = state.store.site_by_key_any_tenant(&site_key).await? else {
        return Ok(not_found());
    };
    let header = |name| headers.get(name).and_then(|v: &HeaderValue| v.to_str().ok());
    let request = PageRequest {
        embed: query.embed == "1",
        parent: &query.parent,
        lang: &query.lang,
        accept_language: header(header::ACCEPT_LANGUAGE).unwrap_or_default(),
        host: header(header::HOST),
    };
    let page = chat_page::render(&page_site(&site, &state), &request, (&CHAT_CSS.version, &CHAT_JS.version));
    let mut response = Html(page.html).into_response();
    fence(&mut response, &page.policy);
    Ok(response)
}

/// What the window's page shows of a site (also what the edge renders it from).
pub(crate) fn page_site(site: &Site, state: &AppState) -> PageSite {
    PageSite {
        key: site.key.clone(),
        name: site.name.clone(),
        languages: site.widget.languages.clone(),
        allowed_origins: site.allowed_origins.clone(),
        max_upload_bytes: state.config.max_upload_bytes,
    }
}

/// `/console/`: the agents' console. It talks only to this server, and no page may frame it.
pub(super) async fn console(headers: HeaderMap) -> Response {
    let page = CONSOLE_HTML
        .replace("{css_version}", &CONSOLE_CSS.version)
        .replace("{js_version}", &CONSOLE_JS.version);
    let mut response = Html(page).into_response();
    let own = headers.get(header::HOST).and_then(|v| v.to_str().ok()).filter(|host| is_host(host));
    let sockets = own.map(|host| format!(" ws://{host} wss://{host}")).unwrap_or_default();
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    );
    fence(&mut response, &policy);
    response
}

#[derive(Deserialize)]
pub(super) struct DemoQuery {
    /// Another site's public key to try (its allowed origins must include this server).
    site: Option<String>,
}

/// `/demo`: a small shop page with the demo site's snippet, so a newcomer chats as a visitor at
/// once; with `?site=k_…`, any site's.
pub(super) async fn demo(
    State(state): State<AppState>,
    Query(query): Query<DemoQuery>,
) -> Result<Response, ApiError> {
    let key = match query.site {
        Some(key) => Some(key),
        None => state.store.server_key(DEMO_SITE_KEY).await?.and_then(|bytes| String::from_utf8(bytes).ok()),
    };
    let site = match key {
        Some(key) => state.store.site_by_key_any_tenant(&key).await?,
        None => None,
    };
    let Some(site) = site else { return Ok(not_found()) };
    let page =
        DEMO_HTML.replace("{site_name}", &escape(&site.name)).replace("{site_key}", &escape(&site.key));
    let mut response = Html(page).into_response();
    fence(
        &mut response,
        "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; base-uri 'none'",
    );
    Ok(response)
}

const DEMO_HTML: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{site_name} · Kefu demo</title>
<style>
body{margin:0;font:16px/1.5 system-ui,-apple-system,"Segoe UI","PingFang SC","Microsoft YaHei",sans-serif;color:#1f2328;background:#f6f8fa}
header{background:#fff;border-bottom:1px solid #d1d9e0;padding:16px 24px;font-weight:700;font-size:20px}
main{max-width:720px;margin:32px auto;padding:0 24px}
.card{background:#fff;border:1px solid #d1d9e0;border-radius:12px;padding:20px 24px;margin-bottom:16px}
code{background:#eef1f4;border-radius:6px;padding:2px 6px;font-size:14px;word-break:break-all}
</style>
</head>
<body>
<header>{site_name}</header>
<main>
<div class="card">
<h1>Try Kefu as a visitor · 以访客身份试用客服</h1>
<p>This page embeds the site <strong>{site_name}</strong> with one tag. Click the round button at the bottom right and write a message: an agent of the site sees you, your page and your message at once.</p>
<p>本页面用一行代码嵌入了 <strong>{site_name}</strong> 的在线客服。点击右下角的圆形按钮发送消息，客服会立即看到您、您所在的页面和您的消息。</p>
</div>
<div class="card">
<p>The tag on this page · 本页面的代码:</p>
<p><code>&lt;script async src="/embed.js" data-site="{site_key}"&gt;&lt;/script&gt;</code></p>
<p>The chat as a page of its own · 独立聊天页面: <a href="/chat/{site_key}">/chat/{site_key}</a></p>
</div>
</main>
<script async src="/embed.js" data-site="{site_key}"></script>
</body>
</html>
"#;

/// The language of the page's first paint (the window settles it once the site's settings come):
/// the one asked for, else the browser's, else the site's first.
fn not_found() -> Response {
    let mut response = (StatusCode::NOT_FOUND, Html(chat_page::NOT_FOUND_HTML)).into_response();
    fence(&mut response, chat_page::NOT_FOUND_POLICY);
    response
}

/// Headers every page gets: its policy, no type guessing, no referrer.
fn fence(response: &mut Response, policy: &str) {
    let headers = response.headers_mut();
    if let Ok(policy) = HeaderValue::from_str(policy) {
        headers.insert(header::CONTENT_SECURITY_POLICY, policy);
    }
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
}
