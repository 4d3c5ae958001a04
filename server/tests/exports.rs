//! Exports against a real PostgreSQL: every format holds exactly the view (the API's events,
//! within the caller's scope), is read back with a reader of that format, and never carries a
//! live formula into a spreadsheet; a member's jobs hold only what they may see; abandoned
//! downloads leave the server healthy. Jobs themselves: tests/export_jobs.rs.

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::http::{header, Method, Request, StatusCode};
use calamine::{Data, Reader};
use common::exports::{as_reader, csv_records, finished, json_request, unzip};
use common::{app, ingest, read, send, token, Reply, TEST_READER};
use serde_json::{json, Value};
use server::auth::accounts;
use server::auth::audit::{Actor, Origin};
use server::export::unneutralise;
use server::store::tokens::Scope as TokenScope;
use server::store::users::Role;
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
        let (header, ext) = common::cef::parse_cef(line);
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
