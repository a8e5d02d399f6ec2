//! The router of a self-hosted cluster, as a Spin (wasi-http) component: see the crate's
//! documentation.

use std::cell::RefCell;
use std::collections::HashMap;
use std::time::{Duration, Instant};

use chat_core::routes::{self, Route, RoutesTable};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri};
use spin_sdk::http::body::IncomingBodyExt;
use spin_sdk::http::{BoxBody, Error, FullBody, Request, box_body};
use spin_sdk::http_service;
use spin_sdk::wasip3::http::{client, types};
use spin_sdk::wasip3::wit_bindgen::StreamResult;
use spin_sdk::wasip3::{wit_future, wit_stream};

/// What this router answers.
type Answer = Response<BoxBody>;

/// How long a table is used when no node answers: visitors still find the nodes that are up.
const STALE: Duration = Duration::from_secs(60);
/// How long an answer about a site the table does not have is kept (an unknown key's, too).
const ASKED_KEPT: Duration = Duration::from_secs(10);
/// Most answers about such sites kept at once.
const MAX_ASKED: usize = 10_000;
/// Largest body passed on to a node (the nodes' own limits are lower).
const MAX_BODY_BYTES: usize = 16 << 20;
/// How long a node has to accept a connection, and then to start answering.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const ANSWER_TIMEOUT: Duration = Duration::from_secs(10);
/// Headers that belong to one connection, never passed on.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "upgrade",
    "te",
    "trailer",
    "host",
    "http2-settings",
];

/// What this instance knows of the cluster. A host that keeps an instance for many requests
/// (`wasmtime serve` with `--idle-instance-timeout`) keeps it between lookups; one that starts an
/// instance per request fetches the table for every lookup.
#[derive(Default)]
struct Memory {
    /// The last table a node gave, and when.
    table: Option<(RoutesTable, Instant)>,
    /// Answers of nodes about sites the table did not have: the route, or none for an unknown key.
    asked: HashMap<String, (Option<Route>, Instant)>,
    /// The node that answered last: asked first next time.
    last_answered: Option<String>,
    /// When the fetch of a new table under way began: meanwhile, other lookups use the old one.
    refreshing: Option<Instant>,
}

thread_local! {
    static MEMORY: RefCell<Memory> = RefCell::new(Memory::default());
}

#[http_service]
async fn handle(request: Request) -> Result<Answer, Error> {
    let path = request.uri().path().to_owned();
    if path == "/healthz" {
        return Ok(match fresh_table().await {
            Some(table) => json(StatusCode::OK, &serde_json::json!({ "nodes": table.nodes.len() })),
            None => error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "no node of the cluster answers"),
        });
    }
    if let Some(key) = path.strip_prefix("/route/") {
        return Ok(route(key).await);
    }
    if path.starts_with("/ws/") {
        let message = "a router passes no sockets on: ask GET /route/{site_key} where to connect";
        return Ok(error(StatusCode::BAD_REQUEST, "bad_request", message));
    }
    proxy(request).await
}

/// `GET /route/{site_key}`: from the table when the site has a room now, else from a node.
async fn route(key: &str) -> Answer {
    if !routes::plausible_key(key) {
        return not_found();
    }
    let table = fresh_table().await;
    if let Some(route) = table.as_ref().and_then(|table| table.route(key)) {
        return routed(&route);
    }
    let kept = MEMORY.with(|memory| {
        let memory = memory.borrow();
        memory.asked.get(key).filter(|(_, at)| at.elapsed() < ASKED_KEPT).map(|(route, _)| route.clone())
    });
    let answer = match kept {
        Some(answer) => answer,
        None => match ask_route(key).await {
            Some(answer) => {
                remember(key, &answer);
                answer
            }
            None => {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "no node of the cluster answers",
                );
            }
        },
    };
    match answer {
        Some(route) => routed(&route),
        None => not_found(),
    }
}

fn remember(key: &str, answer: &Option<Route>) {
    MEMORY.with(|memory| {
        let mut memory = memory.borrow_mut();
        if memory.asked.len() >= MAX_ASKED {
            memory.asked.retain(|_, (_, at)| at.elapsed() < ASKED_KEPT);
        }
        if memory.asked.len() < MAX_ASKED {
            memory.asked.insert(key.to_owned(), (answer.clone(), Instant::now()));
        }
    });
}

/// A node's answer about one site: its route, or none for an unknown key; `None` if no node
/// answered.
async fn ask_route(key: &str) -> Option<Option<Route>> {
    for node in nodes_to_ask() {
        match get(&format!("{node}/route/{key}")).await {
            Ok((200, body)) => {
                if let Ok(route) = serde_json::from_slice::<Route>(&body) {
                    answered(&node);
                    // A single server answers a path: on its own address.
                    let url = if route.url.starts_with('/') {
                        routes::socket_url(&node, &route.url)
                    } else {
                        route.url
                    };
                    return Some(Some(Route { url }));
                }
            }
            Ok((404, _)) => {
                answered(&node);
                return Some(None);
            }
            Ok((status, _)) => eprintln!("{node} answered {status} to a route"),
            Err(error) => eprintln!("{node} could not be asked a route: {error}"),
        }
    }
    None
}

