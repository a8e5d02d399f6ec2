//! A real server on 127.0.0.1 over a fresh database (a SQLite file, or a MariaDB database made
//! for the test and dropped after it) — or the edge in front of it (`wrangler dev` running the
//! Worker and the room objects, the server as their origin) —, tenants to test with, raw sockets
//! for bad input, and a TCP proxy that can cut connections.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::large_enum_variant)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use chat_client::{Client, Event, Options};
use chat_core::ids::{AgentId, SiteId, TenantId};
use chat_core::protocol::{PageInfo, Role, ServerFrame, parse_server_frame};
use futures_util::{SinkExt, StreamExt};
use origin_api::auth::password;
use origin_api::clock::now;
use origin_api::config::Config;
use origin_api::server::{self, RunningServer};
use origin_api::store::{NewAgent, NewSite, Site, Store};
use serde_json::{Value, json};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::Message;

/// The `kefu` binary under test.
pub const KEFU: &str = env!("CARGO_BIN_EXE_kefu");

pub const WAIT: Duration = Duration::from_secs(10);
pub const PASSWORD: &str = "correct horse battery staple";

/// Fast reconnects for tests.
pub fn options() -> Options {
    Options {
        min_backoff: Duration::from_millis(50),
        max_backoff: Duration::from_millis(500),
        ..Options::default()
    }
}

/// The MariaDB (or MySQL) server tests make their databases on: `KEFU_TEST_MYSQL_URL`, or the one
/// this machine runs.
pub fn mysql_server_url() -> String {
    std::env::var("KEFU_TEST_MYSQL_URL").unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned())
}

/// A database for one test, removed when dropped.
pub struct TestDb {
    pub url: String,
    /// What the backend is called in test output.
    pub name: &'static str,
    /// The clients reach the rooms on the edge, with the server as its origin.
    pub edge: bool,
    _dir: Option<tempfile::TempDir>,
    /// The server and the database made on it, to drop.
    made: Option<(Server, String, String)>,
}

#[derive(Clone, Copy)]
enum Server {
    MySql,
    #[cfg(feature = "mssql")]
    Mssql,
}

impl TestDb {
    /// A SQLite file in a new temporary folder.
    pub fn sqlite() -> TestDb {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite:{}", dir.path().join("kefu.db").display());
        TestDb { url, name: "sqlite", edge: false, _dir: Some(dir), made: None }
    }

    /// A SQLite file at `url`, in a folder the test owns.
    pub fn at(url: &str) -> TestDb {
        TestDb { url: url.to_owned(), name: "sqlite", edge: false, _dir: None, made: None }
    }

    /// A new, empty database on the MariaDB server.
    pub async fn mariadb() -> TestDb {
        use sqlx::{Connection, Executor};
        let server = mysql_server_url();
        let database = format!("kefu_test_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::MySqlConnection::connect(&server).await.unwrap_or_else(|e| {
            panic!("the MariaDB server at {server} (set KEFU_TEST_MYSQL_URL) answered: {e}")
        });
        conn.execute(format!("CREATE DATABASE {database} CHARACTER SET utf8mb4").as_str()).await.unwrap();
        let _ = conn.close().await;
        let url = format!("{}/{database}", server.trim_end_matches('/'));
        TestDb {
            url,
            name: "mariadb",
            edge: false,
            _dir: None,
            made: Some((Server::MySql, server, database)),
        }
    }

    /// A new database on the MariaDB server, for an origin behind the edge.
    pub async fn edge() -> TestDb {
        let mut db = TestDb::mariadb().await;
        db.edge = true;
        db
    }

    /// A new database on the SQL Server `KEFU_TEST_MSSQL_URL` names
    /// (`mssql://USER:PASSWORD@HOST:PORT?trust_server_certificate=true`), if it names one.
    #[cfg(feature = "mssql")]
    pub async fn mssql() -> Option<TestDb> {
        let server = std::env::var("KEFU_TEST_MSSQL_URL").ok()?;
        let database = format!("kefu_test_{}", uuid::Uuid::new_v4().simple());
        origin_api::store::mssql::create_database(&server, &database).await.unwrap();
        let (address, query) = server.split_once('?').unwrap_or((server.as_str(), ""));
        let url = format!("{}/{database}?{query}", address.trim_end_matches('/'));
        Some(TestDb {
            url,
            name: "sqlserver",
            edge: false,
            _dir: None,
            made: Some((Server::Mssql, server, database)),
        })
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((kind, server, database)) = self.made.take() else { return };
        // Drop runs inside the test's runtime, which cannot be blocked on: use a thread of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                match kind {
                    Server::MySql => drop_mysql(&server, &database).await.map_err(|e| e.to_string()),
                    #[cfg(feature = "mssql")]
                    Server::Mssql => origin_api::store::mssql::drop_database(&server, &database)
                        .await
                        .map_err(|e| e.to_string()),
                }
            })
        });
        if let Ok(Err(e)) = dropped.join() {
            eprintln!("could not drop a test database: {e}");
        }
    }
}

