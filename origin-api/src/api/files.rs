//! Files sent in chats. Visitors upload with their visitor token, agents with their access token
//! (naming the site); the answer's `attachment_token` goes into the `send` frame. Files are read
//! back by agents of the tenant who see the site, and by visitors of the site: the files agents
//! sent, and their own.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use chat_core::ids::{SiteId, TenantId};
use chat_core::protocol::{AttachmentView, Party};
use chat_core::token::{self, AttachmentClaims};
use serde::{Deserialize, Serialize};

use super::ClientIp;
use crate::app::AppState;
use crate::auth::Caller;
use crate::clock::now;
use crate::error::{ApiError, ApiPath, ApiQuery, ApiResult};
use crate::files::sniff::{self, Refused};
use crate::files::{FileError, StoredFile};

/// Longest file name kept, in characters; longer names are cut (keeping the extension).
const MAX_NAME_CHARS: usize = 200;

pub fn router() -> Router<AppState> {
    Router::new().route("/files", post(upload)).route("/files/{id}", get(download))
}

#[derive(Deserialize)]
struct UploadQuery {
    /// The file's name as the person chose it.
    #[serde(default)]
    name: String,
    /// The site, for agents (visitors' tokens name theirs).
    site: Option<SiteId>,
}

#[derive(Serialize)]
struct Uploaded {
    attachment: AttachmentView,
    attachment_token: String,
}

async fn upload(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    caller: Caller,
    ApiQuery(query): ApiQuery<UploadQuery>,
    headers: HeaderMap,
    body: Body,
) -> ApiResult<(StatusCode, Json<Uploaded>)> {
    let (tenant, site, party, uploader) = match caller {
        Caller::Visitor(claims) => (claims.tenant, claims.site, Party::Visitor, claims.visitor.0),
        Caller::Agent(me) => {
            let site =
                query.site.clone().ok_or_else(|| ApiError::BadRequest("name the site: ?site=s_…".into()))?;
            let found = state.store.site(&me.tenant, &site).await?;
            if found.is_none() || !me.sees(&site) {
                return Err(ApiError::NotFound("no such site"));
            }
            (me.tenant, site, Party::Agent, me.agent.0)
        }
    };
    if !state.ip_limits.allow_upload(ip, now()) {
        return Err(ApiError::TooManyRequests("too many files from this address; wait a minute".into()));
    }
    let limit = state.config.max_upload_bytes;
    let too_large = || ApiError::TooLarge(format!("files are limited to {}", megabytes(limit)));
    let declared = headers.get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit) {
        return Err(too_large());
    }
    let bytes = axum::body::to_bytes(body, usize::try_from(limit).unwrap_or(usize::MAX))
        .await
        .map_err(|_| too_large())?;
    if bytes.is_empty() {
        return Err(ApiError::Invalid("the file is empty".into()));
    }
    let found = sniff::sniff(&bytes).map_err(|refused| match refused {
        Refused::Kind => ApiError::UnsupportedType(refused.to_string()),
        Refused::DamagedImage => ApiError::Invalid(refused.to_string()),
    })?;
    let view = AttachmentView {
        // 122 random bits: ids cannot be guessed.
        id: format!("f_{}", uuid::Uuid::new_v4().simple()),
        name: clean_name(&query.name),
        size: bytes.len() as u64,
        content_type: found.content_type.to_owned(),
        width: found.size.map(|(width, _)| width),
        height: found.size.map(|(_, height)| height),
    };
    let file = StoredFile {
        tenant: tenant.clone(),
        site: site.clone(),
        uploader_party: party,
        uploader: uploader.clone(),
        view: view.clone(),
        created_at: now(),
    };
    state.files.put(&file, &bytes).await.map_err(storage_error)?;
    let claims = AttachmentClaims { tenant, site, uploader, file: view.clone() };
    let attachment_token = token::sign_attachment(state.keys.signing(), claims);
    Ok((StatusCode::CREATED, Json(Uploaded { attachment: view, attachment_token })))
}

