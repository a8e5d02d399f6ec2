//! The browser code, embedded at compile time (`cargo run` needs no Node): built by
//! `npm run build` into `embed-js/dist/`, `visitor-web/dist/` and `agent-desktop/ui/dist/`, checked
//! fresh by the tests.
//! Each is gzipped once, on first use, and answers `If-None-Match` with 304.

use std::sync::LazyLock;

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use flate2::Compression;
use flate2::write::GzEncoder;
use sha2::{Digest, Sha256};

/// One file served as it was built.
#[derive(Debug)]
pub struct Asset {
    content_type: &'static str,
    bytes: &'static [u8],
    gzipped: Vec<u8>,
    /// A short hash of the bytes: the ETag, and the `?v=` that makes a URL cacheable for ever.
    pub version: String,
}

impl Asset {
    fn new(content_type: &'static str, bytes: &'static [u8]) -> Asset {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
        // Writing to a Vec cannot fail.
        let gzipped = std::io::Write::write_all(&mut encoder, bytes)
            .and_then(|()| encoder.finish())
            .unwrap_or_default();
        let digest = Sha256::digest(bytes);
        let version = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
        Asset { content_type, bytes, gzipped, version }
    }

    /// The asset, gzipped when the browser takes it, with `cache` as its Cache-Control.
    pub fn serve(&self, request: &HeaderMap, cache: &'static str) -> Response {
        let etag = format!("\"{}\"", self.version);
        let matches =
            request.get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).is_some_and(|v| v == etag);
        let gzip = !self.gzipped.is_empty()
            && request
                .get(header::ACCEPT_ENCODING)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.split(',').any(|coding| coding.trim().starts_with("gzip")));
        let mut response = if matches {
            StatusCode::NOT_MODIFIED.into_response()
        } else if gzip {
            Body::from(self.gzipped.clone()).into_response()
        } else {
            Body::from(self.bytes).into_response()
        };
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(self.content_type));
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
        if let Ok(etag) = HeaderValue::from_str(&etag) {
            headers.insert(header::ETAG, etag);
        }
        if gzip && !matches {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        }
        response
    }
}

/// The loader sites embed.
pub static EMBED_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("text/javascript; charset=utf-8", include_bytes!("../../../embed-js/dist/embed.js"))
});
/// The chat window's script.
pub static CHAT_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("text/javascript; charset=utf-8", include_bytes!("../../../visitor-web/dist/chat.js"))
});
/// The chat window's style sheet.
pub static CHAT_CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("text/css; charset=utf-8", include_bytes!("../../../visitor-web/dist/chat.css"))
});
/// The agent console's script.
pub static CONSOLE_JS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("text/javascript; charset=utf-8", include_bytes!("../../../agent-desktop/ui/dist/console.js"))
});
/// The agent console's style sheet.
pub static CONSOLE_CSS: LazyLock<Asset> = LazyLock::new(|| {
    Asset::new("text/css; charset=utf-8", include_bytes!("../../../agent-desktop/ui/dist/console.css"))
});
