//! Who is here: visitors arriving, moving between pages and leaving; agents joining, changing
//! status and leaving; typing and read receipts; and the periodic sweep.

use super::SiteRoom;
use super::state::{AgentState, LiveVisitor, Peer, Sends, TypingPreview};
use super::{AgentProfile, Effect, SWEEP_INTERVAL_MS, Snapshot};
use crate::identity;
use crate::ids::{AgentId, ConnId, ConversationId, Millis, Seq, VisitorId};
use crate::limits::{
    AGENT_LEFT_GRACE_MS, AGENT_SEND_BURST, AGENT_SENDS_PER_SECOND, CLOSED_RETENTION_MS,
    CONVERSATION_IDLE_CLOSE_MS, MAX_RESUME_POINTS, MAX_TITLE_CHARS, MAX_URL_CHARS,
    MAX_VISITORS_IN_SITE_STATE, MAX_VISITORS_PER_SITE, VISITOR_LEFT_GRACE_MS, VISITOR_SEND_BURST,
    VISITOR_SENDS_PER_SECOND,
};
use crate::protocol::{
    AgentStatus, ConversationStatus, DeviceInfo, ErrorCode, IdentityView, PageInfo, Party, ResumePoint,
    ServerFrame, VisitorIdentity, close,
};
use crate::rate::SendAllowance;
use crate::records::{PageViewRecord, WriteOp};
use crate::referrer::search_keywords;

/// A visitor's hello, as the driver checked it.
#[derive(Debug)]
pub(super) struct Joining {
    pub(super) visitor: VisitorId,
    pub(super) visitor_token: String,
    pub(super) page: PageInfo,
    pub(super) device: DeviceInfo,
    pub(super) identity: Option<VisitorIdentity>,
    pub(super) resume: Vec<ResumePoint>,
}

/// Longest user agent kept, in characters.
const MAX_USER_AGENT_CHARS: usize = 300;
/// Longest language tag or screen size kept, in characters.
const MAX_DEVICE_FIELD_CHARS: usize = 35;

impl SiteRoom {
    pub(super) fn visitor_joined(&mut self, conn: ConnId, joining: Joining, now: Millis) {
        let Joining { visitor, visitor_token, page, device, identity, resume } = joining;
        if !self.visitors.contains_key(&visitor) && self.visitors.len() >= MAX_VISITORS_PER_SITE {
            // Make room by forgetting someone who already left, if anyone did.
            let gone =
                self.visitors.iter().find(|(_, live)| live.left_at.is_some()).map(|(id, _)| id.clone());
            match gone {
                Some(gone) => self.forget_visitor(gone, now),
                None => {
                    self.refuse(
                        conn,
                        ErrorCode::SiteFull,
                        "the site has as many visitors as it can hold",
                        None,
                    );
                    let reason = "site full".to_owned();
                    return self.out.push(Effect::Close { conn, code: close::SITE_FULL, reason });
                }
            }
        }
        let sends = Sends::new(SendAllowance::new(VISITOR_SENDS_PER_SECOND, VISITOR_SEND_BURST, now));
        self.conns.insert(conn, Peer::Visitor { visitor: visitor.clone(), sends });
        let page = clip_page(page);
        let keywords = search_keywords(&page.referrer);
        self.record_page_view(&visitor, &page, keywords.clone(), now);
        let device = clip_device(device);
        // A bad identity does not keep the visitor out: they chat unidentified and are told why.
        let identity =
            match identity.map(|identity| identity::check(identity, self.info.identity_secret.as_ref())) {
                Some(Ok(view)) => Some(view),
                Some(Err(message)) => {
                    self.refuse(conn, ErrorCode::BadFrame, message, None);
                    None
                }
                None => None,
            };
        match self.visitors.get_mut(&visitor) {
            Some(live) => {
                live.conns.push(conn);
                live.left_at = None;
                live.pages = live.pages.saturating_add(1);
                live.device = device;
                if live.page != page {
                    self.moved(&visitor, page, keywords);
                }
                if let Some(identity) = identity {
                    self.identified(&visitor, identity);
                }
            }
            None => {
                for id in self.held.get(&visitor).cloned().unwrap_or_default() {
                    if let Some(conversation) = self.conversations.get_mut(&id) {
                        conversation.visitor_gone_since = None;
                    }
                }
                let live = LiveVisitor {
                    page,
                    keywords,
                    arrived_at: now,
                    pages: 1,
                    device,
                    identity,
                    conns: vec![conn],
                    left_at: None,
                    typing: TypingPreview::default(),
                };
                let view = live.view(&visitor, self.latest(&visitor).cloned());
                self.visitors.insert(visitor.clone(), Box::new(live));
                let to = self.agent_conns();
                self.send(to, ServerFrame::VisitorArrived { site: self.info.site.clone(), visitor: view });
            }
        }
        let visitor_id = visitor.clone();
        let latest = self.latest(&visitor).and_then(|id| self.conversation(id));
        let welcome = ServerFrame::Welcome {
            visitor: visitor.clone(),
            visitor_token,
            site: self.info.site.clone(),
            site_name: self.info.name.clone(),
            greeting: self.info.greeting.clone(),
            widget: self.info.widget.clone(),
            agents_online: self.any_agent_online(),
            conversation: latest.map(|c| c.view()),
        };
        self.send_one(conn, welcome);
        // Replay what the visitor misses of each conversation they named, and all of their current
        // one if they did not name it (a new tab).
        let held = self.held.get(&visitor_id).cloned().unwrap_or_default();
        for (i, conversation) in held.iter().enumerate() {
            let point = resume.iter().find(|point| point.conversation == *conversation);
            let current = i + 1 == held.len();
            if let Some(after_seq) = point.map(|p| p.last_seq).or(current.then_some(0)) {
                self.replay(conn, conversation.clone(), after_seq, false);
            }
        }
    }

