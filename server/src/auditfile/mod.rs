//! `--audit-file DIR`: every committed event also as one JSON line in `DIR/audit.log`, in
//! commit (position) order, the file renamed to `audit-YYYY-MM-DD.log` when the UTC day it
//! was written on is over.
//!
//! Each line carries its `position`. After a restart (also after SIGKILL) the writer reads
//! the last complete line, cuts off a partial one, and continues after that position, so
//! the files hold every event exactly once. Lines are flushed and synced before the writer
//! reads further. One instance writes at a time (advisory lock).

use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgPool;

use crate::store::live::events_after;

const ACTIVE: &str = "audit.log";
/// Events read per round.
const CHUNK: i64 = 5_000;
/// How often to look for new events when idle.
const POLL: Duration = Duration::from_millis(250);

pub fn rotated_name(day: NaiveDate) -> String {
    format!("audit-{}.log", day.format("%Y-%m-%d"))
}

/// The position in the last complete line of `path`, after removing a trailing partial line.
pub fn last_position(path: &Path) -> std::io::Result<Option<i64>> {
    let mut file = match OpenOptions::new().read(true).write(true).open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let len = file.metadata()?.len();
    // Lines are far shorter than this (an event is at most ~100 KB), so the tail holds the
    // last complete line whole.
    let start = len.saturating_sub(1 << 20);
    file.seek(SeekFrom::Start(start))?;
    let mut tail = Vec::new();
    file.read_to_end(&mut tail)?;
    let complete = tail.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1);
    if complete < tail.len() {
        // A line cut by a crash: it was never counted as written.
        file.set_len(start + complete as u64)?;
        file.sync_all()?;
    }
    let body = &tail[..complete];
    Ok(body.strip_suffix(b"\n").and_then(|b| b.rsplit(|c| *c == b'\n').next()).and_then(position_of))
}

fn position_of(line: &[u8]) -> Option<i64> {
    let text = std::str::from_utf8(line).ok()?;
    text.strip_prefix("{\"position\":")?.split(',').next()?.parse().ok()
}

/// Where to continue: after the last line of the active file, else of the newest rotated one.
pub fn resume_after(dir: &Path) -> std::io::Result<i64> {
    if let Some(position) = last_position(&dir.join(ACTIVE))? {
        return Ok(position);
    }
    let mut rotated: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("audit-") && n.ends_with(".log")))
        .collect();
    rotated.sort();
    for path in rotated.iter().rev() {
        if let Some(position) = last_position(path)? {
            return Ok(position);
        }
    }
    Ok(0)
}

/// The active file, opened for appending, and the UTC day it belongs to.
struct Active {
    file: File,
    day: NaiveDate,
}

fn open_active(dir: &Path, today: NaiveDate) -> std::io::Result<Active> {
    let path = dir.join(ACTIVE);
    // A file last written on an earlier day is that day's file.
    if let Ok(meta) = std::fs::metadata(&path) {
        let written: DateTime<Utc> = meta.modified()?.into();
        if written.date_naive() < today && meta.len() > 0 {
            rotate(dir, written.date_naive())?;
        }
    }
    let file = OpenOptions::new().create(true).append(true).open(&path)?;
    Ok(Active { file, day: today })
}

fn rotate(dir: &Path, day: NaiveDate) -> std::io::Result<()> {
    let mut target = dir.join(rotated_name(day));
    let mut n = 1;
    while target.exists() {
        target = dir.join(format!("audit-{}.{n}.log", day.format("%Y-%m-%d")));
        n += 1;
    }
    std::fs::rename(dir.join(ACTIVE), target)?;
    File::open(dir)?.sync_all()
}

/// Appends what was committed after the files' last position, until stopped.
pub async fn keep_writing(pool: PgPool, dir: PathBuf) {
    loop {
        if let Err(e) = write_until_error(&pool, &dir).await {
            tracing::error!(error = %e, dir = %dir.display(), "the audit file writer failed ({e}); retrying in 5 s");
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

#[derive(Debug, thiserror::Error)]
enum AuditFileError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
}

async fn write_until_error(pool: &PgPool, dir: &Path) -> Result<(), AuditFileError> {
    let mut lock = pool.acquire().await?;
    loop {
        let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('auditorium.audit_file'))").fetch_one(&mut *lock).await?;
        if locked {
            break;
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
    // The lock lives as long as this connection: it never goes back to the pool.
    let _lock = lock.detach();
    std::fs::create_dir_all(dir)?;
    let mut after = resume_after(dir)?;
    let mut active = open_active(dir, Utc::now().date_naive())?;
    tracing::info!(dir = %dir.display(), after, "writing the audit file from position {}", after + 1);
    loop {
        let events = events_after(pool, after, CHUNK).await?;
        let today = Utc::now().date_naive();
        if today != active.day {
            active.file.sync_all()?;
            rotate(dir, active.day)?;
            active = open_active(dir, today)?;
        }
        if events.is_empty() {
            tokio::time::sleep(POLL).await;
            continue;
        }
        let mut text = String::with_capacity(events.len() * 600);
        for (seq, event) in &events {
            let json = serde_json::to_string(event).unwrap_or_else(|_| "{}".into());
            text.push_str(&format!("{{\"position\":{seq},"));
            text.push_str(json.strip_prefix('{').unwrap_or("}"));
            text.push('\n');
        }
        // One write of whole lines, then synced: after a crash the file ends with complete
        // lines up to some position, or a partial line that the next start removes.
        active.file.write_all(text.as_bytes())?;
        active.file.sync_data()?;
        after = events.last().map_or(after, |(seq, _)| *seq);
        if (events.len() as i64) < CHUNK {
            tokio::time::sleep(POLL).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir() -> PathBuf {
        let dir = std::env::temp_dir().join(format!("auditorium-auditfile-{}", uuid::Uuid::now_v7()));
        std::fs::create_dir_all(&dir).expect("dir");
        dir
    }

    #[test]
    fn a_line_cut_by_a_crash_is_removed_and_the_last_complete_one_counts() {
        let dir = temp_dir();
        let path = dir.join(ACTIVE);
        std::fs::write(&path, "{\"position\":7,\"id\":\"a\"}\n{\"position\":8,\"id\":\"b\"}\n{\"position\":9,\"id\":\"c").expect("write");
        assert_eq!(last_position(&path).expect("read"), Some(8));
        assert_eq!(std::fs::read_to_string(&path).expect("read"), "{\"position\":7,\"id\":\"a\"}\n{\"position\":8,\"id\":\"b\"}\n");
        assert_eq!(resume_after(&dir).expect("resume"), 8);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn an_empty_active_file_resumes_from_the_newest_rotated_one() {
        let dir = temp_dir();
        std::fs::write(dir.join("audit-2026-12-01.log"), "{\"position\":3,\"x\":1}\n").expect("write");
        std::fs::write(dir.join("audit-2026-12-02.log"), "{\"position\":5,\"x\":1}\n").expect("write");
        std::fs::write(dir.join(ACTIVE), "").expect("write");
        assert_eq!(resume_after(&dir).expect("resume"), 5);
        assert_eq!(resume_after(&temp_dir()).expect("nothing yet"), 0);
        std::fs::remove_dir_all(&dir).ok();
    }
}
