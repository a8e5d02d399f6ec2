//! `kefu`: serve, migrate, and the admin commands.

use std::io::{BufReader, IsTerminal};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use chat_core::ids::TenantId;

use clap::{Parser, Subcommand};
use origin_api::admin::{self, AgentCommand, NodeCommand, SiteCommand, TenantCommand};
use origin_api::config::{Config, ConfigArgs, DatabaseArgs};
use origin_api::web::DEMO_SITE_KEY;
use origin_api::{backup, bootstrap, server, store, transfer};

#[cfg(windows)]
mod windows_service;

/// Kefu (客服): website live chat, self-hosted.
#[derive(Parser)]
#[command(name = "kefu", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to standard error: `text` for people, `json` (one object per
    /// line) for a log collector.
    #[arg(long, global = true, env = "KEFU_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the REST API, the WebSockets and the health check.
    Serve(ConfigArgs),
    /// Bring the database's schema up to date, then exit.
    Migrate(DatabaseArgs),
    /// Ask the server these settings describe whether it is well (`GET /healthz` on its listen
    /// address): exit status 0 when it answers 200 within 5 s. For container health checks and
    /// supervisors.
    Healthcheck(ConfigArgs),
    /// Manage tenants.
    Tenant {
        #[command(subcommand)]
        command: TenantCommand,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Manage sites.
    Site {
        #[command(subcommand)]
        command: SiteCommand,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Manage agents.
    Agent {
        #[command(subcommand)]
        command: AgentCommand,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// The nodes of a cluster: list, drain, undrain.
    Node {
        #[command(subcommand)]
        command: NodeCommand,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Write one tenant's records as JSON lines (to move them to another database with `import`).
    Export {
        /// The tenant's id (`kefu tenant list`).
        #[arg(long)]
        tenant: TenantId,
        /// The file to write [default: standard output].
        #[arg(long)]
        output: Option<PathBuf>,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Copy a SQLite database to a new file while the server runs (a consistent snapshot).
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        output: PathBuf,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Read a tenant written by `export` into this database: all of it, or nothing.
    Import {
        /// The file to read [default: standard input].
        file: Option<PathBuf>,
        #[command(flatten)]
        config: DatabaseArgs,
    },
    /// Run Kefu as a Windows service: `install --config FILE`, `uninstall`.
    #[cfg(windows)]
    Service {
        #[command(subcommand)]
        command: windows_service::ServiceCommand,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    #[cfg(windows)]
    let log_file = match &cli.command {
        Command::Service { command } => windows_service::log_file(command),
        _ => None,
    };
    #[cfg(not(windows))]
    let log_file: Option<std::fs::File> = None;
    match log_file {
        Some(file) => init_logs(cli.log_format, std::sync::Mutex::new(file), false),
        None => init_logs(cli.log_format, std::io::stderr, true),
    }
    match run(cli.command).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: what failed and why, without the chain's repetitions.
            eprintln!("kefu: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Log lines to `writer` (with colours on a terminal's standard error, never in a file).
fn init_logs<W>(format: LogFormat, writer: W, ansi: bool)
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let filter =
        tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,sqlx=warn".into());
    let logs = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer).with_ansi(ansi);
    match format {
        LogFormat::Text => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve(args) => serve(Config::load(&args)?).await,
        Command::Healthcheck(args) => healthcheck(Config::load(&args)?.listen).await,
        Command::Backup { output, config } => {
            let bytes = backup::sqlite(config.load()?.database_url.expose(), &output).await?;
            println!("wrote {} ({bytes} bytes)", output.display());
            Ok(())
        }
        #[cfg(windows)]
        Command::Service { command } => tokio::task::block_in_place(|| windows_service::command(command)),
        Command::Migrate(ref config)
        | Command::Tenant { ref config, .. }
        | Command::Site { ref config, .. }
        | Command::Node { ref config, .. }
        | Command::Agent { ref config, .. }
        | Command::Export { ref config, .. }
        | Command::Import { ref config, .. } => {
            let store = open(config).await?;
            let done = administer(&*store, command).await;
            // Closed whatever the command's result: on SQLite the last connection to close folds
            // the write-ahead log into the database file.
            store.close().await;
            done
        }
    }
}

/// The commands that work on the records, with them open.
async fn administer(store: &dyn store::Store, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Migrate(_) => {
            println!("the database schema is up to date");
            Ok(())
        }
        Command::Tenant { command, .. } => admin::tenant(store, command).await,
        Command::Site { command, .. } => admin::site(store, command).await,
        Command::Node { command, .. } => admin::node(store, command).await,
        Command::Agent { command, .. } => {
            if std::io::stdin().is_terminal() {
                eprintln!("password (one line):");
            }
            admin::agent(store, command, std::io::stdin().lock()).await
        }
        Command::Export { tenant, output, .. } => {
            let counts = match output {
                Some(path) => {
                    let file = std::fs::File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?;
                    let mut out = std::io::BufWriter::new(file);
                    transfer::export(store, &tenant, &mut out).await?
                }
                None => transfer::export(store, &tenant, &mut std::io::stdout().lock()).await?,
            };
            eprintln!("exported the tenant {tenant}: {}", serde_json::to_string(&counts)?);
            Ok(())
        }
        Command::Import { file, .. } => {
            let (tenant, counts) = match file {
                Some(path) => {
                    let file = std::fs::File::open(&path)
                        .with_context(|| format!("cannot open {}", path.display()))?;
                    transfer::import(store, BufReader::new(file)).await?
                }
                None => transfer::import(store, BufReader::new(std::io::stdin())).await?,
            };
            println!(
                "imported the tenant {} ({}): {}",
                tenant.id,
                tenant.name,
                serde_json::to_string(&counts)?
            );
            Ok(())
        }
        _ => unreachable!("only the commands on the records come here"),
    }
}

async fn healthcheck(listen: SocketAddr) -> anyhow::Result<()> {
    // A server listening on every address answers on loopback.
    let host = match listen.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    let url = format!("http://{}/healthz", SocketAddr::new(host, listen.port()));
    let client = reqwest::Client::builder().timeout(Duration::from_secs(5)).build()?;
    let answer = client.get(&url).send().await.with_context(|| format!("{url} did not answer"))?;
    let status = answer.status();
    let body = answer.text().await.unwrap_or_default();
    anyhow::ensure!(status.is_success(), "{url} answered {status}: {body}");
    println!("{url}: {body}");
    Ok(())
}

async fn open(args: &DatabaseArgs) -> anyhow::Result<std::sync::Arc<dyn store::Store>> {
    store::open(args.load()?.database_url.expose()).await
}

async fn serve(config: Config) -> anyhow::Result<()> {
    let database = store::describe_url(config.database_url.expose());
    let node = config.cluster.clone();
    // Listening for SIGTERM and Ctrl-C before saying it serves: a stop asked for at once is a
    // clean stop too.
    let stop_asked = shutdown_signal();
    let running = server::start(config).await?;
    let demo = bootstrap::demo_if_empty(&*running.state().store).await?;
    let base = format!("http://{}", running.addr);
    tracing::info!(address = %running.addr, records = %database, "serving");
    println!("Kefu is serving on {base}");
    println!("  REST API     {base}/api/v1/");
    println!("  WebSockets   ws://{0}/ws/visitor   ws://{0}/ws/agent", running.addr);
    println!("  Health       {base}/healthz");
    println!("  Records      {database}");
    if let Some(node) = node {
        println!(
            "  Cluster      the node {} at {} (leases of {} s)",
            node.name,
            node.url,
            node.lease.as_secs()
        );
    }
    if running.state().store.server_key(DEMO_SITE_KEY).await?.is_some() {
        println!("  Try it       {base}/demo   (chat as a visitor of the demo site)");
    }
    if let Some(demo) = demo {
        println!(
            "First start: created the tenant \"Demo\" with the site \"{}\" (key {})",
            demo.site.name, demo.site.key
        );
        println!("and its owner. This password is shown only now:");
        println!("  email        {}", demo.email);
        println!("  password     {}", demo.password);
        println!(
            "Change it with POST /api/v1/me/password or `kefu agent reset-password --email {}`.",
            demo.email
        );
    }
    stop_asked.await;
    println!("Stopping: clients are told to reconnect; waiting for messages to be stored.");
    running.stop().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C; both are listened for from the call on.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{Signal, SignalKind, signal};
        async fn received(signal: Option<Signal>) {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        let terminate = received(signal(SignalKind::terminate()).ok());
        let interrupt = received(signal(SignalKind::interrupt()).ok());
        async move {
            tokio::select! {
                () = terminate => {}
                () = interrupt => {}
            }
        }
    }
    #[cfg(windows)]
    {
        let interrupt = tokio::signal::windows::ctrl_c().ok();
        async move {
            match interrupt {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        }
    }
}
