//! Conversations through a real server: messages both ways, assignment, transfer, typing preview,
//! invitations.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chat_client::Outgoing;
use chat_core::ids::ConversationId;
use chat_core::protocol::{ConversationEvent, ConversationStatus, Party, Role, ServerFrame};
use common::{TestDb, TestServer, expect, frames_for};
use serde_json::json;

on_every_target!(
    a_visitor_and_an_agent_talk_and_the_history_keeps_it_in_order,
    new_conversations_go_round_robin_and_transfer_moves_one,
    the_agent_sees_what_the_visitor_types_before_it_is_sent,
    an_agent_invites_a_visitor_who_is_browsing,
);

fn conversation_id(frame: &ServerFrame) -> ConversationId {
    match frame {
        ServerFrame::Ack { conversation, .. } => conversation.clone(),
        ServerFrame::Message(message) => message.conversation.clone(),
        ServerFrame::Conversation { conversation } => conversation.id.clone(),
        other => panic!("no conversation in {other:?}"),
    }
}

async fn a_visitor_and_an_agent_talk_and_the_history_keeps_it_in_order(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = server.ready_agent(&acme.owner).await;

    let mut visitor = server.visitor(&acme, "https://shop.acme.example/pricing");
    let welcome = expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;
    assert!(
        matches!(welcome, ServerFrame::Welcome { agents_online: true, ref greeting, .. } if greeting == "Hello!")
    );
    let arrived = expect(&mut agent, "arrival", |f| matches!(f, ServerFrame::VisitorArrived { .. })).await;
    assert!(
        matches!(arrived, ServerFrame::VisitorArrived { ref visitor, .. } if visitor.page.url.ends_with("/pricing"))
    );

    visitor.send(Outgoing::Visitor { body: "Do you ship to Norway?".into() });
    let ack = expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
    let conversation = conversation_id(&ack);
    let got = expect(
        &mut agent,
        "the message",
        |f| matches!(f, ServerFrame::Message(m) if m.kind == chat_core::protocol::MessageKind::Text),
    )
    .await;
    assert!(
        matches!(got, ServerFrame::Message(ref m) if m.body == "Do you ship to Norway?" && m.sender.party == Party::Visitor)
    );

    agent.send(Outgoing::Agent {
        site: acme.site.id.clone(),
        conversation: conversation.clone(),
        body: "Yes, in 3 to 5 days.".into(),
        note: false,
    });
    let reply = expect(
        &mut visitor,
        "the reply",
        |f| matches!(f, ServerFrame::Message(m) if m.sender.party == Party::Agent),
    )
    .await;
    assert!(
        matches!(reply, ServerFrame::Message(ref m) if m.body == "Yes, in 3 to 5 days." && m.sender.name.as_deref() == Some("owner"))
    );

    let history = server.history(&acme.owner.token, conversation.as_str()).await;
    let lines: Vec<(u64, String)> = history
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["body"].as_str().unwrap().to_owned()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (1, "Do you ship to Norway?".to_owned()),
            (2, "owner joined the conversation".to_owned()),
            (3, "Yes, in 3 to 5 days.".to_owned())
        ]
    );
    let (status, listed) = server.get("/api/v1/conversations", Some(&acme.owner.token)).await;
    assert_eq!(status, 200);
    assert_eq!(listed["items"][0]["status"], "open");
    assert_eq!(listed["items"][0]["last_seq"], 3);
    server.stop().await;
}

