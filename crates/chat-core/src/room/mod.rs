//! The live room of one site: a state machine the drivers feed with inputs and the time.
//!
//! The room gives each conversation a gap-free `seq`, recognises retried sends by their `cid`,
//! assigns conversations to agents, and tracks who is on the site. It never waits: anything that
//! must be stored leaves as [`Effect::Write`], and what depends on it being stored (the sender's
//! `ack`, delivery to everyone else) is held until the driver reports [`Input::Committed`].
//!
//! - [`state`] — conversations, visitors, agents and the per-socket send allowance.
//! - `messages` — sends, retries and what happens when writes commit.
//! - `assignment` — the waiting queue, agents' loads, round-robin, handing conversations over.
//! - `lifecycle` — starting, accepting, transferring, closing and rating conversations.
//! - `presence` — hellos, leaving, pages, agent status, the periodic sweep.
//! - `signals` — typing previews and read receipts.

mod assignment;
mod lifecycle;
mod messages;
mod presence;
mod signals;
pub mod state;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};

use serde::{Deserialize, Serialize};

use crate::identity::IdentitySecret;
use crate::ids::{AgentId, Cid, ConnId, ConversationId, Millis, Seq, SiteId, TenantId, VisitorId};
use crate::limits::{MAX_UNCOMMITTED_WRITES, STORE_STALL_MS};
use crate::protocol::{
    AgentFrame, AgentStatus, AttachmentView, DeviceInfo, ErrorCode, MessageView, PageInfo, ResumePoint,
    ServerFrame, VisitorFrame, VisitorIdentity, WidgetView, close,
};
use crate::records::{StoredConversation, WriteOp};
use state::{AgentState, Conversation, LiveVisitor, Peer};

/// What a room needs to know about its site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SiteInfo {
    /// The site's tenant.
    pub tenant: TenantId,
    /// The site.
    pub site: SiteId,
    /// Shown to visitors.
    pub name: String,
    /// Shown to visitors before their first message.
    pub greeting: String,
    /// Give new conversations to online agents round-robin; otherwise agents accept them.
    pub auto_assign: bool,
    /// How the widget looks and behaves (sent in `welcome`).
    pub widget: WidgetView,
    /// The key identities are verified with; none: no identity is verified.
    pub identity_secret: Option<IdentitySecret>,
}

/// An agent as the driver found them after checking their token.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AgentProfile {
    /// The agent.
    pub id: AgentId,
    /// Their display name, shown to visitors.
    pub name: String,
    /// How many open conversations round-robin gives them at most.
    pub capacity: u32,
}

/// Who is on a socket, as a room knows them: what a rebuilt room needs to take the socket back
/// without a new hello ([`Input::Rejoined`]).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "peer", rename_all = "snake_case")]
pub enum Snapshot {
    /// A visitor, with what agents see of them.
    Visitor {
        /// The visitor as listed to agents.
        live: Box<crate::protocol::LiveVisitorView>,
    },
    /// An agent and their status.
    Agent {
        /// The agent.
        profile: AgentProfile,
        /// Their status.
        status: AgentStatus,
    },
}

/// Numbers the room's writes in the order it emits them; drivers commit them in that order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct WriteId(pub u64);

