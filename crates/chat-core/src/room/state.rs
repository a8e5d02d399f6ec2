//! What a room holds: conversations, live visitors, connected agents and their sockets.

use std::collections::{HashMap, VecDeque};

use crate::ids::{AgentId, Cid, ConnId, ConversationId, Millis, Seq, VisitorId};
use crate::limits::{CID_WINDOW, TYPING_PREVIEW_INTERVAL_MS};
use crate::protocol::{AgentPresenceView, AgentStatus, ConversationView, LiveVisitorView, PageInfo};
use crate::rate::SendAllowance;
use crate::records::{ConversationRecord, StoredConversation};

/// Who is on the other end of a socket.
#[derive(Debug)]
pub(crate) enum Peer {
    Visitor { visitor: VisitorId, sends: SendAllowance },
    Agent { agent: AgentId, sends: SendAllowance },
}

impl Peer {
    pub(crate) fn sends(&mut self) -> &mut SendAllowance {
        match self {
            Peer::Visitor { sends, .. } | Peer::Agent { sends, .. } => sends,
        }
    }
}

/// A conversation the room holds.
#[derive(Debug)]
pub(crate) struct Conversation {
    pub(crate) record: ConversationRecord,
    /// The highest `seq` handed out.
    pub(crate) last_assigned: Seq,
    /// The highest `seq` stored; everything up to it can be replayed from storage.
    pub(crate) committed: Seq,
    /// When the last message was accepted.
    pub(crate) last_activity: Millis,
    pub(crate) cids: CidWindow,
}

impl Conversation {
    pub(crate) fn new(record: ConversationRecord, now: Millis) -> Self {
        Conversation {
            record,
            last_assigned: 0,
            committed: 0,
            last_activity: now,
            cids: CidWindow::default(),
        }
    }

    pub(crate) fn from_stored(stored: StoredConversation) -> Self {
        let mut cids = CidWindow::default();
        for (cid, seq) in stored.recent_cids {
            cids.insert(cid, seq);
        }
        Conversation {
            record: stored.record,
            last_assigned: stored.last_seq,
            committed: stored.last_seq,
            last_activity: stored.last_activity,
            cids,
        }
    }

    pub(crate) fn view(&self) -> ConversationView {
        self.record.view(self.committed)
    }

    pub(crate) fn id(&self) -> &ConversationId {
        &self.record.id
    }
}

/// The latest [`CID_WINDOW`] client ids of a conversation with the `seq` each got.
#[derive(Debug, Default)]
pub(crate) struct CidWindow {
    seqs: HashMap<Cid, Seq>,
    order: VecDeque<Cid>,
}

impl CidWindow {
    pub(crate) fn get(&self, cid: &Cid) -> Option<Seq> {
        self.seqs.get(cid).copied()
    }

    pub(crate) fn insert(&mut self, cid: Cid, seq: Seq) {
        if self.seqs.insert(cid.clone(), seq).is_none() {
            self.order.push_back(cid);
        }
        while self.order.len() > CID_WINDOW {
            if let Some(oldest) = self.order.pop_front() {
                self.seqs.remove(&oldest);
            }
        }
    }
}

/// A visitor on the site (or who left less than [`crate::limits::VISITOR_LEFT_GRACE_MS`] ago).
#[derive(Debug)]
pub(crate) struct LiveVisitor {
    pub(crate) page: PageInfo,
    pub(crate) keywords: Option<String>,
    pub(crate) arrived_at: Millis,
    /// One per open tab.
    pub(crate) conns: Vec<ConnId>,
    /// When the last socket closed; `None` while connected.
    pub(crate) left_at: Option<Millis>,
    pub(crate) typing: TypingPreview,
}

/// Throttles what agents see of a visitor's draft to one preview per
/// [`TYPING_PREVIEW_INTERVAL_MS`], always ending on the newest draft.
#[derive(Debug, Default)]
pub(crate) struct TypingPreview {
    /// The agents were told the visitor is typing.
    pub(crate) active: bool,
    pub(crate) last_sent: Option<Millis>,
    /// A newer draft that arrived within the interval.
    pub(crate) waiting: Option<String>,
}

impl TypingPreview {
    /// When the waiting draft may be sent.
    pub(crate) fn due(&self) -> Option<Millis> {
        self.waiting.as_ref().map(|_| self.last_sent.unwrap_or_default().plus(TYPING_PREVIEW_INTERVAL_MS))
    }

    pub(crate) fn may_send(&self, now: Millis) -> bool {
        self.last_sent.is_none_or(|last| now.since(last) >= TYPING_PREVIEW_INTERVAL_MS)
    }
}

/// An agent connected to the site.
#[derive(Debug)]
pub(crate) struct AgentState {
    pub(crate) name: String,
    pub(crate) capacity: u32,
    pub(crate) status: AgentStatus,
    /// One per device.
    pub(crate) conns: Vec<ConnId>,
}

impl AgentState {
    pub(crate) fn view(&self, agent: &AgentId, open_conversations: u32) -> AgentPresenceView {
        AgentPresenceView {
            agent: agent.clone(),
            name: self.name.clone(),
            status: self.status,
            open_conversations,
            capacity: self.capacity,
        }
    }
}

impl LiveVisitor {
    pub(crate) fn view(&self, visitor: &VisitorId, conversation: Option<ConversationId>) -> LiveVisitorView {
        LiveVisitorView {
            visitor: visitor.clone(),
            page: self.page.clone(),
            keywords: self.keywords.clone(),
            arrived_at: self.arrived_at,
            conversation,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cid_window_forgets_the_oldest() {
        let mut window = CidWindow::default();
        for seq in 1..=(CID_WINDOW as u64 + 1) {
            window.insert(Cid(format!("c{seq}")), seq);
        }
        assert_eq!(window.get(&Cid("c1".into())), None);
        assert_eq!(window.get(&Cid("c2".into())), Some(2));
    }
}
