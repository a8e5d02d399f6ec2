//! Many quiet visitors: the server's resident memory before and after, per connection.

use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::net::TcpSocket;
use tokio_tungstenite::tungstenite::Message;

use crate::wire::{Incoming, PONG, Wire};

#[derive(clap::Args)]
pub struct IdleArgs {
    /// Visitors to hold open.
    #[arg(long, default_value_t = 10_000)]
    visitors: u32,
    /// The server's process id, to read its memory.
    #[arg(long)]
    server_pid: u32,
}

/// The hello of a quiet visitor, on the wire.
pub(crate) fn hello(site_key: &str, wire: Wire) -> String {
    wire.encode(
        &json!({"type": "visitor_hello", "v": 1, "site_key": site_key, "page": {"url": "/idle"}}).to_string(),
    )
}

/// The server's address, from ws://IP:PORT.
pub(crate) fn target(ws: &str) -> anyhow::Result<std::net::SocketAddr> {
    ws.trim_start_matches("ws://").parse().context("--server must be http://IP:PORT")
}

pub async fn run(ws: &str, site_key: &str, wire: Wire, args: IdleArgs) -> anyhow::Result<()> {
    let hello = hello(site_key, wire);
    let url = wire.visitor_url(ws, site_key);
    let target = target(ws)?;
    // One visitor first, so the site's room exists before the baseline.
    let mut sockets = vec![connect(&url, target, 0, wire, &hello).await?];
    tokio::time::sleep(Duration::from_secs(2)).await;
    let before = rss_kib(args.server_pid)?;
    for i in 1..args.visitors {
        sockets.push(connect(&url, target, i, wire, &hello).await?);
    }
    // Let the server settle (welcome frames sent, page views stored).
    tokio::time::sleep(Duration::from_secs(5)).await;
    let after = rss_kib(args.server_pid)?;
    let added = args.visitors - 1;
    println!("server RSS {before} KiB with 1 visitor, {after} KiB with {} visitors", args.visitors);
    println!(
        "{:.1} KiB per idle visitor connection",
        (after.saturating_sub(before)) as f64 / f64::from(added)
    );
    for socket in sockets {
        socket.abort();
    }
    Ok(())
}

/// Connects from 127.0.0.(2 + i / 20000): each source address has its own ports. The socket is
/// then read by a task of its own, which answers heartbeats and drops everything else.
pub(crate) async fn connect(
    url: &str,
    target: std::net::SocketAddr,
    i: u32,
    wire: Wire,
    hello: &str,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let socket = TcpSocket::new_v4()?;
    let source = std::net::Ipv4Addr::new(127, 0, 0, 2 + u8::try_from(i / 20_000).unwrap_or(0));
    socket.bind((source, 0).into())?;
    let stream = socket.connect(target).await?;
    let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
    wire.open(&mut ws).await?;
    ws.send(Message::Text(hello.to_owned().into())).await?;
    // Wait for the welcome, so the visitor is in the room before the next one comes.
    loop {
        match ws.next().await.context("closed before the welcome")?? {
            Message::Text(text) if text.as_str().contains("\"welcome\"") => break,
            Message::Close(frame) => anyhow::bail!("closed before the welcome: {frame:?}"),
            _ => {}
        }
    }
    Ok(tokio::spawn(async move {
        while let Some(Ok(message)) = ws.next().await {
            if let Message::Text(text) = message
                && matches!(wire.decode(text.as_str()), Incoming::Ping)
                && ws.send(Message::Text(PONG.into())).await.is_err()
            {
                return;
            }
        }
    }))
}

pub(crate) fn rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS")
}