/// Everything that can happen to a room.
#[derive(Clone, Debug, PartialEq)]
pub enum Input {
    /// A visitor socket's hello was checked by the driver (site key, token).
    VisitorJoined {
        /// The socket.
        conn: ConnId,
        /// Who the visitor is (from their token, or new).
        visitor: VisitorId,
        /// Their token, sent back in `welcome`.
        visitor_token: String,
        /// The page they are on.
        page: PageInfo,
        /// Their browser (language and screen from the hello, user agent from the request).
        device: DeviceInfo,
        /// Who the site says they are, unverified yet.
        identity: Option<VisitorIdentity>,
        /// What they already have.
        resume: Vec<ResumePoint>,
    },
    /// An agent socket's hello was checked by the driver and the agent serves this site.
    AgentJoined {
        /// The socket.
        conn: ConnId,
        /// The agent.
        agent: AgentProfile,
        /// The status they take.
        status: AgentStatus,
        /// What they already have.
        resume: Vec<ResumePoint>,
    },
    /// A frame from a visitor socket that has joined.
    VisitorFrame {
        /// The socket.
        conn: ConnId,
        /// The frame.
        frame: VisitorFrame,
        /// An unused id, for the conversation this frame may start.
        fresh_id: ConversationId,
        /// The file of a `send`, from its attachment token as the driver verified it.
        attachment: Option<AttachmentView>,
        /// The driver found the socket's address over its send limit: a send is refused for now.
        over_address_limit: bool,
    },
    /// A frame from an agent socket that has joined.
    AgentFrame {
        /// The socket.
        conn: ConnId,
        /// The frame.
        frame: AgentFrame,
        /// An unused id, for the conversation this frame may start (an invite).
        fresh_id: ConversationId,
        /// The file of a `send`, from its attachment token as the driver verified it.
        attachment: Option<AttachmentView>,
        /// As for a visitor's frame.
        over_address_limit: bool,
    },
    /// A socket that was in a room whose memory the driver lost (an edge object evicted while its
    /// sockets stayed open) is back in the new room as it was: nobody is told anything, nothing
    /// is stored. The driver kept [`SiteRoom::snapshot`] of it.
    Rejoined {
        /// The socket.
        conn: ConnId,
        /// Who is on it, as the old room knew them.
        peer: Snapshot,
    },
    /// A socket closed.
    Disconnected {
        /// The socket.
        conn: ConnId,
    },
    /// Every write up to and including `through` is durably stored.
    Committed {
        /// The last committed write.
        through: WriteId,
    },
    /// The site's settings changed.
    SiteChanged(SiteInfo),
    /// The site was deleted: everyone is sent away.
    SiteRemoved,
    /// Time passed; due at [`SiteRoom::next_deadline`].
    Tick,
}

/// What the driver must do.
#[derive(Clone, Debug, PartialEq)]
pub enum Effect {
    /// Send one frame to these sockets.
    Send {
        /// The sockets.
        to: Vec<ConnId>,
        /// The frame.
        frame: ServerFrame,
    },
    /// Store this, after every earlier write, then report [`Input::Committed`].
    Write {
        /// Its number.
        id: WriteId,
        /// What to store.
        op: WriteOp,
    },
    /// Send `conn` the stored messages of `conversation` with `after_seq < seq <= through_seq`, in
    /// order, before anything sent to `conn` later. Later messages reach it live.
    Replay {
        /// The socket.
        conn: ConnId,
        /// The conversation.
        conversation: ConversationId,
        /// The client has everything up to here.
        after_seq: Seq,
        /// Everything up to here is stored.
        through_seq: Seq,
        /// Include agents-only notes (agents yes, visitors no).
        include_notes: bool,
    },
    /// Close the socket with this code, after sending what was queued before.
    Close {
        /// The socket.
        conn: ConnId,
        /// A close code of [`crate::protocol::close`].
        code: u16,
        /// Why, in words.
        reason: String,
    },
}

/// A message handed to the driver and not yet committed.
#[derive(Debug)]
struct PendingMessage {
    message: MessageView,
    /// Sockets to acknowledge once stored (the sender, and the sockets of any retries meanwhile).
    ack_to: Vec<ConnId>,
}

/// What the room does once a write is stored: nobody is shown anything that could still be lost.
#[derive(Debug)]
enum AfterCommit {
    /// Acknowledge and deliver a message.
    Deliver(PendingMessage),
    /// Show a frame to everyone in the conversation (its site's agents and its visitor), as they
    /// are when the write is stored.
    Announce { conversation: ConversationId, frame: ServerFrame },
    /// Show a frame to a visitor's sockets, as they are when the write is stored.
    ToVisitor { visitor: VisitorId, frame: ServerFrame },
    /// Show a frame to the site's agents, as they are when the write is stored.
    ToAgents { frame: ServerFrame },
}

#[derive(Debug)]
struct PendingWrite {
    id: WriteId,
    /// When the room handed it to the driver.
    at: Millis,
    after: Vec<AfterCommit>,
}

/// The periodic sweep (left visitors, idle and old conversations) runs at most this often.
const SWEEP_INTERVAL_MS: u64 = 1_000;

