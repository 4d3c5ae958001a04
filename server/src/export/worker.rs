//! Runs export jobs in the background. Every instance runs one worker; a job is claimed
//! through the database (`FOR UPDATE SKIP LOCKED`), so each runs on one instance at a time.
//! While it runs, the worker says so every few seconds; a job whose instance stopped saying
//! so (killed, restarted, cut off) is claimed again and starts over — its half-written
//! files are discarded, never offered. Finished files expire (hourly sweep).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Map, Value};
use sqlx::PgPool;
use tokio::sync::Notify;

use super::files::{describe, file_stem, ExportFiles, ZipOut};
use super::pipeline::{self, Priority};
use super::read::{self, Plan};
use super::{encoder, Encoder, ExportError, Format, Options};
use crate::store::exports::{self, ExportRow};

/// A job that has been started this many times without finishing is given up.
const MAX_ATTEMPTS: i32 = 3;
const HEARTBEAT: Duration = Duration::from_secs(2);
const IDLE_POLL: Duration = Duration::from_secs(5);
const SWEEP_EVERY: Duration = Duration::from_secs(3600);

pub struct Worker {
    pub pool: PgPool,
    pub files: ExportFiles,
    /// Names this instance in `claimed_by`.
    pub instance: String,
    /// Wakes the worker when a job is created on this instance.
    pub kick: Arc<Notify>,
}

impl Worker {
    pub fn new(pool: PgPool, files: ExportFiles, kick: Arc<Notify>) -> Worker {
        let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "auditorium".into());
        Worker { pool, files, instance: format!("{host}:{}:{}", std::process::id(), uuid::Uuid::new_v4().simple()), kick }
    }

    /// Forever: run jobs as they come, sweep expired files every hour.
    pub async fn run(self) {
        let mut next_sweep = tokio::time::Instant::now();
        loop {
            if tokio::time::Instant::now() >= next_sweep {
                if let Err(e) = self.sweep().await {
                    tracing::warn!(error = %e, "sweeping expired exports failed");
                }
                next_sweep = tokio::time::Instant::now() + SWEEP_EVERY;
            }
            match self.run_one().await {
                Ok(true) => continue,
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "claiming an export job failed"),
            }
            let _ = tokio::time::timeout(IDLE_POLL, self.kick.notified()).await;
        }
    }

    /// Claims and runs one job; false when none was waiting.
    pub async fn run_one(&self) -> Result<bool, sqlx::Error> {
        let Some(job) = exports::claim(&self.pool, &self.instance).await? else { return Ok(false) };
        let id = job.id;
        self.files.remove(id);
        if job.attempts > MAX_ATTEMPTS {
            let reason = format!("stopped {} times before finishing (the server was restarted or killed); create the export again", job.attempts - 1);
            exports::fail(&self.pool, id, &self.instance, &reason).await?;
            return Ok(true);
        }
        tracing::info!(export = %id, attempt = job.attempts, "export started");
        match self.export(&job).await {
            Ok(Some((rows, files))) => {
                let expires = Utc::now() + chrono::Duration::from_std(self.files.expiry).unwrap_or(chrono::Duration::days(7));
                if exports::finish(&self.pool, id, &self.instance, rows, &files, expires).await? {
                    tracing::info!(export = %id, rows, "export done");
                } else {
                    self.files.remove(id);
                }
            }
            Ok(None) => {
                // Deleted (or taken over) while running: its files go.
                tracing::info!(export = %id, "export stopped: deleted while it ran");
                self.files.remove(id);
            }
            Err(e) => {
                let reason = describe(&e);
                tracing::warn!(export = %id, error = %reason, "export failed");
                self.files.remove(id);
                exports::fail(&self.pool, id, &self.instance, &reason).await?;
            }
        }
        Ok(true)
    }

    /// Writes every format in one pass over the events. `None`: the job is no longer ours.
    async fn export(&self, job: &ExportRow) -> Result<Option<(i64, Value)>, ExportError> {
        let view = crate::explore::decode_strict(&job.view, &[]).map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))?.view;
        let plan = read::plan_view(&self.pool, &view, job.window_at, &super::jobs::scope_of(job))
            .await
            .map_err(|e| ExportError::Io(std::io::Error::other(e.to_string())))?;
        let formats: Vec<Format> = job.formats.iter().filter_map(|f| Format::parse(f)).collect();
        let stem = file_stem(&job.name);
        let scratch = self.files.scratch()?;
        let mut outputs = Vec::new();
        for format in &formats {
            let out = ZipOut::create(&self.files, job.id, *format, &stem)?;
            outputs.push((*format, encoder(*format, &plan.columns, Options::default(), &scratch)?, out));
        }
        let done = Arc::new(AtomicU64::new(0));
        let total = match tokio::time::timeout(Duration::from_secs(30), read::count(&self.pool, &plan)).await {
            Ok(Ok(n)) => i64::try_from(n).ok(),
            _ => None,
        };
        if !exports::heartbeat(&self.pool, job.id, &self.instance, 0, total).await? {
            return Ok(None);
        }
        let alive = tokio::spawn(keep_alive(self.pool.clone(), job.id, self.instance.clone(), done.clone(), total));
        let written = write_all(&self.pool, &plan, outputs, done.clone(), &alive).await;
        let result = match written {
            Ok(Some(outputs)) => finish_all(outputs).await.map(|files| Some((i64::try_from(done.load(Ordering::Relaxed)).unwrap_or(i64::MAX), files))),
            Ok(None) => Ok(None),
            Err(e) => Err(e),
        };
        let still_ours = !alive.is_finished();
        alive.abort();
        match result {
            Ok(Some(_)) if !still_ours => Ok(None),
            other => other,
        }
    }

    /// Removes expired jobs and their files, and files no job lists any more.
    pub async fn sweep(&self) -> Result<usize, sqlx::Error> {
        let expired = exports::take_expired(&self.pool, Utc::now()).await?;
        for id in &expired {
            self.files.remove(*id);
        }
        let listed = exports::ids(&self.pool).await?;
        for id in self.files.leftovers(&listed) {
            self.files.remove(id);
        }
        if !expired.is_empty() {
            tracing::info!(count = expired.len(), "expired exports removed");
        }
        Ok(expired.len())
    }
}

