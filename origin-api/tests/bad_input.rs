//! Bad input over the WebSockets: each gets a typed error or a documented close code, nothing is
//! stored, and the server keeps serving everyone else.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chat_client::Outgoing;
use chat_core::ids::{AgentId, Millis};
use chat_core::limits::{MAX_FRAME_BYTES, MAX_MESSAGE_CHARS};
use chat_core::protocol::{ErrorCode, Role, ServerFrame, close};
use chat_core::token::{self, AgentClaims};
use common::{Raw, Read, TestDb, TestServer, expect};

on_every_target!(
    malformed_and_unknown_frames_get_typed_errors_and_the_socket_stays_usable,
    an_oversized_frame_closes_the_socket_with_1009_and_others_carry_on,
    hellos_with_bad_keys_versions_or_tokens_are_refused_with_their_close_codes,
    another_tenants_sites_conversations_and_visitors_are_not_found_over_ws,
    a_hello_with_too_many_resume_points_still_fits_a_frame_and_is_refused_with_4000,
    a_socket_over_its_frame_allowance_is_told_to_slow_down_and_keeps_its_sends,
);
use serde_json::json;

fn error_code(frame: &ServerFrame) -> Option<ErrorCode> {
    if let ServerFrame::Error { code, .. } = frame { Some(*code) } else { None }
}

async fn expect_error(raw: &mut Raw, code: ErrorCode) {
    match raw.read().await {
        Read::Frame(frame) => assert_eq!(error_code(&frame), Some(code), "{frame:?}"),
        Read::Closed(close) => panic!("closed ({close:?}) instead of {code:?}"),
    }
}

/// Messages stored in the tenant's conversations, through REST.
async fn stored_messages(server: &TestServer, token: &str) -> usize {
    let (_, list) = server.get("/api/v1/conversations", Some(token)).await;
    list["items"].as_array().unwrap().iter().map(|c| c["last_seq"].as_u64().unwrap() as usize).sum()
}

