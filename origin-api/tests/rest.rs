//! The REST API: sessions, roles, the records of each resource, and tenant isolation.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chat_client::Outgoing;
use chat_core::protocol::{Role, ServerFrame};
use common::{PASSWORD, TestServer, expect};
use serde_json::json;

#[tokio::test]
async fn login_refresh_and_logout() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let email = &acme.owner.email;

    let (status, body) =
        server.post("/api/v1/auth/login", None, json!({"email": email, "password": "wrong password"})).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = server
        .post("/api/v1/auth/login", None, json!({"email": "nobody@x.example", "password": PASSWORD}))
        .await;
    assert_eq!(status, 401);
    let (status, _) = server.post("/api/v1/auth/login", None, json!({"email": email})).await;
    assert_eq!(status, 400, "a missing field is the client's to fix");

    let (status, login) = server
        .post("/api/v1/auth/login", None, json!({"email": email.to_uppercase(), "password": PASSWORD}))
        .await;
    assert_eq!(status, 200, "emails are case-insensitive");
    let refresh = login["tokens"]["refresh_token"].as_str().unwrap().to_owned();
    let (status, me) =
        server.get("/api/v1/me", Some(login["tokens"]["access_token"].as_str().unwrap())).await;
    assert_eq!((status, me["email"].as_str()), (200, Some(email.as_str())));

    let (status, pair) = server.post("/api/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    assert_eq!(status, 200);
    let (status, _) = server.post("/api/v1/auth/refresh", None, json!({"refresh_token": refresh})).await;
    assert_eq!(status, 401, "a refresh token works once");
    let newer = pair["refresh_token"].as_str().unwrap();
    assert_eq!(server.post("/api/v1/auth/logout", None, json!({"refresh_token": newer})).await.0, 204);
    assert_eq!(server.post("/api/v1/auth/refresh", None, json!({"refresh_token": newer})).await.0, 401);

    assert_eq!(server.get("/api/v1/me", None).await.0, 401);
    assert_eq!(server.get("/api/v1/me", Some("v1.forged.token")).await.0, 401);
    let (status, key) = server.get("/api/v1/auth/public-key", None).await;
    assert_eq!((status, key["algorithm"].as_str()), (200, Some("Ed25519")));
    server.stop().await;
}