/// The live room of one site.
#[derive(Debug)]
pub struct SiteRoom {
    info: SiteInfo,
    conns: HashMap<ConnId, Peer>,
    // Boxed: a table of 10,000 visitors keeps a quarter or more of its slots empty, and an empty
    // slot then costs a pointer, not a whole visitor.
    visitors: HashMap<VisitorId, Box<LiveVisitor>>,
    /// Ordered by id so round-robin has a stable order.
    agents: BTreeMap<AgentId, AgentState>,
    conversations: HashMap<ConversationId, Conversation>,
    /// Each visitor's conversations the room holds, oldest first; the last is their current one.
    held: HashMap<VisitorId, Vec<ConversationId>>,
    /// Open conversations per agent, kept with every change of state so assignment never counts.
    open_load: HashMap<AgentId, u32>,
    /// Waiting conversations, oldest first.
    waiting: BTreeSet<(Millis, ConversationId)>,
    /// Visitors with a typing preview held back, so finding the next one due does not scan everyone.
    previews_waiting: HashSet<VisitorId>,
    /// The agent who got the last round-robin assignment.
    last_assigned: Option<AgentId>,
    pending: VecDeque<PendingWrite>,
    next_write: u64,
    /// Message times never go backwards, even if the driver's clock does.
    clock_floor: Millis,
    last_sweep: Millis,
    out: Vec<Effect>,
}

impl SiteRoom {
    /// A room for `info` starting at `now`, holding the conversations that were open (or closed
    /// lately) when it last stopped.
    pub fn new(info: SiteInfo, stored: Vec<StoredConversation>, now: Millis) -> Self {
        let mut room = SiteRoom {
            info,
            conns: HashMap::new(),
            visitors: HashMap::new(),
            agents: BTreeMap::new(),
            conversations: HashMap::new(),
            held: HashMap::new(),
            open_load: HashMap::new(),
            waiting: BTreeSet::new(),
            previews_waiting: HashSet::new(),
            last_assigned: None,
            pending: VecDeque::new(),
            next_write: 1,
            clock_floor: Millis(0),
            // Nobody has had a chance to come back yet: the first sweep waits a full interval.
            last_sweep: now,
            out: Vec::new(),
        };
        let mut stored = stored;
        // Ids are time-ordered: they break ties between conversations started in the same ms.
        stored.sort_by(|a, b| (a.record.started_at, &a.record.id).cmp(&(b.record.started_at, &b.record.id)));
        for stored in stored {
            let conversation = Conversation::from_stored(stored, now);
            let record = &conversation.record;
            // Times given out before the restart are a floor for those given out after it.
            let latest = [Some(record.started_at), record.closed_at, Some(conversation.last_activity)];
            room.clock_floor = latest.into_iter().flatten().fold(room.clock_floor, Millis::max);
            room.held.entry(record.visitor.clone()).or_default().push(record.id.clone());
            room.insert_conversation(conversation);
        }
        room
    }

    /// The site this room serves.
    pub fn info(&self) -> &SiteInfo {
        &self.info
    }

    /// Carries out one input at time `now` and returns what the driver must do, in order.
    pub fn handle(&mut self, input: Input, now: Millis) -> Vec<Effect> {
        self.clock_floor = self.clock_floor.max(now);
        match input {
            Input::VisitorJoined { conn, visitor, visitor_token, page, device, identity, resume } => {
                let joining = presence::Joining { visitor, visitor_token, page, device, identity, resume };
                self.visitor_joined(conn, joining, now)
            }
            Input::AgentJoined { conn, agent, status, resume } => {
                self.agent_joined(conn, agent, status, resume, now)
            }
            Input::VisitorFrame { conn, over_address_limit: true, frame, .. } => {
                self.refuse_over_address_limit(conn, frame.cid())
            }
            Input::AgentFrame { conn, over_address_limit: true, frame, .. } => {
                self.refuse_over_address_limit(conn, frame.cid())
            }
            Input::VisitorFrame { conn, frame, fresh_id, attachment, .. } => {
                self.visitor_frame(conn, frame, fresh_id, attachment, now)
            }
            Input::AgentFrame { conn, frame, fresh_id, attachment, .. } => {
                self.agent_frame(conn, frame, fresh_id, attachment, now)
            }
            Input::Rejoined { conn, peer } => self.rejoined(conn, peer, now),
            Input::Disconnected { conn } => self.disconnected(conn, now),
            Input::Committed { through } => self.committed(through),
            Input::SiteChanged(info) => self.site_changed(info, now),
            Input::SiteRemoved => self.site_removed(),
            Input::Tick => self.tick(now),
        }
        std::mem::take(&mut self.out)
    }

    /// No sockets and nothing waiting to be stored: the driver may stop the room; a new one
    /// started from storage carries on.
    pub fn is_idle(&self) -> bool {
        self.conns.is_empty() && self.pending.is_empty()
    }

