//! Agent sockets: the hello carries an access token; the agent joins the room of every site they
//! serve, and each frame goes to the room its `site` names.

use std::collections::HashMap;
use std::net::IpAddr;

use axum::extract::ws::{WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use chat_core::admission::{self, AgentSession};
use chat_core::ids::{AgentId, ConnId, ConversationId, SiteId, TenantId};
use chat_core::protocol::{
    AgentFrame, AgentHello, ErrorCode, ServerFrame, SiteSummary, check_hello, close, parse_agent_frame,
};
use chat_core::room::{AgentProfile, Input};
use chat_core::token::AgentClaims;
use serde::Deserialize;

use super::cluster;
use super::hub::{AttachError, RoomHandle};
use super::ip::SocketSlot;
use super::session::{self, Refusal, Reply};
use crate::api::ClientIp;
use crate::app::AppState;
use crate::clock::now;
use crate::error::ApiError;
use crate::live;
use crate::store::{Agent, Site, new_id};

/// `/ws/agent?site=s_…` opens a socket for that one site (as the edge's endpoints are); without
/// it, for every site the agent serves.
#[derive(Deserialize)]
pub(super) struct AgentQuery {
    site: Option<SiteId>,
}

pub(super) async fn upgrade(
    upgrade: WebSocketUpgrade,
    ClientIp(ip): ClientIp,
    Query(query): Query<AgentQuery>,
    State(state): State<AppState>,
) -> Response {
    let Some(slot) = state.open_socket(ip) else {
        return ApiError::TooManyRequests("too many connections from this address".into()).into_response();
    };
    let sockets = state.hub.sockets().clone();
    let only = query.site;
    session::configure(upgrade)
        .on_upgrade(move |socket| sockets.track_future(serve(socket, state, slot, ip, only)))
}

async fn serve(mut socket: WebSocket, state: AppState, _slot: SocketSlot, ip: IpAddr, only: Option<SiteId>) {
    let is_hello: fn(&AgentFrame) -> bool = |frame| matches!(frame, AgentFrame::AgentHello(_));
    let Some(AgentFrame::AgentHello(hello)) =
        session::read_hello(&mut socket, &state, parse_agent_frame, is_hello).await
    else {
        return;
    };
    let claims = match check_token(&state, &hello) {
        Ok(claims) => claims,
        Err(refusal) => return session::refuse(&mut socket, refusal).await,
    };
    let conn = state.hub.next_conn();
    // Registered before the account is read, so disabling it at any moment from here on closes
    // this socket; the guard leaves the rooms and unregisters however the task ends.
    let revoked = state.hub.agent_sessions.connected(&claims.agent, conn, claims.generation);
    let mut departure =
        Departure { state: state.clone(), agent: claims.agent.clone(), conn, rooms: HashMap::new() };
    let (agent, mut sites) = match Box::pin(accept(&state, &claims)).await {
        Ok(accepted) => accepted,
        Err(refusal) => return session::refuse(&mut socket, refusal).await,
    };
    // A site the agent does not serve, or another tenant's, is simply not among them.
    if let Some(only) = &only {
        sites.retain(|site| site.id == *only);
    }
    let (link, inbound) = super::queue();
    let profile = AgentProfile { id: agent.id.clone(), name: agent.name.clone(), capacity: agent.capacity };
    let mut carried = Vec::with_capacity(sites.len());
    for site in &sites {
        let join = Input::AgentJoined {
            conn,
            agent: profile.clone(),
            status: hello.status,
            resume: hello.resume.clone(),
        };
        // What the rooms say meanwhile waits in the socket's queue, behind the welcome.
        match state.hub.attach(site, conn, link.clone(), join).await {
            Ok(room) => {
                departure.rooms.insert(site.id.clone(), room);
                carried.push(SiteSummary { id: site.id.clone(), name: site.name.clone() });
            }
            // A socket for one site goes to the node hosting it; a socket for all of them
            // carries this node's (`GET /api/v1/live` names each node's).
            Err(AttachError::Elsewhere(node)) if only.is_some() => {
                let url = cluster::socket_url(&node, &format!("/ws/agent?site={}", site.id));
                return session::send_elsewhere(&mut socket, url).await;
            }
            Err(AttachError::Elsewhere(_)) => {}
            Err(AttachError::Store(error)) => {
                return session::refuse(&mut socket, session::unavailable(error)).await;
            }
        }
    }
    let welcome = ServerFrame::AgentWelcome {
        tenant: agent.tenant.clone(),
        agent: agent.id.clone(),
        name: agent.name.clone(),
        role: agent.role,
        sites: carried,
    };
    if !session::send_text(&mut socket, welcome.to_json()).await {
        return;
    }
    let rooms = &departure.rooms;
    let sender = Sender { conn, tenant: &agent.tenant, agent: &agent.id, generation: claims.generation, ip };
    let on_text = |text: &str| on_text(text, &sender, rooms, &state);
    let access = session::Access { revoked, expires: claims.exp };
    session::run(&mut socket, inbound, Some(access), &state, &agent.tenant, on_text).await;
}

/// Leaves the rooms and unregisters the socket when the agent's task ends, however it ends.
struct Departure {
    state: AppState,
    agent: AgentId,
    conn: ConnId,
    rooms: HashMap<SiteId, RoomHandle>,
}

impl Drop for Departure {
    fn drop(&mut self) {
        self.state.hub.agent_sessions.disconnected(&self.agent, self.conn);
        for room in self.rooms.values() {
            room.send(Input::Disconnected { conn: self.conn });
        }
    }
}

/// A fresh token for the socket: the same agent's, of the generation the socket was opened in.
fn refresh(state: &AppState, sender: &Sender<'_>, access_token: &str) -> Reply {
    let session = AgentSession { tenant: sender.tenant, agent: sender.agent, generation: sender.generation };
    match admission::refresh(&state.keys.verifying, access_token, now(), session) {
        Ok(claims) => Reply::Renewed(claims.exp, ServerFrame::Refreshed { expires_at: claims.exp }.to_json()),
        Err((code, message)) => Reply::frame(ServerFrame::error(code, message, None)),
    }
}

/// Checks the hello's shape and its access token.
fn check_token(state: &AppState, hello: &AgentHello) -> Result<AgentClaims, Refusal> {
    check_hello(hello.v, &hello.resume)?;
    admission::agent_claims(&state.keys.verifying, &hello.access_token, now())
}

/// Reads the account and finds the sites the agent serves.
async fn accept(state: &AppState, claims: &AgentClaims) -> Result<(Agent, Vec<Site>), Refusal> {
    let agent = state.store.agent(&claims.tenant, &claims.agent).await.map_err(session::unavailable)?;
    let Some(agent) = agent else {
        return Err(Refusal::new(
            ErrorCode::Unauthorized,
            "the account no longer exists",
            close::UNAUTHORIZED,
        ));
    };
    if agent.disabled {
        return Err(Refusal::new(ErrorCode::Forbidden, "the account is disabled", close::FORBIDDEN));
    }
    if claims.generation != agent.token_generation {
        return Err(Refusal::new(ErrorCode::Unauthorized, crate::auth::SESSION_ENDED, close::UNAUTHORIZED));
    }
    let sites = state.store.list_sites(&agent.tenant).await.map_err(session::unavailable)?;
    let sites = sites.into_iter().filter(|site| agent.serves(&site.id)).collect();
    Ok((agent, sites))
}

/// Who sends on an agent socket.
struct Sender<'a> {
    conn: ConnId,
    tenant: &'a TenantId,
    agent: &'a AgentId,
    /// The token generation the socket was opened in.
    generation: u64,
    ip: IpAddr,
}

