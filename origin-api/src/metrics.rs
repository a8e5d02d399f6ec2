//! What the server counts for the person running it, and `GET /metrics` in Prometheus's text
//! format: sockets, rooms, messages stored, how long commits take, writes waiting, sends refused
//! by reason, database errors, memory.
//!
//! The page is for the operator's scraper, not the public: it answers requests from loopback, or
//! with `Authorization: Bearer <metrics_token>` when a token is configured.

use std::fmt::Write as _;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use chat_core::protocol::ErrorCode;

use crate::api::ClientIp;
use crate::app::AppState;

/// Upper bounds of the commit-time histogram's buckets, in seconds.
const COMMIT_BUCKETS: [f64; 12] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

/// The server's counters. Cheap to bump from any task: atomics, and one small lock for the
/// refusals by reason.
#[derive(Debug, Default)]
pub struct Metrics {
    messages_stored: AtomicU64,
    writes_stored: AtomicU64,
    writes_waiting: AtomicU64,
    writes_set_aside: AtomicU64,
    database_errors: AtomicU64,
    commits: [AtomicU64; COMMIT_BUCKETS.len() + 1],
    commit_micros: AtomicU64,
    refused: Mutex<Vec<(ErrorCode, u64)>>,
}

impl Metrics {
    /// Writes handed to the writer.
    pub(crate) fn writes_queued(&self, count: usize) {
        self.writes_waiting.fetch_add(count as u64, Ordering::Relaxed);
    }

    /// Writes the writer is done with (stored or set aside).
    pub(crate) fn writes_done(&self, count: usize) {
        self.writes_waiting.fetch_sub(count as u64, Ordering::Relaxed);
    }

    /// One transaction committed `writes`, `messages` of them messages, in `took`.
    pub(crate) fn committed(&self, writes: usize, messages: usize, took: Duration) {
        self.writes_stored.fetch_add(writes as u64, Ordering::Relaxed);
        self.messages_stored.fetch_add(messages as u64, Ordering::Relaxed);
        let seconds = took.as_secs_f64();
        let bucket =
            COMMIT_BUCKETS.iter().position(|bound| seconds <= *bound).unwrap_or(COMMIT_BUCKETS.len());
        self.commits[bucket].fetch_add(1, Ordering::Relaxed);
        self.commit_micros.fetch_add(u64::try_from(took.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// The database refused or failed a transaction.
    pub(crate) fn database_error(&self) {
        self.database_errors.fetch_add(1, Ordering::Relaxed);
    }

    /// A write refused for good was set aside.
    pub(crate) fn set_aside(&self) {
        self.writes_set_aside.fetch_add(1, Ordering::Relaxed);
    }

    /// A send was refused with `code`.
    pub(crate) fn refused(&self, code: ErrorCode) {
        let mut refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        match refused.iter_mut().find(|(known, _)| *known == code) {
            Some((_, count)) => *count += 1,
            None => refused.push((code, 1)),
        }
    }

    /// The page, with the hub's and the process's figures of now.
    fn render(&self, sockets: usize, rooms: usize) -> String {
        let mut out = String::with_capacity(2048);
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        let plain = [
            ("kefu_sockets", "gauge", "WebSockets open now, visitors' and agents'.", sockets as u64),
            ("kefu_rooms", "gauge", "Site rooms running now.", rooms as u64),
            (
                "kefu_messages_stored_total",
                "counter",
                "Messages committed to the database.",
                load(&self.messages_stored),
            ),
            (
                "kefu_writes_stored_total",
                "counter",
                "Writes (messages, conversations, page views) committed.",
                load(&self.writes_stored),
            ),
            (
                "kefu_writer_queue",
                "gauge",
                "Writes handed to the writer and not yet stored.",
                load(&self.writes_waiting),
            ),
            (
                "kefu_database_errors_total",
                "counter",
                "Transactions the database failed or refused (each retried).",
                load(&self.database_errors),
            ),
            (
                "kefu_writes_set_aside_total",
                "counter",
                "Writes refused for good and set aside (set-aside.jsonl).",
                load(&self.writes_set_aside),
            ),
        ];
        for (name, kind, help, value) in plain {
            sample(&mut out, name, kind, help, value);
        }

        out.push_str("# HELP kefu_commit_seconds Time to commit one batch of writes.\n# TYPE kefu_commit_seconds histogram\n");
        let mut cumulative = 0;
        for (bound, count) in COMMIT_BUCKETS.iter().zip(&self.commits) {
            cumulative += load(count);
            let _ = writeln!(out, "kefu_commit_seconds_bucket{{le=\"{bound}\"}} {cumulative}");
        }
        cumulative += load(&self.commits[COMMIT_BUCKETS.len()]);
        let _ = writeln!(out, "kefu_commit_seconds_bucket{{le=\"+Inf\"}} {cumulative}");
        let _ = writeln!(out, "kefu_commit_seconds_sum {}", load(&self.commit_micros) as f64 / 1e6);
        let _ = writeln!(out, "kefu_commit_seconds_count {cumulative}");

        out.push_str("# HELP kefu_sends_refused_total Messages refused, by the error code the sender got.\n# TYPE kefu_sends_refused_total counter\n");
        let refused = self.refused.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone();
        for (code, count) in refused {
            let reason = serde_json::to_value(code).ok().and_then(|name| name.as_str().map(str::to_owned));
            let _ = writeln!(
                out,
                "kefu_sends_refused_total{{reason=\"{}\"}} {count}",
                reason.unwrap_or_default()
            );
        }
        if let Some(rss) = resident_bytes() {
            sample(&mut out, "process_resident_memory_bytes", "gauge", "Resident memory of the server.", rss);
        }
        out
    }
}

/// One sample with its help and type lines.
fn sample(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = write!(out, "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}\n");
}

/// Whether two secrets are equal, in a time that does not tell how much of them matched.
fn same(given: &[u8], expected: &[u8]) -> bool {
    given.len() == expected.len() && given.iter().zip(expected).fold(0, |diff, (a, b)| diff | (a ^ b)) == 0
}

/// Resident memory, from `/proc` (Linux only).
fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

pub fn router() -> Router<AppState> {
    Router::new().route("/metrics", get(page))
}

async fn page(State(state): State<AppState>, ClientIp(ip): ClientIp, headers: HeaderMap) -> Response {
    let allowed = match state.config.metrics_token.as_ref() {
        Some(token) => headers
            .get(header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.strip_prefix("Bearer "))
            .is_some_and(|given| same(given.as_bytes(), token.expose().as_bytes())),
        None => ip.is_loopback(),
    };
    if !allowed {
        let message = "the metrics are for the server's operator: ask from this machine, or set metrics_token and send it as a bearer token";
        return (StatusCode::FORBIDDEN, message).into_response();
    }
    let text = state.hub.metrics().render(state.hub.open_sockets(), state.hub.running_rooms());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")], text).into_response()
}
