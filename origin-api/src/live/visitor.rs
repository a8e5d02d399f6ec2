//! Visitor sockets: the hello names a site by its public key and, for a returning visitor, carries
//! the visitor token; then every frame goes to that site's room.

use std::net::IpAddr;

use axum::extract::State;
use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN, USER_AGENT};
use axum::response::{IntoResponse, Response};
use chat_core::admission;
use chat_core::ids::{ConnId, ConversationId, SiteId, TenantId, VisitorId};
use chat_core::protocol::{
    DeviceInfo, ErrorCode, ServerFrame, VisitorFrame, VisitorHello, check_hello, close, parse_visitor_frame,
};
use chat_core::room::Input;

use super::Inbound;
use super::cluster;
use super::hub::{AttachError, RoomHandle};
use super::ip::SocketSlot;
use super::session::{self, Refusal, Reply};
use crate::api::ClientIp;
use crate::app::AppState;
use crate::clock::now;
use crate::error::ApiError;
use crate::live;
use crate::store::{Site, new_id};

pub(super) async fn upgrade(
    upgrade: WebSocketUpgrade,
    ClientIp(ip): ClientIp,
    headers: HeaderMap,
    State(state): State<AppState>,
) -> Response {
    let Some(slot) = state.open_socket(ip) else {
        return ApiError::TooManyRequests("too many connections from this address".into()).into_response();
    };
    let header = |name| headers.get(name).and_then(|value: &axum::http::HeaderValue| value.to_str().ok());
    let request = Request {
        // The chat page Kefu serves itself (`/chat/{site_key}`) is at home on any site.
        origin: header(ORIGIN)
            .filter(|origin| !admission::is_own_origin(origin, header(HOST)))
            .map(str::to_owned),
        user_agent: header(USER_AGENT).unwrap_or_default().to_owned(),
        ip,
    };
    let sockets = state.hub.sockets().clone();
    // One box for what the socket's task needs: moved as a pointer, not copied into each future.
    let setup = Box::new(Setup { state, _slot: slot, request });
    session::configure(upgrade).on_upgrade(move |socket| sockets.track_future(serve(socket, setup)))
}

/// What the upgrade request told about the visitor.
struct Request {
    /// The embedding page's origin (browsers always send it), unless it is Kefu's own.
    origin: Option<String>,
    user_agent: String,
    ip: IpAddr,
}

/// What a visitor socket's task holds for its life.
struct Setup {
    state: AppState,
    _slot: SocketSlot,
    request: Request,
}

async fn serve(mut socket: WebSocket, mut setup: Box<Setup>) {
    let ip = setup.request.ip;
    // The hello's checks hold big values for a moment; boxed, they leave the socket's task as
    // small as its long life needs (memory per idle visitor, docs/benchmarks.md).
    let Some((joined, inbound)) = Box::pin(join(&mut socket, &setup.state, &mut setup.request)).await else {
        return;
    };
    let Joined { departure, sender } = &*joined;
    let state = &setup.state;
    let from = (&sender.tenant, &sender.site, sender.visitor.as_str());
    let on_text = |text: &str| on_text(text, departure.conn, &departure.room, state, ip, from);
    // The socket is lent, not moved: a future holds what is moved into it a second time.
    session::run(&mut socket, inbound, None, state, &sender.tenant, on_text).await;
}

/// A visitor whose hello was accepted, in their site's room.
struct Joined {
    departure: Departure,
    sender: Sender,
}

/// Who sends on a visitor socket.
struct Sender {
    tenant: TenantId,
    site: SiteId,
    visitor: VisitorId,
}

