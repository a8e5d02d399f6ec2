//! This server as a node of a cluster (`kefu serve --node-url`): the nodes share one MySQL or
//! MariaDB database, and each site's room runs on the one node holding the site's lease
//! ([`crate::store::ClusterStore`]). A node takes a site's lease when a socket for it arrives and
//! nobody holds it, renews its leases every third of their life, and gives up every room whose
//! lease it could not renew in time, before another node may take it. Writes carry the lease's
//! fence, so a room that lost its site stores nothing more. A socket for a site held elsewhere is
//! told where to go (`reconnect` with `url`, close 4010).

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::Instant;

use chat_core::ids::{Millis, SiteId};
pub(crate) use chat_core::routes::socket_url;
use chat_core::routes::{RouteNode, RoutesTable, key_digest};

use super::hub::Hub;
use crate::clock::now;
use crate::config::ClusterSettings;
use crate::store::{Lease, Node, Store, StoreResult};

/// How a node's rooms end their hold on a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Leaving {
    /// The lease is gone (it lapsed, or another node has it): stop at once, store nothing more.
    Lost,
    /// Move the room to the node named: store what the room holds, then hand the lease over.
    MoveTo(String),
}

/// Where a socket's site lives.
#[derive(Debug)]
pub(crate) enum Placement {
    /// Here, under this fence.
    Here(u64),
    /// On another node, reached at this address.
    Elsewhere(String),
}

/// This node.
#[derive(Debug)]
pub struct ClusterNode {
    settings: ClusterSettings,
    store: Arc<dyn Store>,
    /// The cluster's nodes as last read, by name.
    nodes: Mutex<HashMap<String, Node>>,
    /// When this node last renewed its leases: rooms end before a lease can lapse unrenewed.
    renewed: Mutex<Instant>,
    /// Whether this node is draining: it takes no site it does not hold already.
    draining: AtomicBool,
}

impl ClusterNode {
    pub(crate) fn new(settings: ClusterSettings, store: Arc<dyn Store>) -> Arc<ClusterNode> {
        Arc::new(ClusterNode {
            settings,
            store,
            nodes: Mutex::new(HashMap::new()),
            renewed: Mutex::new(Instant::now()),
            draining: AtomicBool::new(false),
        })
    }

    /// This node's name.
    pub fn name(&self) -> &str {
        &self.settings.name
    }

    fn ttl_ms(&self) -> u64 {
        u64::try_from(self.settings.lease.as_millis()).unwrap_or(u64::MAX)
    }

    /// Where the site's room is to run: here (the lease taken or held), or on the node holding it.
    pub(crate) async fn place(&self, site: &SiteId) -> StoreResult<Placement> {
        if self.draining.load(Ordering::Relaxed) {
            // A draining node keeps what it holds until it is moved, and takes nothing new while
            // another node can.
            let held = self.store.lease(site).await?.filter(|lease| lease.held_by(self.name(), now()));
            if let Some(lease) = held {
                return Ok(Placement::Here(lease.fence));
            }
            let url = self.route(site).await?;
            if url != self.settings.url {
                return Ok(Placement::Elsewhere(url));
            }
        }
        let lease = self.store.acquire_lease(site, self.name(), now(), self.ttl_ms()).await?;
        if lease.node == self.name() {
            return Ok(Placement::Here(lease.fence));
        }
        Ok(Placement::Elsewhere(self.url_of(&lease.node).await?))
    }

    /// A node's address (this one's for an unknown node: the client asks again from here).
    pub(crate) async fn url_of(&self, node: &str) -> StoreResult<String> {
        if let Some(known) = self.nodes.lock().unwrap_or_else(PoisonError::into_inner).get(node) {
            return Ok(known.url.clone());
        }
        self.read_nodes().await?;
        let nodes = self.nodes.lock().unwrap_or_else(PoisonError::into_inner);
        Ok(nodes.get(node).map_or_else(|| self.settings.url.clone(), |known| known.url.clone()))
    }

    async fn read_nodes(&self) -> StoreResult<Vec<Node>> {
        let nodes = self.store.nodes().await?;
        *self.nodes.lock().unwrap_or_else(PoisonError::into_inner) =
            nodes.iter().map(|node| (node.name.clone(), node.clone())).collect();
        Ok(nodes)
    }

    /// The address of the node that hosts a site's room, or will: the lease holder's, else the
    /// live node (not draining) holding the fewest sites.
    pub(crate) async fn route(&self, site: &SiteId) -> StoreResult<String> {
        if let Some(lease) = self.store.lease(site).await?.filter(|lease| lease.expires_at > now()) {
            return self.url_of(&lease.node).await;
        }
        let table = self.table().await?;
        Ok(table.least_loaded().map_or_else(|| self.settings.url.clone(), |node| node.url.clone()))
    }

    /// The routes table a router in front of the cluster keeps (`GET /route`): the live nodes and
    /// the node hosting each site that has a room now.
    pub(crate) async fn table(&self) -> StoreResult<RoutesTable> {
        let at = now();
        let hosted = self.store.hosted_sites(at).await?;
        let nodes = self.read_nodes().await?;
        Ok(routes_table(nodes, &hosted, at, self.ttl_ms()))
    }

