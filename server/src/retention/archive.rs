//! Archives: a day's events as `events-YYYY-MM-DD.ndjson.gz` (one event per line in position
//! order, with its `position` and `fingerprint`) and `events-YYYY-MM-DD.manifest.json` (count,
//! first and last position, SHA-256 of the file, the integrity digest of its events). Written
//! under temporary names, read back and checked, then renamed; only then may the day be
//! dropped. `auditorium archive restore FILE` puts a day back through the ingest writer.
//!
//! gzip by flate2 (the usual Rust binding; its default pure-Rust backend needs no C library).

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

use crate::ingest::validate::validate_event;
use crate::ingest::writer::{Ingestor, WriteError, MAX_GROUP_EVENTS};
use crate::integrity::chain::CANONICAL_HASH;
use crate::integrity::checkpoint::{hex, unhex};
use crate::store::write::{NewEvent, Stored};

const FORMAT: &str = "auditorium-archive/1";
/// Positions per stretch read by one connection.
const STRETCH: i64 = 10_000;
/// Rows handed to the compressor per step (an estimate for buffer sizes).
const CHUNK: usize = STRETCH as usize;

#[derive(Debug, thiserror::Error)]
pub enum ArchiveError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("the archive {0} is not intact: {1}")]
    Corrupt(PathBuf, String),
    #[error("event {0} of {1} differs from what was written (the day is not archived or dropped; run `auditorium verify`)")]
    Tampered(Uuid, NaiveDate),
    #[error("restoring failed: {0}")]
    Write(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: String,
    pub day: NaiveDate,
    pub events: u64,
    pub first_position: Option<i64>,
    pub last_position: Option<i64>,
    /// SHA-256 of the `.ndjson.gz` file (hex).
    pub sha256: String,
    /// SHA-256 over the events' integrity hashes in position order (hex): equal after a
    /// restore, whatever positions the restored events get.
    pub integrity_digest: String,
    pub created_at: DateTime<Utc>,
}

pub fn file_name(day: NaiveDate) -> String {
    format!("events-{}.ndjson.gz", day.format("%Y-%m-%d"))
}

/// The manifest beside an archive file.
pub fn manifest_path(file: &Path) -> PathBuf {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    file.with_file_name(format!("{}.manifest.json", name.strip_suffix(".ndjson.gz").unwrap_or(name)))
}

#[derive(sqlx::FromRow)]
struct ArchiveRow {
    seq: i64,
    id: Uuid,
    fingerprint: Option<Vec<u8>>,
    recorded: Option<Vec<u8>>,
    /// `None`: the event's row is gone.
    actual: Option<Vec<u8>>,
    occurred_at: Option<DateTime<Utc>>,
    received_at: Option<DateTime<Utc>>,
    action: Option<String>,
    actor_id: Option<String>,
    actor_name: Option<String>,
    actor_email: Option<String>,
    actor_type: Option<String>,
    source: Option<String>,
    method: Option<String>,
    status: Option<i16>,
    path: Option<String>,
    outcome: Option<String>,
    error: Option<String>,
    resource_type: Option<String>,
    resource_id: Option<String>,
    resource_name: Option<String>,
    /// JSON columns as their text (jsonb's normalised form), written into the line as is.
    context: Option<String>,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    changes: Option<String>,
    metadata: Option<String>,
}

/// The columns of [`ArchiveRow`] after the position's, from the event's row `e`.
const LINE_COLUMNS: &str = "e.occurred_at, e.received_at, e.action, e.actor_id, e.actor_name, e.actor_email, e.actor_type, \
     e.source, e.method, e.status, e.path, e.outcome, e.error, e.resource_type, e.resource_id, e.resource_name, \
     e.context::text AS context, e.request_id, e.ip, e.user_agent, e.changes::text AS changes, e.metadata::text AS metadata";

