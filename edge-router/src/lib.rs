//! Kefu's front door on the edge, built two ways.
//!
//! **The Worker** (`wasm32-unknown-unknown`, `scripts/build-edge.sh`): the front door of the
//! SaaS. It sends each site's sockets to that site's room object (`room-objects/`, linked into
//! this script) and everything else to the origin API.
//!
//! - `/ws/visitor?site=<site key>` — the site key is looked up at the origin (and remembered for a
//!   minute), so an unknown key is refused before any object is touched;
//! - `/ws/agent?site=<site id>` — the object checks the agent's token itself;
//! - `/internal/…` — the origin's endpoints for the objects; never reachable from outside; the
//!   ones the Worker answers itself (a site changed, files in R2) only to requests the origin
//!   signed;
//! - `/embed.js`, `/assets/chat.js`, `/assets/chat.css` — served from the Worker itself, and
//!   `/chat/{site_key}`, the chat window's page, written here;
//! - anything else goes to the origin (`ORIGIN_URL`) as it came.
//!
//! Every address has a budget of new sockets and of requests (the `NEW_SOCKETS` and `REQUESTS`
//! rate limiters of `wrangler.toml`); beyond it the answer is 429.
//!
//! **A cluster's router** (`wasm32-wasip2`, `scripts/build-router.sh`): a Spin (wasi-http)
//! component in front of a self-hosted cluster (docs/deploy.md), for a wasm edge host.
//!
//! - `/route/{site_key}` — answered as the nodes answer it ([`chat_core::routes`]), from the routes
//!   table a node gives (`GET /route`), fetched again when its time is up (the cluster's lease
//!   life); a site the table does not have is asked of a node, and the answer kept ten seconds.
//!   With no node answering, the last table still answers for a minute;
//! - `/healthz` — 200 while a node gives the table;
//! - `/ws/…` — refused: sockets go straight to the node `/route` names;
//! - anything else (the loader, the chat window, the API) goes to the node with the fewest sites,
//!   as it came. The visitor's address goes with it only where the host says it (Spin's
//!   `spin-client-addr`).
//!
//! The nodes to ask are in `KEFU_NODES` (addresses, comma-separated); the table names the rest.

#[cfg(not(target_os = "wasi"))]
mod assets;
#[cfg(not(target_os = "wasi"))]
mod cloudflare;
#[cfg(not(target_os = "wasi"))]
mod files;
#[cfg(not(target_os = "wasi"))]
pub use room_objects::SiteRoomObject;

#[cfg(target_os = "wasi")]
mod spin;
