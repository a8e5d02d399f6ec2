//! Starting and stopping the server: open the records, load keys, bind, serve the router; on stop,
//! refuse new connections, tell clients to reconnect, store what the rooms hold, close the records.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::app::{self, AppState};
use crate::auth::Keys;
use crate::config::Config;
use crate::store::{self, Store};

/// How long a stopping server waits for rooms to store what they hold.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// A server accepting connections.
#[derive(Debug)]
pub struct RunningServer {
    /// Where it listens (the real port when configured with port 0).
    pub addr: SocketAddr,
    state: AppState,
    stop: CancellationToken,
    serving: JoinHandle<std::io::Result<()>>,
}

/// Opens the configured database and starts serving.
pub async fn start(config: Config) -> anyhow::Result<RunningServer> {
    let store = store::open(config.database_url.expose()).await?;
    start_with_store(store, config).await
}

/// Starts serving over an opened store.
pub async fn start_with_store(store: Arc<dyn Store>, config: Config) -> anyhow::Result<RunningServer> {
    let keys = Keys::load(config.signing_key.as_ref(), &*store).await?;
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let addr = listener.local_addr()?;
    // Frames go out as they are written: a small write never waits for the peer to acknowledge
    // the one before (with Nagle's delay, an agent's frames waited for its delayed ACKs).
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let state = AppState::new(store, keys, config);
    let service = app::router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let stop = CancellationToken::new();
    let serving = tokio::spawn(
        axum::serve(listener, service).with_graceful_shutdown(stop.clone().cancelled_owned()).into_future(),
    );
    Ok(RunningServer { addr, state, stop, serving })
}

impl RunningServer {
    /// What the handlers share (for tests and tools in the same process).
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Stops accepting, tells every client to reconnect, stores what the rooms hold, closes the
    /// records.
    pub async fn stop(self) {
        self.stop.cancel();
        self.state.hub.shutdown(SHUTDOWN_GRACE).await;
        match tokio::time::timeout(SHUTDOWN_GRACE, self.serving).await {
            Ok(Ok(Ok(()))) => {}
            Ok(Ok(Err(error))) => tracing::warn!(%error, "the listener failed"),
            Ok(Err(error)) => tracing::warn!(%error, "the listener task failed"),
            Err(_) => tracing::warn!("requests still running after the grace period"),
        }
        self.state.store.close().await;
    }
}
