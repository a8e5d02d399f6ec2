//! The rooms of every active site, started on first use and stopped when idle, and the orderly
//! shutdown of sockets, rooms and the writer.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chat_core::ids::{AgentId, ConnId, Millis, SiteId};
use chat_core::limits::CLOSED_RETENTION_MS;
use chat_core::room::{Input, SiteInfo, SiteRoom};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};
use tokio_util::task::TaskTracker;

use super::ConnLink;
use super::agent_sessions::{self, AgentSessions};
use super::cluster::{ClusterNode, Leaving, Placement};
use super::room_task::{RoomMsg, RoomTask};
use super::set_aside::SetAside;
use super::writer::Writer;
use crate::clock::now;
use crate::config::ClusterSettings;
use crate::metrics::Metrics;
use crate::store::{Lease, Site, Store, StoreError};

/// How long a stopping server waits for sockets to close after the rooms have stored everything.
const SOCKETS_GRACE: Duration = Duration::from_secs(3);

/// A running room's inbox.
#[derive(Clone, Debug)]
pub(crate) struct RoomHandle {
    tx: mpsc::UnboundedSender<RoomMsg>,
}

impl RoomHandle {
    /// Sends an input; false if the room is gone.
    pub(crate) fn send(&self, input: Input) -> bool {
        self.tx.send(RoomMsg::Input(input)).is_ok()
    }
}

/// Every live room of this server.
#[derive(Debug)]
pub struct Hub {
    store: Arc<dyn Store>,
    writer: Mutex<Option<Writer>>,
    writer_task: Mutex<Option<JoinHandle<()>>>,
    /// Sends to a room's inbox that start it (attach) happen under this lock, and a room retires
    /// under it only with an empty inbox: no socket can join a room that is stopping.
    rooms: Mutex<HashMap<SiteId, mpsc::UnboundedSender<RoomMsg>>>,
    /// Counts rooms retired. A room must start from a snapshot taken after the last room of its
    /// site stored its last write: a load that saw a retirement happen meanwhile is taken again.
    retirements: AtomicU64,
    next_conn: AtomicU64,
    shutdown: CancellationToken,
    room_tasks: TaskTracker,
    sockets: TaskTracker,
    room_idle: Duration,
    /// Each connected agent's sockets, so ending their sessions closes them.
    pub(crate) agent_sessions: AgentSessions,
    /// What `/metrics` reports.
    metrics: Arc<Metrics>,
    /// This server as a node of a cluster, if it is one.
    cluster: Option<Arc<ClusterNode>>,
    /// The fence of each running room's lease (cluster).
    fences: Mutex<HashMap<SiteId, u64>>,
    /// Sites whose rooms are moving to another node, by that node's address: their sockets are
    /// sent there.
    moving: Mutex<HashMap<SiteId, String>>,
    /// On a cluster a site's room starts one socket at a time: each start takes the lease anew
    /// (the next fence), so two starts must not race.
    starting: Mutex<HashMap<SiteId, Arc<tokio::sync::Mutex<()>>>>,
}

/// Why a socket could not join its site's room.
#[derive(Debug)]
pub(crate) enum AttachError {
    /// The database failed, or the server is stopping.
    Store(StoreError),
    /// Another node of the cluster hosts the room, at this address (`http(s)://…`).
    Elsewhere(String),
}

impl From<StoreError> for AttachError {
    fn from(error: StoreError) -> Self {
        AttachError::Store(error)
    }
}

impl Hub {
    /// A hub storing through `store` whose rooms stop after `room_idle` without sockets; starts
    /// the writer, which sets refused writes aside in `data_dir`.
    pub fn new(
        store: Arc<dyn Store>,
        room_idle: Duration,
        data_dir: std::path::PathBuf,
        cluster: Option<ClusterSettings>,
    ) -> Arc<Hub> {
        let metrics = Arc::new(Metrics::default());
        let cluster = cluster.map(|settings| ClusterNode::new(settings, Arc::clone(&store)));
        let (writer, writer_task) =
            Writer::start(Arc::clone(&store), SetAside::new(data_dir), Arc::clone(&metrics));
        let hub = Arc::new(Hub {
            store,
            writer: Mutex::new(Some(writer)),
            writer_task: Mutex::new(Some(writer_task)),
            rooms: Mutex::new(HashMap::new()),
            retirements: AtomicU64::new(0),
            next_conn: AtomicU64::new(1),
            shutdown: CancellationToken::new(),
            room_tasks: TaskTracker::new(),
            sockets: TaskTracker::new(),
            room_idle,
            agent_sessions: AgentSessions::default(),
            metrics,
            cluster: cluster.clone(),
            fences: Mutex::new(HashMap::new()),
            moving: Mutex::new(HashMap::new()),
            starting: Mutex::new(HashMap::new()),
        });
        tokio::spawn(agent_sessions::watch(Arc::downgrade(&hub)));
        if let Some(cluster) = cluster {
            tokio::spawn(cluster.keep(Arc::downgrade(&hub)));
        }
        hub
    }

