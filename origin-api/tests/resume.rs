//! Nothing lost or doubled across a server restart and a connection killed mid-send.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use chat_client::{Client, Event, Outgoing};
use chat_core::ids::{Cid, ConversationId};
use chat_core::protocol::{MessageKind, PageInfo, ServerFrame};
use common::{Proxy, ProxyMode, TestDb, TestServer, WAIT, expect, options};

on_every_target!(
    both_sides_resume_after_a_restart_with_nothing_lost_or_doubled,
    a_send_whose_acknowledgement_is_lost_is_stored_once_after_the_retry,
    the_server_closes_a_socket_it_hears_nothing_from,
);

/// Reads events until `done` says so, collecting every message by conversation and seq — the
/// client's own from their acks — and failing on any message delivered twice to the client.
async fn collect_until(
    client: &mut Client,
    own: &HashMap<Cid, String>,
    held: &mut BTreeMap<(ConversationId, u64), String>,
    mut done: impl FnMut(&BTreeMap<(ConversationId, u64), String>) -> bool,
) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !done(held) {
        let event = tokio::time::timeout_at(deadline, client.next_event())
            .await
            .expect("in time")
            .expect("client running");
        match event {
            Event::Frame(ServerFrame::Message(message)) => {
                let key = (message.conversation.clone(), message.seq);
                assert!(
                    held.insert(key, message.body.clone()).is_none(),
                    "seq {} delivered twice",
                    message.seq
                );
            }
            Event::Frame(ServerFrame::Ack { cid, conversation, seq }) => {
                // A retry of a message already held is acknowledged again; that is no second copy.
                let body = own[&cid].clone();
                let previous = held.insert((conversation, seq), body.clone());
                assert!(previous.is_none_or(|p| p == body), "seq {seq} holds two messages");
            }
            _ => {}
        }
    }
}

