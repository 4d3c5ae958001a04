//! Group commit: the one task that writes events.
//!
//! Every ingest request (API, `auditorium ingest`, the demo) hands its validated events to
//! [`Ingestor::write`], which queues them and waits for the answer. A writer task takes
//! whatever is queued — up to [`MAX_GROUP_EVENTS`] — and writes it in one transaction with one
//! `COPY`, one trigger call and one commit, then answers every request of the group. Under load
//! requests gather while the previous group commits, so the commit cost (the serialised
//! trigger, the WAL flush) is paid once per group instead of once per request. A few writers
//! take turns gathering, so large batches are written in parallel as before.
//!
//! Each request stays atomic: an id conflict fails only its own request (found before
//! writing), and if the combined write fails for another reason the requests are written
//! again one by one, so only the faulty one fails.
//!
//! The writer owns its connection and the transaction: a request whose client disconnects is
//! dropped, but the write it queued is not — it finishes (or rolls back) in the writer, and a
//! connection whose state is in doubt after an error is closed, never returned to the pool.

use std::collections::{HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgPool, Postgres};
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use uuid::Uuid;

use crate::db::{is_unavailable, Health};
use crate::metrics::IngestMetrics;
use crate::store::partitions::PartitionCache;
use crate::store::write::{stored_fingerprints, write_new, NewEvent, Stored};

/// Writer tasks: each gathers a group in turn and writes it in its own transaction, so the
/// heavy part of one group's write (rows, indexes) overlaps another's; only the short
/// trigger work and the commit are serialised by the database.
const WRITERS: usize = 2;
/// The most events written in one transaction.
pub const MAX_GROUP_EVENTS: usize = 5_000;
/// Past this many queued events, new requests are refused with 503 and `Retry-After`.
pub const MAX_QUEUED_EVENTS: usize = 50_000;
/// Past this many queued requests, likewise.
const MAX_QUEUED_REQUESTS: usize = 20_000;
/// The writer gives its connection back after this long without work.
const IDLE_RELEASE: Duration = Duration::from_millis(500);
/// Attempts of a group that lost a race for an id with another instance.
const RACE_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// Events (by index in the request) whose id is already stored with other content.
    #[error("{} event id(s) already exist with different content", .0.len())]
    Conflict(Vec<usize>),
    /// The queue is full: retry later with the same ids.
    #[error("the ingest queue is full")]
    Overloaded,
    /// The database cannot take writes right now (down, disk full, connection lost).
    #[error("the database is unavailable: {0}")]
    Unavailable(String),
    /// This request's events could not be stored (an error of the database that is not about
    /// its availability).
    #[error("storing the events failed: {0}")]
    Failed(sqlx::Error),
    /// The server is shutting down.
    #[error("the ingest writer has stopped")]
    Stopped,
}

type Reply = Result<Vec<Stored>, WriteError>;

struct Job {
    events: Vec<NewEvent>,
    reply: oneshot::Sender<Reply>,
}