    /// This server as a node of a cluster, if it is one.
    pub fn cluster(&self) -> Option<&Arc<ClusterNode>> {
        self.cluster.as_ref()
    }

    /// The records.
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub(crate) fn room_idle(&self) -> Duration {
        self.room_idle
    }

    /// The server's counters.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Rooms running now.
    pub fn running_rooms(&self) -> usize {
        self.rooms.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub(crate) fn next_conn(&self) -> ConnId {
        ConnId(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Socket tasks run under this tracker so shutdown can wait for them.
    pub(crate) fn sockets(&self) -> &TaskTracker {
        &self.sockets
    }

    /// Joins a socket to a site's room, starting the room if it is not running.
    pub(crate) async fn attach(
        self: &Arc<Self>,
        site: &Site,
        conn: ConnId,
        link: ConnLink,
        join: Input,
    ) -> Result<RoomHandle, AttachError> {
        let mut attach = RoomMsg::Attach { conn, link, join };
        loop {
            if let Some(url) = self.moving.lock().unwrap_or_else(PoisonError::into_inner).get(&site.id) {
                return Err(AttachError::Elsewhere(url.clone()));
            }
            {
                let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
                if let Some(tx) = rooms.get(&site.id).cloned() {
                    match tx.send(attach) {
                        Ok(()) => return Ok(RoomHandle { tx }),
                        Err(mpsc::error::SendError(message)) => {
                            // The task ended without retiring (it panicked): start a new one.
                            attach = message;
                            rooms.remove(&site.id);
                        }
                    }
                }
            }
            let gate = self.cluster.as_ref().map(|_| self.start_gate(&site.id));
            let _starting = match &gate {
                Some(gate) => Some(gate.lock().await),
                None => None,
            };
            if gate.is_some()
                && self.rooms.lock().unwrap_or_else(PoisonError::into_inner).contains_key(&site.id)
            {
                continue; // Started while this socket waited: join it.
            }
            let retirements = self.retirements.load(Ordering::Acquire);
            // On a cluster the room runs where the site's lease is: taken before the room loads,
            // so what it loads includes everything the previous holder stored.
            let fence = match &self.cluster {
                Some(cluster) => match cluster.place(&site.id).await? {
                    Placement::Here(fence) => Some(fence),
                    Placement::Elsewhere(url) => return Err(AttachError::Elsewhere(url)),
                },
                None => None,
            };
            let closed_since = Millis(now().0.saturating_sub(CLOSED_RETENTION_MS));
            let stored = self.store.room_conversations(&site.tenant, &site.id, closed_since).await?;
            let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
            if rooms.contains_key(&site.id) || self.retirements.load(Ordering::Acquire) != retirements {
                continue; // Another socket started a room meanwhile (join it), or one retired (reload).
            }
            let Some(writer) = self.writer.lock().unwrap_or_else(PoisonError::into_inner).clone() else {
                return Err(StoreError::Unavailable("the server is stopping".to_owned()).into());
            };
            let (tx, rx) = mpsc::unbounded_channel();
            let room = SiteRoom::new(site_info(site), stored, now());
            let task = RoomTask::new(room, writer, tx.clone(), Arc::clone(self), fence);
            self.room_tasks.spawn(task.run(rx));
            let _ = tx.send(attach);
            rooms.insert(site.id.clone(), tx.clone());
            if let Some(fence) = fence {
                self.fences.lock().unwrap_or_else(PoisonError::into_inner).insert(site.id.clone(), fence);
            }
            return Ok(RoomHandle { tx });
        }
    }

    fn start_gate(&self, site: &SiteId) -> Arc<tokio::sync::Mutex<()>> {
        let mut starting = self.starting.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(starting.entry(site.clone()).or_default())
    }

    /// Called by an idle room: removes it unless something arrived meanwhile.
    pub(crate) fn retire(&self, site: &SiteId, inbox: &mpsc::UnboundedReceiver<RoomMsg>) -> bool {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if !inbox.is_empty() {
            return false;
        }
        rooms.remove(site);
        self.fences.lock().unwrap_or_else(PoisonError::into_inner).remove(site);
        self.starting.lock().unwrap_or_else(PoisonError::into_inner).remove(site);
        self.retirements.fetch_add(1, Ordering::AcqRel);
        true
    }

    /// Called by a room leaving this node (its lease lost, or moved): removes it whatever its
    /// inbox holds; sockets arriving later start a room wherever the lease says.
    pub(crate) fn leave(&self, site: &SiteId) {
        let mut rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        rooms.remove(site);
        self.fences.lock().unwrap_or_else(PoisonError::into_inner).remove(site);
        self.moving.lock().unwrap_or_else(PoisonError::into_inner).remove(site);
        self.starting.lock().unwrap_or_else(PoisonError::into_inner).remove(site);
        self.retirements.fetch_add(1, Ordering::AcqRel);
    }

    /// After this node renewed its leases: rooms whose lease is gone stop at once, rooms asked to
    /// move move, and on a draining node every room moves to `drain_to`.
    pub(crate) fn leases_renewed(self: &Arc<Self>, leases: &[Lease], drain_to: Option<String>) {
        let fences = self.fences.lock().unwrap_or_else(PoisonError::into_inner).clone();
        let moving: Vec<SiteId> =
            self.moving.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        for (site, fence) in fences {
            if moving.contains(&site) {
                continue;
            }
            match leases.iter().find(|lease| lease.site == site && lease.fence == fence) {
                None => self.tell_room(&site, Leaving::Lost),
                Some(Lease { move_to: Some(to), .. }) => self.move_room(site, to.clone()),
                Some(_) => {
                    if let Some(home) = &drain_to {
                        self.move_room(site, home.clone());
                    }
                }
            }
        }
    }

    /// Moves a running room to the node `to`: its sockets are sent there once it has handed the
    /// lease over.
    fn move_room(self: &Arc<Self>, site: SiteId, to: String) {
        let Some(cluster) = self.cluster.clone() else { return };
        if to == cluster.name() {
            return;
        }
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let url = match cluster.url_of(&to).await {
                Ok(url) => url,
                Err(error) => {
                    tracing::warn!(%error, site = %site, "a move waits: the nodes could not be read");
                    return;
                }
            };
            let first =
                hub.moving.lock().unwrap_or_else(PoisonError::into_inner).insert(site.clone(), url).is_none();
            if first {
                tracing::info!(site = %site, to = %to, "moving a room");
                hub.tell_room(&site, Leaving::MoveTo(to));
            }
        });
    }

    /// Every room leaves (this node could not renew its leases in time).
    pub(crate) fn leave_all(&self, leaving: Leaving) {
        let sites: Vec<SiteId> =
            self.fences.lock().unwrap_or_else(PoisonError::into_inner).keys().cloned().collect();
        for site in sites {
            self.tell_room(&site, leaving.clone());
        }
    }

    fn tell_room(&self, site: &SiteId, leaving: Leaving) {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = rooms.get(site) {
            let _ = tx.send(RoomMsg::Leave(leaving));
        }
    }

    /// Closes every socket of an agent whose account was disabled, deleted or given a new
    /// password or role: they must log in again.
    pub fn revoke_agent(&self, agent: &AgentId) {
        self.agent_sessions.revoke(agent);
    }

    /// Tells a running room its site was deleted: its sockets are sent away.
    pub fn site_deleted(&self, site: &SiteId) {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = rooms.get(site) {
            let _ = tx.send(RoomMsg::Input(Input::SiteRemoved));
        }
    }

    /// Tells a running room its site's settings changed.
    pub fn site_changed(&self, site: &Site) {
        let rooms = self.rooms.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tx) = rooms.get(&site.id) {
            let _ = tx.send(RoomMsg::Input(Input::SiteChanged(site_info(site))));
        }
    }

