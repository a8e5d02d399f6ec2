//! What a room holds: conversations, live visitors, connected agents and their sockets.

use std::collections::{HashMap, VecDeque};

use crate::ids::{AgentId, Cid, ConnId, ConversationId, Millis, Seq, VisitorId};
use crate::limits::{CID_WINDOW, RESEND_HOLD_MS, TYPING_PREVIEW_INTERVAL_MS};
use crate::protocol::{
    AgentPresenceView, AgentStatus, ConversationView, DeviceInfo, ErrorCode, IdentityView, LiveVisitorView,
    PageInfo,
};
use crate::rate::SendAllowance;
use crate::records::{ConversationRecord, StoredConversation};

/// Who is on the other end of a socket.
#[derive(Debug)]
pub(crate) enum Peer {
    Visitor { visitor: VisitorId, sends: Sends },
    Agent { agent: AgentId, sends: Sends },
}

impl Peer {
    pub(crate) fn sends(&mut self) -> &mut Sends {
        match self {
            Peer::Visitor { sends, .. } | Peer::Agent { sends, .. } => sends,
        }
    }
}

/// What a socket may send: its allowance, and the send refused for now that must come again
/// before a later one is taken ([`RESEND_HOLD_MS`]).
#[derive(Debug)]
pub(crate) struct Sends {
    pub(crate) allowance: SendAllowance,
    /// The refused send's cid, the code it got, and when the hold lapses.
    first_refused: Option<Box<(Cid, ErrorCode, Millis)>>,
}

impl Sends {
    pub(crate) fn new(allowance: SendAllowance) -> Self {
        Sends { allowance, first_refused: None }
    }

    /// The code to refuse `cid` with because an earlier send was refused and has not come again.
    /// That send itself, or any send once the hold lapsed, ends the hold.
    pub(crate) fn held_back(&mut self, cid: &Cid, now: Millis) -> Option<ErrorCode> {
        let (first, code, until) = self.first_refused.as_deref()?;
        if first != cid && now < *until {
            return Some(*code);
        }
        self.first_refused = None;
        None
    }

    /// `cid` was refused for now: later sends wait for it.
    pub(crate) fn refused(&mut self, cid: &Cid, code: ErrorCode, now: Millis) {
        if self.first_refused.is_none() {
            self.first_refused = Some(Box::new((cid.clone(), code, now.plus(RESEND_HOLD_MS))));
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
    /// Since when its visitor has not been on the site, as far as this room knows (for a room
    /// started from storage: since the room started). `None` while they are here.
    pub(crate) visitor_gone_since: Option<Millis>,
    pub(crate) cids: CidWindow,
}

impl Conversation {
    pub(crate) fn new(record: ConversationRecord, now: Millis) -> Self {
        Conversation {
            record,
            last_assigned: 0,
            committed: 0,
            last_activity: now,
            visitor_gone_since: None,
            cids: CidWindow::default(),
        }
    }

    /// A conversation loaded when the room starts at `now`.
    pub(crate) fn from_stored(stored: StoredConversation, now: Millis) -> Self {
        let mut cids = CidWindow::default();
        for (sender, cid, seq) in stored.recent_cids {
            cids.insert(sender, cid, seq, stored.last_seq);
        }
        Conversation {
            record: stored.record,
            last_assigned: stored.last_seq,
            committed: stored.last_seq,
            last_activity: stored.last_activity,
            visitor_gone_since: Some(now),
            cids,
        }
    }

    /// As it is stored now.
    pub(crate) fn view(&self) -> ConversationView {
        self.record.view(self.committed)
    }

    /// As it will be stored once the writes handed out so far are.
    pub(crate) fn view_once_written(&self) -> ConversationView {
        self.record.view(self.last_assigned)
    }

    pub(crate) fn id(&self) -> &ConversationId {
        &self.record.id
    }
}

/// The client ids of a conversation's latest messages, by sender, with the `seq` each got. Client
/// ids need only be unique per sender: a visitor's `"1"` and an agent's `"1"` are different sends.
/// It keeps the latest [`CID_WINDOW`] stored ones, and every one not yet stored, so a retry of a
/// message still waiting for the database is never taken for a new message.
#[derive(Debug, Default)]
pub(crate) struct CidWindow {
    /// By sender (the visitor, the agents: few per conversation, each named once), the `seq` of
    /// each held send. The window is held for every conversation the room holds.
    by_sender: Vec<(String, HashMap<Cid, Seq>)>,
    /// Held sends, oldest first: the sender's index in `by_sender`, the cid, its seq.
    order: VecDeque<(usize, Cid, Seq)>,
}

impl CidWindow {
    /// The `seq` the sender's `cid` got, if the window holds it.
    pub(crate) fn get(&self, sender: &str, cid: &Cid) -> Option<Seq> {
        let (_, seqs) = self.by_sender.iter().find(|(known, _)| known == sender)?;
        seqs.get(cid).copied()
    }

    /// Remembers a new send; forgets the oldest stored ones beyond the window.
    pub(crate) fn insert(&mut self, sender: String, cid: Cid, seq: Seq, committed: Seq) {
        let by = match self.by_sender.iter().position(|(known, _)| *known == sender) {
            Some(by) => by,
            None => {
                self.by_sender.push((sender, HashMap::new()));
                self.by_sender.len() - 1
            }
        };
        self.by_sender[by].1.insert(cid.clone(), seq);
        self.order.push_back((by, cid, seq));
        while self.order.len() > CID_WINDOW && self.order.front().is_some_and(|(_, _, seq)| *seq <= committed)
        {
            let Some((by, cid, seq)) = self.order.pop_front() else { break };
            let seqs = &mut self.by_sender[by].1;
            if seqs.get(&cid) == Some(&seq) {
                seqs.remove(&cid);
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
    /// Pages opened since they arrived.
    pub(crate) pages: u32,
    pub(crate) device: DeviceInfo,
    pub(crate) identity: Option<IdentityView>,
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
    /// When their last socket closed; their open conversations wait
    /// [`crate::limits::AGENT_LEFT_GRACE_MS`] for them before going back to the queue.
    pub(crate) left_at: Option<Millis>,
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
            pages: self.pages,
            device: self.device.clone(),
            identity: self.identity.clone(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cid_window_forgets_the_oldest_stored_and_keeps_senders_apart() {
        let mut window = CidWindow::default();
        let total = CID_WINDOW as u64 + 1;
        for seq in 1..=total {
            window.insert("v1".into(), Cid(format!("c{seq}")), seq, total);
        }
        assert_eq!(window.get("v1", &Cid("c1".into())), None);
        assert_eq!(window.get("v1", &Cid("c2".into())), Some(2));
        assert_eq!(window.get("a1", &Cid("c2".into())), None, "another sender's c2 is another send");
    }

    #[test]
    fn the_cid_window_keeps_everything_not_yet_stored() {
        let mut window = CidWindow::default();
        for seq in 1..=(CID_WINDOW as u64 * 2) {
            window.insert("v1".into(), Cid(format!("c{seq}")), seq, 0);
        }
        assert_eq!(window.get("v1", &Cid("c1".into())), Some(1));
    }
}
