//! Kefu on the edge: one Durable Object per site hosts that site's `chat-core` room. Like the
//! tokio task of `kefu serve` (`origin-api/src/live/room_task.rs`) it is a thin driver: it checks
//! hellos, feeds the room frames and the time, and carries out its effects. It holds no chat logic.
//!
//! - Sockets are accepted with the hibernation API; each carries an attachment saying who is on it.
//! - Every write the room emits goes to the object's SQLite ([`storage`]) before anything after it
//!   leaves the object, so an `ack` always follows a durable write.
//! - Agents' access tokens are checked with the origin's public key; the site's settings and its
//!   agents come from the origin once ([`origin`]) and are kept in storage.
//!
//! The Worker (`edge-router/`) links this crate, so the class ships in its script.

mod hello;
mod origin;
mod storage;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;

use chat_core::edge::RoomSettings;
use chat_core::ids::{ConnId, ConversationId, Millis, SiteId};
use chat_core::limits::{HELLO_TIMEOUT_MS, IDLE_TIMEOUT_MS, MAX_FRAME_BYTES};
use chat_core::protocol::{ErrorCode, ServerFrame, close};
use chat_core::rate::{self, SendAllowance};
use chat_core::room::{Effect, Input, SiteRoom, Snapshot};
use ed25519_dalek::{SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use worker::{
    DurableObject, Env, Request, Response, State, WebSocket, WebSocketIncomingMessage, WebSocketPair,
    durable_object,
};

/// Writes sent to the origin in one request, at most.
const OUTBOX_BATCH: u32 = 100;
/// How long new writes wait to be sent with the ones after them.
const OUTBOX_DELAY_MS: u64 = 500;
/// After a failed delivery the next waits this long, doubling up to [`OUTBOX_BACKOFF_MAX_MS`].
const OUTBOX_BACKOFF_MS: u64 = 1_000;
const OUTBOX_BACKOFF_MAX_MS: u64 = 60_000;

/// One site's room.
#[durable_object]
pub struct SiteRoomObject {
    state: State,
    env: Env,
    live: RefCell<Option<Live>>,
    /// While the origin fails: how long the next delivery waits, and when it is due.
    backoff: Cell<u64>,
    retry_at: Cell<Option<Millis>>,
    /// When a socket is next due to be closed: one still without its hello, or an agent's whose
    /// access token expires.
    hello_check: Cell<Option<Millis>>,
    /// The alarm this object set (ms since the epoch), once it knows; the runtime is asked only
    /// when it does not.
    alarm_at: Cell<Option<i64>>,
    /// A socket heard nothing from for this long is closed (4004): the protocol's 75 s; the
    /// `SOCKET_IDLE_MS` variable shortens it where the test hooks are on.
    idle_ms: u64,
}

/// Why a socket the room holds is closed by the object.
enum Ending {
    /// Nothing heard for the idle time.
    Idle,
    /// The agent's access token expired.
    Expired,
}

/// The room and what it needs, while the object is in memory.
struct Live {
    room: SiteRoom,
    settings: RoomSettings,
    keys: Keys,
    sockets: HashMap<ConnId, WebSocket>,
    /// Who each socket is, as last kept in storage.
    kept: HashMap<ConnId, String>,
    /// What each socket may still send, and when it was last heard from.
    traffic: HashMap<ConnId, Traffic>,
    next_conn: u64,
}

/// A joined socket's frames.
struct Traffic {
    allowance: SendAllowance,
    /// Its last frame (or when this object first saw it).
    heard: Millis,
}

impl Traffic {
    fn new(now: Millis) -> Traffic {
        Traffic { allowance: rate::socket_frames(now), heard: now }
    }
}

impl Live {
    /// Forgets a socket the room is done with; answers it if it was still here.
    fn forget(&mut self, conn: ConnId) -> Option<WebSocket> {
        self.kept.remove(&conn);
        self.traffic.remove(&conn);
        self.sockets.remove(&conn)
    }
}

/// The keys a room checks and signs tokens with.
pub(crate) struct Keys {
    /// The origin's: agents' access tokens and attachment tokens.
    pub(crate) origin: VerifyingKey,
    /// The edge's own (the `ROOM_SIGNING_KEY` secret): visitor tokens.
    pub(crate) visitors: SigningKey,
    /// Its public half.
    pub(crate) visitors_verifying: VerifyingKey,
}

/// Who a socket is, kept with it while the object sleeps.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub(crate) enum Attachment {
    /// Accepted; its hello not read yet.
    Hello {
        /// When it was accepted: without a hello by [`HELLO_TIMEOUT_MS`] later it is closed.
        #[serde(default)]
        since: u64,
        /// `visitor` or `agent`.
        agent: bool,
        /// The embedding page's origin, if the browser sent one.
        origin: Option<String>,
        /// The browser.
        user_agent: String,
    },
    /// In the room.
    Joined {
        /// Its number in the room.
        conn: u64,
        /// An agent's socket (otherwise a visitor's).
        agent: bool,
        /// The visitor's or agent's id.
        id: String,
        /// An agent's token generation: when the origin says it moved on, the socket closes.
        #[serde(default)]
        generation: u64,
        /// When an agent's access token expires (ms); the socket closes then unless a `refresh`
        /// frame brought a fresh one. 0 for visitors.
        #[serde(default)]
        expires: u64,
    },
    /// Closed by the room.
    Closed,
}

