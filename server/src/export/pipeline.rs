//! Reading and encoding side by side. The async side reads the next chunk of events while a
//! thread of its own encodes (and, for jobs, compresses) the previous one, so the database
//! and the encoder work at the same time. Encoding is CPU work: on the async threads it would
//! hold up every other request; on its own thread the kernel shares the cores, and a
//! background job's thread runs at a lower priority, so people using the page come first.

use app::event::Event;
use sqlx::PgPool;

use super::read::{self, Plan};
use super::ExportError;

/// Chunks read ahead of the encoder (each is [`read::CHUNK`] events).
const AHEAD: usize = 2;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Priority {
    /// Someone is waiting for the download.
    Interactive,
    /// An export job: yields the CPU to requests.
    Background,
}

/// Feeds every event of `plan`, chunk by chunk and in order, to `encode` on a thread of its
/// own, and answers the encoder's state when done, with `true` when every event was read
/// (`false`: `stop` said to stop, checked between chunks). A query is never cut off half-way.
/// The encoder's error (a full disk, a client gone) wins over a reading error.
pub async fn run<S, E>(pool: &PgPool, plan: &Plan, priority: Priority, state: S, mut encode: E, stop: impl Fn() -> bool) -> Result<(S, bool), ExportError>
where
    S: Send + 'static,
    E: FnMut(&mut S, Vec<Event>) -> Result<(), ExportError> + Send + 'static,
{
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Event>>(AHEAD);
    let encoder = std::thread::Builder::new().name("auditorium-export".into()).spawn(move || {
        if priority == Priority::Background {
            lower_priority();
        }
        let mut state = state;
        while let Some(events) = rx.blocking_recv() {
            encode(&mut state, events)?;
        }
        Ok::<S, ExportError>(state)
    })?;
    let reading: Result<bool, sqlx::Error> = async {
        let mut after = None;
        loop {
            if stop() {
                return Ok(false);
            }
            let (events, next) = read::chunk(pool, plan, after).await?;
            if tx.send(events).await.is_err() {
                return Ok(true); // the encoder stopped: its error says why
            }
            match next {
                Some(cursor) => after = Some(cursor),
                None => return Ok(true),
            }
        }
    }
    .await;
    drop(tx);
    let state = joined(encoder).await??;
    let complete = reading?;
    Ok((state, complete))
}

/// Runs `work` on a thread of its own at background priority (finishing a job's files) and
/// waits for it without holding an async thread.
pub async fn in_background<T: Send + 'static>(work: impl FnOnce() -> Result<T, ExportError> + Send + 'static) -> Result<T, ExportError> {
    let thread = std::thread::Builder::new().name("auditorium-export".into()).spawn(move || {
        lower_priority();
        work()
    })?;
    joined(thread).await?
}

async fn joined<T: Send + 'static>(thread: std::thread::JoinHandle<T>) -> Result<T, ExportError> {
    tokio::task::spawn_blocking(move || thread.join())
        .await
        .map_err(|e| ExportError::Io(std::io::Error::other(e)))?
        .map_err(|_| ExportError::Io(std::io::Error::other("the export's encoder stopped unexpectedly")))
}

/// The lowest priority of the normal scheduler (nice 19 on Linux, where it is per thread)
/// for the calling thread: under load the kernel gives requests' threads the cores first;
/// alone, the job still has them all. Not being allowed to is no reason to fail the job.
fn lower_priority() {
    if let Err(e) = thread_priority::set_current_thread_priority(thread_priority::ThreadPriority::Min) {
        tracing::debug!(error = ?e, "could not lower the export thread's priority");
    }
}
