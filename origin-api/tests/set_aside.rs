//! A write the database refuses for good is set aside — kept on disk, replaced by a stand-in of
//! the same place — and does not block the writes behind it, of its room or any other. A database
//! that cannot write for now (its disk is full) is waited for, and loses nothing.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chat_core::limits::STORE_STALL_MS;
use chat_core::protocol::{ErrorCode, ServerFrame};
use common::{Raw, TestDb, TestServer};
use origin_api::live::set_aside::STAND_IN_BODY;
use serde_json::json;

/// Makes the database refuse, every time, any message whose body mentions "poison".
async fn poison(db: &TestDb) {
    use sqlx::{Connection, Executor};
    if db.name == "sqlite" {
        let mut conn = sqlx::SqliteConnection::connect(&db.url).await.unwrap();
        conn.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON messages WHEN NEW.body LIKE '%poison%'
             BEGIN SELECT RAISE(ABORT, 'poisoned'); END",
        )
        .await
        .unwrap();
    } else {
        let mut conn = sqlx::MySqlConnection::connect(&db.url).await.unwrap();
        conn.execute(
            "CREATE TRIGGER poison BEFORE INSERT ON messages FOR EACH ROW
             BEGIN IF NEW.body LIKE '%poison%' THEN SIGNAL SQLSTATE '45000' SET MESSAGE_TEXT = 'poisoned'; END IF; END",
        )
        .await
        .unwrap();
    }
}

async fn a_refused_message_is_set_aside_and_the_rest_flows_on(db: TestDb) {
    let mut server = TestServer::start_on(db).await;
    poison(server.db()).await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let (mut visitor, _) = Raw::visitor_as(&server, &acme, None).await;
    let (mut elsewhere, _) = Raw::visitor_as(&server, &globex, None).await;
    for (cid, body) in [("1", "hello"), ("2", "a poison pill"), ("3", "still there?")] {
        visitor.send_json(json!({"type": "send", "cid": cid, "body": body})).await;
    }
    elsewhere.send_json(json!({"type": "send", "cid": "g1", "body": "another site, meanwhile"})).await;
    // Every send is acknowledged: the refused one is kept on the server's disk.
    let mut acked = Vec::new();
    while acked.len() < 3 {
        if let ServerFrame::Ack { cid, seq, conversation } =
            visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await
        {
            acked.push((cid.0, seq, conversation));
        }
    }
    elsewhere.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    let conversation = acked[0].2.clone();
    let history = server.history(&acme.owner.token, conversation.as_str()).await;
    let bodies: Vec<_> = history
        .iter()
        .filter(|m| m["sender"]["party"] == "visitor")
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert_eq!(bodies, ["hello", STAND_IN_BODY, "still there?"], "in order, its place kept");
    let seqs: Vec<_> = history.iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "no gap");
    let kept = std::fs::read_to_string(server.data_dir.path().join("set-aside.jsonl")).unwrap();
    assert_eq!(kept.lines().count(), 1, "{kept}");
    let line: serde_json::Value = serde_json::from_str(kept.lines().next().unwrap()).unwrap();
    assert_eq!((line["type"].as_str(), line["body"].as_str()), (Some("message"), Some("a poison pill")));
    assert!(line["error"].as_str().unwrap().contains("poisoned"), "{line}");
    server.stop().await;
}

on_sqlite_and_mariadb!(a_refused_message_is_set_aside_and_the_rest_flows_on);

/// A full disk is the database being away, not a refusal: nothing is acknowledged while it is
/// full, sends are turned away `unavailable` once the room's writes have waited too long, nothing
/// is set aside, and everything is stored once there is room again.
#[tokio::test]
async fn a_full_disk_holds_the_messages_until_there_is_room_again() {
    let dir = tempfile::tempdir().unwrap();
    let mounted = std::process::Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"])
        .arg(dir.path())
        .status()
        .is_ok_and(|status| status.success());
    if !mounted {
        eprintln!("a full disk: skipped (mounting a small tmpfs needs root)");
        return;
    }
    let _unmount = Unmount(dir.path().to_owned());
    let url = format!("sqlite:{}", dir.path().join("kefu.db").display());
    let data = dir.path().join("data");
    let mut server =
        TestServer::start_on_with(TestDb::at(&url), move |config| config.data_dir = data.clone()).await;
    let acme = server.tenant("Acme").await;
    let (mut visitor, _) = Raw::visitor_as(&server, &acme, None).await;
    visitor.send_json(json!({"type": "send", "cid": "before", "body": "before the disk filled"})).await;
    visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;

    // Fill the disk to the last byte.
    let filler = dir.path().join("filler");
    {
        use std::io::Write;
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        let _ = file.write_all(&[0u8; 512]);
    }
    const HELD: usize = 12;
    let body = "x".repeat(3_000);
    for n in 0..HELD {
        visitor
            .send_json(json!({"type": "send", "cid": format!("full-{n}"), "body": format!("{n} {body}")}))
            .await;
    }
    let early = visitor.frames_for(Duration::from_millis(STORE_STALL_MS + 500)).await;
    assert!(!early.iter().any(|f| matches!(f, ServerFrame::Ack { .. })), "acknowledged unstored: {early:?}");
    visitor.send_json(json!({"type": "send", "cid": "late", "body": "sent while the disk is full"})).await;
    let refused = visitor.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(
        matches!(&refused, ServerFrame::Error { code: ErrorCode::Unavailable, cid: Some(c), .. } if c.0 == "late"),
        "{refused:?}"
    );

    std::fs::remove_file(&filler).unwrap();
    let mut acked = 0;
    while acked < HELD {
        visitor.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
        acked += 1;
    }
    // The client sends what was turned away again, and now it is taken.
    visitor.send_json(json!({"type": "send", "cid": "late", "body": "sent while the disk is full"})).await;
    visitor.expect(|f| matches!(f, ServerFrame::Ack { cid, .. } if cid.0 == "late")).await;
    assert!(!server.data_dir.path().join("set-aside.jsonl").exists());
    assert!(!dir.path().join("data/set-aside.jsonl").exists(), "a full disk sets nothing aside");
    let (_, list) = server.get("/api/v1/conversations", Some(&acme.owner.token)).await;
    let id = list["items"][0]["id"].as_str().unwrap().to_owned();
    let texts = server
        .history(&acme.owner.token, &id)
        .await
        .iter()
        .filter(|m| m["sender"]["party"] == "visitor")
        .count();
    assert_eq!(texts, HELD + 2, "every message stored");
    server.stop().await;
}

/// Unmounts the small disk when the test ends, passing or failing.
struct Unmount(std::path::PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg("-l").arg(&self.0).status();
    }
}
