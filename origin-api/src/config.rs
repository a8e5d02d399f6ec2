//! The one typed configuration. Each setting comes from, in rising precedence: its default, the
//! TOML file named by `--config` / `KEFU_CONFIG`, its environment variable, its flag.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;

/// The SQLite file used when no database URL is given.
pub const DEFAULT_DATABASE_URL: &str = "sqlite:./kefu-data/kefu.db";
/// The address served when none is given.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
/// Where files sent in chats are kept when no data directory is given (`files/` inside it).
pub const DEFAULT_DATA_DIR: &str = "./kefu-data";
/// The largest file a visitor or agent may upload, when not configured: 10 MiB.
pub const DEFAULT_MAX_UPLOAD_BYTES: u64 = 10 * 1024 * 1024;

/// A value that must never be printed (passwords in database URLs, keys).
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl FromStr for Secret {
    type Err = std::convert::Infallible;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        Ok(Secret(value.to_owned()))
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Secret(value.to_owned())
    }
}

/// Where the records are: all the admin commands need (`kefu tenant`, `site`, `agent`, `export`, …).
#[derive(Clone, Debug, Default, clap::Args)]
pub struct DatabaseArgs {
    /// A TOML file with any of the settings (names in snake_case; see `kefu serve --help`).
    #[arg(long, global = true, env = "KEFU_CONFIG")]
    pub config: Option<PathBuf>,
    /// Where records live [default: sqlite:./kefu-data/kefu.db].
    #[arg(long, global = true, env = "KEFU_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<Secret>,
}

/// Settings given on the command line or in the environment; every one is optional.
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ConfigArgs {
    /// The configuration file and the database.
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// Address to serve on [default: 127.0.0.1:8080].
    #[arg(long, env = "KEFU_LISTEN")]
    pub listen: Option<SocketAddr>,
    /// Folder for files sent in chats (kept in its `files/`) [default: ./kefu-data].
    #[arg(long, env = "KEFU_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Largest file a visitor or agent may upload, in bytes [default: 10485760].
    #[arg(long, env = "KEFU_MAX_UPLOAD_BYTES")]
    pub max_upload_bytes: Option<u64>,
    /// Lifetime of agent access tokens, in seconds [default: 900].
    #[arg(long, env = "KEFU_ACCESS_TOKEN_TTL_SECS")]
    pub access_token_ttl_secs: Option<u64>,
    /// Lifetime of refresh tokens, in days [default: 30].
    #[arg(long, env = "KEFU_REFRESH_TOKEN_TTL_DAYS")]
    pub refresh_token_ttl_days: Option<u64>,
    /// WebSockets one IP address may hold open [default: 200].
    #[arg(long, env = "KEFU_MAX_SOCKETS_PER_IP")]
    pub max_sockets_per_ip: Option<u32>,
    /// Messages one IP address may send per second, sustained [default: 30].
    #[arg(long, env = "KEFU_IP_SENDS_PER_SECOND")]
    pub ip_sends_per_second: Option<u32>,
    /// Messages one IP address may send in a burst [default: 100].
    #[arg(long, env = "KEFU_IP_SEND_BURST")]
    pub ip_send_burst: Option<u32>,
    /// New visitors (hellos without a visitor token) one IP address may bring per minute, also
    /// the burst [default: 120].
    #[arg(long, env = "KEFU_IP_NEW_VISITORS_PER_MINUTE")]
    pub ip_new_visitors_per_minute: Option<u32>,
    /// A reverse proxy in front of Kefu (repeat, or comma-separated in the environment): requests
    /// from it count against the address it names last in X-Forwarded-For [default: none].
    #[arg(long = "trusted-proxy", env = "KEFU_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<IpAddr>,
    /// Seconds a site's room stays in memory with nobody connected [default: 60].
    #[arg(long, env = "KEFU_ROOM_IDLE_SECS")]
    pub room_idle_secs: Option<u64>,
    /// An Ed25519 key to sign tokens with (its 32-byte seed in base64, or PEM); by default one is
    /// made once and kept in the database.
    #[arg(long, env = "KEFU_SIGNING_KEY", hide_env_values = true)]
    pub signing_key: Option<Secret>,
    /// The secret the edge (Worker and room objects) signs its requests with: setting it opens
    /// `/internal/v1/…` to them and makes `GET /api/v1/live` answer one endpoint per site, as the
    /// edge hosts each site's room [default: none, self-hosted].
    #[arg(long, env = "KEFU_EDGE_SECRET", hide_env_values = true)]
    pub edge_secret: Option<Secret>,
    /// The edge's address (its Worker), told when a tenant's sites or agents change so the room
    /// objects fetch them again [default: none].
    #[arg(long, env = "KEFU_EDGE_URL")]
    pub edge_url: Option<String>,
    /// The public half of the edge's `ROOM_SIGNING_KEY` (32 bytes in base64url, or PEM): visitor
    /// tokens the edge's rooms issue are good at the origin too (a visitor's history, uploads)
    /// [default: none].
    #[arg(long, env = "KEFU_EDGE_VISITOR_KEY")]
    pub edge_visitor_key: Option<String>,
    /// This server's address as clients reach it (`https://node2.example`): it makes the server
    /// a node of a cluster whose nodes share one MySQL/MariaDB database, each hosting some sites'
    /// rooms [default: none, one server].
    #[arg(long, env = "KEFU_NODE_URL")]
    pub node_url: Option<String>,
    /// This node's name in its cluster [default: the host and port of --node-url].
    #[arg(long, env = "KEFU_NODE_NAME")]
    pub node_name: Option<String>,
    /// Seconds a node's hold on a site lasts unrenewed: a node stopped or cut off for longer
    /// loses its sites to the others [default: 10].
    #[arg(long, env = "KEFU_LEASE_SECS")]
    pub lease_secs: Option<u64>,
    /// A token that opens `/metrics` to a scraper on another machine (`Authorization: Bearer`);
    /// without one, only this machine may read them [default: none].
    #[arg(long, env = "KEFU_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<Secret>,
}