    /// Who is on `conn` now, for a driver that may have to rebuild the room around its sockets.
    pub fn snapshot(&self, conn: ConnId) -> Option<Snapshot> {
        match self.conns.get(&conn)? {
            Peer::Visitor { visitor, .. } => {
                let live = self.visitors.get(visitor)?;
                Some(Snapshot::Visitor { live: Box::new(live.view(visitor, self.latest(visitor).cloned())) })
            }
            Peer::Agent { agent, .. } => {
                let state = self.agents.get(agent)?;
                let profile =
                    AgentProfile { id: agent.clone(), name: state.name.clone(), capacity: state.capacity };
                Some(Snapshot::Agent { profile, status: state.status })
            }
        }
    }

    /// Writes handed to the driver and not yet reported committed.
    pub fn has_pending_writes(&self) -> bool {
        !self.pending.is_empty()
    }

    /// When the room next needs an [`Input::Tick`], if ever.
    pub fn next_deadline(&self) -> Option<Millis> {
        let previews = self.previews_waiting.iter().filter_map(|id| self.visitors.get(id)?.typing.due());
        let sweep = (!self.visitors.is_empty() || !self.conversations.is_empty())
            .then(|| self.last_sweep.plus(SWEEP_INTERVAL_MS));
        previews.chain(sweep).min()
    }

    fn visitor_frame(
        &mut self,
        conn: ConnId,
        frame: VisitorFrame,
        fresh_id: ConversationId,
        attachment: Option<AttachmentView>,
        now: Millis,
    ) {
        let Some(Peer::Visitor { visitor, .. }) = self.conns.get(&conn) else { return };
        let visitor = visitor.clone();
        match frame {
            VisitorFrame::VisitorHello(_) => {
                self.refuse(conn, ErrorCode::BadFrame, "the hello was already accepted", None)
            }
            VisitorFrame::Send { cid, body, .. } => {
                let content = messages::Content { body, attachment };
                self.visitor_send(conn, visitor, cid, content, fresh_id, now)
            }
            VisitorFrame::Typing { text } => self.visitor_typing(&visitor, text, now),
            VisitorFrame::Read { conversation, seq } => self.visitor_read(conn, &visitor, conversation, seq),
            VisitorFrame::Page { page } => self.visitor_page(conn, &visitor, page, now),
            VisitorFrame::Rate { conversation, score, comment } => {
                self.rate(conn, &visitor, conversation, score, comment, now)
            }
            VisitorFrame::Close => self.visitor_close(conn, &visitor, now),
            VisitorFrame::Identify(identity) => self.identify(conn, &visitor, identity, now),
            VisitorFrame::Ping { t } => self.send_one(conn, ServerFrame::Pong { t }),
        }
    }

    fn agent_frame(
        &mut self,
        conn: ConnId,
        frame: AgentFrame,
        fresh_id: ConversationId,
        attachment: Option<AttachmentView>,
        now: Millis,
    ) {
        let Some(Peer::Agent { agent, .. }) = self.conns.get(&conn) else { return };
        let agent = agent.clone();
        if frame.site().is_some_and(|site| *site != self.info.site) {
            return self.refuse(conn, ErrorCode::NotFound, "no such site", frame.cid().cloned());
        }
        match frame {
            AgentFrame::AgentHello(_) => {
                self.refuse(conn, ErrorCode::BadFrame, "the hello was already accepted", None)
            }
            AgentFrame::Send { conversation, cid, body, note, .. } => {
                let content = messages::Content { body, attachment };
                self.agent_send(conn, &agent, conversation, cid, content, note, now)
            }
            AgentFrame::Typing { conversation, active, .. } => {
                self.agent_typing(conn, &agent, conversation, active)
            }
            AgentFrame::Read { conversation, seq, .. } => self.agent_read(conn, conversation, seq),
            AgentFrame::Status { status } => self.agent_status(&agent, status, now),
            AgentFrame::Accept { conversation, .. } => self.accept(conn, &agent, conversation, now),
            AgentFrame::Transfer { conversation, to, .. } => self.transfer(conn, conversation, to, now),
            AgentFrame::Close { conversation, .. } => self.agent_close(conn, conversation, now),
            AgentFrame::Invite { visitor, cid, body, .. } => {
                self.invite(conn, &agent, visitor, cid, body, fresh_id, now)
            }
            AgentFrame::Ping { t } => self.send_one(conn, ServerFrame::Pong { t }),
            // The socket's token is the driver's: it never reaches a room.
            AgentFrame::Refresh { .. } => {}
        }
    }

    fn site_changed(&mut self, info: SiteInfo, now: Millis) {
        let auto_assign_turned_on = info.auto_assign && !self.info.auto_assign;
        self.info = info;
        if auto_assign_turned_on {
            self.assign_waiting(now);
        }
    }

