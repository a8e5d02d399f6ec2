//! Where a visitor's socket goes on a cluster of `kefu serve` nodes, shared by the nodes and by
//! the router that answers for them (`edge-router` built for Spin, docs/deploy.md).
//!
//! Any node answers `GET /route/{site_key}` ([`Route`]) from the database. A router in front of the
//! cluster answers the same from a [`RoutesTable`] it fetched from a node (`GET /route`) and keeps
//! for a few seconds: the nodes, and which node hosts each site that has a room now. The table
//! names a site by a digest of its key ([`key_digest`]), so it tells no one which sites exist.
//! An answer a little old is safe: a socket that reaches a node that no longer hosts its site is
//! sent on (`reconnect` with `url`, close 4010).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The path of a visitor's socket, on whichever node.
pub fn visitor_path(site_key: &str) -> String {
    format!("/ws/visitor?site={site_key}")
}

/// The WebSocket address of `path` (with its query) on the node at `base` (`http(s)://…`).
pub fn socket_url(base: &str, path: &str) -> String {
    let base = base.trim_end_matches('/');
    let base = if let Some(rest) = base.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if let Some(rest) = base.strip_prefix("http://") {
        format!("ws://{rest}")
    } else {
        base.to_owned()
    };
    format!("{base}{path}")
}

/// Whether `key` can be a site key at all (what is looked up; anything else is unknown at once).
pub fn plausible_key(key: &str) -> bool {
    !key.is_empty() && key.len() <= 64 && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// How a routes table names a site: the first 16 hex digits of the SHA-256 of its key.
pub fn key_digest(site_key: &str) -> String {
    let digest = Sha256::digest(site_key.as_bytes());
    digest[..8].iter().map(|byte| format!("{byte:02x}")).collect()
}

/// `GET /route/{site_key}`: where the site's visitors connect.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// A WebSocket URL, or (from a single server) a path on the server asked.
    pub url: String,
}

/// `GET /route` on a cluster node: the cluster as a router needs it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutesTable {
    /// Every node that said it is alive within a lease's life.
    pub nodes: Vec<RouteNode>,
    /// The sites that have a room now: [`key_digest`] of the key → the name of the hosting node.
    pub sites: BTreeMap<String, String>,
    /// How long the table may be used, in milliseconds (the cluster's lease life).
    pub fresh_ms: u64,
}

/// A live node of the cluster.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteNode {
    /// Its name (`--node-name`).
    pub name: String,
    /// Where clients reach it (`http(s)://…`).
    pub url: String,
    /// How many sites' rooms it hosts.
    pub sites: u32,
    /// Whether it is giving its sites away (it takes no new ones).
    pub draining: bool,
}

impl RoutesTable {
    /// The node hosting the site's room, if it has one now.
    pub fn host(&self, site_key: &str) -> Option<&RouteNode> {
        let name = self.sites.get(&key_digest(site_key))?;
        self.nodes.iter().find(|node| &node.name == name)
    }

    /// Where a new room would start: the node, not draining, with the fewest sites.
    pub fn least_loaded(&self) -> Option<&RouteNode> {
        self.nodes.iter().filter(|node| !node.draining).min_by_key(|node| (node.sites, &node.name))
    }

    /// Where the visitors of a site with a room now connect.
    pub fn route(&self, site_key: &str) -> Option<Route> {
        let node = self.host(site_key)?;
        Some(Route { url: socket_url(&node.url, &visitor_path(site_key)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, sites: u32, draining: bool) -> RouteNode {
        RouteNode { name: name.into(), url: format!("https://{name}.example"), sites, draining }
    }

    #[test]
    fn socket_urls_follow_the_scheme_of_the_node() {
        assert_eq!(
            socket_url("https://a.example/", "/ws/visitor?site=k_1"),
            "wss://a.example/ws/visitor?site=k_1"
        );
        assert_eq!(socket_url("http://127.0.0.1:9000", "/ws/agent"), "ws://127.0.0.1:9000/ws/agent");
        assert_eq!(socket_url("wss://b.example", "/ws/agent"), "wss://b.example/ws/agent");
    }

    #[test]
    fn the_table_answers_for_sites_with_a_room_and_hides_their_keys() {
        let mut table =
            RoutesTable { nodes: vec![node("n1", 2, false), node("n2", 1, false)], ..Default::default() };
        table.sites.insert(key_digest("k_abc"), "n1".into());
        let json = serde_json::to_string(&table).unwrap();
        assert!(!json.contains("k_abc"), "{json}");
        let mut table: RoutesTable = serde_json::from_str(&json).unwrap();
        assert_eq!(table.route("k_abc").unwrap().url, "wss://n1.example/ws/visitor?site=k_abc");
        assert_eq!(table.route("k_other"), None);
        // A site held by a node the table no longer lists has no answer here.
        table.sites.insert(key_digest("k_gone"), "n9".into());
        assert_eq!(table.route("k_gone"), None);
    }

    #[test]
    fn new_rooms_go_to_the_node_with_the_fewest_sites_that_is_not_draining() {
        let table = RoutesTable {
            nodes: vec![node("n1", 0, true), node("n2", 3, false), node("n3", 3, false)],
            ..Default::default()
        };
        assert_eq!(table.least_loaded().unwrap().name, "n2");
        let drained = RoutesTable { nodes: vec![node("n1", 0, true)], ..Default::default() };
        assert_eq!(drained.least_loaded(), None);
    }

    #[test]
    fn digests_are_short_and_stable() {
        assert_eq!(key_digest("k_abc").len(), 16);
        assert_eq!(key_digest("k_abc"), key_digest("k_abc"));
        assert_ne!(key_digest("k_abc"), key_digest("k_abd"));
        assert!(plausible_key("k_0123abc"));
        assert!(!plausible_key("k/../x") && !plausible_key("") && !plausible_key(&"k".repeat(65)));
    }
}
