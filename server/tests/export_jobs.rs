//! Export jobs against a real PostgreSQL: one ZIP per format with its checksum, audited and
//! deletable; a dead instance's job is taken over without offering half a file; expired jobs
//! and stray files are swept; a full disk fails the job with a clear message.

mod common;

use std::time::{Duration, Instant};

use axum::http::{header, Method, Request, StatusCode};
use calamine::Reader;
use common::exports::{csv_records, finished, json_request, unzip, unzip_raw};
use common::{app, ingest, read, send, token, TEST_READER};
use serde_json::{json, Value};
use server::auth::accounts;
use server::auth::audit::{Actor, Origin};
use server::export::files::ExportFiles;
use server::export::jobs;
use server::export::worker::Worker;
use server::store::tokens::Scope as TokenScope;
use server::store::users::Role;
use sha2::Digest;
use sqlx::PgPool;

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn an_export_job_makes_one_zip_per_format_is_audited_and_can_be_deleted(pool: PgPool) {
    let app = app(&pool).await;
    let ingest_token = token(&pool, TokenScope::Ingest).await;
    let events: Vec<Value> = (0..12).map(common::event).collect();
    assert_eq!(ingest(&app, &ingest_token, &json!(events)).await.status, StatusCode::CREATED);
    let view = "action=project.updated,project.updated_again&range=1h";
    let auditor = accounts::create_user(&pool, "auditor@example.com", None, Role::Auditor, &[], None, Actor::system(), Origin::default()).await.expect("user").0.id;
    let creator = accounts::create_token(&pool, "auditor reads", TokenScope::Read, Some(auditor), Actor::system(), Origin::default()).await.expect("token").1;
    let body = json!({"name": "Incident 42: Ünïcode/../x", "formats": ["xlsx", "csv"], "view": format!("?{view}")});
    let created = send(&app, json_request(Method::POST, "/api/v1/exports", &creator, body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    assert_eq!(created.body["formats"], json!(["csv", "xlsx"]));
    let id = created.body["id"].as_str().expect("id").to_string();
    let job = finished(&app, TEST_READER, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!((job["rows_done"].as_u64(), job["rows_total"].as_u64()), (Some(12), Some(12)));
    let expires = chrono::DateTime::parse_from_rfc3339(job["expires_at"].as_str().expect("expiry")).expect("time");
    let days = (expires.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_hours();
    assert!((167..=168).contains(&days), "live for 7 days: {days} h");

    let files = job["files"].as_array().expect("files");
    assert_eq!(files.len(), 2);
    for file in files {
        let zip = send(&app, read(file["url"].as_str().expect("url"))).await;
        assert_eq!(zip.status, StatusCode::OK, "{}", zip.text);
        assert_eq!(zip.headers[header::CONTENT_TYPE], "application/zip");
        assert_eq!(zip.raw.len() as u64, file["bytes"].as_u64().expect("bytes"));
        assert_eq!(hex(&sha2::Sha256::digest(&zip.raw)), file["sha256"], "the published checksum is the file's");
        let disposition = zip.headers[header::CONTENT_DISPOSITION].to_str().expect("ascii");
        assert!(!disposition.contains("..") && !disposition.contains('/'), "a safe file name: {disposition}");
        // Asked for with gzip, as browsers do: the same bytes, not compressed again.
        let mut gzip = read(file["url"].as_str().expect("url"));
        gzip.headers_mut().insert(header::ACCEPT_ENCODING, header::HeaderValue::from_static("gzip, deflate, br"));
        let gzip = send(&app, gzip).await;
        assert!(!gzip.headers.contains_key(header::CONTENT_ENCODING), "a ZIP is not gzipped again");
        assert_eq!(gzip.raw, zip.raw);
        let (name, raw) = unzip_raw(&zip.raw);
        match file["format"].as_str() {
            Some("csv") => {
                assert!(name.ends_with(".csv"), "{name}");
                assert_eq!(csv_records(&raw).len(), 12);
            }
            Some("xlsx") => {
                assert!(name.ends_with(".xlsx"), "{name}");
                let mut book = calamine::Xlsx::new(std::io::Cursor::new(raw)).expect("workbook");
                assert_eq!(book.worksheet_range("Events").expect("sheet").rows().count(), 13);
            }
            other => panic!("unexpected format {other:?}"),
        }
    }
    // Auditorium's own log is written a moment later.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let audit = send(&app, read("/api/v1/events?action=auditorium.export.created,auditorium.export.downloaded&range=1h")).await;
        if audit.body["total"]["count"] == 5 {
            break;
        }
        assert!(Instant::now() < deadline, "created once, downloaded four times (each file plain and asking for gzip): {}", audit.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    let delete = |secret: &str| {
        let request = Request::builder().method(Method::DELETE).uri(format!("/api/v1/exports/{id}")).header(header::AUTHORIZATION, format!("Bearer {secret}"));
        request.body(axum::body::Body::empty()).expect("request")
    };
    assert_eq!(send(&app, delete(TEST_READER)).await.status, StatusCode::FORBIDDEN, "another auditor may not delete it");
    assert_eq!(send(&app, delete(&creator)).await.status, StatusCode::NO_CONTENT, "its creator may");
    assert_eq!(send(&app, read(&format!("/api/v1/exports/{id}"))).await.status, StatusCode::NOT_FOUND);
    assert_eq!(send(&app, read(&format!("/api/v1/exports/{id}/csv"))).await.status, StatusCode::NOT_FOUND);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn admin() -> server::auth::Principal {
    common::admin_principal()
}

fn scratch(name: &str) -> ExportFiles {
    ExportFiles::new(std::env::temp_dir().join(format!("auditorium-test-{name}-{}", uuid::Uuid::now_v7())), Duration::from_secs(7 * 86_400))
}

async fn new_job(pool: &PgPool, files: &ExportFiles) -> uuid::Uuid {
    let new = app::exports::NewExport { name: Some("job".into()), formats: vec!["csv".into()], view: "range=1h".into() };
    jobs::create(pool, files, &admin(), &new, Origin::default()).await.expect("job").id
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_job_whose_instance_died_is_taken_over_and_half_a_file_is_never_offered(pool: PgPool) {
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    let events: Vec<Value> = (0..7).map(common::event).collect();
    server::ingest::ingest(&ingestor, &events).await.expect("events");
    let files = scratch("takeover");
    let id = new_job(&pool, &files).await;
    // An instance claims it, writes part of a file, and dies (no more heartbeats).
    let dead = server::store::exports::claim(&pool, "dead-instance").await.expect("claim").expect("a job");
    assert_eq!(dead.id, id);
    let path = files.zip_path(id, server::export::Format::Csv);
    std::fs::create_dir_all(path.parent().expect("dir")).expect("dir");
    std::fs::write(&path, b"PK half a file").expect("partial");
    let refused = jobs::download(&pool, &files, &admin(), &id.to_string(), "csv", Origin::default()).await;
    assert!(matches!(refused, Err(jobs::JobError::NotReady(_))), "a running job offers no file: {refused:?}");

    let worker = Worker::new(pool.clone(), files.clone(), Default::default());
    assert!(!worker.run_one().await.expect("run"), "a job with a live heartbeat is not taken");
    sqlx::query("UPDATE exports SET heartbeat_at = now() - interval '1 minute'").execute(&pool).await.expect("age");
    assert!(worker.run_one().await.expect("run"), "a stale job is taken over");
    let row = server::store::exports::get(&pool, id).await.expect("row").expect("job");
    assert_eq!((row.status.as_str(), row.attempts, row.rows_done), ("done", 2, 7));
    let (path, _) = jobs::download(&pool, &files, &admin(), &id.to_string(), "csv", Origin::default()).await.expect("done");
    let (_, text) = unzip(&std::fs::read(path).expect("zip"));
    assert_eq!(csv_records(text.as_bytes()).len(), 7, "the whole view, not the dead instance's half");

    // A job that keeps dying is given up with a reason, not retried forever.
    let id = new_job(&pool, &files).await;
    sqlx::query("UPDATE exports SET status = 'running', attempts = 3, claimed_by = 'dead', heartbeat_at = now() - interval '1 minute' WHERE id = $1")
        .bind(id)
        .execute(&pool)
        .await
        .expect("age");
    assert!(worker.run_one().await.expect("run"));
    let row = server::store::exports::get(&pool, id).await.expect("row").expect("job");
    assert_eq!(row.status, "failed");
    assert!(row.error.as_deref().is_some_and(|e| e.contains("create the export again")), "{:?}", row.error);
    let _ = std::fs::remove_dir_all(&files.dir);
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn expired_exports_and_stray_files_are_swept(pool: PgPool) {
    let files = scratch("sweep");
    let worker = Worker::new(pool.clone(), files.clone(), Default::default());
    let kept = new_job(&pool, &files).await;
    let expiring = new_job(&pool, &files).await;
    while worker.run_one().await.expect("run") {}
    let stray = files.dir.join(uuid::Uuid::now_v7().to_string());
    std::fs::create_dir_all(&stray).expect("stray");
    sqlx::query("UPDATE exports SET expires_at = now() - interval '1 second' WHERE id = $1").bind(expiring).execute(&pool).await.expect("expire");
    assert_eq!(worker.sweep().await.expect("sweep"), 1);
    assert!(server::store::exports::get(&pool, expiring).await.expect("row").is_none(), "the expired job is gone");
    assert!(!files.job_dir(expiring).exists(), "with its files");
    assert!(!stray.exists(), "files no job lists are removed");
    assert!(files.zip_path(kept, server::export::Format::Csv).exists(), "the live job keeps its file");
    let _ = std::fs::remove_dir_all(&files.dir);
}

/// Unmounts the small file system on the way out, also when an assertion fails.
struct Mounted(std::path::PathBuf);

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_full_disk_fails_the_job_with_a_clear_message_and_offers_no_file(pool: PgPool) {
    // A real full disk: a 64 KiB tmpfs as the export directory (needs mount rights, as root in CI).
    let dir = std::env::temp_dir().join(format!("auditorium-full-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).expect("dir");
    let mounted = std::process::Command::new("mount").args(["-t", "tmpfs", "-o", "size=64k", "tmpfs"]).arg(&dir).output();
    if !mounted.as_ref().is_ok_and(|o| o.status.success()) {
        let _ = std::fs::remove_dir_all(&dir);
        eprintln!("SKIPPED a_full_disk_fails_the_job: cannot mount a tmpfs here ({mounted:?})");
        return;
    }
    let _guard = Mounted(dir.clone());
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    // Values that do not compress: 300 events × 2 KB of random hex is far more than 64 KiB zipped.
    let events: Vec<Value> = (0..300)
        .map(|n| {
            let mut e = common::event(n);
            let blob: String = (0..64).map(|_| uuid::Uuid::new_v4().simple().to_string()).collect();
            e["metadata"] = json!({ "blob": blob });
            e
        })
        .collect();
    for chunk in events.chunks(100) {
        server::ingest::ingest(&ingestor, chunk).await.expect("events");
    }
    let files = ExportFiles::new(dir.clone(), Duration::from_secs(86_400));
    for formats in [vec!["csv", "ndjson"], vec!["xlsx"]] {
        let new = app::exports::NewExport { name: Some("full".into()), formats: formats.iter().map(|f| f.to_string()).collect(), view: "range=1h".into() };
        let id = jobs::create(&pool, &files, &admin(), &new, Origin::default()).await.expect("job").id;
        let worker = Worker::new(pool.clone(), files.clone(), Default::default());
        assert!(worker.run_one().await.expect("run"));
        let row = server::store::exports::get(&pool, id).await.expect("row").expect("job");
        assert_eq!(row.status, "failed", "{formats:?}");
        let error = row.error.unwrap_or_default();
        assert!(error.contains("disk holding the export files is full"), "{formats:?}: {error}");
        for format in &formats {
            let refused = jobs::download(&pool, &files, &admin(), &id.to_string(), format, Origin::default()).await;
            assert!(refused.is_err(), "a failed job offers no {format} file");
        }
        assert!(!files.job_dir(id).exists(), "half-written files are removed, freeing the disk");
    }
}