impl DurableObject for SiteRoomObject {
    fn new(state: State, env: Env) -> Self {
        SiteRoomObject {
            idle_ms: idle_ms(&env),
            state,
            env,
            live: RefCell::new(None),
            backoff: Cell::new(0),
            retry_at: Cell::new(None),
            hello_check: Cell::new(None),
            alarm_at: Cell::new(None),
        }
    }

    /// A socket for the room: `/visitor?site=s_…` or `/agent?site=s_…`, forwarded by the Worker
    /// with the browser's `Origin` and `User-Agent`.
    async fn fetch(&self, request: Request) -> worker::Result<Response> {
        let url = request.url()?;
        let agent = match url.path() {
            "/visitor" => false,
            "/agent" => true,
            "/changed" => return self.changed().await,
            "/history" => return self.history(&request, &url).await,
            "/evict" if test_hooks(&self.env) => {
                // What the runtime does to an object with only hibernated sockets: its memory goes.
                *self.live.borrow_mut() = None;
                return Response::ok("evicted");
            }
            "/outbox" if test_hooks(&self.env) => {
                // Whether writes still wait for the origin.
                let waiting = storage::outbox_waiting(&self.state.storage().sql());
                return Response::ok(if waiting { "waiting" } else { "empty" });
            }
            _ => return Response::error("not found", 404),
        };
        let site =
            url.query_pairs().find(|(name, _)| name == "site").map(|(_, value)| SiteId(value.into_owned()));
        let Some(site) = site else { return Response::error("which site?", 400) };
        if request.headers().get("upgrade")?.as_deref() != Some("websocket") {
            return Response::error("a WebSocket upgrade is expected", 426);
        }
        if let Err(refused) = self.wake(Some(&site)).await {
            return Response::error(refused, 503);
        }
        let pair = WebSocketPair::new()?;
        self.state.accept_web_socket(&pair.server);
        let headers = request.headers();
        let since = origin::now();
        pair.server.serialize_attachment(Attachment::Hello {
            since: since.0,
            agent,
            origin: headers.get("origin")?,
            user_agent: headers.get("user-agent")?.unwrap_or_default(),
        })?;
        self.check_at(since.plus(HELLO_TIMEOUT_MS));
        self.schedule().await?;
        Response::from_websocket(pair.client)
    }

