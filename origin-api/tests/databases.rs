//! Choosing and moving databases: start-up refusals in one sentence, a database that goes away
//! while the server runs, and a tenant moved from SQLite to MariaDB with `kefu export` and
//! `kefu import`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{SocketAddr, ToSocketAddrs};
use std::path::Path;
use std::time::Duration;

use chat_client::Outgoing;
use chat_core::ids::{Millis, SiteId, TenantId};
use chat_core::protocol::{MessageKind, Role, ServerFrame};
use common::{
    PASSWORD, Proxy, ProxyMode, Raw, Read, TestDb, TestServer, expect, frames_for, kefu, mysql_server_url,
    stdout,
};
use origin_api::store::{self, NewAgent, NewLeaveMessage, NewQuickReply};
use serde_json::{Value, json};
use sqlx::{Connection, Executor, Row};

/// Runs `kefu serve` on `url` in `dir`, expecting it to refuse: returns the one line it printed.
fn refused(dir: &Path, url: &str) -> String {
    let output = kefu(dir, &["serve", "--listen", "127.0.0.1:0", "--database-url", url], "");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(!output.status.success(), "kefu served on {url}: {stderr}");
    let lines: Vec<_> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, not: {stderr}");
    assert!(lines[0].starts_with("kefu: "), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password was printed: {stderr}");
    lines[0].to_owned()
}

/// `host:port` of the MariaDB server the tests use.
fn mysql_host() -> String {
    let server = mysql_server_url();
    let rest = server.split_once("://").unwrap().1;
    let place = rest.rsplit_once('@').map_or(rest, |(_, place)| place);
    place.split('/').next().unwrap().to_owned()
}

#[tokio::test]
async fn start_up_refuses_a_database_it_cannot_use_in_one_sentence_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let host = mysql_host();
    let cases = [
        (
            "postgres://kefu:hunter2@db/kefu".to_owned(),
            "database URLs starting with \"postgres\" are not supported",
        ),
        (
            "mysql://root:hunter2@127.0.0.1:1/kefu".to_owned(),
            "cannot reach the database at mysql://127.0.0.1:1/kefu",
        ),
        (format!("mysql://nobody:hunter2@{host}/test"), "the user name or password is wrong"),
        (
            format!("mysql://root@{host}/kefu_no_such_database"),
            "kefu_no_such_database does not exist; create it first",
        ),
        ("sqlite:/proc/kefu/kefu.db".to_owned(), "cannot create the folder /proc/kefu"),
    ];
    for (url, expected) in cases {
        let said = refused(dir.path(), &url);
        assert!(said.contains(expected), "{url}: {said}");
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "nothing was created");
}

/// A migration this binary does not know, as a newer kefu would have left it.
const NEWER: &str = "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time)
                     VALUES (999, 'from a newer kefu', 1, X'00', 0)";

async fn newer_schema_is_refused(url: &str, dir: &Path) {
    stdout(&kefu(dir, &["migrate", "--database-url", url], ""));
    let mut conn = sqlx::AnyConnection::connect(url).await.unwrap();
    conn.execute(NEWER).await.unwrap();
    let count =
        "SELECT (SELECT COUNT(*) FROM _sqlx_migrations) AS steps, (SELECT COUNT(*) FROM tenants) AS tenants";
    let before = conn.fetch_one(count).await.unwrap();
    let said = refused(dir, url);
    assert!(said.contains("has schema version 999, newer than this kefu knows"), "{said}");
    let migrate = kefu(dir, &["migrate", "--database-url", url], "");
    assert!(!migrate.status.success(), "kefu migrate must refuse too");
    // No migration ran, and the server that refused created no demo tenant.
    let after = conn.fetch_one(count).await.unwrap();
    assert_eq!(after.get::<i64, _>("steps"), before.get::<i64, _>("steps"));
    assert_eq!(after.get::<i64, _>("tenants"), 0);
}