async fn malformed_and_unknown_frames_get_typed_errors_and_the_socket_stays_usable(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut raw = Raw::connect(&server.ws(&server.visitor_path(&acme))).await;

    // Before the hello: anything else is refused, and the socket still waits for the hello.
    raw.send_json(json!({"type": "send", "cid": "c1", "body": "hi"})).await;
    expect_error(&mut raw, ErrorCode::HelloRequired).await;
    raw.send("{not json").await;
    expect_error(&mut raw, ErrorCode::BadFrame).await;
    raw.send_json(json!({"type": "visitor_hello", "v": 1, "page": {"url": "/"}})).await;
    expect_error(&mut raw, ErrorCode::BadFrame).await; // no site key
    raw.send_json(json!({"type": "visitor_hello", "v": 1, "site_key": acme.site.key, "page": {"url": "/"}}))
        .await;
    raw.expect(|f| matches!(f, ServerFrame::Welcome { .. })).await;

    for (frame, code) in [
        ("[1, 2, 3]", ErrorCode::BadFrame),
        ("\"send\"", ErrorCode::BadFrame),
        (r#"{"body": "no type"}"#, ErrorCode::BadFrame),
        (r#"{"type": "teleport"}"#, ErrorCode::UnknownType),
        (r#"{"type": "accept", "site": "s", "conversation": "c"}"#, ErrorCode::UnknownType), // an agent frame
        (r#"{"type": "send", "cid": 5, "body": "wrong cid type"}"#, ErrorCode::BadFrame),
        (r#"{"type": "send", "cid": "", "body": "empty cid"}"#, ErrorCode::BadFrame),
    ] {
        raw.send(frame).await;
        expect_error(&mut raw, code).await;
    }
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    raw.send_json(json!({"type": "send", "cid": "long-1", "body": long})).await;
    let refused = raw.expect(|f| error_code(f).is_some()).await;
    assert!(
        matches!(refused, ServerFrame::Error { code: ErrorCode::MessageTooLong, cid: Some(ref c), .. } if c.0 == "long-1")
    );

    // Still usable: a good message is stored.
    raw.send_json(json!({"type": "send", "cid": "ok-1", "body": "finally a real question"})).await;
    raw.expect(|f| matches!(f, ServerFrame::Ack { seq: 1, .. })).await;
    assert_eq!(stored_messages(&server, &acme.owner.token).await, 1, "the good message only");
    server.stop().await;
}

async fn an_oversized_frame_closes_the_socket_with_1009_and_others_carry_on(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut bystander = Raw::visitor(&server, &acme).await;
    // Just over the limit, 100 KB and 1 MiB: each is answered and closed cleanly with 1009, on an
    // open socket and before the hello.
    for size in [MAX_FRAME_BYTES + 1, 100_000, 1024 * 1024] {
        let mut raw = Raw::visitor(&server, &acme).await;
        raw.send_json(json!({"type": "send", "cid": "big", "body": "x".repeat(size)})).await;
        let refused = raw.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
        assert!(
            matches!(refused, ServerFrame::Error { code: ErrorCode::BadFrame, .. }),
            "{size}: {refused:?}"
        );
        assert_eq!(raw.closed().await, Some(close::TOO_LARGE), "{size} bytes");
        let mut early = Raw::connect(&server.ws(&server.visitor_path(&acme))).await;
        early.send(&"y".repeat(size)).await;
        assert_eq!(early.closed().await, Some(close::TOO_LARGE), "{size} bytes before the hello");
    }

    bystander.send_json(json!({"type": "send", "cid": "b1", "body": "still here"})).await;
    bystander.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    assert_eq!(stored_messages(&server, &acme.owner.token).await, 1);
    server.stop().await;
}

async fn hellos_with_bad_keys_versions_or_tokens_are_refused_with_their_close_codes(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;

    let visitor_hello = |key: &str, token: Option<&str>, v: u32| json!({"type": "visitor_hello", "v": v, "site_key": key, "visitor_token": token, "page": {"url": "/"}});
    let cases = [
        (visitor_hello("k_nope", None, 1), ErrorCode::NotFound, close::BAD_HELLO),
        (visitor_hello(&acme.site.key, None, 2), ErrorCode::UnsupportedVersion, close::BAD_HELLO),
        (
            visitor_hello(&acme.site.key, Some("v1.garbage.token"), 1),
            ErrorCode::Unauthorized,
            close::UNAUTHORIZED,
        ),
    ];
    for (hello, code, close_code) in cases {
        let mut raw = Raw::connect(&server.ws(&server.visitor_path(&acme))).await;
        raw.send_json(hello).await;
        expect_error(&mut raw, code).await;
        assert_eq!(raw.closed().await, Some(close_code));
    }

    // A real visitor token of one site is no good on another (of another tenant).
    let mut at_acme = Raw::connect(&server.ws(&server.visitor_path(&acme))).await;
    at_acme.send_json(visitor_hello(&acme.site.key, None, 1)).await;
    let ServerFrame::Welcome { visitor_token, .. } =
        at_acme.expect(|f| matches!(f, ServerFrame::Welcome { .. })).await
    else {
        unreachable!()
    };
    let mut at_globex = Raw::connect(&server.ws(&server.visitor_path(&globex))).await;
    at_globex.send_json(visitor_hello(&globex.site.key, Some(&visitor_token), 1)).await;
    expect_error(&mut at_globex, ErrorCode::Unauthorized).await;
    assert_eq!(at_globex.closed().await, Some(close::UNAUTHORIZED));

    // Agents: a forged token, an expired one, one signed by another key.
    let keys = server_keys(&server);
    let expired = token::sign_agent(
        keys.signing(),
        AgentClaims {
            tenant: acme.id.clone(),
            agent: acme.owner.id.clone(),
            role: Role::Owner,
            exp: Millis(1),
            generation: 0,
        },
    );
    let foreign = token::sign_agent(
        &ed25519_dalek::SigningKey::from_bytes(&[7; 32]),
        AgentClaims {
            tenant: acme.id.clone(),
            agent: acme.owner.id.clone(),
            role: Role::Owner,
            exp: Millis(u64::MAX),
            generation: 0,
        },
    );
    for (access_token, code) in [
        ("not-a-token".to_owned(), ErrorCode::Unauthorized),
        (expired, ErrorCode::TokenExpired),
        (foreign, ErrorCode::Unauthorized),
    ] {
        let mut raw = Raw::connect(&server.ws(&server.agent_path(&acme.owner))).await;
        raw.send_json(json!({"type": "agent_hello", "v": 1, "access_token": access_token})).await;
        expect_error(&mut raw, code).await;
        assert_eq!(raw.closed().await, Some(close::UNAUTHORIZED));
    }
    // An agent token on the visitor socket is just an unknown frame there.
    let mut raw = Raw::connect(&server.ws(&server.visitor_path(&acme))).await;
    raw.send_json(json!({"type": "agent_hello", "v": 1, "access_token": acme.owner.token})).await;
    expect_error(&mut raw, ErrorCode::UnknownType).await;
    assert_eq!(stored_messages(&server, &acme.owner.token).await, 0);
    server.stop().await;
}

async fn another_tenants_sites_conversations_and_visitors_are_not_found_over_ws(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;

    // A Globex conversation exists.
    let mut globex_visitor = server.visitor(&globex, "/");
    globex_visitor.send(Outgoing::Visitor { body: "private to globex".into() });
    let ServerFrame::Ack { conversation, .. } =
        expect(&mut globex_visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    let ServerFrame::Welcome { visitor: globex_visitor_id, .. } =
        expect(&mut server.visitor(&globex, "/"), "welcome", |f| matches!(f, ServerFrame::Welcome { .. }))
            .await
    else {
        unreachable!()
    };

    let mut acme_agent = Raw::agent(&server, &acme.owner).await;
    let attempts = [
        json!({"type": "send", "site": globex.site.id, "conversation": conversation, "cid": "x1", "body": "hello globex"}),
        json!({"type": "send", "site": acme.site.id, "conversation": conversation, "cid": "x2", "body": "via my site"}),
        json!({"type": "accept", "site": acme.site.id, "conversation": conversation}),
        json!({"type": "close", "site": globex.site.id, "conversation": conversation}),
        json!({"type": "transfer", "site": acme.site.id, "conversation": conversation, "to": AgentId::from("a_x")}),
        json!({"type": "invite", "site": acme.site.id, "visitor": globex_visitor_id, "cid": "x3", "body": "psst"}),
        json!({"type": "read", "site": globex.site.id, "conversation": conversation, "seq": 1}),
    ];
    for attempt in attempts {
        acme_agent.send_json(attempt.clone()).await;
        let refused = acme_agent.expect(|f| error_code(f).is_some()).await;
        assert_eq!(error_code(&refused), Some(ErrorCode::NotFound), "{attempt}");
    }
    let history = server.history(&globex.owner.token, conversation.as_str()).await;
    assert!(history.iter().all(|m| m["sender"]["party"] != "agent" || m["body"] != "hello globex"));
    assert_eq!(history.iter().filter(|m| m["kind"] == "text").count(), 1);
    server.stop().await;
}

fn server_keys(server: &TestServer) -> origin_api::auth::Keys {
    server.keys()
}

async fn a_hello_with_too_many_resume_points_still_fits_a_frame_and_is_refused_with_4000(db: TestDb) {
    let server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let points: Vec<_> = (0..=chat_core::limits::MAX_RESUME_POINTS)
        .map(|n| json!({"conversation": format!("c_{n:032x}"), "last_seq": 12}))
        .collect();
    let hello = json!({"type": "visitor_hello", "v": 1, "site_key": acme.site.key, "page": {"url": "/"}, "resume": points});
    assert!(hello.to_string().len() <= MAX_FRAME_BYTES, "{} bytes", hello.to_string().len());
    let mut raw = Raw::connect(&server.ws(&server.visitor_path(&acme))).await;
    raw.send_json(hello).await;
    let refused = raw.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::BadFrame, .. }), "{refused:?}");
    assert_eq!(raw.closed().await, Some(close::BAD_HELLO));
}

async fn a_socket_over_its_frame_allowance_is_told_to_slow_down_and_keeps_its_sends(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut raw = Raw::visitor(&server, &acme).await;
    // More frames at once than a socket may send, even with what its allowance regains while a
    // busy server (or the edge's object) works through them: the rest are answered, not read.
    let frames = chat_core::limits::FRAME_BURST + 5 * chat_core::limits::FRAMES_PER_SECOND;
    for t in 0..frames {
        raw.send_json(json!({"type": "ping", "t": t})).await;
    }
    raw.send_json(json!({"type": "send", "cid": "over", "body": "one too many"})).await;
    let refused = raw.expect(|f| matches!(f, ServerFrame::Error { cid: Some(_), .. })).await;
    assert!(
        matches!(refused, ServerFrame::Error { code: ErrorCode::RateLimited, cid: Some(ref c), .. } if c.as_str() == "over"),
        "{refused:?}"
    );
    // A moment later the same send goes through: nothing was stored of the refused one.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    raw.send_json(json!({"type": "send", "cid": "over", "body": "one too many"})).await;
    raw.expect(|f| matches!(f, ServerFrame::Ack { seq: 1, .. })).await;
    assert_eq!(stored_messages(&server, &acme.owner.token).await, 1);
    server.stop().await;
}
