//! Checking what sockets say before the room hears it: hellos (site key, origin, tokens, the
//! agent's place among the site's agents) and the frames after them.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chat_core::edge::RoomSettings;
use chat_core::identity::IdentitySecret;
use chat_core::ids::{ConnId, Millis, SiteId, VisitorId};
use chat_core::protocol::{
    AgentFrame, AgentHello, AgentStatus, DeviceInfo, ErrorCode, HelloRefused, ResumePoint, ServerFrame,
    SiteSummary, VisitorFrame, VisitorHello, check_hello, close, parse_agent_frame, parse_visitor_frame,
};
use chat_core::room::{AgentProfile, Input, SiteInfo};
use chat_core::token::{self, TokenError, VisitorClaims};
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
    let seed = URL_SAFE_NO_PAD
        .decode(seed.trim())
        .ok()
        .and_then(|bytes| <[u8; 32]>::try_from(bytes).ok())
        .ok_or("ROOM_SIGNING_KEY is not 32 bytes in base64url")?;
    Ok(Keys { origin, visitors: SigningKey::from_bytes(&seed) })
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
    if let Some(origin) = &origin
        && !settings.allowed_origins.is_empty()
        && !settings.allowed_origins.contains(origin)
    {
        let message = "this site's chat may not be embedded on this origin";
        return Err(HelloRefused::new(ErrorCode::Forbidden, message, close::FORBIDDEN).into());
    }
    let verifying = live.keys.visitors.verifying_key();
    let (visitor, token) = match &hello.visitor_token {
        Some(token) => {
            let claims = token::verify_visitor(&verifying, token).map_err(|_| {
                let message = "the visitor token is not valid; connect without one to start afresh";
                HelloRefused::new(ErrorCode::Unauthorized, message, close::UNAUTHORIZED)
            })?;
            if claims.site != settings.site {
                let message = "the visitor token belongs to another site";
                return Err(HelloRefused::new(ErrorCode::Unauthorized, message, close::UNAUTHORIZED).into());
            }
            (claims.visitor, token.clone())
        }
        None => {
            let visitor = VisitorId(crate::new_id("v", origin::now()));
            let claims = VisitorClaims {
                tenant: settings.tenant.clone(),
                site: settings.site.clone(),
                visitor: visitor.clone(),
            };
            (visitor, token::sign_visitor(&live.keys.visitors, claims))
        }
    };
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
    let claims =
        token::verify_agent(&live.keys.origin, &hello.access_token, origin::now()).map_err(|error| {
            match error {
                TokenError::Expired => HelloRefused::new(
                    ErrorCode::TokenExpired,
                    "the access token has expired; refresh it",
                    close::UNAUTHORIZED,
                ),
                _ => HelloRefused::new(
                    ErrorCode::Unauthorized,
                    "the access token is not valid",
                    close::UNAUTHORIZED,
                ),
            }
        })?;
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
    let now = origin::now();
    let (conn, id) = (joined.conn, joined.id);
    if joined.agent {
        let frame = match parse_agent_frame(text) {
            Ok(AgentFrame::Ping { t }) => return answer(ServerFrame::Pong { t }),
            Ok(AgentFrame::Refresh { access_token }) => return refresh(live, joined, &access_token, ws),
            Ok(frame) => frame,
            Err(error) => return answer(error.into_frame()),
        };
        let attachment = match &frame {
            AgentFrame::Send { cid, attachment, .. } => match file(live, attachment.as_deref(), id) {
                Ok(file) => file,
                Err(message) => {
                    return answer(ServerFrame::error(ErrorCode::BadFrame, message, Some(cid.clone())));
                }
            },
            _ => None,
        };
        let fresh_id = crate::fresh_conversation(now);
        Some(Next::Input(Input::AgentFrame { conn, frame, fresh_id, attachment, over_address_limit: false }))
    } else {
        let frame = match parse_visitor_frame(text) {
            Ok(VisitorFrame::Ping { t }) => return answer(ServerFrame::Pong { t }),
            Ok(frame) => frame,
            Err(error) => return answer(error.into_frame()),
        };
        let attachment = match &frame {
            VisitorFrame::Send { cid, attachment, .. } => match file(live, attachment.as_deref(), id) {
                Ok(file) => file,
                Err(message) => {
                    return answer(ServerFrame::error(ErrorCode::BadFrame, message, Some(cid.clone())));
                }
            },
            _ => None,
        };
        let fresh_id = crate::fresh_conversation(now);
        Some(Next::Input(Input::VisitorFrame {
            conn,
            frame,
            fresh_id,
            attachment,
            over_address_limit: false,
        }))
    }
}

/// A fresh access token for an agent's socket: the same agent's, of the generation the socket was
/// opened in. The socket then lasts until it expires.
fn refresh(live: &Live, joined: &Joined<'_>, access_token: &str, ws: &WebSocket) -> Option<Next> {
    let refusal = match token::verify_agent(&live.keys.origin, access_token, origin::now()) {
        Ok(claims)
            if claims.agent.0 == joined.id
                && claims.tenant == live.settings.tenant
                && claims.generation == joined.generation =>
        {
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
        Ok(_) => ServerFrame::error(
            ErrorCode::Unauthorized,
            "that token is not for this session; log in again",
            None,
        ),
        Err(TokenError::Expired) => {
            ServerFrame::error(ErrorCode::TokenExpired, "that token has expired already", None)
        }
        Err(_) => ServerFrame::error(ErrorCode::Unauthorized, "the access token is not valid", None),
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
    let Some(token) = token else { return Ok(None) };
    match token::verify_attachment(&live.keys.origin, token) {
        Ok(claims)
            if claims.tenant == live.settings.tenant
                && claims.site == live.settings.site
                && claims.uploader == uploader =>
        {
            Ok(Some(claims.file))
        }
        _ => Err("the attachment is not valid here; upload the file again"),
    }
}
