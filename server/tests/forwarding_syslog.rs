//! Syslog forwarding into a real rsyslog (Debian's, with its TLS module), which writes each
//! message it receives to a file: RFC 5425 over TLS with the destination's own CA, CEF that
//! round-trips through the export tests' spec parser, a receiver stopped and started again,
//! mutual TLS, and JSON over plain TCP.

mod common;

use std::time::Duration;

use serde_json::{json, Value};
use sqlx::PgPool;

use common::cef::parse_cef;
use common::forward::{committed, create, destination, first_arrivals, ingest_projects, request, scratch_dir, setup, wait_until, Setup};
use common::rsyslog::{Rsyslog, RsyslogOptions};
use common::{ingest, send};

/// (header, MSG) of an RFC 5424 line: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`.
fn split_syslog(line: &str) -> (Vec<&str>, &str) {
    let parts: Vec<&str> = line.splitn(8, ' ').collect();
    assert_eq!(parts.len(), 8, "an RFC 5424 message: {line}");
    (parts[..7].to_vec(), parts[7])
}

/// Waits (without blocking the server running in this test's runtime) for `n` messages.
async fn messages(rsyslog: &Rsyslog, n: usize) -> Vec<String> {
    wait_until(&format!("rsyslog has {n} messages"), 30, || async { rsyslog.messages().len() >= n }).await;
    rsyslog.messages()
}

/// The CEF `externalId`s in the receiver's file, in arrival order.
fn cef_ids(rsyslog: &Rsyslog) -> Vec<String> {
    rsyslog.messages().iter().map(|line| parse_cef(split_syslog(line).1).1.get("externalId").cloned().unwrap_or_default()).collect()
}

