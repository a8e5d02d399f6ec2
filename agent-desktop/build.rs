fn main() {
    // Permissions for the app's own commands (allow-connect, …), granted per page in
    // capabilities/ (the bundled setup page) and at run time (the server's console).
    let manifest = tauri_build::AppManifest::new().commands(&[
        "connect",
        "saved_server",
        "change_server",
        "notify",
        "unread",
    ]);
    if let Err(error) = tauri_build::try_build(tauri_build::Attributes::new().app_manifest(manifest)) {
        eprintln!("the app's configuration is wrong: {error:#}");
        std::process::exit(1);
    }
}
