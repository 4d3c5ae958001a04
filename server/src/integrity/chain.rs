//! Recomputing the hash chain from the stored events and comparing it with what was recorded
//! as they were written: which events were changed, are missing, or were inserted.
//!
//! The chain (see the migration `integrity_and_retention`): every committed batch has a row
//! `(first_seq, last_seq, digest)` with digest = SHA-256(previous digest || for each event in
//! position order: the position as 8 bytes big-endian || SHA-256 of the event's canonical
//! form). The canonical form is computed here by our own copy of the SQL expression, so a
//! replaced database function cannot make a changed event look intact.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, NaiveDate, Utc};
use sha2::{Digest, Sha256};
use sqlx::{Connection, PgConnection, PgPool};
use uuid::Uuid;

/// The digest before the first batch.
pub const GENESIS: [u8; 32] = [0; 32];

/// SHA-256 of the canonical form of `e` (an `events` row): the same as `event_hash(e)`.
pub(crate) const CANONICAL_HASH: &str = "sha256(record_send(ROW(
    e.id, e.occurred_at, e.received_at, e.action, e.actor_id, e.actor_name, e.actor_email,
    e.actor_type, e.source, e.method, e.status, e.path, e.outcome, e.error, e.resource_type,
    e.resource_id, e.resource_name, e.context, e.request_id, e.ip, e.user_agent, e.changes,
    e.metadata)))";

/// Batches read per round.
const BATCHES_PER_ROUND: i64 = 2_000;
/// Positions read per round (a round may hold more when one batch is larger).
const POSITIONS_PER_ROUND: i64 = 50_000;

/// The digest of one batch: `previous` chained with `(position, event hash)` in position order.
pub fn batch_digest<'a>(previous: &[u8], events: impl IntoIterator<Item = (i64, &'a [u8])>) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    for (seq, hash) in events {
        hasher.update(seq.to_be_bytes());
        hasher.update(hash);
    }
    hasher.finalize().into()
}

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The event's content differs from what was hashed when it was written.
    Changed,
    /// The event is gone (its row, or its row and its position).
    Missing,
    /// An event that was never written through ingest (no position, or a position outside
    /// the chain).
    Inserted,
    /// A batch's recorded digest does not follow from its events and the batch before it
    /// (positions, hashes or the chain itself were rewritten).
    ChainBroken,
    /// The chain recomputed from the events does not reach a signed checkpoint's digest.
    CheckpointMismatch,
}

#[derive(Clone, Debug, serde::Serialize)]
pub struct Finding {
    pub problem: Problem,
    /// The event's id when it is known.
    pub id: Option<Uuid>,
    /// The event's (or the batch's last) position when it is known.
    pub seq: Option<i64>,
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let what = match self.problem {
            Problem::Changed => "changed",
            Problem::Missing => "missing",
            Problem::Inserted => "inserted",
            Problem::ChainBroken => "chain broken",
            Problem::CheckpointMismatch => "checkpoint mismatch",
        };
        write!(f, "{what}")?;
        if let Some(id) = self.id {
            write!(f, " {id}")?;
        }
        if let Some(seq) = self.seq {
            write!(f, " (position {seq})")?;
        }
        write!(f, ": {}", self.detail)
    }
}

/// Where to start and stop.
#[derive(Clone, Debug, Default)]
pub struct Range {
    /// Batches committed at or after this time (default: the first).
    pub from: Option<DateTime<Utc>>,
    /// Batches committed before this time (default: the last).
    pub to: Option<DateTime<Utc>>,
    /// Continue after this batch (position, recorded digest) instead of from `from`: the
    /// background verifier's incremental runs.
    pub after: Option<(i64, Vec<u8>)>,
    /// Look for events without a position (a scan of every event; the full runs do).
    pub find_inserted: bool,
}

/// A point of the chain someone vouches for: position and digest.
#[derive(Clone, Debug)]
pub struct Anchor {
    pub seq: i64,
    pub digest: Vec<u8>,
}

#[derive(Debug, Default, serde::Serialize)]
pub struct Report {
    pub batches: u64,
    pub events: u64,
    /// Batches whose events were all removed by retention (chained by their recorded digest).
    pub retired_batches: u64,
    /// The last batch verified: its position and recorded digest.
    pub last_seq: Option<i64>,
    #[serde(skip)]
    pub last_digest: Option<Vec<u8>>,
    /// When the last verified batch was committed.
    pub verified_upto: Option<DateTime<Utc>>,
    /// Checkpoints compared with the recomputed chain.
    pub anchors_checked: u64,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn intact(&self) -> bool {
        self.findings.is_empty()
    }
}

struct Batch {
    last_seq: i64,
    first_seq: i64,
    digest: Vec<u8>,
    committed_at: DateTime<Utc>,
    retired: bool,
}

