//! The browser code the Worker serves itself: the same built files `kefu serve` embeds
//! (`embed-js/dist/`, `visitor-web/dist/`), so visitors' pages load the loader, the chat window's
//! page (`/chat/{site_key}`, written as `kefu serve` writes it: `chat_core::chat_page`) and its
//! script from the edge.

use std::sync::OnceLock;

use chat_core::chat_page::{self, PageRequest, PageSite};
use sha2::{Digest, Sha256};
use worker::{Headers, Response, Url};

/// One built file.
struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
}

const EMBED_JS: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../embed-js/dist/embed.js"),
};
const CHAT_JS: Asset = Asset {
    content_type: "text/javascript; charset=utf-8",
    bytes: include_bytes!("../../visitor-web/dist/chat.js"),
};
const CHAT_CSS: Asset = Asset {
    content_type: "text/css; charset=utf-8",
    bytes: include_bytes!("../../visitor-web/dist/chat.css"),
};

/// The asset at `path`, if the Worker serves it.
pub fn serve(path: &str, url: &Url, request: &Headers) -> Option<worker::Result<Response>> {
    let (asset, cache) = match path {
        // The loader's URL never changes: kept a few minutes, so a new version reaches sites soon.
        "/embed.js" => (&EMBED_JS, "public, max-age=300"),
        "/assets/chat.js" => (&CHAT_JS, ""),
        "/assets/chat.css" => (&CHAT_CSS, ""),
        _ => return None,
    };
    Some(respond(asset, cache, url, request))
}

/// A built file's version: the start of its hash, as `kefu serve` names it.
fn version(asset: &Asset) -> String {
    Sha256::digest(asset.bytes)[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The window's page for `site` (`None`: no site has the key), with the headers the origin sends
/// with it.
pub fn chat_page(site: Option<&PageSite>, url: &Url, request: &Headers) -> worker::Result<Response> {
    static VERSIONS: OnceLock<(String, String)> = OnceLock::new();
    let headers = Headers::new();
    headers.set("content-type", "text/html; charset=utf-8")?;
    headers.set("x-content-type-options", "nosniff")?;
    headers.set("referrer-policy", "no-referrer")?;
    headers.set("cache-control", "no-cache")?;
    let Some(site) = site else {
        headers.set("content-security-policy", chat_page::NOT_FOUND_POLICY)?;
        let response = Response::from_html(chat_page::NOT_FOUND_HTML)?.with_status(404);
        return Ok(response.with_headers(headers));
    };
    let (css, js) = VERSIONS.get_or_init(|| (version(&CHAT_CSS), version(&CHAT_JS)));
    let query =
        |name: &str| url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned());
    let (embed, parent, lang) =
        (query("embed"), query("parent").unwrap_or_default(), query("lang").unwrap_or_default());
    let accept_language = request.get("accept-language")?.unwrap_or_default();
    let host = request.get("host")?;
    let asked = PageRequest {
        embed: embed.as_deref() == Some("1"),
        parent: &parent,
        lang: &lang,
        accept_language: &accept_language,
        host: host.as_deref(),
    };
    let page = chat_page::render(site, &asked, (css, js));
    headers.set("content-security-policy", &page.policy)?;
    Ok(Response::from_html(page.html)?.with_headers(headers))
}

fn respond(asset: &Asset, cache: &str, url: &Url, request: &Headers) -> worker::Result<Response> {
    let version = version(asset);
    let asked = url.query_pairs().find(|(name, _)| name == "v").map(|(_, value)| value.into_owned());
    // Linked with `?v=` its hash, a file may be kept for ever; otherwise it is checked each time.
    let cache = match cache {
        "" if asked.as_deref() == Some(version.as_str()) => "public, max-age=31536000, immutable",
        "" => "no-cache",
        cache => cache,
    };
    let etag = format!("\"{version}\"");
    let response = if request.get("if-none-match")?.as_deref() == Some(etag.as_str()) {
        Response::empty()?.with_status(304)
    } else {
        Response::from_bytes(asset.bytes.to_vec())?
    };
    let headers = Headers::new();
    headers.set("content-type", asset.content_type)?;
    headers.set("cache-control", cache)?;
    headers.set("etag", &etag)?;
    headers.set("x-content-type-options", "nosniff")?;
    // Sites that isolate themselves (COEP) may still load the loader.
    headers.set("cross-origin-resource-policy", "cross-origin")?;
    Ok(response.with_headers(headers))
}
