//! Rebuilds the crate when a migration is added or changed, so that
//! `MIGRATOR` (`sqlx::migrate!`, which embeds the folder at compile time)
//! never ships without the newest one.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
