//! `auditorium ingest FILE.ndjson`: the API's validation, batch by batch, idempotent.

mod common;

use common::{count_events, event};
use serde_json::json;
use sqlx::PgPool;

fn write_ndjson(name: &str, lines: &[String]) -> std::path::PathBuf {
    let path = std::env::temp_dir().join(format!("auditorium-{name}-{}.ndjson", uuid::Uuid::now_v7()));
    std::fs::write(&path, lines.join("\n")).expect("write");
    path
}

fn with_id(n: usize) -> String {
    let mut e = event(n);
    e["id"] = json!(format!("0192e4a0-7b1c-7cde-8f00-{n:012}"));
    e.to_string()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_file_is_loaded_in_batches_and_reloading_it_adds_nothing(pool: PgPool) {
    let lines: Vec<String> = (0..2500).map(with_id).collect();
    let path = write_ndjson("load", &lines);
    server::commands::ingest_file::run(&server::ingest::Ingestor::for_command(pool.clone()), &path, 1000).await.expect("load");
    assert_eq!(count_events(&pool).await, 2500);
    server::commands::ingest_file::run(&server::ingest::Ingestor::for_command(pool.clone()), &path, 1000).await.expect("reload");
    assert_eq!(count_events(&pool).await, 2500, "a second load only finds duplicates");
    let _ = std::fs::remove_file(path);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_bad_line_stops_the_load_and_says_where(pool: PgPool) {
    let mut lines: Vec<String> = (0..1500).map(with_id).collect();
    lines[1200] = json!({"action": "Bad Action", "actor": {"id": "u", "name": "U", "type": "user"}}).to_string();
    let path = write_ndjson("bad", &lines);
    let err = server::commands::ingest_file::run(&server::ingest::Ingestor::for_command(pool.clone()), &path, 1000).await.expect_err("line 1201 is invalid");
    let message = err.to_string();
    assert!(message.contains("line 1001") && message.contains("item 200") && message.contains("action"), "{message}");
    assert_eq!(count_events(&pool).await, 1000, "the batch before the bad one is stored, the bad batch is not");
    let _ = std::fs::remove_file(path);
}