    /// Sockets currently open.
    pub fn open_sockets(&self) -> usize {
        self.sockets.len()
    }

    pub(crate) fn is_shutting_down(&self) -> bool {
        self.shutdown.is_cancelled()
    }

    pub(crate) fn shutting_down(&self) -> WaitForCancellationFuture<'_> {
        self.shutdown.cancelled()
    }

    /// Tells every client to reconnect, lets rooms store what they hold, and stops the writer.
    /// Gives up after `grace` (the database is down): unstored messages were never acknowledged,
    /// so their senders still hold them and send them again.
    pub async fn shutdown(&self, grace: Duration) {
        self.shutdown.cancel();
        self.sockets.close();
        self.room_tasks.close();
        // Rooms end once their writes are stored; then the writer, once its queue is.
        let stored = tokio::time::timeout(grace, self.room_tasks.wait()).await;
        drop(self.writer.lock().unwrap_or_else(PoisonError::into_inner).take());
        let writer_task = self.writer_task.lock().unwrap_or_else(PoisonError::into_inner).take();
        match (stored, writer_task) {
            (Ok(()), Some(task)) => {
                let _ = tokio::time::timeout(grace, task).await;
            }
            (Err(_), Some(task)) => {
                tracing::warn!("shutdown grace ran out with rooms still waiting for the database");
                task.abort();
            }
            (_, None) => {}
        }
        // Sockets were told to reconnect; a client that does not read is not waited for long.
        let _ = tokio::time::timeout(SOCKETS_GRACE, self.sockets.wait()).await;
    }
}

/// What a room needs of its site.
pub(crate) fn site_info(site: &Site) -> SiteInfo {
    SiteInfo {
        tenant: site.tenant.clone(),
        site: site.id.clone(),
        name: site.name.clone(),
        greeting: site.greeting.clone(),
        auto_assign: site.auto_assign,
        widget: site.widget.clone(),
        identity_secret: site.identity_secret.clone(),
    }
}
