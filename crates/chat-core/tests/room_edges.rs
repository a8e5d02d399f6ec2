//! The room at its edges: equal client ids of different senders, restarts, agents who leave,
//! floods of page changes and ratings, duplicate resume points, deleted sites.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use chat_core::ids::Cid;
use chat_core::limits::{
    AGENT_LEFT_GRACE_MS, CONVERSATION_IDLE_CLOSE_MS, MAX_CONVERSATIONS_PER_VISITOR, STORE_STALL_MS,
    VISITOR_LEFT_GRACE_MS, VISITOR_SEND_BURST,
};
use chat_core::protocol::{
    AgentFrame, ConversationEvent, ConversationStatus, ErrorCode, PageInfo, ResumePoint, ServerFrame,
    VisitorFrame, close,
};
use chat_core::room::{Effect, Input};
use sim::{Sim, acks, agent, conversation_of, errors, messages, send, site};

#[test]
fn equal_client_ids_of_different_senders_are_different_messages() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("1", "from the visitor"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    let reply = AgentFrame::Send {
        site: "s1".into(),
        conversation: id.clone(),
        cid: Cid::from("1"),
        body: "from the agent".into(),
        note: false,
        attachment: None,
    };
    sim.agent(a1, reply);
    sim.commit_all();
    assert_eq!(
        sim.store.bodies(&id),
        ["from the visitor", "Agent a1 joined the conversation", "from the agent"]
    );
}

#[test]
fn a_restarted_room_waits_for_visitors_before_closing_quiet_conversations() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hello?"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    // A long quiet spell, then the server restarts.
    sim.now = sim.now.plus(CONVERSATION_IDLE_CLOSE_MS * 2);
    sim.crash();
    sim.advance(2_000);
    let back = sim.visitor_joins("v1", "/", vec![]);
    let welcome = sim.take(back);
    assert!(
        matches!(&welcome[0], ServerFrame::Welcome { conversation: Some(c), .. } if c.status == ConversationStatus::Waiting)
    );

    // A visitor who never comes back: closed once the idle time has passed since the restart.
    sim.disconnect(back);
    sim.advance(VISITOR_LEFT_GRACE_MS + 1_000);
    assert_eq!(sim.store.conversations[&id].status, ConversationStatus::Waiting);
    sim.advance(CONVERSATION_IDLE_CLOSE_MS);
    sim.commit_all();
    assert_eq!(sim.store.conversations[&id].status, ConversationStatus::Closed);
}

#[test]
fn an_agent_who_does_not_come_back_hands_their_conversations_back() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.disconnect(a1);
    // Back within the grace period: still theirs.
    sim.advance(AGENT_LEFT_GRACE_MS / 2);
    let a1_again = sim.agent_joins(agent("a1", 5), vec![]);
    sim.advance(AGENT_LEFT_GRACE_MS);
    sim.commit_all();
    assert_eq!(sim.store.conversations[&id].agent.as_ref().map(|a| a.0.as_str()), Some("a1"));

    // Gone for good: the conversation goes to the agent who is there.
    let a2 = sim.agent_joins(agent("a2", 5), vec![]);
    sim.disconnect(a1_again);
    sim.advance(AGENT_LEFT_GRACE_MS + 1_000);
    sim.commit_all();
    assert_eq!(sim.store.conversations[&id].agent.as_ref().map(|a| a.0.as_str()), Some("a2"));
    let events: Vec<_> = messages(&sim.take(a2)).iter().filter_map(|m| m.event.clone()).collect();
    assert!(events.contains(&ConversationEvent::Requeued { agent: "a1".into() }));
    assert!(events.iter().any(|e| matches!(e, ConversationEvent::Assigned { agent, .. } if agent.0 == "a2")));
}