/// One archive line: the event in the ingest API's JSON shape (absent values as `null`, times
/// in UTC with microseconds), its position and idempotency fingerprint first; `restore` reads
/// it back through the API's validation.
fn write_line(out: &mut String, row: &ArchiveRow) {
    use std::fmt::Write as _;
    fn text(out: &mut String, value: Option<&str>) {
        match value {
            Some(v) => out.push_str(&serde_json::to_string(v).unwrap_or_else(|_| "null".into())),
            None => out.push_str("null"),
        }
    }
    fn raw(out: &mut String, json: Option<&str>) {
        out.push_str(json.unwrap_or("null"));
    }
    fn time(out: &mut String, t: Option<DateTime<Utc>>) {
        match t {
            Some(t) => {
                let _ = write!(out, "\"{}\"", t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true));
            }
            None => out.push_str("null"),
        }
    }
    let _ = write!(out, "{{\"position\":{},\"fingerprint\":\"{}\",\"id\":\"{}\",\"occurred_at\":", row.seq, hex(row.fingerprint.as_deref().unwrap_or_default()), row.id);
    time(out, row.occurred_at);
    out.push_str(",\"received_at\":");
    time(out, row.received_at);
    out.push_str(",\"action\":");
    text(out, row.action.as_deref());
    out.push_str(",\"actor\":{\"id\":");
    text(out, row.actor_id.as_deref());
    out.push_str(",\"name\":");
    text(out, row.actor_name.as_deref());
    out.push_str(",\"email\":");
    text(out, row.actor_email.as_deref());
    out.push_str(",\"type\":");
    text(out, row.actor_type.as_deref());
    out.push_str("},\"source\":");
    text(out, row.source.as_deref());
    out.push_str(",\"method\":");
    text(out, row.method.as_deref());
    out.push_str(",\"status\":");
    match row.status {
        Some(s) => {
            let _ = write!(out, "{s}");
        }
        None => out.push_str("null"),
    }
    out.push_str(",\"path\":");
    text(out, row.path.as_deref());
    out.push_str(",\"outcome\":");
    text(out, row.outcome.as_deref());
    out.push_str(",\"error\":");
    text(out, row.error.as_deref());
    out.push_str(",\"resource\":");
    if row.resource_type.is_some() {
        out.push_str("{\"type\":");
        text(out, row.resource_type.as_deref());
        out.push_str(",\"id\":");
        text(out, row.resource_id.as_deref());
        out.push_str(",\"name\":");
        text(out, row.resource_name.as_deref());
        out.push('}');
    } else {
        out.push_str("null");
    }
    out.push_str(",\"context\":");
    raw(out, row.context.as_deref());
    out.push_str(",\"request_id\":");
    text(out, row.request_id.as_deref());
    out.push_str(",\"ip\":");
    text(out, row.ip.as_deref());
    out.push_str(",\"user_agent\":");
    text(out, row.user_agent.as_deref());
    out.push_str(",\"changes\":");
    raw(out, row.changes.as_deref());
    out.push_str(",\"metadata\":");
    raw(out, row.metadata.as_deref());
    out.push_str("}\n");
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    inner: W,
    hasher: Sha256,
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type Encoder = GzEncoder<Hashing<BufWriter<std::fs::File>>>;