#[tokio::test]
async fn a_database_with_a_newer_schema_is_refused_on_sqlite_and_mariadb() {
    sqlx::any::install_default_drivers();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = TestDb::sqlite();
    newer_schema_is_refused(&sqlite.url, dir.path()).await;
    let mariadb = TestDb::mariadb().await;
    newer_schema_is_refused(&mariadb.url, dir.path()).await;
}

/// The MariaDB server's address, for a proxy in front of it.
fn mysql_addr() -> SocketAddr {
    mysql_host().to_socket_addrs().unwrap().next().unwrap()
}

fn text_sent(frame: &ServerFrame) -> Option<String> {
    match frame {
        ServerFrame::Message(m) if m.kind == MessageKind::Text => Some(m.body.clone()),
        _ => None,
    }
}

#[tokio::test]
async fn when_the_database_goes_away_nothing_is_acknowledged_until_it_is_back_and_nothing_is_lost() {
    let mut db = TestDb::mariadb().await;
    let proxy = Proxy::start(mysql_addr()).await;
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    db.url = format!("mysql://root@{}/{database}", proxy.addr);
    let mut server = TestServer::start_on(db).await;
    let acme = server.tenant("Acme").await;
    let mut agent = server.ready_agent(&acme.owner).await;
    let mut visitor = server.visitor(&acme, "/");
    expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;
    visitor.send(Outgoing::Visitor { body: "before".into() });
    let ack = expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
    let ServerFrame::Ack { conversation, .. } = ack else { unreachable!() };

    proxy.set(ProxyMode::Cut);
    for n in 1..=5 {
        visitor.send(Outgoing::Visitor { body: format!("during {n}") });
    }
    let (status, body) = server.get("/api/v1/conversations", Some(&acme.owner.token)).await;
    assert_eq!((status, body["error"]["code"].as_str()), (503, Some("unavailable")), "{body}");
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 503);
    let early = frames_for(&mut visitor, Duration::from_secs(1)).await;
    assert!(!early.iter().any(|f| matches!(f, ServerFrame::Ack { .. })), "acknowledged unstored: {early:?}");

    proxy.set(ProxyMode::Pass);
    let mut acked = 0;
    while acked < 5 {
        expect(&mut visitor, "the acks once the database is back", |f| matches!(f, ServerFrame::Ack { .. }))
            .await;
        acked += 1;
    }
    let mut seen = Vec::new();
    while seen.len() < 6 {
        let frame = expect(&mut agent, "the messages", |f| text_sent(f).is_some()).await;
        seen.push(text_sent(&frame).unwrap());
    }
    assert_eq!(seen, ["before", "during 1", "during 2", "during 3", "during 4", "during 5"]);
    let (status, _) = server.get("/healthz", None).await;
    assert_eq!(status, 200);

    server.restart().await;
    let login = server
        .post("/api/v1/auth/login", None, json!({"email": acme.owner.email, "password": PASSWORD}))
        .await;
    let token = login.1["tokens"]["access_token"].as_str().unwrap().to_owned();
    let stored: Vec<_> = server
        .history(&token, conversation.as_str())
        .await
        .iter()
        .filter(|m| m["kind"] == "text")
        .map(|m| m["body"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(stored, seen, "stored once each, in order");
    server.stop().await;
}

/// What an agent sees of their tenant through the API: conversations with every message, quick
/// replies, leave-a-messages, agents and sites.
async fn what_the_agent_sees(server: &TestServer, token: &str) -> Value {
    let (status, listed) = server.get("/api/v1/conversations", Some(token)).await;
    assert_eq!(status, 200, "{listed}");
    let mut conversations = Vec::new();
    for conversation in listed["items"].as_array().unwrap() {
        let id = conversation["id"].as_str().unwrap();
        conversations
            .push(json!({"conversation": conversation, "messages": server.history(token, id).await}));
    }
    let mut seen = json!({ "conversations": conversations });
    for list in ["quick-replies", "leave-messages", "agents", "sites"] {
        let (status, items) = server.get(&format!("/api/v1/{list}"), Some(token)).await;
        assert_eq!(status, 200, "{items}");
        seen[list] = items;
    }
    seen
}

async fn login(server: &TestServer, email: &str) -> String {
    let (status, body) =
        server.post("/api/v1/auth/login", None, json!({"email": email, "password": PASSWORD})).await;
    assert_eq!(status, 200, "{body}");
    body["tokens"]["access_token"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_tenant_moves_from_sqlite_to_mariadb_and_its_agents_see_the_same_history() {
    let mut old = TestServer::start().await;
    let acme = old.tenant("Acme").await;
    let globex = old.tenant("Globex").await;
    let reply = NewQuickReply { agent: None, title: "hours".into(), body: "We answer 9–17 客服".into() };
    old.store().create_quick_reply(&acme.id, reply, Millis(5)).await.unwrap();
    let left = NewLeaveMessage {
        site: acme.site.id.clone(),
        visitor: None,
        name: "Zoë".into(),
        email: "zoe@example.com".into(),
        body: "Call me back".into(),
        page_url: "/contact".into(),
    };
    old.store().create_leave_message(&acme.id, left, Millis(6)).await.unwrap();
    let mut agent = old.ready_agent(&acme.owner).await;
    for visit in 0..2 {
        let mut visitor = old.visitor(&acme, &format!("/page-{visit}"));
        expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;
        for n in 0..3 {
            visitor.send(Outgoing::Visitor { body: format!("visit {visit} question {n} 👋") });
            expect(&mut visitor, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
        }
        let arrived = expect(&mut agent, "the question", |f| text_sent(f).is_some()).await;
        let ServerFrame::Message(message) = arrived else { unreachable!() };
        agent.send(Outgoing::Agent {
            site: acme.site.id.clone(),
            conversation: message.conversation.clone(),
            body: format!("answer to visit {visit}"),
            note: visit == 1,
        });
        expect(&mut agent, "the answer stored", |f| matches!(f, ServerFrame::Ack { .. })).await;
    }
    // The site verifies identities, and a visitor sent a file: both move with the tenant.
    let secret = format!("/api/v1/sites/{}/identity-secret", acme.site.id);
    assert_eq!(old.post(&secret, Some(&acme.owner.token), json!({})).await.0, 201);
    let (mut sender, token) = Raw::visitor_as(&old, &acme, None).await;
    let uploaded: Value = old
        .http
        .post(old.url("/api/v1/files?name=terms.pdf"))
        .bearer_auth(&token)
        .body(b"%PDF-1.7\n%%EOF\n".to_vec())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let file = json!({"type": "send", "cid": "file", "body": "", "attachment": uploaded["attachment_token"]});
    sender.send_json(file).await;
    sender.expect(|f| matches!(f, ServerFrame::Ack { .. })).await;
    let before = what_the_agent_sees(&old, &acme.owner.token).await;
    assert_eq!(before["conversations"].as_array().unwrap().len(), 3);
    assert_eq!(before["sites"][0]["identity_verification"], true);
    old.stop().await;

    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("acme.jsonl");
    let sqlite = old.db().url.clone();
    let args = [
        "export",
        "--tenant",
        acme.id.as_str(),
        "--output",
        export.to_str().unwrap(),
        "--database-url",
        &sqlite,
    ];
    stdout(&kefu(dir.path(), &args, ""));
    let exported = std::fs::read_to_string(&export).unwrap();
    assert!(!exported.contains(globex.id.as_str()), "only the one tenant is exported");

    let mariadb = TestDb::mariadb().await;
    // A damaged file is refused with its line number, and nothing is stored.
    let damaged = dir.path().join("damaged.jsonl");
    let mut lines: Vec<&str> = exported.lines().collect();
    let last = lines.len();
    lines[last - 1] = "{\"type\": \"message\", \"body\": ";
    std::fs::write(&damaged, lines.join("\n")).unwrap();
    let refused =
        kefu(dir.path(), &["import", damaged.to_str().unwrap(), "--database-url", &mariadb.url], "");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(!refused.status.success() && said.contains(&format!("line {last}: not a record")), "{said}");

    let imported =
        stdout(&kefu(dir.path(), &["import", export.to_str().unwrap(), "--database-url", &mariadb.url], ""));
    assert!(imported.contains(&format!("imported the tenant {}", acme.id)), "{imported}");
    let again = kefu(dir.path(), &["import", export.to_str().unwrap(), "--database-url", &mariadb.url], "");
    assert!(
        String::from_utf8_lossy(&again.stderr)
            .contains("already exists in this database; nothing was imported")
    );

    let mut new = TestServer::start_on(mariadb).await;
    let token = login(&new, &acme.owner.email).await;
    assert_eq!(what_the_agent_sees(&new, &token).await, before);
    // The moved agent goes on working there: a new message lands after the moved ones.
    let moved = before["conversations"][0]["conversation"].clone();
    let conversation = moved["id"].as_str().unwrap();
    let mut agent = new.agent_client(&common::Agent { token: token.clone(), ..common::Agent::default() });
    expect(&mut agent, "site state", |f| matches!(f, ServerFrame::SiteState { .. })).await;
    agent.send(Outgoing::Agent {
        site: acme.site.id.clone(),
        conversation: conversation.into(),
        body: "still here".into(),
        note: false,
    });
    let ack = expect(&mut agent, "ack", |f| matches!(f, ServerFrame::Ack { .. })).await;
    let ServerFrame::Ack { seq, .. } = ack else { unreachable!() };
    assert_eq!(seq, moved["last_seq"].as_u64().unwrap() + 1);
    let globex_login = new
        .post("/api/v1/auth/login", None, json!({"email": globex.owner.email, "password": PASSWORD}))
        .await;
    assert_eq!(globex_login.0, 401, "the other tenant was not moved");
    new.stop().await;
}

#[tokio::test]
async fn with_the_database_hung_the_health_check_answers_without_waiting_for_the_pool() {
    let mut db = TestDb::mariadb().await;
    let proxy = Proxy::start(mysql_addr()).await;
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    db.url = format!("mysql://root@{}/{database}", proxy.addr);
    let mut server = TestServer::start_on(db).await;
    assert_eq!(server.get("/healthz", None).await.0, 200);
    // The database takes every request and answers none: a health check must not wait for the
    // connection pool's timeout (5 s) to say so.
    proxy.set(ProxyMode::SwallowReplies);
    let quick = server.http.get(server.url("/healthz")).timeout(Duration::from_secs(3)).send().await;
    assert_eq!(quick.expect("answered while the database hangs").status().as_u16(), 503);
    proxy.set(ProxyMode::Pass);
    let mut back = false;
    for _ in 0..50 {
        if server.get("/healthz", None).await.0 == 200 {
            back = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(back, "healthy again once the database answers");
    server.stop().await;
}

#[tokio::test]
async fn an_agent_who_reads_is_not_dropped_when_a_commit_hands_them_a_thousand_messages_at_once() {
    let mut db = TestDb::mariadb().await;
    let proxy = Proxy::start(mysql_addr()).await;
    let database = db.url.rsplit('/').next().unwrap().to_owned();
    db.url = format!("mysql://root@{}/{database}", proxy.addr);
    let mut server = TestServer::start_on_with(db, |config| {
        config.ip_sends_per_second = 100_000;
        config.ip_send_burst = 100_000;
        config.ip_new_visitors_per_minute = 100_000;
    })
    .await;
    let acme = server.tenant("Acme").await;
    let mut agent = Raw::agent(&server, &acme.owner).await;
    let mut visitors = Vec::new();
    for _ in 0..100 {
        visitors.push(Raw::visitor(&server, &acme).await);
    }
    // The database goes away; 1,200 messages wait, then one commit stores them and the agent is
    // handed them all at once: the server's own burst, which a reading agent takes.
    proxy.set(ProxyMode::Cut);
    for (v, visitor) in visitors.iter_mut().enumerate() {
        for m in 0..12 {
            visitor
                .send_json(
                    json!({"type": "send", "cid": format!("{v}-{m}"), "body": format!("message {v}-{m}")}),
                )
                .await;
        }
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    proxy.set(ProxyMode::Pass);
    let mut received = 0;
    while received < 1_200 {
        match agent.read().await {
            Read::Frame(ServerFrame::Message(m)) if m.body.starts_with("message ") => received += 1,
            Read::Frame(_) => {}
            Read::Closed(code) => panic!("the agent was dropped ({code:?}) after {received} messages"),
        }
    }
    server.stop().await;
}

#[tokio::test]
async fn an_older_sqlite_database_keeps_its_agents_and_their_sessions_when_emails_become_per_tenant() {
    // A database the migrations before 0009 made (an email unique across tenants), with an agent
    // of a tenant, a site they serve and a session of theirs.
    let dir = tempfile::tempdir().unwrap();
    let older = dir.path().join("migrations");
    std::fs::create_dir(&older).unwrap();
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/migrations/sqlite")).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().into_string().unwrap();
        if name.as_str() < "0009" {
            std::fs::copy(entry.path(), older.join(&name)).unwrap();
        }
    }
    let url = format!("sqlite:{}?mode=rwc", dir.path().join("kefu.db").display());
    let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
    sqlx::migrate::Migrator::new(older.as_path()).await.unwrap().run(&pool).await.unwrap();
    for statement in [
        "INSERT INTO tenants (id, name, created_at) VALUES ('t_1', 'Acme', 1)",
        "INSERT INTO sites (id, tenant_id, site_key, name, allowed_origins, greeting, auto_assign, created_at) \
         VALUES ('s_1', 't_1', 'k_1', 'Shop', '[]', 'Hi', 1, 1)",
        "INSERT INTO agents (id, tenant_id, email, name, role, capacity, all_sites, password_hash, disabled, \
         created_at, token_generation) VALUES ('a_1', 't_1', 'ana@acme.example', 'Ana', 'owner', 5, 0, 'hash', 0, 1, 3)",
        "INSERT INTO agent_sites (agent_id, site_id) VALUES ('a_1', 's_1')",
        "INSERT INTO refresh_tokens (token_hash, tenant_id, agent_id, expires_at) VALUES ('r_1', 't_1', 'a_1', 9)",
    ] {
        sqlx::query(statement).execute(&pool).await.unwrap();
    }
    pool.close().await;

    // This kefu opens it: everything is still there, and still tied together.
    let store = store::open(&url).await.unwrap();
    let found = store.agents_by_email("ana@acme.example").await.unwrap();
    assert_eq!(found.len(), 1);
    let (ana, hash) = &found[0];
    assert_eq!(
        (ana.id.as_str(), ana.name.as_str(), hash.as_str(), ana.token_generation),
        ("a_1", "Ana", "hash", 3)
    );
    assert_eq!(ana.sites, [SiteId::from("s_1")]);
    let tenant = TenantId::from("t_1");
    // Another tenant may now have an agent with the same email.
    let globex = store.create_tenant("Globex", Millis(2)).await.unwrap();
    let same = NewAgent {
        email: "ana@acme.example".into(),
        name: "Ana G".into(),
        role: Role::Agent,
        capacity: 5,
        all_sites: true,
        sites: Vec::new(),
        password_hash: "another hash".into(),
    };
    store.create_agent(&globex.id, same.clone(), Millis(3)).await.unwrap();
    assert!(store.create_agent(&tenant, same, Millis(4)).await.is_err(), "but not the same tenant twice");
    // Deleting the agent still takes their session with them: the foreign keys survived.
    assert!(store.delete_agent(&tenant, &ana.id).await.unwrap());
    assert!(store.take_refresh_token("r_1").await.unwrap().is_none());
    store.close().await;
}