    /// Visitors are told the site is gone; agents reconnect and get their sites anew.
    fn site_removed(&mut self) {
        for (conn, peer) in &self.conns {
            let effects = match peer {
                Peer::Visitor { .. } => [
                    Effect::Send {
                        to: vec![*conn],
                        frame: ServerFrame::error(ErrorCode::NotFound, "this site no longer exists", None),
                    },
                    Effect::Close { conn: *conn, code: close::BAD_HELLO, reason: "site deleted".into() },
                ],
                Peer::Agent { .. } => [
                    Effect::Send {
                        to: vec![*conn],
                        frame: ServerFrame::Reconnect { after_ms: 0, url: None },
                    },
                    Effect::Close {
                        conn: *conn,
                        code: close::RESTARTING,
                        reason: "a site was deleted".into(),
                    },
                ],
            };
            self.out.extend(effects);
        }
    }

    // --- helpers every part of the room uses ---

    /// Refuses a change that must be stored when the store is behind: the room waits on too many
    /// writes, or on one for too long (the database is away or its disk is full). A refused send
    /// stays in its client's outbox, to be sent again; the room takes sends again once the store
    /// catches up.
    fn refuse_when_backed_up(&mut self, conn: ConnId, cid: Option<&Cid>) -> bool {
        if !self.store_behind() {
            return false;
        }
        let message = "changes cannot be stored right now; try again shortly";
        self.refuse_for_now(conn, ErrorCode::Unavailable, message, cid);
        true
    }

    fn refuse_over_address_limit(&mut self, conn: ConnId, cid: Option<&Cid>) {
        if cid.is_some() {
            let message = "too many messages from this address; wait a moment";
            self.refuse_for_now(conn, ErrorCode::RateLimited, message, cid);
        }
    }

    /// Refuses a send its client is to make again later; the socket's later sends wait for it
    /// (see [`Sends::held_back`]), so a burst cut in two keeps its order.
    fn refuse_for_now(&mut self, conn: ConnId, code: ErrorCode, message: &str, cid: Option<&Cid>) {
        if let (Some(cid), Some(peer)) = (cid, self.conns.get_mut(&conn)) {
            peer.sends().refused(cid, code, self.clock_floor);
        }
        self.refuse(conn, code, message, cid.cloned());
    }

    /// The store is not keeping up: too many writes wait, or the oldest has waited too long.
    fn store_behind(&self) -> bool {
        self.pending.len() >= MAX_UNCOMMITTED_WRITES
            || self.pending.front().is_some_and(|write| self.clock_floor.since(write.at) >= STORE_STALL_MS)
    }

    /// The visitor's current conversation (possibly closed), if the room holds one.
    fn latest(&self, visitor: &VisitorId) -> Option<&ConversationId> {
        self.held.get(visitor).and_then(|held| held.last())
    }

    fn send(&mut self, to: Vec<ConnId>, frame: ServerFrame) {
        if !to.is_empty() {
            self.out.push(Effect::Send { to, frame });
        }
    }

    fn send_one(&mut self, conn: ConnId, frame: ServerFrame) {
        self.send(vec![conn], frame);
    }

    fn refuse(&mut self, conn: ConnId, code: ErrorCode, message: impl Into<String>, cid: Option<Cid>) {
        self.send_one(conn, ServerFrame::error(code, message, cid));
    }

    fn agent_conns(&self) -> Vec<ConnId> {
        self.agents.values().flat_map(|agent| agent.conns.iter().copied()).collect()
    }

    fn visitor_conns(&self, visitor: &VisitorId) -> Vec<ConnId> {
        self.visitors.get(visitor).map(|live| live.conns.clone()).unwrap_or_default()
    }

    /// Every agent socket plus the sockets of the conversation's visitor.
    fn everyone_in(&self, conversation: &ConversationId) -> Vec<ConnId> {
        let mut to = self.agent_conns();
        if let Some(conversation) = self.conversations.get(conversation) {
            to.extend(self.visitor_conns(&conversation.record.visitor));
        }
        to
    }

    fn write(&mut self, op: WriteOp, after: Option<AfterCommit>) {
        let id = WriteId(self.next_write);
        self.next_write += 1;
        self.out.push(Effect::Write { id, op });
        self.pending.push_back(PendingWrite { id, at: self.clock_floor, after: after.into_iter().collect() });
    }

    /// Adds something to do once the latest write is stored.
    fn after_last_write(&mut self, after: AfterCommit) {
        if let Some(write) = self.pending.back_mut() {
            write.after.push(after);
        }
    }
}
