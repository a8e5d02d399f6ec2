//! A test driver for `SiteRoom`: an in-memory store that commits when told, sockets that collect
//! what they receive, and a clock the test moves. Replays are served from the store at the point
//! of the effect stream where they appear, as a real driver must.

#![allow(dead_code)]

pub mod world;

use std::collections::{BTreeMap, HashMap, VecDeque};

use chat_core::identity::IdentitySecret;
use chat_core::ids::{AgentId, Cid, ConnId, ConversationId, Millis, Seq, SiteId, TenantId, VisitorId};
use chat_core::limits::{CID_WINDOW, CLOSED_RETENTION_MS};
use chat_core::protocol::{
    AgentFrame, AgentStatus, AttachmentView, DeviceInfo, ErrorCode, MessageKind, MessageView, PageInfo,
    ResumePoint, ServerFrame, VisitorFrame, VisitorIdentity, WidgetView,
};
use chat_core::records::{ConversationRecord, StoredConversation, WriteOp};
use chat_core::room::{AgentProfile, Effect, Input, SiteInfo, SiteRoom, WriteId};

pub fn site(auto_assign: bool) -> SiteInfo {
    SiteInfo {
        tenant: TenantId::from("t1"),
        site: SiteId::from("s1"),
        name: "Shop".into(),
        greeting: "Hi! How can we help?".into(),
        auto_assign,
        widget: WidgetView::default(),
        identity_secret: Some(IdentitySecret("site secret".into())),
    }
}

pub fn page(url: &str) -> PageInfo {
    PageInfo { url: url.into(), title: "Page".into(), referrer: String::new() }
}

pub fn agent(id: &str, capacity: u32) -> AgentProfile {
    AgentProfile { id: AgentId::from(id), name: format!("Agent {id}"), capacity }
}

/// What the store holds, committed.
#[derive(Default, Debug)]
pub struct Store {
    pub conversations: HashMap<ConversationId, ConversationRecord>,
    pub messages: BTreeMap<ConversationId, Vec<MessageView>>,
    pub page_views: usize,
}

impl Store {
    fn apply(&mut self, op: WriteOp) {
        match op {
            WriteOp::Conversation(record) => {
                self.conversations.insert(record.id.clone(), record);
            }
            WriteOp::Message { message, .. } => {
                assert!(
                    self.conversations.contains_key(&message.conversation),
                    "a message was written before its conversation"
                );
                let stored = self.messages.entry(message.conversation.clone()).or_default();
                assert_eq!(
                    message.seq,
                    stored.len() as u64 + 1,
                    "seq must follow the stored ones without a gap"
                );
                if let Some(cid) = &message.cid {
                    assert!(
                        stored
                            .iter()
                            .all(|m| m.cid.as_ref() != Some(cid) || m.sender.id != message.sender.id),
                        "cid {cid} of one sender stored twice in {}",
                        message.conversation
                    );
                }
                stored.push(message);
            }
            WriteOp::PageView(_) => self.page_views += 1,
        }
    }

    /// What a driver loads to start the room: conversations not closed or closed recently.
    pub fn snapshot(&self, now: Millis) -> Vec<StoredConversation> {
        self.conversations
            .values()
            .filter(|record| record.closed_at.is_none_or(|at| now.since(at) < CLOSED_RETENTION_MS))
            .map(|record| {
                let messages = self.messages.get(&record.id).map(Vec::as_slice).unwrap_or_default();
                let recent =
                    messages.iter().filter_map(|m| Some((m.sender.id.clone()?, m.cid.clone()?, m.seq)));
                let recent: Vec<_> = recent.collect();
                StoredConversation {
                    record: record.clone(),
                    last_seq: messages.len() as u64,
                    last_activity: messages.last().map_or(record.started_at, |m| m.at),
                    recent_cids: recent[recent.len().saturating_sub(CID_WINDOW)..].to_vec(),
                }
            })
            .collect()
    }

    pub fn bodies(&self, conversation: &ConversationId) -> Vec<String> {
        self.messages
            .get(conversation)
            .map(|ms| ms.iter().map(|m| m.body.clone()).collect())
            .unwrap_or_default()
    }
}

pub struct Sim {
    pub room: SiteRoom,
    pub now: Millis,
    pub store: Store,
    uncommitted: VecDeque<(WriteId, WriteOp)>,
    /// Everything each socket received, in order.
    pub inbox: HashMap<ConnId, Vec<ServerFrame>>,
    pub closed: HashMap<ConnId, u16>,
    next_conn: u64,
    next_id: u64,
}

impl Sim {
    pub fn new(info: SiteInfo) -> Self {
        Sim {
            room: SiteRoom::new(info, Vec::new(), Millis(1_000_000)),
            now: Millis(1_000_000),
            store: Store::default(),
            uncommitted: VecDeque::new(),
            inbox: HashMap::new(),
            closed: HashMap::new(),
            next_conn: 1,
            next_id: 1,
        }
    }

    pub fn input(&mut self, input: Input) {
        let effects = self.room.handle(input, self.now);
        for effect in effects {
            match effect {
                Effect::Send { to, frame } => {
                    for conn in to {
                        self.inbox.entry(conn).or_default().push(frame.clone());
                    }
                }
                Effect::Write { id, op } => self.uncommitted.push_back((id, op)),
                Effect::Replay { conn, conversation, after_seq, through_seq, include_notes } => {
                    let stored = self.store.messages.get(&conversation).cloned().unwrap_or_default();
                    let inbox = self.inbox.entry(conn).or_default();
                    for message in stored {
                        let wanted = message.seq > after_seq && message.seq <= through_seq;
                        if wanted && (include_notes || message.kind != MessageKind::Note) {
                            inbox.push(ServerFrame::Message(message));
                        }
                    }
                }
                Effect::Close { conn, code, .. } => {
                    self.closed.insert(conn, code);
                }
            }
        }
    }

