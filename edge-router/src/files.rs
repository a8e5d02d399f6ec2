//! Files sent in chats, in the R2 bucket bound as `FILES`: the origin keeps them here through its
//! file storage (`origin_api::edge::EdgeFiles`), with signed `PUT` and `GET` on
//! `/internal/v1/files/{tenant}/{id}`. The details (who uploaded it, its name and type) travel as
//! JSON in `x-kefu-file` and stay with the bytes as the object's metadata.

use std::collections::HashMap;

use chat_core::edge::{self, SIGNATURE_HEADER};
use worker::{Env, Headers, Method, Request, Response, Url};

const BUCKET: &str = "FILES";
const FILE_HEADER: &str = "x-kefu-file";

pub async fn serve(mut request: Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let key = url.path().trim_start_matches("/internal/v1/files/").to_owned();
    let method = request.method();
    let body = if method == Method::Put { request.bytes().await? } else { Vec::new() };
    let secret = env.secret("EDGE_SECRET")?.to_string();
    let header = request.headers().get(SIGNATURE_HEADER)?;
    let signed = edge::verify(
        secret.as_bytes(),
        header.as_deref(),
        method.as_ref(),
        url.path(),
        &body,
        crate::cloudflare::now(),
    );
    let parts: Vec<&str> = key.split('/').collect();
    let safe = |name: &str| !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if signed.is_err() || parts.len() != 2 || !parts.iter().all(|part| safe(part)) {
        return Response::error("not found", 404);
    }
    let bucket = env.bucket(BUCKET)?;
    match method {
        Method::Put => {
            let details = request.headers().get(FILE_HEADER)?.unwrap_or_default();
            let metadata = HashMap::from([("file".to_owned(), details)]);
            bucket.put(key, body).custom_metadata(metadata).execute().await?;
            Response::ok("")
        }
        Method::Get => {
            let Some(object) = bucket.get(key).execute().await? else {
                return Response::error("not found", 404);
            };
            let details = object.custom_metadata()?.remove("file").unwrap_or_default();
            let bytes = match object.body() {
                Some(body) => body.bytes().await?,
                None => Vec::new(),
            };
            let headers = Headers::new();
            headers.set(FILE_HEADER, &details)?;
            headers.set("content-type", "application/octet-stream")?;
            Ok(Response::from_bytes(bytes)?.with_headers(headers))
        }
        _ => Response::error("not found", 404),
    }
}
