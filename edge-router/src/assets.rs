//! The browser code the Worker serves itself: the same built files `kefu serve` embeds
//! (`embed-js/dist/`, `visitor-web/dist/`), so visitors' pages load the loader and the chat
//! window's script from the edge. The window's page (`/chat/{site_key}`) carries the site's own
//! frame-ancestors policy and comes from the origin.

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

fn respond(asset: &Asset, cache: &str, url: &Url, request: &Headers) -> worker::Result<Response> {
    let version: String = Sha256::digest(asset.bytes)[..8].iter().map(|b| format!("{b:02x}")).collect();
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