/// Writes and checks the archive of `day`; returns the archive file's path.
pub async fn write_day(owner: &PgConnectOptions, dir: &Path, day: NaiveDate) -> Result<PathBuf, ArchiveError> {
    let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
    let end = start + chrono::Duration::days(1);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| ArchiveError::Io(path, e)
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(file_name(day));
    let temporary = path.with_extension("gz.partial");
    let file = std::fs::File::create(&temporary).map_err(io(&temporary))?;
    let encoder: Encoder = GzEncoder::new(Hashing { inner: BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new() }, flate2::Compression::fast());
    // Lines are written and compressed on a thread of their own while rows keep arriving.
    let (chunks, mut incoming) = tokio::sync::mpsc::channel::<String>(4);
    let compressor = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let mut encoder = encoder;
        while let Some(text) = incoming.blocking_recv() {
            encoder.write_all(text.as_bytes())?;
        }
        let Hashing { inner, hasher } = encoder.finish()?;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(hex(&hasher.finalize()))
    });
    let mut content = Sha256::new();
    let (mut events, mut first, mut last) = (0u64, None, None);
    let partition = format!("events_p{}", day.format("%Y%m%d"));
    // Two connections read alternate stretches of the day's positions at once (hashing and
    // writing the lines is the database's work), written in position order.
    let options = owner.clone().options([("statement_timeout", "0"), ("TimeZone", "UTC")]);
    let (mut one, mut two) = (PgConnection::connect_with(&options).await?, PgConnection::connect_with(&options).await?);
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&partition).fetch_one(&mut one).await?;
    let (lo, hi): (Option<i64>, Option<i64>) = sqlx::query_as("SELECT min(seq), max(seq) FROM event_positions WHERE occurred_at >= $1 AND occurred_at < $2")
        .bind(start)
        .bind(end)
        .fetch_one(&mut one)
        .await?;
    let read = async {
        let (Some(lo), Some(hi), true) = (lo, hi, exists) else { return Ok(()) };
        // The partition's name is ours (a date), never input.
        let sql = format!(
            "SELECT p.seq, p.id, p.fingerprint, p.hash AS recorded, x.* FROM event_positions p
             LEFT JOIN LATERAL (SELECT {CANONICAL_HASH} AS actual, {LINE_COLUMNS} FROM \"{partition}\" e
                                WHERE e.occurred_at = p.occurred_at AND e.id = p.id LIMIT 1) x ON true
             WHERE p.seq BETWEEN $1 AND $2 AND p.occurred_at >= $3 AND p.occurred_at < $4 ORDER BY p.seq"
        );
        let mut from = lo;
        while from <= hi {
            let (a, b) = tokio::join!(stretch(&mut one, &sql, from, hi, (start, end)), stretch(&mut two, &sql, from + STRETCH, hi, (start, end)));
            from += 2 * STRETCH;
            let mut text = String::with_capacity(2 * CHUNK * 800);
            for row in a?.into_iter().chain(b?) {
                let Some(actual) = row.actual.as_deref() else {
                    return Err(ArchiveError::Tampered(row.id, day));
                };
                if row.recorded.as_deref() != Some(actual) {
                    return Err(ArchiveError::Tampered(row.id, day));
                }
                content.update(actual);
                first.get_or_insert(row.seq);
                last = Some(row.seq);
                events += 1;
                write_line(&mut text, &row);
            }
            if chunks.send(text).await.is_err() {
                break; // the compressor failed: its error is reported below
            }
        }
        Ok(())
    };
    let read: Result<(), ArchiveError> = read.await;
    drop(chunks);
    let written = compressor.await.map_err(|e| ArchiveError::Io(temporary.clone(), std::io::Error::other(e)))?;
    let _ = one.close().await;
    let _ = two.close().await;
    if let Err(e) = read {
        // Nothing half-written stays behind.
        let _ = std::fs::remove_file(&temporary);
        return Err(e);
    }
    let sha256 = written.map_err(io(&temporary))?;
    let manifest = Manifest {
        format: FORMAT.into(),
        day,
        events,
        first_position: first,
        last_position: last,
        sha256,
        integrity_digest: hex(&content.finalize()),
        created_at: Utc::now(),
    };
    // Read back before anything may be dropped.
    let checked = temporary.clone();
    let expected = manifest.clone();
    tokio::task::spawn_blocking(move || check(&checked, &expected)).await.map_err(|e| ArchiveError::Io(temporary.clone(), std::io::Error::other(e)))??;
    std::fs::rename(&temporary, &path).map_err(io(&path))?;
    let manifest_file = manifest_path(&path);
    let manifest_temporary = manifest_file.with_extension("json.partial");
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    std::fs::write(&manifest_temporary, json).map_err(io(&manifest_temporary))?;
    std::fs::File::open(&manifest_temporary).and_then(|f| f.sync_all()).map_err(io(&manifest_temporary))?;
    std::fs::rename(&manifest_temporary, &manifest_file).map_err(io(&manifest_file))?;
    std::fs::File::open(dir).and_then(|d| d.sync_all()).map_err(io(dir))?;
    Ok(path)
}