    fn conn(&mut self) -> ConnId {
        let conn = ConnId(self.next_conn);
        self.next_conn += 1;
        conn
    }

    pub fn fresh_id(&mut self) -> ConversationId {
        let id = ConversationId(format!("c{:06}", self.next_id));
        self.next_id += 1;
        id
    }

    pub fn visitor_joins(&mut self, visitor: &str, url: &str, resume: Vec<ResumePoint>) -> ConnId {
        self.visitor_joins_as(visitor, url, resume, None)
    }

    /// A visitor joins with an identity from the page.
    pub fn visitor_joins_as(
        &mut self,
        visitor: &str,
        url: &str,
        resume: Vec<ResumePoint>,
        identity: Option<VisitorIdentity>,
    ) -> ConnId {
        let conn = self.conn();
        let visitor = VisitorId::from(visitor);
        let visitor_token = format!("token-{visitor}");
        let device =
            DeviceInfo { language: "zh-CN".into(), screen: "390x844".into(), user_agent: "Test".into() };
        let page = page(url);
        self.input(Input::VisitorJoined { conn, visitor, visitor_token, page, device, identity, resume });
        conn
    }

    pub fn agent_joins(&mut self, profile: AgentProfile, resume: Vec<ResumePoint>) -> ConnId {
        let conn = self.conn();
        self.input(Input::AgentJoined { conn, agent: profile, status: AgentStatus::Online, resume });
        conn
    }

    pub fn visitor(&mut self, conn: ConnId, frame: VisitorFrame) {
        self.visitor_attaching(conn, frame, None);
    }

    /// A visitor frame with the file its attachment token stood for.
    pub fn visitor_attaching(
        &mut self,
        conn: ConnId,
        frame: VisitorFrame,
        attachment: Option<AttachmentView>,
    ) {
        let fresh_id = self.fresh_id();
        self.input(Input::VisitorFrame { conn, frame, fresh_id, attachment, over_address_limit: false });
    }

    /// A visitor frame from an address the driver found over its send limit.
    pub fn visitor_over_address_limit(&mut self, conn: ConnId, frame: VisitorFrame) {
        let fresh_id = self.fresh_id();
        self.input(Input::VisitorFrame { conn, frame, fresh_id, attachment: None, over_address_limit: true });
    }

    pub fn agent(&mut self, conn: ConnId, frame: AgentFrame) {
        self.agent_attaching(conn, frame, None);
    }

    /// An agent frame with the file its attachment token stood for.
    pub fn agent_attaching(&mut self, conn: ConnId, frame: AgentFrame, attachment: Option<AttachmentView>) {
        let fresh_id = self.fresh_id();
        self.input(Input::AgentFrame { conn, frame, fresh_id, attachment, over_address_limit: false });
    }

    pub fn disconnect(&mut self, conn: ConnId) {
        self.input(Input::Disconnected { conn });
    }

    pub fn uncommitted(&self) -> usize {
        self.uncommitted.len()
    }

    /// Stores the oldest `n` writes and tells the room.
    pub fn commit(&mut self, n: usize) {
        let mut through = None;
        for _ in 0..n {
            let Some((id, op)) = self.uncommitted.pop_front() else { break };
            self.store.apply(op);
            through = Some(id);
        }
        if let Some(through) = through {
            self.input(Input::Committed { through });
        }
    }

    pub fn commit_all(&mut self) {
        self.commit(usize::MAX);
    }

    /// The process dies: uncommitted writes are lost, every socket is gone, a new room starts from
    /// the store.
    pub fn crash(&mut self) {
        self.uncommitted.clear();
        let info = self.room.info().clone();
        self.room = SiteRoom::new(info, self.store.snapshot(self.now), self.now);
    }

    pub fn advance(&mut self, ms: u64) {
        self.now = self.now.plus(ms);
        self.input(Input::Tick);
    }

    /// Takes what `conn` received so far.
    pub fn take(&mut self, conn: ConnId) -> Vec<ServerFrame> {
        self.inbox.remove(&conn).unwrap_or_default()
    }
}

/// The messages among `frames`.
pub fn messages(frames: &[ServerFrame]) -> Vec<&MessageView> {
    frames.iter().filter_map(|f| if let ServerFrame::Message(m) = f { Some(m) } else { None }).collect()
}

pub fn send(cid: &str, body: &str) -> VisitorFrame {
    VisitorFrame::Send { cid: Cid::from(cid), body: body.into(), attachment: None }
}

pub fn agent_send(conversation: &ConversationId, cid: &str, body: &str, note: bool) -> AgentFrame {
    AgentFrame::Send {
        site: "s1".into(),
        conversation: conversation.clone(),
        cid: Cid::from(cid),
        body: body.into(),
        note,
        attachment: None,
    }
}

pub fn acks(frames: &[ServerFrame]) -> Vec<(String, Seq)> {
    frames
        .iter()
        .filter_map(|f| {
            if let ServerFrame::Ack { cid, seq, .. } = f { Some((cid.0.clone(), *seq)) } else { None }
        })
        .collect()
}

pub fn errors(frames: &[ServerFrame]) -> Vec<ErrorCode> {
    frames
        .iter()
        .filter_map(|f| if let ServerFrame::Error { code, .. } = f { Some(*code) } else { None })
        .collect()
}

pub fn conversation_of(frames: &[ServerFrame]) -> ConversationId {
    frames
        .iter()
        .find_map(|f| {
            if let ServerFrame::Conversation { conversation } = f {
                Some(conversation.id.clone())
            } else {
                None
            }
        })
        .expect("a conversation frame")
}