#[tokio::test]
async fn owners_manage_sites_agents_and_shared_replies_agents_do_not() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let owner = &acme.owner.token;
    let ana = server.agent(&acme, "ana", Role::Agent, 3).await;

    let (status, site) = server
        .post(
            "/api/v1/sites",
            Some(owner),
            json!({"name": "Support", "allowed_origins": ["https://help.acme.example"]}),
        )
        .await;
    assert_eq!(status, 201, "{site}");
    assert!(site["key"].as_str().unwrap().starts_with("k_"));
    assert_eq!(site["greeting"], "Hi! How can we help you today?");
    let site_id = site["id"].as_str().unwrap();
    let (status, bad) = server
        .post("/api/v1/sites", Some(owner), json!({"name": "x", "allowed_origins": ["help.acme.example/"]}))
        .await;
    assert_eq!((status, bad["error"]["code"].as_str()), (422, Some("invalid")));
    assert_eq!(server.post("/api/v1/sites", Some(&ana.token), json!({"name": "Mine"})).await.0, 403);
    let (status, changed) =
        server.patch(&format!("/api/v1/sites/{site_id}"), owner, json!({"auto_assign": false})).await;
    assert_eq!((status, &changed["auto_assign"]), (200, &json!(false)));

    let (status, created) = server
        .post(
            "/api/v1/agents",
            Some(owner),
            json!({"email": "bo@acme.example", "name": "Bo", "password": "long enough pw", "capacity": 2, "sites": [site_id]}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["sites"], json!([site_id]));
    let dup = json!({"email": "BO@acme.example", "name": "Bo 2", "password": "long enough pw"});
    assert_eq!(server.post("/api/v1/agents", Some(owner), dup).await.0, 409);
    let short = json!({"email": "cy@acme.example", "name": "Cy", "password": "short"});
    assert_eq!(server.post("/api/v1/agents", Some(owner), short).await.0, 422);
    let by_agent = json!({"email": "dee@acme.example", "name": "Dee", "password": "long enough pw"});
    assert_eq!(server.post("/api/v1/agents", Some(&ana.token), by_agent).await.0, 403);
    // Bo serves only the new site: he sees it and not the first one.
    let (_, bo_login) = server
        .post("/api/v1/auth/login", None, json!({"email": "bo@acme.example", "password": "long enough pw"}))
        .await;
    let bo = bo_login["tokens"]["access_token"].as_str().unwrap();
    let (_, bo_sites) = server.get("/api/v1/sites", Some(bo)).await;
    assert_eq!(bo_sites.as_array().unwrap().len(), 1);
    assert_eq!(server.get(&format!("/api/v1/sites/{}", acme.site.id), Some(bo)).await.0, 404);
    // Owners cannot disable themselves; disabling Bo ends his logins.
    assert_eq!(
        server.patch(&format!("/api/v1/agents/{}", acme.owner.id), owner, json!({"disabled": true})).await.0,
        422
    );
    let bo_id = created["id"].as_str().unwrap();
    assert_eq!(
        server.patch(&format!("/api/v1/agents/{bo_id}"), owner, json!({"disabled": true})).await.0,
        200
    );
    let (status, _) = server
        .post("/api/v1/auth/login", None, json!({"email": "bo@acme.example", "password": "long enough pw"}))
        .await;
    assert_eq!(status, 403);

    // Quick replies: shared ones by managers, own ones by anyone, others' own invisible.
    let shared = json!({"title": "hours", "body": "We answer 9 to 17.", "shared": true});
    assert_eq!(server.post("/api/v1/quick-replies", Some(&ana.token), shared.clone()).await.0, 403);
    let (status, shared) = server.post("/api/v1/quick-replies", Some(owner), shared).await;
    assert_eq!(status, 201);
    let (status, own) = server
        .post("/api/v1/quick-replies", Some(&ana.token), json!({"title": "hi", "body": "Hello, I'm Ana"}))
        .await;
    assert_eq!(status, 201);
    let (_, listed) = server.get("/api/v1/quick-replies", Some(&ana.token)).await;
    assert_eq!(listed.as_array().unwrap().len(), 2);
    let (_, owner_listed) = server.get("/api/v1/quick-replies", Some(owner)).await;
    assert_eq!(owner_listed.as_array().unwrap().len(), 1, "ana's own reply is hers");
    let own_path = format!("/api/v1/quick-replies/{}", own["id"].as_str().unwrap());
    assert_eq!(server.patch(&own_path, owner, json!({"body": "x"})).await.0, 404);
    assert_eq!(server.patch(&own_path, &ana.token, json!({"body": "Hi, Ana here"})).await.0, 200);
    let shared_path = format!("/api/v1/quick-replies/{}", shared["id"].as_str().unwrap());
    assert_eq!(server.delete(&shared_path, &ana.token).await.0, 403);
    assert_eq!(server.delete(&shared_path, owner).await.0, 204);
    server.stop().await;
}

