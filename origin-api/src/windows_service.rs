//! `kefu service …` (the binary's, on Windows): Kefu as a Windows service. `install` registers this
//! executable with the service control manager to run `kefu service run --config FILE`: started
//! with Windows, as LOCAL SERVICE, restarted after a failure. Windows then starts `run`, which
//! serves until Windows asks it to stop, and stops as SIGTERM stops `kefu serve`: clients are told
//! to reconnect and what the rooms hold is stored first.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use anyhow::Context;
use origin_api::config::{Config, ConfigArgs, DatabaseArgs};
use origin_api::server;
use windows_service::service::{
    ServiceAccess, ServiceAction, ServiceActionType, ServiceControl, ServiceControlAccept,
    ServiceErrorControl, ServiceExitCode, ServiceFailureActions, ServiceFailureResetPeriod, ServiceInfo,
    ServiceStartType, ServiceState, ServiceStatus, ServiceType,
};
use windows_service::service_control_handler::{self, ServiceControlHandlerResult, ServiceStatusHandle};
use windows_service::service_manager::{ServiceManager, ServiceManagerAccess};
use windows_service::{define_windows_service, service_dispatcher};

/// The service's name (`sc query kefu`, `net stop kefu`).
const NAME: &str = "kefu";
/// The account it runs as: LOCAL SERVICE, which may do little beyond what it is given.
const ACCOUNT: &str = r"NT AUTHORITY\LocalService";
/// LOCAL SERVICE's well-known SID, to give it the data directory whatever the system's language.
const ACCOUNT_SID: &str = "*S-1-5-19";
/// How long Windows waits for a start or a stop before it considers the service hung.
const PENDING: Duration = Duration::from_secs(30);

/// The settings file `run` was given, for the service's main function.
static SETTINGS: OnceLock<PathBuf> = OnceLock::new();

#[derive(clap::Subcommand)]
pub enum ServiceCommand {
    /// Register Kefu as a service that starts with Windows and serves with these settings, give
    /// LOCAL SERVICE (which it runs as) its data directory, and start it. Run as an administrator.
    Install {
        /// The TOML settings file the service reads (as `kefu serve --config`; the environment
        /// does not apply to a service).
        #[arg(long)]
        config: PathBuf,
    },
    /// Stop the service and remove it; its records and files stay.
    Uninstall,
    /// What Windows starts: serves until the service is stopped.
    #[command(hide = true)]
    Run {
        #[arg(long)]
        config: PathBuf,
    },
}

/// Where `run` writes its log (a service has no console): `kefu.log` in the data directory.
pub fn log_file(command: &ServiceCommand) -> Option<std::fs::File> {
    let ServiceCommand::Run { config } = command else { return None };
    let data_dir = settings(config).ok()?.data_dir;
    std::fs::create_dir_all(&data_dir).ok()?;
    std::fs::OpenOptions::new().create(true).append(true).open(data_dir.join("kefu.log")).ok()
}

pub fn command(command: ServiceCommand) -> anyhow::Result<()> {
    match command {
        ServiceCommand::Install { config } => install(&config),
        ServiceCommand::Uninstall => uninstall(),
        ServiceCommand::Run { config } => {
            let _ = SETTINGS.set(config);
            service_dispatcher::start(NAME, ffi_service_main)
                .context("`kefu service run` is for Windows to start (after `kefu service install`)")
        }
    }
}

/// The settings of the file alone.
fn settings(config: &Path) -> anyhow::Result<Config> {
    let database = DatabaseArgs { config: Some(config.to_owned()), database_url: None };
    Config::load(&ConfigArgs { database, ..ConfigArgs::default() })
}

fn install(config: &Path) -> anyhow::Result<()> {
    let config =
        std::fs::canonicalize(config).with_context(|| format!("cannot read {}", config.display()))?;
    // Read them now: a mistake shows here rather than as a service that does not start.
    let settings = settings(&config)?;
    std::fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("cannot create {}", settings.data_dir.display()))?;
    grant(&settings.data_dir)?;
    if let Some(folder) = sqlite_folder(settings.database_url.expose()) {
        std::fs::create_dir_all(&folder).with_context(|| format!("cannot create {}", folder.display()))?;
        grant(&folder)?;
    }

    let manager = ServiceManager::local_computer(
        None::<&str>,
        ServiceManagerAccess::CONNECT | ServiceManagerAccess::CREATE_SERVICE,
    )
    .context("cannot reach the service control manager (run this as an administrator)")?;
    let info = ServiceInfo {
        name: OsString::from(NAME),
        display_name: OsString::from("Kefu live chat"),
        service_type: ServiceType::OWN_PROCESS,
        start_type: ServiceStartType::AutoStart,
        error_control: ServiceErrorControl::Normal,
        executable_path: std::env::current_exe()?,
        launch_arguments: vec![
            "service".into(),
            "run".into(),
            "--config".into(),
            config.clone().into_os_string(),
        ],
        dependencies: vec![],
        account_name: Some(OsString::from(ACCOUNT)),
        account_password: None,
    };
    let service = manager
        .create_service(&info, ServiceAccess::CHANGE_CONFIG | ServiceAccess::START)
        .context("cannot register the service (is it installed already?)")?;
    service.set_description("Website live chat: the REST API, the chat sockets and the records.")?;
    // Restarted 5 s after a failure, also when it stops with an error rather than crashing.
    let restart = ServiceAction { action_type: ServiceActionType::Restart, delay: Duration::from_secs(5) };
    service.update_failure_actions(ServiceFailureActions {
        reset_period: ServiceFailureResetPeriod::After(Duration::from_secs(86_400)),
        reboot_msg: None,
        command: None,
        actions: Some(vec![restart.clone(), restart.clone(), restart]),
    })?;
    service.set_failure_actions_on_non_crash_failures(true)?;
    service.start::<&str>(&[]).context("registered the service, but it did not start")?;
    println!(
        "installed and started the service {NAME} on {} with the settings {}; its log is {}",
        settings.listen,
        config.display(),
        settings.data_dir.join("kefu.log").display()
    );
    Ok(())
}

