//! A cluster of three `kefu serve` nodes on one MariaDB database, on loopback, as its operator
//! runs it: each site's room on one node, sockets that reach another node sent there, a site
//! moved mid-conversation, a node killed with SIGKILL mid-burst, a node drained. Each burst counts
//! what the visitor sent, what was acknowledged and what is stored: nothing lost, nothing doubled,
//! the order kept.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_client::{Client, Event, Options, Outgoing};
use chat_core::ids::{ConversationId, Millis, SiteId};
use chat_core::protocol::{MessageKind, PageInfo, ServerFrame};
use chat_core::routes::key_digest;
use common::{KEFU, PASSWORD, TestDb, expect, kefu, options, stdout};
use origin_api::store::{self, Store};
use serde_json::{Value, json};

/// Short leases, so a killed node's sites move within seconds.
const LEASE_SECS: &str = "3";

/// One `kefu serve` node.
struct Node {
    name: String,
    port: u16,
    child: Option<Child>,
    _dir: tempfile::TempDir,
}

impl Node {
    async fn start(database: &str, name: &str) -> Node {
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = tempfile::tempdir().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let child = Command::new(KEFU)
            .args([
                "serve",
                "--listen",
                &format!("127.0.0.1:{port}"),
                "--node-url",
                &url,
                "--node-name",
                name,
            ])
            .args(["--lease-secs", LEASE_SECS, "--data-dir", dir.path().to_str().unwrap()])
            .env("KEFU_DATABASE_URL", database)
            // Logins come from 127.0.0.1 for every test agent.
            .env("KEFU_TRUSTED_PROXIES", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let node = Node { name: name.to_owned(), port, child: Some(child), _dir: dir };
        let deadline = Instant::now() + Duration::from_secs(30);
        while !reqwest::get(format!("{}/healthz", node.http())).await.is_ok_and(|r| r.status().is_success()) {
            assert!(Instant::now() < deadline, "{name} did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        node
    }

    fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn ws(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// SIGKILL: no goodbye, no last commit, leases left to lapse.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().unwrap();
            child.wait().unwrap();
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Dropped in this order: the nodes stop before their database goes.
struct Cluster {
    nodes: Vec<Node>,
    store: Arc<dyn Store>,
    db: TestDb,
    work: tempfile::TempDir,
    site: SiteId,
    site_key: String,
    token: String,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

/// One cluster at a time: three nodes each are enough for two cores.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl Cluster {
    /// Three nodes, a tenant with one site, and its owner logged in.
    async fn start() -> Cluster {
        let turn = ONE_AT_A_TIME.lock().await;
        let db = TestDb::mariadb().await;
        let work = tempfile::tempdir().unwrap();
        let admin = |args: &[&str], input: &str| {
            let mut all = args.to_vec();
            all.extend(["--database-url", &db.url]);
            stdout(&kefu(work.path(), &all, input))
        };
        let tenant = admin(&["tenant", "create", "--name", "Acme"], "");
        let tenant = tenant.split_whitespace().nth(2).unwrap().to_owned();
        let site = admin(&["site", "create", "--tenant", &tenant, "--name", "Acme shop"], "");
        let site_id = site.split_whitespace().nth(2).unwrap().to_owned();
        let site_key = site.trim().rsplit(' ').next().unwrap().to_owned();
        let agent = ["agent", "create", "--tenant", &tenant, "--email", "ana@acme.example", "--name", "Ana"];
        admin(&[&agent[..], &["--role", "owner"]].concat(), &format!("{PASSWORD}\n"));
        let mut nodes = Vec::new();
        for name in ["n1", "n2", "n3"] {
            nodes.push(Node::start(&db.url, name).await);
        }
        let store = store::open(&db.url).await.unwrap();
        let login = reqwest::Client::new()
            .post(format!("{}/api/v1/auth/login", nodes[1].http()))
            .json(&json!({"email": "ana@acme.example", "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        let body: Value = login.json().await.unwrap();
        let token =
            body["tokens"]["access_token"].as_str().unwrap_or_else(|| panic!("login: {body}")).to_owned();
        Cluster { db, store, nodes, work, site: SiteId(site_id), site_key, token, _turn: turn }
    }

    /// The node holding the site's lease now, if any.
    async fn holder(&self) -> Option<usize> {
        let lease = self.store.lease(&self.site).await.unwrap()?;
        let now =
            Millis(std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis()
                as u64);
        (lease.expires_at > now).then(|| self.nodes.iter().position(|node| node.name == lease.node)).flatten()
    }

    async fn wait_for_holder(&self, wanted: impl Fn(usize) -> bool, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            if let Some(at) = self.holder().await.filter(|at| wanted(*at)) {
                return at;
            }
            assert!(Instant::now() < deadline, "the site did not settle on a node within {within:?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every node's WebSocket address, for clients to fall back on.
    fn options(&self) -> Options {
        Options { other_nodes: self.nodes.iter().map(Node::ws).collect(), ..options() }
    }

    /// Where `GET /route/{key}` on `via` sends the site's visitors.
    async fn route(&self, via: usize) -> String {
        self.route_at(&self.nodes[via].http()).await
    }

    /// Where `GET /route/{key}` at `base` (a node, the router) sends the site's visitors.
    async fn route_at(&self, base: &str) -> String {
        let route: Value =
            reqwest::get(format!("{base}/route/{}", self.site_key)).await.unwrap().json().await.unwrap();
        let url = route["url"].as_str().unwrap_or_else(|| panic!("route: {route}")).to_owned();
        assert!(
            url.starts_with("ws://127.0.0.1:")
                && url.ends_with(&format!("/ws/visitor?site={}", self.site_key)),
            "{url}"
        );
        url
    }

    /// The address `GET /route/{key}` names for the site's room on `node`.
    fn route_to(&self, node: usize) -> String {
        format!("{}/ws/visitor?site={}", self.nodes[node].ws(), self.site_key)
    }

    /// A visitor connected where `GET /route/{key}` on `via` says.
    async fn visitor(&self, via: usize) -> Client {
        self.visitor_at(&self.route(via).await).await
    }

    /// A visitor connected at `url`.
    async fn visitor_at(&self, url: &str) -> Client {
        let page = PageInfo {
            url: "https://shop.acme.example/".into(),
            title: "Shop".into(),
            referrer: String::new(),
        };
        let mut visitor = Client::visitor(url, &self.site_key, page, None, self.options());
        expect(&mut visitor, "welcome", |f| matches!(f, ServerFrame::Welcome { .. })).await;
        visitor
    }

    /// The site's owner, on a socket opened at `node` for the site: sent on to the node hosting it.
    async fn agent(&self, node: usize) -> Client {
        let url = format!("{}/ws/agent?site={}", self.nodes[node].ws(), self.site.0);
        let mut agent = Client::agent(&url, &self.token, self.options());
        expect(
            &mut agent,
            "agent welcome",
            |f| matches!(f, ServerFrame::AgentWelcome { sites, .. } if sites.len() == 1),
        )
        .await;
        agent
    }

    /// A GET with the owner's token; its JSON.
    async fn get(&self, url: &str) -> Value {
        let answer = reqwest::Client::new().get(url).bearer_auth(&self.token).send().await.unwrap();
        answer.json().await.unwrap()
    }

    /// The stored messages of a conversation, by asking a live node.
    async fn stored(&self, conversation: &ConversationId) -> Vec<(u64, String)> {
        let node = self.nodes.iter().find(|node| node.child.is_some()).unwrap();
        let url = format!("{}/api/v1/conversations/{}/messages?limit=200", node.http(), conversation.0);
        let mut all = Vec::new();
        let mut after = 0;
        loop {
            let page = self.get(&format!("{url}&after_seq={after}")).await;
            let items = page["items"].as_array().unwrap_or_else(|| panic!("history: {page}"));
            if items.is_empty() {
                return all;
            }
            for item in items {
                after = item["seq"].as_u64().unwrap();
                if item["kind"] == "text" {
                    all.push((after, item["body"].as_str().unwrap().to_owned()));
                }
            }
        }
    }

    fn admin(&self, args: &[&str]) -> std::process::Output {
        let mut all = args.to_vec();
        all.extend(["--database-url", &self.db.url]);
        kefu(self.work.path(), &all, "")
    }

    /// An admin command run beside the test (the burst goes on meanwhile); answers its output
    /// and how long it took.
    fn admin_beside(&self, args: &[&str]) -> tokio::task::JoinHandle<(std::process::Output, Duration)> {
        let mut all: Vec<String> = args.iter().map(|arg| (*arg).to_owned()).collect();
        all.extend(["--database-url".to_owned(), self.db.url.clone()]);
        let work = self.work.path().to_owned();
        tokio::task::spawn_blocking(move || {
            let started = Instant::now();
            let args: Vec<&str> = all.iter().map(String::as_str).collect();
            (kefu(&work, &args, ""), started.elapsed())
        })
    }
}

/// The cluster's router: `edge-router` built as a Spin component (scripts/build-router.sh), served
/// by `wasmtime serve` (scripts/test installs it).
struct Router {
    port: u16,
    child: Child,
}

impl Router {
    /// In front of the cluster, told of `node` alone: it learns the others from the routes table.
    async fn start(node: &Node) -> Router {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
        let path = |variable: &str, default: &str| {
            let path = std::env::var(variable).unwrap_or_else(|_| format!("{root}/{default}"));
            assert!(
                std::path::Path::new(&path).exists(),
                "{path} is missing: ./scripts/test installs wasmtime and builds the router (or set {variable})"
            );
            path
        };
        let wasmtime = path("KEFU_WASMTIME", "target/tools/wasmtime");
        let component = path("KEFU_ROUTER_WASM", "target/wasm32-wasip2/edge/edge_router.wasm");
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let child = Command::new(wasmtime)
            .args(["serve", "--addr", &format!("127.0.0.1:{port}"), "-Scli", "-Sp3", "-Shttp"])
            // One instance for every request, as a long-lived host keeps it: it keeps the table.
            .args(["--idle-instance-timeout", "600s", "--max-instance-reuse-count", "1000000"])
            .args(["--env", &format!("KEFU_NODES={}", node.http()), &component])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let router = Router { port, child };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !reqwest::get(format!("{}/healthz", router.http())).await.is_ok_and(|r| r.status().is_success())
        {
            assert!(Instant::now() < deadline, "the router did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        router
    }

    fn http(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Router {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Cluster {
    /// A burst of `count` messages with the site moved to `target` after the `at`-th; answers
    /// the burst and how long `kefu site move` took.
    async fn burst_moving(
        &self,
        visitor: &mut Client,
        count: usize,
        at: usize,
        target: usize,
    ) -> (Burst, Duration) {
        let mut moving = None;
        let to = self.nodes[target].name.clone();
        let result = burst(visitor, count, at, || {
            moving = Some(self.admin_beside(&["site", "move", "--site", &self.site.0, "--to", &to]));
        })
        .await;
        let (output, took) = moving.unwrap().await.unwrap();
        assert!(stdout(&output).contains("moved"), "{output:?}");
        (result, took)
    }
}

/// What a burst came to: the messages acknowledged, in the order they were sent.
struct Burst {
    sent: Vec<String>,
    acked: usize,
    conversation: ConversationId,
    /// When each acknowledgement arrived.
    acks_at: Vec<Instant>,
}

impl Burst {
    /// How long after `moment` the first acknowledgement came.
    fn first_ack_after(&self, moment: Instant) -> Option<Duration> {
        self.acks_at.iter().find(|at| **at > moment).map(|at| at.duration_since(moment))
    }
}

/// Sends `count` messages 10 ms apart, calling `midway` after the `at`-th, and waits until every
/// one is acknowledged. That is faster than a visitor may send (5 a second after 20): the server
/// turns the rest away for now and the client sends them again, across the move or failover too.
async fn burst(visitor: &mut Client, count: usize, at: usize, midway: impl FnOnce()) -> Burst {
    let sent: Vec<String> = (1..=count).map(|n| format!("burst message {n}")).collect();
    let started = Instant::now();
    let mut acked = 0;
    let mut acks_at = Vec::new();
    let mut conversation = None;
    let mut midway = Some(midway);
    for (n, body) in sent.iter().enumerate() {
        visitor.send(Outgoing::Visitor { body: body.clone() });
        if n + 1 == at {
            midway.take().unwrap()();
        }
        // Read what came meanwhile.
        while let Ok(Some(event)) =
            tokio::time::timeout(Duration::from_millis(10), visitor.next_event()).await
        {
            if let Event::Frame(ServerFrame::Ack { conversation: c, .. }) = event {
                acked += 1;
                acks_at.push(Instant::now());
                conversation = Some(c);
            }
        }
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    // The client empties its outbox as acks come, before they are read here: read on until
    // nothing more comes.
    loop {
        let wait = if visitor.unacknowledged() > 0 {
            deadline
        } else {
            tokio::time::Instant::now() + Duration::from_millis(300)
        };
        match tokio::time::timeout_at(wait, visitor.next_event()).await {
            Ok(Some(Event::Frame(ServerFrame::Ack { conversation: c, .. }))) => {
                acked += 1;
                acks_at.push(Instant::now());
                conversation = Some(c);
            }
            Ok(Some(_)) => {}
            Err(_) if visitor.unacknowledged() == 0 => break,
            other => panic!("{acked} of {count} acknowledged, then {other:?}"),
        }
    }
    println!("the burst of {count} was acknowledged whole {:?} after its first message", started.elapsed());
    Burst { sent, acked, conversation: conversation.unwrap(), acks_at }
}

/// Nothing lost, nothing doubled, the order kept: what is stored is what was sent.
async fn nothing_lost(cluster: &Cluster, burst: &Burst) {
    let stored = cluster.stored(&burst.conversation).await;
    let bodies: Vec<&str> = stored.iter().map(|(_, body)| body.as_str()).collect();
    let sent: Vec<&str> = burst.sent.iter().map(String::as_str).collect();
    println!("sent {}, acknowledged {}, stored {}", sent.len(), burst.acked, bodies.len());
    assert_eq!(bodies, sent, "stored differs from sent");
    assert!(burst.acked >= sent.len(), "{} of {} acknowledged", burst.acked, sent.len());
    assert!(stored.windows(2).all(|pair| pair[0].0 < pair[1].0), "seqs grow");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_lives_on_one_node_and_sockets_that_reach_another_are_sent_there() {
    let cluster = Cluster::start().await;
    let mut visitor = cluster.visitor(0).await;
    let home = cluster.wait_for_holder(|_| true, Duration::from_secs(5)).await;
    // The agent's socket opened at each of the other nodes ends up at the site's node.
    let elsewhere: Vec<usize> = (0..3).filter(|n| *n != home).collect();
    let mut agent = cluster.agent(elsewhere[0]).await;
    let mut second = cluster.agent(elsewhere[1]).await;
    assert_eq!(cluster.holder().await, Some(home), "the room stayed where it was");

    visitor.send(Outgoing::Visitor { body: "hello from a visitor".into() });
    let ServerFrame::Message(first) = expect(
        &mut agent,
        "the message",
        |f| matches!(f, ServerFrame::Message(m) if m.kind == MessageKind::Text),
    )
    .await
    else {
        unreachable!()
    };
    expect(
        &mut second,
        "the message at the second agent socket",
        |f| matches!(f, ServerFrame::Message(m) if m.seq == first.seq),
    )
    .await;
    agent.send(Outgoing::Agent {
        site: cluster.site.clone(),
        conversation: first.conversation.clone(),
        body: "hello from Ana".into(),
        note: false,
    });
    expect(
        &mut visitor,
        "the answer",
        |f| matches!(f, ServerFrame::Message(m) if m.body == "hello from Ana"),
    )
    .await;

    // GET /api/v1/live on any node names the site's node.
    for node in &cluster.nodes {
        let live = cluster.get(&format!("{}/api/v1/live", node.http())).await;
        assert_eq!(
            live["endpoints"][0]["url"],
            format!("{}/ws/agent?site={}", cluster.nodes[home].ws(), cluster.site.0)
        );
    }
    // Any node's routes table names the site's node, by a digest of its key, never the key.
    let table: Value =
        reqwest::get(format!("{}/route", cluster.nodes[0].http())).await.unwrap().json().await.unwrap();
    assert_eq!(table["sites"][key_digest(&cluster.site_key)], cluster.nodes[home].name.as_str(), "{table}");
    assert!(!table.to_string().contains(&cluster.site_key), "{table}");
    let hosting: Vec<(&str, u64)> = table["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|node| (node["name"].as_str().unwrap(), node["sites"].as_u64().unwrap()))
        .collect();
    let expected: Vec<(&str, u64)> = cluster
        .nodes
        .iter()
        .enumerate()
        .map(|(at, node)| (node.name.as_str(), u64::from(at == home)))
        .collect();
    assert_eq!(hosting, expected);
    let nodes = stdout(&cluster.admin(&["node", "list"]));
    assert_eq!(nodes.lines().count(), 3, "{nodes}");
    assert!(
        nodes.lines().any(|l| l.starts_with(&cluster.nodes[home].name) && l.ends_with("1 sites")),
        "{nodes}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_moved_mid_conversation_loses_nothing_and_doubles_nothing() {
    let cluster = Cluster::start().await;
    let mut visitor = cluster.visitor(0).await;
    let home = cluster.wait_for_holder(|_| true, Duration::from_secs(5)).await;
    let target = (home + 1) % 3;
    let (result, took) = cluster.burst_moving(&mut visitor, 100, 30, target).await;
    println!("the move took {took:?} (kefu site move, from asking to the new node holding the site)");
    assert_eq!(cluster.holder().await, Some(target));
    nothing_lost(&cluster, &result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_burst_loses_nothing_and_another_takes_its_site() {
    let mut cluster = Cluster::start().await;
    let mut visitor = cluster.visitor(0).await;
    let home = cluster.wait_for_holder(|_| true, Duration::from_secs(5)).await;
    let mut killed_at = None;
    let result = {
        let nodes = &mut cluster.nodes;
        burst(&mut visitor, 100, 30, || {
            nodes[home].kill();
            killed_at = Some(Instant::now());
        })
        .await
    };
    let taken = cluster.wait_for_holder(|at| at != home, Duration::from_secs(10)).await;
    let again = result.first_ack_after(killed_at.unwrap()).unwrap();
    println!("failover: acknowledged again by {} {again:?} after the kill", cluster.nodes[taken].name);
    nothing_lost(&cluster, &result).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_drained_node_gives_its_sites_away_and_takes_no_new_ones() {
    let cluster = Cluster::start().await;
    let mut visitor = cluster.visitor(0).await;
    let home = cluster.wait_for_holder(|_| true, Duration::from_secs(5)).await;
    let name = cluster.nodes[home].name.clone();
    let mut draining = None;
    let result =
        burst(&mut visitor, 100, 30, || draining = Some(cluster.admin_beside(&["node", "drain", &name])))
            .await;
    let (output, took) = draining.unwrap().await.unwrap();
    assert!(stdout(&output).contains("hosts no sites now"), "{output:?}");
    println!("the drain took {took:?}");
    nothing_lost(&cluster, &result).await;
    let nodes = stdout(&cluster.admin(&["node", "list"]));
    assert!(
        nodes.lines().any(|l| l.starts_with(&name) && l.contains("draining") && l.ends_with("0 sites")),
        "{nodes}"
    );
    // The router sends no one to it now.
    let route = cluster.route(home).await;
    assert!(!route.contains(&format!(":{}/", cluster.nodes[home].port)), "{route}");
    assert!(stdout(&cluster.admin(&["node", "undrain", &name])).contains("takes sites again"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_router_on_spin_sends_visitors_to_the_node_hosting_their_site_and_follows_moves_and_failures() {
    let mut cluster = Cluster::start().await;
    let router = Router::start(&cluster.nodes[0]).await;
    let ask = |path: String| async move { reqwest::get(path).await.unwrap() };
    assert_eq!(ask(format!("{}/route/k_nobody", router.http())).await.status(), 404);
    let socket = ask(format!("{}/ws/visitor?site={}", router.http(), cluster.site_key)).await;
    assert_eq!(socket.status(), 400, "the router passes no sockets on");
    // The loader and the API come through the router as from a node.
    let loader = ask(format!("{}/embed.js", router.http())).await.bytes().await.unwrap();
    assert_eq!(loader, ask(format!("{}/embed.js", cluster.nodes[1].http())).await.bytes().await.unwrap());
    let me = reqwest::Client::new().get(format!("{}/api/v1/me", router.http())).bearer_auth(&cluster.token);
    assert_eq!(me.send().await.unwrap().json::<Value>().await.unwrap()["email"], "ana@acme.example");

    // No room yet: the router asks a node, which names the node that will host it.
    let url = cluster.route_at(&router.http()).await;
    let mut visitor = cluster.visitor_at(&url).await;
    let home = cluster.wait_for_holder(|_| true, Duration::from_secs(5)).await;
    assert_eq!(url, cluster.route_to(home));

    // Moved mid-burst: the visitor follows the node, and the router's table soon does.
    // Never the node the router was told of: that one dies below, with the site's.
    let target = if home == 1 { 2 } else { 1 };
    let (result, _) = cluster.burst_moving(&mut visitor, 40, 20, target).await;
    let moved = Instant::now();
    while cluster.route_at(&router.http()).await != cluster.route_to(target) {
        assert!(moved.elapsed() < Duration::from_secs(10), "the router still sends visitors to the old node");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("the router named the new node {:?} after the move ended", moved.elapsed());
    nothing_lost(&cluster, &result).await;

    // The node the router was told of and the node hosting the site die together: the router asks
    // the node the table named besides, and sends visitors where the site went.
    cluster.nodes[0].kill();
    cluster.nodes[target].kill();
    let killed = Instant::now();
    let holder = cluster.wait_for_holder(|at| at != 0 && at != target, Duration::from_secs(10)).await;
    loop {
        let health = ask(format!("{}/healthz", router.http())).await.status();
        if health.is_success() && cluster.route_at(&router.http()).await == cluster.route_to(holder) {
            break;
        }
        assert!(killed.elapsed() < Duration::from_secs(15), "the router lost the cluster with its node");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    println!("the router named the node that took the site {:?} after the kills", killed.elapsed());
    let mut late = cluster.visitor_at(&cluster.route_at(&router.http()).await).await;
    let result = burst(&mut late, 5, 5, || {}).await;
    nothing_lost(&cluster, &result).await;
}
