//! A conversation's life: started (by a visitor's first message or an agent's invite), assigned
//! (round-robin, accept, or by answering), transferred, put back in the queue when its agent left,
//! closed, rated. Each change is stored, shown to everyone in the room as a `conversation` frame,
//! and recorded as an `event` message.

use super::messages::{Content, Draft, check_send};
use super::state::Conversation;
use super::{AfterCommit, SiteRoom};
use crate::ids::{AgentId, Cid, ConnId, ConversationId, Millis, VisitorId};
use crate::limits::{MAX_CONVERSATIONS_PER_VISITOR, MAX_RATING_COMMENT_CHARS};
use crate::protocol::{
    AgentStatus, ConversationEvent, ConversationStatus, ErrorCode, MessageKind, Party, ServerFrame,
};
use crate::records::{ConversationRecord, WriteOp};

impl SiteRoom {
    /// Whether the visitor may start one more conversation; refuses the send if not.
    pub(super) fn may_start_conversation(&mut self, conn: ConnId, visitor: &VisitorId, cid: &Cid) -> bool {
        let held = self.held.get(visitor).map_or(0, Vec::len);
        if held < MAX_CONVERSATIONS_PER_VISITOR {
            return true;
        }
        let message = "too many conversations in a short time; wait a few minutes";
        self.refuse_for_now(conn, ErrorCode::RateLimited, message, Some(cid));
        false
    }

    /// Starts a conversation for `visitor`: waiting, or open with `agent`.
    pub(super) fn start_conversation(
        &mut self,
        id: ConversationId,
        visitor: VisitorId,
        agent: Option<AgentId>,
        now: Millis,
    ) -> ConversationId {
        self.clock_floor = self.clock_floor.max(now);
        let status = if agent.is_some() { ConversationStatus::Open } else { ConversationStatus::Waiting };
        let record = ConversationRecord {
            tenant: self.info.tenant.clone(),
            site: self.info.site.clone(),
            id: id.clone(),
            visitor: visitor.clone(),
            status,
            agent,
            started_at: self.clock_floor,
            closed_at: None,
            rating: None,
            rating_comment: None,
            visitor_read_seq: 0,
            agent_read_seq: 0,
        };
        self.insert_conversation(Conversation::new(record, self.clock_floor));
        self.held.entry(visitor).or_default().push(id.clone());
        self.changed(&id);
        id
    }

    pub(super) fn accept(
        &mut self,
        conn: ConnId,
        agent: &AgentId,
        conversation: ConversationId,
        now: Millis,
    ) {
        match self.conversation(&conversation).map(|c| (c.record.status, c.record.agent.clone())) {
            None => self.refuse(conn, ErrorCode::NotFound, "no such conversation", None),
            Some((ConversationStatus::Waiting, _)) => {
                if self.refuse_when_backed_up(conn, None) {
                    return;
                }
                let name = self.agent_name(agent);
                self.give_to(
                    &conversation,
                    agent,
                    ConversationEvent::Assigned { agent: agent.clone(), name },
                    now,
                );
            }
            Some((ConversationStatus::Open, Some(holder))) => {
                let message = format!("the conversation is already with {}", self.agent_name(&holder));
                self.refuse(conn, ErrorCode::InvalidState, message, None);
            }
            Some(_) => self.refuse(conn, ErrorCode::InvalidState, "the conversation is closed", None),
        }
    }

    pub(super) fn transfer(&mut self, conn: ConnId, conversation: ConversationId, to: AgentId, now: Millis) {
        let Some(conv) = self.conversation(&conversation) else {
            return self.refuse(conn, ErrorCode::NotFound, "no such conversation", None);
        };
        let from = conv.record.agent.clone();
        if conv.record.status == ConversationStatus::Closed {
            return self.refuse(conn, ErrorCode::InvalidState, "the conversation is closed", None);
        }
        if from.as_ref() == Some(&to) {
            return self.refuse(
                conn,
                ErrorCode::InvalidState,
                "the agent already has the conversation",
                None,
            );
        }
        match self.agents.get(&to).map(|agent| agent.status) {
            None => return self.refuse(conn, ErrorCode::NotFound, "that agent is not in this site", None),
            Some(AgentStatus::Offline) => {
                return self.refuse(conn, ErrorCode::InvalidState, "that agent is offline", None);
            }
            Some(_) => {}
        }
        if self.refuse_when_backed_up(conn, None) {
            return;
        }
        let name = self.agent_name(&to);
        let event = ConversationEvent::Transferred { from: from.clone(), to: to.clone(), name };
        self.give_to(&conversation, &to, event, now);
        if let Some(from) = from {
            self.announce_agent(&from);
        }
        self.assign_waiting(now);
    }

    pub(super) fn agent_close(&mut self, conn: ConnId, conversation: ConversationId, now: Millis) {
        match self.conversation(&conversation).map(|c| c.record.status) {
            None => self.refuse(conn, ErrorCode::NotFound, "no such conversation", None),
            Some(ConversationStatus::Closed) => {
                self.refuse(conn, ErrorCode::InvalidState, "the conversation is already closed", None)
            }
            Some(_) if self.refuse_when_backed_up(conn, None) => {}
            Some(_) => self.close(&conversation, Party::Agent, now),
        }
    }