    pub(super) fn agent_joined(
        &mut self,
        conn: ConnId,
        profile: AgentProfile,
        status: AgentStatus,
        resume: Vec<ResumePoint>,
        now: Millis,
    ) {
        let was_online = self.any_agent_online();
        let sends = Sends::new(SendAllowance::new(AGENT_SENDS_PER_SECOND, AGENT_SEND_BURST, now));
        self.conns.insert(conn, Peer::Agent { agent: profile.id.clone(), sends });
        let agent = self.agents.entry(profile.id.clone()).or_insert_with(|| AgentState {
            name: profile.name.clone(),
            capacity: profile.capacity,
            status,
            conns: Vec::new(),
            left_at: None,
        });
        agent.name = profile.name;
        agent.capacity = profile.capacity;
        agent.status = status;
        agent.left_at = None;
        agent.conns.push(conn);
        let state = self.site_state();
        self.send_one(conn, state);
        let mut named = std::collections::HashSet::new();
        for point in resume.into_iter().take(MAX_RESUME_POINTS) {
            if named.insert(point.conversation.clone()) {
                self.replay(conn, point.conversation, point.last_seq, true);
            }
        }
        self.announce_agent(&profile.id);
        self.online_may_have_changed(was_online);
        self.assign_waiting(now);
    }