    /// Gives the lease to `to` (a move), if this node still holds it with `fence`.
    pub(crate) async fn hand_over(&self, site: &SiteId, fence: u64, to: &str) -> StoreResult<bool> {
        let handed = self.store.hand_over_lease(site, self.name(), fence, to, now(), self.ttl_ms()).await?;
        Ok(handed.is_some())
    }

    /// Lets the lease lapse at once: the room stopped (idle), so the next socket may start it
    /// on any node.
    pub(crate) async fn release(&self, site: &SiteId, fence: u64) {
        if let Err(error) = self.store.release_lease(site, self.name(), fence).await {
            tracing::warn!(%error, site = %site, "a lease could not be released; it lapses by itself");
        }
    }

    /// Says this node is alive and renews its leases every third of their life; tells the hub of
    /// leases lost and moves asked for. A node that cannot renew in time gives up every room.
    pub(crate) async fn keep(self: Arc<Self>, hub: Weak<Hub>) {
        let period = self.settings.lease / 3;
        // Rooms end this long before their leases could lapse, so no two nodes ever host one.
        let margin = self.settings.lease / 4;
        loop {
            let Some(hub) = hub.upgrade() else { return };
            if hub.is_shutting_down() {
                return;
            }
            match self.renew().await {
                Ok(leases) => {
                    *self.renewed.lock().unwrap_or_else(PoisonError::into_inner) = Instant::now();
                    // A draining node sends its rooms to the node with the fewest sites.
                    let drain_to = if self.is_draining().await { self.next_home().await } else { None };
                    hub.leases_renewed(&leases, drain_to);
                }
                Err(error) => {
                    let since = self.renewed.lock().unwrap_or_else(PoisonError::into_inner).elapsed();
                    tracing::warn!(%error, "this node could not renew its leases");
                    if since + period + margin >= self.settings.lease {
                        hub.leave_all(Leaving::Lost);
                    }
                }
            }
            drop(hub);
            tokio::time::sleep(period).await;
        }
    }

    async fn renew(&self) -> StoreResult<Vec<Lease>> {
        let at = now();
        self.store.node_alive(self.name(), &self.settings.url, at).await?;
        self.store.renew_leases(self.name(), at, self.ttl_ms()).await
    }

    async fn is_draining(&self) -> bool {
        let draining = match self.read_nodes().await {
            Ok(nodes) => nodes.iter().any(|node| node.name == self.settings.name && node.draining),
            Err(_) => self.draining.load(Ordering::Relaxed),
        };
        self.draining.store(draining, Ordering::Relaxed);
        draining
    }

    /// The node a draining node gives a site to: the live one, other than this, with the fewest.
    pub(crate) async fn next_home(&self) -> Option<String> {
        let mut table = self.table().await.ok()?;
        table.nodes.retain(|node| node.name != self.settings.name);
        table.least_loaded().map(|node| node.name.clone())
    }
}

/// The cluster as a router sees it: the nodes heard from within a lease's life, each with the
/// number of sites it hosts, and the host of each site (by [`key_digest`]).
fn routes_table(nodes: Vec<Node>, hosted: &[(String, String)], at: Millis, ttl_ms: u64) -> RoutesTable {
    let mut held: HashMap<&str, u32> = HashMap::new();
    for (_, node) in hosted {
        *held.entry(node.as_str()).or_default() += 1;
    }
    let nodes = nodes
        .into_iter()
        .filter(|node| node.heartbeat_at.0 + ttl_ms > at.0)
        .map(|node| RouteNode {
            sites: held.get(node.name.as_str()).copied().unwrap_or(0),
            name: node.name,
            url: node.url,
            draining: node.draining,
        })
        .collect();
    let sites = hosted.iter().map(|(key, node)| (key_digest(key), node.clone())).collect();
    RoutesTable { nodes, sites, fresh_ms: ttl_ms }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(name: &str, heartbeat: u64, draining: bool) -> Node {
        Node { name: name.into(), url: format!("http://{name}"), heartbeat_at: Millis(heartbeat), draining }
    }

    fn hosted(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs.iter().map(|(site, node)| ((*site).to_owned(), (*node).to_owned())).collect()
    }

    #[test]
    fn new_sites_go_to_the_live_node_with_the_fewest_and_never_to_a_draining_or_silent_one() {
        let nodes = || {
            vec![
                node("a", 10_000, false),
                node("b", 10_000, false),
                node("c", 10_000, true),
                node("d", 1, false),
            ]
        };
        // Only live leases are hosted sites: a holds two, b one; c drains; d has not been heard from.
        let sites = hosted(&[("k1", "a"), ("k2", "a"), ("k3", "b")]);
        let table = routes_table(nodes(), &sites, Millis(12_000), 10_000);
        assert_eq!(
            table.nodes.iter().map(|n| (n.name.as_str(), n.sites)).collect::<Vec<_>>(),
            [("a", 2), ("b", 1), ("c", 0)]
        );
        assert_eq!(table.least_loaded().map(|n| n.name.as_str()), Some("b"));
        assert_eq!(table.host("k1").map(|n| n.name.as_str()), Some("a"));
        let later = routes_table(nodes(), &[], Millis(30_000), 10_000);
        assert_eq!(later.least_loaded(), None, "nobody alive");
    }
}
