//! The origin's Lambda entry point, fed API Gateway HTTP API events (payload 2.0) as AWS sends
//! them: REST answers as from `kefu serve`, and the room objects' signed outbox batches are stored
//! once however often they come.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use chat_core::edge::{self, SIGNATURE_HEADER};
use chat_core::ids::{ConversationId, Millis, SiteId, TenantId, VisitorId};
use chat_core::protocol::{ConversationStatus, MessageKind, MessageView, Party, Role, Sender};
use chat_core::records::{ConversationRecord, WriteOp};
use origin_api::app::{self, AppState};
use origin_api::auth::{Keys, password};
use origin_api::clock::now;
use origin_api::config::Config;
use origin_api::store::{self, MessageRange, NewAgent, NewSite};
use serde_json::{Value, json};

const PASSWORD: &str = "a password for the lambda test";
const SECRET: &str = "the secret the edge and the origin share";

/// An API Gateway HTTP API event for `method path` from 203.0.113.7.
fn event(method: &str, path: &str, headers: &[(&str, &str)], body: &str) -> String {
    let (path_only, query) = path.split_once('?').unwrap_or((path, ""));
    let headers: serde_json::Map<String, Value> =
        headers.iter().map(|(name, value)| ((*name).to_owned(), Value::from(*value))).collect();
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path_only,
        "rawQueryString": query,
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "kefu",
            "domainName": "origin.example",
            "domainPrefix": "origin",
            "http": { "method": method, "path": path_only, "protocol": "HTTP/1.1", "sourceIp": "203.0.113.7", "userAgent": "test" },
            "requestId": "r1",
            "routeKey": "$default",
            "stage": "$default",
            "time": "30/Nov/2026:09:00:00 +0000",
            "timeEpoch": 1_796_029_200_000_u64
        },
        "body": body,
        "isBase64Encoded": false
    })
    .to_string()
}

async fn call(router: &axum::Router, event: String) -> (u16, Value) {
    let request = lambda_http::request::from_str(&event).expect("an API Gateway event");
    let response = origin_api::lambda::handle(router.clone(), request).await;
    let status = response.status().as_u16();
    let body = String::from_utf8(response.body().to_vec()).unwrap();
    (status, serde_json::from_str(&body).unwrap_or(Value::String(body)))
}

#[tokio::test]
async fn api_gateway_events_reach_the_same_router_and_outbox_batches_are_stored_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite:{}/kefu.db", dir.path().display());
    let store = store::open(&url).await.unwrap();
    let tenant = store.create_tenant("Acme", now()).await.unwrap();
    let site = NewSite { name: "Acme shop".into(), ..NewSite::default() };
    let site = store.create_site(&tenant.id, site, now()).await.unwrap();
    let owner = NewAgent {
        email: "ana@acme.example".into(),
        name: "Ana".into(),
        role: Role::Owner,
        capacity: 5,
        all_sites: true,
        sites: Vec::new(),
        password_hash: password::hash(PASSWORD).unwrap(),
    };
    store.create_agent(&tenant.id, owner, now()).await.unwrap();
    let mut config = Config::with_database(&url);
    config.data_dir = dir.path().to_owned();
    config.edge_secret = Some(SECRET.parse().unwrap());
    let keys = Keys::load(None, &*store).await.unwrap();
    let router = app::router(AppState::new(store.clone(), keys, config));

    // REST as from kefu serve: a wrong password, then the right one.
    let json = [("content-type", "application/json")];
    let wrong = json!({ "email": "ana@acme.example", "password": "not it" }).to_string();
    assert_eq!(call(&router, event("POST", "/api/v1/auth/login", &json, &wrong)).await.0, 401);
    let right = json!({ "email": "ana@acme.example", "password": PASSWORD }).to_string();
    let (status, login) = call(&router, event("POST", "/api/v1/auth/login", &json, &right)).await;
    assert_eq!(status, 200, "{login}");
    let bearer = format!("Bearer {}", login["tokens"]["access_token"].as_str().unwrap());
    let (status, live) = call(&router, event("GET", "/api/v1/live", &[("authorization", &bearer)], "")).await;
    assert_eq!(status, 200);
    // Behind the edge, one endpoint per site.
    assert_eq!(
        live["endpoints"],
        json!([{ "url": format!("/ws/agent?site={}", site.id.0), "sites": [site.id.0] }])
    );
    assert_eq!(call(&router, event("GET", "/api/v1/nothing", &[], "")).await.0, 404);

    // A room object's outbox: signed, stored, and stored once when it comes again.
    let batch = json!({ "site": site.id, "writes": writes(&tenant.id, &site.id) }).to_string();
    let path = "/internal/v1/outbox";
    let signature = edge::sign(SECRET.as_bytes(), "POST", path, now(), batch.as_bytes());
    let signed = [("content-type", "application/json"), (SIGNATURE_HEADER, signature.as_str())];
    for _ in 0..2 {
        let (status, answer) = call(&router, event("POST", path, &signed, &batch)).await;
        assert_eq!(status, 200, "{answer}");
    }
    let range = MessageRange {
        conversation: ConversationId::from("c_edge"),
        after_seq: 0,
        through_seq: 10,
        limit: 10,
        include_notes: true,
    };
    let stored = store.messages(&tenant.id, &range).await.unwrap();
    assert_eq!(stored.iter().map(|m| m.body.as_str()).collect::<Vec<_>>(), ["one", "two"]);

    // Unsigned, signed with another secret, or for another tenant's site: refused, nothing stored.
    assert_eq!(call(&router, event("POST", path, &json, &batch)).await.0, 401);
    let forged = edge::sign(b"another secret", "POST", path, now(), batch.as_bytes());
    let forged = [("content-type", "application/json"), (SIGNATURE_HEADER, forged.as_str())];
    assert_eq!(call(&router, event("POST", path, &forged, &batch)).await.0, 401);
    let other = store.create_tenant("Globex", now()).await.unwrap();
    let other_site =
        store.create_site(&other.id, NewSite { name: "Globex".into(), ..NewSite::default() }, now()).await;
    let crossing =
        json!({ "site": other_site.unwrap().id, "writes": writes(&tenant.id, &site.id) }).to_string();
    let signature = edge::sign(SECRET.as_bytes(), "POST", path, now(), crossing.as_bytes());
    let signed = [("content-type", "application/json"), (SIGNATURE_HEADER, signature.as_str())];
    assert_eq!(call(&router, event("POST", path, &signed, &crossing)).await.0, 403);
}

/// A conversation and two messages, as a room writes them.
fn writes(tenant: &TenantId, site: &SiteId) -> Vec<WriteOp> {
    let id = ConversationId::from("c_edge");
    let record = ConversationRecord {
        tenant: tenant.clone(),
        site: site.clone(),
        id: id.clone(),
        visitor: VisitorId::from("v_edge"),
        status: ConversationStatus::Waiting,
        agent: None,
        started_at: Millis(1),
        closed_at: None,
        rating: None,
        rating_comment: None,
        visitor_read_seq: 0,
        agent_read_seq: 0,
    };
    let said = |seq: u64, body: &str| WriteOp::Message {
        tenant: tenant.clone(),
        message: MessageView {
            site: site.clone(),
            conversation: id.clone(),
            seq,
            sender: Sender { party: Party::Visitor, id: Some("v_edge".into()), name: None },
            kind: MessageKind::Text,
            body: body.into(),
            cid: Some(format!("cid-{seq}").as_str().into()),
            at: Millis(seq + 1),
            event: None,
            attachment: None,
        },
    };
    vec![WriteOp::Conversation(record), said(1, "one"), said(2, "two")]
}