/// The table, fetched again once its time is up (by one lookup; the others meanwhile use the old
/// one); an old one while no node answers, for a while.
async fn fresh_table() -> Option<RoutesTable> {
    let (kept, refreshing) = MEMORY.with(|memory| {
        let memory = memory.borrow();
        (
            memory.table.clone(),
            memory.refreshing.is_some_and(|at| at.elapsed() < CONNECT_TIMEOUT + ANSWER_TIMEOUT),
        )
    });
    if let Some((table, at)) = &kept
        && (at.elapsed() < Duration::from_millis(table.fresh_ms) || (refreshing && at.elapsed() < STALE))
    {
        return Some(table.clone());
    }
    MEMORY.with(|memory| memory.borrow_mut().refreshing = Some(Instant::now()));
    let table = fetch_table().await;
    MEMORY.with(|memory| memory.borrow_mut().refreshing = None);
    table.or_else(|| kept.filter(|(_, at)| at.elapsed() < STALE).map(|(table, _)| table))
}

/// A new table from the first node that gives one.
async fn fetch_table() -> Option<RoutesTable> {
    for node in nodes_to_ask() {
        match get(&format!("{node}/route")).await {
            Ok((200, body)) => match serde_json::from_slice::<RoutesTable>(&body) {
                Ok(table) => {
                    answered(&node);
                    MEMORY.with(|memory| {
                        let mut memory = memory.borrow_mut();
                        memory.table = Some((table.clone(), Instant::now()));
                        // What was asked about single sites is in the new table, or asked again.
                        memory.asked.retain(|_, (route, _)| route.is_none());
                    });
                    return Some(table);
                }
                Err(error) => eprintln!("{node} answered a table that cannot be read: {error}"),
            },
            Ok((status, _)) => eprintln!("{node} answered {status} to the table"),
            Err(error) => eprintln!("{node} could not be asked the table: {error}"),
        }
    }
    None
}

/// The nodes to ask, in order: the one that answered last first, then the others the settings
/// (`KEFU_NODES`) and the last table name.
fn nodes_to_ask() -> Vec<String> {
    let mut nodes: Vec<String> = std::env::var("KEFU_NODES")
        .unwrap_or_default()
        .split(',')
        .map(|url| url.trim().trim_end_matches('/').to_owned())
        .filter(|url| !url.is_empty())
        .collect();
    MEMORY.with(|memory| {
        let memory = memory.borrow();
        if let Some((table, _)) = &memory.table {
            for node in &table.nodes {
                let url = node.url.trim_end_matches('/').to_owned();
                if !nodes.contains(&url) {
                    nodes.push(url);
                }
            }
        }
        if let Some(at) =
            memory.last_answered.as_ref().and_then(|last| nodes.iter().position(|url| url == last))
        {
            nodes[..=at].rotate_right(1);
        }
    });
    nodes
}

/// Remembers that `node` answers, to ask it first next time.
fn answered(node: &str) {
    MEMORY.with(|memory| memory.borrow_mut().last_answered = Some(node.to_owned()));
}

/// Anything else goes to a node as it came: the chat window's page, the loader, the API.
async fn proxy(request: Request) -> Result<Answer, Error> {
    let table = fresh_table().await;
    let node = match table.as_ref().and_then(RoutesTable::least_loaded) {
        Some(node) => node.url.trim_end_matches('/').to_owned(),
        None => match nodes_to_ask().into_iter().next() {
            Some(node) => node,
            None => {
                return Ok(error(StatusCode::SERVICE_UNAVAILABLE, "unavailable", "KEFU_NODES names no node"));
            }
        },
    };
    let (parts, body) = request.into_parts();
    if parts.headers.get("content-length").and_then(|length| length.to_str().ok()?.parse::<usize>().ok())
        > Some(MAX_BODY_BYTES)
    {
        return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the body is too large"));
    }
    let body =
        body.bytes().await.map_err(|error| Error::other(format!("the body could not be read: {error}")))?;
    if body.len() > MAX_BODY_BYTES {
        return Ok(error(StatusCode::PAYLOAD_TOO_LARGE, "too_large", "the body is too large"));
    }
    let target = format!("{node}{}", parts.uri.path_and_query().map_or("/", |path| path.as_str()));
    let target: Uri = target.parse().map_err(|_| Error::other("the address cannot be passed on"))?;
    match exchange(&parts.method, &target, &passed_on(&parts.headers), body.to_vec()).await {
        Ok((status, headers, body)) => {
            let mut response = Response::new(box_body(FullBody::new(body.into())));
            *response.status_mut() = status;
            *response.headers_mut() = passed_on(&headers);
            Ok(response)
        }
        Err(failure) => {
            eprintln!("{node} could not be reached: {failure}");
            let message = "the cluster's node could not be reached; try again";
            Ok(error(StatusCode::BAD_GATEWAY, "unavailable", message))
        }
    }
}

