//! What the visitor side needs of the server: the widget's settings, identity verification, a
//! visitor's own history, and the pages and scripts browsers load, with the headers that fence
//! them in.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chat_core::identity::{IdentitySecret, proof};
use chat_core::protocol::{Role, ServerFrame};
use common::{Raw, Tenant, TestServer};
use reqwest::header;
use serde_json::{Value, json};

fn site_path(tenant: &Tenant) -> String {
    format!("/api/v1/sites/{}", tenant.site.id)
}

async fn welcome(server: &TestServer, tenant: &Tenant, extra: Value) -> (Raw, ServerFrame) {
    let mut raw = Raw::connect(&server.ws("/ws/visitor")).await;
    let mut hello = json!({"type": "visitor_hello", "v": 1, "site_key": tenant.site.key, "page": {"url": "https://shop.example/"}});
    if let (Some(hello), Some(extra)) = (hello.as_object_mut(), extra.as_object()) {
        hello.extend(extra.clone());
    }
    raw.send_json(hello).await;
    let welcome = raw.expect(|f| matches!(f, ServerFrame::Welcome { .. })).await;
    (raw, welcome)
}

#[tokio::test]
async fn owners_set_how_the_widget_looks_and_visitors_get_it_at_once() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let (status, site) = server.get(&site_path(&acme), Some(&acme.owner.token)).await;
    assert_eq!(status, 200);
    assert_eq!(
        (&site["color"], &site["position"], &site["offline_form"], &site["languages"]),
        (&json!("#1f6feb"), &json!("right"), &json!(true), &json!(["zh-CN", "en"])),
        "the defaults"
    );
    let (_visitor, _) = welcome(&server, &acme, json!({})).await;

    let look = json!({"color": "#aa3300", "position": "left", "offline_form": false, "languages": ["en"]});
    let (status, site) = server.patch(&site_path(&acme), &acme.owner.token, look).await;
    assert_eq!((status, &site["color"], &site["position"]), (200, &json!("#aa3300"), &json!("left")));
    // The room already runs: the next visitor gets the new look.
    let (_, ServerFrame::Welcome { widget, .. }) = welcome(&server, &acme, json!({})).await else {
        unreachable!()
    };
    assert_eq!(
        (widget.color.as_str(), widget.offline_form, widget.languages),
        ("#aa3300", false, vec!["en".to_owned()])
    );

    for (bad, says) in [
        (json!({"color": "red"}), "#rrggbb"),
        (json!({"color": "#aa3300; background: url(x)"}), "#rrggbb"),
        (json!({"languages": ["fr"]}), "zh-CN, en"),
        (json!({"languages": []}), "zh-CN, en"),
    ] {
        let (status, body) = server.patch(&site_path(&acme), &acme.owner.token, bad.clone()).await;
        assert_eq!(status, 422, "{bad}");
        assert!(body["error"]["message"].as_str().unwrap().contains(says), "{body}");
    }
    let (status, _) = server.patch(&site_path(&acme), &acme.owner.token, json!({"position": "top"})).await;
    assert_eq!(status, 400);
    let ana = server.agent(&acme, "ana", Role::Agent, 3).await;
    let (status, _) = server.patch(&site_path(&acme), &ana.token, json!({"color": "#000000"})).await;
    assert_eq!(status, 403, "agents do not change sites");
}