async fn both_sides_resume_after_a_restart_with_nothing_lost_or_doubled(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = server.ready_agent(&acme.owner).await;
    let mut visitor = server.visitor(&acme, "/");
    expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;

    let mut agent_held = BTreeMap::new();
    let mut visitor_held = BTreeMap::new();
    let mut visitor_own = HashMap::new();
    let mut agent_own = HashMap::new();
    for i in 1..=5 {
        let body = format!("before {i}");
        visitor_own.insert(visitor.send(Outgoing::Visitor { body: body.clone() }), body);
    }
    collect_until(&mut agent, &agent_own, &mut agent_held, |h| {
        h.values().filter(|b| b.starts_with("before")).count() == 5
    })
    .await;
    let conversation = agent_held.keys().next().unwrap().0.clone();

    // Sends keep coming while the server goes down and a new one starts on the same database.
    let restart = async {
        server.restart().await;
    };
    let sends = async {
        for i in 1..=5 {
            let body = format!("during {i}");
            visitor_own.insert(visitor.send(Outgoing::Visitor { body: body.clone() }), body);
            let body = format!("agent {i}");
            let cid = agent.send(Outgoing::Agent {
                site: acme.site.id.clone(),
                conversation: conversation.clone(),
                body: body.clone(),
                note: false,
            });
            agent_own.insert(cid, body);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::join!(restart, sends);

    let complete = |h: &BTreeMap<(ConversationId, u64), String>| {
        h.values().filter(|b| b.starts_with("during")).count() == 5
            && h.values().filter(|b| b.starts_with("agent")).count() == 5
    };
    collect_until(&mut agent, &agent_own, &mut agent_held, complete).await;
    collect_until(&mut visitor, &visitor_own, &mut visitor_held, complete).await;
    // Give acknowledgements a moment to arrive, then nothing is left unsent.
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((visitor.unacknowledged(), agent.unacknowledged()), (0, 0));

    let history = server.history(&acme.owner.token, conversation.as_str()).await;
    let seqs: Vec<u64> = history.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "gap-free");
    let texts: Vec<&str> =
        history.iter().filter(|m| m["kind"] == "text").map(|m| m["body"].as_str().unwrap()).collect();
    for expected in (1..=5)
        .map(|i| format!("before {i}"))
        .chain((1..=5).map(|i| format!("during {i}")))
        .chain((1..=5).map(|i| format!("agent {i}")))
    {
        assert_eq!(texts.iter().filter(|t| **t == expected).count(), 1, "{expected} stored exactly once");
    }
    // Each side's messages keep the order they were sent in.
    let visitor_order: Vec<&&str> =
        texts.iter().filter(|t| t.starts_with("before") || t.starts_with("during")).collect();
    let sorted_by_send: Vec<String> =
        (1..=5).map(|i| format!("before {i}")).chain((1..=5).map(|i| format!("during {i}"))).collect();
    assert_eq!(visitor_order.iter().map(|t| t.to_string()).collect::<Vec<_>>(), sorted_by_send);
    // What the agent holds is exactly what was stored.
    let stored: BTreeMap<u64, String> = history
        .iter()
        .map(|m| (m["seq"].as_u64().unwrap(), m["body"].as_str().unwrap().to_owned()))
        .collect();
    for ((_, seq), body) in &agent_held {
        assert_eq!(stored.get(seq), Some(body));
    }
    server.stop().await;
}

async fn a_send_whose_acknowledgement_is_lost_is_stored_once_after_the_retry(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = server.ready_agent(&acme.owner).await;

    let proxy = Proxy::start(server.addr).await;
    let page = PageInfo { url: "/".into(), title: String::new(), referrer: String::new() };
    let mut visitor =
        Client::visitor(&proxy.ws(&server.visitor_path(&acme)), &acme.site.key, page, None, options());
    expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;

    // The server gets the message, but its acknowledgement never reaches the visitor...
    proxy.set(ProxyMode::SwallowReplies);
    let cid = visitor.send(Outgoing::Visitor { body: "only once".into() });
    let delivered = expect(
        &mut agent,
        "the message",
        |f| matches!(f, ServerFrame::Message(m) if m.kind == MessageKind::Text),
    )
    .await;
    assert_eq!(visitor.unacknowledged(), 1);
    // ...then the connection dies. The client reconnects and sends it again from its outbox.
    proxy.set(ProxyMode::Cut);
    tokio::time::sleep(Duration::from_millis(50)).await;
    proxy.set(ProxyMode::Pass);
    let ack = expect(&mut visitor, "the ack of the retry", |f| matches!(f, ServerFrame::Ack { .. })).await;
    let ServerFrame::Message(first) = delivered else { unreachable!() };
    assert_eq!(ack, ServerFrame::Ack { cid, conversation: first.conversation.clone(), seq: first.seq });
    assert_eq!(visitor.unacknowledged(), 0);

    let again = agent
        .wait_for(
            Duration::from_millis(500),
            |f| matches!(f, ServerFrame::Message(m) if m.body == "only once"),
        )
        .await;
    assert!(again.is_none(), "the agent saw the message twice");
    let history = server.history(&acme.owner.token, first.conversation.as_str()).await;
    assert_eq!(history.iter().filter(|m| m["body"] == "only once").count(), 1);
    server.stop().await;
}

/// A visitor who sends faster than allowed is turned away `rate_limited` for some messages; the
/// client sends those again by itself, and the conversation ends up with all of them, in order.
#[tokio::test]
async fn messages_turned_away_for_now_are_sent_again_by_the_client() {
    let mut server = TestServer::start_on(TestDb::sqlite()).await;
    let acme = server.tenant("Acme").await;
    let mut visitor = server.visitor(&acme, "https://shop.acme.example/");
    expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;
    let bodies: Vec<String> = (1..=40).map(|n| format!("message {n}")).collect();
    for body in &bodies {
        visitor.send(Outgoing::Visitor { body: body.clone() });
    }
    let mut acked = 0;
    let mut refused = 0;
    let mut conversation = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while acked < bodies.len() {
        match tokio::time::timeout_at(deadline, visitor.next_event()).await {
            Ok(Some(Event::Frame(ServerFrame::Ack { conversation: c, .. }))) => {
                acked += 1;
                conversation = Some(c);
            }
            Ok(Some(Event::Frame(ServerFrame::Error { cid: Some(_), .. }))) => refused += 1,
            Ok(Some(_)) => {}
            other => panic!("{acked} of {} acknowledged, then {other:?}", bodies.len()),
        }
    }
    assert!(refused > 0, "the burst was over the limit");
    let conversation = conversation.unwrap();
    let history = server.history(&acme.owner.token, conversation.as_str()).await;
    let stored: Vec<&str> = history.iter().filter_map(|m| m["body"].as_str()).collect();
    assert_eq!(stored, bodies);
    server.stop().await;
}

/// Reads a client's events until its connection is given up, failing on any frame: nothing passes
/// a black hole. Returns when that was.
async fn until_given_up(client: &mut Client, within: Duration) -> tokio::time::Instant {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, client.next_event()).await {
            Ok(Some(Event::Closed { last: false, .. })) => return tokio::time::Instant::now(),
            Ok(Some(Event::Frame(ServerFrame::Pong { .. }))) => {}
            other => panic!("while nothing passes: {other:?}"),
        }
    }
}

