//! Telling "the database cannot serve right now" (retry later: 503) from everything else, and
//! remembering whether writes are currently failing (for `/readyz`).

use std::future::Future;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Whether `e` means the database is unreachable or cannot take the work right now —
/// a condition a client should retry after, never its own fault.
pub fn is_unavailable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::Protocol(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => true,
        sqlx::Error::Database(d) => d.code().is_some_and(|code| is_unavailable_code(&code)),
        _ => false,
    }
}

/// SQLSTATEs of a database that is down, restarting, out of resources (disk full, memory,
/// connections) or asks for a retry (serialisation failure, deadlock).
fn is_unavailable_code(code: &str) -> bool {
    code.starts_with("08") // connection exception
        || code.starts_with("53") // insufficient resources: disk full, out of memory, too many connections
        || code.starts_with("57P") // admin shutdown, crash shutdown, cannot connect now
        || code.starts_with("58") // system error: I/O error
        || code == "40001" // serialization_failure
        || code == "40P01" // deadlock_detected
}

/// Runs database work in a task of its own: the request that asked for it may go away (the
/// client disconnected, a timeout fired) without cancelling a query halfway.
pub async fn detached<T: Send + 'static>(work: impl Future<Output = T> + Send + 'static) -> Option<T> {
    tokio::spawn(work).await.ok()
}

/// Whether writes currently fail for a reason of the database's (disk full, down): the
/// ingest writer reports each write; `/readyz` asks.
#[derive(Debug, Default)]
pub struct Health {
    state: Mutex<HealthState>,
}

#[derive(Debug, Default)]
struct HealthState {
    last_success: Option<Instant>,
    last_failure: Option<(Instant, String)>,
}

/// A write failure older than this without a later success no longer counts.
const FAILURE_MEMORY: Duration = Duration::from_secs(60);

impl Health {
    pub fn write_succeeded(&self) {
        self.state.lock().unwrap_or_else(|e| e.into_inner()).last_success = Some(Instant::now());
    }

    pub fn write_failed(&self, e: &sqlx::Error) {
        let reason = match e.as_database_error() {
            Some(d) => d.message().to_string(),
            None => e.to_string(),
        };
        self.state.lock().unwrap_or_else(|e| e.into_inner()).last_failure = Some((Instant::now(), reason));
    }

    /// Why writes are failing, if the last write failed (recently) and none succeeded since.
    pub fn write_problem(&self) -> Option<String> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (failed_at, reason) = state.last_failure.as_ref()?;
        let recovered = state.last_success.is_some_and(|ok| ok > *failed_at);
        (!recovered && failed_at.elapsed() < FAILURE_MEMORY).then(|| reason.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outages_are_unavailable_and_bugs_are_not() {
        assert!(is_unavailable(&sqlx::Error::PoolTimedOut));
        assert!(is_unavailable(&sqlx::Error::Io(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))));
        for code in ["08006", "53100", "57P01", "57P03", "58030", "40001"] {
            assert!(is_unavailable_code(code), "{code}");
        }
        for code in ["23505", "22P02", "42601", "XX000"] {
            assert!(!is_unavailable_code(code), "{code}");
        }
        assert!(!is_unavailable(&sqlx::Error::RowNotFound));
    }

    #[test]
    fn a_success_after_a_failure_heals() {
        let health = Health::default();
        assert_eq!(health.write_problem(), None);
        health.write_failed(&sqlx::Error::PoolTimedOut);
        assert!(health.write_problem().is_some());
        health.write_succeeded();
        assert_eq!(health.write_problem(), None);
    }
}