/// Reads and checks the hello and joins the site's room; `None` if the socket was refused or went
/// away (the socket was told why).
async fn join(
    socket: &mut WebSocket,
    state: &AppState,
    request: &mut Request,
) -> Option<(Box<Joined>, Inbound)> {
    let (origin, user_agent, ip) =
        (request.origin.take(), std::mem::take(&mut request.user_agent), request.ip);
    let is_hello: fn(&VisitorFrame) -> bool = |frame| matches!(frame, VisitorFrame::VisitorHello(_));
    let Some(VisitorFrame::VisitorHello(hello)) =
        session::read_hello(socket, state, parse_visitor_frame, is_hello).await
    else {
        return None;
    };
    let accepted = match Box::pin(accept(state, *hello, origin, ip)).await {
        Ok(accepted) => accepted,
        Err(refusal) => {
            session::refuse(socket, refusal).await;
            return None;
        }
    };
    let conn = state.hub.next_conn();
    let (link, inbound) = super::queue();
    let hello = accepted.hello;
    let join = Input::VisitorJoined {
        conn,
        visitor: accepted.visitor.clone(),
        visitor_token: accepted.token,
        page: hello.page,
        device: DeviceInfo { user_agent, ..hello.device },
        identity: hello.identity,
        resume: hello.resume,
    };
    match state.hub.attach(&accepted.site, conn, link, join).await {
        Ok(room) => {
            let sender =
                Sender { tenant: accepted.site.tenant, site: accepted.site.id, visitor: accepted.visitor };
            Some((Box::new(Joined { departure: Departure { room, conn }, sender }), inbound))
        }
        Err(AttachError::Elsewhere(node)) => {
            let url = cluster::socket_url(&node, &format!("/ws/visitor?site={}", accepted.site.key));
            session::send_elsewhere(socket, url).await;
            None
        }
        Err(AttachError::Store(error)) => {
            session::refuse(socket, session::unavailable(error)).await;
            None
        }
    }
}

/// Leaves the room when the visitor's task ends, however it ends.
struct Departure {
    room: RoomHandle,
    conn: ConnId,
}

impl Drop for Departure {
    fn drop(&mut self) {
        self.room.send(Input::Disconnected { conn: self.conn });
    }
}

struct Accepted {
    site: Site,
    visitor: VisitorId,
    token: String,
    hello: VisitorHello,
}

/// Checks the hello: version, site key, the page's origin, the visitor token.
async fn accept(
    state: &AppState,
    hello: VisitorHello,
    origin: Option<String>,
    ip: IpAddr,
) -> Result<Accepted, Refusal> {
    check_hello(hello.v, &hello.resume)?;
    // Before the database is asked anything: a flood of new visitors costs it nothing.
    if hello.visitor_token.is_none() && !state.ip_limits.allow_new_visitor(ip, now()) {
        let message = "too many new visitors from this address; reconnect later";
        return Err(Refusal::new(ErrorCode::RateLimited, message, close::TOO_MANY_SOCKETS));
    }
    let site = state.store.site_by_key_any_tenant(&hello.site_key).await.map_err(session::unavailable)?;
    let Some(site) = site else {
        return Err(Refusal::new(ErrorCode::NotFound, "no site has this key", close::BAD_HELLO));
    };
    admission::check_origin(&site.allowed_origins, origin.as_deref())?;
    let (visitor, token) = admission::visitor_identity(
        (state.keys.signing(), &state.keys.verifying),
        hello.visitor_token.as_deref(),
        (&site.tenant, &site.id),
        || VisitorId(new_id("v")),
    )?;
    Ok(Accepted { site, visitor, token, hello })
}

fn on_text(
    text: &str,
    conn: ConnId,
    room: &RoomHandle,
    state: &AppState,
    ip: IpAddr,
    sender: (&TenantId, &SiteId, &str),
) -> Reply {
    let frame = match parse_visitor_frame(text) {
        Ok(frame) => frame,
        Err(error) => return Reply::frame(error.into_frame()),
    };
    let attachment = match &frame {
        VisitorFrame::Send { cid, attachment, .. } => {
            match live::attachment(state, attachment.as_deref(), sender, cid) {
                Ok(file) => file,
                Err(refused) => return refused,
            }
        }
        _ => None,
    };
    let fresh_id = match &frame {
        VisitorFrame::Ping { t } => return Reply::frame(ServerFrame::Pong { t: *t }),
        VisitorFrame::Send { .. } => ConversationId(new_id("c")),
        _ => ConversationId(String::new()),
    };
    // The room refuses it, so that the socket's later sends wait for this one.
    let over_address_limit = frame.cid().is_some() && !state.ip_limits.allow_send(ip, now());
    if room.send(Input::VisitorFrame { conn, frame, fresh_id, attachment, over_address_limit }) {
        Reply::Nothing
    } else {
        Reply::Close(close::INTERNAL, "the room stopped; reconnect")
    }
}
