//! Visitors sending at a fixed total rate, one agent receiving every message.
//!
//! Each visitor sends on its own schedule (open loop: a late answer does not delay the next send,
//! and latency counts from the scheduled time, so a stalled server cannot hide its stalls); with
//! `--back-off`, a visitor turned away holds back and sends again later, as the clients do. The
//! body carries the scheduled time, so the agent measures send→delivery without shared state.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context;
use chat_core::protocol::{ErrorCode, ServerFrame, parse_server_frame};
use futures_util::{SinkExt, StreamExt};
use serde_json::json;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::Message;

use crate::stats::Samples;
use crate::wire::{Incoming, PONG, Wire};

#[derive(clap::Args)]
pub struct LoadArgs {
    /// Visitors, each with its own conversation.
    #[arg(long, default_value_t = 1_000)]
    visitors: u32,
    /// Messages per second offered by all visitors together.
    #[arg(long, default_value_t = 2_000)]
    rate: u32,
    /// Seconds of sending (after everyone connected).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// The agent's email and password (the agent receives every message).
    #[arg(long)]
    agent_email: String,
    #[arg(long)]
    agent_password: String,
    /// Each visitor from its own address (127.0.100.2 and up), so per-address limits can stay on.
    #[arg(long)]
    spread: bool,
    /// Quiet visitors connected first and held open through the run (from 127.0.0.2 and up).
    #[arg(long, default_value_t = 0)]
    idle: u32,
    /// The server's process id: its CPU time over the sending window is reported.
    #[arg(long)]
    server_pid: Option<u32>,
    /// The site's id, for an agent socket of that site only (as on the edge, where each site's
    /// room is an object of its own).
    #[arg(long)]
    agent_site: Option<String>,
    /// Visitors send what was turned away for now again after a hold, as the clients do, instead
    /// of sending on schedule regardless.
    #[arg(long)]
    back_off: bool,
}