    pub(super) fn visitor_close(&mut self, conn: ConnId, visitor: &VisitorId, now: Millis) {
        let open = self.latest(visitor).cloned().filter(|id| {
            self.conversation(id).is_some_and(|c| c.record.status != ConversationStatus::Closed)
        });
        match open {
            Some(_) if self.refuse_when_backed_up(conn, None) => {}
            Some(conversation) => self.close(&conversation, Party::Visitor, now),
            None => {
                self.refuse(conn, ErrorCode::InvalidState, "there is no open conversation to close", None)
            }
        }
    }

    pub(super) fn close(&mut self, conversation: &ConversationId, by: Party, now: Millis) {
        let Some(agent) = self.conversation(conversation).map(|c| c.record.agent.clone()) else { return };
        self.set_state(conversation, ConversationStatus::Closed, agent.clone());
        self.clock_floor = self.clock_floor.max(now);
        if let Some(conv) = self.conversations.get_mut(conversation) {
            conv.record.closed_at = Some(self.clock_floor);
        }
        self.changed(conversation);
        let body = match by {
            Party::Visitor => "The visitor ended the conversation",
            Party::Agent => "The agent ended the conversation",
            Party::System => "The conversation was closed after a period of inactivity",
        };
        self.system_event(conversation, ConversationEvent::Closed { by }, body.to_owned(), now);
        if let Some(agent) = agent {
            self.announce_agent(&agent);
        }
        self.assign_waiting(now);
    }

    pub(super) fn rate(
        &mut self,
        conn: ConnId,
        visitor: &VisitorId,
        conversation: ConversationId,
        score: u8,
        comment: String,
        now: Millis,
    ) {
        if !self.held.get(visitor).is_some_and(|held| held.contains(&conversation)) {
            return self.refuse(conn, ErrorCode::NotFound, "no such conversation", None);
        }
        if !(1..=5).contains(&score) {
            return self.refuse(conn, ErrorCode::BadFrame, "a score is 1 to 5", None);
        }
        if comment.chars().count() > MAX_RATING_COMMENT_CHARS {
            let message = format!("a comment has at most {MAX_RATING_COMMENT_CHARS} characters");
            return self.refuse(conn, ErrorCode::BadFrame, message, None);
        }
        let comment = Some(comment).filter(|c| !c.trim().is_empty());
        let unchanged = self
            .conversation(&conversation)
            .is_some_and(|c| c.record.rating == Some(score) && c.record.rating_comment == comment);
        // Each rating is stored and shown to every agent: it costs what a message costs.
        if unchanged || !self.may_send(conn, None, now) {
            return;
        }
        let Some(conv) = self.conversations.get_mut(&conversation) else { return };
        conv.record.rating = Some(score);
        conv.record.rating_comment = comment;
        self.changed(&conversation);
        let body = format!("The visitor rated the conversation {score} of 5");
        self.system_event(&conversation, ConversationEvent::Rated { score }, body, now);
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn invite(
        &mut self,
        conn: ConnId,
        agent: &AgentId,
        visitor: VisitorId,
        cid: Cid,
        body: String,
        fresh_id: ConversationId,
        now: Millis,
    ) {
        let content = Content::text(body);
        if let Err((code, message)) = check_send(&cid, &content) {
            return self.refuse(conn, code, message, Some(cid));
        }
        // A retry first: the invitation may be stored although the visitor has left since.
        if self.answer_sender_retry(conn, &visitor, agent.as_str(), &cid) {
            return;
        }
        if self.visitors.get(&visitor).is_none_or(|live| live.conns.is_empty()) {
            return self.refuse(conn, ErrorCode::NotFound, "that visitor is not on the site", Some(cid));
        }
        let busy = self.latest(&visitor).and_then(|id| self.conversation(id));
        if busy.is_some_and(|c| c.record.status != ConversationStatus::Closed) {
            let message = "the visitor is already in a conversation";
            return self.refuse(conn, ErrorCode::InvalidState, message, Some(cid));
        }
        if !self.may_start_conversation(conn, &visitor, &cid) || !self.may_send(conn, Some(&cid), now) {
            return;
        }
        let conversation = self.start_conversation(fresh_id, visitor.clone(), Some(agent.clone()), now);
        let name = self.agent_name(agent);
        let invited = ServerFrame::Invited {
            conversation: conversation.clone(),
            agent: agent.clone(),
            name: name.clone(),
        };
        // Shown once the new conversation is stored, after its `conversation` frame.
        self.after_last_write(AfterCommit::ToVisitor { visitor: visitor.clone(), frame: invited });
        let body_event = format!("{name} started the conversation");
        self.system_event(
            &conversation,
            ConversationEvent::Invited { agent: agent.clone(), name },
            body_event,
            now,
        );
        let sender = self.agent_sender(agent);
        let draft = Draft { sender, kind: MessageKind::Text, content, cid: Some(cid), event: None };
        self.append(&conversation, draft, vec![conn], now);
        self.announce_agent(agent);
    }

    /// Stores the conversation's state and, once stored, shows it to everyone in the room.
    pub(super) fn changed(&mut self, conversation: &ConversationId) {
        // Every seq handed out so far was written before this change: once it is stored, they are.
        let Some(view) = self.conversation(conversation).map(Conversation::view_once_written) else { return };
        self.persist(conversation);
        let frame = ServerFrame::Conversation { conversation: view };
        self.after_last_write(AfterCommit::Announce { conversation: conversation.clone(), frame });
    }

    /// Stores the conversation's state without telling anyone (read positions).
    pub(super) fn persist(&mut self, conversation: &ConversationId) {
        let Some(record) = self.conversation(conversation).map(|c| c.record.clone()) else { return };
        self.write(WriteOp::Conversation(record), None);
    }
}
