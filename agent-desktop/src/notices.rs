//! Native notifications for what the console says is new; a click brings the window forward with
//! the conversation open. With `KEFU_DESKTOP_EVENTS=FILE` every notification and unread count is
//! also written to FILE as a JSON line (the desktop tests read it).

use std::io::Write;
#[cfg(all(unix, not(target_os = "macos")))]
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tauri::{AppHandle, Manager};

#[cfg(all(unix, not(target_os = "macos")))]
use crate::texts::Texts;

const MAX_BODY_CHARS: usize = 200;
/// How long a notification asks to stay; the service may keep it longer.
const SHOWN_MS: u32 = 15_000;

/// Appends one event to the file `KEFU_DESKTOP_EVENTS` names, if it names one.
pub fn record(event: &serde_json::Value) {
    let Some(path) = std::env::var_os("KEFU_DESKTOP_EVENTS") else { return };
    let written = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut file| writeln!(file, "{event}"));
    if let Err(error) = written {
        eprintln!("kefu-desktop: cannot record an event: {error}");
    }
}

pub fn show(app: &AppHandle, title: String, body: String, tag: String) {
    let body: String = body.chars().take(MAX_BODY_CHARS).collect();
    record(&json!({"notify": {"title": title, "body": body, "tag": tag}}));
    let app = app.clone();
    // Showing waits on the desktop's notification service, and on Linux waiting for the click
    // holds a thread until the notification is clicked or dismissed.
    std::thread::spawn(move || {
        let mut notification = notify_rust::Notification::new();
        notification
            .appname("Kefu")
            .summary(&title)
            .body(&body)
            .timeout(notify_rust::Timeout::Milliseconds(SHOWN_MS));
        #[cfg(all(unix, not(target_os = "macos")))]
        notification.action("default", Texts::of_system().open_conversation);
        let shown = match notification.show() {
            Ok(handle) => handle,
            Err(error) => return eprintln!("kefu-desktop: no notification shown: {error}"),
        };
        #[cfg(all(unix, not(target_os = "macos")))]
        {
            // Each notification waited on holds this thread and a connection to the notification
            // service until clicked or dismissed: a few at once; later ones are only shown.
            const MAX_WAITING: usize = 8;
            static WAITING: AtomicUsize = AtomicUsize::new(0);
            if WAITING.fetch_add(1, Ordering::AcqRel) < MAX_WAITING {
                shown.wait_for_action(|action| {
                    if action == "default" {
                        open(&app, &tag);
                    }
                });
            }
            WAITING.fetch_sub(1, Ordering::AcqRel);
        }
        #[cfg(not(all(unix, not(target_os = "macos"))))]
        drop((shown, app, tag));
    });
}

/// The window forward, and the notification's conversation open in it.
pub fn open(app: &AppHandle, tag: &str) {
    crate::show(app);
    if let Some(window) = app.get_webview_window(crate::MAIN) {
        let tag = serde_json::to_string(tag).unwrap_or_default();
        let _ = window.eval(format!("window.kefuDesktop && window.kefuDesktop.opened({tag})"));
    }
}