/// The same settings as read from the TOML file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<SocketAddr>,
    database_url: Option<Secret>,
    data_dir: Option<PathBuf>,
    max_upload_bytes: Option<u64>,
    access_token_ttl_secs: Option<u64>,
    refresh_token_ttl_days: Option<u64>,
    max_sockets_per_ip: Option<u32>,
    ip_sends_per_second: Option<u32>,
    ip_send_burst: Option<u32>,
    ip_new_visitors_per_minute: Option<u32>,
    trusted_proxies: Option<Vec<IpAddr>>,
    room_idle_secs: Option<u64>,
    signing_key: Option<Secret>,
    edge_secret: Option<Secret>,
    edge_url: Option<String>,
    edge_visitor_key: Option<String>,
    metrics_token: Option<Secret>,
    node_url: Option<String>,
    node_name: Option<String>,
    lease_secs: Option<u64>,
}

/// Everything the server needs to know, resolved.
#[derive(Clone, Debug)]
pub struct Config {
    /// Address to serve on.
    pub listen: SocketAddr,
    /// Where records live.
    pub database_url: Secret,
    /// Files sent in chats are kept in its `files/` folder.
    pub data_dir: PathBuf,
    /// Largest upload, in bytes; larger ones are refused with 413.
    pub max_upload_bytes: u64,
    /// Lifetime of agent access tokens.
    pub access_token_ttl: Duration,
    /// Lifetime of refresh tokens.
    pub refresh_token_ttl: Duration,
    /// WebSockets one IP address may hold open; more are refused with HTTP 429.
    pub max_sockets_per_ip: u32,
    /// Messages one IP address may send per second across its sockets; more get `rate_limited`.
    pub ip_sends_per_second: u32,
    /// Messages one IP address may send in a burst.
    pub ip_send_burst: u32,
    /// New visitors one address may bring per minute (and in a burst): each is a new entry in a
    /// room, so opening and closing sockets must not fill a site.
    pub ip_new_visitors_per_minute: u32,
    /// Reverse proxies whose X-Forwarded-For is believed; everyone else's is ignored.
    pub trusted_proxies: Vec<IpAddr>,
    /// How long a site's room stays in memory with no socket and nothing to store; the next
    /// visitor starts it again from the database.
    pub room_idle: Duration,
    /// A socket that sends nothing for this long is closed (4004): the protocol's 75 s
    /// (`IDLE_TIMEOUT_MS`); not a setting, tests shorten it.
    pub socket_idle: Duration,
    /// A fixed token signing key, if configured.
    pub signing_key: Option<Secret>,
    /// The edge's secret: rooms live on the edge, which calls `/internal/v1/…` with it.
    pub edge_secret: Option<Secret>,
    /// The edge's address, told of changes.
    pub edge_url: Option<String>,
    /// Verifies the visitor tokens the edge's rooms issue.
    pub edge_visitor_key: Option<ed25519_dalek::VerifyingKey>,
    /// Opens `/metrics` to requests bearing it; without it, to loopback only.
    pub metrics_token: Option<Secret>,
    /// This server as a node of a cluster, if it is one.
    pub cluster: Option<ClusterSettings>,
}

