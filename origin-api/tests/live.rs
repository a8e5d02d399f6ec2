//! The live machinery under stress: a reader that stops reading, rooms that stop when idle, and a
//! server that goes down.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use chat_core::ids::ConversationId;
use chat_core::protocol::{ServerFrame, close, parse_server_frame};
use common::{Raw, Read, TestServer};
use serde_json::json;

#[tokio::test]
async fn a_socket_that_stops_reading_is_dropped_and_resumes_without_a_gap() {
    let mut server = TestServer::start_with(|config| {
        config.ip_sends_per_second = 100_000;
        config.ip_send_burst = 100_000;
        config.ip_new_visitors_per_minute = 100_000;
    })
    .await;
    let acme = server.tenant("Acme").await;
    let mut agent = Raw::connect_small(&server, "/ws/agent").await;
    agent.send_json(json!({"type": "agent_hello", "v": 1, "access_token": acme.owner.token})).await;
    agent.expect(|f| matches!(f, ServerFrame::SiteState { .. })).await;

    // 100 visitors each send a burst of 20 long messages: about 8 MB for the agent, who reads none
    // of it. Kernel buffers fill, the server's writes wait for the agent, 1 MiB of frames queues
    // behind them, and the agent is dropped.
    let long = "x".repeat(3_900);
    let mut visitors = Vec::new();
    for v in 0..100 {
        let mut visitor = Raw::visitor(&server, &acme).await;
        for m in 0..20 {
            visitor
                .send_json(
                    json!({"type": "send", "cid": format!("{v}-{m}"), "body": format!("{v}-{m} {long}")}),
                )
                .await;
        }
        visitors.push(visitor);
    }
    for visitor in &mut visitors {
        for _ in 0..20 {
            visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
        }
    }

    // The agent reads what reached it before it was dropped.
    let mut held: BTreeMap<ConversationId, u64> = BTreeMap::new();
    let mut count = 0;
    let end = loop {
        match agent.next_text(Duration::from_secs(10)).await.expect("the server drops the agent") {
            Ok(text) => {
                if let Ok(ServerFrame::Message(message)) = parse_server_frame(&text) {
                    let last = held.entry(message.conversation.clone()).or_default();
                    assert_eq!(message.seq, *last + 1, "in order, without gaps, while it lasted");
                    *last = message.seq;
                    count += 1;
                }
            }
            Err(code) => break code,
        }
    };
    assert!(matches!(end, None | Some(close::SLOW_CONSUMER)), "{end:?}");
    assert!(count < 100 * 20, "the agent was dropped before it got everything ({count})");

    // It reconnects naming every conversation (those it never heard of from the REST list) with
    // what it holds of each, and gets exactly the rest.
    let (_, list) = server.get("/api/v1/conversations?limit=200", Some(&acme.owner.token)).await;
    for conversation in list["items"].as_array().unwrap() {
        held.entry(ConversationId::from(conversation["id"].as_str().unwrap())).or_default();
    }
    assert_eq!(held.len(), 100);
    let mut again = Raw::connect(&server.ws("/ws/agent")).await;
    let resume: Vec<_> = held.iter().map(|(c, s)| json!({"conversation": c, "last_seq": s})).collect();
    again
        .send_json(json!({"type": "agent_hello", "v": 1, "access_token": acme.owner.token, "resume": resume}))
        .await;
    while count < 100 * 20 {
        let frame = again.expect(|f| matches!(f, ServerFrame::Message(m) if m.body.contains('-'))).await;
        let ServerFrame::Message(message) = frame else { unreachable!() };
        let last = held.entry(message.conversation.clone()).or_default();
        assert_eq!(message.seq, *last + 1, "the replay continues where the agent stopped");
        *last = message.seq;
        count += 1;
    }
    server.stop().await;
}

