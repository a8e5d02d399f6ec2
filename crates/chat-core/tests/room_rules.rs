//! The room's rules, one scenario each, on a fake clock.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod sim;

use chat_core::ids::{AgentId, Cid, ConversationId};
use chat_core::limits::{
    MAX_MESSAGE_CHARS, RESEND_HOLD_MS, TYPING_PREVIEW_INTERVAL_MS, VISITOR_LEFT_GRACE_MS, VISITOR_SEND_BURST,
};
use chat_core::protocol::{
    AgentFrame, AgentStatus, ConversationEvent, ConversationStatus, ErrorCode, MessageKind, ResumePoint,
    ServerFrame, VisitorFrame,
};
use sim::{Sim, acks, agent, agent_send, conversation_of, errors, messages, send, site};

fn last_state(frames: &[ServerFrame], id: &ConversationId) -> (ConversationStatus, Option<AgentId>) {
    frames
        .iter()
        .rev()
        .find_map(|f| match f {
            ServerFrame::Conversation { conversation } if conversation.id == *id => {
                Some((conversation.status, conversation.agent.clone()))
            }
            _ => None,
        })
        .expect("a conversation frame for it")
}

#[test]
fn a_message_is_acknowledged_and_delivered_only_after_it_is_stored() {
    let mut sim = Sim::new(site(true));
    let alice = sim.agent_joins(agent("a1", 3), vec![]);
    let visitor = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.take(alice);
    let welcome = sim.take(visitor);
    assert!(matches!(&welcome[..], [ServerFrame::Welcome { agents_online: true, conversation: None, .. }]));

    sim.visitor(visitor, send("m1", "Hello, is the blue one in stock?"));
    let before_commit = sim.take(visitor);
    assert!(acks(&before_commit).is_empty(), "no ack before the write commits");
    assert!(messages(&sim.take(alice)).is_empty(), "no delivery before the write commits");

    sim.commit_all();
    let visitor_frames = sim.take(visitor);
    assert_eq!(acks(&visitor_frames), vec![("m1".into(), 1)]);
    let agent_frames = sim.take(alice);
    let delivered = messages(&agent_frames);
    assert_eq!(delivered[0].body, "Hello, is the blue one in stock?");
    assert_eq!(delivered[0].seq, 1);
    // Round-robin gave it to the only agent, recorded as the next message.
    assert_eq!(
        delivered[1].event,
        Some(ConversationEvent::Assigned { agent: "a1".into(), name: "Agent a1".into() })
    );
    assert_eq!(sim.store.messages.values().next().map(Vec::len), Some(2));
}

#[test]
fn a_retried_send_is_stored_once_and_acknowledged_with_the_first_seq() {
    let mut sim = Sim::new(site(false));
    let first = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.visitor(first, send("m1", "once"));
    // The socket dies before the commit; the retry comes on a new socket while the write is pending.
    sim.disconnect(first);
    let second = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.visitor(second, send("m1", "once"));
    sim.commit_all();
    assert_eq!(acks(&sim.take(second)), vec![("m1".into(), 1)]);

    // And once more after it was stored.
    let third = sim.visitor_joins("v1", "https://shop.example/", vec![]);
    sim.visitor(third, send("m1", "once"));
    assert_eq!(acks(&sim.take(third)), vec![("m1".into(), 1)]);
    sim.commit_all();
    let conversation = sim.store.messages.keys().next().cloned().unwrap();
    assert_eq!(sim.store.bodies(&conversation), vec!["once"]);
}