/// A node of a cluster: its name, where clients reach it, how long its leases last.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterSettings {
    /// Its name, unique in the cluster.
    pub name: String,
    /// Its address as clients reach it, `http(s)://host[:port]` without a trailing slash.
    pub url: String,
    /// How long a lease on a site lasts unrenewed.
    pub lease: Duration,
}

/// How long a node's lease on a site lasts unrenewed when not configured.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(10);

impl ClusterSettings {
    fn new(
        url: &str,
        name: Option<String>,
        lease_secs: Option<u64>,
        database_url: &str,
    ) -> anyhow::Result<Self> {
        let url = url.trim_end_matches('/').to_owned();
        let host = url
            .strip_prefix("https://")
            .or_else(|| url.strip_prefix("http://"))
            .filter(|host| !host.is_empty() && !host.contains('/'))
            .ok_or_else(|| anyhow::anyhow!("--node-url is http(s)://HOST[:PORT], not {url}"))?;
        let scheme = database_url.split_once(':').map_or("", |(scheme, _)| scheme);
        anyhow::ensure!(
            matches!(scheme, "mysql" | "mariadb"),
            "a cluster keeps its records in MySQL or MariaDB, which every node reaches; the database here is {}",
            crate::store::describe_url(database_url)
        );
        let lease = lease_secs.map_or(DEFAULT_LEASE, Duration::from_secs);
        anyhow::ensure!(lease >= Duration::from_secs(2), "--lease-secs is at least 2");
        Ok(ClusterSettings { name: name.unwrap_or_else(|| host.to_owned()), url, lease })
    }
}