/// The day's rows among positions `from..from + STRETCH` (not past `hi`), read whole.
async fn stretch(conn: &mut PgConnection, sql: &str, from: i64, hi: i64, (start, end): (DateTime<Utc>, DateTime<Utc>)) -> Result<Vec<ArchiveRow>, sqlx::Error> {
    if from > hi {
        return Ok(Vec::new());
    }
    sqlx::query_as(sql).bind(from).bind((from + STRETCH - 1).min(hi)).bind(start).bind(end).fetch_all(conn).await
}

/// Reads the file back: its SHA-256, its line count and positions must be the manifest's.
pub fn check(path: &Path, manifest: &Manifest) -> Result<(), ArchiveError> {
    let corrupt = |why: String| ArchiveError::Corrupt(path.to_path_buf(), why);
    let bytes = std::fs::read(path).map_err(|e| ArchiveError::Io(path.to_path_buf(), e))?;
    let sha256 = hex(&Sha256::digest(&bytes));
    if sha256 != manifest.sha256 {
        return Err(corrupt(format!("its SHA-256 is {sha256}, the manifest says {}", manifest.sha256)));
    }
    // Every line decompressed; only the start of each is looked at (its position).
    const PREFIX: usize = 48;
    let (mut n, mut first, mut last): (u64, Option<i64>, Option<i64>) = (0, None, None);
    let mut decoder = MultiGzDecoder::new(&bytes[..]);
    let mut buf = vec![0u8; 1 << 20];
    let mut prefix: Vec<u8> = Vec::with_capacity(PREFIX);
    loop {
        let k = decoder.read(&mut buf).map_err(|e| corrupt(format!("it does not decompress: {e}")))?;
        if k == 0 {
            break;
        }
        let mut rest = &buf[..k];
        while let Some(i) = rest.iter().position(|b| *b == b'\n') {
            let take = PREFIX.saturating_sub(prefix.len()).min(i);
            prefix.extend_from_slice(&rest[..take]);
            let position = std::str::from_utf8(&prefix).ok().and_then(position_of).ok_or_else(|| corrupt(format!("line {} has no position", n + 1)))?;
            if last.is_some_and(|l| position <= l) {
                return Err(corrupt(format!("line {} is out of position order", n + 1)));
            }
            first.get_or_insert(position);
            last = Some(position);
            n += 1;
            prefix.clear();
            rest = &rest[i + 1..];
        }
        let take = PREFIX.saturating_sub(prefix.len()).min(rest.len());
        prefix.extend_from_slice(&rest[..take]);
    }
    if !prefix.is_empty() {
        return Err(corrupt("its last line is cut off".into()));
    }
    if (n, first, last) != (manifest.events, manifest.first_position, manifest.last_position) {
        return Err(corrupt(format!("it holds {n} events at positions {first:?}–{last:?}, the manifest says {} at {:?}–{:?}", manifest.events, manifest.first_position, manifest.last_position)));
    }
    Ok(())
}

/// The position a line starts with (`{"position":N,`).
fn position_of(line: &str) -> Option<i64> {
    line.strip_prefix("{\"position\":")?.split(',').next()?.trim().parse().ok()
}