    /// A socket back in a rebuilt room, silently: see [`super::Input::Rejoined`].
    pub(super) fn rejoined(&mut self, conn: ConnId, peer: Snapshot, now: Millis) {
        match peer {
            Snapshot::Visitor { live } => {
                let live = *live;
                let visitor = live.visitor;
                let sends = Sends::new(SendAllowance::new(VISITOR_SENDS_PER_SECOND, VISITOR_SEND_BURST, now));
                self.conns.insert(conn, Peer::Visitor { visitor: visitor.clone(), sends });
                if let Some(known) = self.visitors.get_mut(&visitor) {
                    known.conns.push(conn);
                    known.left_at = None;
                    return;
                }
                for id in self.held.get(&visitor).cloned().unwrap_or_default() {
                    if let Some(conversation) = self.conversations.get_mut(&id) {
                        conversation.visitor_gone_since = None;
                    }
                }
                let known = LiveVisitor {
                    page: live.page,
                    keywords: live.keywords,
                    arrived_at: live.arrived_at,
                    pages: live.pages,
                    device: live.device,
                    identity: live.identity,
                    conns: vec![conn],
                    left_at: None,
                    typing: TypingPreview::default(),
                };
                self.visitors.insert(visitor, Box::new(known));
            }
            Snapshot::Agent { profile, status } => {
                let sends = Sends::new(SendAllowance::new(AGENT_SENDS_PER_SECOND, AGENT_SEND_BURST, now));
                self.conns.insert(conn, Peer::Agent { agent: profile.id.clone(), sends });
                let agent = self.agents.entry(profile.id).or_insert_with(|| AgentState {
                    name: profile.name,
                    capacity: profile.capacity,
                    status,
                    conns: Vec::new(),
                    left_at: None,
                });
                agent.left_at = None;
                agent.conns.push(conn);
            }
        }
    }

    pub(super) fn agent_status(&mut self, agent: &AgentId, status: AgentStatus, now: Millis) {
        let was_online = self.any_agent_online();
        let Some(state) = self.agents.get_mut(agent) else { return };
        state.status = status;
        self.announce_agent(agent);
        self.online_may_have_changed(was_online);
        self.assign_waiting(now);
    }

    pub(super) fn disconnected(&mut self, conn: ConnId, now: Millis) {
        match self.conns.remove(&conn) {
            Some(Peer::Visitor { visitor, .. }) => {
                let Some(live) = self.visitors.get_mut(&visitor) else { return };
                live.conns.retain(|c| *c != conn);
                if live.conns.is_empty() {
                    live.left_at = Some(now);
                    self.visitor_stopped_typing(&visitor);
                }
            }
            Some(Peer::Agent { agent, .. }) => {
                let was_online = self.any_agent_online();
                let Some(state) = self.agents.get_mut(&agent) else { return };
                state.conns.retain(|c| *c != conn);
                if state.conns.is_empty() {
                    // Shown offline now; their conversations wait a while for them to come back.
                    state.status = AgentStatus::Offline;
                    state.left_at = Some(now);
                    self.announce_agent(&agent);
                    self.online_may_have_changed(was_online);
                }
            }
            None => {}
        }
    }

    pub(super) fn visitor_page(&mut self, conn: ConnId, visitor: &VisitorId, page: PageInfo, now: Millis) {
        let page = clip_page(page);
        // The same page again is nothing new; a new one is stored and shown to every agent, so
        // it costs what a message costs.
        if self.visitors.get(visitor).is_none_or(|live| live.page == page) || !self.may_send(conn, None, now)
        {
            return;
        }
        let keywords = search_keywords(&page.referrer);
        self.record_page_view(visitor, &page, keywords.clone(), now);
        if let Some(live) = self.visitors.get_mut(visitor) {
            live.pages = live.pages.saturating_add(1);
        }
        self.moved(visitor, page, keywords);
    }

    /// The site says who the visitor is (they logged in on a single-page site). Shown to every
    /// agent, so it costs what a message costs; the same identity again is ignored.
    pub(super) fn identify(
        &mut self,
        conn: ConnId,
        visitor: &VisitorId,
        identity: VisitorIdentity,
        now: Millis,
    ) {
        let identity = match identity::check(identity, self.info.identity_secret.as_ref()) {
            Ok(identity) => identity,
            Err(message) => return self.refuse(conn, ErrorCode::BadFrame, message, None),
        };
        let unchanged =
            self.visitors.get(visitor).is_none_or(|live| live.identity.as_ref() == Some(&identity));
        if unchanged || !self.may_send(conn, None, now) {
            return;
        }
        self.identified(visitor, identity);
    }

    fn identified(&mut self, visitor: &VisitorId, identity: IdentityView) {
        let Some(live) = self.visitors.get_mut(visitor) else { return };
        if live.identity.as_ref() == Some(&identity) {
            return;
        }
        live.identity = Some(identity.clone());
        let frame = ServerFrame::VisitorIdentified {
            site: self.info.site.clone(),
            visitor: visitor.clone(),
            identity,
        };
        let to = self.agent_conns();
        self.send(to, frame);
    }