#[test]
fn round_robin_respects_capacity_and_closing_frees_a_place() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 1), vec![]);
    let _a2 = sim.agent_joins(agent("a2", 1), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    let v2 = sim.visitor_joins("v2", "/", vec![]);
    let v3 = sim.visitor_joins("v3", "/", vec![]);
    for (conn, cid) in [(v1, "x1"), (v2, "x2"), (v3, "x3")] {
        sim.visitor(conn, send(cid, "hello"));
        sim.commit_all();
    }
    let frames = sim.take(a1);
    let ids: Vec<_> = [v1, v2, v3].iter().map(|v| conversation_of(&sim.take(*v))).collect();
    assert_eq!(last_state(&frames, &ids[0]), (ConversationStatus::Open, Some("a1".into())));
    assert_eq!(last_state(&frames, &ids[1]), (ConversationStatus::Open, Some("a2".into())));
    assert_eq!(last_state(&frames, &ids[2]), (ConversationStatus::Waiting, None), "both agents are full");

    sim.agent(a1, AgentFrame::Close { site: "s1".into(), conversation: ids[0].clone() });
    sim.commit_all();
    let frames = sim.take(a1);
    assert_eq!(last_state(&frames, &ids[0]).0, ConversationStatus::Closed);
    assert_eq!(last_state(&frames, &ids[2]), (ConversationStatus::Open, Some("a1".into())));
}

#[test]
fn away_and_offline_agents_get_no_new_conversations() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    sim.agent(a1, AgentFrame::Status { status: AgentStatus::Away });
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    let welcome = sim.take(v1);
    assert!(matches!(&welcome[..], [ServerFrame::Welcome { agents_online: false, .. }]));
    sim.visitor(v1, send("x", "anyone?"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    assert_eq!(last_state(&sim.take(a1), &id), (ConversationStatus::Waiting, None));

    sim.agent(a1, AgentFrame::Status { status: AgentStatus::Online });
    sim.commit_all();
    let visitor_frames = sim.take(v1);
    assert!(visitor_frames.contains(&ServerFrame::AgentsOnline { online: true }));
    assert_eq!(last_state(&visitor_frames, &id), (ConversationStatus::Open, Some("a1".into())));
}

#[test]
fn without_auto_assign_agents_accept_and_a_second_accept_is_refused() {
    let mut sim = Sim::new(site(false));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let a2 = sim.agent_joins(agent("a2", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("x", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    assert_eq!(last_state(&sim.take(a1), &id), (ConversationStatus::Waiting, None));

    sim.agent(a2, AgentFrame::Accept { site: "s1".into(), conversation: id.clone() });
    sim.commit_all();
    assert_eq!(last_state(&sim.take(v1), &id), (ConversationStatus::Open, Some("a2".into())));
    sim.take(a1);
    sim.agent(a1, AgentFrame::Accept { site: "s1".into(), conversation: id.clone() });
    assert_eq!(errors(&sim.take(a1)), vec![ErrorCode::InvalidState]);
}

#[test]
fn transfer_moves_the_conversation_and_refuses_absent_agents() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("x", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));

    sim.agent(a1, AgentFrame::Transfer { site: "s1".into(), conversation: id.clone(), to: "a9".into() });
    assert_eq!(errors(&sim.take(a1)), vec![ErrorCode::NotFound]);

    let a2 = sim.agent_joins(agent("a2", 5), vec![]);
    sim.agent(a1, AgentFrame::Transfer { site: "s1".into(), conversation: id.clone(), to: "a2".into() });
    sim.commit_all();
    let frames = sim.take(a2);
    assert_eq!(last_state(&frames, &id), (ConversationStatus::Open, Some("a2".into())));
    let event = messages(&frames).last().and_then(|m| m.event.clone());
    assert_eq!(
        event,
        Some(ConversationEvent::Transferred {
            from: Some("a1".into()),
            to: "a2".into(),
            name: "Agent a2".into()
        })
    );
    assert!(messages(&sim.take(v1)).iter().any(|m| m.body == "The conversation was transferred to Agent a2"));
}

#[test]
fn the_agent_sees_a_throttled_preview_that_ends_on_the_newest_draft() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.take(a1);
    for draft in ["H", "He", "Hel", "Hell"] {
        sim.visitor(v1, VisitorFrame::Typing { text: draft.into() });
        sim.now = sim.now.plus(50);
    }
    let previews = |frames: Vec<ServerFrame>| -> Vec<Option<String>> {
        frames
            .into_iter()
            .filter_map(|f| if let ServerFrame::Typing { preview, .. } = f { Some(preview) } else { None })
            .collect()
    };
    assert_eq!(previews(sim.take(a1)), vec![Some("H".to_owned())], "later drafts wait for the interval");
    assert!(sim.room.next_deadline().is_some());
    sim.advance(TYPING_PREVIEW_INTERVAL_MS);
    assert_eq!(previews(sim.take(a1)), vec![Some("Hell".to_owned())], "the newest draft is sent when due");

    // Sending the message ends the typing indicator; the visitor never sees previews.
    sim.visitor(v1, send("m", "Hello"));
    assert_eq!(previews(sim.take(a1)), vec![None]);
    assert!(sim.take(v1).iter().all(|f| !matches!(f, ServerFrame::Typing { .. })));
}

#[test]
fn an_agent_invites_a_live_visitor() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/pricing", vec![]);
    sim.take(v1);
    let invite = |cid: &str| AgentFrame::Invite {
        site: "s1".into(),
        visitor: "v1".into(),
        cid: Cid::from(cid),
        body: "Can I help with pricing?".into(),
    };
    sim.agent(a1, invite("i1"));
    sim.commit_all();
    let frames = sim.take(v1);
    assert!(frames.iter().any(|f| matches!(f, ServerFrame::Invited { agent, .. } if agent.0 == "a1")));
    let bodies: Vec<_> = messages(&frames).iter().map(|m| m.body.clone()).collect();
    assert_eq!(bodies, vec!["Agent a1 started the conversation", "Can I help with pricing?"]);
    assert_eq!(acks(&sim.take(a1)), vec![("i1".into(), 2)]);

    // A second invite while the conversation is open is refused; a retry of the first is not.
    sim.agent(a1, invite("i2"));
    assert_eq!(errors(&sim.take(a1)), vec![ErrorCode::InvalidState]);
    sim.agent(a1, invite("i1"));
    assert_eq!(acks(&sim.take(a1)), vec![("i1".into(), 2)]);
    let gone = AgentFrame::Invite {
        site: "s1".into(),
        visitor: "nobody".into(),
        cid: Cid::from("i3"),
        body: "hi".into(),
    };
    sim.agent(a1, gone);
    assert_eq!(errors(&sim.take(a1)), vec![ErrorCode::NotFound]);
}

