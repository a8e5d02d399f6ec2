//! Kefu for the desktop: the console of the agent's Kefu server in a window that closes to the
//! tray and keeps its connections, with the unread count on the tray icon, native notifications
//! that open the conversation, start at login, one instance, and the window where it was left.
//!
//! The console itself is the server's (`/console/`), so the app and the server never disagree on
//! the protocol; a script put into the page (`desktop.js`) hands its notifications and unread
//! count to the app. The only page the app carries asks where the server is, at first start.

#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

mod notices;
mod server;
mod texts;
mod tray;

use serde_json::json;
use tauri::ipc::CapabilityBuilder;
use tauri::utils::config::BackgroundThrottlingPolicy;
use tauri::{AppHandle, Manager, RunEvent, WebviewUrl, WebviewWindowBuilder, WindowEvent};
use tauri_plugin_window_state::{AppHandleExt, StateFlags, WindowExt};

use crate::server::Server;

pub const MAIN: &str = "main";
/// Given by the start-at-login entry: start in the tray, without the window.
const HIDDEN: &str = "--hidden";
const DESKTOP_JS: &str = include_str!("desktop.js");

fn main() {
    let visible = !std::env::args().any(|arg| arg == HIDDEN);
    let app = tauri::Builder::default()
        // A second start shows the running one instead.
        .plugin(tauri_plugin_single_instance::init(|app, _args, _cwd| show(app)))
        .plugin(tauri_plugin_autostart::init(
            tauri_plugin_autostart::MacosLauncher::LaunchAgent,
            Some(vec![HIDDEN]),
        ))
        .plugin(
            tauri_plugin_window_state::Builder::default()
                .with_state_flags(StateFlags::all() - StateFlags::VISIBLE)
                .build(),
        )
        .invoke_handler(tauri::generate_handler![connect, saved_server, change_server, notify, unread])
        .setup(move |app| {
            #[cfg(target_os = "macos")]
            let _ = notify_rust::set_application(&app.config().identifier);
            tray::create(app.handle())?;
            let saved = server::load(app.handle());
            open_window(app.handle(), saved.as_ref(), visible)?;
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(error) => {
            eprintln!("Kefu could not start: {error}");
            std::process::exit(1);
        }
    };
    app.run(|app, event| match event {
        // Closing the window keeps Kefu in the tray, connected.
        RunEvent::WindowEvent { label, event: WindowEvent::CloseRequested { api, .. }, .. }
            if label == MAIN =>
        {
            api.prevent_close();
            let _ = app.save_window_state(StateFlags::all() - StateFlags::VISIBLE);
            if let Some(window) = app.get_webview_window(MAIN) {
                let _ = window.hide();
            }
        }
        // No window shown: still running, in the tray. Quit says otherwise.
        RunEvent::ExitRequested { code: None, api, .. } => api.prevent_exit(),
        // The dock icon clicked while the window is in the tray.
        #[cfg(target_os = "macos")]
        RunEvent::Reopen { .. } => show(app),
        _ => {}
    });
}

/// The main window: the server's console, or the page that asks for the server.
fn open_window(app: &AppHandle, server: Option<&Server>, visible: bool) -> tauri::Result<()> {
    let url = match server {
        Some(server) => {
            allow(app, server)?;
            WebviewUrl::External(server.console())
        }
        None => WebviewUrl::App("index.html".into()),
    };
    let window = WebviewWindowBuilder::new(app, MAIN, url)
        .title(texts::Texts::of_system().product)
        .inner_size(1280.0, 820.0)
        .min_inner_size(400.0, 560.0)
        .initialization_script(DESKTOP_JS)
        // Hidden in the tray it still hears every message (macOS would suspend it otherwise).
        .background_throttling(BackgroundThrottlingPolicy::Disabled)
        .visible(false)
        .build()?;
    let _ = window.restore_state(StateFlags::all() - StateFlags::VISIBLE);
    if visible {
        window.show()?;
        window.set_focus()?;
    }
    Ok(())
}

/// Lets the server's console pages talk to the app (its notifications, its unread count).
fn allow(app: &AppHandle, server: &Server) -> tauri::Result<()> {
    let origin = server.origin();
    let id: String = origin.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '-' }).collect();
    app.add_capability(
        CapabilityBuilder::new(format!("console-{id}"))
            .remote(format!("{origin}/*"))
            .local(false)
            .window(MAIN)
            .permission("allow-notify")
            .permission("allow-unread")
            .permission("allow-change-server"),
    )
}

/// The window forward, shown if it was in the tray.
pub fn show(app: &AppHandle) {
    if let Some(window) = app.get_webview_window(MAIN) {
        let _ = window.unminimize();
        let _ = window.show();
        let _ = window.set_focus();
    }
}

/// Keeps the window's place for the next start and ends the app.
pub fn quit(app: &AppHandle) {
    let _ = app.save_window_state(StateFlags::all() - StateFlags::VISIBLE);
    app.exit(0);
}

/// From the setup page: checks the server answers (unless `anyway`: behind a proxy the app
/// cannot tell), remembers it and opens its console. Errors are `invalid` or `unreachable` (the
/// page says them in its language) or a sentence.
#[tauri::command]
async fn connect(app: AppHandle, server: String, anyway: Option<bool>) -> Result<(), String> {
    let server = Server::parse(&server).ok_or("invalid")?;
    let probe = server.clone();
    let answers = anyway == Some(true)
        || tauri::async_runtime::spawn_blocking(move || probe.answers()).await.unwrap_or(false);
    if !answers {
        return Err("unreachable".into());
    }
    server::save(&app, &server).map_err(|e| format!("the address could not be saved: {e}"))?;
    allow(&app, &server).map_err(|e| e.to_string())?;
    let window = app.get_webview_window(MAIN).ok_or("the window is gone")?;
    window.navigate(server.console()).map_err(|e| e.to_string())
}

#[tauri::command]
fn saved_server(app: AppHandle) -> Option<String> {
    server::load(&app).map(|server| server.origin())
}

/// From the console's login page: back to the setup page, to choose another server.
#[tauri::command]
async fn change_server(app: AppHandle) -> Result<(), String> {
    to_setup(&app).map_err(|e| e.to_string())
}

/// The window back on the page that asks for the server (it offers the one saved).
pub fn to_setup(app: &AppHandle) -> tauri::Result<()> {
    // Where the app's own pages are served from, as the webview sees them.
    const SETUP: &str =
        if cfg!(windows) { "http://tauri.localhost/index.html" } else { "tauri://localhost/index.html" };
    let window = app.get_webview_window(MAIN).ok_or(tauri::Error::WindowNotFound)?;
    window.navigate(SETUP.parse::<tauri::Url>().map_err(|_| tauri::Error::WindowNotFound)?)?;
    show(app);
    Ok(())
}

#[tauri::command]
fn notify(app: AppHandle, title: String, body: String, tag: String) {
    notices::show(&app, title, body, tag);
}

#[tauri::command]
fn unread(app: AppHandle, count: u32) {
    notices::record(&json!({ "unread": count }));
    tray::set_unread(&app, count);
}
