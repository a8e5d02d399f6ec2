//! What the person running Kefu uses: `/metrics` for their scraper, `kefu backup` while serving,
//! and log lines a collector can read.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::HashMap;
use std::time::Duration;

use chat_core::limits::MAX_MESSAGE_CHARS;
use chat_core::protocol::ServerFrame;
use common::{KEFU, Raw, TestDb, TestServer, kefu};
use origin_api::store::MessageRange;
use serde_json::json;

/// The samples of a metrics page, by name with labels.
fn samples(page: &str) -> HashMap<String, f64> {
    page.lines()
        .filter(|line| !line.starts_with('#') && !line.is_empty())
        .map(|line| {
            let (name, value) = line.rsplit_once(' ').unwrap();
            (name.to_owned(), value.parse().unwrap())
        })
        .collect()
}

async fn metrics(server: &TestServer, from: Option<&str>, token: Option<&str>) -> (u16, String) {
    let mut request = server.http.get(server.url("/metrics"));
    if let Some(address) = from {
        request = request.header("x-forwarded-for", address);
    }
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    if status == 200 {
        assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    }
    (status, response.text().await.unwrap())
}

#[tokio::test]
async fn the_metrics_count_sockets_rooms_messages_commits_and_refusals() {
    let mut server =
        TestServer::start_with(|config| config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()]).await;
    let acme = server.tenant("Acme").await;
    let _agent = Raw::agent(&server, &acme.owner).await;
    let mut visitor = Raw::visitor(&server, &acme).await;
    for i in 0..3 {
        visitor
            .send_json(json!({"type": "send", "cid": format!("m{i}"), "body": format!("question {i}")}))
            .await;
        visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    }
    let long = "x".repeat(MAX_MESSAGE_CHARS + 1);
    visitor.send_json(json!({"type": "send", "cid": "long", "body": long})).await;
    visitor.expect(|f| matches!(f, ServerFrame::Error { .. })).await;

    let (status, page) = metrics(&server, None, None).await;
    assert_eq!(status, 200, "{page}");
    let values = samples(&page);
    let (_, list) = server.get("/api/v1/conversations", Some(&acme.owner.token)).await;
    let conversation = list["items"][0]["id"].as_str().unwrap().to_owned();
    let stored = server.history(&acme.owner.token, &conversation).await.len() as f64;
    assert_eq!(values["kefu_messages_stored_total"], stored, "every stored message, the join event too");
    assert_eq!(values["kefu_sockets"], 2.0);
    assert_eq!(values["kefu_rooms"], 1.0);
    assert_eq!(values["kefu_writer_queue"], 0.0);
    assert_eq!(values["kefu_sends_refused_total{reason=\"message_too_long\"}"], 1.0, "{page}");
    let commits = values["kefu_commit_seconds_count"];
    assert!(commits >= 1.0 && values["kefu_commit_seconds_bucket{le=\"+Inf\"}"] == commits, "{page}");
    assert!(values["kefu_writes_stored_total"] >= stored);
    assert_eq!(values["kefu_database_errors_total"], 0.0);
    assert!(values["process_resident_memory_bytes"] > 1_000_000.0);

    // Only this machine reads them.
    let (status, refusal) = metrics(&server, Some("203.0.113.7"), None).await;
    assert_eq!(status, 403);
    assert!(refusal.contains("metrics_token"), "{refusal}");
    server.stop().await;
}

#[tokio::test]
async fn with_a_metrics_token_a_scraper_elsewhere_reads_them_and_nobody_without_it() {
    let mut server = TestServer::start_with(|config| {
        config.trusted_proxies = vec!["127.0.0.1".parse().unwrap()];
        config.metrics_token = Some("scrape-me-please".into());
    })
    .await;
    let elsewhere = Some("203.0.113.7");
    assert_eq!(metrics(&server, elsewhere, Some("scrape-me-please")).await.0, 200);
    assert_eq!(metrics(&server, elsewhere, Some("scrape-me-pleasf")).await.0, 403);
    assert_eq!(metrics(&server, elsewhere, None).await.0, 403);
    assert_eq!(metrics(&server, None, None).await.0, 403, "with a token, everyone shows it");
    server.stop().await;
}

