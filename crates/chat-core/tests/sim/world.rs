//! A world of visitors and agents who behave as the real clients do — every send goes to an
//! outbox and leaves it on `ack`; reconnecting resumes from the highest `seq` held and resends
//! the outbox — driven by a list of operations, with the checks that nothing was lost, doubled or
//! reordered. The property test (`tests/no_loss.rs`) and the fuzzer (`fuzz/`) both drive it.

use std::collections::{BTreeMap, HashMap};

use chat_core::ids::{Cid, ConnId, ConversationId, Seq};
use chat_core::protocol::{AgentFrame, ErrorCode, MessageKind, ResumePoint, ServerFrame, VisitorFrame};

use super::{Sim, agent, site};

/// What happens next.
#[derive(Clone, Debug)]
pub enum Op {
    VisitorSends(usize),
    AgentSends { agent: usize, pick: usize },
    AgentCloses { agent: usize, pick: usize },
    Commit(usize),
    Disconnect(usize),
    Reconnect(usize),
    Crash,
    Wait(u64),
}

/// Visitors in the world.
pub const VISITORS: usize = 3;
/// Agents in the world.
pub const AGENTS: usize = 2;

#[derive(Default)]
struct Client {
    conn: Option<ConnId>,
    /// Sent and not yet acknowledged: (cid, body, conversation for agents).
    outbox: Vec<(Cid, String, Option<ConversationId>)>,
    /// Everything received, by conversation and seq.
    have: BTreeMap<ConversationId, BTreeMap<Seq, (Option<Cid>, String)>>,
    /// The text of every message this client sent, by cid.
    bodies: HashMap<Cid, String>,
    /// Every cid this client ever sent that was not refused for good.
    sent: Vec<Cid>,
    next: u32,
}

pub struct World {
    sim: Sim,
    clients: Vec<Client>,
    /// Per connection and conversation: the next seq it must receive, once known.
    expect: HashMap<(ConnId, ConversationId), Seq>,
}

impl World {
    pub fn new() -> Self {
        let mut world = World { sim: Sim::new(site(true)), clients: Vec::new(), expect: HashMap::new() };
        world.clients.resize_with(VISITORS + AGENTS, Client::default);
        for i in 0..VISITORS + AGENTS {
            world.connect(i);
        }
        world
    }

    fn is_visitor(i: usize) -> bool {
        i < VISITORS
    }

    fn connect(&mut self, i: usize) {
        if self.clients[i].conn.is_some() {
            return;
        }
        let resume: Vec<_> = self.clients[i]
            .have
            .iter()
            .map(|(conversation, messages)| ResumePoint {
                conversation: conversation.clone(),
                last_seq: messages.keys().next_back().copied().unwrap_or(0),
            })
            .collect();
        for point in &resume {
            // Whatever this socket gets of a conversation it resumed must start right after.
            self.expect.insert((ConnId(u64::MAX), point.conversation.clone()), point.last_seq + 1);
        }
        let conn = if Self::is_visitor(i) {
            self.sim.visitor_joins(&format!("v{i}"), "/", resume.clone())
        } else {
            self.sim.agent_joins(agent(&format!("a{i}"), 2), resume.clone())
        };
        for point in resume {
            self.expect.remove(&(ConnId(u64::MAX), point.conversation.clone()));
            self.expect.insert((conn, point.conversation), point.last_seq + 1);
        }
        self.clients[i].conn = Some(conn);
        self.deliver();
        for (cid, body, conversation) in self.clients[i].outbox.clone() {
            self.transmit(i, cid, body, conversation);
        }
    }

    fn disconnect(&mut self, i: usize) {
        if let Some(conn) = self.clients[i].conn.take() {
            self.sim.disconnect(conn);
            self.sim.inbox.remove(&conn);
            self.deliver();
        }
    }

    fn send(&mut self, i: usize, pick: usize) {
        let client = &mut self.clients[i];
        client.next += 1;
        let cid = Cid(format!("c{i}-{}", client.next));
        let body = format!("message {} of client {i}", client.next);
        let conversation = if Self::is_visitor(i) {
            None
        } else {
            let known: Vec<_> = client.have.keys().cloned().collect();
            if known.is_empty() {
                return;
            }
            Some(known[pick % known.len()].clone())
        };
        client.outbox.push((cid.clone(), body.clone(), conversation.clone()));
        client.bodies.insert(cid.clone(), body.clone());
        client.sent.push(cid.clone());
        self.transmit(i, cid, body, conversation);
    }

    fn transmit(&mut self, i: usize, cid: Cid, body: String, conversation: Option<ConversationId>) {
        let Some(conn) = self.clients[i].conn else { return };
        match conversation {
            None => self.sim.visitor(conn, VisitorFrame::Send { cid, body, attachment: None }),
            Some(conversation) => {
                let frame = AgentFrame::Send {
                    site: "s1".into(),
                    conversation,
                    cid,
                    body,
                    note: false,
                    attachment: None,
                };
                self.sim.agent(conn, frame);
            }
        }
        self.deliver();
    }

    fn close(&mut self, i: usize, pick: usize) {
        let (Some(conn), known) =
            (self.clients[i].conn, self.clients[i].have.keys().cloned().collect::<Vec<_>>())
        else {
            return;
        };
        if !known.is_empty() {
            let conversation = known[pick % known.len()].clone();
            self.sim.agent(conn, AgentFrame::Close { site: "s1".into(), conversation });
            self.deliver();
        }
    }

    /// Hands every received frame to its client, checking order on the way.
    fn deliver(&mut self) {
        for i in 0..self.clients.len() {
            let Some(conn) = self.clients[i].conn else { continue };
            for frame in self.sim.take(conn) {
                self.receive(i, conn, frame);
            }
        }
    }