    async fn websocket_message(
        &self,
        ws: WebSocket,
        message: WebSocketIncomingMessage,
    ) -> worker::Result<()> {
        let text = match message {
            WebSocketIncomingMessage::String(text) => text,
            WebSocketIncomingMessage::Binary(_) => {
                let refusal = ServerFrame::error(ErrorCode::BadFrame, "frames are JSON text", None);
                return ws.send_with_str(refusal.to_json());
            }
        };
        if text.len() > MAX_FRAME_BYTES {
            let refusal = ServerFrame::error(
                ErrorCode::BadFrame,
                format!("frames are at most {MAX_FRAME_BYTES} bytes"),
                None,
            );
            ws.send_with_str(refusal.to_json())?;
            return ws.close(Some(close::TOO_LARGE), Some("frame too large"));
        }
        if let Err(refused) = self.wake(None).await {
            return ws.close(Some(close::INTERNAL), Some(refused));
        }
        match ws.deserialize_attachment::<Attachment>()? {
            Some(Attachment::Hello { agent, origin, user_agent, .. }) => {
                self.hello(&ws, &text, agent, origin, user_agent);
            }
            Some(Attachment::Joined { conn, agent, id, generation, .. }) => {
                let input = {
                    let mut live = self.live.borrow_mut();
                    let Some(live) = live.as_mut() else { return Ok(()) };
                    // Each socket's frames are limited as self-hosted: the rest are answered, not read.
                    let now = origin::now();
                    let traffic = live.traffic.entry(ConnId(conn)).or_insert_with(|| Traffic::new(now));
                    traffic.heard = now;
                    self.check_at(now.plus(self.idle_ms));
                    if traffic.allowance.take(now) {
                        let joined = hello::Joined { conn: ConnId(conn), agent, id: &id, generation };
                        hello::frame(live, &joined, &text, &ws)
                    } else {
                        let _ = ws.send_with_str(rate::too_many_frames(&text).to_json());
                        None
                    }
                };
                match input {
                    Some(hello::Next::Input(input)) => {
                        self.apply(input);
                        self.keep(ConnId(conn));
                    }
                    Some(hello::Next::Expires(at)) => self.check_at(at),
                    None => {}
                }
            }
            Some(Attachment::Closed) | None => {}
        }
        self.schedule().await
    }

    async fn websocket_close(
        &self,
        ws: WebSocket,
        _code: usize,
        _reason: String,
        _clean: bool,
    ) -> worker::Result<()> {
        self.gone(&ws);
        // The closing handshake: answered at once, so the client is not left waiting for it.
        let _ = ws.close(Some(close::NORMAL), Some("bye"));
        self.schedule().await
    }

    async fn websocket_error(&self, ws: WebSocket, _error: worker::Error) -> worker::Result<()> {
        self.gone(&ws);
        self.schedule().await
    }

    async fn alarm(&self) -> worker::Result<Response> {
        // The runtime clears the alarm it fires.
        self.alarm_at.set(None);
        if self.wake(None).await.is_ok() {
            self.apply(Input::Tick);
        }
        if self.retry_at.get().is_none_or(|at| at <= origin::now()) {
            self.deliver().await;
        }
        // Unknown after the object was evicted: every socket is looked at again.
        if self.hello_check.get().is_none_or(|at| at <= origin::now()) {
            self.close_silent();
        }
        self.schedule().await?;
        Response::ok("")
    }
}