/// The folder of a SQLite database URL's file.
fn sqlite_folder(url: &str) -> Option<PathBuf> {
    let path = url.strip_prefix("sqlite:")?.trim_start_matches("//");
    let path = Path::new(path.split('?').next()?);
    let folder = path.parent()?;
    (!folder.as_os_str().is_empty()).then(|| folder.to_owned())
}

/// Lets LOCAL SERVICE change what is in `folder` (and what is made there later).
fn grant(folder: &Path) -> anyhow::Result<()> {
    let status = std::process::Command::new("icacls")
        .arg(folder)
        .args(["/grant", &format!("{ACCOUNT_SID}:(OI)(CI)M"), "/Q"])
        .status()
        .context("cannot run icacls")?;
    anyhow::ensure!(status.success(), "icacls could not give LOCAL SERVICE {}", folder.display());
    Ok(())
}

fn uninstall() -> anyhow::Result<()> {
    let manager = ServiceManager::local_computer(None::<&str>, ServiceManagerAccess::CONNECT)
        .context("cannot reach the service control manager (run this as an administrator)")?;
    let service = manager
        .open_service(NAME, ServiceAccess::QUERY_STATUS | ServiceAccess::STOP | ServiceAccess::DELETE)
        .context("there is no kefu service")?;
    if service.query_status()?.current_state != ServiceState::Stopped {
        service.stop()?;
        let deadline = Instant::now() + PENDING;
        while service.query_status()?.current_state != ServiceState::Stopped {
            anyhow::ensure!(Instant::now() < deadline, "the service did not stop within {PENDING:?}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }
    service.delete()?;
    println!("removed the service {NAME}; its records and files stay");
    Ok(())
}

define_windows_service!(ffi_service_main, service_main);

fn service_main(_arguments: Vec<OsString>) {
    if let Err(error) = run_service() {
        tracing::error!("the service stopped: {error:#}");
    }
}

fn run_service() -> anyhow::Result<()> {
    let stop = Arc::new(tokio::sync::Notify::new());
    let asked = Arc::clone(&stop);
    let status = service_control_handler::register(NAME, move |control| match control {
        ServiceControl::Stop | ServiceControl::Shutdown => {
            asked.notify_one();
            ServiceControlHandlerResult::NoError
        }
        ServiceControl::Interrogate => ServiceControlHandlerResult::NoError,
        _ => ServiceControlHandlerResult::NotImplemented,
    })?;
    report(&status, ServiceState::StartPending, 0)?;
    let outcome = tokio::runtime::Runtime::new().context("cannot start the runtime").and_then(|runtime| {
        runtime.block_on(async {
            let config = settings(SETTINGS.get().context("no settings file")?)?;
            let running = server::start(config).await?;
            tracing::info!(address = %running.addr, "serving as the kefu service");
            report(&status, ServiceState::Running, 0)?;
            stop.notified().await;
            report(&status, ServiceState::StopPending, 0)?;
            running.stop().await;
            tracing::info!("stopped");
            anyhow::Ok(())
        })
    });
    report(&status, ServiceState::Stopped, u32::from(outcome.is_err()))?;
    outcome
}

/// Tells Windows the service's state; only a running service takes a stop.
fn report(status: &ServiceStatusHandle, state: ServiceState, exit_code: u32) -> anyhow::Result<()> {
    let running = state == ServiceState::Running;
    let pending = matches!(state, ServiceState::StartPending | ServiceState::StopPending);
    status.set_service_status(ServiceStatus {
        service_type: ServiceType::OWN_PROCESS,
        current_state: state,
        controls_accepted: if running {
            ServiceControlAccept::STOP | ServiceControlAccept::SHUTDOWN
        } else {
            ServiceControlAccept::empty()
        },
        exit_code: ServiceExitCode::Win32(exit_code),
        checkpoint: 0,
        wait_hint: if pending { PENDING } else { Duration::ZERO },
        process_id: None,
    })?;
    Ok(())
}
