//! Where password hashes are computed: a few threads of their own, started once, fed through a
//! bounded queue. An argon2id hash takes tens of milliseconds and 19 MiB; computed on ever new
//! blocking threads, each thread's allocator kept its 19 MiB (a few dozen logins left the server
//! at 400 MB). Each hashing thread lives for ever and hashes in one block of memory it keeps
//! while logins come and gives back after [`KEEP_MEMORY`] without one, so memory stays at
//! [`threads`] × 19 MiB however many come, and a flood beyond the queue is told to come back
//! rather than waiting in memory.

use std::sync::OnceLock;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use tokio::sync::oneshot;

use super::password::Memory;

/// Hashes waiting beyond those being computed; more are refused as busy.
pub const QUEUE_LIMIT: usize = 64;

/// A hash to compute, in the thread's memory.
type Job = Box<dyn FnOnce(&mut Memory) + Send>;

/// The hashing threads can take no more now.
#[derive(Debug, thiserror::Error)]
#[error("too many password checks at once; try again in a moment")]
pub struct Busy;

fn queue() -> &'static Sender<Job> {
    static QUEUE: OnceLock<Sender<Job>> = OnceLock::new();
    QUEUE.get_or_init(|| {
        let (tx, rx) = crossbeam_channel::bounded::<Job>(QUEUE_LIMIT);
        for n in 0..threads() {
            let rx = rx.clone();
            // A thread that cannot start leaves the others to do the work.
            if let Err(error) =
                std::thread::Builder::new().name(format!("kefu-hash-{n}")).spawn(move || work(&rx))
            {
                tracing::error!(%error, "a password hashing thread could not start");
            }
        }
        tx
    })
}

fn work(jobs: &Receiver<Job>) {
    yield_to_the_rest();
    // Each thread's 19 MiB, allocated with the first hash of a busy spell, reused by every one
    // after, and given back once nobody logged in for a while.
    let mut memory = Memory::default();
    loop {
        match jobs.recv_timeout(KEEP_MEMORY) {
            Ok(job) => job(&mut memory),
            Err(RecvTimeoutError::Timeout) => memory = Memory::default(),
            Err(RecvTimeoutError::Disconnected) => return,
        }
    }
}

/// Hashing threads run at a lower priority (Linux gives each thread its own nice value), so a
/// login flood takes the cores only when sockets and rooms leave them idle: chats stay quick while
/// it lasts (`scripts/bench floods`), logins wait longer.
fn yield_to_the_rest() {
    #[cfg(target_os = "linux")]
    if let Err(error) = rustix::process::setpriority_process(Some(rustix::thread::gettid()), HASHING_NICE) {
        tracing::warn!(%error, "a password hashing thread keeps the normal priority");
    }
}

/// The nice value of hashing threads: the lowest, about a seventieth of the others' weight (at 10,
/// a tenth, a login flood still tripled the chatting visitors' p99; docs/benchmarks.md).
#[cfg(target_os = "linux")]
const HASHING_NICE: i32 = 19;

/// How long a hashing thread keeps its memory without a hash to compute.
const KEEP_MEMORY: Duration = Duration::from_secs(10);

/// How many hashes are computed at once: one per core, at most four.
pub fn threads() -> usize {
    std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get).clamp(1, 4)
}

/// Runs `compute` on a hashing thread, in its memory; `Busy` when the queue is full.
pub async fn run<T: Send + 'static>(
    compute: impl FnOnce(&mut Memory) -> T + Send + 'static,
) -> Result<T, Busy> {
    submit(compute)?.await.map_err(|_| Busy)
}

/// Queues `compute`; its result comes on the receiver.
fn submit<T: Send + 'static>(
    compute: impl FnOnce(&mut Memory) -> T + Send + 'static,
) -> Result<oneshot::Receiver<T>, Busy> {
    let (tx, rx) = oneshot::channel();
    let job: Job = Box::new(move |memory| {
        let _ = tx.send(compute(memory));
    });
    match queue().try_send(job) {
        Ok(()) => Ok(rx),
        Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => Err(Busy),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_beyond_the_threads_and_the_queue_are_refused_not_kept_waiting() {
        // Hashes that wait for a signal, until one is refused: the threads took theirs, the
        // queue is full.
        let (release, wait) = crossbeam_channel::unbounded::<()>();
        let mut accepted = Vec::new();
        loop {
            let wait = wait.clone();
            match submit(move |_| wait.recv().is_ok()) {
                Ok(result) => accepted.push(result),
                Err(Busy) => break,
            }
            assert!(accepted.len() <= threads() + QUEUE_LIMIT, "the queue is bounded");
        }
        assert!(accepted.len() >= QUEUE_LIMIT, "{} accepted", accepted.len());
        for _ in 0..accepted.len() {
            let _ = release.send(());
        }
        for result in accepted {
            assert_eq!(result.await, Ok(true), "every accepted hash is computed");
        }
        assert!(matches!(run(|_| 7).await, Ok(7)), "and the threads take work again");
    }
}
