//! When an agent's sessions end — a new password, a new role, "log out everywhere", a reset from
//! the command line while the server runs — every access token issued before is refused at once,
//! on REST and at the hello, and their sockets close. A socket lives as long as its token, and
//! longer only with a fresh one sent over it.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use chat_core::protocol::{ErrorCode, Role, ServerFrame, close};
use common::{Agent, PASSWORD, Raw, Read, TestServer, kefu, stdout};
use serde_json::{Value, json};

/// The agent's token is refused on REST and at the hello, and their open socket closed 4001.
async fn ended(server: &TestServer, agent: &Agent, socket: &mut Raw) {
    assert_eq!(socket.closed().await, Some(close::UNAUTHORIZED), "the open socket closes");
    let (status, body) = server.get("/api/v1/me", Some(&agent.token)).await;
    assert_eq!(status, 401, "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("log in again"), "{body}");
    let mut again = Raw::connect(&server.ws("/ws/agent")).await;
    again.send_json(json!({"type": "agent_hello", "v": 1, "access_token": agent.token})).await;
    let refused = again.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::Unauthorized, .. }), "{refused:?}");
    assert_eq!(again.closed().await, Some(close::UNAUTHORIZED));
}

async fn login(server: &TestServer, email: &str, password: &str) -> Value {
    let (status, body) =
        server.post("/api/v1/auth/login", None, json!({"email": email, "password": password})).await;
    assert_eq!(status, 200, "{body}");
    body
}

#[tokio::test]
async fn a_new_password_a_new_role_or_logging_out_everywhere_refuses_every_older_token() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let ana = server.agent(&acme, "ana", Role::Agent, 5).await;

    // An owner sets Ana a new password.
    let mut socket = Raw::agent(&server, &ana).await;
    let path = format!("/api/v1/agents/{}/password", ana.id);
    assert_eq!(
        server.post(&path, Some(&acme.owner.token), json!({"password": "a brand new one"})).await.0,
        204
    );
    ended(&server, &ana, &mut socket).await;

    // She logs in again, and is made an admin: the token she had is over.
    let token = login(&server, &ana.email, "a brand new one").await["tokens"]["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let ana = Agent { token, ..ana };
    let mut socket = Raw::agent(&server, &ana).await;
    let promote = server
        .patch(&format!("/api/v1/agents/{}", ana.id), &acme.owner.token, json!({"role": "admin"}))
        .await;
    assert_eq!(promote.0, 200);
    ended(&server, &ana, &mut socket).await;

    // She logs out everywhere: her own current token too, and her refresh token.
    let pair = login(&server, &ana.email, "a brand new one").await;
    let ana = Agent { token: pair["tokens"]["access_token"].as_str().unwrap().to_owned(), ..ana };
    let mut socket = Raw::agent(&server, &ana).await;
    assert_eq!(server.post("/api/v1/auth/logout-everywhere", Some(&ana.token), json!({})).await.0, 204);
    ended(&server, &ana, &mut socket).await;
    let refresh = json!({"refresh_token": pair["tokens"]["refresh_token"]});
    assert_eq!(server.post("/api/v1/auth/refresh", None, refresh).await.0, 401);

    // Changing their own password keeps the agent in, with the new pair only.
    let owner = &acme.owner;
    let change = json!({"current_password": PASSWORD, "new_password": "the owner's new one"});
    let (status, pair) = server.post("/api/v1/me/password", Some(&owner.token), change).await;
    assert_eq!(status, 200, "{pair}");
    assert_eq!(server.get("/api/v1/me", Some(&owner.token)).await.0, 401, "the old token");
    assert_eq!(server.get("/api/v1/me", Some(pair["access_token"].as_str().unwrap())).await.0, 200);
    // A name changes nothing of the sessions.
    let bo = server.agent(&acme, "bo", Role::Agent, 5).await;
    let (status, _) = server
        .patch(
            &format!("/api/v1/agents/{}", bo.id),
            pair["access_token"].as_str().unwrap(),
            json!({"name": "Bo B."}),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(server.get("/api/v1/me", Some(&bo.token)).await.0, 200);
}

#[tokio::test]
async fn a_reset_from_the_command_line_ends_the_sessions_of_a_running_server() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let mut socket = Raw::agent(&server, &acme.owner).await;
    let dir = tempfile::tempdir().unwrap();
    let reset = ["agent", "reset-password", "--email", &acme.owner.email, "--database-url", &server.db().url];
    stdout(&kefu(dir.path(), &reset, "reset from the shell\n"));
    // Another process changed the records: the server notices within its check interval.
    let closed = tokio::time::timeout(Duration::from_secs(8), socket.closed()).await.expect("closed in time");
    assert_eq!(closed, Some(close::UNAUTHORIZED));
    assert_eq!(server.get("/api/v1/me", Some(&acme.owner.token)).await.0, 401);
    login(&server, &acme.owner.email, "reset from the shell").await;
}

