//! The one error type of the HTTP API: 4xx bodies say what to fix; 5xx bodies say nothing more
//! than that it failed, and the details go to the log.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

use chat_core::ids::TenantId;

use crate::store::StoreError;

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The request is malformed.
    #[error("{0}")]
    BadRequest(String),
    /// No valid credentials.
    #[error("{0}")]
    Unauthorized(String),
    /// Valid credentials, not allowed.
    #[error("{0}")]
    Forbidden(String),
    /// Nothing there for this tenant.
    #[error("{0}")]
    NotFound(&'static str),
    /// A unique value is taken.
    #[error("{0}")]
    Conflict(String),
    /// Well-formed but not acceptable (a field's value).
    #[error("{0}")]
    Invalid(String),
    /// The email and password open accounts in several organisations: the login names one.
    #[error(
        "this email and password open accounts in several organisations; log in again naming one (\"tenant\")"
    )]
    ChooseTenant(Vec<(TenantId, String)>),
    /// Too many requests from this address.
    #[error("{0}")]
    TooManyRequests(String),
    /// The body is larger than allowed.
    #[error("{0}")]
    TooLarge(String),
    /// A file of a kind that is not accepted.
    #[error("{0}")]
    UnsupportedType(String),
    /// The server is too busy for this now (a flood of logins); try again shortly.
    #[error("{0}")]
    Busy(String),
    /// The server has no room left to keep it; nothing was kept.
    #[error("the server has no room to keep files right now; try again later")]
    StorageFull,
    /// The database cannot be reached.
    #[error("the service is unavailable; try again shortly")]
    Unavailable(#[source] StoreError),
    /// Anything else; logged, not shown.
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

impl ApiError {
    fn status_and_code(&self) -> (StatusCode, &'static str) {
        match self {
            ApiError::BadRequest(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            ApiError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            ApiError::Forbidden(_) => (StatusCode::FORBIDDEN, "forbidden"),
            ApiError::NotFound(_) => (StatusCode::NOT_FOUND, "not_found"),
            ApiError::Conflict(_) => (StatusCode::CONFLICT, "conflict"),
            ApiError::ChooseTenant(_) => (StatusCode::CONFLICT, "choose_tenant"),
            ApiError::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "invalid"),
            ApiError::TooManyRequests(_) => (StatusCode::TOO_MANY_REQUESTS, "rate_limited"),
            ApiError::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
            ApiError::UnsupportedType(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "unsupported_type"),
            ApiError::StorageFull => (StatusCode::INSUFFICIENT_STORAGE, "storage_full"),
            ApiError::Busy(_) => (StatusCode::SERVICE_UNAVAILABLE, "busy"),
            ApiError::Unavailable(_) => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
            ApiError::Internal(_) => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code) = self.status_and_code();
        match &self {
            ApiError::Internal(error) => tracing::error!(error = format!("{error:#}"), "request failed"),
            ApiError::Unavailable(error) => tracing::warn!(%error, "database unavailable"),
            ApiError::StorageFull => tracing::error!("file storage is full"),
            _ => {}
        }
        let mut error = json!({ "code": code, "message": self.to_string() });
        if let ApiError::ChooseTenant(tenants) = &self {
            error["tenants"] = tenants.iter().map(|(id, name)| json!({ "id": id, "name": name })).collect();
        }
        (status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Conflict(what) => ApiError::Conflict(what),
            StoreError::Invalid(what) => ApiError::Invalid(what),
            StoreError::Unavailable(_) => ApiError::Unavailable(error),
            other => ApiError::Internal(other.into()),
        }
    }
}

/// Largest JSON body the API reads (axum's default limit); larger ones are answered 413.
pub const MAX_JSON_BODY_BYTES: usize = 2 * 1024 * 1024;

impl From<JsonRejection> for ApiError {
    fn from(rejection: JsonRejection) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            return ApiError::TooLarge(format!(
                "request bodies are limited to {} MiB",
                MAX_JSON_BODY_BYTES >> 20
            ));
        }
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(rejection: QueryRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(rejection: PathRejection) -> Self {
        ApiError::BadRequest(rejection.body_text())
    }
}

/// `Json` whose rejections are [`ApiError`]s, so every error body has one shape.
#[derive(Debug, axum::extract::FromRequest)]
#[from_request(via(axum::Json), rejection(ApiError))]
pub struct ApiJson<T>(pub T);

/// `Query` whose rejections are [`ApiError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Query), rejection(ApiError))]
pub struct ApiQuery<T>(pub T);

/// `Path` whose rejections are [`ApiError`]s.
#[derive(Debug, axum::extract::FromRequestParts)]
#[from_request(via(axum::extract::Path), rejection(ApiError))]
pub struct ApiPath<T>(pub T);

/// Results of handlers.
pub type ApiResult<T> = Result<T, ApiError>;