struct Position {
    id: Uuid,
    day: NaiveDate,
    /// The hash written with the position.
    recorded: Vec<u8>,
    actual: Actual,
}

/// The event's row as it is now.
enum Actual {
    /// Hashes to what was recorded.
    Same,
    /// Gone.
    Missing,
    /// Hashes to something else.
    Differs(Vec<u8>),
}

/// Recomputes the chain over `range` in one consistent snapshot, read on two connections at
/// once (hashing the rows is the database's work; two cores do twice as much). `anchors`
/// (signed checkpoints) are compared with the digest recomputed from the events.
pub async fn verify(pool: &PgPool, range: &Range, anchors: &[Anchor]) -> Result<Report, sqlx::Error> {
    let (mut main, mut helper) = (pool.acquire().await?, pool.acquire().await?);
    let mut tx = main.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *tx).await?;
    let snapshot: String = sqlx::query_scalar("SELECT pg_export_snapshot()").fetch_one(&mut *tx).await?;
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *tx).await?;
    let mut second = helper.begin().await?;
    sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY").execute(&mut *second).await?;
    // The snapshot id is PostgreSQL's own output (hex and dashes), not input.
    sqlx::query(&format!("SET TRANSACTION SNAPSHOT '{}'", snapshot.replace('\'', ""))).execute(&mut *second).await?;
    sqlx::query("SET LOCAL statement_timeout = 0").execute(&mut *second).await?;
    let report = walk(&mut tx, &mut second, range, anchors).await;
    second.rollback().await?;
    tx.rollback().await?;
    report
}