#[tokio::test]
async fn an_idle_room_stops_and_the_next_one_carries_on_from_the_database() {
    let mut server = TestServer::start_with(|config| config.room_idle = Duration::from_millis(200)).await;
    let acme = server.tenant("Acme").await;
    let (mut visitor, token) = Raw::visitor_as(&server, &acme, None).await;
    visitor.send_json(json!({"type": "send", "cid": "a", "body": "first"})).await;
    let ack = visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(matches!(ack, ServerFrame::Ack { seq: 1, .. }));
    assert_eq!(server.running_rooms(), 1);
    drop(visitor);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while server.running_rooms() > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the idle room did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The same visitor comes back: a new room, the same conversation, a retry of the first
    // message still recognised, and the next message at the next seq.
    let (mut back, _) = Raw::visitor_as(&server, &acme, Some(&token)).await;
    back.send_json(json!({"type": "send", "cid": "a", "body": "first"})).await;
    let ack = back.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(matches!(ack, ServerFrame::Ack { seq: 1, .. }), "{ack:?}");
    back.send_json(json!({"type": "send", "cid": "b", "body": "second"})).await;
    let ack = back.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    assert!(matches!(ack, ServerFrame::Ack { seq: 2, .. }), "{ack:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_stopping_server_tells_clients_to_reconnect() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let mut visitor = Raw::visitor(&server, &acme).await;
    let mut waiting = Raw::connect(&server.ws("/ws/visitor")).await; // no hello yet
    let stopping = tokio::spawn(async move {
        server.stop().await;
    });
    let reconnect = visitor.expect(|f| matches!(f, ServerFrame::Reconnect { .. })).await;
    assert!(
        matches!(reconnect, ServerFrame::Reconnect { after_ms, url: None } if (500..3_000).contains(&after_ms))
    );
    assert_eq!(visitor.closed().await, Some(close::RESTARTING));
    assert!(matches!(waiting.read().await, Read::Closed(Some(close::RESTARTING))));
    stopping.await.unwrap();
}

#[tokio::test]
async fn disabling_an_agent_closes_their_sockets_at_once() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let ana = server.agent(&acme, "ana", chat_core::protocol::Role::Agent, 5).await;
    let mut socket = Raw::agent(&server, &ana).await;
    let (status, _) = server
        .patch(&format!("/api/v1/agents/{}", ana.id), &acme.owner.token, json!({"disabled": true}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(socket.closed().await, Some(close::UNAUTHORIZED));
    // Her token still verifies, but the account is disabled: no way back in.
    let mut again = Raw::connect(&server.ws("/ws/agent")).await;
    again.send_json(json!({"type": "agent_hello", "v": 1, "access_token": ana.token})).await;
    assert_eq!(again.closed().await, Some(close::FORBIDDEN));
    server.stop().await;
}

#[tokio::test]
async fn an_address_with_too_many_sockets_is_refused_before_the_upgrade() {
    let mut server = TestServer::start_with(|config| config.max_sockets_per_ip = 3).await;
    let acme = server.tenant("Acme").await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(Raw::visitor(&server, &acme).await);
    }
    let refused = tokio_tungstenite::connect_async(server.ws("/ws/visitor")).await;
    match refused {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => assert_eq!(response.status(), 429),
        other => panic!("expected HTTP 429, got {:?}", other.map(|_| ())),
    }
    // A place frees when one closes.
    drop(held.pop());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if tokio_tungstenite::connect_async(server.ws("/ws/visitor")).await.is_ok() {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the place was not freed");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    server.stop().await;
}

#[tokio::test]
async fn deleting_a_site_sends_its_visitors_away() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let mut visitor = Raw::visitor(&server, &acme).await;
    let path = format!("/api/v1/sites/{}", acme.site.id);
    assert_eq!(server.delete(&path, &acme.owner.token).await.0, 204);
    let gone = visitor.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(gone, ServerFrame::Error { code: chat_core::protocol::ErrorCode::NotFound, .. }));
    assert_eq!(visitor.closed().await, Some(close::BAD_HELLO));
    server.stop().await;
}

/// An address that opens and closes sockets as fast as it can is refused before the upgrade once
/// its burst is spent, though it never holds many open; it gets in again as its allowance refills.
#[tokio::test]
async fn an_address_opening_sockets_too_fast_is_refused_before_the_upgrade() {
    let mut server = TestServer::start_with(|config| config.max_sockets_per_ip = 20).await;
    let mut refused = 0;
    for _ in 0..40 {
        match tokio_tungstenite::connect_async(server.ws("/ws/visitor")).await {
            Ok((socket, _)) => drop(socket),
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                assert_eq!(response.status(), 429);
                refused += 1;
            }
            Err(other) => panic!("{other}"),
        }
        // Long enough for the server to see each socket go: it is the opening that is refused.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(refused >= 10, "{refused} of 40 refused");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(tokio_tungstenite::connect_async(server.ws("/ws/visitor")).await.is_ok());
    server.stop().await;
}

#[tokio::test]
async fn one_address_cannot_flood_a_site_with_new_visitors() {
    let mut server = TestServer::start_with(|config| config.ip_new_visitors_per_minute = 3).await;
    let acme = server.tenant("Acme").await;
    let (_, token) = Raw::visitor_as(&server, &acme, None).await;
    for _ in 0..2 {
        Raw::visitor(&server, &acme).await;
    }
    let mut fourth = Raw::connect(&server.ws("/ws/visitor")).await;
    fourth
        .send_json(json!({"type": "visitor_hello", "v": 1, "site_key": acme.site.key, "page": {"url": "/"}}))
        .await;
    assert!(matches!(fourth.read().await, Read::Frame(ServerFrame::Error { .. })));
    assert_eq!(fourth.closed().await, Some(close::TOO_MANY_SOCKETS));
    // A returning visitor (with a token) is not new and still gets in.
    Raw::visitor_as(&server, &acme, Some(&token)).await;
    server.stop().await;
}