    fn receive(&mut self, i: usize, conn: ConnId, frame: ServerFrame) {
        let client = &mut self.clients[i];
        match frame {
            ServerFrame::Ack { cid, conversation, seq } => {
                client.outbox.retain(|(c, ..)| *c != cid);
                let key = (conn, conversation.clone());
                let expected = self.expect.get(&key).copied();
                if expected.is_some_and(|expected| seq < expected) {
                    // A retry of something this socket already holds.
                    let held = client.have.get(&conversation).and_then(|held| held.get(&seq));
                    assert_eq!(held.and_then(|(c, _)| c.as_ref()), Some(&cid), "a re-ack names what is held");
                    return;
                }
                let Some(expected) = expected else {
                    // A conversation this socket does not follow (a retry into an earlier one):
                    // the ack is a receipt, not a place in a stream the socket holds.
                    let body = client.bodies[&cid].clone();
                    client.have.entry(conversation).or_default().insert(seq, (Some(cid), body));
                    return;
                };
                // The ack stands in the stream in place of the client's own message.
                assert_eq!(seq, expected, "socket {conn:?} got the ack of {conversation} out of order");
                self.expect.insert(key, seq + 1);
                let body = client.bodies[&cid].clone();
                let held = client.have.entry(conversation).or_default();
                assert!(held.insert(seq, (Some(cid), body)).is_none(), "a message was delivered twice");
            }
            ServerFrame::Message(message) => {
                let key = (conn, message.conversation.clone());
                if let Some(expected) = self.expect.get(&key) {
                    assert_eq!(
                        message.seq, *expected,
                        "socket {conn:?} got {} out of order",
                        message.conversation
                    );
                }
                self.expect.insert(key, message.seq + 1);
                let held = client.have.entry(message.conversation.clone()).or_default();
                let entry = (message.cid.clone(), message.body.clone());
                assert!(held.insert(message.seq, entry).is_none(), "a message was delivered twice");
            }
            ServerFrame::Conversation { conversation } => {
                client.have.entry(conversation.id).or_default();
            }
            ServerFrame::Error { code, cid: Some(cid), .. } => match code {
                ErrorCode::RateLimited | ErrorCode::Unavailable => {}
                // Agents may write into a conversation someone just closed: refused for good.
                ErrorCode::InvalidState | ErrorCode::NotFound if !Self::is_visitor(i) => {
                    client.outbox.retain(|(c, ..)| *c != cid);
                    client.sent.retain(|c| *c != cid);
                }
                other => panic!("unexpected {other:?} for {cid}"),
            },
            _ => {}
        }
    }

    pub fn apply(&mut self, op: Op) {
        match op {
            Op::VisitorSends(i) => self.send(i, 0),
            Op::AgentSends { agent, pick } => self.send(VISITORS + agent, pick),
            Op::AgentCloses { agent, pick } => self.close(VISITORS + agent, pick),
            Op::Commit(n) => {
                self.sim.commit(n);
                self.deliver();
            }
            Op::Disconnect(i) => self.disconnect(i),
            Op::Reconnect(i) => self.connect(i),
            Op::Crash => {
                self.sim.crash();
                for client in &mut self.clients {
                    client.conn = None;
                }
                self.sim.inbox.clear();
            }
            Op::Wait(ms) => {
                self.sim.advance(ms);
                self.deliver();
            }
        }
    }

    /// Commit, reconnect everyone, resend, wait for allowances to refill; until every outbox is empty.
    pub fn settle(&mut self) {
        for _ in 0..50 {
            self.sim.commit_all();
            self.deliver();
            if self.clients.iter().all(|c| c.outbox.is_empty()) {
                break;
            }
            for i in 0..self.clients.len() {
                self.disconnect(i);
                self.connect(i);
            }
            self.sim.commit_all();
            self.deliver();
            self.sim.advance(5_000);
            self.deliver();
        }
        // A last round so every client holds everything stored.
        for i in 0..self.clients.len() {
            self.disconnect(i);
            self.connect(i);
        }
    }

    pub fn check(&self) {
        let store = &self.sim.store;
        let mut stored_cids: HashMap<&Cid, usize> = HashMap::new();
        for messages in store.messages.values() {
            for message in messages.iter().filter(|m| m.cid.is_some()) {
                *stored_cids.entry(message.cid.as_ref().unwrap()).or_default() += 1;
            }
        }
        for (i, client) in self.clients.iter().enumerate() {
            assert!(client.outbox.is_empty(), "client {i} still has unacknowledged messages");
            for cid in &client.sent {
                assert_eq!(stored_cids.get(cid), Some(&1), "client {i}'s {cid} must be stored exactly once");
            }
            for (conversation, held) in &client.have {
                let stored = store.messages.get(conversation).map(Vec::as_slice).unwrap_or_default();
                for (seq, (cid, body)) in held {
                    let stored = stored.get(*seq as usize - 1).map(|m| (&m.cid, &m.body));
                    assert_eq!(Some((cid, body)), stored, "client {i} holds what was stored");
                }
            }
            if Self::is_visitor(i) {
                // Resuming replays the visitor's latest conversation; older ones are history (REST).
                let visitor = format!("v{i}");
                let latest = store
                    .conversations
                    .values()
                    .filter(|c| c.visitor.0 == visitor)
                    .max_by_key(|c| (c.started_at, c.id.clone()));
                if let Some(latest) = latest {
                    let stored = store.messages.get(&latest.id).map(Vec::as_slice).unwrap_or_default();
                    let visible = stored.iter().filter(|m| m.kind != MessageKind::Note).count();
                    let held = client.have.get(&latest.id).map_or(0, BTreeMap::len);
                    assert_eq!(held, visible, "visitor {i} holds all of {}", latest.id);
                }
            }
        }
    }
}