#[tokio::test]
async fn visitors_leave_messages_and_agents_handle_them() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let message = json!({"site_key": acme.site.key, "name": "Li", "email": "li@mail.example", "body": "Call me back", "page_url": "/contact"});
    let (status, created) = server.post("/api/v1/public/leave-messages", None, message.clone()).await;
    assert_eq!(status, 201, "{created}");
    for (field, value) in
        [("email", json!("not-an-email")), ("body", json!("")), ("site_key", json!("k_unknown"))]
    {
        let mut bad = message.clone();
        bad[field] = value;
        let (status, _) = server.post("/api/v1/public/leave-messages", None, bad).await;
        assert!(status == 422 || status == 404, "{field}: {status}");
    }
    let mut forged = message.clone();
    forged["visitor_token"] = json!("v1.not.valid");
    assert_eq!(server.post("/api/v1/public/leave-messages", None, forged).await.0, 401);

    let (_, open) = server.get("/api/v1/leave-messages?handled=false", Some(&acme.owner.token)).await;
    assert_eq!(open["items"][0]["body"], "Call me back");
    let id = created["id"].as_str().unwrap();
    let (status, handled) = server
        .post(&format!("/api/v1/leave-messages/{id}/handled"), Some(&acme.owner.token), json!({}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(handled["handled_by"], json!(acme.owner.id));
    let (_, open) = server.get("/api/v1/leave-messages?handled=false", Some(&acme.owner.token)).await;
    assert_eq!(open["items"].as_array().unwrap().len(), 0);
    server.stop().await;
}

#[tokio::test]
async fn conversation_lists_and_history_come_in_pages() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let mut visitors = Vec::new();
    for i in 0..3 {
        let mut visitor = server.visitor(&acme, "/");
        for j in 0..4 {
            visitor.send(Outgoing::Visitor { body: format!("visitor {i} message {j}") });
        }
        for _ in 0..4 {
            expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
        }
        visitors.push(visitor);
    }
    let token = &acme.owner.token;
    let (_, first) = server.get("/api/v1/conversations?limit=2", Some(token)).await;
    assert_eq!(first["items"].as_array().unwrap().len(), 2);
    let cursor = first["next_before"].as_str().unwrap();
    let (_, second) =
        server.get(&format!("/api/v1/conversations?limit=2&before={cursor}"), Some(token)).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert!(second["next_before"].is_null());
    assert!(
        first["items"][0]["started_at"].as_u64() >= first["items"][1]["started_at"].as_u64(),
        "newest first"
    );

    let id = second["items"][0]["id"].as_str().unwrap();
    let (_, page) = server.get(&format!("/api/v1/conversations/{id}/messages?limit=3"), Some(token)).await;
    assert_eq!(page["items"].as_array().unwrap().len(), 3);
    let after = page["next_after_seq"].as_u64().unwrap();
    let (_, rest) =
        server.get(&format!("/api/v1/conversations/{id}/messages?after_seq={after}"), Some(token)).await;
    assert_eq!(rest["items"][0]["seq"].as_u64(), Some(after + 1));
    assert!(rest["next_after_seq"].is_null());
    let (_, waiting) = server.get("/api/v1/conversations?status=waiting", Some(token)).await;
    assert_eq!(waiting["items"].as_array().unwrap().len(), 3, "no agent was online");
    let (status, _) = server.get("/api/v1/conversations?status=sleeping", Some(token)).await;
    assert_eq!(status, 400);
    server.stop().await;
}

#[tokio::test]
async fn conversations_are_tagged_and_found_by_their_words_and_tags() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let mut visitor = server.visitor(&acme, "/");
    visitor.send(Outgoing::Visitor { body: "Do you ship lamps to Norway?".into() });
    let ServerFrame::Ack { conversation, .. } =
        expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    let token = &acme.owner.token;
    let tags = format!("/api/v1/conversations/{conversation}/tags");
    let (status, tagged) = server.put(&tags, token, json!({"tags": ["VIP", " vip ", "lamps"]})).await;
    assert_eq!(status, 200, "{tagged}");
    assert_eq!(tagged["tags"], json!(["VIP", "lamps"]), "trimmed, each once whatever its case");
    let found = |query: &'static str| {
        let server = &server;
        async move {
            let (status, page) = server.get(&format!("/api/v1/conversations?{query}"), Some(token)).await;
            assert_eq!(status, 200, "{page}");
            page["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["id"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        }
    };
    assert_eq!(found("q=NORWAY").await, [conversation.as_str()]);
    assert_eq!(found("tag=lamps").await, [conversation.as_str()]);
    assert_eq!(found("q=sweden").await, Vec::<String>::new());
    assert_eq!(found("from=1&to=2").await, Vec::<String>::new());

    let eleven: Vec<String> = (0..11).map(|n| format!("t{n}")).collect();
    assert_eq!(server.put(&tags, token, json!({ "tags": eleven })).await.0, 422);
    assert_eq!(server.put(&tags, token, json!({"tags": ["x".repeat(33)]})).await.0, 422);
    assert_eq!(server.put(&tags, token, json!({"tags": [""]})).await.0, 422);
    assert_eq!(server.put(&tags, &globex.owner.token, json!({"tags": ["mine"]})).await.0, 404);
    let (_, still) = server.get(&format!("/api/v1/conversations/{conversation}"), Some(token)).await;
    assert_eq!(still["tags"], json!(["VIP", "lamps"]), "nothing refused changed them");
    server.stop().await;
}