#[test]
fn notes_stay_among_agents() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let a2 = sim.agent_joins(agent("a2", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.take(a1);
    sim.agent(a1, agent_send(&id, "n1", "VIP customer", true));
    sim.agent(a1, agent_send(&id, "t1", "Hello!", false));
    sim.commit_all();
    let seen: Vec<_> = messages(&sim.take(v1)).iter().map(|m| m.body.clone()).collect();
    assert_eq!(seen, vec!["Hello!"]);
    let colleague_seen: Vec<_> = messages(&sim.take(a2)).iter().map(|m| (m.kind, m.body.clone())).collect();
    assert!(colleague_seen.contains(&(MessageKind::Note, "VIP customer".to_owned())));
    // The writer gets acks in place of their own messages.
    let own = sim.take(a1);
    assert_eq!(acks(&own).len(), 2);
    assert!(messages(&own).iter().all(|m| m.cid.is_none()));

    // A visitor resuming from scratch gets the conversation without the note.
    sim.disconnect(v1);
    let again = sim.visitor_joins("v1", "/", vec![]);
    let replayed: Vec<_> = messages(&sim.take(again)).iter().map(|m| m.kind).collect();
    assert!(!replayed.contains(&MessageKind::Note) && replayed.contains(&MessageKind::Text));
}

#[test]
fn refused_sends_store_nothing() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.take(v1);
    sim.visitor(v1, send("long", &"x".repeat(MAX_MESSAGE_CHARS + 1)));
    sim.visitor(v1, send("", "no cid"));
    sim.visitor(v1, send("blank", "   "));
    sim.visitor(v1, send(&"c".repeat(65), "cid too long"));
    let frames = sim.take(v1);
    assert_eq!(
        errors(&frames),
        vec![ErrorCode::MessageTooLong, ErrorCode::BadFrame, ErrorCode::BadFrame, ErrorCode::BadFrame]
    );
    assert!(
        frames
            .iter()
            .all(|f| !matches!(f, ServerFrame::Error { code: ErrorCode::MessageTooLong, cid: None, .. }))
    );
    let writes_before = sim.uncommitted();
    assert_eq!(writes_before, 1, "only the page view of the hello");

    // Over the burst: refused with rate_limited, the rest stored.
    for i in 0..VISITOR_SEND_BURST + 2 {
        sim.visitor(v1, send(&format!("r{i}"), "spam"));
    }
    let limited = errors(&sim.take(v1));
    assert_eq!(limited, vec![ErrorCode::RateLimited; 2]);
    sim.commit_all();
    let id = sim.store.messages.keys().next().cloned().unwrap();
    assert_eq!(sim.store.bodies(&id).len(), VISITOR_SEND_BURST as usize);
}

