//! Checking what sockets say before the room hears it: hellos (site key, origin, tokens, the
//! agent's place among the site's agents) and the frames after them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::admission::{self, AgentSession};
use chat_core::edge::RoomSettings;
use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, Cid, ConnId, Millis, SiteId, VisitorId};
use chat_core::protocol::{
    AgentFrame, AgentHello, AgentStatus, DeviceInfo, ErrorCode, HelloRefused, ResumePoint, ServerFrame,
    SiteSummary, VisitorFrame, VisitorHello, check_hello, close, parse_agent_frame, parse_visitor_frame,
};
use chat_core::room::{AgentProfile, Input, SiteInfo};
use ed25519_dalek::{SigningKey, VerifyingKey};
use worker::{Env, SqlStorage, WebSocket};

use crate::origin::{self, Answer};
use crate::{Attachment, Keys, Live, storage};

/// A hello not taken.
pub enum Refused {
    /// Answer with this frame and keep waiting for the hello.
    Answer(Box<ServerFrame>),
    /// Say why and close.
    Close(HelloRefused),
}

impl From<HelloRefused> for Refused {
    fn from(refusal: HelloRefused) -> Self {
        Refused::Close(refusal)
    }
}

/// A hello taken: who joins.
pub enum Who {
    Visitor {
        visitor: VisitorId,
        token: String,
        hello: Box<VisitorHello>,
        user_agent: String,
    },
    Agent {
        profile: AgentProfile,
        generation: u64,
        expires: u64,
        welcome: Box<ServerFrame>,
        status: AgentStatus,
        resume: Vec<ResumePoint>,
    },
}

impl Who {
    /// What the socket carries from now on, what it is told first, and its joining of the room.
    pub fn join(self, conn: ConnId) -> (Attachment, Option<ServerFrame>, Input) {
        match self {
            Who::Visitor { visitor, token, hello, user_agent } => {
                let attachment = Attachment::Joined {
                    conn: conn.0,
                    agent: false,
                    id: visitor.0.clone(),
                    generation: 0,
                    expires: 0,
                };
                let hello = *hello;
                let input = Input::VisitorJoined {
                    conn,
                    visitor,
                    visitor_token: token,
                    page: hello.page,
                    device: DeviceInfo { user_agent, ..hello.device },
                    identity: hello.identity,
                    resume: hello.resume,
                };
                (attachment, None, input)
            }
            Who::Agent { profile, generation, expires, welcome, status, resume } => {
                let id = profile.id.0.clone();
                let attachment = Attachment::Joined { conn: conn.0, agent: true, id, generation, expires };
                (attachment, Some(*welcome), Input::AgentJoined { conn, agent: profile, status, resume })
            }
        }
    }
}

/// The origin knows no such site (it was deleted).
pub const NO_SUCH_SITE: &str = "no such site";

/// The site's settings: kept in storage after the origin gave them once.
pub async fn settings(env: &Env, sql: &SqlStorage, site: &SiteId) -> Result<RoomSettings, &'static str> {
    if let Some(kept) = storage::meta(sql, "settings").ok().flatten()
        && let Ok(settings) = serde_json::from_str(&kept)
    {
        return Ok(settings);
    }
    let path = format!("/internal/v1/sites/{}/room", site.0);
    let settings: RoomSettings = match origin::get(env, &path).await {
        Ok(Answer::Found(settings)) => settings,
        Ok(Answer::NotFound) => return Err(NO_SUCH_SITE),
        Err(error) => {
            worker::console_error!("the site's settings could not be fetched: {error}");
            return Err("the origin did not answer; try again");
        }
    };
    let text = serde_json::to_string(&settings).map_err(|_| "the site's settings could not be kept")?;
    storage::set_meta(sql, "settings", &text).map_err(|_| "the room's storage failed")?;
    Ok(settings)
}

