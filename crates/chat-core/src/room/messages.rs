//! Sends, retries, and what happens when writes commit.
//!
//! The rules: a message gets the next `seq` of its conversation when it is accepted; it is written
//! in that order; nobody (not even its sender, as an `ack`) hears of it before it is stored; then
//! the sender gets the `ack` and everyone else the message, in `seq` order with the rest. A send
//! whose `cid` the conversation already has is a retry: it is acknowledged with the first `seq`, or
//! will be when that is stored, and nothing new is written.

use super::state::Conversation;
use super::{AfterCommit, PendingMessage, SiteRoom, WriteId};
use crate::ids::{AgentId, Cid, ConnId, ConversationId, Millis, VisitorId};
use crate::limits::{MAX_CID_CHARS, MAX_MESSAGE_CHARS};
use crate::protocol::{
    AttachmentView, ConversationEvent, ConversationStatus, ErrorCode, MessageKind, MessageView, Party,
    Sender, ServerFrame,
};
use crate::records::WriteOp;

/// What a person sends: text, a file, or a file with a caption.
#[derive(Debug)]
pub(super) struct Content {
    pub(super) body: String,
    pub(super) attachment: Option<AttachmentView>,
}

impl Content {
    pub(super) fn text(body: String) -> Self {
        Content { body, attachment: None }
    }
}

/// A message about to get its `seq`.
#[derive(Debug)]
pub(super) struct Draft {
    pub(super) sender: Sender,
    pub(super) kind: MessageKind,
    pub(super) content: Content,
    pub(super) cid: Option<Cid>,
    pub(super) event: Option<ConversationEvent>,
}

/// Checks a send's client id and content before anything else looks at it.
pub(super) fn check_send(cid: &Cid, content: &Content) -> Result<(), (ErrorCode, String)> {
    let cid_chars = cid.0.chars().count();
    if cid_chars == 0 || cid_chars > MAX_CID_CHARS {
        return Err((ErrorCode::BadFrame, format!("a cid has 1 to {MAX_CID_CHARS} characters")));
    }
    let body = &content.body;
    if body.trim().is_empty() && content.attachment.is_none() {
        return Err((ErrorCode::BadFrame, "the message is empty".to_owned()));
    }
    if body.chars().count() > MAX_MESSAGE_CHARS {
        return Err((
            ErrorCode::MessageTooLong,
            format!("a message has at most {MAX_MESSAGE_CHARS} characters"),
        ));
    }
    Ok(())
}

impl SiteRoom {
    pub(super) fn visitor_send(
        &mut self,
        conn: ConnId,
        visitor: VisitorId,
        cid: Cid,
        content: Content,
        fresh_id: ConversationId,
        now: Millis,
    ) {
        if let Err((code, message)) = check_send(&cid, &content) {
            return self.refuse(conn, code, message, Some(cid));
        }
        if self.answer_sender_retry(conn, &visitor, visitor.as_str(), &cid) {
            return;
        }
        let open = self.latest(&visitor).cloned().filter(|id| {
            self.conversations.get(id).is_some_and(|c| c.record.status != ConversationStatus::Closed)
        });
        if open.is_none() && !self.may_start_conversation(conn, &visitor, &cid) {
            return;
        }
        if !self.may_send(conn, Some(&cid), now) {
            return;
        }
        let (conversation, started) = match open {
            Some(id) => (id, false),
            None => (self.start_conversation(fresh_id, visitor.clone(), None, now), true),
        };
        let sender = Sender { party: Party::Visitor, id: Some(visitor.0.clone()), name: None };
        let draft = Draft { sender, kind: MessageKind::Text, content, cid: Some(cid), event: None };
        self.append(&conversation, draft, vec![conn], now);
        self.visitor_stopped_typing(&visitor);
        if started {
            self.assign_waiting(now);
        }
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) fn agent_send(
        &mut self,
        conn: ConnId,
        agent: &AgentId,
        conversation: ConversationId,
        cid: Cid,
        content: Content,
        note: bool,
        now: Millis,
    ) {
        if let Err((code, message)) = check_send(&cid, &content) {
            return self.refuse(conn, code, message, Some(cid));
        }
        let Some(status) = self.conversations.get(&conversation).map(|c| c.record.status) else {
            return self.refuse(conn, ErrorCode::NotFound, "no such conversation", Some(cid));
        };
        if self.answer_retry(conn, &conversation, agent.as_str(), &cid) {
            return;
        }
        if status == ConversationStatus::Closed {
            return self.refuse(conn, ErrorCode::InvalidState, "the conversation is closed", Some(cid));
        }
        if !self.may_send(conn, Some(&cid), now) {
            return;
        }
        if status == ConversationStatus::Waiting && !note {
            // Answering a waiting visitor takes the conversation, as accepting it would.
            let name = self.agent_name(agent);
            self.give_to(
                &conversation,
                agent,
                ConversationEvent::Assigned { agent: agent.clone(), name },
                now,
            );
        }
        let kind = if note { MessageKind::Note } else { MessageKind::Text };
        let sender = self.agent_sender(agent);
        self.append(
            &conversation,
            Draft { sender, kind, content, cid: Some(cid), event: None },
            vec![conn],
            now,
        );
    }

