//! Group commit: one task stores the writes of every room. While one transaction commits, new
//! writes queue up and go into the next, so the number of transactions (and fsyncs) stays small
//! however many messages arrive. Each room hears `Committed` for the last of its writes in a batch.
//!
//! A failed batch is retried with backoff until it commits: nothing was acknowledged for it, rooms
//! hold further writes meanwhile (and refuse sends once they hold too many), clients keep their
//! outboxes. Inserts skip existing rows, so retrying a batch that did commit stores nothing twice.

use std::sync::Arc;
use std::time::Duration;

use chat_core::records::WriteOp;
use chat_core::room::{Input, WriteId};
use tokio::sync::mpsc;

use super::room_task::RoomMsg;
use crate::store::Store;

/// Most writes in one transaction.
const MAX_BATCH: usize = 2_000;
/// First wait after a failed commit; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(50);
/// Longest wait between retries of a failed commit.
const MAX_RETRY_DELAY: Duration = Duration::from_secs(5);

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
}

impl Writer {
    /// Starts the writer task; it ends when every `Writer` is dropped and the queue is stored.
    pub(crate) fn start(store: Arc<dyn Store>) -> (Writer, tokio::task::JoinHandle<()>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Writer { tx }, tokio::spawn(run(store, rx)))
    }

    pub(crate) fn submit(&self, item: WriteItem) {
        // The writer outlives every room (it stops only when all senders are gone).
        let _ = self.tx.send(item);
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::UnboundedReceiver<WriteItem>) {
    let mut batch = Vec::new();
    while rx.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let (ops, receipts): (Vec<_>, Vec<_>) =
            batch.drain(..).map(|item| (item.op, (item.room, item.id))).unzip();
        let mut delay = FIRST_RETRY_DELAY;
        while let Err(error) = store.apply_writes(&ops).await {
            tracing::error!(%error, writes = ops.len(), "storing writes failed; retrying");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
        for (room, through) in last_per_room(receipts) {
            let _ = room.send(RoomMsg::Input(Input::Committed { through }));
        }
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
