//! Group commit: one task stores the writes of every room. While one transaction commits, new
//! writes queue up and go into the next, so the number of transactions (and fsyncs) stays small
//! however many messages arrive; while writes pour in, the next commit starts no sooner than
//! [`GATHER`] after the last began. Each room hears `Committed` for the last of its writes in a batch.
//!
//! A batch the database cannot take now (it is away, busy, full) is retried with backoff until it
//! commits: nothing was acknowledged for it, rooms hold further writes meanwhile (and refuse sends
//! once they hold too many, or have waited too long), clients keep their outboxes. Inserts skip existing rows, so retrying
//! a batch that did commit stores nothing twice. A batch the database refuses outright is stored
//! in halves until the refused writes are found; each, refused again, is set aside
//! (`set_aside`) and the rest flows on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_core::ids::SiteId;
use chat_core::records::WriteOp;
use chat_core::room::{Input, WriteId};
use tokio::sync::mpsc;

use super::cluster::Leaving;
use super::room_task::RoomMsg;
use super::set_aside::SetAside;
use crate::metrics::Metrics;
use crate::store::{Store, StoreError};

/// Most writes in one transaction.
const MAX_BATCH: usize = 2_000;
/// Least time from the start of one commit to the start of the next while writes pour in
/// (docs/benchmarks.md: at 10,000 msg/s, an eighth less server CPU per message).
const GATHER: Duration = Duration::from_millis(2);
/// Writes a second (messages, conversation changes, page views) from which commits are gathered.
const GATHER_ABOVE_PER_SECOND: f64 = 5_000.0;
/// First wait after a failed commit; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
/// Longest wait between retries of a failed commit.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How often one write must be refused before it is set aside: a refusal that is really a hiccup
/// does not cost a message.
const REFUSALS_BEFORE_SETTING_ASIDE: u32 = 3;

/// How fast writes came lately: their count and the time they took, both fading with a time
/// constant of [`PACE_WINDOW`]. The writes of one short moment say little (at 2,000 a second, three
/// within a millisecond is common); their rate over the last tenth of a second says how they pour.
#[derive(Debug, Default)]
struct Pace {
    writes: f64,
    seconds: f64,
}

/// How far back [`Pace`] looks.
const PACE_WINDOW: Duration = Duration::from_millis(100);

impl Pace {
    /// Counts `writes` that came in `took`.
    fn add(&mut self, writes: usize, took: Duration) {
        let kept = (-took.as_secs_f64() / PACE_WINDOW.as_secs_f64()).exp();
        self.writes = self.writes * kept + writes as f64;
        self.seconds = self.seconds * kept + took.as_secs_f64();
    }

    /// Writes a second lately.
    fn per_second(&self) -> f64 {
        if self.seconds > 0.0 { self.writes / self.seconds } else { 0.0 }
    }
}

/// One room's write.
#[derive(Debug)]
pub(crate) struct WriteItem {
    /// Where to report the commit.
    pub(crate) room: mpsc::UnboundedSender<RoomMsg>,
    pub(crate) id: WriteId,
    pub(crate) op: WriteOp,
    /// The site and fence of the room's lease, on a cluster: stored only while the lease is.
    pub(crate) fence: Option<(SiteId, u64)>,
}

/// Hands writes to the writer task.
#[derive(Clone, Debug)]
pub(crate) struct Writer {
    tx: mpsc::UnboundedSender<WriteItem>,
    metrics: Arc<Metrics>,
}

impl Writer {
    /// Starts the writer task; it ends when every `Writer` is dropped and the queue is stored.
    pub(crate) fn start(
        store: Arc<dyn Store>,
        set_aside: SetAside,
        metrics: Arc<Metrics>,
    ) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let task = tokio::spawn(run(store, set_aside, Arc::clone(&metrics), rx));
        (Writer { tx, metrics }, task)
    }

    pub(crate) fn submit(&self, item: WriteItem) {
        self.metrics.writes_queued(1);
        // The writer outlives every room (it stops only when all senders are gone).
        let _ = self.tx.send(item);
    }
}

async fn run(
    store: Arc<dyn Store>,
    set_aside: SetAside,
    metrics: Arc<Metrics>,
    mut rx: mpsc::UnboundedReceiver<WriteItem>,
) {
    let mut batch = Vec::new();
    let mut last_commit = Instant::now();
    let mut pace = Pace::default();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        // While writes pour in, they are gathered for a moment after the last commit began, so a
        // commit (its WAL pages, its fsync) serves dozens of messages rather than a few, and the
        // server keeps its time for the sockets. At a lighter pace each commit starts at once:
        // latency then matters more than the CPU a commit costs.
        let since = last_commit.elapsed();
        if pace.per_second() >= GATHER_ABOVE_PER_SECOND && since < GATHER && batch.len() < MAX_BATCH / 4 {
            tokio::time::sleep(GATHER - since).await;
            while batch.len() < MAX_BATCH {
                let Ok(item) = rx.try_recv() else { break };
                batch.push(item);
            }
        }
        pace.add(batch.len(), last_commit.elapsed());
        last_commit = Instant::now();
        let queued = batch.len();
        let (mut ops, mut receipts): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|item| (item.op, (item.room, item.id, item.fence))).unzip();
        // A room that lost its site's lease has its writes dropped (its clients send again to
        // the node that holds it now), and the others are stored.
        while let Err(site) = store_all(&*store, &set_aside, &metrics, &ops, &fences_of(&receipts)).await {
            tracing::warn!(site = %site, "writes of a room that lost its site were dropped");
            let mut kept = Vec::with_capacity(ops.len());
            let mut kept_receipts = Vec::with_capacity(receipts.len());
            for (op, receipt) in ops.into_iter().zip(receipts) {
                if receipt.2.as_ref().is_some_and(|(fenced, _)| *fenced == site) {
                    let _ = receipt.0.send(RoomMsg::Leave(Leaving::Lost));
                } else {
                    kept.push(op);
                    kept_receipts.push(receipt);
                }
            }
            (ops, receipts) = (kept, kept_receipts);
        }
        metrics.writes_done(queued);
        let receipts = receipts.into_iter().map(|(room, id, _)| (room, id)).collect();
        for (room, through) in last_per_room(receipts) {
            let _ = room.send(RoomMsg::Input(Input::Committed { through }));
        }
    }
}

