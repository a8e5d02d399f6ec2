//! The Worker: see the crate's documentation.

use std::cell::RefCell;
use std::collections::HashMap;

use crate::{assets, files};
use chat_core::edge::{self, SIGNATURE_HEADER, SiteKeyAnswer};
use chat_core::ids::{Millis, SiteId};
use chat_core::routes::{self, Route};
use worker::{
    Context, Env, Fetch, Headers, Method, Request, RequestInit, RequestRedirect, Response, Url, event,
};

/// The binding of the room objects' namespace.
const ROOMS: &str = "ROOMS";
/// How long a site key's answer is kept; an unknown key's for less.
const KEY_KEPT_MS: u64 = 60_000;
const UNKNOWN_KEY_KEPT_MS: u64 = 10_000;
/// Longest site key looked up.
const MAX_KEY_CHARS: usize = 64;

thread_local! {
    /// Site keys this isolate looked up: the site, or none, and until when the answer holds.
    static SITE_KEYS: RefCell<HashMap<String, (Option<SiteKeyAnswer>, u64)>> = RefCell::new(HashMap::new());
}

#[event(fetch)]
async fn fetch(request: Request, env: Env, _context: Context) -> worker::Result<Response> {
    let url = request.url()?;
    if let Some(asset) = assets::serve(url.path(), &url, request.headers()) {
        return asset;
    }
    let path = url.path();
    // What the origin signs is not counted against anyone's address.
    if !path.starts_with("/internal/") {
        let limiter = if path.starts_with("/ws/") { "NEW_SOCKETS" } else { "REQUESTS" };
        if !allowed(&request, &env, limiter).await? {
            return too_many();
        }
    }
    match path {
        "/ws/visitor" => visitor_socket(request, &url, &env).await,
        "/ws/agent" => agent_socket(request, &url, &env).await,
        path if path.starts_with("/internal/v1/sites/") && path.ends_with("/changed") => {
            changed(request, &url, &env).await
        }
        path if path.starts_with("/api/v1/visitor/conversations/") && path.ends_with("/messages") => {
            visitor_history(request, &url, &env).await
        }
        path if path.starts_with("/internal/v1/files/") => files::serve(request, &url, &env).await,
        path if path.starts_with("/chat/") => chat_page(&request, &url, &env).await,
        path if path.starts_with("/route/") => route(path),
        path if path.starts_with("/internal/") => Response::error("not found", 404),
        "/__test/evict" if room_objects::test_hooks(&env) => test_hook(&url, &env, "evict").await,
        "/__test/outbox" if room_objects::test_hooks(&env) => test_hook(&url, &env, "outbox").await,
        _ => proxy(request, &url, &env).await,
    }
}

/// Whether the caller's address may do one more of what `limiter` counts.
async fn allowed(request: &Request, env: &Env, limiter: &str) -> worker::Result<bool> {
    let address = request.headers().get("cf-connecting-ip")?.unwrap_or_default();
    Ok(env.rate_limiter(limiter)?.limit(address).await?.success)
}

fn too_many() -> worker::Result<Response> {
    let body = serde_json::json!({ "error": { "code": "rate_limited", "message": "too many requests from this address; try again in a few seconds" } });
    let response = Response::from_json(&body)?.with_status(429);
    response.headers().set("retry-after", "10")?;
    Ok(response)
}

/// `/route/{site_key}`: the edge sends every site's sockets to its room itself, so a visitor
/// connects here (docs/rest.md; the socket's upgrade refuses an unknown key).
fn route(path: &str) -> worker::Result<Response> {
    let key = path.trim_start_matches("/route/");
    if !routes::plausible_key(key) {
        return Response::error("no site has this key", 404);
    }
    let response = Response::from_json(&Route { url: routes::visitor_path(key) })?;
    response.headers().set("access-control-allow-origin", "*")?;
    response.headers().set("cache-control", "no-store")?;
    Ok(response)
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned())
}