impl Config {
    /// Resolves the settings: flags and environment (already merged by clap) over the file over defaults.
    pub fn load(args: &ConfigArgs) -> anyhow::Result<Config> {
        let file = match &args.database.config {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .with_context(|| format!("cannot read the configuration file {}", path.display()))?;
                toml::from_str(&text)
                    .with_context(|| format!("the configuration file {} is invalid", path.display()))?
            }
            None => FileConfig::default(),
        };
        let defaults = Config::with_database(DEFAULT_DATABASE_URL);
        Config {
            listen: args.listen.or(file.listen).unwrap_or(defaults.listen),
            database_url: args
                .database
                .database_url
                .clone()
                .or(file.database_url)
                .unwrap_or(defaults.database_url),
            data_dir: args.data_dir.clone().or(file.data_dir).unwrap_or(defaults.data_dir),
            max_upload_bytes: args
                .max_upload_bytes
                .or(file.max_upload_bytes)
                .unwrap_or(defaults.max_upload_bytes),
            access_token_ttl: args
                .access_token_ttl_secs
                .or(file.access_token_ttl_secs)
                .map_or(defaults.access_token_ttl, Duration::from_secs),
            refresh_token_ttl: args
                .refresh_token_ttl_days
                .or(file.refresh_token_ttl_days)
                .map_or(defaults.refresh_token_ttl, |days| Duration::from_secs(days * 86_400)),
            max_sockets_per_ip: args
                .max_sockets_per_ip
                .or(file.max_sockets_per_ip)
                .unwrap_or(defaults.max_sockets_per_ip),
            ip_sends_per_second: args
                .ip_sends_per_second
                .or(file.ip_sends_per_second)
                .unwrap_or(defaults.ip_sends_per_second),
            ip_send_burst: args.ip_send_burst.or(file.ip_send_burst).unwrap_or(defaults.ip_send_burst),
            ip_new_visitors_per_minute: args
                .ip_new_visitors_per_minute
                .or(file.ip_new_visitors_per_minute)
                .unwrap_or(defaults.ip_new_visitors_per_minute),
            trusted_proxies: if args.trusted_proxies.is_empty() {
                file.trusted_proxies.unwrap_or_default()
            } else {
                args.trusted_proxies.clone()
            },
            room_idle: args
                .room_idle_secs
                .or(file.room_idle_secs)
                .map_or(defaults.room_idle, Duration::from_secs),
            socket_idle: defaults.socket_idle,
            signing_key: args.signing_key.clone().or(file.signing_key),
            edge_secret: args.edge_secret.clone().or(file.edge_secret),
            edge_url: args.edge_url.clone().or(file.edge_url),
            edge_visitor_key: args
                .edge_visitor_key
                .clone()
                .or(file.edge_visitor_key)
                .map(|key| public_key(&key))
                .transpose()?,
            metrics_token: args.metrics_token.clone().or(file.metrics_token),
            cluster: None,
        }
        .in_cluster(
            args.node_url.clone().or(file.node_url),
            args.node_name.clone().or(file.node_name),
            args.lease_secs.or(file.lease_secs),
        )
    }

    /// These settings on a node of a cluster at `url`, if one is given.
    fn in_cluster(
        mut self,
        url: Option<String>,
        name: Option<String>,
        lease_secs: Option<u64>,
    ) -> anyhow::Result<Config> {
        if let Some(url) = url {
            anyhow::ensure!(
                self.edge_secret.is_none(),
                "a cluster node hosts rooms itself; behind the edge (edge_secret) the edge hosts them"
            );
            self.cluster = Some(ClusterSettings::new(&url, name, lease_secs, self.database_url.expose())?);
        }
        Ok(self)
    }

    /// The defaults, with records at `database_url`.
    pub fn with_database(database_url: &str) -> Config {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            database_url: Secret::from(database_url),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            max_upload_bytes: DEFAULT_MAX_UPLOAD_BYTES,
            access_token_ttl: Duration::from_secs(15 * 60),
            refresh_token_ttl: Duration::from_secs(30 * 86_400),
            max_sockets_per_ip: 200,
            ip_sends_per_second: 30,
            ip_send_burst: 100,
            ip_new_visitors_per_minute: 120,
            trusted_proxies: Vec::new(),
            room_idle: Duration::from_secs(60),
            socket_idle: Duration::from_millis(chat_core::limits::IDLE_TIMEOUT_MS),
            signing_key: None,
            edge_secret: None,
            edge_url: None,
            edge_visitor_key: None,
            metrics_token: None,
            cluster: None,
        }
    }
}

/// An Ed25519 public key written as 32 bytes of base64url.
fn public_key(text: &str) -> anyhow::Result<ed25519_dalek::VerifyingKey> {
    chat_core::keys::public(text).ok_or_else(|| {
        anyhow::anyhow!(
            "the edge visitor key is not an Ed25519 public key ({})",
            chat_core::keys::KEY_FORMATS
        )
    })
}

impl DatabaseArgs {
    /// The settings with only these given: the configuration file still applies.
    pub fn load(&self) -> anyhow::Result<Config> {
        Config::load(&ConfigArgs { database: self.clone(), ..ConfigArgs::default() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_the_file_and_the_file_over_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kefu.toml");
        std::fs::write(&path, "listen = \"0.0.0.0:9000\"\nmax_sockets_per_ip = 5\n").unwrap();
        let database = DatabaseArgs { config: Some(path), database_url: None };
        let args = ConfigArgs { database, max_sockets_per_ip: Some(7), ..ConfigArgs::default() };
        let config = Config::load(&args).unwrap();
        assert_eq!(config.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.max_sockets_per_ip, 7);
        assert_eq!(config.database_url.expose(), DEFAULT_DATABASE_URL);
    }

    #[test]
    fn unknown_file_settings_and_secrets_in_debug_output() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kefu.toml");
        std::fs::write(&path, "lisen = \"0.0.0.0:9000\"\n").unwrap();
        let database = DatabaseArgs { config: Some(path), database_url: None };
        let error = Config::load(&ConfigArgs { database, ..ConfigArgs::default() }).unwrap_err();
        assert!(format!("{error:#}").contains("unknown field `lisen`"), "{error:#}");

        let config = Config::with_database("mysql://kefu:hunter2@db/kefu");
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