async fn drop_mysql(server: &str, database: &str) -> Result<(), sqlx::Error> {
    use sqlx::{Connection, Executor};
    let mut conn = sqlx::MySqlConnection::connect(server).await?;
    // A test that failed may have left a transaction open: do not wait for it forever.
    conn.execute("SET SESSION lock_wait_timeout = 10").await?;
    conn.execute(format!("DROP DATABASE IF EXISTS {database}").as_str()).await?;
    conn.close().await
}

/// Runs each named test, `async fn name(db: TestDb)`, once on SQLite and once on MariaDB.
#[macro_export]
macro_rules! on_sqlite_and_mariadb {
    ($($test:ident),* $(,)?) => {
        mod on_sqlite {
            $(#[tokio::test]
            async fn $test() {
                super::$test($crate::common::TestDb::sqlite()).await;
            })*
        }
        mod on_mariadb {
            $(#[tokio::test]
            async fn $test() {
                super::$test($crate::common::TestDb::mariadb().await).await;
            })*
        }
    };
}

/// Runs each named test, `async fn name(db: TestDb)`, on SQLite, on MariaDB, and (with the
/// `edge-tests` feature, which needs `scripts/build-edge.sh` and `npm ci` first) through the edge
/// in front of MariaDB.
#[macro_export]
macro_rules! on_every_target {
    ($($test:ident),* $(,)?) => {
        $crate::on_sqlite_and_mariadb!($($test),*);
        #[cfg(feature = "edge-tests")]
        mod on_the_edge {
            $(#[tokio::test]
            async fn $test() {
                super::$test($crate::common::TestDb::edge().await).await;
            })*
        }
    };
}

pub struct TestServer {
    /// Where clients connect: the server, or the edge in front of it.
    pub addr: SocketAddr,
    /// The server itself (the edge's origin).
    pub origin: SocketAddr,
    running: Option<RunningServer>,
    edge: Option<Edge>,
    /// Sites made here, whose rooms' writes reach the origin before REST reads them.
    sites: std::sync::Mutex<Vec<SiteId>>,
    database_url: String,
    pub http: reqwest::Client,
    db: TestDb,
    /// Where the server keeps files sent in chats.
    pub data_dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> TestServer {
        TestServer::start_with(|_| {}).await
    }

    /// A server with some settings changed.
    pub async fn start_with(change: impl Fn(&mut Config)) -> TestServer {
        TestServer::start_on_with(TestDb::sqlite(), change).await
    }

    /// A server on `db`.
    pub async fn start_on(db: TestDb) -> TestServer {
        TestServer::start_on_with(db, |_| {}).await
    }

    /// A server on `db` with some settings changed.
    pub async fn start_on_with(db: TestDb, change: impl Fn(&mut Config)) -> TestServer {
        let database_url = db.url.clone();
        let data_dir = tempfile::tempdir().unwrap();
        let mut config = config(&database_url, "127.0.0.1:0".parse().unwrap(), data_dir.path());
        change(&mut config);
        let edge_keys = db.edge.then(|| EdgeKeys::new(config.socket_idle));
        if let Some(keys) = &edge_keys {
            keys.configure(&mut config);
        }
        let running = server::start(config).await.unwrap();
        let origin = running.addr;
        let edge = match edge_keys {
            Some(keys) => Some(Edge::start(origin, keys).await),
            None => None,
        };
        TestServer {
            addr: edge.as_ref().map_or(origin, |edge| edge.addr),
            origin,
            running: Some(running),
            edge,
            sites: std::sync::Mutex::default(),
            database_url,
            http: reqwest::Client::new(),
            db,
            data_dir,
        }
    }