async fn visitor_socket(request: Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let Some(key) = query(url, "site").filter(|key| !key.is_empty() && key.len() <= MAX_KEY_CHARS) else {
        return Response::error("name the site: /ws/visitor?site=<site key>", 400);
    };
    let site = match site_of_key(env, &key).await {
        Ok(Some(site)) => site,
        Ok(None) => return Response::error("no site has this key", 404),
        Err(error) => {
            worker::console_warn!("a site key could not be looked up: {error}");
            return Response::error("the service is unavailable; try again", 503);
        }
    };
    to_room(request, env, "visitor", &site.site).await
}

async fn agent_socket(request: Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let Some(site) = query(url, "site").filter(|site| site.starts_with("s_") && site.len() <= MAX_KEY_CHARS)
    else {
        return Response::error("name the site: /ws/agent?site=<site id>", 400);
    };
    to_room(request, env, "agent", &SiteId(site)).await
}

/// `/chat/{site_key}`: the chat window's page, written here from the site key's answer.
async fn chat_page(request: &Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let key = url.path().trim_start_matches("/chat/");
    if key.is_empty() || key.len() > MAX_KEY_CHARS || key.contains('/') {
        return assets::chat_page(None, url, request.headers());
    }
    match site_of_key(env, key).await {
        Ok(site) => assets::chat_page(site.as_ref().map(|site| &site.page), url, request.headers()),
        Err(error) => {
            worker::console_warn!("a site key could not be looked up: {error}");
            Response::error("the service is unavailable; try again", 503)
        }
    }
}

/// The origin says a site's settings or agents changed: its object fetches them again. Only the
/// origin can say so (signed with the edge secret).
async fn changed(mut request: Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let secret = env.secret("EDGE_SECRET")?.to_string();
    let body = request.bytes().await?;
    let header = request.headers().get(SIGNATURE_HEADER)?;
    let signed = edge::verify(secret.as_bytes(), header.as_deref(), "POST", url.path(), &body, now());
    if request.method() != Method::Post || signed.is_err() {
        return Response::error("not found", 404);
    }
    let site = url.path().trim_start_matches("/internal/v1/sites/").trim_end_matches("/changed");
    if !site.starts_with("s_") || site.contains('/') {
        return Response::error("not found", 404);
    }
    let stub = env.durable_object(ROOMS)?.id_from_name(site)?.get_stub()?;
    let mut init = RequestInit::new();
    init.with_method(Method::Post);
    stub.fetch_with_request(Request::new_with_init(&format!("https://room/changed?site={site}"), &init)?)
        .await
}

/// A visitor's conversation from their site's room object, which has every message the moment it
/// is acknowledged; the origin's copy follows through the outbox. A conversation the object does
/// not hold (from before the edge) comes from the origin.
async fn visitor_history(request: Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let token = request.headers().get("authorization")?.unwrap_or_default();
    let site = token.strip_prefix("Bearer ").and_then(chat_core::token::visitor_site_unchecked);
    let conversation = url
        .path()
        .trim_start_matches("/api/v1/visitor/conversations/")
        .trim_end_matches("/messages")
        .to_owned();
    let (Some(site), false) = (site, conversation.contains('/')) else {
        return proxy(request, url, env).await;
    };
    let mut target = format!("https://room/history?site={}&conversation={conversation}", site.0);
    for (name, value) in url.query_pairs().filter(|(name, _)| name == "after_seq" || name == "limit") {
        target.push_str(&format!("&{name}={value}"));
    }
    let headers = Headers::new();
    headers.set("authorization", &token)?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let stub = env.durable_object(ROOMS)?.id_from_name(&site.0)?.get_stub()?;
    let answer = stub.fetch_with_request(Request::new_with_init(&target, &init)?).await?;
    if answer.status_code() == 404 { proxy(request, url, env).await } else { Ok(answer) }
}