#[tokio::test]
async fn an_identity_secret_is_shown_once_and_proves_who_a_visitor_is() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let secret_path = format!("{}/identity-secret", site_path(&acme));
    let (status, made) = server.post(&secret_path, Some(&acme.owner.token), json!({})).await;
    assert_eq!(status, 201);
    let secret = IdentitySecret(made["identity_secret"].as_str().unwrap().to_owned());
    assert!(secret.0.len() >= 40, "32 random bytes");
    let (_, site) = server.get(&site_path(&acme), Some(&acme.owner.token)).await;
    assert_eq!(site["identity_verification"], true);
    assert!(!site.to_string().contains(&secret.0), "never shown again: {site}");
    let (status, _) = server.post(&secret_path, Some(&globex.owner.token), json!({})).await;
    assert_eq!(status, 404, "another tenant's site");

    let mut agent = Raw::agent(&server, &acme.owner).await;
    let identity = |hash: &str| json!({"identity": {"id": "user-42", "name": "Ana Lima", "email": "ana@shop.example", "hash": hash}});
    let (_good, _) = welcome(&server, &acme, identity(&proof(&secret, "user-42"))).await;
    let arrived = agent.expect(|f| matches!(f, ServerFrame::VisitorArrived { .. })).await;
    let ServerFrame::VisitorArrived { visitor, .. } = arrived else { unreachable!() };
    let shown = visitor.identity.unwrap();
    assert!(shown.verified && shown.name == "Ana Lima");

    let (mut forged, _) =
        welcome(&server, &acme, identity(&proof(&IdentitySecret("guess".into()), "user-42"))).await;
    let ServerFrame::VisitorArrived { visitor, .. } =
        agent.expect(|f| matches!(f, ServerFrame::VisitorArrived { .. })).await
    else {
        unreachable!()
    };
    assert!(!visitor.identity.unwrap().verified, "a hash made with another secret");

    // A new secret: hashes made with the old one prove nothing any more.
    let (_, made) = server.post(&secret_path, Some(&acme.owner.token), json!({})).await;
    assert_ne!(made["identity_secret"].as_str().unwrap(), secret.0);
    let old = json!({"type": "identify", "id": "user-7", "name": "Bo", "email": "", "hash": proof(&secret, "user-7")});
    forged.send_json(old).await;
    let ServerFrame::VisitorIdentified { identity, .. } =
        agent.expect(|f| matches!(f, ServerFrame::VisitorIdentified { .. })).await
    else {
        unreachable!()
    };
    assert!(!identity.verified && identity.id == "user-7");
    let (status, _) = server.delete(&secret_path, &acme.owner.token).await;
    assert_eq!(status, 204);
    let (_, site) = server.get(&site_path(&acme), Some(&acme.owner.token)).await;
    assert_eq!(site["identity_verification"], false);
}

#[tokio::test]
async fn a_visitor_reads_their_own_history_without_notes_and_nobody_elses() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let mut agent = Raw::agent(&server, &acme.owner).await;
    let (mut ana, ana_token) = Raw::visitor_as(&server, &acme, None).await;
    let (_bo, bo_token) = Raw::visitor_as(&server, &acme, None).await;
    ana.send_json(json!({"type": "send", "cid": "a1", "body": "Where is my parcel?"})).await;
    let ServerFrame::Ack { conversation, .. } = ana.expect(|f| matches!(f, ServerFrame::Ack { .. })).await
    else {
        unreachable!()
    };
    let site = acme.site_id();
    agent.send_json(json!({"type": "send", "site": site, "conversation": conversation, "cid": "n1", "body": "check the courier", "note": true})).await;
    agent.send_json(json!({"type": "send", "site": site, "conversation": conversation, "cid": "r1", "body": "On its way!"})).await;
    ana.expect(|f| matches!(f, ServerFrame::Message(m) if m.body == "On its way!")).await;

    let path = format!("/api/v1/visitor/conversations/{conversation}/messages");
    let (status, page) = server.get(&path, Some(&ana_token)).await;
    assert_eq!(status, 200);
    let bodies: Vec<_> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["kind"] == "text")
        .map(|m| m["body"].clone())
        .collect();
    assert_eq!(bodies, [json!("Where is my parcel?"), json!("On its way!")], "notes are for agents");
    assert_eq!(server.get(&path, Some(&bo_token)).await.0, 404, "another visitor");
    assert_eq!(server.get(&path, Some(&acme.owner.token)).await.0, 401, "agents use their own route");
    assert_eq!(server.get(&path, None).await.0, 401);
}

