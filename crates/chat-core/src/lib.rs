//! Kefu's live core: the wire protocol and the room of one site, as pure code.
//!
//! Nothing here touches a socket, a database, a clock or a random number generator. A runtime (the
//! tokio task of `kefu serve`, a Durable Object on the edge, a test) feeds [`room::Input`]s and the
//! current time into [`room::SiteRoom::handle`] and carries out the [`room::Effect`]s it returns.
//!
//! - [`ids`] — typed identifiers and the millisecond timestamp every input carries.
//! - [`limits`] — every limit the room enforces, as a named constant.
//! - [`protocol`] — protocol v1: the frames clients send and the frames the server sends, and parsing.
//! - [`rate`] — send allowances (token buckets) for sockets and addresses.
//! - [`records`] — what the room asks its driver to store.
//! - [`room`] — the site room state machine: sequencing, de-duplication, assignment, presence.
//! - [`token`] — Ed25519-signed agent access tokens and visitor tokens.
//! - [`keys`] — Ed25519 keys read from settings: raw base64(url) or PEM.
//! - [`referrer`] — search keywords out of a referrer URL.
//! - [`identity`] — verifying the identity a site vouches for with its secret (HMAC-SHA256).
//! - [`edge`] — what the edge and the origin say to each other, signed with a shared secret.
//! - [`routes`] — where a visitor's socket goes on a cluster, as the nodes and their router say.

pub mod admission;
pub mod chat_page;
pub mod edge;
pub mod identity;
pub mod ids;
pub mod keys;
pub mod limits;
pub mod protocol;
pub mod rate;
pub mod records;
pub mod referrer;
pub mod room;
pub mod routes;
pub mod token;