async fn download(
    State(state): State<AppState>,
    caller: Caller,
    ApiPath(id): ApiPath<String>,
) -> ApiResult<Response> {
    let tenant: &TenantId = match &caller {
        Caller::Agent(me) => &me.tenant,
        Caller::Visitor(claims) => &claims.tenant,
    };
    let (file, bytes) = state
        .files
        .get(tenant, &id)
        .await
        .map_err(storage_error)?
        .ok_or(ApiError::NotFound("no such file"))?;
    // A visitor reads what agents of the site sent and their own uploads, never another visitor's.
    let allowed = match &caller {
        Caller::Agent(me) => me.sees(&file.site),
        Caller::Visitor(claims) => {
            claims.site == file.site
                && (file.uploader_party == Party::Agent || file.uploader == claims.visitor.0)
        }
    };
    if !allowed {
        return Err(ApiError::NotFound("no such file"));
    }
    Ok(served(&file.view, bytes))
}

/// The file with headers that keep a browser from running anything in it: its sniffed type and
/// no guessing, no scripts, and a download for everything but pictures.
fn served(view: &AttachmentView, bytes: Vec<u8>) -> Response {
    let disposition = if view.is_image() { "inline" } else { "attachment" };
    let disposition = format!("{disposition}; filename*=UTF-8''{}", percent_encode(&view.name));
    let mut response = Body::from(Bytes::from(bytes)).into_response();
    let headers = response.headers_mut();
    let mut set = |name, value: &str| {
        if let Ok(value) = HeaderValue::from_str(value) {
            headers.insert(name, value);
        }
    };
    set(header::CONTENT_TYPE, &view.content_type);
    set(header::CONTENT_DISPOSITION, &disposition);
    set(header::X_CONTENT_TYPE_OPTIONS, "nosniff");
    set(header::CONTENT_SECURITY_POLICY, "default-src 'none'; sandbox");
    // A file's id names its bytes for ever.
    set(header::CACHE_CONTROL, "private, max-age=31536000, immutable");
    response
}

fn storage_error(error: FileError) -> ApiError {
    match error {
        FileError::Full => ApiError::StorageFull,
        other => ApiError::Internal(other.into()),
    }
}

/// The name without folders or control characters, at most [`MAX_NAME_CHARS`] (the extension
/// kept); `file` if nothing is left.
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let clean: String = base.chars().filter(|c| !c.is_control()).collect();
    let clean = clean.trim();
    if clean.is_empty() {
        return "file".to_owned();
    }
    if clean.chars().count() <= MAX_NAME_CHARS {
        return clean.to_owned();
    }
    let extension = clean.rsplit_once('.').map(|(_, ext)| ext).filter(|ext| ext.chars().count() <= 10);
    let keep = MAX_NAME_CHARS - extension.map_or(0, |ext| ext.chars().count() + 1);
    let stem: String = clean.chars().take(keep).collect();
    match extension {
        Some(ext) => format!("{stem}.{ext}"),
        None => stem,
    }
}

/// RFC 5987 encoding for `filename*`.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'.' | b'-' | b'_' | b'~' => (byte as char).to_string(),
            _ => format!("%{byte:02X}"),
        })
        .collect()
}

/// `10 MiB`, `512 KiB`, `100 bytes`.
fn megabytes(bytes: u64) -> String {
    match bytes {
        b if b >= 1024 * 1024 && b % (1024 * 1024) == 0 => format!("{} MiB", b / (1024 * 1024)),
        b if b >= 1024 && b % 1024 == 0 => format!("{} KiB", b / 1024),
        b => format!("{b} bytes"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lose_folders_and_control_characters_and_keep_their_extension() {
        assert_eq!(clean_name("../../etc/passwd"), "passwd");
        assert_eq!(clean_name("C:\\Users\\ana\\報告.pdf"), "報告.pdf");
        assert_eq!(clean_name("a\u{0}b\n.png"), "ab.png");
        assert_eq!(clean_name("   "), "file");
        let long = format!("{}.jpeg", "x".repeat(300));
        let cut = clean_name(&long);
        assert_eq!(cut.chars().count(), MAX_NAME_CHARS);
        assert!(cut.ends_with(".jpeg"));
        assert_eq!(percent_encode("a b\"c.pdf"), "a%20b%22c.pdf");
        assert_eq!(megabytes(10 * 1024 * 1024), "10 MiB");
    }
}
