//! Signals that are not messages: typing (with the visitor's draft as a preview for agents,
//! throttled) and read receipts. Nothing here waits for storage except read positions, which are
//! stored with the conversation.

use super::state::TypingPreview;
use super::{AfterCommit, SiteRoom};
use crate::ids::{AgentId, ConnId, ConversationId, Millis, Seq, VisitorId};
use crate::limits::MAX_PREVIEW_CHARS;
use crate::protocol::{ConversationStatus, ErrorCode, Party, ServerFrame};

impl SiteRoom {
    pub(super) fn visitor_typing(&mut self, visitor: &VisitorId, text: String, now: Millis) {
        let text = last_chars(text, MAX_PREVIEW_CHARS);
        if text.is_empty() {
            return self.visitor_stopped_typing(visitor);
        }
        let Some(live) = self.visitors.get_mut(visitor) else { return };
        if live.typing.may_send(now) {
            self.send_preview(visitor, text, now);
        } else {
            live.typing.waiting = Some(text);
            self.previews_waiting.insert(visitor.clone());
        }
    }

    pub(super) fn send_preview(&mut self, visitor: &VisitorId, text: String, now: Millis) {
        let Some(live) = self.visitors.get_mut(visitor) else { return };
        live.typing = TypingPreview { active: true, last_sent: Some(now), waiting: None };
        self.previews_waiting.remove(visitor);
        let frame = self.visitor_typing_frame(visitor, true, Some(text));
        let to = self.agent_conns();
        self.send(to, frame);
    }

    pub(super) fn visitor_stopped_typing(&mut self, visitor: &VisitorId) {
        let Some(live) = self.visitors.get_mut(visitor) else { return };
        live.typing.waiting = None;
        let was_active = std::mem::take(&mut live.typing.active);
        self.previews_waiting.remove(visitor);
        if was_active {
            let frame = self.visitor_typing_frame(visitor, false, None);
            let to = self.agent_conns();
            self.send(to, frame);
        }
    }

    fn visitor_typing_frame(
        &self,
        visitor: &VisitorId,
        active: bool,
        preview: Option<String>,
    ) -> ServerFrame {
        let conversation = self
            .latest(visitor)
            .filter(|id| self.conversation(id).is_some_and(|c| c.record.status != ConversationStatus::Closed))
            .cloned();
        ServerFrame::Typing {
            site: self.info.site.clone(),
            visitor: visitor.clone(),
            conversation,
            from: Party::Visitor,
            agent: None,
            active,
            preview,
        }
    }

    pub(super) fn agent_typing(
        &mut self,
        conn: ConnId,
        agent: &AgentId,
        conversation: ConversationId,
        active: bool,
    ) {
        let Some(visitor) = self.conversation(&conversation).map(|c| c.record.visitor.clone()) else {
            return self.refuse(conn, ErrorCode::NotFound, "no such conversation", None);
        };
        let own = self.agents.get(agent).map(|a| a.conns.clone()).unwrap_or_default();
        let mut to: Vec<_> = self.agent_conns().into_iter().filter(|c| !own.contains(c)).collect();
        to.extend(self.visitor_conns(&visitor));
        let frame = ServerFrame::Typing {
            site: self.info.site.clone(),
            visitor,
            conversation: Some(conversation),
            from: Party::Agent,
            agent: Some(agent.clone()),
            active,
            preview: None,
        };
        self.send(to, frame);
    }

    pub(super) fn visitor_read(
        &mut self,
        conn: ConnId,
        visitor: &VisitorId,
        conversation: ConversationId,
        seq: Seq,
    ) {
        if !self.held.get(visitor).is_some_and(|held| held.contains(&conversation)) {
            return self.refuse(conn, ErrorCode::NotFound, "no such conversation", None);
        }
        self.read(conn, conversation, Party::Visitor, seq);
    }

    pub(super) fn agent_read(&mut self, conn: ConnId, conversation: ConversationId, seq: Seq) {
        if self.conversation(&conversation).is_none() {
            return self.refuse(conn, ErrorCode::NotFound, "no such conversation", None);
        }
        self.read(conn, conversation, Party::Agent, seq);
    }

    fn read(&mut self, conn: ConnId, conversation: ConversationId, by: Party, seq: Seq) {
        let Some(conv) = self.conversations.get_mut(&conversation) else { return };
        if seq > conv.committed {
            return self.refuse(conn, ErrorCode::BadFrame, "that seq is beyond the conversation", None);
        }
        let mark = if by == Party::Visitor {
            &mut conv.record.visitor_read_seq
        } else {
            &mut conv.record.agent_read_seq
        };
        if seq <= *mark {
            return;
        }
        *mark = seq;
        let visitor = conv.record.visitor.clone();
        let frame =
            ServerFrame::Read { site: self.info.site.clone(), conversation: conversation.clone(), by, seq };
        // Shown to the other side only: the reader knows what they read.
        let shown = match by {
            Party::Visitor => AfterCommit::ToAgents { frame },
            _ => AfterCommit::ToVisitor { visitor, frame },
        };
        // A read position is worth storing, not worth refusing anything for: with the database
        // behind, it is shown at once and the next one carries it to storage.
        if !self.store_behind() {
            self.persist(&conversation);
            self.after_last_write(shown);
        } else {
            self.show(shown);
        }
    }
}

/// The end of a draft is what the visitor is typing now; keep that.
fn last_chars(text: String, limit: usize) -> String {
    let count = text.chars().count();
    if count <= limit {
        return text;
    }
    text.chars().skip(count - limit).collect()
}