#[tokio::test]
async fn a_backup_taken_while_visitors_chat_is_a_whole_database() {
    let mut server = TestServer::start_on(TestDb::sqlite()).await;
    let acme = server.tenant("Acme").await;
    let url = server.db().url.clone();
    let dir = tempfile::tempdir().unwrap();
    let backup = dir.path().join("kefu-backup.db");

    // Four visitors keep writing, at the pace a visitor may, while the copy is taken.
    let mut chatting = Vec::new();
    for v in 0..4 {
        let mut visitor = Raw::visitor(&server, &acme).await;
        chatting.push(tokio::spawn(async move {
            for i in 0..30 {
                let send =
                    json!({"type": "send", "cid": format!("v{v}-{i}"), "body": format!("message {i}")});
                visitor.send_json(send).await;
                visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let output = {
        let (url, backup) = (url.clone(), backup.clone());
        let run = move || {
            std::process::Command::new(KEFU)
                .args(["backup", "--database-url", &url, "--output"])
                .arg(&backup)
                .output()
                .unwrap()
        };
        tokio::task::spawn_blocking(run).await.unwrap()
    };
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(String::from_utf8_lossy(&output.stdout).starts_with("wrote "));
    for task in chatting {
        task.await.unwrap();
    }

    // The copy opens as a database of its own: the tenant, and conversations without holes.
    let copy = origin_api::store::open(&format!("sqlite:{}", backup.display())).await.unwrap();
    assert!(copy.list_tenants().await.unwrap().iter().any(|t| t.id == acme.id));
    let conversations = copy.list_conversations(&acme.id, &Default::default()).await.unwrap();
    assert!(!conversations.is_empty(), "the chats had begun");
    for summary in &conversations {
        let conversation = &summary.conversation;
        let range = MessageRange {
            conversation: conversation.id.clone(),
            after_seq: 0,
            through_seq: conversation.last_seq,
            limit: 500,
            include_notes: true,
        };
        let seqs: Vec<u64> = copy.messages(&acme.id, &range).await.unwrap().iter().map(|m| m.seq).collect();
        assert_eq!(seqs, (1..=conversation.last_seq).collect::<Vec<_>>(), "a whole prefix, no holes");
        assert!(seqs.len() < 30, "taken mid-conversation: {}", seqs.len());
    }
    copy.close().await;

    // An existing file is not overwritten; other databases are named with their own tools.
    let again = kefu(dir.path(), &["backup", "--database-url", &url, "--output", "kefu-backup.db"], "");
    assert!(!again.status.success());
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already"));
    let mysql = kefu(
        dir.path(),
        &["backup", "--database-url", "mysql://root@127.0.0.1/kefu", "--output", "x.db"],
        "",
    );
    assert!(String::from_utf8_lossy(&mysql.stderr).contains("mysqldump"), "{mysql:?}");
    server.stop().await;
}

#[test]
fn json_logs_are_one_object_per_line() {
    use std::io::BufRead;
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(KEFU)
        .args(["--log-format", "json", "serve", "--listen", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env("RUST_LOG", "info")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(child.stderr.take().unwrap()).read_line(&mut first).unwrap();
    let _ = child.kill();
    let _ = child.wait();
    let line: serde_json::Value =
        serde_json::from_str(&first).unwrap_or_else(|_| panic!("not JSON: {first}"));
    assert_eq!((line["level"].as_str(), line["message"].as_str()), (Some("INFO"), Some("serving")), "{line}");
    assert!(line["address"].as_str().unwrap().starts_with("127.0.0.1:"), "{line}");
    assert!(line["timestamp"].is_string(), "{line}");
}