#[test]
fn page_changes_and_ratings_cost_what_messages_cost() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.take(a1);
    let page = |url: &str| VisitorFrame::Page {
        page: PageInfo { url: url.into(), title: "Page".into(), referrer: String::new() },
    };
    sim.visitor(v1, page("/"));
    assert!(sim.take(a1).is_empty(), "the same page is nothing new");
    for i in 0..VISITOR_SEND_BURST + 3 {
        sim.visitor(v1, page(&format!("/p{i}")));
    }
    let shown = sim.take(a1).iter().filter(|f| matches!(f, ServerFrame::VisitorPage { .. })).count();
    assert_eq!(shown, VISITOR_SEND_BURST as usize);
    assert_eq!(errors(&sim.take(v1)), vec![ErrorCode::RateLimited; 3]);

    sim.commit_all();
    sim.advance(60_000);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    let writes_before = sim.uncommitted();
    for _ in 0..10 {
        sim.visitor(v1, VisitorFrame::Rate { conversation: id.clone(), score: 4, comment: "ok".into() });
    }
    sim.commit_all();
    let rated = sim.store.messages[&id]
        .iter()
        .filter(|m| matches!(m.event, Some(ConversationEvent::Rated { .. })))
        .count();
    assert_eq!((writes_before, rated), (0, 1), "the same rating again changes nothing");
}

#[test]
fn duplicate_resume_points_replay_once() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    let point = ResumePoint { conversation: id.clone(), last_seq: 0 };
    let a1 = sim.agent_joins(agent("a1", 5), vec![point.clone(), point]);
    let seqs: Vec<_> = messages(&sim.take(a1)).iter().map(|m| m.seq).collect();
    assert_eq!(seqs, vec![1]);
}

#[test]
fn a_visitor_cannot_start_conversations_without_end() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", MAX_CONVERSATIONS_PER_VISITOR as u32 + 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    for i in 0..MAX_CONVERSATIONS_PER_VISITOR {
        sim.visitor(v1, send(&format!("m{i}"), "hi"));
        sim.visitor(v1, VisitorFrame::Close);
        sim.commit_all();
        sim.advance(1_000);
    }
    sim.take(v1);
    sim.visitor(v1, send("one-more", "hi"));
    assert_eq!(errors(&sim.take(v1)), vec![ErrorCode::RateLimited]);
    let _ = a1;
}

#[test]
fn a_deleted_site_sends_visitors_away_and_agents_to_reconnect() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.take(a1);
    sim.take(v1);
    let effects = sim.room.handle(Input::SiteRemoved, sim.now);
    let closes: Vec<_> = effects
        .iter()
        .filter_map(|e| if let Effect::Close { conn, code, .. } = e { Some((*conn, *code)) } else { None })
        .collect();
    assert!(closes.contains(&(v1, close::BAD_HELLO)));
    assert!(closes.contains(&(a1, close::RESTARTING)));
}

#[test]
fn a_change_of_a_conversation_is_shown_only_once_stored() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.take(a1);
    sim.agent(a1, chat_core::protocol::AgentFrame::Close { site: "s1".into(), conversation: id.clone() });
    let shown = |frames: &[ServerFrame]| frames.iter().any(|f| matches!(f, ServerFrame::Conversation { .. }));
    assert!(!shown(&sim.take(v1)), "not before the write commits");
    // The process dies before the commit: after the restart the conversation is still open, and
    // nobody was told otherwise.
    sim.crash();
    let back = sim.visitor_joins("v1", "/", vec![]);
    assert!(
        matches!(&sim.take(back)[0], ServerFrame::Welcome { conversation: Some(c), .. } if c.status == ConversationStatus::Open)
    );
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    sim.agent(a1, chat_core::protocol::AgentFrame::Close { site: "s1".into(), conversation: id.clone() });
    sim.commit_all();
    assert!(shown(&sim.take(back)));
}

#[test]
fn a_retry_while_the_first_send_is_being_stored_gets_its_own_ack() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.take(v1);
    sim.visitor(v1, send("same", "Hello?"));
    sim.visitor(v1, send("same", "Hello?"));
    assert!(acks(&sim.take(v1)).is_empty(), "nothing before it is stored");
    sim.commit_all();
    assert_eq!(acks(&sim.take(v1)), [("same".to_owned(), 1), ("same".to_owned(), 1)], "one ack per send");
    assert_eq!(sim.store.messages.values().next().map(Vec::len), Some(1), "stored once");
}