/// A network that drops every packet for 30 s mid-conversation, closing nothing (no FIN, no RST).
/// Both clients notice within their liveness times (a ping unanswered for 10 s; the clients here
/// ping every 5 s), keep what they send meanwhile in their outboxes, reconnect once packets pass
/// again, and nothing is lost, doubled or reordered. The server learns that the old sockets are
/// gone as soon as the network passes that on.
#[tokio::test]
async fn a_network_that_drops_everything_for_30_s_loses_nothing() {
    const HOLE: Duration = Duration::from_secs(30);
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let proxy = Proxy::start(server.addr).await;
    let quick = chat_client::Options { ping_interval: Duration::from_secs(5), ..options() };
    let mut agent = Client::agent(&proxy.ws("/ws/agent"), &acme.owner.token, quick.clone());
    expect(&mut agent, "site state", |f| matches!(f, ServerFrame::SiteState { .. })).await;
    let page = PageInfo { url: "/".into(), title: String::new(), referrer: String::new() };
    let mut visitor =
        Client::visitor(&proxy.ws(&server.visitor_path(&acme)), &acme.site.key, page, None, quick.clone());
    expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;

    let (mut agent_held, mut visitor_held) = (BTreeMap::new(), BTreeMap::new());
    let (mut visitor_own, mut agent_own) = (HashMap::new(), HashMap::new());
    for i in 1..=3 {
        let body = format!("before {i}");
        visitor_own.insert(visitor.send(Outgoing::Visitor { body: body.clone() }), body);
    }
    let ours = |h: &BTreeMap<(ConversationId, u64), String>| {
        h.values().filter(|b| ["before", "during", "agent"].iter().any(|p| b.starts_with(p))).count()
    };
    collect_until(&mut agent, &agent_own, &mut agent_held, |h| ours(h) == 3).await;
    let conversation = agent_held.keys().next().unwrap().0.clone();
    collect_until(&mut visitor, &visitor_own, &mut visitor_held, |h| ours(h) == 3).await;

    proxy.set(ProxyMode::BlackHole);
    let hole = tokio::time::Instant::now();
    for i in 1..=3 {
        let body = format!("during {i}");
        visitor_own.insert(visitor.send(Outgoing::Visitor { body: body.clone() }), body);
        let body = format!("agent {i}");
        let cid = agent.send(Outgoing::Agent {
            site: acme.site.id.clone(),
            conversation: conversation.clone(),
            body: body.clone(),
            note: false,
        });
        agent_own.insert(cid, body);
    }
    let liveness = quick.ping_interval + quick.pong_wait + Duration::from_secs(1);
    let visitor_noticed = until_given_up(&mut visitor, liveness).await;
    let agent_noticed = until_given_up(&mut agent, liveness).await;
    assert!(visitor_noticed - hole <= liveness && agent_noticed - hole <= liveness);
    // Reconnecting into the hole goes nowhere either; the clients keep trying.
    tokio::time::sleep_until(hole + HOLE).await;
    assert_eq!((visitor.unacknowledged(), agent.unacknowledged()), (3, 3));
    proxy.set(ProxyMode::Pass);

    let complete = |h: &BTreeMap<(ConversationId, u64), String>| ours(h) == 9;
    collect_until(&mut agent, &agent_own, &mut agent_held, complete).await;
    collect_until(&mut visitor, &visitor_own, &mut visitor_held, complete).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!((visitor.unacknowledged(), agent.unacknowledged()), (0, 0));
    assert_eq!(agent_held, visitor_held, "both sides hold the same conversation");

    let history = server.history(&acme.owner.token, conversation.as_str()).await;
    let texts: Vec<&str> =
        history.iter().filter(|m| m["kind"] == "text").map(|m| m["body"].as_str().unwrap()).collect();
    let from = |prefix: &str| texts.iter().filter(|t| t.starts_with(prefix)).copied().collect::<Vec<_>>();
    assert_eq!(from("before"), ["before 1", "before 2", "before 3"]);
    assert_eq!(from("during"), ["during 1", "during 2", "during 3"]);
    assert_eq!(from("agent"), ["agent 1", "agent 2", "agent 3"]);
    // Events included, the agent holds each stored message once.
    let stored: BTreeMap<u64, &str> =
        history.iter().map(|m| (m["seq"].as_u64().unwrap(), m["body"].as_str().unwrap())).collect();
    let held: BTreeMap<u64, &str> = agent_held.iter().map(|((_, seq), body)| (*seq, body.as_str())).collect();
    assert_eq!(held, stored);
    server.stop().await;
}