    /// If the sender's `cid` is already in `conversation`, acknowledges the retry (now, or once
    /// stored) and returns true.
    pub(super) fn answer_retry(
        &mut self,
        conn: ConnId,
        conversation: &ConversationId,
        sender: &str,
        cid: &Cid,
    ) -> bool {
        let Some(conv) = self.conversations.get(conversation) else { return false };
        let Some(seq) = conv.cids.get(sender, cid) else { return false };
        if seq <= conv.committed {
            let ack = ServerFrame::Ack { cid: cid.clone(), conversation: conversation.clone(), seq };
            self.send_one(conn, ack);
        } else if let Some(waiting) =
            self.pending.iter_mut().flat_map(|write| write.after.iter_mut()).find_map(|after| match after {
                AfterCommit::Deliver(pending)
                    if pending.message.conversation == *conversation && pending.message.seq == seq =>
                {
                    Some(pending)
                }
                _ => None,
            })
        {
            // Every send gets its ack, a retry from the same socket too: once stored.
            waiting.ack_to.push(conn);
        }
        true
    }

    /// A retry into a visitor's conversation (by the visitor, or an agent's invitation) may belong
    /// to any of the visitor's conversations the room holds: one stored just before an agent
    /// closed it must not be stored again in the next.
    pub(super) fn answer_sender_retry(
        &mut self,
        conn: ConnId,
        visitor: &VisitorId,
        sender: &str,
        cid: &Cid,
    ) -> bool {
        let held = self.held.get(visitor).map(Vec::as_slice).unwrap_or_default();
        let retried = held
            .iter()
            .rev()
            .find(|id| self.conversations.get(*id).is_some_and(|c| c.cids.get(sender, cid).is_some()));
        match retried.cloned() {
            Some(conversation) => self.answer_retry(conn, &conversation, sender, cid),
            None => false,
        }
    }

    /// Charges one send to the socket; refuses it when the socket is over its rate or the room
    /// cannot store more right now. Anything a client does that is stored and shown to others
    /// (messages, ratings, page changes) goes through here.
    pub(super) fn may_send(&mut self, conn: ConnId, cid: Option<&Cid>, now: Millis) -> bool {
        let Some(peer) = self.conns.get_mut(&conn) else { return false };
        if let Some(code) = cid.and_then(|cid| peer.sends().held_back(cid, now)) {
            let message = "an earlier message was turned away for now; send it again first";
            self.refuse(conn, code, message, cid.cloned());
            return false;
        }
        if self.refuse_when_backed_up(conn, cid) {
            return false;
        }
        let allowed = self.conns.get_mut(&conn).is_some_and(|peer| peer.sends().allowance.take(now));
        if !allowed {
            self.refuse_for_now(
                conn,
                ErrorCode::RateLimited,
                "too many messages; wait a moment and send again",
                cid,
            );
        }
        allowed
    }