/// The origin's public key from the settings, and the edge's own signing key from its secret.
pub fn keys(env: &Env, settings: &RoomSettings) -> Result<Keys, &'static str> {
    let origin = URL_SAFE_NO_PAD
        .decode(&settings.token_key)
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .and_then(|bytes| VerifyingKey::from_bytes(&bytes).ok())
        .ok_or("the origin's key is not valid")?;
    let seed = env.secret("ROOM_SIGNING_KEY").map_err(|_| "ROOM_SIGNING_KEY is not set")?.to_string();
    let seed = chat_core::keys::seed(&seed)
        .ok_or("ROOM_SIGNING_KEY is not an Ed25519 key (32 bytes in base64url or base64, or PEM)")?;
    let visitors = SigningKey::from_bytes(&seed);
    Ok(Keys { origin, visitors_verifying: visitors.verifying_key(), visitors })
}

/// What the room needs of the settings.
pub fn site_info(settings: &RoomSettings) -> SiteInfo {
    SiteInfo {
        tenant: settings.tenant.clone(),
        site: settings.site.clone(),
        name: settings.name.clone(),
        greeting: settings.greeting.clone(),
        auto_assign: settings.auto_assign,
        widget: settings.widget.clone(),
        identity_secret: settings.identity_secret.clone().map(IdentitySecret),
    }
}

/// A visitor's hello: the site key, the page's origin, their token.
pub fn visitor(live: &Live, text: &str, origin: Option<String>, user_agent: String) -> Result<Who, Refused> {
    let hello = match parse_visitor_frame(text) {
        Ok(VisitorFrame::VisitorHello(hello)) => hello,
        Ok(_) => return Err(Refused::Answer(Box::new(hello_first()))),
        Err(error) => return Err(Refused::Answer(Box::new(error.into_frame()))),
    };
    check_hello(hello.v, &hello.resume)?;
    let settings = &live.settings;
    if hello.site_key != settings.key {
        return Err(HelloRefused::new(ErrorCode::NotFound, "no site has this key", close::BAD_HELLO).into());
    }
    admission::check_origin(&settings.allowed_origins, origin.as_deref())?;
    let (visitor, token) = admission::visitor_identity(
        (&live.keys.visitors, &live.keys.visitors_verifying),
        hello.visitor_token.as_deref(),
        (&settings.tenant, &settings.site),
        || VisitorId(crate::new_id("v", origin::now())),
    )?;
    Ok(Who::Visitor { visitor, token, hello, user_agent })
}

/// An agent's hello: their access token, checked with the origin's key, and their place among the
/// site's agents (which also carries their token generation).
pub fn agent(live: &Live, text: &str) -> Result<Who, Refused> {
    let hello: AgentHello = match parse_agent_frame(text) {
        Ok(AgentFrame::AgentHello(hello)) => hello,
        Ok(_) => return Err(Refused::Answer(Box::new(hello_first()))),
        Err(error) => return Err(Refused::Answer(Box::new(error.into_frame()))),
    };
    check_hello(hello.v, &hello.resume)?;
    let claims = admission::agent_claims(&live.keys.origin, &hello.access_token, origin::now())?;
    let settings = &live.settings;
    let serves = settings.agents.iter().find(|agent| agent.id == claims.agent);
    let Some(agent) = serves.filter(|_| claims.tenant == settings.tenant) else {
        return Err(
            HelloRefused::new(ErrorCode::Forbidden, "you do not serve this site", close::FORBIDDEN).into()
        );
    };
    if agent.generation != claims.generation {
        let message = "the session has ended; log in again";
        return Err(HelloRefused::new(ErrorCode::Unauthorized, message, close::UNAUTHORIZED).into());
    }
    let welcome = ServerFrame::AgentWelcome {
        tenant: settings.tenant.clone(),
        agent: agent.id.clone(),
        name: agent.name.clone(),
        role: agent.role,
        sites: vec![SiteSummary { id: settings.site.clone(), name: settings.name.clone() }],
    };
    let profile = AgentProfile { id: agent.id.clone(), name: agent.name.clone(), capacity: agent.capacity };
    let generation = agent.generation;
    Ok(Who::Agent {
        profile,
        generation,
        expires: claims.exp.0,
        welcome: Box::new(welcome),
        status: hello.status,
        resume: hello.resume,
    })
}

fn hello_first() -> ServerFrame {
    ServerFrame::error(ErrorCode::HelloRequired, "send the hello first", None)
}

