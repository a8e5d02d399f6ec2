//! Files sent in chats: uploads by visitors and agents, what is refused (by content, size, token),
//! how files are served, and that nobody outside the site's tenant reads them.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use chat_core::protocol::{ErrorCode, Role, ServerFrame};
use common::{Raw, Tenant, TestDb, TestServer};

on_every_target!(
    a_visitors_picture_reaches_the_agent_with_its_details_and_is_served_as_a_picture,
    nobody_outside_the_site_reads_or_sends_its_files,
);
use reqwest::header;
use serde_json::{Value, json};

/// The start of a 3 × 2 PNG: signature and header, all a sniffer reads.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52, 0x00,
    0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x02, 0x08, 0x02, 0x00, 0x00, 0x00, 0x12, 0x16, 0xf1, 0x4d,
];
const PDF: &[u8] = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";

async fn upload(server: &TestServer, token: &str, query: &str, bytes: &[u8]) -> (u16, Value) {
    let response = server
        .http
        .post(server.url(&format!("/api/v1/files?{query}")))
        .bearer_auth(token)
        .body(bytes.to_vec())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn download(server: &TestServer, token: &str, id: &str) -> reqwest::Response {
    server.http.get(server.url(&format!("/api/v1/files/{id}"))).bearer_auth(token).send().await.unwrap()
}

fn header_of(response: &reqwest::Response, name: header::HeaderName) -> String {
    response.headers().get(name).map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
}

/// A visitor socket of `tenant`'s site and its visitor token.
async fn visitor(server: &TestServer, tenant: &Tenant) -> (Raw, String) {
    Raw::visitor_as(server, tenant, None).await
}

async fn a_visitors_picture_reaches_the_agent_with_its_details_and_is_served_as_a_picture(db: TestDb) {
    let server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = Raw::agent(&server, &acme.owner).await;
    let (mut socket, token) = visitor(&server, &acme).await;

    let (status, uploaded) = upload(&server, &token, "name=lamp%20%E7%81%AF.png", PNG).await;
    assert_eq!(status, 201, "{uploaded}");
    let file = &uploaded["attachment"];
    assert_eq!(file["name"], "lamp 灯.png");
    assert_eq!((file["type"].as_str(), file["size"].as_u64()), (Some("image/png"), Some(PNG.len() as u64)));
    assert_eq!((file["width"].as_u64(), file["height"].as_u64()), (Some(3), Some(2)));
    let id = file["id"].as_str().unwrap().to_owned();
    assert!(id.len() > 30, "ids are long enough not to be guessed: {id}");

    let send = json!({"type": "send", "cid": "p1", "body": "", "attachment": uploaded["attachment_token"]});
    socket.send_json(send).await;
    socket.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    let ServerFrame::Message(message) =
        agent.expect(|f| matches!(f, ServerFrame::Message(m) if m.cid.is_some())).await
    else {
        unreachable!()
    };
    let attachment = message.attachment.expect("the file came with the message");
    assert_eq!((attachment.id.as_str(), attachment.width), (id.as_str(), Some(3)));

    for token in [acme.owner.token.as_str(), token.as_str()] {
        let response = download(&server, token, &id).await;
        assert_eq!(response.status(), 200);
        assert_eq!(header_of(&response, header::CONTENT_TYPE), "image/png");
        assert_eq!(header_of(&response, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
        assert_eq!(header_of(&response, header::CONTENT_SECURITY_POLICY), "default-src 'none'; sandbox");
        assert_eq!(
            header_of(&response, header::CONTENT_DISPOSITION),
            "inline; filename*=UTF-8''lamp%20%E7%81%AF.png"
        );
        assert_eq!(response.bytes().await.unwrap().as_ref(), PNG);
    }
    // The history keeps the file with its message.
    let history = server.history(&acme.owner.token, message.conversation.as_str()).await;
    let stored = history.iter().find(|m| m["cid"] == "p1").unwrap();
    assert_eq!(stored["attachment"]["id"], id.as_str());
}

#[tokio::test]
async fn an_agents_document_is_served_as_a_download_and_agents_name_the_site() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let (status, body) = upload(&server, &acme.owner.token, "name=terms.pdf", PDF).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("bad_request")), "which site?");
    let (status, uploaded) =
        upload(&server, &acme.owner.token, &format!("name=terms.pdf&site={}", acme.site.id), PDF).await;
    assert_eq!(status, 201, "{uploaded}");
    assert_eq!(uploaded["attachment"]["type"], "application/pdf");
    assert!(uploaded["attachment"].get("width").is_none());
    let response = download(&server, &acme.owner.token, uploaded["attachment"]["id"].as_str().unwrap()).await;
    assert_eq!(header_of(&response, header::CONTENT_DISPOSITION), "attachment; filename*=UTF-8''terms.pdf");
    assert_eq!(header_of(&response, header::CONTENT_TYPE), "application/pdf");
}

