//! Tamper evidence against a real PostgreSQL: the database superuser changes, deletes and
//! forges events behind the triggers' back, and `auditorium verify` names each one; a
//! checkpoint signed before the tampering exposes even a rewrite that covers its tracks.

mod common;

use std::process::Command;

use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use common::{app, ingest, token};
use server::integrity::chain::{self, batch_digest, Anchor, Problem, Range};
use server::integrity::checkpoint::{self, Checkpoint};
use server::store::tokens::Scope;

const BIN: &str = env!("CARGO_BIN_EXE_auditorium");

fn scratch() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("auditorium-integrity-{}", Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    dir
}

/// `auditorium verify` on the test database: (success, stdout).
fn verify_cli(pool: &PgPool, data_dir: &std::path::Path, extra: &[&str]) -> (bool, String) {
    let out = Command::new(BIN)
        .env("DATABASE_URL", common::database_url(pool))
        .arg("--data-dir")
        .arg(data_dir)
        .arg("verify")
        .args(extra)
        .output()
        .expect("runs");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// A connection of its own for tampering (its settings must never reach the pool).
async fn superuser(pool: &PgPool) -> sqlx::PgConnection {
    pool.acquire().await.expect("conn").detach()
}

async fn stored_ids(pool: &PgPool) -> Vec<Uuid> {
    sqlx::query_scalar("SELECT id FROM event_positions ORDER BY seq").fetch_all(pool).await.expect("ids")
}

/// 60 events in 6 requests (6 batches).
async fn some_events(pool: &PgPool) {
    let app = app(pool).await;
    let secret = token(pool, Scope::Ingest).await;
    for batch in 0..6 {
        let events: Vec<_> = (0..10).map(|i| common::event(batch * 10 + i)).collect();
        assert_eq!(ingest(&app, &secret, &json!(events)).await.status.as_u16(), 201);
    }
}

async fn full_verify(pool: &PgPool, anchors: &[Anchor]) -> chain::Report {
    chain::verify(pool, &Range { find_inserted: true, ..Range::default() }, anchors).await.expect("verify")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn changed_missing_and_forged_events_are_each_named(pool: PgPool) {
    some_events(&pool).await;
    let data_dir = scratch();
    let (ok, out) = verify_cli(&pool, &data_dir, &[]);
    assert!(ok, "an untouched log verifies clean: {out}");
    assert!(out.contains("Checked 60 events in 6 batches"), "{out}");

    let ids = stored_ids(&pool).await;
    let (changed, deleted) = (ids[13], ids[41]);
    let forged = Uuid::now_v7();
    // As the superuser, with every trigger off.
    let mut conn = superuser(&pool).await;
    sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.expect("replica");
    sqlx::query("UPDATE events SET actor_name = 'Somebody Else' WHERE id = $1").bind(changed).execute(&mut conn).await.expect("update");
    sqlx::query("DELETE FROM events WHERE id = $1").bind(deleted).execute(&mut conn).await.expect("delete");
    sqlx::query(
        "INSERT INTO events (occurred_at, id, action, actor_id, actor_name, actor_type, outcome, search_text)
         SELECT occurred_at, $1, 'user.login', 'u1', 'User 1', 'user', 'success', 'x' FROM events WHERE id = $2",
    )
    .bind(forged)
    .bind(ids[0])
    .execute(&mut conn)
    .await
    .expect("forge");
    drop(conn);

    let (ok, out) = verify_cli(&pool, &data_dir, &[]);
    assert!(!ok, "verify must fail: {out}");
    assert!(out.contains(&format!("changed {changed}")), "{out}");
    assert!(out.contains(&format!("missing {deleted}")), "{out}");
    assert!(out.contains(&format!("inserted {forged}")), "{out}");
    assert!(out.contains("NOT intact: 3 problem(s)"), "exactly these three: {out}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_checkpoint_from_before_exposes_a_rewrite_that_covers_its_tracks(pool: PgPool) {
    some_events(&pool).await;
    let data_dir = scratch();
    let key = checkpoint::load_or_create(&data_dir).expect("key");
    let signed = checkpoint::make(&pool, &key).await.expect("sign").expect("a new checkpoint");
    let file = data_dir.join("checkpoint.json");
    std::fs::write(&file, serde_json::to_string(&signed).expect("json")).expect("write");
    // What the auditor keeps verifies against the instance's public key.
    let kept: Checkpoint = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("parse");
    kept.check(Some(&key.verifying_key())).expect("signature");

    // A careful attacker: changes an event, then recomputes its hash and every digest after it
    // and removes the stored checkpoints.
    let ids = stored_ids(&pool).await;
    let victim = ids[25];
    let mut conn = superuser(&pool).await;
    sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.expect("replica");
    sqlx::query("UPDATE events SET action = 'project.viewed' WHERE id = $1").bind(victim).execute(&mut conn).await.expect("update");
    sqlx::query("UPDATE event_positions p SET hash = event_hash(e) FROM events e WHERE e.id = p.id AND p.id = $1").bind(victim).execute(&mut conn).await.expect("rehash");
    let batches: Vec<(i64, i64)> = sqlx::query_as("SELECT first_seq, last_seq FROM event_chain ORDER BY last_seq").fetch_all(&mut conn).await.expect("chain");
    let mut previous = chain::GENESIS.to_vec();
    for (first, last) in batches {
        let hashes: Vec<(i64, Vec<u8>)> = sqlx::query_as("SELECT seq, hash FROM event_positions WHERE seq BETWEEN $1 AND $2 ORDER BY seq")
            .bind(first)
            .bind(last)
            .fetch_all(&mut conn)
            .await
            .expect("hashes");
        let digest = batch_digest(&previous, hashes.iter().map(|(s, h)| (*s, h.as_slice())));
        sqlx::query("UPDATE event_chain SET digest = $1 WHERE last_seq = $2").bind(digest.to_vec()).bind(last).execute(&mut conn).await.expect("rewrite");
        previous = digest.to_vec();
    }
    sqlx::query("DELETE FROM integrity_checkpoints").execute(&mut conn).await.expect("remove checkpoints");
    drop(conn);

    assert!(full_verify(&pool, &[]).await.intact(), "without a checkpoint the rewrite is consistent");
    let (ok, out) = verify_cli(&pool, &data_dir, &["--checkpoint", file.to_str().expect("path")]);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("checkpoint mismatch (position {})", signed.seq)), "{out}");

    // A forged checkpoint (signed by another key) is refused as such.
    let other = ed25519_dalek::SigningKey::from_bytes(&[3; 32]);
    let forged = Checkpoint::sign(&other, signed.seq, &previous, chrono::Utc::now());
    let forged_file = data_dir.join("forged.json");
    std::fs::write(&forged_file, serde_json::to_string(&forged).expect("json")).expect("write");
    let (ok, out) = verify_cli(&pool, &data_dir, &["--checkpoint", forged_file.to_str().expect("path")]);
    assert!(!ok && out.contains("not by this instance's key"), "{out}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn removing_the_newest_events_is_caught_by_a_checkpoint(pool: PgPool) {
    some_events(&pool).await;
    let data_dir = scratch();
    let key = checkpoint::load_or_create(&data_dir).expect("key");
    let signed = checkpoint::make(&pool, &key).await.expect("sign").expect("checkpoint");
    let mut conn = superuser(&pool).await;
    sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.expect("replica");
    // The last batch, its positions and its chain row vanish: what is left is consistent.
    sqlx::query("DELETE FROM events WHERE id IN (SELECT id FROM event_positions WHERE seq > 50)").execute(&mut conn).await.expect("delete");
    sqlx::query("DELETE FROM event_positions WHERE seq > 50").execute(&mut conn).await.expect("delete");
    sqlx::query("DELETE FROM event_chain WHERE last_seq > 50").execute(&mut conn).await.expect("delete");
    drop(conn);
    let anchor = Anchor { seq: signed.seq, digest: signed.digest_bytes().expect("hex") };
    let report = full_verify(&pool, &[anchor]).await;
    assert_eq!(report.findings.len(), 1, "{:?}", report.findings);
    assert_eq!(report.findings[0].problem, Problem::CheckpointMismatch);
    assert!(report.findings[0].detail.contains("newest events are gone"));
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn the_background_verifier_records_how_far_the_log_is_verified(pool: PgPool) {
    some_events(&pool).await;
    assert!(server::integrity::verifier::run_once(&pool).await.expect("run").is_empty());
    let status = server::integrity::verifier::status(&pool).await.expect("status");
    let newest: chrono::DateTime<chrono::Utc> = sqlx::query_scalar("SELECT max(committed_at) FROM event_chain").fetch_one(&pool).await.expect("max");
    assert_eq!(status.verified_upto, Some(newest));
    assert_eq!(status.problem, None);
    // A change after that is found by the next run, which continues where the last stopped.
    let victim = stored_ids(&pool).await[59];
    let mut conn = superuser(&pool).await;
    sqlx::query("SET session_replication_role = replica").execute(&mut conn).await.expect("replica");
    sqlx::query("UPDATE events SET outcome = 'failure' WHERE id = $1").bind(victim).execute(&mut conn).await.expect("update");
    drop(conn);
    assert!(server::integrity::verifier::run_once(&pool).await.expect("run").is_empty(), "already verified batches are not read again");
    let app = app(&pool).await;
    let secret = token(&pool, Scope::Ingest).await;
    assert_eq!(ingest(&app, &secret, &json!([common::event(99)])).await.status.as_u16(), 201);
    assert!(server::integrity::verifier::run_once(&pool).await.expect("run").is_empty(), "the new batch is intact");
    let full = full_verify(&pool, &[]).await;
    assert_eq!(full.findings.len(), 1, "{:?}", full.findings);
    assert_eq!(full.findings[0].id, Some(victim));
}