#[tokio::test]
async fn owners_see_a_report_of_the_conversations_agents_answered() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let ana = server.agent(&acme, "ana", Role::Agent, 3).await;
    let mut owner = server.ready_agent(&acme.owner).await;
    let mut visitor = server.visitor(&acme, "/");
    visitor.send(Outgoing::Visitor { body: "Is the oak table in stock?".into() });
    let ServerFrame::Ack { conversation, .. } =
        expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    owner.send(Outgoing::Agent {
        site: acme.site.id.clone(),
        conversation: conversation.clone(),
        body: "Yes, two left.".into(),
        note: false,
    });
    expect(
        &mut visitor,
        "the answer",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "Yes, two left."),
    )
    .await;
    let mut unanswered = server.visitor(&acme, "/");
    unanswered.send(Outgoing::Visitor { body: "Hello?".into() });
    expect(&mut unanswered, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;

    let token = &acme.owner.token;
    let (status, report) = server.get("/api/v1/reports?utc_offset_minutes=480", Some(token)).await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (&report["totals"]["conversations"], &report["totals"]["answered"], &report["totals"]["unanswered"]),
        (&json!(2), &json!(1), &json!(1))
    );
    assert!(report["totals"]["first_response"]["median_ms"].as_u64().is_some(), "{report}");
    assert_eq!(report["days"].as_array().unwrap().len(), 31, "the last 30 days by default, today included");
    assert_eq!(report["days"][30]["conversations"], 2, "today: {report}");
    assert_eq!(report["agents"][0]["name"], "owner");
    assert_eq!(report["agents"][0]["answered"], 1);
    assert_eq!(report["sites"][0]["site"], acme.site.id.as_str());

    let (_, theirs) = server.get("/api/v1/reports", Some(&globex.owner.token)).await;
    assert_eq!(theirs["totals"]["conversations"], 0, "another tenant's conversations");
    let (status, _) = server.get("/api/v1/reports", Some(&ana.token)).await;
    assert_eq!(status, 403, "agents do not read reports");
    for bad in ["from=5000&to=5000", "from=0&to=31708800001", "utc_offset_minutes=900", "from=soon"] {
        let (status, body) = server.get(&format!("/api/v1/reports?{bad}"), Some(token)).await;
        assert!(matches!(status, 400 | 422), "{bad}: {status} {body}");
    }
    server.stop().await;
}

#[tokio::test]
async fn another_tenants_records_are_not_found_over_rest() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let mut visitor = server.visitor(&globex, "/");
    visitor.send(Outgoing::Visitor { body: "globex only".into() });
    let ServerFrame::Ack { conversation, .. } =
        expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    let leave = json!({"site_key": globex.site.key, "email": "z@mail.example", "body": "hello"});
    let (_, left) = server.post("/api/v1/public/leave-messages", None, leave).await;
    let (_, reply) = server
        .post(
            "/api/v1/quick-replies",
            Some(&globex.owner.token),
            json!({"title": "t", "body": "b", "shared": true}),
        )
        .await;

    let acme_token = &acme.owner.token;
    let site = &globex.site.id;
    let agent = &globex.owner.id;
    for path in [
        format!("/api/v1/sites/{site}"),
        format!("/api/v1/agents/{agent}"),
        format!("/api/v1/conversations/{conversation}"),
        format!("/api/v1/conversations/{conversation}/messages"),
    ] {
        assert_eq!(server.get(&path, Some(acme_token)).await.0, 404, "GET {path}");
    }
    assert_eq!(
        server.patch(&format!("/api/v1/sites/{site}"), acme_token, json!({"name": "pwned"})).await.0,
        404
    );
    assert_eq!(server.delete(&format!("/api/v1/sites/{site}"), acme_token).await.0, 404);
    assert_eq!(
        server.patch(&format!("/api/v1/agents/{agent}"), acme_token, json!({"disabled": true})).await.0,
        404
    );
    assert_eq!(server.delete(&format!("/api/v1/agents/{agent}"), acme_token).await.0, 404);
    let reply_path = format!("/api/v1/quick-replies/{}", reply["id"].as_str().unwrap());
    assert_eq!(server.delete(&reply_path, acme_token).await.0, 404);
    let handled = format!("/api/v1/leave-messages/{}/handled", left["id"].as_str().unwrap());
    assert_eq!(server.post(&handled, Some(acme_token), json!({})).await.0, 404);
    // Acme's agent cannot attach Globex's site to an Acme agent either.
    let (status, _) = server
        .post(
            "/api/v1/agents",
            Some(acme_token),
            json!({"email": "e@acme.example", "name": "E", "password": "long enough pw", "sites": [site]}),
        )
        .await;
    assert_eq!(status, 422);
    // Lists hold only Acme's records.
    let (_, conversations) = server.get("/api/v1/conversations", Some(acme_token)).await;
    assert_eq!(conversations["items"].as_array().unwrap().len(), 0);
    let (_, leaves) = server.get("/api/v1/leave-messages", Some(acme_token)).await;
    assert_eq!(leaves["items"].as_array().unwrap().len(), 0);
    let (_, agents) = server.get("/api/v1/agents", Some(acme_token)).await;
    assert_eq!(agents.as_array().unwrap().len(), 1);
    // And Globex still has everything.
    assert_eq!(server.get(&format!("/api/v1/sites/{site}"), Some(&globex.owner.token)).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn health_is_ok_while_the_database_answers() {
    let mut server = TestServer::start().await;
    let (status, body) = server.get("/healthz", None).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("ok")));
    server.store().close().await;
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 503);
    server.stop().await;
}