/// A request's or answer's headers without those of one connection.
fn passed_on(headers: &HeaderMap) -> HeaderMap {
    let mut kept = headers.clone();
    for name in HOP_BY_HOP {
        kept.remove(name);
    }
    // The router cannot vouch for the visitor's address unless its host tells it (Spin does).
    kept.remove("x-forwarded-for");
    if let Some(address) = headers.get("spin-client-addr").and_then(|value| value.to_str().ok()) {
        let ip = address.rsplit_once(':').map_or(address, |(ip, _)| ip).trim_matches(['[', ']']);
        if let Ok(value) = ip.parse() {
            kept.insert("x-forwarded-for", value);
        }
    }
    kept
}

async fn get(url: &str) -> Result<(u16, Vec<u8>), String> {
    let url: Uri = url.parse().map_err(|_| format!("{url} is not an address"))?;
    let (status, _, body) = exchange(&Method::GET, &url, &HeaderMap::new(), Vec::new()).await?;
    Ok((status.as_u16(), body))
}

/// One request to a node and its whole answer. The request's own result is held until the answer
/// is read: a host ends the exchange once it is let go.
async fn exchange(
    method: &Method,
    url: &Uri,
    headers: &HeaderMap,
    body: Vec<u8>,
) -> Result<(StatusCode, HeaderMap, Vec<u8>), String> {
    let entries: Vec<(String, Vec<u8>)> =
        headers.iter().map(|(name, value)| (name.as_str().to_owned(), value.as_bytes().to_vec())).collect();
    let fields =
        types::Fields::from_list(&entries).map_err(|failure| format!("headers refused: {failure:?}"))?;
    let (trailers_writer, trailers) = wit_future::new(|| Ok(None));
    let (contents, body_writer) = if body.is_empty() {
        (None, None)
    } else {
        let (writer, reader) = wit_stream::new();
        (Some(reader), Some(writer))
    };
    let (request, transmitted) = types::Request::new(fields, contents, trailers, Some(options()));
    let scheme = url.scheme().map(types::Scheme::from);
    let refused = |what: &str| format!("{what} refused for {url}");
    request.set_method(&method.into()).map_err(|()| refused("method"))?;
    request.set_scheme(scheme.as_ref()).map_err(|()| refused("scheme"))?;
    request
        .set_authority(url.authority().map(|authority| authority.as_str()))
        .map_err(|()| refused("authority"))?;
    request
        .set_path_with_query(url.path_and_query().map(|path| path.as_str()))
        .map_err(|()| refused("path"))?;
    if let Some(mut writer) = body_writer {
        spin_sdk::wasip3::wit_bindgen::spawn(async move {
            let _ = writer.write_all(body).await;
            drop(writer);
            drop(trailers_writer);
        });
    } else {
        drop(trailers_writer);
    }
    let response = client::send(request).await.map_err(|failure| format!("{failure:?}"))?;
    let status =
        StatusCode::from_u16(response.get_status_code()).map_err(|_| "a status out of range".to_owned())?;
    let mut answer_headers = HeaderMap::new();
    for (name, value) in response.get_headers().copy_all() {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::from_bytes(&value)) {
            answer_headers.append(name, value);
        }
    }
    let (read_result, handled) = wit_future::new(|| Ok(()));
    let (mut stream, answer_trailers) = types::Response::consume_body(response, handled);
    let mut all = Vec::new();
    loop {
        let (result, chunk) = stream.read(Vec::with_capacity(16 * 1024)).await;
        all.extend_from_slice(&chunk);
        if all.len() > MAX_BODY_BYTES {
            return Err("the answer is too large".to_owned());
        }
        if !matches!(result, StreamResult::Complete(_)) {
            break;
        }
    }
    drop(stream);
    if let Err(failure) = answer_trailers.await {
        return Err(format!("the answer broke off: {failure:?}"));
    }
    drop(read_result);
    let _ = transmitted.await;
    Ok((status, answer_headers, all))
}

fn options() -> types::RequestOptions {
    let options = types::RequestOptions::new();
    let nanos = |duration: Duration| u64::try_from(duration.as_nanos()).unwrap_or(u64::MAX);
    // A host that sets its own timeouts refuses these; its own then hold.
    let _ = options.set_connect_timeout(Some(nanos(CONNECT_TIMEOUT)));
    let _ = options.set_first_byte_timeout(Some(nanos(ANSWER_TIMEOUT)));
    options
}

fn routed(route: &Route) -> Answer {
    json(StatusCode::OK, route)
}

fn not_found() -> Answer {
    error(StatusCode::NOT_FOUND, "not_found", "no site has this key")
}

fn error(status: StatusCode, code: &str, message: &str) -> Answer {
    json(status, &serde_json::json!({ "error": { "code": code, "message": message } }))
}

/// A JSON answer any page may read, never cached (routes change with moves).
fn json(status: StatusCode, body: &impl serde::Serialize) -> Answer {
    let mut response = Response::new(box_body(serde_json::to_string(body).unwrap_or_default()));
    *response.status_mut() = status;
    let headers = response.headers_mut();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("access-control-allow-origin", HeaderValue::from_static("*"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    response
}
