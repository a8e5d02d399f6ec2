//! The tray icon: the unread count on it, and a menu to open the window, start at login, quit.

use tauri::image::Image;
use tauri::menu::{CheckMenuItem, Menu, MenuItem, PredefinedMenuItem};
use tauri::tray::{MouseButton, MouseButtonState, TrayIconBuilder, TrayIconEvent};
use tauri::{AppHandle, Manager};
use tauri_plugin_autostart::ManagerExt;

use crate::texts::Texts;

const ID: &str = "kefu";
const ICON: &[u8] = include_bytes!("../icons/32x32.png");

/// The icon, with a red dot when something is unread.
fn icon(unread: u32) -> tauri::Result<Image<'static>> {
    let plain = Image::from_bytes(ICON)?;
    let (width, height) = (plain.width(), plain.height());
    let mut rgba = plain.rgba().to_vec();
    if unread > 0 {
        // A dot in the top right corner, a third of the icon across, with a white ring.
        let radius = f64::from(width) / 6.0;
        let (cx, cy) = (f64::from(width) - radius - 1.0, radius + 1.0);
        for y in 0..height {
            for x in 0..width {
                let d = ((f64::from(x) + 0.5 - cx).powi(2) + (f64::from(y) + 0.5 - cy).powi(2)).sqrt();
                let color: Option<[u8; 4]> = if d <= radius {
                    Some([0xcf, 0x22, 0x2e, 0xff])
                } else if d <= radius + 1.5 {
                    Some([0xff, 0xff, 0xff, 0xff])
                } else {
                    None
                };
                if let Some(color) = color {
                    let at = ((y * width + x) * 4) as usize;
                    rgba[at..at + 4].copy_from_slice(&color);
                }
            }
        }
    }
    Ok(Image::new_owned(rgba, width, height))
}

pub fn create(app: &AppHandle) -> tauri::Result<()> {
    let texts = Texts::of_system();
    let open = MenuItem::with_id(app, "open", texts.open, true, None::<&str>)?;
    let change = MenuItem::with_id(app, "server", texts.change_server, true, None::<&str>)?;
    let at_login = app.autolaunch().is_enabled().unwrap_or(false);
    let autostart =
        CheckMenuItem::with_id(app, "autostart", texts.start_at_login, true, at_login, None::<&str>)?;
    let quit = MenuItem::with_id(app, "quit", texts.quit, true, None::<&str>)?;
    let menu =
        Menu::with_items(app, &[&open, &change, &autostart, &PredefinedMenuItem::separator(app)?, &quit])?;
    TrayIconBuilder::with_id(ID)
        .icon(icon(0)?)
        .tooltip(texts.product)
        .menu(&menu)
        .show_menu_on_left_click(false)
        .on_menu_event(move |app, event| match event.id().as_ref() {
            "open" => crate::show(app),
            "server" => {
                if let Err(error) = crate::to_setup(app) {
                    eprintln!("kefu-desktop: cannot show the server page: {error}");
                }
            }
            "autostart" => {
                let manager = app.autolaunch();
                let enabled = manager.is_enabled().unwrap_or(false);
                let changed = if enabled { manager.disable() } else { manager.enable() };
                let _ = autostart.set_checked(manager.is_enabled().unwrap_or(enabled));
                if let Err(error) = changed {
                    eprintln!("kefu-desktop: starting at login could not be changed: {error}");
                }
            }
            "quit" => crate::quit(app),
            _ => {}
        })
        .on_tray_icon_event(|tray, event| {
            if let TrayIconEvent::Click {
                button: MouseButton::Left,
                button_state: MouseButtonState::Up,
                ..
            } = event
            {
                crate::show(tray.app_handle());
            }
        })
        .build(app)?;
    Ok(())
}

/// Shows how many conversations wait to be read: a dot on the icon, the number beside it where
/// the desktop shows tray titles, and in the tooltip.
pub fn set_unread(app: &AppHandle, unread: u32) {
    let Some(tray) = app.tray_by_id(ID) else { return };
    let texts = Texts::of_system();
    if let Ok(image) = icon(unread) {
        let _ = tray.set_icon(Some(image));
    }
    let _ = tray.set_title((unread > 0).then(|| unread.to_string()));
    let tooltip =
        if unread > 0 { texts.unread.replace("{n}", &unread.to_string()) } else { texts.product.to_owned() };
    let _ = tray.set_tooltip(Some(tooltip));
    if let Some(window) = app.get_webview_window(crate::MAIN) {
        let _ = window.set_badge_count((unread > 0).then_some(i64::from(unread)));
    }
}