type Output = (Format, Box<dyn Encoder>, ZipOut);

/// Reads the events chunk by chunk into every output (encoded and compressed on a background
/// thread, see `pipeline`); `None` when the job stopped being ours.
async fn write_all(pool: &PgPool, plan: &Plan, outputs: Vec<Output>, done: Arc<AtomicU64>, alive: &tokio::task::JoinHandle<()>) -> Result<Option<Vec<Output>>, ExportError> {
    let encode = move |outputs: &mut Vec<Output>, events: Vec<app::event::Event>| {
        for (_, encoder, out) in outputs.iter_mut() {
            for event in &events {
                encoder.event(event)?;
            }
            encoder.drain(out.writer())?;
        }
        done.fetch_add(events.len() as u64, Ordering::Relaxed);
        Ok(())
    };
    let (outputs, complete) = pipeline::run(pool, plan, Priority::Background, outputs, encode, || alive.is_finished()).await?;
    Ok(complete.then_some(outputs))
}

/// Completes every ZIP (the workbook is written here) on a background thread.
async fn finish_all(outputs: Vec<Output>) -> Result<Value, ExportError> {
    pipeline::in_background(move || {
        let mut files = Map::new();
        for (format, encoder, mut out) in outputs {
            encoder.finish(out.writer())?;
            let (bytes, sha256) = out.complete()?;
            files.insert(format.as_str().into(), json!({ "bytes": bytes, "sha256": sha256 }));
        }
        Ok(Value::Object(files))
    })
    .await
}

/// Says "still running, N rows done" until the job is no longer ours (then it returns, which
/// the writer notices).
async fn keep_alive(pool: PgPool, id: uuid::Uuid, instance: String, done: Arc<AtomicU64>, total: Option<i64>) {
    loop {
        tokio::time::sleep(HEARTBEAT).await;
        let rows = i64::try_from(done.load(Ordering::Relaxed)).unwrap_or(i64::MAX);
        match exports::heartbeat(&pool, id, &instance, rows, total).await {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => tracing::warn!(export = %id, error = %e, "export heartbeat failed"),
        }
    }
}