async fn walk(conn: &mut PgConnection, helper: &mut PgConnection, range: &Range, anchors: &[Anchor]) -> Result<Report, sqlx::Error> {
    let mut report = Report::default();
    let anchors: HashMap<i64, &Vec<u8>> = anchors.iter().map(|a| (a.seq, &a.digest)).collect();
    // Where to start: after a given batch, or at the first batch committed from `from`,
    // chained to the recorded digest of the batch before it.
    let (mut after, mut recorded_previous) = match &range.after {
        Some((seq, digest)) => (*seq, digest.clone()),
        None => start_of(conn, range.from).await?,
    };
    // The chain as recomputed from the events alone (never re-synchronised with the record).
    let mut recomputed = recorded_previous.clone();
    let mut found_per_day: BTreeMap<NaiveDate, i64> = BTreeMap::new();
    let start = after;
    let mut checked = std::collections::HashSet::new();
    loop {
        let batches: Vec<Batch> = sqlx::query_as::<_, (i64, i64, Vec<u8>, DateTime<Utc>, bool)>(
            "SELECT last_seq, first_seq, digest, committed_at, retired FROM event_chain
             WHERE last_seq > $1 AND ($2::timestamptz IS NULL OR committed_at < $2) ORDER BY last_seq LIMIT $3",
        )
        .bind(after)
        .bind(range.to)
        .bind(BATCHES_PER_ROUND)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .map(|(last_seq, first_seq, digest, committed_at, retired)| Batch { last_seq, first_seq, digest, committed_at, retired })
        .collect();
        if batches.is_empty() {
            break;
        }
        // Read the positions of as many whole batches as fit in a round.
        let mut upto = batches.len();
        for (i, b) in batches.iter().enumerate() {
            if i > 0 && b.last_seq - batches[0].first_seq >= POSITIONS_PER_ROUND {
                upto = i;
                break;
            }
        }
        let batches = &batches[..upto];
        let (lo, hi) = (batches[0].first_seq.min(after + 1), batches[batches.len() - 1].last_seq);
        // Both connections read half of the round each.
        let middle = lo + (hi - lo) / 2;
        let (first, second) = tokio::join!(positions_between(&mut *conn, lo, middle), positions_between(&mut *helper, middle + 1, hi));
        let mut positions = first?;
        positions.extend(second?);
        let retired = retired_between(conn, lo, hi).await?;
        // Positions between batches (after `after`, before this round's first batch) belong
        // to no batch.
        for (seq, p) in positions.iter().filter(|(seq, _)| *seq > after && *seq < batches[0].first_seq) {
            report.findings.push(Finding { problem: Problem::Inserted, id: Some(p.id), seq: Some(*seq), detail: "a position outside every committed batch".into() });
        }
        for batch in batches {
            report.batches += 1;
            if batch.retired {
                report.retired_batches += 1;
                recomputed = batch.digest.clone();
            } else {
                // The batch's digest from the recorded previous one (this batch alone) and
                // from the recomputed one (the whole chain from the events).
                let (mut local, mut pure) = (Sha256::new(), Sha256::new());
                local.update(&recorded_previous);
                pure.update(&recomputed);
                let mut explained = false;
                for seq in batch.first_seq..=batch.last_seq {
                    let hash: &[u8] = if let Ok(i) = positions.binary_search_by_key(&seq, |(s, _)| *s) {
                        let p = &positions[i].1;
                        report.events += 1;
                        match &p.actual {
                            Actual::Same => {
                                *found_per_day.entry(p.day).or_default() += 1;
                                &p.recorded
                            }
                            Actual::Missing => {
                                explained = true;
                                report.findings.push(Finding { problem: Problem::Missing, id: Some(p.id), seq: Some(seq), detail: "the event's row is gone".into() });
                                &p.recorded
                            }
                            Actual::Differs(actual) => {
                                explained = true;
                                *found_per_day.entry(p.day).or_default() += 1;
                                report.findings.push(Finding { problem: Problem::Changed, id: Some(p.id), seq: Some(seq), detail: "its content differs from what was written".into() });
                                actual
                            }
                        }
                    } else if let Some(hash) = retired.get(&seq) {
                        hash
                    } else {
                        explained = true;
                        report.findings.push(Finding { problem: Problem::Missing, id: None, seq: Some(seq), detail: "the event and its position are gone".into() });
                        continue;
                    };
                    for hasher in [&mut local, &mut pure] {
                        hasher.update(seq.to_be_bytes());
                        hasher.update(hash);
                    }
                }
                if local.finalize().as_slice() != batch.digest.as_slice() && !explained {
                    report.findings.push(Finding {
                        problem: Problem::ChainBroken,
                        id: None,
                        seq: Some(batch.last_seq),
                        detail: format!("the recorded digest of positions {}–{} does not follow from their events", batch.first_seq, batch.last_seq),
                    });
                }
                recomputed = pure.finalize().to_vec();
            }
            if let Some(signed) = anchors.get(&batch.last_seq) {
                report.anchors_checked += 1;
                checked.insert(batch.last_seq);
                if **signed != recomputed {
                    report.findings.push(Finding {
                        problem: Problem::CheckpointMismatch,
                        id: None,
                        seq: Some(batch.last_seq),
                        detail: "the events up to this signed checkpoint are not the ones it was signed for".into(),
                    });
                }
            }
            recorded_previous = batch.digest.clone();
            after = batch.last_seq;
            report.last_seq = Some(batch.last_seq);
            report.last_digest = Some(batch.digest.clone());
            report.verified_upto = Some(batch.committed_at);
        }
    }
    // Positions after the last batch (when verifying to the end).
    if range.to.is_none() {
        let stray: Vec<(i64, Uuid)> = sqlx::query_as("SELECT seq, id FROM event_positions WHERE seq > $1 ORDER BY seq LIMIT 1000")
            .bind(after)
            .fetch_all(&mut *conn)
            .await?;
        for (seq, id) in stray {
            report.findings.push(Finding { problem: Problem::Inserted, id: Some(id), seq: Some(seq), detail: "a position after the last committed batch".into() });
        }
    }
    // A checkpoint in the verified stretch that no batch ends at, or past the end of the log
    // (the newest events were removed).
    for seq in anchors.keys().filter(|seq| **seq > start && !checked.contains(*seq)) {
        if *seq <= after || range.to.is_none() {
            let detail = if *seq > after { "the log ends before this signed checkpoint: its newest events are gone" } else { "no batch of the log ends at this signed checkpoint" };
            report.findings.push(Finding { problem: Problem::CheckpointMismatch, id: None, seq: Some(*seq), detail: detail.into() });
        }
    }
    if range.find_inserted {
        find_inserted(conn, range, &found_per_day, &mut report).await?;
    }
    Ok(report)
}

/// The position before the first batch committed at or after `from`, and that batch's
/// predecessor's recorded digest.
async fn start_of(conn: &mut PgConnection, from: Option<DateTime<Utc>>) -> Result<(i64, Vec<u8>), sqlx::Error> {
    let Some(from) = from else { return Ok((0, GENESIS.to_vec())) };
    let previous: Option<(i64, Vec<u8>)> =
        sqlx::query_as("SELECT last_seq, digest FROM event_chain WHERE committed_at < $1 ORDER BY last_seq DESC LIMIT 1")
            .bind(from)
            .fetch_optional(&mut *conn)
            .await?;
    Ok(previous.unwrap_or((0, GENESIS.to_vec())))
}

