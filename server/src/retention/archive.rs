//! Archives: a day's events as `events-YYYY-MM-DD.ndjson.gz` (one event per line in position
//! order, with its `position` and `fingerprint`) and `events-YYYY-MM-DD.manifest.json` (count,
//! first and last position, SHA-256 of the file, the integrity digest of its events). Written
//! under temporary names, read back and checked, then renamed; only then may the day be
//! dropped. `auditorium archive restore FILE` puts a day back through the ingest writer.
//!
//! gzip by flate2 (the usual Rust binding; its default pure-Rust backend needs no C library).

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use app::event::Event;
use chrono::{DateTime, NaiveDate, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use uuid::Uuid;

use crate::ingest::validate::validate_event;
use crate::ingest::writer::{Ingestor, WriteError, MAX_GROUP_EVENTS};
use crate::integrity::chain::CANONICAL_HASH;
use crate::integrity::checkpoint::{hex, unhex};
use crate::store::rows::{EventRow, EVENT_COLUMNS};
use crate::store::write::{NewEvent, Stored};

const FORMAT: &str = "auditorium-archive/1";
/// Rows serialised and compressed per step.
const CHUNK: usize = 2_000;

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
    fingerprint: Option<Vec<u8>>,
    recorded: Option<Vec<u8>>,
    actual: Vec<u8>,
    #[sqlx(flatten)]
    event: EventRow,
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
pub async fn write_day(conn: &mut PgConnection, dir: &Path, day: NaiveDate) -> Result<PathBuf, ArchiveError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |e| ArchiveError::Io(path, e)
    };
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let path = dir.join(file_name(day));
    let temporary = path.with_extension("gz.partial");
    let file = std::fs::File::create(&temporary).map_err(io(&temporary))?;
    let mut encoder: Encoder = GzEncoder::new(Hashing { inner: BufWriter::with_capacity(1 << 20, file), hasher: Sha256::new() }, flate2::Compression::fast());
    let mut content = Sha256::new();
    let (mut events, mut first, mut last) = (0u64, None, None);
    let partition = format!("events_p{}", day.format("%Y%m%d"));
    let exists: bool = sqlx::query_scalar("SELECT to_regclass($1) IS NOT NULL").bind(&partition).fetch_one(&mut *conn).await?;
    if exists {
        // The partition's name is ours (a date), never input.
        let sql = format!(
            "SELECT p.seq, p.fingerprint, p.hash AS recorded, {CANONICAL_HASH} AS actual, {EVENT_COLUMNS}
             FROM \"{partition}\" e JOIN event_positions p ON p.id = e.id ORDER BY p.seq"
        );
        let mut rows = sqlx::query_as::<_, ArchiveRow>(&sql).fetch(&mut *conn);
        let mut text = String::with_capacity(CHUNK * 700);
        let mut pending = 0;
        while let Some(row) = rows.try_next().await? {
            if row.recorded.as_deref() != Some(row.actual.as_slice()) {
                return Err(ArchiveError::Tampered(row.event.id, day));
            }
            content.update(&row.actual);
            first.get_or_insert(row.seq);
            last = Some(row.seq);
            events += 1;
            line(&mut text, row.seq, row.fingerprint.as_deref().unwrap_or_default(), &Event::from(row.event));
            pending += 1;
            if pending == CHUNK {
                encoder = compress(encoder, std::mem::take(&mut text), &temporary).await?;
                pending = 0;
            }
        }
        encoder = compress(encoder, text, &temporary).await?;
    }
    let temporary_for_finish = temporary.clone();
    let sha256 = tokio::task::spawn_blocking(move || -> std::io::Result<String> {
        let hashing = encoder.finish()?;
        let Hashing { inner, hasher } = hashing;
        let file = inner.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        Ok(hex(&hasher.finalize()))
    })
    .await
    .map_err(|e| ArchiveError::Io(temporary_for_finish.clone(), std::io::Error::other(e)))?
    .map_err(io(&temporary))?;
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

/// One line: the event as the API shows it, with its position and fingerprint first.
fn line(out: &mut String, seq: i64, fingerprint: &[u8], event: &Event) {
    let json = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
    out.push_str(&format!("{{\"position\":{seq},\"fingerprint\":\"{}\",", hex(fingerprint)));
    out.push_str(json.strip_prefix('{').unwrap_or("}"));
    out.push('\n');
}

async fn compress(mut encoder: Encoder, text: String, path: &Path) -> Result<Encoder, ArchiveError> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || encoder.write_all(text.as_bytes()).map(|()| encoder))
        .await
        .map_err(|e| ArchiveError::Io(path.clone(), std::io::Error::other(e)))?
        .map_err(|e| ArchiveError::Io(path, e))
}

/// Reads the file back: its SHA-256, its line count and positions must be the manifest's.
pub fn check(path: &Path, manifest: &Manifest) -> Result<(), ArchiveError> {
    let corrupt = |why: String| ArchiveError::Corrupt(path.to_path_buf(), why);
    let bytes = std::fs::read(path).map_err(|e| ArchiveError::Io(path.to_path_buf(), e))?;
    let sha256 = hex(&Sha256::digest(&bytes));
    if sha256 != manifest.sha256 {
        return Err(corrupt(format!("its SHA-256 is {sha256}, the manifest says {}", manifest.sha256)));
    }
    let (mut n, mut first, mut last) = (0u64, None, None);
    for line in BufReader::new(MultiGzDecoder::new(&bytes[..])).lines() {
        let line = line.map_err(|e| corrupt(format!("it does not decompress: {e}")))?;
        let position = line
            .strip_prefix("{\"position\":")
            .and_then(|rest| rest.split(',').next())
            .and_then(|p| p.parse::<i64>().ok())
            .ok_or_else(|| corrupt(format!("line {} has no position", n + 1)))?;
        if last.is_some_and(|l| position <= l) {
            return Err(corrupt(format!("line {} is out of position order", n + 1)));
        }
        first.get_or_insert(position);
        last = Some(position);
        n += 1;
    }
    if (n, first, last) != (manifest.events, manifest.first_position, manifest.last_position) {
        return Err(corrupt(format!("it holds {n} events at positions {first:?}–{last:?}, the manifest says {} at {:?}–{:?}", manifest.events, manifest.first_position, manifest.last_position)));
    }
    Ok(())
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
    fn a_line_round_trips_to_the_same_event_and_fingerprint() {
        let event = Event { id: Uuid::now_v7(), action: "user.login".into(), ..crate::test_support::sample_event() };
        let mut text = String::new();
        line(&mut text, 42, &[1, 2, 255], &event);
        assert!(text.starts_with("{\"position\":42,\"fingerprint\":\"0102ff\",\"id\":"), "{text}");
        let back = parse_line(0, text.trim_end()).expect("parses");
        assert_eq!(back.fingerprint, vec![1, 2, 255]);
        assert_eq!(back.event, event);
    }

    #[test]
    fn manifest_names() {
        let file = Path::new("/a/events-2026-09-04.ndjson.gz");
        assert_eq!(manifest_path(file), Path::new("/a/events-2026-09-04.manifest.json"));
        assert_eq!(file_name(NaiveDate::from_ymd_opt(2026, 9, 4).expect("day")), "events-2026-09-04.ndjson.gz");
    }
}
