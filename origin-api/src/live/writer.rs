//! Group commit: one task stores the writes of every room. While one transaction commits, new
//! writes queue up and go into the next, so the number of transactions (and fsyncs) stays small
//! however many messages arrive. Each room hears `Committed` for the last of its writes in a batch.
//!
//! A batch the database cannot take now (it is away, busy, full) is retried with backoff until it
//! commits: nothing was acknowledged for it, rooms hold further writes meanwhile (and refuse sends
//! once they hold too many, or have waited too long), clients keep their outboxes. Inserts skip existing rows, so retrying
//! a batch that did commit stores nothing twice. A batch the database refuses outright is stored
//! in halves until the refused writes are found; each, refused again, is set aside
//! (`set_aside`) and the rest flows on.

use std::sync::Arc;
use std::time::{Duration, Instant};

use chat_core::records::WriteOp;
use chat_core::room::{Input, WriteId};
use tokio::sync::mpsc;

use super::room_task::RoomMsg;
use super::set_aside::SetAside;
use crate::metrics::Metrics;
use crate::store::Store;

/// Most writes in one transaction.
const MAX_BATCH: usize = 2_000;
/// First wait after a failed commit; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
/// Longest wait between retries of a failed commit.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);
/// How often one write must be refused before it is set aside: a refusal that is really a hiccup
/// does not cost a message.
const REFUSALS_BEFORE_SETTING_ASIDE: u32 = 3;

/// One room's write.
#[derive(Debug)]
pub(crate) struct WriteItem {
    /// Where to report the commit.
    pub(crate) room: mpsc::UnboundedSender<RoomMsg>,
    pub(crate) id: WriteId,
    pub(crate) op: WriteOp,
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
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (ops, receipts): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|item| (item.op, (item.room, item.id))).unzip();
        store_all(&*store, &set_aside, &metrics, &ops).await;
        metrics.writes_done(ops.len());
        for (room, through) in last_per_room(receipts) {
            let _ = room.send(RoomMsg::Input(Input::Committed { through }));
        }
    }
}

/// Stores `ops`, in order, waiting out the database's absences; returns once every write is
/// stored or (refused for good) set aside.
async fn store_all(store: &dyn Store, set_aside: &SetAside, metrics: &Metrics, ops: &[WriteOp]) {
    let mut delay = FIRST_RETRY_DELAY;
    let mut refusals = 0;
    loop {
        let started = Instant::now();
        let error = match store.apply_writes(ops).await {
            Ok(()) => {
                let messages = ops.iter().filter(|op| matches!(op, WriteOp::Message { .. })).count();
                metrics.committed(ops.len(), messages, started.elapsed());
                return;
            }
            Err(error) => error,
        };
        metrics.database_error();
        if !error.is_transient() && ops.len() > 1 {
            // Something in the batch is refused: store its halves apart, in order, to find it.
            let (first, second) = ops.split_at(ops.len() / 2);
            Box::pin(store_all(store, set_aside, metrics, first)).await;
            Box::pin(store_all(store, set_aside, metrics, second)).await;
            return;
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
                    return;
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