#[tokio::test]
async fn a_disabled_or_demoted_admin_loses_their_powers_at_once() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let admin = server.agent(&acme, "adm", Role::Admin, 5).await;
    let path = format!("/api/v1/agents/{}", admin.id);
    assert_eq!(server.patch(&path, &acme.owner.token, json!({"role": "agent"})).await.0, 200);
    // The access token still says admin; it was issued before the new role, so it is over.
    let create = json!({"email": "x@acme.example", "name": "X", "password": "long enough pw"});
    assert_eq!(server.post("/api/v1/agents", Some(&admin.token), create.clone()).await.0, 401);
    // Logged in again, as an agent now: managing is not theirs.
    let (_, again) = server
        .post("/api/v1/auth/login", None, json!({"email": admin.email, "password": common::PASSWORD}))
        .await;
    let token = again["tokens"]["access_token"].as_str().unwrap().to_owned();
    assert_eq!(server.post("/api/v1/agents", Some(&token), create).await.0, 403);
    assert_eq!(server.patch(&path, &acme.owner.token, json!({"disabled": true})).await.0, 200);
    assert_eq!(server.get("/api/v1/me", Some(&admin.token)).await.0, 403);
    assert_eq!(server.patch(&path, &admin.token, json!({"disabled": false})).await.0, 403);
    assert_eq!(server.delete(&path, &acme.owner.token).await.0, 204);
    assert_eq!(server.get("/api/v1/me", Some(&admin.token)).await.0, 401);
    server.stop().await;
}

#[tokio::test]
async fn deleting_the_only_site_of_an_agent_leaves_them_with_none() {
    let mut server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let owner = &acme.owner.token;
    let (_, second) = server.post("/api/v1/sites", Some(owner), json!({"name": "Second"})).await;
    let second = second["id"].as_str().unwrap();
    let body =
        json!({"email": "li@acme.example", "name": "Li", "password": "long enough pw", "sites": [second]});
    let (status, li) = server.post("/api/v1/agents", Some(owner), body).await;
    assert_eq!((status, &li["all_sites"]), (201, &json!(false)));
    let (_, login) = server
        .post("/api/v1/auth/login", None, json!({"email": "li@acme.example", "password": "long enough pw"}))
        .await;
    let li_token = login["tokens"]["access_token"].as_str().unwrap();
    assert_eq!(server.get("/api/v1/sites", Some(li_token)).await.1.as_array().unwrap().len(), 1);

    assert_eq!(server.delete(&format!("/api/v1/sites/{second}"), owner).await.0, 204);
    let (_, sites) = server.get("/api/v1/sites", Some(li_token)).await;
    assert_eq!(sites.as_array().unwrap().len(), 0, "not every site: {sites}");
    let (_, agent) = server.get(&format!("/api/v1/agents/{}", li["id"].as_str().unwrap()), Some(owner)).await;
    assert_eq!((&agent["all_sites"], &agent["sites"]), (&json!(false), &json!([])));
    server.stop().await;
}

#[tokio::test]
async fn page_sizes_and_body_sizes_outside_the_documented_limits_are_refused() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let token = &acme.owner.token;
    for limit in ["0", "201", "100000"] {
        let (status, body) = server.get(&format!("/api/v1/conversations?limit={limit}"), Some(token)).await;
        assert_eq!((status, body["error"]["message"].as_str()), (422, Some("limit is 1 to 200")), "{limit}");
        let (status, _) = server.get(&format!("/api/v1/leave-messages?limit={limit}"), Some(token)).await;
        assert_eq!(status, 422, "{limit}");
    }
    assert_eq!(server.get("/api/v1/conversations?limit=200", Some(token)).await.0, 200);
    let huge = json!({"name": "x".repeat(3 * 1024 * 1024)});
    let (status, body) = server.post("/api/v1/sites", Some(token), huge).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")), "{body}");
}
