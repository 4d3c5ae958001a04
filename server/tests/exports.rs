//! Exports against a real PostgreSQL: every format holds exactly the view (the API's events,
//! within the caller's scope), is read back with a reader of that format, and never carries a
//! live formula into a spreadsheet; export jobs run to one ZIP per format, survive a dead
//! instance without offering half a file, expire, and are audited; abandoned downloads leave
//! the server healthy.

mod common;

use std::collections::BTreeMap;
use std::io::Read;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{header, Method, Request, StatusCode};
use calamine::{Data, Reader};
use common::{app, ingest, read, send, token, Reply, TEST_READER};
use serde_json::{json, Value};
use server::auth::accounts;
use server::auth::audit::{Actor, Origin};
use server::export::files::ExportFiles;
use server::export::worker::Worker;
use server::export::{jobs, unneutralise};
use server::store::tokens::Scope as TokenScope;
use server::store::users::Role;
use sha2::Digest;
use sqlx::PgPool;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// An event whose every text field attacks some reader: spreadsheets (formulas), CSV (commas,
/// quotes, line breaks), CEF (pipes, equals signs, backslashes).
fn hostile(n: usize) -> Value {
    json!({
        "action": "document.shared",
        "actor": {"id": format!("+{n}"), "name": "Smith, \"Ada\"\nLovelace", "email": "@evil.example", "type": "user"},
        "method": "POST",
        "status": 403,
        "path": "/a|b=c\\d",
        "error": "-2+3 | a=b \\ back\r\nslash",
        "resource": {"type": "doc", "id": "\tTAB", "name": "'quoted"},
        "context": {"team": "=cmd|' /C calc'!A0", "zone": "eu"},
        "ip": "203.0.113.9",
        "user_agent": "\rcurl/8",
        "changes": [{"field": "role", "before": "member", "after": "admin"}],
        "metadata": {"note": "v=1, \"q\""}
    })
}

fn as_reader(path: &str, secret: &str) -> Request<axum::body::Body> {
    common::get(path, Some(secret))
}

fn json_request(method: Method, path: &str, secret: &str, body: Value) -> Request<axum::body::Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .expect("request")
}

/// The API's events of a view (up to 500), newest first.
async fn api_events(app: &axum::Router, view: &str) -> Vec<Value> {
    let page = send(app, read(&format!("/api/v1/events?{view}&limit=500"))).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    page.body["events"].as_array().expect("events").clone()
}

fn text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// CSV records as header → cell maps (the `csv` crate, an RFC 4180 reader).
fn csv_records(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_string).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.expect("record").iter().map(str::to_string)).collect()).collect()
}

/// A CEF line split per the specification: seven header fields (`\|` and `\\` escaped) and
/// the extension's key=value pairs (`\=`, `\\`, `\n`, `\r` escaped; a value runs until the
/// next unescaped `key=`).
fn parse_cef(line: &str) -> (Vec<String>, BTreeMap<String, String>) {
    let mut header = Vec::new();
    let mut field = String::new();
    let mut chars = line.chars();
    while header.len() < 7 {
        match chars.next().expect("seven header fields") {
            '\\' => field.push(chars.next().expect("escaped character")),
            '|' => header.push(std::mem::take(&mut field)),
            c => field.push(c),
        }
    }
    let extension: Vec<char> = chars.collect();
    // Positions of unescaped `=`; each key is the word before it.
    let mut equals = Vec::new();
    let mut i = 0;
    while i < extension.len() {
        match extension[i] {
            '\\' => i += 1,
            '=' => equals.push(i),
            _ => {}
        }
        i += 1;
    }
    let key_start = |eq: usize| extension[..eq].iter().rposition(|c| *c == ' ').map_or(0, |p| p + 1);
    let mut pairs = BTreeMap::new();
    for (n, &eq) in equals.iter().enumerate() {
        let key: String = extension[key_start(eq)..eq].iter().collect();
        let end = equals.get(n + 1).map_or(extension.len(), |&next| key_start(next).saturating_sub(1));
        let mut value = String::new();
        let mut raw = extension[eq + 1..end].iter();
        while let Some(c) = raw.next() {
            match c {
                '\\' => match raw.next() {
                    Some('n') => value.push('\n'),
                    Some('r') => value.push('\r'),
                    Some(other) => value.push(*other),
                    None => panic!("a dangling backslash in {line}"),
                },
                c => value.push(*c),
            }
        }
        pairs.insert(key, value);
    }
    (header, pairs)
}

