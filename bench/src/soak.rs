//! Visitors coming and going for a long time, as on a real site: each arrives (new, or coming back
//! with its token), sends a few messages over a minute or so, sometimes loses its connection and
//! resumes, and leaves; another takes its place. An agent reads everything. Every minute: the
//! server's RSS and open files, and its own count of sockets and rooms (`/healthz`). At the end
//! everyone leaves and, once the room has had time to stop, the same again: it should be flat.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use futures_util::{SinkExt, StreamExt};
use rand::Rng;
use serde_json::{Value, json};
use tokio::net::TcpSocket;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

#[derive(clap::Args)]
pub struct SoakArgs {
    /// How long visitors keep coming.
    #[arg(long, default_value_t = 60)]
    minutes: u64,
    /// Visitors on the site at any time.
    #[arg(long, default_value_t = 500)]
    visitors: u32,
    /// The server's process id, to read its memory and open files.
    #[arg(long)]
    server_pid: u32,
    #[arg(long)]
    agent_email: String,
    #[arg(long)]
    agent_password: String,
}

#[derive(Default)]
struct Counts {
    lives: AtomicU64,
    connections: AtomicU64,
    sent: AtomicU64,
    acked: AtomicU64,
    received_by_agent: AtomicU64,
    failures: AtomicU64,
    next_cid: AtomicU64,
}

pub async fn run(http: &str, ws: &str, site_key: &str, args: SoakArgs) -> anyhow::Result<()> {
    let counts = Arc::new(Counts::default());
    let start = Instant::now();
    let end = start + Duration::from_secs(args.minutes * 60);
    let tokens: Value = reqwest::Client::new()
        .post(format!("{http}/api/v1/auth/login"))
        .json(&json!({"email": args.agent_email, "password": args.agent_password}))
        .send()
        .await?
        .json()
        .await?;
    let agent =
        tokio::spawn(agent(http.to_owned(), format!("{ws}/ws/agent"), tokens, end, Arc::clone(&counts)));
    let target = crate::idle::target(ws)?;
    let mut slots = Vec::new();
    for slot in 0..args.visitors {
        let (url, site_key, counts) = (format!("{ws}/ws/visitor"), site_key.to_owned(), Arc::clone(&counts));
        slots.push(tokio::spawn(async move {
            // Each slot from its own address, so per-address limits stay as a server runs them.
            let source = std::net::Ipv4Addr::new(127, 0, 100 + (slot / 200) as u8, 2 + (slot % 200) as u8);
            let mut token: Option<String> = None;
            // Arrivals spread over the first minute.
            tokio::time::sleep(Duration::from_millis(pick(0..60_000))).await;
            while Instant::now() < end {
                counts.lives.fetch_add(1, Ordering::Relaxed);
                // Seven in ten come back as the visitor they were; the rest are new.
                let returning = token.is_some() && chance(0.7);
                if !returning {
                    token = None;
                }
                if life(&url, target, source, &site_key, &mut token, end, &counts).await.is_err() {
                    counts.failures.fetch_add(1, Ordering::Relaxed);
                }
                tokio::time::sleep(Duration::from_millis(pick(1_000..10_000))).await;
            }
        }));
    }
    println!(
        "minute  server RSS  open files  sockets  rooms  lives  connections  sent  acked  agent got  failures"
    );
    let sample = |minute: u64| {
        let counts = Arc::clone(&counts);
        let http = http.to_owned();
        async move {
            let health: Value = reqwest::get(format!("{http}/healthz")).await?.json().await?;
            println!(
                "{minute:>6}  {:>7} KiB  {:>10}  {:>7}  {:>5}  {:>5}  {:>11}  {:>4}  {:>5}  {:>9}  {:>8}",
                crate::idle::rss_kib(args.server_pid)?,
                std::fs::read_dir(format!("/proc/{}/fd", args.server_pid))?.count(),
                health["sockets"],
                health["rooms"],
                counts.lives.load(Ordering::Relaxed),
                counts.connections.load(Ordering::Relaxed),
                counts.sent.load(Ordering::Relaxed),
                counts.acked.load(Ordering::Relaxed),
                counts.received_by_agent.load(Ordering::Relaxed),
                counts.failures.load(Ordering::Relaxed),
            );
            anyhow::Ok(())
        }
    };
    for minute in 0..=args.minutes {
        tokio::time::sleep_until(start + Duration::from_secs(minute * 60)).await;
        sample(minute).await?;
    }
    for slot in slots {
        slot.await?;
    }
    if let Err(error) = agent.await? {
        println!("the agent stopped early: {error}");
    }
    // Everyone left; the room stops once idle (60 s by default), the visitors' grace ends first.
    tokio::time::sleep(Duration::from_secs(90)).await;
    println!("after everyone left and 90 s passed:");
    sample(args.minutes + 2).await?;
    Ok(())
}