async fn syslog_destination(s: &Setup, rsyslog: &Rsyslog, extra: Value) -> String {
    let mut body = json!({"name": "rsyslog", "kind": "syslog", "enabled": true, "host": "127.0.0.1", "port": rsyslog.port(), "transport": "tls", "format": "cef",
        "ca_pem": rsyslog.ca_pem(), "filter": "action=project.*"});
    for (k, v) in extra.as_object().expect("object") {
        body[k] = v.clone();
    }
    create(s, body).await["id"].as_str().expect("id").to_string()
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn cef_over_tls_reaches_rsyslog_in_commit_order_and_parses_back(pool: PgPool) {
    let s = setup(&pool).await;
    let dir = scratch_dir();
    let rsyslog = Rsyslog::start(&dir.join("rsyslog"), RsyslogOptions::tls());
    syslog_destination(&s, &rsyslog, json!({})).await;
    // Untrusted text with everything CEF must escape, and a non-matching event.
    let tricky = json!([{"action": "project.deleted", "actor": {"id": "u=1|x", "name": "Zoë \\ \"root\" | admin=yes\nInjected: CEF:0|fake", "type": "user"},
        "outcome": "failure", "error": "denied = no\r\nsecond line", "resource": {"type": "project", "id": "p|1"}}, {"action": "login.ok", "actor": {"id": "u2", "name": "U", "type": "user"}}]);
    assert!(ingest(&s.app, &s.writer, &tricky).await.status.is_success());
    ingest_projects(&s, 300).await;
    let expected = committed(&pool, "e.action LIKE 'project.%'").await;
    assert_eq!(expected.len(), 301);
    let lines = messages(&rsyslog, 301).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(cef_ids(&rsyslog), expected, "every matching event once, in commit order, nothing else");

    let (header, msg) = split_syslog(&lines[0]);
    assert_eq!(header[0], "<108>1", "facility log audit, warning for a failure");
    assert!(chrono::DateTime::parse_from_rfc3339(header[1]).is_ok(), "{}", header[1]);
    assert_eq!((header[3], header[5]), ("auditorium", "project.deleted"));
    let (cef_header, ext) = parse_cef(msg);
    assert_eq!(cef_header[..3], ["CEF:0", "Auditorium", "Auditorium"]);
    assert_eq!(cef_header[4], "project.deleted");
    assert_eq!(ext["suser"], "Zoë \\ \"root\" | admin=yes\nInjected: CEF:0|fake", "the name round-trips exactly");
    assert_eq!(ext["suid"], "u=1|x");
    assert_eq!(ext["msg"], "denied = no\r\nsecond line");
    assert_eq!(ext["cs1"], "p|1");
    assert_eq!(lines.len(), 301, "the line break in the name did not make a second message");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn rsyslog_stopped_and_started_again_gets_every_event(pool: PgPool) {
    let s = setup(&pool).await;
    let dir = scratch_dir();
    let mut rsyslog = Rsyslog::start(&dir.join("rsyslog"), RsyslogOptions::tls());
    let id = syslog_destination(&s, &rsyslog, json!({})).await;
    ingest_projects(&s, 100).await;
    messages(&rsyslog, 100).await;

    // Stopped while events keep coming: some were written to a connection it was closing.
    let writer = tokio::spawn({
        let (app, token) = (s.app.clone(), s.writer.clone());
        async move {
            for chunk in 0..20 {
                let events: Vec<Value> = (0..20).map(|i| common::event(chunk * 20 + i)).collect();
                assert!(ingest(&app, &token, &Value::Array(events)).await.status.is_success());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    // Stopped on a thread of its own: the server in this test's runtime keeps sending meanwhile.
    let stopping = std::thread::spawn(move || {
        rsyslog.stop();
        rsyslog
    });
    while !stopping.is_finished() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut rsyslog = stopping.join().expect("stopped");
    writer.await.expect("writer");
    wait_until("the destination shows the outage", 20, || async { destination(&s, &id).await["status"]["state"] == "failing" }).await;
    rsyslog.restart();
    let expected = committed(&pool, "e.action LIKE 'project.%'").await;
    assert_eq!(expected.len(), 500);
    wait_until("everything arrives after the restart", 30, || async { first_arrivals(&cef_ids(&rsyslog)).len() >= 500 }).await;
    assert_eq!(first_arrivals(&cef_ids(&rsyslog)), expected, "at least once, in commit order");
    wait_until("the destination is back", 20, || async { destination(&s, &id).await["status"]["state"] == "ok" }).await;
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn mutual_tls_with_a_client_certificate_and_a_wrong_ca_is_refused(pool: PgPool) {
    let s = setup(&pool).await;
    let dir = scratch_dir();
    let rsyslog = Rsyslog::start(&dir.join("rsyslog"), RsyslogOptions::mutual_tls());
    let with_cert = syslog_destination(&s, &rsyslog, json!({"name": "mtls", "enabled": false, "client_cert_pem": rsyslog.client_cert_pem(), "client_key_pem": rsyslog.client_key_pem()})).await;
    let wrong_ca = syslog_destination(&s, &rsyslog, json!({"name": "wrong CA", "enabled": false, "ca_pem": rsyslog.other_ca_pem()})).await;
    let test = |id: String| {
        let s = &s;
        async move { send(&s.app, request("POST", &format!("/api/v1/destinations/{id}/test"), &s.admin, None)).await.body }
    };
    let answer = test(with_cert.clone()).await;
    assert_eq!(answer["ok"], true, "{answer}");
    let lines = messages(&rsyslog, 1).await;
    assert!(lines[0].contains("auditorium.destination.test"), "{lines:?}");
    let answer = test(wrong_ca).await;
    assert_eq!(answer["ok"], false, "{answer}");
    assert!(answer["answer"].as_str().is_some_and(|a| a.contains("TLS") && a.to_lowercase().contains("certificate")), "{answer}");
    // The key is write-only and sealed.
    let shown = destination(&s, &with_cert).await;
    assert_eq!((shown["has_client_key"].as_bool(), shown.get("client_key_pem")), (Some(true), None));
    let stored: Vec<String> = sqlx::query_scalar("SELECT client_key FROM destinations WHERE client_key IS NOT NULL").fetch_all(&pool).await.expect("keys");
    assert!(stored.iter().all(|k| !k.contains("PRIVATE KEY")), "sealed at rest");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn json_over_plain_tcp(pool: PgPool) {
    let s = setup(&pool).await;
    let dir = scratch_dir();
    let rsyslog = Rsyslog::start(&dir.join("rsyslog"), RsyslogOptions::tcp());
    syslog_destination(&s, &rsyslog, json!({"transport": "tcp", "format": "json", "ca_pem": ""})).await;
    ingest_projects(&s, 50).await;
    let lines = messages(&rsyslog, 50).await;
    let ids: Vec<String> = lines.iter().map(|l| serde_json::from_str::<Value>(split_syslog(l).1).expect("JSON body")["id"].as_str().expect("id").to_string()).collect();
    assert_eq!(ids, committed(&pool, "e.action LIKE 'project.%'").await);
}