#[test]
fn a_read_is_shown_to_the_other_side_only_and_conversation_frames_count_every_stored_message() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 3), vec![]);
    let v1 = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.visitor(v1, send("m1", "Hello?"));
    sim.commit_all();
    let to_visitor = sim.take(v1);
    let id = conversation_of(&to_visitor);
    // The message (1) and the assignment (2) are stored: the conversation frames say so.
    let last = to_visitor.iter().rev().find_map(|f| match f {
        ServerFrame::Conversation { conversation } => Some(conversation.last_seq),
        _ => None,
    });
    assert_eq!(last, Some(2));
    sim.take(a1);

    sim.visitor(v1, VisitorFrame::Read { conversation: id.clone(), seq: 2 });
    sim.commit_all();
    let reads =
        |frames: &[ServerFrame]| frames.iter().filter(|f| matches!(f, ServerFrame::Read { .. })).count();
    assert_eq!(reads(&sim.take(v1)), 0, "not echoed to the reader");
    assert_eq!(reads(&sim.take(a1)), 1);
    sim.agent(a1, AgentFrame::Read { site: "s1".into(), conversation: id, seq: 2 });
    sim.commit_all();
    assert_eq!(reads(&sim.take(a1)), 0);
    assert_eq!(reads(&sim.take(v1)), 1);
}

#[test]
fn a_store_that_stops_committing_turns_sends_away_until_it_catches_up() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("1", "stored late"));
    sim.advance(STORE_STALL_MS - 1);
    sim.visitor(v1, send("2", "taken while the store may still answer"));
    sim.advance(1);
    sim.visitor(v1, send("3", "turned away"));
    let frames = sim.take(v1);
    assert!(acks(&frames).is_empty(), "nothing is acknowledged before it is stored");
    assert_eq!(errors(&frames), [ErrorCode::Unavailable]);
    assert!(frames.iter().any(|f| matches!(f, ServerFrame::Error { cid: Some(c), .. } if c.0 == "3")));

    // The store catches up: what it held is acknowledged. A message written after the refused
    // one waits for it, whose client sends it again first; then both are taken, in order.
    sim.commit_all();
    let frames = sim.take(v1);
    let id = conversation_of(&frames);
    let held: Vec<String> = acks(&frames).into_iter().map(|(cid, _)| cid).collect();
    assert_eq!(held, ["1", "2"]);
    sim.visitor(v1, send("4", "written after"));
    assert_eq!(errors(&sim.take(v1)), [ErrorCode::Unavailable]);
    sim.visitor(v1, send("3", "turned away"));
    sim.visitor(v1, send("4", "written after"));
    sim.commit_all();
    assert_eq!(acks(&sim.take(v1)).len(), 2);
    assert_eq!(
        sim.store.bodies(&id),
        ["stored late", "taken while the store may still answer", "turned away", "written after"]
    );
}

#[test]
fn a_rebuilt_room_takes_its_sockets_back_silently_and_carries_on() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/shoes", vec![]);
    sim.visitor(v1, VisitorFrame::Page { page: PageInfo { url: "/boots".into(), ..PageInfo::default() } });
    sim.visitor(v1, send("m1", "do you have boots?"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.take(a1);
    let (visitor, agent_snapshot) = (sim.room.snapshot(v1).unwrap(), sim.room.snapshot(a1).unwrap());

    // The room's memory is lost (an evicted edge object); its sockets are still open.
    sim.crash();
    sim.input(Input::Rejoined { conn: v1, peer: visitor });
    sim.input(Input::Rejoined { conn: a1, peer: agent_snapshot });
    assert!(sim.take(v1).is_empty() && sim.take(a1).is_empty(), "nobody is told anything");
    assert_eq!(sim.uncommitted(), 0, "nothing is stored");

    // The visitor is listed as they were, and the conversation goes on where it was.
    let Some(chat_core::room::Snapshot::Visitor { live }) = sim.room.snapshot(v1) else {
        panic!("not a visitor")
    };
    assert_eq!(live.page.url, "/boots");
    assert_eq!(live.pages, 2);
    sim.visitor(v1, send("m2", "size 44"));
    sim.commit_all();
    let seq = acks(&sim.take(v1))[0].1;
    let seen = sim.take(a1);
    assert_eq!(
        messages(&seen).iter().map(|m| (m.seq, m.body.as_str())).collect::<Vec<_>>(),
        [(seq, "size 44")]
    );
    // A retry from before is still recognised.
    sim.visitor(v1, send("m1", "do you have boots?"));
    sim.commit_all();
    assert_eq!(acks(&sim.take(v1)), [("m1".to_owned(), 1)]);
    assert_eq!(sim.store.bodies(&id).iter().filter(|b| b.as_str() == "do you have boots?").count(), 1);
}
