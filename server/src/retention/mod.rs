//! Retention: whole days past the configured limit are dropped — their partition, their
//! positions and their rows in every count table, in one transaction (the database function
//! `retention_drop_day`), so totals and histograms stay equal to `count(*)`. Never row
//! deletes of events. A legal hold stops it; with an archive directory each day is written
//! and verified first (see [`archive`]).
//!
//! Runs in the background partition task as the database owner (the server's own role may
//! not drop anything), one instance at a time (advisory lock).

pub mod archive;
pub mod holds;
mod line;
pub mod restore;

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use sqlx::postgres::PgConnectOptions;
use sqlx::{Connection, PgConnection};

/// How long events are kept: whole days, or forever.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Retention {
    #[default]
    Forever,
    Days(u32),
}

impl Retention {
    /// `90d`, `12w`, `1y` (365 days) or `forever`.
    pub fn parse(text: &str) -> Result<Retention, String> {
        let text = text.trim();
        if matches!(text, "forever" | "") {
            return Ok(Retention::Forever);
        }
        let (digits, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len()));
        let n: u32 = digits.parse().map_err(|_| format!("{text:?} is not a retention such as 90d, 12w, 1y or forever"))?;
        let days = match unit {
            "d" => n,
            "w" => n.saturating_mul(7),
            "y" => n.saturating_mul(365),
            _ => return Err(format!("{text:?} is not a retention such as 90d, 12w, 1y or forever")),
        };
        if days == 0 {
            return Err("a retention of 0 days would drop today's events; use at least 1d".into());
        }
        Ok(Retention::Days(days))
    }

    /// The first day kept at `now`: every event of an earlier day is older than the limit.
    pub fn first_kept_day(self, now: DateTime<Utc>) -> Option<NaiveDate> {
        match self {
            Retention::Forever => None,
            Retention::Days(days) => Some((now - chrono::Duration::days(i64::from(days))).date_naive()),
        }
    }
}

impl std::fmt::Display for Retention {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Retention::Forever => write!(f, "forever"),
            Retention::Days(d) => write!(f, "{d}d"),
        }
    }
}

/// The days among `with_data` to drop at `now`, oldest first.
pub fn expired_days(retention: Retention, now: DateTime<Utc>, with_data: impl IntoIterator<Item = NaiveDate>) -> Vec<NaiveDate> {
    let Some(first_kept) = retention.first_kept_day(now) else { return Vec::new() };
    let mut days: Vec<NaiveDate> = with_data.into_iter().filter(|d| *d < first_kept).collect();
    days.sort();
    days.dedup();
    days
}