/// The cids of the refusals among `frames`, in order.
fn refused(frames: &[ServerFrame]) -> Vec<String> {
    frames
        .iter()
        .filter_map(|f| match f {
            ServerFrame::Error { cid: Some(cid), .. } => Some(cid.0.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_burst_cut_by_the_limit_keeps_its_order_when_its_client_sends_it_again() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    let burst = VISITOR_SEND_BURST as usize;
    for i in 0..burst + 1 {
        sim.visitor(v1, send(&format!("m{i}"), &format!("message {i}")));
    }
    // The allowance comes back while the rest of the burst is on its way: the refused message
    // holds back every later one, though there would be room for them now.
    sim.advance(1_000);
    for i in burst + 1..burst + 3 {
        sim.visitor(v1, send(&format!("m{i}"), &format!("message {i}")));
    }
    let frames = sim.take(v1);
    assert_eq!(refused(&frames), [burst, burst + 1, burst + 2].map(|i| format!("m{i}")));
    assert_eq!(errors(&frames), vec![ErrorCode::RateLimited; 3]);

    // The client sends what was refused again, in order, and all of it is taken.
    for i in burst..burst + 3 {
        sim.visitor(v1, send(&format!("m{i}"), &format!("message {i}")));
    }
    sim.commit_all();
    let frames = sim.take(v1);
    assert!(errors(&frames).is_empty(), "{frames:?}");
    let id = conversation_of(&frames);
    let expected: Vec<String> = (0..burst + 3).map(|i| format!("message {i}")).collect();
    assert_eq!(sim.store.bodies(&id), expected);
}

#[test]
fn a_refused_message_that_never_comes_again_holds_back_the_socket_for_a_while_only() {
    let mut sim = Sim::new(site(true));
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor_over_address_limit(v1, send("first", "turned away at the address"));
    sim.visitor(v1, send("second", "held back behind it"));
    let frames = sim.take(v1);
    assert_eq!(refused(&frames), ["first", "second"]);
    assert_eq!(errors(&frames), [ErrorCode::RateLimited, ErrorCode::RateLimited]);
    sim.advance(RESEND_HOLD_MS - 1);
    sim.visitor(v1, send("second", "held back behind it"));
    sim.commit_all();
    assert_eq!(refused(&sim.take(v1)), ["second"]);
    sim.advance(1);
    sim.visitor(v1, send("second", "held back behind it"));
    sim.commit_all();
    assert_eq!(acks(&sim.take(v1)).len(), 1, "the hold lapsed");
    // Another socket of the same visitor was never held.
    let v2 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor_over_address_limit(v1, send("third", "turned away"));
    sim.visitor(v2, send("fourth", "from another tab"));
    sim.commit_all();
    assert_eq!(acks(&sim.take(v2)).len(), 1);
}

#[test]
fn read_receipts_reach_the_other_side() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.take(a1);
    sim.agent(a1, AgentFrame::Read { site: "s1".into(), conversation: id.clone(), seq: 1 });
    sim.commit_all();
    assert!(sim.take(v1).iter().any(|f| matches!(f, ServerFrame::Read { seq: 1, .. })));
    sim.agent(a1, AgentFrame::Read { site: "s1".into(), conversation: id.clone(), seq: 99 });
    assert_eq!(errors(&sim.take(a1)), vec![ErrorCode::BadFrame]);
    sim.visitor(v1, VisitorFrame::Read { conversation: "someone-else".into(), seq: 1 });
    assert_eq!(errors(&sim.take(v1)), vec![ErrorCode::NotFound]);
}

#[test]
fn a_visitor_is_shown_as_left_only_after_the_grace_period() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/one", vec![]);
    sim.disconnect(v1);
    sim.advance(1_000);
    // The next page loads within the grace period: a page change, not a new arrival.
    let _v1b = sim.visitor_joins("v1", "/two", vec![]);
    sim.advance(VISITOR_LEFT_GRACE_MS + 1_000);
    let kinds: Vec<_> = sim
        .take(a1)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::VisitorArrived { .. } => Some("arrived"),
            ServerFrame::VisitorPage { .. } => Some("page"),
            ServerFrame::VisitorLeft { .. } => Some("left"),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, vec!["arrived", "page"]);

    let v2 = sim.visitor_joins("v2", "/", vec![]);
    sim.disconnect(v2);
    sim.advance(VISITOR_LEFT_GRACE_MS + 1_000);
    assert!(
        sim.take(a1)
            .iter()
            .any(|f| matches!(f, ServerFrame::VisitorLeft { visitor, .. } if visitor.0 == "v2"))
    );
}

