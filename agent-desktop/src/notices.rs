//! Native notifications for what the console says is new; a click brings the window forward with
//! the conversation open. With `KEFU_DESKTOP_EVENTS=FILE` every notification and unread count is
//! also written to FILE as a JSON line (the desktop tests read it).

use std::io::Write;

use serde_json::json;
use tauri::{AppHandle, Manager};

use crate::texts::Texts;

const MAX_BODY_CHARS: usize = 200;

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
        notification.appname("Kefu").summary(&title).body(&body);
        #[cfg(all(unix, not(target_os = "macos")))]
        notification.action("default", Texts::of_system().open_conversation);
        match notification.show() {
            #[cfg(all(unix, not(target_os = "macos")))]
            Ok(handle) => handle.wait_for_action(|action| {
                if action == "default" {
                    open(&app, &tag);
                }
            }),
            #[cfg(not(all(unix, not(target_os = "macos"))))]
            Ok(_) => {
                let _ = (&app, &tag);
            }
            Err(error) => eprintln!("kefu-desktop: no notification shown: {error}"),
        }
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