#[derive(Debug, thiserror::Error)]
pub enum RetentionError {
    #[error("database error: {0}")]
    Sql(#[from] sqlx::Error),
    #[error(transparent)]
    Archive(#[from] archive::ArchiveError),
}

/// One day removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    pub day: NaiveDate,
    pub events: i64,
    pub archive: Option<PathBuf>,
}

/// What one run did.
#[derive(Debug, Default)]
pub struct Outcome {
    pub dropped: Vec<Dropped>,
    /// Legal holds that stopped the run.
    pub held_by: usize,
    /// Another instance was applying retention.
    pub busy: bool,
}

/// Applies `retention` at `now`: archives (when `archive_dir` is set) and drops every expired
/// day, unless a legal hold exists. `owner`: connection options of the database owner.
pub async fn apply(owner: &PgConnectOptions, retention: Retention, archive_dir: Option<&Path>, now: DateTime<Utc>) -> Result<Outcome, RetentionError> {
    if retention == Retention::Forever {
        return Ok(Outcome::default());
    }
    // Dropping waits for running inserts; a day's work must not be cut by the statement
    // timeout of the request pool.
    let options = owner.clone().options([("statement_timeout", "0"), ("lock_timeout", "10s")]);
    let mut conn = PgConnection::connect_with(&options).await?;
    let result = apply_on(&mut conn, owner, retention, archive_dir, now).await;
    let _ = conn.close().await;
    result
}

async fn apply_on(conn: &mut PgConnection, owner: &PgConnectOptions, retention: Retention, archive_dir: Option<&Path>, now: DateTime<Utc>) -> Result<Outcome, RetentionError> {
    let mut outcome = Outcome::default();
    let locked: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock(hashtext('auditorium.retention'))").fetch_one(&mut *conn).await?;
    if !locked {
        outcome.busy = true;
        return Ok(outcome);
    }
    outcome.held_by = holds::count(&mut *conn).await? as usize;
    if outcome.held_by > 0 {
        tracing::info!(holds = outcome.held_by, "retention is paused by {} legal hold(s)", outcome.held_by);
        return Ok(outcome);
    }
    let Some(first_kept) = retention.first_kept_day(now) else { return Ok(outcome) };
    let candidates: Vec<NaiveDate> = sqlx::query_scalar(
        "SELECT day FROM event_counts_daily WHERE day < $1
         UNION SELECT to_date(substr(c.relname, 9), 'YYYYMMDD') FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               WHERE i.inhparent = 'events'::regclass AND c.relname ~ '^events_p[0-9]{8}$' AND to_date(substr(c.relname, 9), 'YYYYMMDD') < $1",
    )
    .bind(first_kept)
    .fetch_all(&mut *conn)
    .await?;
    for day in expired_days(retention, now, candidates) {
        let archive = match archive_dir {
            Some(dir) => Some(archive::write_day(owner, dir, day).await?),
            None => None,
        };
        let started = std::time::Instant::now();
        match drop_day(conn, day, archive.as_deref()).await? {
            Some(events) => {
                tracing::info!(day = %day, events, seconds = started.elapsed().as_secs_f64(), "retention dropped {day} ({events} events)");
                outcome.dropped.push(Dropped { day, events, archive });
            }
            None => {
                outcome.held_by = 1;
                break;
            }
        }
    }
    Ok(outcome)
}

/// Drops one day in one transaction, unless a hold was placed meanwhile (`None`).
async fn drop_day(conn: &mut PgConnection, day: NaiveDate, archive: Option<&Path>) -> Result<Option<i64>, sqlx::Error> {
    let mut tx = conn.begin().await?;
    // A hold placed now waits for this transaction; one placed before it stops the drop.
    sqlx::query("LOCK TABLE retention_holds IN SHARE MODE").execute(&mut *tx).await?;
    if holds::count(&mut *tx).await? > 0 {
        return Ok(None);
    }
    let events: i64 = sqlx::query_scalar("SELECT retention_drop_day($1)").bind(day).fetch_one(&mut *tx).await?;
    if let Some(path) = archive {
        sqlx::query("UPDATE retention_drops SET archive = $2 WHERE day = $1").bind(day).bind(path.display().to_string()).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Some(events))
}

/// The first day whose events are still all there: the day after the newest dropped day.
pub async fn oldest_available_day<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<Option<NaiveDate>, sqlx::Error> {
    let newest_dropped: Option<NaiveDate> = sqlx::query_scalar("SELECT max(day) FROM retention_drops").fetch_one(db).await?;
    Ok(newest_dropped.and_then(|d| d.succ_opt()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("day")
    }

    #[test]
    fn retention_values() {
        assert_eq!(Retention::parse("90d"), Ok(Retention::Days(90)));
        assert_eq!(Retention::parse("12w"), Ok(Retention::Days(84)));
        assert_eq!(Retention::parse("1y"), Ok(Retention::Days(365)));
        assert_eq!(Retention::parse("forever"), Ok(Retention::Forever));
        assert!(Retention::parse("0d").is_err());
        assert!(Retention::parse("90").is_err());
        assert!(Retention::parse("three months").is_err());
        assert_eq!(Retention::Days(90).to_string(), "90d");
    }

    #[test]
    fn only_whole_days_older_than_the_limit_expire() {
        let now = DateTime::parse_from_rfc3339("2026-12-04T10:00:00Z").expect("now").with_timezone(&Utc);
        // 90 days before is 2026-09-05 10:00: that day still holds events younger than 90 days.
        let days = [day("2026-09-06"), day("2026-09-03"), day("2026-09-05"), day("2026-09-04"), day("2026-09-04")];
        assert_eq!(expired_days(Retention::Days(90), now, days), vec![day("2026-09-03"), day("2026-09-04")]);
        assert!(expired_days(Retention::Forever, now, days).is_empty());
        assert_eq!(Retention::Days(1).first_kept_day(now), Some(day("2026-12-03")));
    }
}