/// The sites named in a socket's `agent_welcome`.
async fn welcomed_sites(raw: &mut Raw) -> Vec<String> {
    match raw.expect(|f| matches!(f, ServerFrame::AgentWelcome { .. })).await {
        ServerFrame::AgentWelcome { sites, .. } => sites.into_iter().map(|s| s.id.0).collect(),
        _ => unreachable!(),
    }
}

#[tokio::test]
async fn the_live_endpoints_name_the_agents_sites_and_a_socket_may_carry_one_site() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let (status, outlet) = server
        .post("/api/v1/sites", Some(&acme.owner.token), json!({"name": "Acme outlet", "greeting": "Hi"}))
        .await;
    assert_eq!(status, 201, "{outlet}");
    let outlet = outlet["id"].as_str().unwrap().to_owned();
    let shop = acme.site_id().0.clone();
    let (status, _) = server
        .post(
            "/api/v1/agents",
            Some(&acme.owner.token),
            json!({"email": "bo@acme.example", "name": "Bo", "password": common::PASSWORD, "sites": [shop]}),
        )
        .await;
    assert_eq!(status, 201);
    let (_, login) = server
        .post("/api/v1/auth/login", None, json!({"email": "bo@acme.example", "password": common::PASSWORD}))
        .await;
    let bo = login["tokens"]["access_token"].as_str().unwrap().to_owned();

    let endpoints = |body: &serde_json::Value| {
        body["endpoints"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let mut sites: Vec<String> =
                    e["sites"].as_array().unwrap().iter().map(|s| s.as_str().unwrap().to_owned()).collect();
                sites.sort();
                (e["url"].as_str().unwrap().to_owned(), sites)
            })
            .collect::<Vec<_>>()
    };
    let (status, owner) = server.get("/api/v1/live", Some(&acme.owner.token)).await;
    assert_eq!(status, 200);
    let mut both = vec![shop.clone(), outlet.clone()];
    both.sort();
    assert_eq!(endpoints(&owner), [("/ws/agent".to_owned(), both)]);
    let (_, limited) = server.get("/api/v1/live", Some(&bo)).await;
    assert_eq!(endpoints(&limited), [("/ws/agent".to_owned(), vec![shop.clone()])]);
    assert_eq!(server.get("/api/v1/live", None).await.0, 401);

    // A single server names its own socket path to visitors, and has no routes table.
    let (status, route) = server.get(&format!("/route/{}", acme.site.key), None).await;
    assert_eq!(
        (status, route["url"].as_str()),
        (200, Some(format!("/ws/visitor?site={}", acme.site.key).as_str()))
    );
    assert_eq!(server.get("/route/k_nobody", None).await.0, 404);
    assert_eq!(server.get("/route", None).await.0, 404);

    // A socket for one site gets that site's state and nothing of the other's.
    let hello = json!({"type": "agent_hello", "v": 1, "access_token": acme.owner.token});
    let mut one = Raw::connect(&server.ws(&format!("/ws/agent?site={outlet}"))).await;
    one.send_json(hello.clone()).await;
    assert_eq!(welcomed_sites(&mut one).await, [outlet.as_str()]);
    let states: Vec<String> = one
        .frames_for(Duration::from_millis(500))
        .await
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::SiteState { site, .. } => Some(site.0),
            _ => None,
        })
        .collect();
    assert_eq!(states, [outlet.as_str()]);
    let mut visitor = Raw::visitor(&server, &acme).await;
    visitor.send_json(json!({"type": "send", "cid": "m1", "body": "on the shop"})).await;
    visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    let seen = one.frames_for(Duration::from_millis(500)).await;
    assert!(
        seen.iter().all(|f| !matches!(f, ServerFrame::VisitorArrived { .. } | ServerFrame::Message(_))),
        "{seen:?}"
    );

    // Another tenant's site, or one the agent does not serve, is simply not among the socket's.
    for (token, site) in [(&acme.owner.token, globex.site_id().0.clone()), (&bo, outlet.clone())] {
        let mut other = Raw::connect(&server.ws(&format!("/ws/agent?site={site}"))).await;
        other.send_json(json!({"type": "agent_hello", "v": 1, "access_token": token})).await;
        assert_eq!(welcomed_sites(&mut other).await, Vec::<String>::new());
    }
    server.stop().await;
}
