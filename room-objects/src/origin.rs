//! Requests to the origin API, signed with the secret the edge and the origin share
//! (`chat_core::edge`). The origin's address is the `ORIGIN_URL` variable, the secret is
//! `EDGE_SECRET`.

use chat_core::edge::{self, SIGNATURE_HEADER};
use chat_core::ids::Millis;
use serde::de::DeserializeOwned;
use worker::{Env, Fetch, Headers, Method, Request, RequestInit};

/// What asking the origin came to.
#[derive(Debug)]
pub enum Answer<T> {
    /// It answered 200 with this.
    Found(T),
    /// It answered 404.
    NotFound,
}

/// `GET path` on the origin, its JSON answer read as `T`.
pub async fn get<T: DeserializeOwned>(env: &Env, path: &str) -> worker::Result<Answer<T>> {
    let mut response = send(env, Method::Get, path, Vec::new()).await?;
    match response.status_code() {
        200 => Ok(Answer::Found(response.json().await?)),
        404 => Ok(Answer::NotFound),
        status => Err(worker::Error::RustError(format!("the origin answered {status} to {path}"))),
    }
}

/// `POST path` on the origin with a JSON body; an answer other than 200 is an error.
pub async fn post(env: &Env, path: &str, body: String) -> worker::Result<()> {
    let mut response = send(env, Method::Post, path, body.into_bytes()).await?;
    match response.status_code() {
        200 => Ok(()),
        status => {
            let text = response.text().await.unwrap_or_default();
            Err(worker::Error::RustError(format!("the origin answered {status} to {path}: {text}")))
        }
    }
}

async fn send(env: &Env, method: Method, path: &str, body: Vec<u8>) -> worker::Result<worker::Response> {
    let base = env.var("ORIGIN_URL")?.to_string();
    let secret = env.secret("EDGE_SECRET")?.to_string();
    let signature = edge::sign(secret.as_bytes(), method.as_ref(), path, now(), &body);
    let headers = Headers::new();
    headers.set(SIGNATURE_HEADER, &signature)?;
    headers.set("content-type", "application/json")?;
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers);
    if !body.is_empty() {
        init.with_body(Some(worker::js_sys::Uint8Array::from(body.as_slice()).into()));
    }
    let request = Request::new_with_init(&format!("{}{path}", base.trim_end_matches('/')), &init)?;
    Fetch::Request(request).send().await
}

/// The time, as the runtime gives it.
pub fn now() -> Millis {
    Millis(worker::Date::now().as_millis())
}