fn on_text(text: &str, sender: &Sender<'_>, rooms: &HashMap<SiteId, RoomHandle>, state: &AppState) -> Reply {
    let Sender { conn, ip, .. } = *sender;
    let frame = match parse_agent_frame(text) {
        Ok(frame) => frame,
        Err(error) => return Reply::frame(error.into_frame()),
    };
    let cid = frame.cid().cloned();
    match &frame {
        AgentFrame::Ping { t } => return Reply::frame(ServerFrame::Pong { t: *t }),
        AgentFrame::Refresh { access_token } => return refresh(state, sender, access_token),
        AgentFrame::AgentHello(_) => {
            return Reply::frame(ServerFrame::error(
                ErrorCode::BadFrame,
                "the hello was already accepted",
                None,
            ));
        }
        AgentFrame::Status { .. } => {
            for room in rooms.values() {
                room.send(Input::AgentFrame {
                    conn,
                    frame: frame.clone(),
                    fresh_id: ConversationId(String::new()),
                    attachment: None,
                    over_address_limit: false,
                });
            }
            return Reply::Nothing;
        }
        _ => {}
    }
    // Another tenant's site, or one the agent does not serve, is simply not found.
    let Some(room) = frame.site().and_then(|site| rooms.get(site)) else {
        return Reply::frame(ServerFrame::error(ErrorCode::NotFound, "no such site", cid));
    };
    let attachment = match &frame {
        AgentFrame::Send { site, cid, attachment, .. } => {
            let sender = (sender.tenant, site, sender.agent.as_str());
            match live::attachment(state, attachment.as_deref(), sender, cid) {
                Ok(file) => file,
                Err(refused) => return refused,
            }
        }
        _ => None,
    };
    let fresh_id =
        ConversationId(if matches!(frame, AgentFrame::Invite { .. }) { new_id("c") } else { String::new() });
    // The room refuses it, so that the socket's later sends wait for this one.
    let over_address_limit = cid.is_some() && !state.ip_limits.allow_send(ip, now());
    if room.send(Input::AgentFrame { conn, frame, fresh_id, attachment, over_address_limit }) {
        Reply::Nothing
    } else {
        Reply::Close(close::INTERNAL, "the room stopped; reconnect")
    }
}