    fn moved(&mut self, visitor: &VisitorId, page: PageInfo, keywords: Option<String>) {
        let Some(live) = self.visitors.get_mut(visitor) else { return };
        live.page = page.clone();
        // Keep how they found the site: later pages have the site itself as referrer.
        if keywords.is_some() {
            live.keywords = keywords;
        }
        let frame = ServerFrame::VisitorPage {
            site: self.info.site.clone(),
            visitor: visitor.clone(),
            page,
            keywords: live.keywords.clone(),
        };
        let to = self.agent_conns();
        self.send(to, frame);
    }

    fn record_page_view(
        &mut self,
        visitor: &VisitorId,
        page: &PageInfo,
        keywords: Option<String>,
        now: Millis,
    ) {
        // Page views are a record, not a promise to anyone: with the database behind, skip them.
        if self.store_behind() {
            return;
        }
        let record = PageViewRecord {
            tenant: self.info.tenant.clone(),
            site: self.info.site.clone(),
            visitor: visitor.clone(),
            page: page.clone(),
            keywords,
            at: now,
        };
        self.write(WriteOp::PageView(record), None);
    }

    /// Sends waiting typing previews that are due; at most once a second, shows left visitors as
    /// gone, closes abandoned conversations and forgets old closed ones.
    pub(super) fn tick(&mut self, now: Millis) {
        let due: Vec<_> = self
            .previews_waiting
            .iter()
            .filter(|id| {
                self.visitors.get(*id).and_then(|live| live.typing.due()).is_some_and(|due| due <= now)
            })
            .cloned()
            .collect();
        for visitor in due {
            if let Some(text) = self.visitors.get_mut(&visitor).and_then(|live| live.typing.waiting.take()) {
                self.send_preview(&visitor, text, now);
            }
        }
        if now.since(self.last_sweep) < SWEEP_INTERVAL_MS {
            return;
        }
        self.last_sweep = now;
        self.sweep_left_visitors(now);
        self.sweep_left_agents(now);
        self.sweep_conversations(now);
    }

    fn sweep_left_visitors(&mut self, now: Millis) {
        let gone: Vec<_> = self
            .visitors
            .iter()
            .filter(|(_, live)| live.left_at.is_some_and(|left| now.since(left) >= VISITOR_LEFT_GRACE_MS))
            .map(|(id, _)| id.clone())
            .collect();
        for visitor in gone {
            self.forget_visitor(visitor, now);
        }
    }

    /// The visitor is gone from the site: agents are told, their conversations start counting
    /// towards the idle close.
    fn forget_visitor(&mut self, visitor: VisitorId, now: Millis) {
        self.visitors.remove(&visitor);
        self.previews_waiting.remove(&visitor);
        for id in self.held.get(&visitor).cloned().unwrap_or_default() {
            if let Some(conversation) = self.conversations.get_mut(&id) {
                conversation.visitor_gone_since = Some(now);
            }
        }
        let to = self.agent_conns();
        self.send(to, ServerFrame::VisitorLeft { site: self.info.site.clone(), visitor });
    }

    /// Agents who left and did not come back within the grace period: their conversations go back
    /// to the queue and they are forgotten.
    fn sweep_left_agents(&mut self, now: Millis) {
        let gone: Vec<_> = self
            .agents
            .iter()
            .filter(|(_, agent)| agent.left_at.is_some_and(|left| now.since(left) >= AGENT_LEFT_GRACE_MS))
            .map(|(id, _)| id.clone())
            .collect();
        for agent in &gone {
            self.requeue(agent, now);
            self.agents.remove(agent);
        }
        if !gone.is_empty() {
            self.assign_waiting(now);
        }
    }