#[tokio::test]
async fn the_chat_window_is_framed_only_by_the_sites_origins_and_shows_names_as_text() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let (status, _) = server
        .patch(
            &site_path(&acme),
            &acme.owner.token,
            json!({"name": "<script>alert(1)</script> & Co", "allowed_origins": ["https://shop.example", "http://127.0.0.2:8000"]}),
        )
        .await;
    assert_eq!(status, 200);
    let url =
        server.url(&format!("/chat/{}?embed=1&parent=https%3A%2F%2Fshop.example&lang=zh-CN", acme.site.key));
    let response = server.http.get(url).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let policy = response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().to_owned();
    assert!(policy.ends_with("frame-ancestors https://shop.example http://127.0.0.2:8000"), "{policy}");
    assert!(policy.contains("script-src 'self'") && policy.contains("default-src 'none'"), "{policy}");
    assert_eq!(response.headers()[header::X_CONTENT_TYPE_OPTIONS], "nosniff");
    let page = response.text().await.unwrap();
    assert!(page.contains("&lt;script&gt;alert(1)&lt;/script&gt; &amp; Co · 在线客服"), "{page}");
    assert!(!page.contains("<script>alert"), "{page}");
    assert!(page.contains(r#"data-parent="https://shop.example""#) && page.contains(r#"lang="zh-CN""#));
    assert!(page.contains(r#"data-max-upload="10485760""#));

    let forged = server.url(&format!("/chat/{}?embed=1&parent=javascript:alert(1)", acme.site.key));
    let page = server.http.get(forged).send().await.unwrap().text().await.unwrap();
    assert!(page.contains(r#"data-parent="""#), "only an origin is taken as the parent");
    let (status, _) =
        server.patch(&site_path(&acme), &acme.owner.token, json!({"allowed_origins": []})).await;
    assert_eq!(status, 200);
    let response = server.http.get(server.url(&format!("/chat/{}", acme.site.key))).send().await.unwrap();
    assert!(
        response.headers()[header::CONTENT_SECURITY_POLICY].to_str().unwrap().ends_with("frame-ancestors *")
    );
    let missing = server.http.get(server.url("/chat/k_nothing")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn scripts_are_served_compressed_and_cached_as_long_as_they_can_be() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let response = server
        .http
        .get(server.url("/embed.js"))
        .header(header::ACCEPT_ENCODING, "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()[header::CONTENT_ENCODING], "gzip");
    assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=300");
    assert_eq!(response.headers()[header::CONTENT_TYPE], "text/javascript; charset=utf-8");
    let etag = response.headers()[header::ETAG].clone();
    let again =
        server.http.get(server.url("/embed.js")).header(header::IF_NONE_MATCH, etag).send().await.unwrap();
    assert_eq!(again.status(), 304);
    let plain = server.http.get(server.url("/embed.js")).send().await.unwrap();
    assert!(plain.headers().get(header::CONTENT_ENCODING).is_none());
    assert!(plain.text().await.unwrap().contains("data-site"));

    let page = server
        .http
        .get(server.url(&format!("/chat/{}", acme.site.key)))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let script = page.split("src=\"").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let response = server.http.get(server.url(&script)).send().await.unwrap();
    assert_eq!(response.headers()[header::CACHE_CONTROL], "public, max-age=31536000, immutable");
    let old = server.http.get(server.url("/assets/chat.js?v=old")).send().await.unwrap();
    assert_eq!(old.headers()[header::CACHE_CONTROL], "no-cache", "an old version's URL is not kept");

    let demo = server.http.get(server.url(&format!("/demo?site={}", acme.site.key))).send().await.unwrap();
    assert_eq!(demo.status(), 200);
    assert!(demo.text().await.unwrap().contains(&format!(r#"data-site="{}""#, acme.site.key)));
    assert_eq!(server.http.get(server.url("/demo")).send().await.unwrap().status(), 404, "no demo site here");
}

#[tokio::test]
async fn the_chat_page_of_kefu_itself_may_chat_for_a_site_that_lists_its_origins() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let origins = json!({"allowed_origins": ["https://shop.example"]});
    assert_eq!(server.patch(&site_path(&acme), &acme.owner.token, origins).await.0, 200);
    let hello = json!({"type": "visitor_hello", "v": 1, "site_key": acme.site.key, "page": {"url": "/chat"}});
    for (origin, welcomed) in
        [(format!("http://{}", server.addr), true), ("https://evil.example".to_owned(), false)]
    {
        let mut request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(
            server.ws("/ws/visitor"),
        )
        .unwrap();
        request.headers_mut().insert("origin", origin.parse().unwrap());
        let (socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
        let mut raw = Raw { socket };
        raw.send_json(hello.clone()).await;
        match raw.read().await {
            common::Read::Frame(ServerFrame::Welcome { .. }) => assert!(welcomed, "{origin} was let in"),
            common::Read::Frame(ServerFrame::Error { .. }) => {
                assert!(!welcomed, "{origin} was refused");
                assert_eq!(raw.closed().await, Some(4003));
            }
            other => panic!("{other:?}"),
        }
    }
}
