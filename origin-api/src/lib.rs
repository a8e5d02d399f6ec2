//! Kefu's origin: the records, the REST API and, self-hosted, the live rooms.
//!
//! - [`config`] — the one typed configuration (file, environment, flags).
//! - [`store`] — records behind async traits; the SQLite backend.
//! - [`auth`] — password hashes, token keys, sessions, the current-agent extractor.
//! - [`api`] — REST under `/api/v1/` and `/healthz`.
//! - [`files`] — files sent in chats: content sniffing and where their bytes live.
//! - [`live`] — WebSockets, the room of each site as a tokio task, group commit.
//! - [`web`] — the loader sites embed, the chat window, the demo page.
//! - [`app`] — shared state and the one function that builds the router.
//! - [`server`] — start and graceful stop.
//! - [`admin`], [`bootstrap`] — the admin CLI and the first start's demo tenant.
//! - [`error`], [`validate`], [`clock`] — the API error type, field rules, the wall clock.

pub mod admin;
pub mod api;
pub mod app;
pub mod auth;
pub mod backup;
pub mod bootstrap;
pub mod clock;
pub mod config;
pub mod edge;
pub mod error;
pub mod files;
#[cfg(feature = "lambda")]
pub mod lambda;
pub mod live;
pub mod metrics;
pub mod server;
pub mod store;
pub mod transfer;
pub mod validate;
pub mod web;
