//! The chat window's page and the demo page. The window may be framed only by the site's allowed
//! origins (`frame-ancestors`), runs only Kefu's own script, and talks only to Kefu.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::DEMO_SITE_KEY;
use super::assets::{CHAT_CSS, CHAT_JS, CONSOLE_CSS, CONSOLE_JS};
use crate::app::AppState;
use crate::error::{ApiError, ApiPath};
use crate::store::Site;

const CHAT_HTML: &str = include_str!("chat.html");
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
    let embed = query.embed == "1";
    let parent = if embed && is_origin(&query.parent) { query.parent.as_str() } else { "" };
    let wanted = if crate::validate::WIDGET_LANGUAGES.contains(&query.lang.as_str()) {
        query.lang.as_str()
    } else {
        ""
    };
    let lang = page_language(&site, wanted, &headers);
    let title = format!("{} · {}", site.name, if lang == "en" { "Chat" } else { "在线客服" });
    let page = CHAT_HTML
        .replace("{lang}", lang)
        .replace("{title}", &escape(&title))
        .replace("{css_version}", &CHAT_CSS.version)
        .replace("{js_version}", &CHAT_JS.version)
        .replace("{site_key}", &escape(&site.key))
        .replace("{embed}", if embed { "1" } else { "0" })
        .replace("{parent}", &escape(parent))
        .replace("{wanted_lang}", wanted)
        .replace("{max_upload}", &state.config.max_upload_bytes.to_string());
    let mut response = Html(page).into_response();
    let own = headers.get(header::HOST).and_then(|v| v.to_str().ok()).filter(|host| is_host(host));
    let sockets = own.map(|host| format!(" ws://{host} wss://{host}")).unwrap_or_default();
    let ancestors =
        if site.allowed_origins.is_empty() { "*".to_owned() } else { site.allowed_origins.join(" ") };
    let policy = format!(
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; \
         connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; frame-ancestors {ancestors}"
    );
    fence(&mut response, &policy);
    Ok(response)
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
fn page_language(site: &Site, wanted: &str, headers: &HeaderMap) -> &'static str {
    let offered = |lang: &str| site.widget.languages.iter().any(|l| l == lang);
    let accept = headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let browser = accept.split(',').map(|tag| tag.trim().to_ascii_lowercase());
    for tag in std::iter::once(wanted.to_ascii_lowercase()).chain(browser) {
        if tag.starts_with("zh") && offered("zh-CN") {
            return "zh-CN";
        }
        if tag.starts_with("en") && offered("en") {
            return "en";
        }
    }
    if site.widget.languages.first().is_some_and(|l| l == "zh-CN") { "zh-CN" } else { "en" }
}

fn not_found() -> Response {
    let page = "<!doctype html><meta charset=utf-8><title>Not found</title>\
                <p>This chat does not exist. 此在线客服不存在。</p>";
    let mut response = (StatusCode::NOT_FOUND, Html(page)).into_response();
    fence(&mut response, "default-src 'none'");
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

/// `scheme://host[:port]` with nothing else: what `postMessage` may target.
fn is_origin(text: &str) -> bool {
    let host = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    host.is_some_and(is_host)
}

fn is_host(host: &str) -> bool {
    !host.is_empty()
        && host.len() <= 255
        && host.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
}

/// Text for HTML text and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_escaped_and_only_origins_are_taken() {
        assert_eq!(escape(r#"<b onclick="x">&'"#), "&lt;b onclick=&quot;x&quot;&gt;&amp;&#39;");
        assert!(is_origin("https://shop.example:8443"));
        for bad in ["", "https://", "javascript:alert(1)", "https://a.example/x", "https://a\" onload=\"x"] {
            assert!(!is_origin(bad), "{bad}");
        }
    }
}