pub fn read_manifest(file: &Path) -> Result<Manifest, ArchiveError> {
    let path = manifest_path(file);
    let text = std::fs::read_to_string(&path).map_err(|e| ArchiveError::Io(path.clone(), e))?;
    let manifest: Manifest = serde_json::from_str(&text).map_err(|e| ArchiveError::Corrupt(path.clone(), e.to_string()))?;
    if manifest.format != FORMAT {
        return Err(ArchiveError::Corrupt(path, format!("unknown format {:?}", manifest.format)));
    }
    Ok(manifest)
}

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub events: u64,
    pub new: u64,
    pub duplicates: u64,
    /// The restored events, in their new position order, hash to the manifest's digest.
    pub digest_matches: bool,
}

/// Puts the archived day back through the ingest writer, keeping the events' order: each
/// write holds a run of events already in the order the database assigns positions in
/// (time, id), and writes go one after the other. Events stored already are duplicates
/// (idempotent).
pub async fn restore(pool: &PgPool, ingestor: &Ingestor, file: &Path) -> Result<Restored, ArchiveError> {
    let manifest = read_manifest(file)?;
    let path = file.to_path_buf();
    let checked = manifest.clone();
    let events = tokio::task::spawn_blocking(move || -> Result<Vec<NewEvent>, ArchiveError> {
        check(&path, &checked)?;
        let bytes = std::fs::read(&path).map_err(|e| ArchiveError::Io(path.clone(), e))?;
        let mut events = Vec::new();
        let mut reader = BufReader::new(MultiGzDecoder::new(&bytes[..]));
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| ArchiveError::Corrupt(path.clone(), e.to_string()))?;
        for (i, line) in text.lines().enumerate() {
            events.push(parse_line(i, line).map_err(|why| ArchiveError::Corrupt(path.clone(), why))?);
        }
        Ok(events)
    })
    .await
    .map_err(|e| ArchiveError::Write(e.to_string()))??;
    let mut restored = Restored { events: events.len() as u64, ..Restored::default() };
    let ids: Vec<Uuid> = events.iter().map(|e| e.event.id).collect();
    let mut run: Vec<NewEvent> = Vec::new();
    for event in events {
        let ordered = run.last().is_none_or(|p: &NewEvent| (p.event.occurred_at, p.event.id) < (event.event.occurred_at, event.event.id));
        if !ordered || run.len() == MAX_GROUP_EVENTS {
            write_run(ingestor, std::mem::take(&mut run), &mut restored).await?;
        }
        run.push(event);
    }
    write_run(ingestor, run, &mut restored).await?;
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM event_positions WHERE id = ANY($1) ORDER BY seq").bind(&ids).fetch_all(pool).await?;
    let mut content = Sha256::new();
    for hash in &hashes {
        content.update(hash);
    }
    restored.digest_matches = hashes.len() as u64 == manifest.events && hex(&content.finalize()) == manifest.integrity_digest;
    Ok(restored)
}

async fn write_run(ingestor: &Ingestor, run: Vec<NewEvent>, restored: &mut Restored) -> Result<(), ArchiveError> {
    if run.is_empty() {
        return Ok(());
    }
    match ingestor.write(run).await {
        Ok(stored) => {
            for s in stored {
                match s {
                    Stored::New => restored.new += 1,
                    Stored::Duplicate => restored.duplicates += 1,
                }
            }
            Ok(())
        }
        Err(WriteError::Conflict(indexes)) => Err(ArchiveError::Write(format!("{} event(s) exist already with other content", indexes.len()))),
        Err(e) => Err(ArchiveError::Write(e.to_string())),
    }
}