/// Where a write's commit is reported, its id, and the lease it was made under.
type Receipt = (mpsc::UnboundedSender<RoomMsg>, WriteId, Option<(SiteId, u64)>);

/// The fence of each site in a batch, once.
fn fences_of(receipts: &[Receipt]) -> Vec<(SiteId, u64)> {
    let mut fences: Vec<(SiteId, u64)> = Vec::new();
    for fence in receipts.iter().filter_map(|(_, _, fence)| fence.as_ref()) {
        if !fences.contains(fence) {
            fences.push(fence.clone());
        }
    }
    fences
}

/// Stores `ops`, in order, waiting out the database's absences; returns once every write is
/// stored or (refused for good) set aside, or with the site whose lease's fence is no longer the
/// one given (cluster): then nothing of `ops` may have been stored, or some of it, and it is to
/// be stored again without that site's writes (inserts skip the rows that exist).
async fn store_all(
    store: &dyn Store,
    set_aside: &SetAside,
    metrics: &Metrics,
    ops: &[WriteOp],
    fences: &[(SiteId, u64)],
) -> Result<(), SiteId> {
    let mut delay = FIRST_RETRY_DELAY;
    let mut refusals = 0;
    loop {
        let started = Instant::now();
        let stored = if fences.is_empty() {
            store.apply_writes(ops).await
        } else {
            store.apply_fenced_writes(ops, fences).await
        };
        let error = match stored {
            Ok(()) => {
                let messages = ops.iter().filter(|op| matches!(op, WriteOp::Message { .. })).count();
                metrics.committed(ops.len(), messages, started.elapsed());
                return Ok(());
            }
            Err(StoreError::Fenced(site)) => return Err(site),
            Err(error) => error,
        };
        metrics.database_error();
        if !error.is_transient() && ops.len() > 1 {
            // Something in the batch is refused: store its halves apart, in order, to find it.
            let (first, second) = ops.split_at(ops.len() / 2);
            Box::pin(store_all(store, set_aside, metrics, first, fences)).await?;
            Box::pin(store_all(store, set_aside, metrics, second, fences)).await?;
            return Ok(());
        }
        if !error.is_transient() {
            refusals += 1;
        }
        if refusals >= REFUSALS_BEFORE_SETTING_ASIDE
            && let Some(op) = ops.first()
        {
            match set_aside.keep(op, &error.to_string()) {
                Ok(()) => {
                    metrics.set_aside();
                    if let Some(stand_in) = SetAside::stand_in(op)
                        && let Err(error) = store.apply_writes(std::slice::from_ref(&stand_in)).await
                    {
                        tracing::error!(%error, "the stand-in of a set-aside message was refused too");
                    }
                    return Ok(());
                }
                // Not kept: the write is not given up on.
                Err(kept) => {
                    tracing::error!(error = %kept, "a refused write could not be set aside; retrying")
                }
            }
        }
        tracing::error!(%error, writes = ops.len(), "storing writes failed; retrying");
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(MAX_RETRY_DELAY);
    }
}

/// The last write id of each room, in the order rooms first appear.
fn last_per_room(
    receipts: Vec<(mpsc::UnboundedSender<RoomMsg>, WriteId)>,
) -> Vec<(mpsc::UnboundedSender<RoomMsg>, WriteId)> {
    let mut last: Vec<(mpsc::UnboundedSender<RoomMsg>, WriteId)> = Vec::new();
    for (room, id) in receipts {
        match last.iter_mut().find(|(known, _)| known.same_channel(&room)) {
            Some((_, through)) => *through = (*through).max(id),
            None => last.push((room, id)),
        }
    }
    last
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paced(pace: &mut Pace, per_commit: &[(usize, u64)], times: usize) {
        for _ in 0..times {
            for &(writes, micros) in per_commit {
                pace.add(writes, Duration::from_micros(micros));
            }
        }
    }

    #[test]
    fn commits_are_gathered_only_while_writes_pour_in() {
        // 2,000 writes a second arriving unevenly: three within 0.6 ms, then one in 0.9 ms.
        let mut pace = Pace::default();
        paced(&mut pace, &[(3, 600), (1, 1_400)], 200);
        assert!((pace.per_second() - 2_000.0).abs() < 50.0, "{}", pace.per_second());
        assert!(pace.per_second() < GATHER_ABOVE_PER_SECOND);
        // 10,000 a second in commits of 20 every 2 ms: gathered.
        paced(&mut pace, &[(20, 2_000)], 100);
        assert!(pace.per_second() >= GATHER_ABOVE_PER_SECOND, "{}", pace.per_second());
        // The flood ends: within a few tenths of a second commits start at once again.
        paced(&mut pace, &[(1, 1_000)], 300);
        assert!(pace.per_second() < GATHER_ABOVE_PER_SECOND / 2.0, "{}", pace.per_second());
        assert_eq!(Pace::default().per_second(), 0.0, "no writes yet: nothing pours");
    }
}