/// The server's side of a dead network: a socket it hears nothing from is closed (4004) after the
/// idle time (75 s; shortened here), though no FIN or RST ever came.
async fn the_server_closes_a_socket_it_hears_nothing_from(db: TestDb) {
    let mut server =
        TestServer::start_on_with(db, |config| config.socket_idle = Duration::from_secs(1)).await;
    let acme = server.tenant("Acme").await;
    let proxy = Proxy::start(server.addr).await;
    let mut raw = common::Raw::connect(&proxy.ws(&server.visitor_path(&acme))).await;
    raw.send_json(serde_json::json!({
        "type": "visitor_hello", "v": 1, "site_key": acme.site.key,
        "page": { "url": "/", "title": "", "referrer": "" },
    }))
    .await;
    raw.expect(|f| matches!(f, ServerFrame::Welcome { .. })).await;

    proxy.set(ProxyMode::BlackHole);
    tokio::time::sleep(Duration::from_secs(3)).await;
    proxy.set(ProxyMode::Pass);
    // What the server sent into the hole arrives now: its close, from before the network came back.
    assert_eq!(raw.closed().await, Some(chat_core::protocol::close::IDLE));

    // A socket that pings in time stays open.
    let mut raw = common::Raw::connect(&proxy.ws(&server.visitor_path(&acme))).await;
    raw.send_json(serde_json::json!({
        "type": "visitor_hello", "v": 1, "site_key": acme.site.key,
        "page": { "url": "/", "title": "", "referrer": "" },
    }))
    .await;
    raw.expect(|f| matches!(f, ServerFrame::Welcome { .. })).await;
    for _ in 0..6 {
        tokio::time::sleep(Duration::from_millis(500)).await;
        raw.send_json(serde_json::json!({ "type": "ping", "t": 1 })).await;
        raw.expect(|f| matches!(f, ServerFrame::Pong { .. })).await;
    }
    server.stop().await;
}