async fn new_conversations_go_round_robin_and_transfer_moves_one(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let bob = server.agent(&acme, "bob", Role::Agent, 1).await;
    let cid = server.agent(&acme, "cid", Role::Agent, 1).await;
    let mut bob_client = server.agent_client(&bob);
    let mut cid_client = server.agent_client(&cid);
    for client in [&mut bob_client, &mut cid_client] {
        expect(client, "site state", |f| matches!(f, ServerFrame::SiteState { .. })).await;
    }

    let mut first = server.visitor(&acme, "/");
    first.send(Outgoing::Visitor { body: "first".into() });
    let one = conversation_id(&expect(&mut first, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await);
    let mut second = server.visitor(&acme, "/");
    second.send(Outgoing::Visitor { body: "second".into() });
    let two = conversation_id(&expect(&mut second, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await);

    let assigned_to = |frames: &[ServerFrame], id: &ConversationId| {
        frames.iter().rev().find_map(|f| match f {
            ServerFrame::Conversation { conversation } if conversation.id == *id => {
                conversation.agent.clone()
            }
            _ => None,
        })
    };
    let seen = frames_for(&mut bob_client, Duration::from_millis(500)).await;
    let (a, b) = (assigned_to(&seen, &one), assigned_to(&seen, &two));
    assert!(a.is_some() && b.is_some() && a != b, "one each: {a:?} {b:?}");

    // A third visitor waits: both agents are at capacity 1.
    let mut third = server.visitor(&acme, "/");
    third.send(Outgoing::Visitor { body: "third".into() });
    let three = conversation_id(&expect(&mut third, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await);
    let seen = frames_for(&mut cid_client, Duration::from_millis(500)).await;
    let waiting = seen.iter().rev().find_map(|f| match f {
        ServerFrame::Conversation { conversation } if conversation.id == three => Some(conversation.status),
        _ => None,
    });
    assert_eq!(waiting, Some(ConversationStatus::Waiting));

    // Whoever has the first conversation transfers it to the other.
    let (holder, other, other_id) = if a.as_ref() == Some(&bob.id) {
        (&mut bob_client, &mut cid_client, cid.id.clone())
    } else {
        (&mut cid_client, &mut bob_client, bob.id.clone())
    };
    holder
        .send_frame(&json!({"type": "transfer", "site": acme.site.id, "conversation": one, "to": other_id}));
    let moved = expect(other, "the transfer", |f| matches!(f, ServerFrame::Message(m) if matches!(m.event, Some(ConversationEvent::Transferred { .. })))).await;
    assert!(matches!(moved, ServerFrame::Message(ref m) if m.conversation == one));
    // The visitor sees the conversation change hands (after its earlier states).
    expect(&mut first, "the transfer", |f| {
        matches!(f, ServerFrame::Conversation { conversation } if conversation.agent.as_ref() == Some(&other_id))
    })
    .await;
    server.stop().await;
}

async fn the_agent_sees_what_the_visitor_types_before_it_is_sent(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = server.ready_agent(&acme.owner).await;
    let mut visitor = server.visitor(&acme, "/");
    expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;

    visitor.send_frame(&json!({"type": "typing", "text": "Is the red"}));
    let preview = expect(&mut agent, "a preview", |f| matches!(f, ServerFrame::Typing { .. })).await;
    assert!(
        matches!(preview, ServerFrame::Typing { preview: Some(ref text), active: true, from: Party::Visitor, .. } if text == "Is the red")
    );
    tokio::time::sleep(Duration::from_millis(350)).await;
    visitor.send_frame(&json!({"type": "typing", "text": "Is the red one"}));
    visitor.send_frame(&json!({"type": "typing", "text": "Is the red one in stock?"}));
    // The second draft arrives within the throttle interval; the newest is sent when it ends.
    let previews: Vec<String> = frames_for(&mut agent, Duration::from_millis(800))
        .await
        .into_iter()
        .filter_map(|f| if let ServerFrame::Typing { preview: Some(p), .. } = f { Some(p) } else { None })
        .collect();
    assert_eq!(previews.last().map(String::as_str), Some("Is the red one in stock?"));
    assert!(previews.len() <= 2, "throttled: {previews:?}");
    server.stop().await;
}

async fn an_agent_invites_a_visitor_who_is_browsing(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = server.ready_agent(&acme.owner).await;
    let mut visitor = server.visitor(&acme, "/checkout");
    let arrived = expect(&mut agent, "arrival", |f| matches!(f, ServerFrame::VisitorArrived { .. })).await;
    let ServerFrame::VisitorArrived { visitor: live, .. } = arrived else { unreachable!() };

    agent.send_frame(&json!({"type": "invite", "site": acme.site.id, "visitor": live.visitor, "cid": "inv-1", "body": "Need help with checkout?"}));
    let invited = expect(&mut visitor, "the invitation", |f| matches!(f, ServerFrame::Invited { .. })).await;
    assert!(matches!(invited, ServerFrame::Invited { ref name, .. } if name == "owner"));
    let message = expect(
        &mut visitor,
        "the first message",
        |f| matches!(f, ServerFrame::Message(m) if m.sender.party == Party::Agent),
    )
    .await;
    assert!(matches!(message, ServerFrame::Message(ref m) if m.body == "Need help with checkout?"));
    visitor.send(Outgoing::Visitor { body: "Yes please".into() });
    let answer = expect(
        &mut agent,
        "the answer",
        |f| matches!(f, ServerFrame::Message(m) if m.sender.party == Party::Visitor),
    )
    .await;
    assert!(
        matches!((&answer, &message), (ServerFrame::Message(a), ServerFrame::Message(m)) if a.conversation == m.conversation)
    );
    server.stop().await;
}