/// One archived line back to a validated event with its original fingerprint.
fn parse_line(index: usize, line: &str) -> Result<NewEvent, String> {
    let mut value: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", index + 1))?;
    let object = value.as_object_mut().ok_or_else(|| format!("line {} is not an object", index + 1))?;
    object.remove("position");
    let fingerprint = object.remove("fingerprint").and_then(|f| f.as_str().and_then(unhex)).ok_or_else(|| format!("line {} has no fingerprint", index + 1))?;
    // Set by the server when it first received the event: kept, not sent again.
    let received_at = object
        .remove("received_at")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("line {} has no received_at", index + 1))?;
    let event = validate_event(index, &value, received_at).map_err(|errors| format!("line {}: {}", index + 1, errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")))?;
    Ok(NewEvent { event, fingerprint })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_reads_back_to_the_validated_event_and_its_fingerprint() {
        let id = Uuid::now_v7();
        let text = format!(
            r#"{{"position":42,"fingerprint":"0102ff","id" : "{id}", "occurred_at" : "2026-12-01T10:00:00.123456+00:00", "received_at" : "2026-12-01T10:00:01+00:00", "action" : "user.login", "actor" : {{"id" : "u", "name" : "U", "email" : null, "type" : "user"}}, "source" : null, "method" : null, "status" : 401, "path" : null, "outcome" : "failure", "error" : null, "resource" : null, "context" : {{"team": "a"}}, "request_id" : null, "ip" : null, "user_agent" : null, "changes" : null, "metadata" : null}}"#
        );
        assert_eq!(position_of(&text), Some(42));
        let back = parse_line(0, &text).expect("parses");
        assert_eq!(back.fingerprint, vec![1, 2, 255]);
        assert_eq!((back.event.id, back.event.action.as_str(), back.event.status), (id, "user.login", Some(401)));
        assert_eq!(back.event.received_at.to_rfc3339(), "2026-12-01T10:00:01+00:00", "kept, not the time of the restore");
        assert_eq!(back.event.context.get("team").map(String::as_str), Some("a"));
        assert!(parse_line(0, r#"{"position":1,"id":"x"}"#).is_err(), "a line without its fingerprint");
    }

    fn gz(text: &str) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(text.as_bytes()).expect("compress");
        encoder.finish().expect("finish")
    }

    #[test]
    fn the_read_back_check_catches_a_changed_cut_or_reordered_file() {
        let dir = std::env::temp_dir().join(format!("auditorium-archive-{}", Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("events-2026-09-04.ndjson.gz");
        let text = "{\"position\":5,\"fingerprint\":\"\",\"id\":1}\n{\"position\":9,\"fingerprint\":\"\",\"id\":2}\n";
        let bytes = gz(text);
        std::fs::write(&file, &bytes).expect("write");
        let manifest = Manifest {
            format: FORMAT.into(),
            day: NaiveDate::from_ymd_opt(2026, 9, 4).expect("day"),
            events: 2,
            first_position: Some(5),
            last_position: Some(9),
            sha256: hex(&Sha256::digest(&bytes)),
            integrity_digest: String::new(),
            created_at: Utc::now(),
        };
        check(&file, &manifest).expect("intact");
        let wrong_count = Manifest { events: 3, ..manifest.clone() };
        assert!(check(&file, &wrong_count).is_err());
        for broken in [&text[..text.len() - 5], "{\"position\":9,\"x\":1}\n{\"position\":5,\"x\":1}\n"] {
            let bytes = gz(broken);
            std::fs::write(&file, &bytes).expect("write");
            let same_hash = Manifest { sha256: hex(&Sha256::digest(&bytes)), ..manifest.clone() };
            assert!(check(&file, &same_hash).is_err(), "{broken}");
        }
        std::fs::write(&file, b"not gzip").expect("write");
        assert!(check(&file, &manifest).is_err(), "another file than the manifest's");
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn manifest_names() {
        let file = Path::new("/a/events-2026-09-04.ndjson.gz");
        assert_eq!(manifest_path(file), Path::new("/a/events-2026-09-04.manifest.json"));
        assert_eq!(file_name(NaiveDate::from_ymd_opt(2026, 9, 4).expect("day")), "events-2026-09-04.ndjson.gz");
    }
}