/// One visit: hello, a few messages with pauses, now and then a lost connection and a resume.
async fn life(
    url: &str,
    target: std::net::SocketAddr,
    source: std::net::Ipv4Addr,
    site_key: &str,
    token: &mut Option<String>,
    end: Instant,
    counts: &Counts,
) -> anyhow::Result<()> {
    let messages = pick(1..6);
    let mut sent = 0;
    while sent < messages && Instant::now() < end {
        let socket = TcpSocket::new_v4()?;
        socket.bind((source, 0).into())?;
        let stream = socket.connect(target).await?;
        let (mut ws, _) = tokio_tungstenite::client_async(url, stream).await?;
        counts.connections.fetch_add(1, Ordering::Relaxed);
        let hello = json!({"type": "visitor_hello", "v": 1, "site_key": site_key, "visitor_token": token,
            "page": {"url": "/soak", "title": "Soak", "referrer": ""}});
        ws.send(Message::Text(hello.to_string().into())).await?;
        let welcome = next_frame(&mut ws).await?;
        anyhow::ensure!(welcome["type"] == "welcome", "no welcome: {welcome}");
        *token = welcome["visitor_token"].as_str().map(str::to_owned);
        // One visit in five loses its connection partway and comes back.
        let drop_after = if chance(0.2) { pick(0..messages) } else { messages };
        while sent < messages && Instant::now() < end {
            if sent == drop_after && sent > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(pick(2_000..20_000))).await;
            let cid = format!("soak-{}", counts.next_cid.fetch_add(1, Ordering::Relaxed));
            let frame = json!({"type": "send", "cid": cid, "body": "soak message"});
            ws.send(Message::Text(frame.to_string().into())).await?;
            counts.sent.fetch_add(1, Ordering::Relaxed);
            loop {
                let frame = next_frame(&mut ws).await?;
                if frame["type"] == "ack" && frame["cid"] == cid.as_str() {
                    counts.acked.fetch_add(1, Ordering::Relaxed);
                    break;
                }
                anyhow::ensure!(frame["type"] != "error", "refused: {frame}");
            }
            sent += 1;
        }
        if sent < messages && Instant::now() < end {
            // The connection is lost without a goodbye.
            drop(ws);
            tokio::time::sleep(Duration::from_millis(pick(500..3_000))).await;
        } else {
            let _ = ws.close(None).await;
        }
    }
    Ok(())
}

type Socket = tokio_tungstenite::WebSocketStream<tokio::net::TcpStream>;

async fn next_frame(ws: &mut Socket) -> anyhow::Result<Value> {
    loop {
        let message = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .context("no answer in 30 s")?
            .context("closed")??;
        if let Message::Text(text) = message {
            return Ok(serde_json::from_str(text.as_str())?);
        }
    }
}

/// The agent: reads everything, pings while quiet, and keeps its session as a console does: a
/// fresh access token from the refresh token, sent over the socket, before the old one expires.
async fn agent(
    http: String,
    url: String,
    tokens: Value,
    end: Instant,
    counts: Arc<Counts>,
) -> anyhow::Result<()> {
    let access = tokens["tokens"]["access_token"].as_str().context("login failed")?;
    let mut refresh_token = tokens["tokens"]["refresh_token"].as_str().context("login failed")?.to_owned();
    let lifetime = Duration::from_secs(tokens["tokens"]["expires_in"].as_u64().unwrap_or(900));
    let (mut ws, _) = tokio_tungstenite::connect_async(url).await?;
    let hello = json!({"type": "agent_hello", "v": 1, "access_token": access});
    ws.send(Message::Text(hello.to_string().into())).await?;
    let mut ping = tokio::time::interval(Duration::from_secs(25));
    let mut renew = tokio::time::interval_at(Instant::now() + lifetime / 2, lifetime / 2);
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(end + Duration::from_secs(30)) => break,
            _ = ping.tick() => ws.send(Message::Text(r#"{"type":"ping"}"#.into())).await?,
            _ = renew.tick() => {
                let pair: Value = reqwest::Client::new()
                    .post(format!("{http}/api/v1/auth/refresh"))
                    .json(&json!({"refresh_token": refresh_token}))
                    .send()
                    .await?
                    .json()
                    .await?;
                refresh_token = pair["refresh_token"].as_str().context("refresh refused")?.to_owned();
                let frame = json!({"type": "refresh", "access_token": pair["access_token"]});
                ws.send(Message::Text(frame.to_string().into())).await?;
            }
            message = ws.next() => match message {
                Some(Ok(Message::Text(text))) => {
                    if text.as_str().starts_with("{\"type\":\"message\"") {
                        counts.received_by_agent.fetch_add(1, Ordering::Relaxed);
                    }
                }
                Some(Ok(_)) => {}
                other => anyhow::bail!("the agent's socket closed: {other:?}"),
            },
        }
    }
    let _ = ws.close(None).await;
    Ok(())
}

/// A random number in `range` (the generator is not held across an await).
fn pick<T: rand::distr::uniform::SampleUniform + PartialOrd>(range: std::ops::Range<T>) -> T {
    rand::rng().random_range(range)
}

fn chance(p: f64) -> bool {
    rand::rng().random_bool(p)
}
