//! Where the Kefu server is: the address the agent typed at first start, checked, kept in the
//! app's configuration directory.

use std::net::{TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tauri::{AppHandle, Manager};
use url::Url;

const FILE: &str = "server.json";
const PROBE_TIMEOUT: Duration = Duration::from_secs(4);

/// A server's origin: `https://chat.example.com` or `http://10.0.0.5:8080`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Server(Url);

impl Server {
    /// The origin of what the agent typed; a missing scheme means https.
    pub fn parse(typed: &str) -> Option<Server> {
        let typed = typed.trim();
        let with_scheme = if typed.contains("://") { typed.to_owned() } else { format!("https://{typed}") };
        let url = Url::parse(&with_scheme).ok()?;
        if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none_or(str::is_empty) {
            return None;
        }
        Url::parse(&url.origin().ascii_serialization()).ok().map(Server)
    }

    /// `scheme://host[:port]`, without a trailing slash.
    pub fn origin(&self) -> String {
        self.0.origin().ascii_serialization()
    }

    /// The console's page on it.
    pub fn console(&self) -> Url {
        self.0.join("/console/").unwrap_or_else(|_| self.0.clone())
    }

    /// Whether something accepts connections there (a typo in the host or the port shows at once;
    /// the console says the rest).
    pub fn answers(&self) -> bool {
        let (Some(host), Some(port)) = (self.0.host_str(), self.0.port_or_known_default()) else {
            return false;
        };
        let host = host.trim_start_matches('[').trim_end_matches(']');
        let Ok(addresses) = (host, port).to_socket_addrs() else { return false };
        addresses.into_iter().any(|address| TcpStream::connect_timeout(&address, PROBE_TIMEOUT).is_ok())
    }
}

#[derive(Serialize, Deserialize)]
struct Saved {
    server: String,
}

fn file(app: &AppHandle) -> Option<PathBuf> {
    app.path().app_config_dir().ok().map(|dir| dir.join(FILE))
}

/// The server chosen before, if any.
pub fn load(app: &AppHandle) -> Option<Server> {
    let text = std::fs::read_to_string(file(app)?).ok()?;
    let saved: Saved = serde_json::from_str(&text).ok()?;
    Server::parse(&saved.server)
}

/// Remembers the server for the next start.
pub fn save(app: &AppHandle, server: &Server) -> std::io::Result<()> {
    let path = file(app).ok_or_else(|| std::io::Error::other("no configuration directory"))?;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let text = serde_json::to_string(&Saved { server: server.origin() }).map_err(std::io::Error::other)?;
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_the_agent_types_becomes_an_origin() {
        let origin = |typed: &str| Server::parse(typed).map(|s| s.origin());
        assert_eq!(origin("https://chat.example.com/console/"), Some("https://chat.example.com".into()));
        assert_eq!(origin(" chat.example.com "), Some("https://chat.example.com".into()), "https by default");
        assert_eq!(origin("http://10.0.0.5:8080"), Some("http://10.0.0.5:8080".into()));
        assert_eq!(origin("HTTP://Chat.Example.com:80/x?y"), Some("http://chat.example.com".into()));
        assert_eq!(origin("ftp://chat.example.com"), None);
        assert_eq!(origin("https://"), None);
        assert_eq!(origin(""), None);
        let server = Server::parse("http://127.0.0.1:9").unwrap();
        assert_eq!(server.console().as_str(), "http://127.0.0.1:9/console/");
    }
}
