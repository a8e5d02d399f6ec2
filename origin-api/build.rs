//! Builds again when a migration is added: `sqlx::migrate!` embeds the folder's files, but only
//! a file it already knew is watched.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