impl SiteRoomObject {
    /// Makes sure the room is in memory: after the object was evicted it is rebuilt from storage.
    /// `site` names the site on the first request; later it is remembered.
    async fn wake(&self, site: Option<&SiteId>) -> Result<(), &'static str> {
        if self.live.borrow().is_some() {
            return Ok(());
        }
        let sql = self.state.storage().sql();
        storage::migrate(&sql).map_err(|_| "the room's storage failed")?;
        let site = match (site, storage::meta(&sql, "site").ok().flatten()) {
            (_, Some(known)) => SiteId(known),
            (Some(site), None) => {
                storage::set_meta(&sql, "site", &site.0).map_err(|_| "the room's storage failed")?;
                site.clone()
            }
            (None, None) => return Err("the room does not know its site"),
        };
        let settings = hello::settings(&self.env, &sql, &site).await?;
        let keys = hello::keys(&self.env, &settings)?;
        let now = origin::now();
        let stored = storage::load(&sql, now).map_err(|_| "the room's storage failed")?;
        let next_conn =
            storage::meta(&sql, "next_conn").ok().flatten().and_then(|n| n.parse().ok()).unwrap_or(1);
        if self.live.borrow().is_some() {
            // Woken twice at once: the first one finished meanwhile.
            return Ok(());
        }
        let room = SiteRoom::new(hello::site_info(&settings), stored, now);
        let live = Live {
            room,
            settings,
            keys,
            sockets: HashMap::new(),
            kept: HashMap::new(),
            traffic: HashMap::new(),
            next_conn,
        };
        *self.live.borrow_mut() = Some(live);
        self.take_back(&sql);
        Ok(())
    }

    /// A visitor's own conversation, from the room's storage: what they see after a reload, here
    /// at once rather than after the outbox reached the origin. The same answer as the origin's
    /// `GET /api/v1/visitor/conversations/{id}/messages`; 404 for a conversation this room does
    /// not hold (the Worker then asks the origin).
    async fn history(&self, request: &Request, url: &worker::Url) -> worker::Result<Response> {
        let query =
            |name: &str| url.query_pairs().find(|(key, _)| key == name).map(|(_, value)| value.into_owned());
        if let Err(refused) = self.wake(query("site").map(SiteId).as_ref()).await {
            return Response::error(refused, 503);
        }
        let conversation = ConversationId(query("conversation").unwrap_or_default());
        let after_seq = query("after_seq").and_then(|n| n.parse().ok()).unwrap_or(0);
        let limit = query("limit").and_then(|n| n.parse().ok()).unwrap_or(50).clamp(1, 200);
        let token = request.headers().get("authorization")?.unwrap_or_default();
        let token = token.strip_prefix("Bearer ").unwrap_or_default();
        let claims = {
            let live = self.live.borrow();
            let Some(live) = live.as_ref() else { return Response::error("the room is not ready", 503) };
            chat_core::token::verify_visitor(&live.keys.visitors_verifying, token).ok()
        };
        let Some(claims) = claims else {
            return api_error(401, "unauthorized", "the visitor token is not valid");
        };
        let sql = self.state.storage().sql();
        let record = storage::conversation(&sql, &conversation)?;
        let Some(record) =
            record.filter(|record| record.visitor == claims.visitor && record.site == claims.site)
        else {
            return api_error(404, "not_found", "no such conversation");
        };
        // Everything in storage is committed: the room writes before it acknowledges.
        let through = u64::MAX >> 12;
        let items = storage::messages(&sql, &record.id, after_seq, through, false, limit)?;
        let next_after_seq = items
            .last()
            .map(|m| m.seq)
            .filter(|last| items.len() >= usize::try_from(limit).unwrap_or(usize::MAX) && *last < through);
        Response::from_json(&serde_json::json!({ "items": items, "next_after_seq": next_after_seq }))
    }

    /// The site's settings or agents changed at the origin: fetch them again, tell the room, and
    /// send away agents who no longer serve the site or whose sessions ended.
    async fn changed(&self) -> worker::Result<Response> {
        // Sockets of an evicted room are taken back first, so the check below covers them.
        let _ = self.wake(None).await;
        let sql = self.state.storage().sql();
        let Some(site) = storage::meta(&sql, "site")?.map(SiteId) else {
            // Never used: nothing to refresh.
            return Response::ok("");
        };
        storage::set_meta(&sql, "settings", "")?;
        let settings = match hello::settings(&self.env, &sql, &site).await {
            Ok(settings) => settings,
            Err(hello::NO_SUCH_SITE) => {
                self.apply(Input::SiteRemoved);
                return Response::ok("");
            }
            Err(refused) => return Response::error(refused, 503),
        };
        let keys = match hello::keys(&self.env, &settings) {
            Ok(keys) => keys,
            Err(refused) => return Response::error(refused, 503),
        };
        let info = hello::site_info(&settings);
        let mut ended = Vec::new();
        if let Some(live) = self.live.borrow_mut().as_mut() {
            for ws in live.sockets.values() {
                if let Ok(Some(Attachment::Joined { conn, agent: true, id, generation, .. })) =
                    ws.deserialize_attachment()
                {
                    let still = settings.agents.iter().find(|agent| agent.id.0 == id);
                    match still {
                        Some(agent) if agent.generation == generation => {}
                        Some(_) => ended.push((
                            ConnId(conn),
                            close::UNAUTHORIZED,
                            "the session has ended; log in again",
                        )),
                        None => ended.push((ConnId(conn), close::FORBIDDEN, "you no longer serve this site")),
                    }
                }
            }
            live.settings = settings;
            live.keys = keys;
        }
        self.apply(Input::SiteChanged(info));
        for (conn, code, reason) in ended {
            let ws = self.live.borrow_mut().as_mut().and_then(|live| {
                live.kept.remove(&conn);
                live.sockets.remove(&conn)
            });
            if let Some(ws) = ws {
                let _ = storage::forget_socket(&sql, conn.0);
                let _ = ws.serialize_attachment(Attachment::Closed);
                let _ = ws.close(Some(code), Some(reason));
                self.apply(Input::Disconnected { conn });
            }
        }
        self.schedule().await?;
        Response::ok("")
    }

    /// Sockets that stayed open while the object was away come back into the new room as they
    /// were, from what was kept of them; one without a snapshot reconnects and resumes.
    fn take_back(&self, sql: &worker::SqlStorage) {
        let mut kept: HashMap<u64, String> = storage::sockets(sql).unwrap_or_default().into_iter().collect();
        let mut inputs = Vec::new();
        {
            let mut live = self.live.borrow_mut();
            let Some(live) = live.as_mut() else { return };
            for ws in self.state.get_websockets() {
                let Ok(Some(Attachment::Joined { conn, .. })) = ws.deserialize_attachment::<Attachment>()
                else {
                    continue;
                };
                let snapshot = kept.remove(&conn);
                match snapshot.as_deref().map(serde_json::from_str::<Snapshot>) {
                    Some(Ok(peer)) => {
                        live.sockets.insert(ConnId(conn), ws);
                        live.kept.insert(ConnId(conn), snapshot.unwrap_or_default());
                        live.next_conn = live.next_conn.max(conn + 1);
                        inputs.push(Input::Rejoined { conn: ConnId(conn), peer });
                    }
                    _ => {
                        let _ = ws.serialize_attachment(Attachment::Closed);
                        let _ = ws.close(Some(close::RESTARTING), Some("the room restarted; reconnect"));
                    }
                }
            }
        }
        // What was kept of sockets that are gone.
        for conn in kept.into_keys() {
            let _ = storage::forget_socket(sql, conn);
        }
        for input in inputs {
            self.apply(input);
        }
        // Sockets still without a hello keep their deadline.
        self.close_silent();
    }

    /// Keeps who is on `conn` in storage when it changed, for a room rebuilt without it.
    fn keep(&self, conn: ConnId) {
        let mut live = self.live.borrow_mut();
        let Some(live) = live.as_mut() else { return };
        let Some(snapshot) = live.room.snapshot(conn) else { return };
        let Ok(text) = serde_json::to_string(&snapshot) else { return };
        if live.kept.get(&conn) != Some(&text) {
            let _ = storage::keep_socket(&self.state.storage().sql(), conn.0, &text);
            live.kept.insert(conn, text);
        }
    }

    /// The first frame of a socket: its hello.
    fn hello(&self, ws: &WebSocket, text: &str, agent: bool, origin: Option<String>, user_agent: String) {
        let checked = {
            let live = self.live.borrow();
            let Some(live) = live.as_ref() else { return };
            if agent { hello::agent(live, text) } else { hello::visitor(live, text, origin, user_agent) }
        };
        let who = match checked {
            Ok(who) => who,
            Err(hello::Refused::Answer(frame)) => {
                let _ = ws.send_with_str(frame.to_json());
                return;
            }
            Err(hello::Refused::Close(refusal)) => {
                let _ = ws.send_with_str(ServerFrame::error(refusal.code, refusal.message, None).to_json());
                let _ = ws.serialize_attachment(Attachment::Closed);
                let _ = ws.close(Some(refusal.close), Some("refused"));
                return;
            }
        };
        let conn = {
            let mut live = self.live.borrow_mut();
            let Some(live) = live.as_mut() else { return };
            let conn = ConnId(live.next_conn);
            live.next_conn += 1;
            let sql = self.state.storage().sql();
            let _ = storage::set_meta(&sql, "next_conn", &live.next_conn.to_string());
            live.sockets.insert(conn, ws.clone());
            conn
        };
        let (attachment, welcome, input) = who.join(conn);
        if let Attachment::Joined { expires, .. } = &attachment
            && *expires > 0
        {
            self.check_at(Millis(*expires));
        }
        if ws.serialize_attachment(attachment).is_err() {
            return;
        }
        if let Some(welcome) = welcome {
            let _ = ws.send_with_str(welcome.to_json());
        }
        self.apply(input);
        self.keep(conn);
    }

    /// A socket closed or failed: it leaves the room.
    fn gone(&self, ws: &WebSocket) {
        if let Ok(Some(Attachment::Joined { conn, .. })) = ws.deserialize_attachment::<Attachment>() {
            let _ = ws.serialize_attachment(Attachment::Closed);
            let known =
                self.live.borrow_mut().as_mut().is_some_and(|live| live.forget(ConnId(conn)).is_some());
            let _ = storage::forget_socket(&self.state.storage().sql(), conn);
            if known {
                self.apply(Input::Disconnected { conn: ConnId(conn) });
            }
        }
    }

    /// Runs one input through the room and carries out what it asks.
    fn apply(&self, input: Input) {
        let mut live = self.live.borrow_mut();
        let Some(live) = live.as_mut() else { return };
        let sql = self.state.storage().sql();
        let mut inputs = vec![input];
        while let Some(input) = inputs.pop() {
            for effect in live.room.handle(input, origin::now()) {
                match effect {
                    Effect::Send { to, frame } => {
                        let text = frame.to_json();
                        for conn in to {
                            if let Some(ws) = live.sockets.get(&conn) {
                                let _ = ws.send_with_str(&text);
                            }
                        }
                    }
                    Effect::Write { id, op } => match storage::write(&sql, &op) {
                        Ok(()) => inputs.insert(0, Input::Committed { through: id }),
                        Err(error) => {
                            // Not stored, so nobody is told it was: every socket reconnects and
                            // resends what it has not seen acknowledged.
                            worker::console_error!("a write failed: {error}");
                            for (conn, ws) in live.sockets.drain() {
                                let _ = ws.serialize_attachment(Attachment::Closed);
                                let _ = ws.close(Some(close::INTERNAL), Some("storing failed; reconnect"));
                                inputs.push(Input::Disconnected { conn });
                            }
                        }
                    },
                    Effect::Replay { conn, conversation, after_seq, through_seq, include_notes } => {
                        replay(live, &sql, conn, &conversation, (after_seq, through_seq), include_notes);
                    }
                    Effect::Close { conn, code, reason } => {
                        let _ = storage::forget_socket(&sql, conn.0);
                        if let Some(ws) = live.forget(conn) {
                            let _ = ws.serialize_attachment(Attachment::Closed);
                            let _ = ws.close(Some(code), Some(reason));
                            inputs.push(Input::Disconnected { conn });
                        }
                    }
                }
            }
        }
    }

    /// Sockets are looked at again at `at` (if that is sooner than planned).
    fn check_at(&self, at: Millis) {
        if self.hello_check.get().is_none_or(|planned| planned > at) {
            self.hello_check.set(Some(at));
        }
    }

    /// Closes, as self-hosted, the sockets that said no hello in time (4002), those heard nothing
    /// from for the idle time (4004), and the agents' whose access token expired without a fresh
    /// one (`token_expired`, 4001); notes when the next one is due.
    fn close_silent(&self) {
        let now = origin::now();
        let mut next: Option<Millis> = None;
        let mut ended = Vec::new();
        for ws in self.state.get_websockets() {
            let due = match ws.deserialize_attachment::<Attachment>() {
                Ok(Some(Attachment::Hello { since, .. })) => Millis(since).plus(HELLO_TIMEOUT_MS),
                Ok(Some(Attachment::Joined { conn, expires, .. })) => {
                    let conn = ConnId(conn);
                    let heard = self.live.borrow_mut().as_mut().map_or(now, |live| {
                        live.traffic.entry(conn).or_insert_with(|| Traffic::new(now)).heard
                    });
                    let idle = heard.plus(self.idle_ms);
                    if idle <= now {
                        ended.push((conn, ws, Ending::Idle));
                        continue;
                    }
                    if expires > 0 && expires <= now.0 {
                        ended.push((conn, ws, Ending::Expired));
                        continue;
                    }
                    if expires > 0 { idle.min(Millis(expires)) } else { idle }
                }
                _ => continue,
            };
            if due <= now {
                let _ = ws.serialize_attachment(Attachment::Closed);
                let _ = ws.close(Some(close::HELLO_TIMEOUT), Some("no hello"));
            } else {
                next = Some(next.map_or(due, |next| next.min(due)));
            }
        }
        self.hello_check.set(next);
        for (conn, ws, ending) in ended {
            match ending {
                Ending::Idle => {
                    let _ = ws.close(Some(close::IDLE), Some("nothing heard; reconnect"));
                }
                Ending::Expired => {
                    let message =
                        "the access token expired; send a fresh one in a refresh frame before it does";
                    let _ = ws
                        .send_with_str(ServerFrame::error(ErrorCode::TokenExpired, message, None).to_json());
                    let _ = ws.close(Some(close::UNAUTHORIZED), Some("token expired"));
                }
            }
            let _ = ws.serialize_attachment(Attachment::Closed);
            let known = self.live.borrow_mut().as_mut().is_some_and(|live| live.forget(conn).is_some());
            let _ = storage::forget_socket(&self.state.storage().sql(), conn.0);
            if known {
                self.apply(Input::Disconnected { conn });
            }
        }
    }

    /// Sends the outbox to the origin, a batch at a time, oldest first. The origin stores a batch
    /// in one transaction and skips messages it has (by conversation and `seq`), so a batch whose
    /// answer was lost is simply sent again.
    async fn deliver(&self) {
        let sql = self.state.storage().sql();
        let site = storage::meta(&sql, "site").ok().flatten().unwrap_or_default();
        loop {
            let Ok(Some((last, writes))) = storage::outbox(&sql, OUTBOX_BATCH) else { break };
            let body = format!(
                "{{\"site\":{},\"writes\":[{}]}}",
                serde_json::Value::String(site.clone()),
                writes.join(",")
            );
            match origin::post(&self.env, "/internal/v1/outbox", body).await {
                Ok(()) => {
                    let _ = storage::delivered(&sql, last);
                    self.backoff.set(0);
                    self.retry_at.set(None);
                }
                Err(error) => {
                    worker::console_warn!("the outbox could not reach the origin: {error}");
                    let backoff = (self.backoff.get() * 2).clamp(OUTBOX_BACKOFF_MS, OUTBOX_BACKOFF_MAX_MS);
                    self.backoff.set(backoff);
                    self.retry_at.set(Some(origin::now().plus(backoff)));
                    break;
                }
            }
        }
    }

    /// Wakes the object when the room next needs the time, or writes wait for the origin.
    async fn schedule(&self) -> worker::Result<()> {
        let deadline = self.live.borrow().as_ref().and_then(|live| live.room.next_deadline());
        let sql = self.state.storage().sql();
        let delivery = storage::outbox_waiting(&sql)
            .then(|| self.retry_at.get().unwrap_or_else(|| origin::now().plus(OUTBOX_DELAY_MS)));
        let storage = self.state.storage();
        match deadline.into_iter().chain(delivery).chain(self.hello_check.get()).min() {
            Some(at) => {
                // An alarm already set for earlier stays. Which one is set is asked of the
                // runtime only when this object does not know (it was just made or woken).
                let set = match self.alarm_at.get() {
                    Some(set) => Some(set),
                    None => storage.get_alarm().await?,
                };
                let at = i64::try_from(at.0).unwrap_or(i64::MAX);
                if set.is_none_or(|set| set > at) {
                    storage.set_alarm(at.saturating_sub(now_i64()).max(0)).await?;
                    self.alarm_at.set(Some(at));
                } else {
                    self.alarm_at.set(set);
                }
                Ok(())
            }
            None => {
                self.alarm_at.set(None);
                storage.delete_alarm().await
            }
        }
    }
}