/// The handle every ingest path uses; cheap to share.
pub struct Ingestor {
    jobs: mpsc::Sender<Job>,
    queued: Arc<AtomicUsize>,
    stop: watch::Sender<bool>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl Ingestor {
    /// Starts the writer tasks.
    pub fn start(pool: PgPool, partitions: Arc<PartitionCache>, health: Arc<Health>, metrics: IngestMetrics) -> Ingestor {
        let (jobs, receiver) = mpsc::channel(MAX_QUEUED_REQUESTS);
        let receiver = Arc::new(tokio::sync::Mutex::new(receiver));
        let queued = Arc::new(AtomicUsize::new(0));
        let (stop, stopping) = watch::channel(false);
        let tasks = (0..WRITERS)
            .map(|_| {
                let writer = Writer {
                    pool: pool.clone(),
                    partitions: partitions.clone(),
                    health: health.clone(),
                    metrics: metrics.clone(),
                    queued: queued.clone(),
                    conn: None,
                };
                tokio::spawn(writer.run(receiver.clone(), stopping.clone()))
            })
            .collect();
        Ingestor { jobs, queued, stop, tasks: Mutex::new(tasks) }
    }

    /// A writer of its own, for commands that run without a server (`demo`, `ingest`).
    pub fn for_command(pool: PgPool) -> Ingestor {
        Ingestor::start(pool, Arc::default(), Arc::default(), IngestMetrics::unregistered())
    }

    /// Queues `events` (ids unique within them) and waits until they are committed. Dropping
    /// the returned future does not cancel the write.
    pub async fn write(&self, events: Vec<NewEvent>) -> Reply {
        let n = events.len();
        let before = self.queued.fetch_add(n, Ordering::AcqRel);
        if before > 0 && before + n > MAX_QUEUED_EVENTS {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(WriteError::Overloaded);
        }
        let (reply, answer) = oneshot::channel();
        if let Err(e) = self.jobs.try_send(Job { events, reply }) {
            self.queued.fetch_sub(n, Ordering::AcqRel);
            return Err(match e {
                mpsc::error::TrySendError::Full(_) => WriteError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => WriteError::Stopped,
            });
        }
        answer.await.unwrap_or(Err(WriteError::Stopped))
    }

    /// Events waiting to be written or being written.
    pub fn queued_events(&self) -> usize {
        self.queued.load(Ordering::Acquire)
    }

    /// Writes what is queued, then stops the writers (waiting at most `grace`).
    pub async fn stop(&self, grace: Duration) {
        let _ = self.stop.send(true);
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        if tokio::time::timeout(grace, futures::future::join_all(tasks)).await.is_err() {
            tracing::warn!("the ingest writers did not finish within {grace:?}");
        }
    }
}

struct Writer {
    pool: PgPool,
    partitions: Arc<PartitionCache>,
    health: Arc<Health>,
    metrics: IngestMetrics,
    queued: Arc<AtomicUsize>,
    /// The writer's connection, kept while requests keep coming; closed after any error.
    conn: Option<PoolConnection<Postgres>>,
}

/// What one request gets from a group write that succeeded.
enum Answer {
    Stored(Vec<Stored>),
    Conflict(Vec<usize>),
}

impl Writer {
    /// Gathers a group (holding the queue, so writers take turns gathering), writes it (in
    /// parallel with the other writers), and again, until the queue is closed and empty.
    async fn run(mut self, jobs: Arc<tokio::sync::Mutex<mpsc::Receiver<Job>>>, mut stopping: watch::Receiver<bool>) {
        let mut waiting: VecDeque<Job> = VecDeque::new();
        loop {
            let receiver = if waiting.is_empty() {
                let mut receiver = jobs.lock().await;
                let next = tokio::select! {
                    job = receiver.recv() => job,
                    // Idle for a while: the connection goes back to the pool (which can then
                    // close cleanly). Between groups under load it is kept: every release and
                    // acquire costs the pool a round trip to test it.
                    () = tokio::time::sleep(IDLE_RELEASE), if self.conn.is_some() => {
                        self.conn = None;
                        continue;
                    }
                    _ = stopping.changed() => {
                        // Write what was accepted before stopping, then stop.
                        receiver.close();
                        receiver.recv().await
                    }
                };
                match next {
                    Some(job) => waiting.push_back(job),
                    None => break,
                }
                Some(receiver)
            } else {
                // Requests left over from the last group: add to them what is queued if no
                // other writer is gathering right now, else write them as they are.
                jobs.try_lock().ok()
            };
            if let Some(mut receiver) = receiver {
                let mut pending: usize = waiting.iter().map(|j| j.events.len()).sum();
                while pending < MAX_GROUP_EVENTS {
                    match receiver.try_recv() {
                        Ok(job) => {
                            pending += job.events.len();
                            waiting.push_back(job);
                        }
                        Err(_) => break,
                    }
                }
            }
            let group = take_group(&mut waiting);
            self.write_group(group).await;
        }
        if let Some(conn) = self.conn.take() {
            let _ = conn.close().await;
        }
    }

    async fn write_group(&mut self, group: Vec<Job>) {
        let events: usize = group.iter().map(|j| j.events.len()).sum();
        self.metrics.group_events.observe(events as f64);
        let started = Instant::now();
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match self.attempt(&group).await {
                Err(e) if is_unique_violation(&e) && attempt < RACE_ATTEMPTS => continue,
                other => break other,
            }
        };
        self.metrics.commit_seconds.observe(started.elapsed().as_secs_f64());
        match result {
            Ok(answers) => {
                self.health.write_succeeded();
                for (job, answer) in group.into_iter().zip(answers) {
                    let reply = match answer {
                        Answer::Stored(stored) => Ok(stored),
                        Answer::Conflict(indexes) => Err(WriteError::Conflict(indexes)),
                    };
                    self.finish(job, reply);
                }
            }
            Err(e) if is_unavailable(&e) => {
                self.health.write_failed(&e);
                tracing::warn!(error = %e, requests = group.len(), "ingest could not write to the database: {e}");
                let message = e.to_string();
                for job in group {
                    self.finish(job, Err(WriteError::Unavailable(message.clone())));
                }
            }
            // Something in one request broke the combined write: write them one by one, so
            // only that request fails.
            Err(_) if group.len() > 1 => {
                for job in group {
                    Box::pin(self.write_group(vec![job])).await;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "storing a request's events failed: {e}");
                if let Some(job) = group.into_iter().next() {
                    self.finish(job, Err(WriteError::Failed(e)));
                }
            }
        }
    }