#[tokio::test]
async fn files_are_judged_by_their_content_and_size_not_their_name() {
    let server = TestServer::start_with(|config| config.max_upload_bytes = 1_000).await;
    let acme = server.tenant("Acme").await;
    let (_socket, token) = visitor(&server, &acme).await;

    let page = b"<!doctype html><html><script>alert(document.cookie)</script></html>";
    let (status, body) = upload(&server, &token, "name=photo.png", page).await;
    assert_eq!((status, body["error"]["code"].as_str()), (415, Some("unsupported_type")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("PNG, JPEG"), "{body}");
    let (status, body) = upload(&server, &token, "name=logo.svg", br#"<svg onload="alert(1)"/>"#).await;
    assert_eq!(status, 415, "{body}");
    let (status, body) = upload(&server, &token, "name=big.pdf", &[b'%'; 1_001]).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")), "{body}");
    assert_eq!(body["error"]["message"], "files are limited to 1000 bytes");
    let (status, _) = upload(&server, &token, "name=empty.txt", b"").await;
    assert_eq!(status, 422);
    let (status, _) = upload(&server, "not a token", "name=a.pdf", PDF).await;
    assert_eq!(status, 401);
    let (status, body) = upload(&server, &token, "name=notes.txt", "订单 42 已发货\n".as_bytes()).await;
    assert_eq!((status, body["attachment"]["type"].as_str()), (201, Some("text/plain; charset=utf-8")));
    // Nothing refused was kept.
    let kept = walk(server.data_dir.path()).into_iter().filter(|p| !p.ends_with(".json")).count();
    assert_eq!(kept, 1, "only the text file is on disk");
}

async fn nobody_outside_the_site_reads_or_sends_its_files(db: TestDb) {
    let server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let (mut acme_visitor, acme_token) = visitor(&server, &acme).await;
    let (mut globex_visitor, globex_token) = visitor(&server, &globex).await;
    let (_, uploaded) = upload(&server, &acme_token, "name=id-card.png", PNG).await;
    let id = uploaded["attachment"]["id"].as_str().unwrap();

    assert_eq!(download(&server, &globex.owner.token, id).await.status(), 404, "another tenant's agent");
    assert_eq!(download(&server, &globex_token, id).await.status(), 404, "another site's visitor");
    let (_neighbour, neighbour_token) = visitor(&server, &acme).await;
    assert_eq!(download(&server, &neighbour_token, id).await.status(), 404, "another visitor of the site");
    let (_, manual) =
        upload(&server, &acme.owner.token, &format!("name=manual.pdf&site={}", acme.site.id), PDF).await;
    let manual = manual["attachment"]["id"].as_str().unwrap();
    assert_eq!(
        download(&server, &neighbour_token, manual).await.status(),
        200,
        "what agents send is for visitors"
    );
    // An agent of Acme who serves only another site of Acme.
    let (status, blog) = server.post("/api/v1/sites", Some(&acme.owner.token), json!({"name": "Blog"})).await;
    assert_eq!(status, 201);
    let bo = server.agent(&acme, "bo", Role::Agent, 3).await;
    let (status, _) = server
        .patch(&format!("/api/v1/agents/{}", bo.id), &acme.owner.token, json!({"sites": [blog["id"]]}))
        .await;
    assert_eq!(status, 200);
    assert_eq!(download(&server, &bo.token, id).await.status(), 404, "an agent of another site");
    let (status, _) = upload(&server, &bo.token, &format!("name=x.pdf&site={}", acme.site.id), PDF).await;
    assert_eq!(status, 404, "nor upload to a site they do not serve");
    assert_eq!(download(&server, &acme.owner.token, id).await.status(), 200);

    // The token names its uploader and site: nobody else can send the file.
    let stolen = json!({"type": "send", "cid": "s1", "body": "", "attachment": uploaded["attachment_token"]});
    globex_visitor.send_json(stolen.clone()).await;
    let refused = globex_visitor.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(
        matches!(refused, ServerFrame::Error { code: ErrorCode::BadFrame, cid: Some(c), .. } if c.as_str() == "s1")
    );
    let (mut other_visitor, _) = visitor(&server, &acme).await;
    other_visitor.send_json(stolen).await;
    let refused = other_visitor.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::BadFrame, .. }));
    acme_visitor
        .send_json(json!({"type": "send", "cid": "t1", "body": "", "attachment": "v1.forged.token"}))
        .await;
    let refused = acme_visitor.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::BadFrame, .. }));
}

#[tokio::test]
async fn a_full_disk_refuses_the_upload_keeps_nothing_and_the_chat_goes_on() {
    // A 64 KiB file system for the data directory: needs root to mount; otherwise say so.
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("a full disk: skipped (mounting a small tmpfs needs root)");
        return;
    }
    let path = dir.path().to_owned();
    let server = TestServer::start_with(move |config| config.data_dir = path.clone()).await;
    let acme = server.tenant("Acme").await;
    let (mut socket, token) = visitor(&server, &acme).await;
    let big = [b"%PDF-1.7\n".as_slice(), &vec![b'x'; 100 * 1024]].concat();
    let (status, body) = upload(&server, &token, "name=scan.pdf", &big).await;
    assert_eq!((status, body["error"]["code"].as_str()), (507, Some("storage_full")), "{body}");
    assert!(walk(dir.path()).is_empty(), "no half-written file is left: {:?}", walk(dir.path()));
    let (status, _) = upload(&server, &token, "name=small.pdf", PDF).await;
    assert_eq!(status, 201, "a file that fits still goes");
    socket.send_json(json!({"type": "send", "cid": "m1", "body": "still here"})).await;
    socket.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    drop(server);
    let _ = std::process::Command::new("umount").arg(dir.path()).status();
}

/// Every file under `dir`.
fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}