    /// The database the server keeps its records in.
    pub fn db(&self) -> &TestDb {
        &self.db
    }

    /// Whether clients reach the rooms on the edge.
    pub fn on_edge(&self) -> bool {
        self.edge.is_some()
    }

    /// Rooms running now (on the server, not the edge).
    pub fn running_rooms(&self) -> usize {
        self.running.as_ref().expect("server running").state().hub.running_rooms()
    }

    pub fn store(&self) -> Arc<dyn Store> {
        Arc::clone(&self.running.as_ref().expect("server running").state().store)
    }

    /// The server's token keys.
    pub fn keys(&self) -> origin_api::auth::Keys {
        (*self.running.as_ref().expect("server running").state().keys).clone()
    }

    /// Stops the server (clients are told to reconnect) and starts a new one on the same address
    /// and database; on the edge, stops `wrangler dev` (sockets drop) and starts it again on its
    /// storage.
    pub async fn restart(&mut self) {
        if let Some(edge) = &mut self.edge {
            edge.restart().await;
            return;
        }
        self.stop().await;
        let config = config(&self.database_url, self.addr, self.data_dir.path());
        self.running = Some(server::start(config).await.unwrap());
    }

    pub async fn stop(&mut self) {
        if let Some(edge) = &mut self.edge {
            edge.stop();
        }
        if let Some(running) = self.running.take() {
            running.stop().await;
        }
    }

