// Rebuild when a migration is added: the binary embeds them (sqlx::migrate!).
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
