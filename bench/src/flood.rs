//! One address doing what it can to hurt: opening sockets as fast as it may, each saying hello as
//! a new visitor and then sending messages without pause. Reports what the server let through.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub struct FloodArgs {
    /// The address to flood from.
    #[arg(long, default_value = "127.0.0.77")]
    source: std::net::Ipv4Addr,
    /// Sockets kept busy at once.
    #[arg(long, default_value_t = 400)]
    workers: u32,
    #[arg(long, default_value_t = 15)]
    seconds: u64,
}

#[derive(Default)]
struct Counts {
    opened: AtomicU64,
    refused: AtomicU64,
    frames: AtomicU64,
    acks: AtomicU64,
}

pub async fn run(ws: &str, site_key: &str, args: FloodArgs) -> anyhow::Result<()> {
    let target = crate::idle::target(ws)?;
    let url = format!("{ws}/ws/visitor");
    let counts = Arc::new(Counts::default());
    let stop = Instant::now() + Duration::from_secs(args.seconds);
    let mut workers = Vec::new();
    for w in 0..args.workers {
        let (url, site_key, counts) = (url.clone(), site_key.to_owned(), Arc::clone(&counts));
        let source = args.source;
        workers.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < stop {
                let Ok(socket) = TcpSocket::new_v4() else { return };
                if socket.bind((source, 0).into()).is_err() {
                    return;
                }
                let Ok(stream) = socket.connect(target).await else { continue };
                let Ok((ws, _)) = tokio_tungstenite::client_async(url.as_str(), stream).await else {
                    counts.refused.fetch_add(1, Ordering::Relaxed);
                    // Refused before the upgrade (too many sockets): try again at once.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    continue;
                };
                counts.opened.fetch_add(1, Ordering::Relaxed);
                let (mut tx, mut rx) = ws.split();
                let hello =
                    json!({"type": "visitor_hello", "v": 1, "site_key": site_key, "page": {"url": "/flood"}});
                if tx.send(Message::Text(hello.to_string().into())).await.is_err() {
                    continue;
                }
                let reader = {
                    let counts = Arc::clone(&counts);
                    tokio::spawn(async move {
                        while let Some(Ok(message)) = rx.next().await {
                            if let Message::Text(text) = message
                                && text.as_str().starts_with("{\"type\":\"ack\"")
                            {
                                counts.acks.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    })
                };
                while Instant::now() < stop && !reader.is_finished() {
                    n += 1;
                    let frame = json!({"type": "send", "cid": format!("f{w}-{n}"), "body": "flood"});
                    if tx.send(Message::Text(frame.to_string().into())).await.is_err() {
                        break;
                    }
                    counts.frames.fetch_add(1, Ordering::Relaxed);
                    tokio::task::yield_now().await;
                }
                reader.abort();
            }
        }));
    }
    for worker in workers {
        let _ = worker.await;
    }
    println!(
        "flood from {}: {} sockets opened, {} refused before the upgrade, {} frames sent, {} acknowledged",
        args.source,
        counts.opened.load(Ordering::Relaxed),
        counts.refused.load(Ordering::Relaxed),
        counts.frames.load(Ordering::Relaxed),
        counts.acks.load(Ordering::Relaxed),
    );
    Ok(())
}