    /// One try at writing the group: conflicts found first, then one transaction for every
    /// new event of the requests without conflicts.
    async fn attempt(&mut self, group: &[Job]) -> Result<Vec<Answer>, sqlx::Error> {
        let mut days = Vec::new();
        for job in group {
            days.extend(job.events.iter().map(|e| e.event.occurred_at.date_naive()));
        }
        self.partitions.ensure(&self.pool, days).await?;
        let conn = match &mut self.conn {
            Some(conn) => conn,
            None => self.conn.insert(self.pool.acquire().await?),
        };
        let result = write_on(conn, group).await;
        if result.is_err() {
            // After an error the connection's state is not certain enough to reuse it.
            if let Some(conn) = self.conn.take() {
                self.metrics.connections_closed.inc();
                let _ = tokio::time::timeout(Duration::from_secs(5), conn.close()).await;
            }
        }
        result
    }

    fn finish(&self, job: Job, reply: Reply) {
        self.queued.fetch_sub(job.events.len(), Ordering::AcqRel);
        // The request may be gone (client disconnected): its events are stored all the same.
        let _ = job.reply.send(reply);
    }
}

/// Classifies every event of the group against what is stored, then writes the new events of
/// the requests without conflicts in one transaction.
async fn write_on(conn: &mut sqlx::PgConnection, group: &[Job]) -> Result<Vec<Answer>, sqlx::Error> {
    let mut ids: Vec<Uuid> = Vec::new();
    for job in group {
        ids.extend(job.events.iter().map(|e| e.event.id));
    }
    let existing = stored_fingerprints(conn, &ids).await?;
    let mut answers = Vec::with_capacity(group.len());
    let mut fresh: Vec<&NewEvent> = Vec::new();
    for job in group {
        let mut stored = Vec::with_capacity(job.events.len());
        let mut conflicts = Vec::new();
        for (i, e) in job.events.iter().enumerate() {
            match existing.get(&e.event.id) {
                None => stored.push(Stored::New),
                Some(Some(fingerprint)) if *fingerprint == e.fingerprint => stored.push(Stored::Duplicate),
                Some(_) => conflicts.push(i),
            }
        }
        if conflicts.is_empty() {
            for (e, s) in job.events.iter().zip(&stored) {
                if *s == Stored::New {
                    fresh.push(e);
                }
            }
            answers.push(Answer::Stored(stored));
        } else {
            answers.push(Answer::Conflict(conflicts));
        }
    }
    if !fresh.is_empty() {
        write_new(conn, fresh.into_iter()).await?;
    }
    Ok(answers)
}

/// The next group: queued requests in order, up to [`MAX_GROUP_EVENTS`] (at least one
/// request), leaving for a later group any request that repeats an id of the group — it is
/// then classified against what the group stored.
fn take_group(waiting: &mut VecDeque<Job>) -> Vec<Job> {
    let mut group = Vec::new();
    let mut ids: HashSet<Uuid> = HashSet::new();
    let mut events = 0;
    let mut later = VecDeque::new();
    while let Some(job) = waiting.pop_front() {
        let fits = group.is_empty() || events + job.events.len() <= MAX_GROUP_EVENTS;
        if !fits {
            waiting.push_front(job);
            break;
        }
        if job.events.iter().any(|e| ids.contains(&e.event.id)) {
            later.push_back(job);
            continue;
        }
        ids.extend(job.events.iter().map(|e| e.event.id));
        events += job.events.len();
        group.push(job);
    }
    while let Some(job) = later.pop_back() {
        waiting.push_front(job);
    }
    group
}

fn is_unique_violation(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.code()).is_some_and(|code| code == "23505")
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::event::{Event, Outcome};

    fn job(ids: &[u128]) -> Job {
        let events = ids
            .iter()
            .map(|id| NewEvent {
                event: Event {
                    id: Uuid::from_u128(*id),
                    occurred_at: chrono::Utc::now(),
                    received_at: chrono::Utc::now(),
                    action: "a.b".into(),
                    outcome: Outcome::Success,
                    ..crate::test_support::sample_event()
                },
                fingerprint: vec![],
            })
            .collect();
        Job { events, reply: oneshot::channel().0 }
    }

    fn ids(group: &[Job]) -> Vec<Vec<u128>> {
        group.iter().map(|j| j.events.iter().map(|e| e.event.id.as_u128()).collect()).collect()
    }

    #[test]
    fn a_request_repeating_an_id_of_the_group_waits_for_the_next_one() {
        let mut waiting: VecDeque<Job> = [job(&[1, 2]), job(&[3]), job(&[2]), job(&[4])].into_iter().collect();
        assert_eq!(ids(&take_group(&mut waiting)), vec![vec![1, 2], vec![3], vec![4]]);
        assert_eq!(ids(&take_group(&mut waiting)), vec![vec![2]]);
        assert!(waiting.is_empty());
    }

    #[test]
    fn groups_stop_at_the_size_limit_but_take_at_least_one_request() {
        let big: Vec<u128> = (0..MAX_GROUP_EVENTS as u128 + 10).collect();
        let mut waiting: VecDeque<Job> = [job(&big), job(&[u128::MAX])].into_iter().collect();
        assert_eq!(take_group(&mut waiting).len(), 1);
        assert_eq!(ids(&take_group(&mut waiting)), vec![vec![u128::MAX]]);
    }
}
