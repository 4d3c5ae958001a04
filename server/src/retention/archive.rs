//! Archives: a day's events as `events-YYYY-MM-DD.ndjson.gz` (one event per line in position
//! order, with its `position` and `fingerprint`) and `events-YYYY-MM-DD.manifest.json` (count,
//! first and last position, SHA-256 of the file, the integrity digest of its events). Written
//! under temporary names, read back and checked, then renamed; only then may the day be
//! dropped. `auditorium archive restore FILE` puts a day back (see [`super::restore`]).
//!
//! gzip by flate2 (the usual Rust binding; its default pure-Rust backend needs no C library).

use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};
use uuid::Uuid;

use crate::integrity::chain::CANONICAL_HASH;
use super::line::{write_line, ArchiveRow, LINE_COLUMNS};
use crate::integrity::checkpoint::hex;

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
pub(super) fn position_of(line: &str) -> Option<i64> {
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

#[cfg(test)]
mod tests {
    use super::*;

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