/// Test hooks of a site's object: `evict` makes it forget its room, as the runtime's eviction
/// does; `outbox` says whether writes still wait for the origin.
async fn test_hook(url: &Url, env: &Env, hook: &str) -> worker::Result<Response> {
    let Some(site) = query(url, "site") else { return Response::error("which site?", 400) };
    let stub = env.durable_object(ROOMS)?.id_from_name(&site)?.get_stub()?;
    stub.fetch_with_str(&format!("https://room/{hook}")).await
}

/// Hands the upgrade to the site's object, with the browser's headers.
async fn to_room(request: Request, env: &Env, role: &str, site: &SiteId) -> worker::Result<Response> {
    if request.headers().get("upgrade")?.as_deref() != Some("websocket") {
        return Response::error("a WebSocket upgrade is expected", 426);
    }
    let stub = env.durable_object(ROOMS)?.id_from_name(&site.0)?.get_stub()?;
    let headers = request.headers().clone();
    // The chat page this Worker writes itself (`/chat/{site_key}`) is at home on every site.
    let url = request.url()?;
    let host = url.host_str().map(|host| match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    });
    if headers
        .get("origin")?
        .is_some_and(|origin| chat_core::admission::is_own_origin(&origin, host.as_deref()))
    {
        headers.delete("origin")?;
    }
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    let inner = Request::new_with_init(&format!("https://room/{role}?site={}", site.0), &init)?;
    stub.fetch_with_request(inner).await
}

/// Which site a key names, from this isolate's memory or the origin.
async fn site_of_key(env: &Env, key: &str) -> worker::Result<Option<SiteKeyAnswer>> {
    let now = now().0;
    let kept = SITE_KEYS
        .with(|keys| keys.borrow().get(key).filter(|(_, until)| *until > now).map(|(site, _)| site.clone()));
    if let Some(site) = kept {
        return Ok(site);
    }
    let path = format!("/internal/v1/site-keys/{key}");
    let mut response = signed_get(env, &path).await?;
    let site: Option<SiteKeyAnswer> = match response.status_code() {
        200 => Some(response.json().await?),
        404 => None,
        status => return Err(worker::Error::RustError(format!("the origin answered {status} to {path}"))),
    };
    let until = now + if site.is_some() { KEY_KEPT_MS } else { UNKNOWN_KEY_KEPT_MS };
    SITE_KEYS.with(|keys| {
        let mut keys = keys.borrow_mut();
        // An isolate lives for a while; what it remembers stays small.
        if keys.len() > 10_000 {
            keys.retain(|_, (_, kept_until)| *kept_until > now);
        }
        keys.insert(key.to_owned(), (site.clone(), until));
    });
    Ok(site)
}

async fn signed_get(env: &Env, path: &str) -> worker::Result<Response> {
    let secret = env.secret("EDGE_SECRET")?.to_string();
    let headers = Headers::new();
    headers.set(SIGNATURE_HEADER, &edge::sign(secret.as_bytes(), "GET", path, now(), b""))?;
    let mut init = RequestInit::new();
    init.with_method(Method::Get).with_headers(headers);
    Fetch::Request(Request::new_with_init(&format!("{}{path}", origin_url(env)?), &init)?).send().await
}

/// Sends a request on to the origin as it came, and its answer back as it came.
async fn proxy(request: Request, url: &Url, env: &Env) -> worker::Result<Response> {
    let mut target = format!("{}{}", origin_url(env)?, url.path());
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    let headers = request.headers().clone();
    if let Some(address) = request.headers().get("cf-connecting-ip")? {
        headers.set("x-forwarded-for", &address)?;
    }
    let method = request.method();
    let mut init = RequestInit::new();
    init.with_method(method.clone()).with_headers(headers).with_redirect(RequestRedirect::Manual);
    if !matches!(method, Method::Get | Method::Head) {
        init.with_body(request.inner().body().map(Into::into));
    }
    Fetch::Request(Request::new_with_init(&target, &init)?).send().await
}

fn origin_url(env: &Env) -> worker::Result<String> {
    Ok(env.var("ORIGIN_URL")?.to_string().trim_end_matches('/').to_owned())
}

pub(crate) fn now() -> Millis {
    Millis(worker::Date::now().as_millis())
}
