//! `kefu-bench`: load generators for a running `kefu serve`. `scripts/bench` starts the server
//! and runs these with the server and the generator on separate cores.
//!
//! - `load` — visitors sending at a fixed rate with an agent watching: stored messages per second
//!   (acks come only after commit), send→ack and send→agent latency.
//! - `idle` — many visitors connected and quiet: the server's memory per connection.
//! - `flood` — one address opening sockets and sending as fast as it can.
//! - `soak` — visitors coming and going for an hour: memory, files, sockets and rooms sampled.
//!
//! The same scenarios run against the peers in `bench/peers/` (Node relays that store nothing).

mod flood;
mod idle;
mod load;
mod soak;
mod stats;
mod wire;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "kefu-bench")]
struct Cli {
    /// The server, as http://HOST:PORT.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    server: String,
    /// The public key of the site to load.
    #[arg(long)]
    site_key: String,
    /// Speak Socket.IO's framing (for the Socket.IO peer, bench/peers/socketio-relay.mjs).
    #[arg(long)]
    socketio: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Visitors send at a fixed rate for a while; one agent receives everything.
    Load(load::LoadArgs),
    /// Visitors connect and stay quiet; the server's RSS is read before and after.
    Idle(idle::IdleArgs),
    /// One address opens sockets and sends as fast as it can.
    Flood(flood::FloodArgs),
    /// Visitors arrive, chat, lose connections, leave, for an hour or more; the server sampled.
    Soak(soak::SoakArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let ws = cli.server.replacen("http", "ws", 1);
    let wire = if cli.socketio { wire::Wire::SocketIo } else { wire::Wire::Kefu };
    match cli.command {
        Command::Load(args) => load::run(&cli.server, &ws, &cli.site_key, wire, args).await,
        Command::Idle(args) => idle::run(&ws, &cli.site_key, wire, args).await,
        Command::Flood(args) => flood::run(&ws, &cli.site_key, args).await,
        Command::Soak(args) => soak::run(&cli.server, &ws, &cli.site_key, args).await,
    }
}