    fn sweep_conversations(&mut self, now: Millis) {
        // Closed when the visitor is gone and nothing was said, both for the idle time.
        let abandoned: Vec<_> = self
            .conversations
            .values()
            .filter(|c| c.record.status != ConversationStatus::Closed)
            .filter(|c| !self.visitors.contains_key(&c.record.visitor))
            .filter(|c| {
                let quiet_since =
                    c.visitor_gone_since.map_or(c.last_activity, |gone| gone.max(c.last_activity));
                now.since(quiet_since) >= CONVERSATION_IDLE_CLOSE_MS
            })
            .map(|c| c.id().clone())
            .collect();
        for conversation in abandoned {
            self.close(&conversation, Party::System, now);
        }
        let old: Vec<_> = self
            .conversations
            .values()
            .filter(|c| c.record.closed_at.is_some_and(|at| now.since(at) >= CLOSED_RETENTION_MS))
            .filter(|c| c.committed == c.last_assigned)
            .map(|c| (c.id().clone(), c.record.visitor.clone()))
            .collect();
        for (conversation, visitor) in old {
            self.conversations.remove(&conversation);
            if let Some(held) = self.held.get_mut(&visitor) {
                held.retain(|id| *id != conversation);
                if held.is_empty() {
                    self.held.remove(&visitor);
                }
            }
        }
    }

    /// Replays what `conn` misses of a conversation the room holds, if anything.
    fn replay(&mut self, conn: ConnId, conversation: ConversationId, after_seq: Seq, include_notes: bool) {
        let Some(through_seq) = self.conversation(&conversation).map(|c| c.committed) else { return };
        if after_seq < through_seq {
            self.out.push(Effect::Replay { conn, conversation, after_seq, through_seq, include_notes });
        }
    }

    /// Tells every agent of the site where `agent` stands now (status, load).
    pub(super) fn announce_agent(&mut self, agent: &AgentId) {
        let load = self.load(agent);
        let Some(view) = self.agents.get(agent).map(|state| state.view(agent, load)) else { return };
        let to = self.agent_conns();
        self.send(to, ServerFrame::AgentStatus { site: self.info.site.clone(), agent: view });
    }

    pub(super) fn any_agent_online(&self) -> bool {
        self.agents.values().any(|agent| agent.status == AgentStatus::Online)
    }

    fn online_may_have_changed(&mut self, was_online: bool) {
        let online = self.any_agent_online();
        if online != was_online {
            let to: Vec<_> = self.visitors.values().flat_map(|live| live.conns.iter().copied()).collect();
            self.send(to, ServerFrame::AgentsOnline { online });
        }
    }

    fn site_state(&self) -> ServerFrame {
        let mut visitors: Vec<_> = self.visitors.iter().collect();
        visitors.sort_by_key(|(_, live)| std::cmp::Reverse(live.arrived_at));
        visitors.truncate(MAX_VISITORS_IN_SITE_STATE);
        ServerFrame::SiteState {
            site: self.info.site.clone(),
            agents: self.agents.iter().map(|(id, agent)| agent.view(id, self.load(id))).collect(),
            visitors: visitors
                .into_iter()
                .map(|(id, live)| live.view(id, self.latest(id).cloned()))
                .collect(),
            visitors_total: u32::try_from(self.visitors.len()).unwrap_or(u32::MAX),
            conversations: self.conversations.values().map(|c| c.view()).collect(),
        }
    }
}

fn clip_page(page: PageInfo) -> PageInfo {
    PageInfo {
        url: first_chars(page.url, MAX_URL_CHARS),
        title: first_chars(page.title, MAX_TITLE_CHARS),
        referrer: first_chars(page.referrer, MAX_URL_CHARS),
    }
}

fn clip_device(device: DeviceInfo) -> DeviceInfo {
    DeviceInfo {
        language: first_chars(device.language, MAX_DEVICE_FIELD_CHARS),
        screen: first_chars(device.screen, MAX_DEVICE_FIELD_CHARS),
        user_agent: first_chars(device.user_agent, MAX_USER_AGENT_CHARS),
    }
}

fn first_chars(text: String, limit: usize) -> String {
    match text.char_indices().nth(limit) {
        Some((cut, _)) => text[..cut].to_owned(),
        None => text,
    }
}