fn replay(
    live: &Live,
    sql: &worker::SqlStorage,
    conn: ConnId,
    conversation: &ConversationId,
    (after_seq, through_seq): (u64, u64),
    include_notes: bool,
) {
    let Some(ws) = live.sockets.get(&conn) else { return };
    match storage::messages(sql, conversation, after_seq, through_seq, include_notes, u64::MAX >> 12) {
        Ok(messages) => {
            for message in messages {
                let _ = ws.send_with_str(ServerFrame::Message(message).to_json());
            }
        }
        Err(error) => {
            worker::console_error!("a replay failed: {error}");
            let _ = ws.close(Some(close::INTERNAL), Some("replay failed; reconnect"));
        }
    }
}

/// An error answered as the REST API answers them.
fn api_error(status: u16, code: &str, message: &str) -> worker::Result<Response> {
    let body = serde_json::json!({ "error": { "code": code, "message": message } });
    Ok(Response::from_json(&body)?.with_status(status))
}

/// How long a socket may stay silent.
fn idle_ms(env: &Env) -> u64 {
    let shortened =
        test_hooks(env).then(|| env.var("SOCKET_IDLE_MS").ok()?.to_string().parse().ok()).flatten();
    shortened.unwrap_or(IDLE_TIMEOUT_MS)
}

/// Whether the test hooks are on (the `TEST_HOOKS` variable is `1`; never in a deployment).
pub fn test_hooks(env: &Env) -> bool {
    env.var("TEST_HOOKS").is_ok_and(|value| value.to_string() == "1")
}

fn now_i64() -> i64 {
    i64::try_from(origin::now().0).unwrap_or(i64::MAX)
}

/// A fresh id with this prefix: the time in milliseconds, then random bits, 32 hex digits as the
/// origin's ids.
pub(crate) fn new_id(prefix: &str, now: Millis) -> String {
    let mut random = [0_u8; 10];
    // The runtime's crypto.getRandomValues does not fail.
    let _ = getrandom02::getrandom(&mut random);
    let tail: String = random.iter().map(|byte| format!("{byte:02x}")).collect();
    format!("{prefix}_{:012x}{}", now.0 & 0xffff_ffff_ffff, tail)
}

/// An unused conversation id.
pub(crate) fn fresh_conversation(now: Millis) -> ConversationId {
    ConversationId(new_id("c", now))
}