async fn export(app: &axum::Router, view: &str, format: &str) -> Reply {
    let reply = send(app, read(&format!("/api/v1/export?{view}&format={format}"))).await;
    assert_eq!(reply.status, StatusCode::OK, "{format}: {}", reply.text);
    let disposition = reply.headers.get(header::CONTENT_DISPOSITION).and_then(|v| v.to_str().ok()).unwrap_or_default();
    assert!(disposition.starts_with("attachment;") && disposition.contains(&format!(".{format}")), "{disposition}");
    reply
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn every_format_holds_the_view_exactly_and_neutralises_formulas(pool: PgPool) {
    let app = app(&pool).await;
    let ingest_token = token(&pool, TokenScope::Ingest).await;
    let mut events: Vec<Value> = (0..3).map(hostile).collect();
    events.extend((0..5).map(common::event));
    assert_eq!(ingest(&app, &ingest_token, &json!(events)).await.status, StatusCode::CREATED);
    let view = "action=document.shared&range=1h";
    let api = api_events(&app, view).await;
    assert_eq!(api.len(), 3);

    // NDJSON: the API's JSON, exactly, in the same order.
    let ndjson = export(&app, view, "ndjson").await;
    let lines: Vec<Value> = ndjson.text.lines().map(|l| serde_json::from_str(l).expect("a JSON line")).collect();
    assert_eq!(lines, api);

    // CSV: a byte order mark when asked; one record per event; values whole, formulas inert.
    let csv = export(&app, &format!("{view}&bom=true"), "csv").await;
    assert!(csv.raw.starts_with("\u{feff}".as_bytes()), "starts with a BOM");
    let records = csv_records(&csv.raw[3..]);
    assert_eq!(records.len(), api.len());
    for (record, event) in records.iter().zip(&api) {
        assert_eq!(record["id"], text(&event["id"]));
        assert_eq!(record["actor.name"], text(&event["actor"]["name"]), "commas, quotes and line breaks survive");
        assert!(record["actor.id"].starts_with("'+"), "a formula start is neutralised: {}", record["actor.id"]);
        for (column, value) in [
            ("actor.id", &event["actor"]["id"]),
            ("actor.email", &event["actor"]["email"]),
            ("error", &event["error"]),
            ("resource.id", &event["resource"]["id"]),
            ("resource.name", &event["resource"]["name"]),
            ("context.team", &event["context"]["team"]),
            ("user_agent", &event["user_agent"]),
            ("path", &event["path"]),
        ] {
            assert_eq!(unneutralise(&record[column]), text(value), "{column}");
        }
        assert_eq!(serde_json::from_str::<Value>(&record["changes"]).expect("changes as JSON"), event["changes"]);
        assert_eq!(serde_json::from_str::<Value>(&record["metadata"]).expect("metadata as JSON"), event["metadata"]);
        let csv_time = chrono::DateTime::parse_from_rfc3339(&record["occurred_at"]).expect("ISO 8601");
        let api_time = chrono::DateTime::parse_from_rfc3339(&text(&event["occurred_at"])).expect("time");
        assert_eq!(csv_time, api_time);
        assert!(record["occurred_at"].ends_with('Z'), "UTC");
    }

    // CEF: one line per event; the values come back exactly through the escaping.
    let cef = export(&app, view, "cef").await;
    let lines: Vec<&str> = cef.text.lines().collect();
    assert_eq!(lines.len(), api.len());
    for (line, event) in lines.iter().zip(&api) {
        let (header, ext) = parse_cef(line);
        assert_eq!(header[0], "CEF:0");
        assert_eq!((header[1].as_str(), header[2].as_str(), header[4].as_str(), header[6].as_str()), ("Auditorium", "Auditorium", "document.shared", "6"));
        assert_eq!(ext["externalId"], text(&event["id"]));
        assert_eq!(ext["act"], "document.shared");
        assert_eq!(ext["suid"], text(&event["actor"]["id"]), "CEF data is not neutralised");
        assert_eq!(ext["suser"], text(&event["actor"]["name"]));
        assert_eq!(ext["msg"], text(&event["error"]));
        assert_eq!(ext["request"], text(&event["path"]));
        assert_eq!(ext["requestMethod"], "POST");
        assert_eq!(ext["requestClientApplication"], text(&event["user_agent"]));
        assert_eq!(ext["src"], "203.0.113.9");
        assert_eq!(ext["outcome"], "failure");
        assert_eq!(serde_json::from_str::<Value>(&ext["cs4"]).expect("context as JSON"), event["context"]);
        let millis = chrono::DateTime::parse_from_rfc3339(&text(&event["occurred_at"])).expect("time").timestamp_millis();
        assert_eq!(ext["rt"], millis.to_string());
    }

    // XLSX: a real workbook, typed, with the same values as the CSV.
    let xlsx = export(&app, view, "xlsx").await;
    let mut book = calamine::Xlsx::new(std::io::Cursor::new(xlsx.raw.clone())).expect("a workbook");
    let sheet = book.worksheet_range("Events").expect("the Events sheet");
    let rows: Vec<_> = sheet.rows().collect();
    let header: Vec<String> = rows[0].iter().map(|c| c.to_string()).collect();
    assert_eq!(rows.len(), api.len() + 1);
    let column = |name: &str| header.iter().position(|h| h == name).unwrap_or_else(|| panic!("{name} in {header:?}"));
    for (row, record) in rows[1..].iter().zip(&records) {
        assert_eq!(row[column("actor.name")].to_string(), record["actor.name"]);
        assert_eq!(row[column("context.team")].to_string(), record["context.team"], "neutralised like the CSV");
        assert_eq!(row[column("status")], Data::Float(403.0), "status is a number");
        assert!(matches!(row[column("occurred_at")], Data::DateTime(_)), "time is a date-time");
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_view_that_does_not_parse_or_a_missing_format_is_a_clear_error(pool: PgPool) {
    let app = app(&pool).await;
    let missing = send(&app, read("/api/v1/export?range=1h")).await;
    assert_eq!(missing.status, StatusCode::BAD_REQUEST);
    assert!(missing.body["error"]["message"].as_str().is_some_and(|m| m.contains("format")), "{}", missing.text);
    let wrong = send(&app, read("/api/v1/export?range=1h&format=pdf")).await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    let bad_view = send(&app, read("/api/v1/export?colour=red&format=csv")).await;
    assert_eq!(bad_view.status, StatusCode::BAD_REQUEST);
    assert!(bad_view.text.contains("colour"), "{}", bad_view.text);
    let no_format = send(&app, json_request(Method::POST, "/api/v1/exports", TEST_READER, json!({"formats": []}))).await;
    assert_eq!(no_format.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", no_format.text);
}

async fn member(pool: &PgPool, email: &str, scope: &str) -> String {
    let user = accounts::create_user(pool, email, None, Role::Member, &[scope.to_string()], None, Actor::system(), Origin::default()).await.expect("user").0.id;
    accounts::create_token(pool, &format!("{email} reads"), TokenScope::Read, Some(user), Actor::system(), Origin::default()).await.expect("token").1
}

/// Polls an export job until it is done (or failed).
async fn finished(app: &axum::Router, secret: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = send(app, as_reader(&format!("/api/v1/exports/{id}"), secret)).await;
        assert_eq!(job.status, StatusCode::OK, "{}", job.text);
        if matches!(job.body["status"].as_str(), Some("done" | "failed")) {
            return job.body;
        }
        assert!(Instant::now() < deadline, "the export never finished: {}", job.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_member_exports_only_what_they_may_see(pool: PgPool) {
    let app = app(&pool).await;
    let ingest_token = token(&pool, TokenScope::Ingest).await;
    let mut events: Vec<Value> = (0..4).map(hostile).collect();
    events.extend((0..6).map(common::event)); // context.cluster = prod-eu
    assert_eq!(ingest(&app, &ingest_token, &json!(events)).await.status, StatusCode::CREATED);
    let eu = member(&pool, "eu@example.com", "context.cluster=prod-eu").await;
    let other = member(&pool, "docs@example.com", "action=document.shared").await;

    let mine = send(&app, as_reader("/api/v1/export?range=1h&format=ndjson", &eu)).await;
    assert_eq!(mine.status, StatusCode::OK);
    let lines: Vec<Value> = mine.text.lines().map(|l| serde_json::from_str(l).expect("json")).collect();
    assert_eq!(lines.len(), 6, "only the member's events");
    assert!(lines.iter().all(|e| e["context"]["cluster"] == "prod-eu"));
    let asked_for_more = send(&app, as_reader("/api/v1/export?action=document.shared&range=1h&format=csv", &eu)).await;
    assert_eq!(csv_records(&asked_for_more.raw).len(), 0, "a filter cannot widen the scope");

    // A member's job: seen by them and by those who see everything, not by another member.
    let created = send(&app, json_request(Method::POST, "/api/v1/exports", &eu, json!({"formats": ["ndjson"], "view": "range=1h"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_str().expect("id").to_string();
    assert_eq!(created.body["mine"], true);
    let job = finished(&app, &eu, &id).await;
    assert_eq!(job["status"], "done", "{job}");
    assert_eq!(job["rows_done"], 6);
    let zip = send(&app, as_reader(&format!("/api/v1/exports/{id}/ndjson"), &eu)).await;
    assert_eq!(zip.status, StatusCode::OK);
    assert_eq!(unzip(&zip.raw).1.lines().count(), 6);
    assert_eq!(send(&app, read(&format!("/api/v1/exports/{id}"))).await.status, StatusCode::OK, "an auditor sees it");
    for path in [format!("/api/v1/exports/{id}"), format!("/api/v1/exports/{id}/ndjson")] {
        assert_eq!(send(&app, as_reader(&path, &other)).await.status, StatusCode::NOT_FOUND, "{path}");
    }
    let listed = send(&app, as_reader("/api/v1/exports", &other)).await;
    assert_eq!(listed.body["exports"].as_array().map(Vec::len), Some(0));
    let refused = send(&app, Request::builder().method(Method::DELETE).uri(format!("/api/v1/exports/{id}")).header(header::AUTHORIZATION, format!("Bearer {other}")).body(axum::body::Body::empty()).expect("request")).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
}

/// The single file in a ZIP: its name and text.
fn unzip(bytes: &[u8]) -> (String, String) {
    let (name, raw) = unzip_raw(bytes);
    (name, String::from_utf8(raw).expect("utf-8"))
}

fn unzip_raw(bytes: &[u8]) -> (String, Vec<u8>) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    assert_eq!(archive.len(), 1, "one file per ZIP");
    let mut file = archive.by_index(0).expect("entry");
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).expect("read");
    (file.name().expect("a file name").to_string(), raw)
}

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
    server::auth::Principal {
        credential: server::auth::Credential::Session(vec![1]),
        user: None,
        role: Role::Admin,
        scope: app::query::Scope::All,
        scope_views: vec![],
        token: None,
    }
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

/// A raw HTTP/1.1 GET; reads `limit` bytes (or everything) and drops the connection.
async fn raw_get(addr: SocketAddr, path: &str, limit: Option<usize>) -> Vec<u8> {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let request = format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {TEST_READER}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut answer = Vec::new();
    let mut buffer = vec![0u8; 8192];
    loop {
        let n = stream.read(&mut buffer).await.expect("read");
        if n == 0 {
            break;
        }
        answer.extend_from_slice(&buffer[..n]);
        if limit.is_some_and(|l| answer.len() >= l) {
            break;
        }
    }
    answer
}

/// The body of a chunked HTTP/1.1 answer.
fn dechunk(answer: &[u8]) -> Vec<u8> {
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n").expect("head") + 4;
    let mut rest = &answer[split..];
    let mut body = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n").expect("chunk size");
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..line_end]).expect("ascii").trim(), 16).expect("hex");
        if size == 0 {
            return body;
        }
        body.extend_from_slice(&rest[line_end + 2..line_end + 2 + size]);
        rest = &rest[line_end + 2 + size + 2..];
    }
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn abandoned_downloads_leave_the_server_healthy_and_complete_ones_whole(pool: PgPool) {
    common::install_reader(&pool).await;
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    for batch in 0..20 {
        let events: Vec<Value> = (0..1000).map(|n| common::event(batch * 1000 + n)).collect();
        server::ingest::ingest(&ingestor, &events).await.expect("events");
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let router = server::serve::router(common::state(&pool).await);
    tokio::spawn(async move { axum::serve(listener, router.into_make_service_with_connect_info::<SocketAddr>()).await });
    tokio::time::sleep(Duration::from_millis(500)).await;
    let busy = || pool.size() as usize - pool.num_idle();
    let held_before = busy();

    // 40 clients give up after the first bytes while 8 read everything, all at once.
    // (Auditorium's own log of these downloads lands in the same hour: leave it out.)
    let path = "/api/v1/export?action=project.updated,project.updated_again&range=1h&format=csv";
    let mut tasks = Vec::new();
    for n in 0..48 {
        tasks.push(tokio::spawn(async move { (n, raw_get(addr, path, (n >= 8).then_some(4096)).await) }));
    }
    for task in tasks {
        let (n, answer) = task.await.expect("client");
        if n < 8 {
            assert_eq!(csv_records(&dechunk(&answer)).len(), 20_000, "a complete download holds the whole view");
        }
    }
    // Every connection the abandoned downloads held comes back to the pool.
    let deadline = Instant::now() + Duration::from_secs(10);
    while busy() > held_before {
        assert!(Instant::now() < deadline, "connections were kept: {} in use, {held_before} before", busy());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let ready = raw_get(addr, "/readyz", None).await;
    assert!(ready.starts_with(b"HTTP/1.1 200"), "{}", String::from_utf8_lossy(&ready));
    let again = raw_get(addr, "/api/v1/export?action=project.updated,project.updated_again&range=1h&format=ndjson", None).await;
    assert_eq!(dechunk(&again).split(|b| *b == b'\n').filter(|l| !l.is_empty()).count(), 20_000);
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