/// The positions in `lo..=hi` in order, each with its event's state now.
async fn positions_between(conn: &mut PgConnection, lo: i64, hi: i64) -> Result<Vec<(i64, Position)>, sqlx::Error> {
    // Each position looks up its event by key (a nested loop over the position index, as
    // the live tail does), hashing the row as it is now; only a differing hash is sent.
    let rows: Vec<(i64, Uuid, DateTime<Utc>, Option<Vec<u8>>, bool, Option<Vec<u8>>)> = sqlx::query_as(&format!(
        "SELECT p.seq, p.id, p.occurred_at, p.hash, x.h IS NOT NULL, CASE WHEN x.h IS DISTINCT FROM p.hash THEN x.h END
         FROM event_positions p
         LEFT JOIN LATERAL (SELECT {CANONICAL_HASH} AS h FROM events e WHERE e.occurred_at = p.occurred_at AND e.id = p.id LIMIT 1) x ON true
         WHERE p.seq BETWEEN $1 AND $2 ORDER BY p.seq"
    ))
    .bind(lo)
    .bind(hi)
    .fetch_all(&mut *conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, id, at, recorded, found, differing)| {
            let actual = match (found, differing) {
                (false, _) => Actual::Missing,
                (true, None) => Actual::Same,
                (true, Some(hash)) => Actual::Differs(hash),
            };
            (seq, Position { id, day: at.date_naive(), recorded: recorded.unwrap_or_default(), actual })
        })
        .collect())
}

async fn retired_between(conn: &mut PgConnection, lo: i64, hi: i64) -> Result<HashMap<i64, Vec<u8>>, sqlx::Error> {
    Ok(sqlx::query_as::<_, (i64, Vec<u8>)>("SELECT seq, hash FROM chain_retired WHERE seq BETWEEN $1 AND $2")
        .bind(lo)
        .bind(hi)
        .fetch_all(&mut *conn)
        .await?
        .into_iter()
        .collect())
}

/// Events without a position: per day, the stored events are counted and compared with the
/// positioned ones found; only a day with more events than that is searched row by row.
async fn find_inserted(conn: &mut PgConnection, range: &Range, found: &BTreeMap<NaiveDate, i64>, report: &mut Report) -> Result<(), sqlx::Error> {
    let stored: Vec<(NaiveDate, i64)> = sqlx::query_as(
        "SELECT (occurred_at AT TIME ZONE 'UTC')::date, count(*) FROM events
         WHERE ($1::timestamptz IS NULL OR occurred_at >= $1) AND ($2::timestamptz IS NULL OR occurred_at < $2) GROUP BY 1",
    )
    .bind(range.from)
    .bind(range.to)
    .fetch_all(&mut *conn)
    .await?;
    for (day, n) in stored {
        if n <= found.get(&day).copied().unwrap_or(0) {
            continue;
        }
        let start = day.and_time(chrono::NaiveTime::MIN).and_utc();
        let inserted: Vec<(Uuid, Option<i64>)> = sqlx::query_as(
            "SELECT e.id, p.seq FROM events e LEFT JOIN event_positions p ON p.id = e.id
             WHERE e.occurred_at >= $1 AND e.occurred_at < $2 AND (p.id IS NULL OR p.occurred_at <> e.occurred_at)
             ORDER BY e.occurred_at, e.id LIMIT 1000",
        )
        .bind(start)
        .bind(start + chrono::Duration::days(1))
        .fetch_all(&mut *conn)
        .await?;
        for (id, seq) in inserted {
            // A row whose id has a position under another time is a copy, not the event.
            if seq.is_some() && report.findings.iter().any(|f| f.id == Some(id)) {
                continue;
            }
            report.findings.push(Finding { problem: Problem::Inserted, id: Some(id), seq: None, detail: "an event that was never written through ingest".into() });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_digest_covers_order_positions_and_the_previous_digest() {
        let (a, b) = ([1u8; 32], [2u8; 32]);
        let base = batch_digest(&GENESIS, [(1, &a[..]), (2, &b[..])]);
        assert_ne!(base, batch_digest(&GENESIS, [(1, &b[..]), (2, &a[..])]), "order");
        assert_ne!(base, batch_digest(&GENESIS, [(1, &a[..]), (3, &b[..])]), "positions");
        assert_ne!(base, batch_digest(&[1; 32], [(1, &a[..]), (2, &b[..])]), "previous digest");
        assert_ne!(base, batch_digest(&GENESIS, [(1, &a[..])]), "a missing event");
        assert_eq!(base, batch_digest(&GENESIS, [(1, &a[..]), (2, &b[..])]));
    }

    #[test]
    fn the_digest_is_sha256_of_the_documented_bytes() {
        let hash = [7u8; 32];
        let mut bytes = GENESIS.to_vec();
        bytes.extend_from_slice(&5i64.to_be_bytes());
        bytes.extend_from_slice(&hash);
        assert_eq!(batch_digest(&GENESIS, [(5, &hash[..])]).to_vec(), Sha256::digest(&bytes).to_vec());
    }
}
