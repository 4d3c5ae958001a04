//! Helpers for the export tests: requests, polling a job, reading CSV and ZIP files back.

use std::collections::BTreeMap;
use std::io::Read;
use std::time::{Duration, Instant};

use axum::http::{header, Method, Request, StatusCode};
use serde_json::Value;

pub fn as_reader(path: &str, secret: &str) -> Request<axum::body::Body> {
    super::get(path, Some(secret))
}

pub fn json_request(method: Method, path: &str, secret: &str, body: Value) -> Request<axum::body::Body> {
    Request::builder()
        .method(method)
        .uri(path)
        .header(header::AUTHORIZATION, format!("Bearer {secret}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(axum::body::Body::from(body.to_string()))
        .expect("request")
}

/// CSV records as header → cell maps (the `csv` crate, an RFC 4180 reader).
pub fn csv_records(bytes: &[u8]) -> Vec<BTreeMap<String, String>> {
    let mut reader = csv::ReaderBuilder::new().from_reader(bytes);
    let header: Vec<String> = reader.headers().expect("header").iter().map(str::to_string).collect();
    reader.records().map(|r| header.iter().cloned().zip(r.expect("record").iter().map(str::to_string)).collect()).collect()
}

/// Polls an export job until it is done (or failed).
pub async fn finished(app: &axum::Router, secret: &str, id: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let job = super::send(app, as_reader(&format!("/api/v1/exports/{id}"), secret)).await;
        assert_eq!(job.status, StatusCode::OK, "{}", job.text);
        if matches!(job.body["status"].as_str(), Some("done" | "failed")) {
            return job.body;
        }
        assert!(Instant::now() < deadline, "the export never finished: {}", job.text);
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The single file in a ZIP: its name and text.
pub fn unzip(bytes: &[u8]) -> (String, String) {
    let (name, raw) = unzip_raw(bytes);
    (name, String::from_utf8(raw).expect("utf-8"))
}

pub fn unzip_raw(bytes: &[u8]) -> (String, Vec<u8>) {
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).expect("a ZIP");
    assert_eq!(archive.len(), 1, "one file per ZIP");
    let mut file = archive.by_index(0).expect("entry");
    let mut raw = Vec::new();
    file.read_to_end(&mut raw).expect("read");
    (file.name().expect("a file name").to_string(), raw)
}