    /// Gives the message the next `seq` of its conversation and hands it to the driver to store.
    pub(super) fn append(
        &mut self,
        conversation: &ConversationId,
        draft: Draft,
        ack_to: Vec<ConnId>,
        now: Millis,
    ) {
        let Draft { sender, kind, content, cid, event } = draft;
        self.clock_floor = self.clock_floor.max(now);
        let at = self.clock_floor;
        let Some(conv) = self.conversations.get_mut(conversation) else { return };
        conv.last_assigned += 1;
        conv.last_activity = at;
        let seq = conv.last_assigned;
        if let (Some(cid), Some(by)) = (&cid, &sender.id) {
            conv.cids.insert(by.clone(), cid.clone(), seq, conv.committed);
        }
        let message = MessageView {
            site: self.info.site.clone(),
            conversation: conversation.clone(),
            seq,
            sender,
            kind,
            body: content.body,
            cid,
            at,
            event,
            attachment: content.attachment,
        };
        let op = WriteOp::Message { tenant: self.info.tenant.clone(), message: message.clone() };
        self.write(op, Some(AfterCommit::Deliver(PendingMessage { message, ack_to })));
    }

    /// Writes up to `through` are stored: acknowledge and deliver their messages and show their
    /// changes, in order.
    pub(super) fn committed(&mut self, through: WriteId) {
        while self.pending.front().is_some_and(|write| write.id <= through) {
            let Some(write) = self.pending.pop_front() else { break };
            for after in write.after {
                match after {
                    AfterCommit::Deliver(pending) => self.deliver(pending),
                    shown => self.show(shown),
                }
            }
        }
    }

    /// Shows what waited for its write to be stored (or is shown without one).
    pub(super) fn show(&mut self, after: AfterCommit) {
        let (to, frame) = match after {
            AfterCommit::Deliver(pending) => return self.deliver(pending),
            AfterCommit::Announce { conversation, frame } => (self.everyone_in(&conversation), frame),
            AfterCommit::ToVisitor { visitor, frame } => (self.visitor_conns(&visitor), frame),
            AfterCommit::ToAgents { frame } => (self.agent_conns(), frame),
        };
        self.send(to, frame);
    }

    /// The sending sockets get the `ack` in the message's place (they hold its text); every other
    /// socket of the conversation gets the message.
    fn deliver(&mut self, PendingMessage { message, ack_to }: PendingMessage) {
        let Some(conv) = self.conversations.get_mut(&message.conversation) else { return };
        conv.committed = conv.committed.max(message.seq);
        let visitor = conv.record.visitor.clone();
        let ack_to: Vec<_> = ack_to.into_iter().filter(|conn| self.conns.contains_key(conn)).collect();
        let mut to = self.agent_conns();
        if message.kind != MessageKind::Note {
            to.extend(self.visitor_conns(&visitor));
        }
        to.retain(|conn| !ack_to.contains(conn));
        if let Some(cid) = &message.cid {
            let ack = ServerFrame::Ack {
                cid: cid.clone(),
                conversation: message.conversation.clone(),
                seq: message.seq,
            };
            self.send(ack_to, ack);
        }
        self.send(to, ServerFrame::Message(message));
    }

    pub(super) fn agent_sender(&self, agent: &AgentId) -> Sender {
        Sender { party: Party::Agent, id: Some(agent.0.clone()), name: Some(self.agent_name(agent)) }
    }

    pub(super) fn agent_name(&self, agent: &AgentId) -> String {
        self.agents.get(agent).map_or_else(|| agent.0.clone(), |state| state.name.clone())
    }

    pub(super) fn system_event(
        &mut self,
        conversation: &ConversationId,
        event: ConversationEvent,
        body: String,
        now: Millis,
    ) {
        let sender = Sender { party: Party::System, id: None, name: None };
        let draft = Draft {
            sender,
            kind: MessageKind::Event,
            content: Content::text(body),
            cid: None,
            event: Some(event),
        };
        self.append(conversation, draft, Vec::new(), now);
    }

    pub(super) fn conversation(&self, id: &ConversationId) -> Option<&Conversation> {
        self.conversations.get(id)
    }
}