/// A socket in the room, as its attachment says.
pub struct Joined<'a> {
    pub conn: ConnId,
    pub agent: bool,
    pub id: &'a str,
    pub generation: u64,
}

/// What a frame leads to besides its answer.
pub enum Next {
    /// An input for the room.
    Input(Input),
    /// The agent's socket now lasts until then (a `refresh`).
    Expires(Millis),
}

/// A frame of a socket in the room: the input for the room, or `None` when it was answered here.
pub fn frame(live: &Live, joined: &Joined<'_>, text: &str, ws: &WebSocket) -> Option<Next> {
    let answer = |frame: ServerFrame| {
        let _ = ws.send_with_str(frame.to_json());
        None
    };
    // The file a send carries, checked here: the room takes only what was checked.
    let carried = |send: Option<(&Cid, Option<&str>)>| match send {
        Some((cid, token)) => file(live, token, joined.id).map_err(|message| (cid.clone(), message)),
        None => Ok(None),
    };
    let (conn, fresh_id) = (joined.conn, crate::fresh_conversation(origin::now()));
    let input = if joined.agent {
        let frame = match parse_agent_frame(text) {
            Ok(AgentFrame::Ping { t }) => return answer(ServerFrame::Pong { t }),
            Ok(AgentFrame::Refresh { access_token }) => return refresh(live, joined, &access_token, ws),
            Ok(frame) => frame,
            Err(error) => return answer(error.into_frame()),
        };
        let send = match &frame {
            AgentFrame::Send { cid, attachment, .. } => Some((cid, attachment.as_deref())),
            _ => None,
        };
        let attachment = match carried(send) {
            Ok(attachment) => attachment,
            Err((cid, message)) => {
                return answer(ServerFrame::error(ErrorCode::BadFrame, message, Some(cid)));
            }
        };
        Input::AgentFrame { conn, frame, fresh_id, attachment, over_address_limit: false }
    } else {
        let frame = match parse_visitor_frame(text) {
            Ok(VisitorFrame::Ping { t }) => return answer(ServerFrame::Pong { t }),
            Ok(frame) => frame,
            Err(error) => return answer(error.into_frame()),
        };
        let send = match &frame {
            VisitorFrame::Send { cid, attachment, .. } => Some((cid, attachment.as_deref())),
            _ => None,
        };
        let attachment = match carried(send) {
            Ok(attachment) => attachment,
            Err((cid, message)) => {
                return answer(ServerFrame::error(ErrorCode::BadFrame, message, Some(cid)));
            }
        };
        Input::VisitorFrame { conn, frame, fresh_id, attachment, over_address_limit: false }
    };
    Some(Next::Input(input))
}

/// A fresh access token for an agent's socket: the same agent's, of the generation the socket was
/// opened in. The socket then lasts until it expires.
fn refresh(live: &Live, joined: &Joined<'_>, access_token: &str, ws: &WebSocket) -> Option<Next> {
    let agent = AgentId(joined.id.to_owned());
    let session =
        AgentSession { tenant: &live.settings.tenant, agent: &agent, generation: joined.generation };
    let refusal = match admission::refresh(&live.keys.origin, access_token, origin::now(), session) {
        Ok(claims) => {
            let attachment = Attachment::Joined {
                conn: joined.conn.0,
                agent: true,
                id: joined.id.to_owned(),
                generation: joined.generation,
                expires: claims.exp.0,
            };
            if ws.serialize_attachment(attachment).is_err() {
                return None;
            }
            let _ = ws.send_with_str(ServerFrame::Refreshed { expires_at: claims.exp }.to_json());
            return Some(Next::Expires(claims.exp));
        }
        Err((code, message)) => ServerFrame::error(code, message, None),
    };
    let _ = ws.send_with_str(refusal.to_json());
    None
}

/// The file a send carries, from its attachment token: uploaded to this site by this sender.
fn file(
    live: &Live,
    token: Option<&str>,
    uploader: &str,
) -> Result<Option<chat_core::protocol::AttachmentView>, &'static str> {
    let settings = &live.settings;
    admission::attachment(&live.keys.origin, token, (&settings.tenant, &settings.site, uploader))
}