    /// Waits until every write of the sites made here has reached the origin's records (at once
    /// when the server hosts the rooms itself).
    pub async fn settled(&self) {
        let Some(edge) = &self.edge else { return };
        let sites = self.sites.lock().unwrap().clone();
        for site in sites {
            let url = format!("http://{}/__test/outbox?site={site}", edge.addr);
            let deadline = tokio::time::Instant::now() + WAIT;
            while self.http.get(&url).send().await.unwrap().text().await.unwrap() != "empty" {
                assert!(tokio::time::Instant::now() < deadline, "{site}'s writes did not reach the origin");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// Where a visitor of `tenant`'s site connects (the edge routes by the site's key).
    pub fn visitor_path(&self, tenant: &Tenant) -> String {
        if self.on_edge() { format!("/ws/visitor?site={}", tenant.site.key) } else { "/ws/visitor".into() }
    }

    /// Where `agent` connects (on the edge, to one site's room).
    pub fn agent_path(&self, agent: &Agent) -> String {
        if self.on_edge() { format!("/ws/agent?site={}", agent.site) } else { "/ws/agent".into() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }

    /// A tenant with one site and an owner, logged in.
    pub async fn tenant(&self, name: &str) -> Tenant {
        let store = self.store();
        let tenant = store.create_tenant(name, now()).await.unwrap();
        let site = NewSite {
            name: format!("{name} shop"),
            greeting: "Hello!".into(),
            auto_assign: true,
            ..NewSite::default()
        };
        let site = store.create_site(&tenant.id, site, now()).await.unwrap();
        self.sites.lock().unwrap().push(site.id.clone());
        let mut fixture = Tenant { id: tenant.id, site, owner: Agent::default(), slug: name.to_lowercase() };
        fixture.owner = self.agent(&fixture, "owner", Role::Owner, 5).await;
        fixture
    }

    /// A new agent of `tenant`, logged in.
    pub async fn agent(&self, tenant: &Tenant, name: &str, role: Role, capacity: u32) -> Agent {
        let email = format!("{name}@{}.example", tenant.slug);
        let agent = NewAgent {
            email: email.clone(),
            name: name.to_owned(),
            role,
            capacity,
            all_sites: true,
            sites: Vec::new(),
            password_hash: password::hash(PASSWORD).unwrap(),
        };
        let agent = self.store().create_agent(&tenant.id, agent, now()).await.unwrap();
        let login =
            self.post("/api/v1/auth/login", None, json!({ "email": email, "password": PASSWORD })).await;
        assert_eq!(login.0, 200, "{}", login.1);
        let token = login.1["tokens"]["access_token"].as_str().unwrap().to_owned();
        Agent { id: agent.id, email, token, site: tenant.site.id.clone() }
    }

    /// A REST GET, once the rooms' writes reached the records.
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        self.settled().await;
        let mut request = self.http.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        respond(request).await
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.http.post(self.url(path)).json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        respond(request).await
    }

    pub async fn patch(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        respond(self.http.patch(self.url(path)).bearer_auth(token).json(&body)).await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> (u16, Value) {
        respond(self.http.put(self.url(path)).bearer_auth(token).json(&body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> (u16, Value) {
        respond(self.http.delete(self.url(path)).bearer_auth(token)).await
    }

    pub fn visitor(&self, tenant: &Tenant, url: &str) -> Client {
        let page = PageInfo { url: url.into(), title: "Shop".into(), referrer: String::new() };
        Client::visitor(&self.ws(&self.visitor_path(tenant)), &tenant.site.key, page, None, options())
    }

    pub fn agent_client(&self, agent: &Agent) -> Client {
        Client::agent(&self.ws(&self.agent_path(agent)), &agent.token, options())
    }

    /// An agent client that has received its first site's state.
    pub async fn ready_agent(&self, agent: &Agent) -> Client {
        let mut client = self.agent_client(agent);
        expect(&mut client, "site state", |f| matches!(f, ServerFrame::SiteState { .. })).await;
        client
    }

    /// Every stored message of a conversation, through the REST API.
    pub async fn history(&self, token: &str, conversation: &str) -> Vec<Value> {
        // (`get` waits for the rooms' writes to reach the records.)
        let (status, body) =
            self.get(&format!("/api/v1/conversations/{conversation}/messages?limit=200"), Some(token)).await;
        assert_eq!(status, 200, "{body}");
        body["items"].as_array().unwrap().clone()
    }
}

/// What the origin and the edge share: the edge's address, the secret it signs its requests with,
/// and the key its rooms sign visitor tokens with (the origin holds its public half).
struct EdgeKeys {
    addr: SocketAddr,
    secret: String,
    room_key: String,
    visitor_key: ed25519_dalek::VerifyingKey,
    /// The rooms' idle time, as the server's.
    socket_idle: Duration,
}

impl EdgeKeys {
    fn new(socket_idle: Duration) -> EdgeKeys {
        use base64::Engine;
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let mut seed = [0u8; 32];
        let mut secret = [0u8; 24];
        getrandom::fill(&mut seed).unwrap();
        getrandom::fill(&mut secret).unwrap();
        EdgeKeys {
            addr: SocketAddr::from(([127, 0, 0, 1], free_port())),
            secret: b64.encode(secret),
            room_key: b64.encode(seed),
            visitor_key: ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key(),
            socket_idle,
        }
    }

    /// The origin behind this edge: it takes the edge's signed requests and visitor tokens, and
    /// tells it of changes.
    fn configure(&self, config: &mut Config) {
        config.edge_secret = Some(self.secret.as_str().into());
        config.edge_visitor_key = Some(self.visitor_key);
        config.edge_url = Some(format!("http://{}", self.addr));
    }
}

/// `wrangler dev` (local workerd, offline) running the Worker and the room objects built by
/// `scripts/build-edge.sh`, with its storage in a temporary folder kept across restarts.
struct Edge {
    addr: SocketAddr,
    origin: SocketAddr,
    keys: EdgeKeys,
    dir: tempfile::TempDir,
    process: Option<std::process::Child>,
}

impl Edge {
    async fn start(origin: SocketAddr, keys: EdgeKeys) -> Edge {
        let addr = keys.addr;
        let mut edge = Edge { addr, origin, keys, dir: tempfile::tempdir().unwrap(), process: None };
        edge.run().await;
        edge
    }

    async fn run(&mut self) {
        // One start at a time: two `wrangler dev` starting at the same moment in a checkout that
        // never ran it can trip over each other, and the runtime then fails to start; such a
        // start is tried again.
        static STARTING: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
        let _one_at_a_time = STARTING.lock().await;
        for attempt in 1..=3 {
            let log = self.spawn();
            let health = format!("http://{}/healthz", self.addr);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
            loop {
                if reqwest::get(&health).await.is_ok() {
                    return;
                }
                let log = std::fs::read_to_string(&log).unwrap_or_default();
                let exited = self.process.as_mut().is_some_and(|p| p.try_wait().ok().flatten().is_some());
                if exited && attempt < 3 {
                    eprintln!("wrangler dev stopped before it answered (attempt {attempt}); again: {log}");
                    break;
                }
                assert!(
                    !exited && tokio::time::Instant::now() < deadline,
                    "wrangler dev did not answer: {log}"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            self.stop();
        }
    }

    /// Starts `wrangler dev`; answers where it writes what it says.
    fn spawn(&mut self) -> std::path::PathBuf {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
        let script = root.join("edge-router/build/worker/shim.mjs");
        assert!(script.exists(), "build the edge first: scripts/build-edge.sh (no {})", script.display());
        let log = self.dir.path().join("wrangler.log");
        let output = std::fs::File::create(&log).unwrap();
        let var = |name: &str, value: &str| ["--var".to_owned(), format!("{name}:{value}")];
        let mut command = std::process::Command::new(root.join("node_modules/.bin/wrangler"));
        command
            .arg("dev")
            .arg("--config")
            .arg(root.join("wrangler.toml"))
            .args(["--ip", "127.0.0.1", "--port", &self.addr.port().to_string()])
            // Tests run side by side: each its own devtools port too.
            .args(["--inspector-port", &free_port().to_string()])
            .arg("--persist-to")
            .arg(self.dir.path().join("state"))
            .args(var("ORIGIN_URL", &format!("http://{}", self.origin)))
            .args(var("EDGE_SECRET", &self.keys.secret))
            .args(var("ROOM_SIGNING_KEY", &self.keys.room_key))
            .args(var("TEST_HOOKS", "1"))
            .args(var("SOCKET_IDLE_MS", &self.keys.socket_idle.as_millis().to_string()))
            .args(["--show-interactive-dev-session=false", "--log-level", "warn"])
            .current_dir(root)
            .env("WRANGLER_SEND_METRICS", "false")
            .env("CLOUDFLARE_CF_FETCH_ENABLED", "false")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null())
            .stdout(output.try_clone().unwrap())
            .stderr(output);
        // Its own process group, so that stopping it stops workerd too.
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        self.process = Some(command.spawn().expect("node_modules/.bin/wrangler runs (npm ci)"));
        log
    }

    fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            let group = format!("-{}", process.id());
            let _ = std::process::Command::new("kill").args(["-TERM", "--", &group]).status();
            let _ = process.wait();
        }
    }

    async fn restart(&mut self) {
        self.stop();
        self.run().await;
    }
}

/// A port nothing listens on now.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

impl Drop for Edge {
    fn drop(&mut self) {
        self.stop();
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        // Tests stop their servers; one that panicked leaves it to the runtime's end.
        self.running.take();
    }
}

fn config(database_url: &str, listen: SocketAddr, data_dir: &std::path::Path) -> Config {
    let mut config = Config::with_database(database_url);
    config.listen = listen;
    config.data_dir = data_dir.to_owned();
    config
}

async fn respond(request: reqwest::RequestBuilder) -> (u16, Value) {
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    (status, serde_json::from_str(&text).unwrap_or(Value::String(text)))
}

#[derive(Debug)]
pub struct Tenant {
    pub id: TenantId,
    pub site: Site,
    pub owner: Agent,
    pub slug: String,
}

impl Tenant {
    pub fn site_id(&self) -> &SiteId {
        &self.site.id
    }
}

#[derive(Debug, Default, Clone)]
pub struct Agent {
    pub id: AgentId,
    pub email: String,
    pub token: String,
    /// The tenant's first site (the one an agent's socket names on the edge).
    pub site: SiteId,
}

/// Waits for the next frame `wanted` accepts.
pub async fn expect(
    client: &mut Client,
    what: &str,
    wanted: impl FnMut(&ServerFrame) -> bool,
) -> ServerFrame {
    client.wait_for(WAIT, wanted).await.unwrap_or_else(|| panic!("no {what} within {WAIT:?}"))
}

/// Collects every frame that arrives within `period`.
pub async fn frames_for(client: &mut Client, period: Duration) -> Vec<ServerFrame> {
    let deadline = tokio::time::Instant::now() + period;
    let mut frames = Vec::new();
    while let Ok(Some(event)) = tokio::time::timeout_at(deadline, client.next_event()).await {
        if let Event::Frame(frame) = event {
            frames.push(frame);
        }
    }
    frames
}

/// A raw WebSocket, for frames no well-behaved client sends.
pub struct Raw {
    pub socket: tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>,
}

/// What a raw socket read.
#[derive(Debug)]
pub enum Read {
    Frame(ServerFrame),
    Closed(Option<u16>),
}

impl Raw {
    pub async fn connect(url: &str) -> Raw {
        let (socket, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Raw { socket }
    }

    /// Connects with a small receive buffer, so a client that stops reading backs up the server
    /// after kilobytes rather than the megabytes loopback allows.
    pub async fn connect_small(server: &TestServer, path: &str) -> Raw {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        socket.set_recv_buffer_size(32 * 1024).unwrap();
        let stream = socket.connect(server.addr).await.unwrap();
        let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
        let (socket, _) = tokio_tungstenite::client_async(server.ws(path), stream).await.unwrap();
        Raw { socket }
    }

    pub async fn send(&mut self, text: &str) {
        self.socket.send(Message::Text(text.into())).await.unwrap();
    }

    pub async fn send_json(&mut self, value: Value) {
        self.send(&value.to_string()).await;
    }

    pub async fn read(&mut self) -> Read {
        loop {
            match tokio::time::timeout(WAIT, self.socket.next()).await.expect("the server answered") {
                Some(Ok(Message::Text(text))) => {
                    return Read::Frame(parse_server_frame(text.as_str()).unwrap());
                }
                Some(Ok(Message::Close(frame))) => return Read::Closed(frame.map(|f| u16::from(f.code))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Read::Closed(None),
            }
        }
    }

    /// Reads until a frame `wanted` accepts; panics on close.
    pub async fn expect(&mut self, wanted: impl Fn(&ServerFrame) -> bool) -> ServerFrame {
        loop {
            match self.read().await {
                Read::Frame(frame) if wanted(&frame) => return frame,
                Read::Frame(_) => {}
                Read::Closed(code) => panic!("closed ({code:?}) before the expected frame"),
            }
        }
    }

    /// Every frame that arrives within `period`.
    pub async fn frames_for(&mut self, period: Duration) -> Vec<ServerFrame> {
        let deadline = tokio::time::Instant::now() + period;
        let mut frames = Vec::new();
        while let Ok(Some(Ok(Message::Text(text)))) =
            tokio::time::timeout_at(deadline, self.socket.next()).await
        {
            if let Ok(frame) = parse_server_frame(text.as_str()) {
                frames.push(frame);
            }
        }
        frames
    }

    /// Reads until the socket closes; returns the close code.
    pub async fn closed(&mut self) -> Option<u16> {
        loop {
            if let Read::Closed(code) = self.read().await {
                return code;
            }
        }
    }

    /// Reads the next text frame within `timeout`, without parsing; `None` on timeout or close.
    pub async fn next_text(&mut self, timeout: Duration) -> Option<Result<String, Option<u16>>> {
        loop {
            match tokio::time::timeout(timeout, self.socket.next()).await.ok()? {
                Some(Ok(Message::Text(text))) => return Some(Ok(text.as_str().to_owned())),
                Some(Ok(Message::Close(frame))) => return Some(Err(frame.map(|f| u16::from(f.code)))),
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Some(Err(None)),
            }
        }
    }

    pub async fn visitor(server: &TestServer, tenant: &Tenant) -> Raw {
        Raw::visitor_as(server, tenant, None).await.0
    }

    /// A visitor who said hello (with `token` to be a returning one), and their token.
    pub async fn visitor_as(server: &TestServer, tenant: &Tenant, token: Option<&str>) -> (Raw, String) {
        let mut raw = Raw::connect(&server.ws(&server.visitor_path(tenant))).await;
        let hello = json!({"type": "visitor_hello", "v": 1, "site_key": tenant.site.key, "visitor_token": token, "page": {"url": "/"}});
        raw.send_json(hello).await;
        match raw.expect(|f| matches!(f, ServerFrame::Welcome { .. })).await {
            ServerFrame::Welcome { visitor_token, .. } => (raw, visitor_token),
            _ => unreachable!(),
        }
    }

    pub async fn agent(server: &TestServer, agent: &Agent) -> Raw {
        let mut raw = Raw::connect(&server.ws(&server.agent_path(agent))).await;
        raw.send_json(json!({"type": "agent_hello", "v": 1, "access_token": agent.token})).await;
        let ServerFrame::AgentWelcome { sites, .. } =
            raw.expect(|f| matches!(f, ServerFrame::AgentWelcome { .. })).await
        else {
            unreachable!()
        };
        // The agent is in a site's room once its `site_state` arrives; visitors arriving before
        // that are in the state, not announced.
        for _ in &sites {
            raw.expect(|f| matches!(f, ServerFrame::SiteState { .. })).await;
        }
        raw
    }
}

/// A TCP relay in front of the server that can stop passing the server's bytes to clients (so
/// acknowledgements are lost), black-hole everything and cut every connection.
pub struct Proxy {
    pub addr: SocketAddr,
    control: watch::Sender<ProxyMode>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ProxyMode {
    Pass,
    /// Client bytes reach the server; server bytes are dropped.
    SwallowReplies,
    /// Every open connection is closed.
    Cut,
    /// Nothing passes either way and nothing is closed, as when a network drops every packet: bytes
    /// wait in the relay (as TCP would retransmit them) and pass, in order, once it is `Pass` again.
    /// New connections are accepted and wait too.
    BlackHole,
}

impl Proxy {
    pub async fn start(target: SocketAddr) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (control, _) = watch::channel(ProxyMode::Pass);
        let modes = control.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else { continue };
                tokio::spawn(relay(client, server, modes.subscribe()));
            }
        });
        Proxy { addr, control }
    }

    pub fn set(&self, mode: ProxyMode) {
        self.control.send_replace(mode);
    }

    pub fn ws(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

async fn relay(client: TcpStream, server: TcpStream, mut mode: watch::Receiver<ProxyMode>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if *mode.borrow() == ProxyMode::Cut {
        return;
    }
    let (mut client_read, mut client_write) = client.into_split();
    let (mut server_read, mut server_write) = server.into_split();
    let mut up = [0u8; 16 * 1024];
    let mut down = [0u8; 16 * 1024];
    // Waits out a black hole; false when the connection is to be cut.
    async fn passing(mode: &mut watch::Receiver<ProxyMode>) -> bool {
        loop {
            match *mode.borrow_and_update() {
                ProxyMode::Cut => return false,
                ProxyMode::BlackHole => {}
                ProxyMode::Pass | ProxyMode::SwallowReplies => return true,
            }
            if mode.changed().await.is_err() {
                return false;
            }
        }
    }
    loop {
        if !passing(&mut mode).await {
            return;
        }
        tokio::select! {
            read = client_read.read(&mut up) => match read {
                Ok(0) | Err(_) => {
                    // The client is gone: the server hears of it when the network passes it on.
                    if passing(&mut mode).await {
                        let _ = server_write.shutdown().await;
                        let _ = server_read.read_to_end(&mut Vec::new()).await;
                    }
                    return;
                }
                Ok(n) => {
                    if !passing(&mut mode).await || server_write.write_all(&up[..n]).await.is_err() { return }
                }
            },
            read = server_read.read(&mut down) => match read {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    if !passing(&mut mode).await {
                        return;
                    }
                    if *mode.borrow() == ProxyMode::SwallowReplies {
                        continue;
                    }
                    if client_write.write_all(&down[..n]).await.is_err() { return }
                }
            },
            changed = mode.changed() => {
                if changed.is_err() || *mode.borrow() == ProxyMode::Cut {
                    return;
                }
            }
        }
    }
}

/// Runs `kefu ARGS` in `dir` with `stdin` as its input.
pub fn kefu(dir: &std::path::Path, args: &[&str], stdin: &str) -> std::process::Output {
    let mut child = std::process::Command::new(KEFU)
        .args(args)
        .current_dir(dir)
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// What a command that must succeed printed.
pub fn stdout(output: &std::process::Output) -> String {
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).into_owned()
}