#[test]
fn a_resuming_visitor_gets_exactly_the_gap_after_a_restart() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    for i in 1..=3 {
        sim.visitor(v1, send(&format!("m{i}"), &format!("message {i}")));
    }
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.take(a1);
    sim.crash();
    sim.agent_joins(agent("a1", 5), vec![]);
    let again = sim.visitor_joins("v1", "/", vec![ResumePoint { conversation: id.clone(), last_seq: 2 }]);
    let frames = sim.take(again);
    assert!(
        matches!(&frames[0], ServerFrame::Welcome { conversation: Some(c), .. } if c.id == id && c.last_seq == 4)
    );
    // 1: message 1, 2: the assignment, 3 and 4: messages 2 and 3.
    let bodies: Vec<_> = messages(&frames).iter().map(|m| (m.seq, m.body.clone())).collect();
    assert_eq!(bodies, vec![(3, "message 2".to_owned()), (4, "message 3".to_owned())]);
    // Numbering carries on after the restart.
    sim.visitor(again, send("m4", "after restart"));
    sim.commit_all();
    assert_eq!(acks(&sim.take(again)), vec![("m4".into(), 5)]);
}

#[test]
fn rating_is_for_the_visitors_own_conversation_and_one_to_five() {
    let mut sim = Sim::new(site(true));
    let a1 = sim.agent_joins(agent("a1", 5), vec![]);
    let v1 = sim.visitor_joins("v1", "/", vec![]);
    sim.visitor(v1, send("m", "hi"));
    sim.commit_all();
    let id = conversation_of(&sim.take(v1));
    sim.agent(a1, AgentFrame::Close { site: "s1".into(), conversation: id.clone() });
    sim.visitor(v1, VisitorFrame::Rate { conversation: id.clone(), score: 6, comment: String::new() });
    sim.visitor(v1, VisitorFrame::Rate { conversation: "c999".into(), score: 5, comment: String::new() });
    assert_eq!(errors(&sim.take(v1)), vec![ErrorCode::BadFrame, ErrorCode::NotFound]);
    sim.visitor(
        v1,
        VisitorFrame::Rate { conversation: id.clone(), score: 5, comment: "Quick and kind".into() },
    );
    sim.commit_all();
    let record = &sim.store.conversations[&id];
    assert_eq!((record.rating, record.rating_comment.as_deref()), (Some(5), Some("Quick and kind")));
    assert_eq!(record.status, ConversationStatus::Closed);
}