#[tokio::test]
async fn a_socket_lasts_as_long_as_its_token_unless_a_fresh_one_is_sent_over_it() {
    let server = TestServer::start_with(|config| config.access_token_ttl = Duration::from_secs(2)).await;
    let acme = server.tenant("Acme").await;
    let pair = login(&server, &acme.owner.email, PASSWORD).await;
    let token = pair["tokens"]["access_token"].as_str().unwrap().to_owned();
    let owner = Agent { token, ..acme.owner.clone() };
    let mut kept = Raw::agent(&server, &owner).await;
    let mut lapsed = Raw::agent(&server, &owner).await;

    // Another agent's token, or garbage, is refused and changes nothing.
    let bo = server.agent(&acme, "bo", Role::Agent, 5).await;
    kept.send_json(json!({"type": "refresh", "access_token": bo.token})).await;
    let refused = kept.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(refused, ServerFrame::Error { code: ErrorCode::Unauthorized, .. }), "{refused:?}");
    // A fresh token from /auth/refresh, sent before the first expires.
    let (status, fresh) = server
        .post("/api/v1/auth/refresh", None, json!({"refresh_token": pair["tokens"]["refresh_token"]}))
        .await;
    assert_eq!(status, 200, "{fresh}");
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    kept.send_json(json!({"type": "refresh", "access_token": fresh["access_token"]})).await;
    kept.expect(|f| matches!(f, ServerFrame::Refreshed { .. })).await;

    // The socket without a fresh token is told and closed when its token expires.
    let expired = lapsed.expect(|f| matches!(f, ServerFrame::Error { .. })).await;
    assert!(matches!(expired, ServerFrame::Error { code: ErrorCode::TokenExpired, .. }), "{expired:?}");
    assert_eq!(lapsed.closed().await, Some(close::UNAUTHORIZED));
    // The refreshed one is still there past the first token's end.
    kept.send_json(json!({"type": "ping", "t": 7})).await;
    assert!(matches!(kept.read().await, Read::Frame(ServerFrame::Pong { t: Some(7) })));
}

#[tokio::test]
async fn an_email_may_have_an_account_in_two_tenants_and_neither_tenant_learns_of_the_other() {
    let server = TestServer::start().await;
    let acme = server.tenant("Acme").await;
    let globex = server.tenant("Globex").await;
    let create = |password: &str| json!({"email": "Sam@Shared.example", "name": "Sam", "password": password});
    // Globex hiring someone Acme employs is nothing Acme's answer tells.
    let (status, at_acme) =
        server.post("/api/v1/agents", Some(&acme.owner.token), create("acme password")).await;
    assert_eq!(status, 201, "{at_acme}");
    let (status, at_globex) =
        server.post("/api/v1/agents", Some(&globex.owner.token), create("globex password")).await;
    assert_eq!(status, 201, "{at_globex}");
    // Within one tenant the email is still one agent's.
    let (status, again) = server.post("/api/v1/agents", Some(&acme.owner.token), create("another one")).await;
    assert_eq!((status, again["error"]["code"].as_str()), (409, Some("conflict")), "{again}");

    // Each password opens its own account.
    let acme_login = login(&server, "sam@shared.example", "acme password").await;
    assert_eq!(acme_login["agent"]["id"], at_acme["id"]);
    assert_eq!(acme_login["agent"]["tenant"], acme.id.as_str());
    let globex_login = login(&server, "sam@shared.example", "globex password").await;
    assert_eq!(globex_login["agent"]["id"], at_globex["id"]);
    let wrong = json!({"email": "sam@shared.example", "password": "neither"});
    assert_eq!(server.post("/api/v1/auth/login", None, wrong).await.0, 401);

    // One password for both: the login is asked which organisation, and then opens that one.
    let path = format!("/api/v1/agents/{}/password", at_globex["id"].as_str().unwrap());
    let same = json!({"password": "acme password"});
    assert_eq!(server.post(&path, Some(&globex.owner.token), same).await.0, 204);
    let both = json!({"email": "sam@shared.example", "password": "acme password"});
    let (status, asked) = server.post("/api/v1/auth/login", None, both).await;
    assert_eq!((status, asked["error"]["code"].as_str()), (409, Some("choose_tenant")), "{asked}");
    let mut named: Vec<(&str, &str)> = asked["error"]["tenants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| (t["id"].as_str().unwrap(), t["name"].as_str().unwrap()))
        .collect();
    named.sort_by_key(|(_, name)| *name);
    assert_eq!(named, [(acme.id.as_str(), "Acme"), (globex.id.as_str(), "Globex")]);
    let chosen =
        json!({"email": "sam@shared.example", "password": "acme password", "tenant": globex.id.as_str()});
    let (status, opened) = server.post("/api/v1/auth/login", None, chosen).await;
    assert_eq!((status, &opened["agent"]["id"]), (200, &at_globex["id"]), "{opened}");
    // Naming a tenant where the password opens nothing is a wrong password, as any other.
    let elsewhere =
        json!({"email": "sam@shared.example", "password": "globex password", "tenant": acme.id.as_str()});
    assert_eq!(server.post("/api/v1/auth/login", None, elsewhere).await.0, 401);

    // The command line asks which tenant too.
    let dir = tempfile::tempdir().unwrap();
    let url = server.db().url.clone();
    let reset = ["agent", "reset-password", "--email", "sam@shared.example", "--database-url", &url];
    let ambiguous = kefu(dir.path(), &reset, "not this one\n");
    let said = String::from_utf8_lossy(&ambiguous.stderr);
    assert!(
        !ambiguous.status.success() && said.contains("--tenant") && said.contains(acme.id.as_str()),
        "{said}"
    );
    stdout(&kefu(
        dir.path(),
        &[&reset[..], &["--tenant", acme.id.as_str()]].concat(),
        "reset for acme only\n",
    ));
    let reset_login = login(&server, "sam@shared.example", "reset for acme only").await;
    assert_eq!(reset_login["agent"]["id"], at_acme["id"]);
}