pub async fn run(http: &str, ws: &str, site_key: &str, wire: Wire, args: LoadArgs) -> anyhow::Result<()> {
    let mut quiet = Vec::new();
    let (hello, target) = (crate::idle::hello(site_key, wire), crate::idle::target(ws)?);
    for i in 0..args.idle {
        quiet.push(crate::idle::connect(&wire.visitor_url(ws, site_key), target, i, wire, &hello).await?);
    }
    if args.idle > 0 {
        println!("{} quiet visitors connected", args.idle);
    }
    let token = login(http, &args.agent_email, &args.agent_password).await?;
    let agent_path =
        args.agent_site.as_ref().map_or("/ws/agent".to_owned(), |site| format!("/ws/agent?site={site}"));
    let (mut agent, _) = tokio_tungstenite::connect_async(wire.url(ws, &agent_path)).await?;
    wire.open(&mut agent).await?;
    let hello = json!({"type": "agent_hello", "v": 1, "access_token": token}).to_string();
    agent.send(Message::Text(wire.encode(&hello).into())).await?;

    let start = Instant::now();
    let (stop_agent, mut agent_stopped) = tokio::sync::oneshot::channel::<()>();
    let agent_task = tokio::spawn(async move {
        let mut latency = Samples::default();
        let mut ended = None;
        loop {
            let text = tokio::select! {
                _ = &mut agent_stopped => break,
                received = agent.next() => match received {
                    Some(Ok(Message::Text(text))) => text,
                    Some(Ok(Message::Close(frame))) => {
                        ended = Some(frame.map_or("without a code".to_owned(), |f| format!("{} {}", f.code, f.reason)));
                        break;
                    }
                    Some(Ok(_)) => continue,
                    Some(Err(error)) => {
                        ended = Some(error.to_string());
                        break;
                    }
                    None => {
                        ended = Some("without a close frame".to_owned());
                        break;
                    }
                },
            };
            let frame = match wire.decode(text.as_str()) {
                Incoming::Frame(frame) => frame,
                Incoming::Ping => {
                    let _ = agent.send(Message::Text(PONG.into())).await;
                    continue;
                }
                Incoming::Other => continue,
            };
            let Ok(ServerFrame::Message(message)) = parse_server_frame(frame) else { continue };
            if let Some(sent) = message.body.strip_prefix("t=").and_then(|t| t.parse::<u64>().ok()) {
                latency.add(start.elapsed().saturating_sub(Duration::from_micros(sent)));
            }
        }
        (latency, ended)
    });

    let per_visitor = f64::from(args.rate) / f64::from(args.visitors);
    let interval = Duration::from_secs_f64(1.0 / per_visitor);
    let mut visitors = Vec::new();
    for i in 0..args.visitors {
        let url = wire.visitor_url(ws, site_key);
        let (mut socket, _) = if args.spread {
            let tcp = tokio::net::TcpSocket::new_v4()?;
            let source =
                std::net::Ipv4Addr::new(127, 0, 100 + u8::try_from(i / 200)?, 2 + u8::try_from(i % 200)?);
            tcp.bind((source, 0).into())?;
            let stream = tcp.connect(target).await.context("visitor connect")?;
            tokio_tungstenite::client_async(url, tokio_tungstenite::MaybeTlsStream::Plain(stream)).await
        } else {
            tokio_tungstenite::connect_async(url).await
        }
        .context("visitor connect")?;
        wire.open(&mut socket).await?;
        visitors.push((i, socket));
    }
    println!("{} visitors connected in {:.1} s", args.visitors, start.elapsed().as_secs_f64());
    let begin = Instant::now() + Duration::from_secs(2);
    let stop = begin + Duration::from_secs(args.seconds);
    let acked = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for (i, socket) in visitors {
        let site_key = site_key.to_owned();
        let acked = Arc::clone(&acked);
        // Spread the visitors' schedules over one interval.
        let first = begin + interval.mul_f64(f64::from(i) / f64::from(args.visitors));
        let schedule = Schedule { start, first, interval, stop };
        tasks.push(tokio::spawn(visitor(socket, wire, site_key, schedule, acked, args.back_off)));
    }
    let cpu_at_begin = match args.server_pid {
        Some(pid) => {
            tokio::time::sleep_until(begin).await;
            Some(cpu_seconds(pid)?)
        }
        None => None,
    };
    let cpu_in_window = match (args.server_pid, cpu_at_begin) {
        (Some(pid), Some(before)) => {
            tokio::time::sleep_until(stop).await;
            Some(cpu_seconds(pid)? - before)
        }
        _ => None,
    };
    let mut ack_latency = Samples::default();
    let mut refused: HashMap<String, u64> = HashMap::new();
    for task in tasks {
        let (samples, errors) = task.await??;
        ack_latency.extend(samples);
        for (code, count) in errors {
            *refused.entry(code).or_default() += count;
        }
    }
    let acks = acked.load(Ordering::Relaxed);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let seconds = args.seconds as f64;
    println!("offered {} msg/s from {} visitors for {} s", args.rate, args.visitors, args.seconds);
    println!("stored and acknowledged {:.0} msg/s ({acks} in the {seconds} s window)", acks as f64 / seconds);
    let total_refused: u64 = refused.values().sum();
    println!("refused sends: {total_refused} {refused:?}");
    println!("send -> ack:            {}", ack_latency.summary());
    if let Some(cpu) = cpu_in_window {
        println!(
            "server CPU in the window: {cpu:.2} s ({:.1} µs per acknowledged message)",
            cpu * 1e6 / acks.max(1) as f64
        );
    }
    let _ = stop_agent.send(());
    let (mut agent_latency, agent_ended) = agent_task.await?;
    println!("send -> agent receives: {}", agent_latency.summary());
    if let Some(ended) = agent_ended {
        println!("the agent's socket ended early: {ended}");
    }
    for socket in quiet {
        socket.abort();
    }
    Ok(())
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// When a visitor sends.
#[derive(Clone, Copy)]
struct Schedule {
    /// The run's start, from which the bodies' times count.
    start: Instant,
    first: Instant,
    interval: Duration,
    stop: Instant,
}

/// A send not acknowledged yet.
struct Unacked {
    cid: String,
    scheduled: Instant,
    frame: String,
    /// Turned away for now (or written while held back): to be sent when the hold ends.
    waiting: bool,
}

/// The first wait before a send turned away for now is sent again; doubles while refusals go on,
/// up to [`LONGEST_HOLD`], each lengthened by up to half at random (as the widget does).
const FIRST_HOLD: Duration = Duration::from_secs(3);
const LONGEST_HOLD: Duration = Duration::from_secs(60);

/// One visitor: hello, then a message every `interval` until `stop`; counts acks within the window.
/// With `back_off`, a send turned away for now (`rate_limited`, `unavailable`, `internal`) is
/// sent again as the clients do (docs/protocol.md, rule 6): after a hold of 3 s, doubling while
/// refusals go on, from the first one turned away on, in order, with nothing new sent meanwhile.
/// Without it, the visitor drops it and sends on schedule regardless.
async fn visitor(
    socket: Socket,
    wire: Wire,
    site_key: String,
    schedule: Schedule,
    acked: Arc<AtomicU64>,
    back_off: bool,
) -> anyhow::Result<(Samples, HashMap<String, u64>)> {
    let Schedule { start, first, interval, stop } = schedule;
    let (mut tx, mut rx) = socket.split();
    let hello = json!({"type": "visitor_hello", "v": 1, "site_key": site_key, "page": {"url": "/bench"}});
    tx.send(Message::Text(wire.encode(&hello.to_string()).into())).await?;
    let mut unacked: Vec<Unacked> = Vec::new();
    let mut latency = Samples::default();
    let mut refused: HashMap<String, u64> = HashMap::new();
    let (mut held_until, mut refusals) = (None::<Instant>, 0u32);
    let mut next = first;
    let mut n = 0u64;
    loop {
        tokio::select! {
            () = tokio::time::sleep_until(next), if next < stop => {
                n += 1;
                let cid = format!("b{n}");
                let sent = next.duration_since(start).as_micros();
                let frame = json!({"type": "send", "cid": cid, "body": format!("t={sent}")}).to_string();
                if held_until.is_none() {
                    tx.send(Message::Text(wire.encode(&frame).into())).await?;
                }
                unacked.push(Unacked { cid, scheduled: next, frame, waiting: held_until.is_some() });
                next += interval;
            }
            () = tokio::time::sleep_until(held_until.unwrap_or(stop)), if held_until.is_some() => {
                held_until = None;
                for send in unacked.iter_mut().filter(|send| send.waiting) {
                    send.waiting = false;
                    tx.send(Message::Text(wire.encode(&send.frame).into())).await?;
                }
            }
            () = tokio::time::sleep_until(stop + Duration::from_secs(5)), if unacked.is_empty() || next >= stop => {
                break;
            }
            received = rx.next() => {
                let Some(Ok(Message::Text(text))) = received else { break };
                let frame = match wire.decode(text.as_str()) {
                    Incoming::Frame(frame) => frame,
                    Incoming::Ping => {
                        tx.send(Message::Text(PONG.into())).await?;
                        continue;
                    }
                    Incoming::Other => continue,
                };
                match parse_server_frame(frame) {
                    Ok(ServerFrame::Ack { cid, .. }) => {
                        if let Some(at) = unacked.iter().position(|send| send.cid == cid.as_str()) {
                            latency.add(unacked.remove(at).scheduled.elapsed());
                            if Instant::now() <= stop + Duration::from_millis(500) {
                                acked.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        if held_until.is_none() {
                            refusals = 0;
                        }
                    }
                    Ok(ServerFrame::Error { code, cid, .. }) => {
                        *refused.entry(format!("{code:?}")).or_default() += 1;
                        let at = cid.and_then(|cid| unacked.iter().position(|send| send.cid == cid.as_str()));
                        let for_now = matches!(code, ErrorCode::RateLimited | ErrorCode::Unavailable | ErrorCode::Internal);
                        match at {
                            Some(at) if back_off && for_now => {
                                unacked[at].waiting = true;
                                if held_until.is_none() {
                                    let hold = FIRST_HOLD.saturating_mul(1 << refusals.min(5)).min(LONGEST_HOLD);
                                    let hold = hold.mul_f64(rand::Rng::random_range(&mut rand::rng(), 1.0..1.5));
                                    held_until = Some(Instant::now() + hold);
                                    refusals += 1;
                                }
                            }
                            Some(at) => {
                                unacked.remove(at);
                            }
                            None => {}
                        }
                    }
                    _ => {}
                }
                if next >= stop && unacked.is_empty() {
                    break;
                }
            }
        }
    }
    Ok((latency, refused))
}

async fn login(http: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let response: serde_json::Value = reqwest::Client::new()
        .post(format!("{http}/api/v1/auth/login"))
        .json(&json!({"email": email, "password": password}))
        .send()
        .await?
        .json()
        .await?;
    response["tokens"]["access_token"].as_str().map(str::to_owned).context("login failed")
}

/// The CPU time (user and system) process `pid` has used, in seconds.
pub fn cpu_seconds(pid: u32) -> anyhow::Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may hold spaces) start at the state, field 3.
    let after_name = stat.rsplit_once(')').context("no command name")?.1;
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let ticks: u64 =
        fields.get(11..13).context("short stat")?.iter().map(|f| f.parse::<u64>().unwrap_or(0)).sum();
    // Linux reports in USER_HZ, 100 a second on every architecture it runs here.
    Ok(ticks as f64 / 100.0)
}
