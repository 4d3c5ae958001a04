//! The hub's buffer of recently committed batches, shared by every socket of the instance and
//! bounded in **bytes**, not in batches: a burst of large events cannot make it grow past its
//! budget. A socket reads the batches after its cursor; one that falls behind the oldest
//! buffered batch learns it ([`Next::Lagged`]) and reads what it missed from the database.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;

use super::hub::Batch;

pub enum Next {
    Batch(Batch),
    /// Batches after the cursor were dropped from the buffer; the cursor now points at the
    /// newest one.
    Lagged,
    /// The server is shutting down.
    Closed,
}

pub struct Ring {
    state: Mutex<State>,
    notify: Notify,
    budget: usize,
    readers: AtomicUsize,
}

struct State {
    batches: VecDeque<Batch>,
    /// The sequence number of `batches[0]`.
    first: u64,
    bytes: usize,
    closed: bool,
}

impl Ring {
    /// A ring holding at most `budget` bytes of batches (and always the newest one).
    pub fn new(budget: usize) -> Ring {
        Ring {
            state: Mutex::new(State { batches: VecDeque::new(), first: 0, bytes: 0, closed: false }),
            notify: Notify::new(),
            budget,
            readers: AtomicUsize::new(0),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Adds the newest batch, dropping the oldest ones past the budget, and wakes the readers.
    pub fn push(&self, batch: Batch) {
        {
            let mut state = self.state();
            state.batches.push_back(batch);
            // Batches grow a little after they are pushed (each caches the messages it built),
            // so the total is summed afresh.
            state.bytes = state.batches.iter().map(|b| b.bytes()).sum();
            while state.bytes > self.budget && state.batches.len() > 1 {
                if let Some(old) = state.batches.pop_front() {
                    state.bytes -= old.bytes();
                    state.first += 1;
                }
            }
        }
        self.notify.notify_waiters();
    }

    /// Bytes held now.
    pub fn bytes(&self) -> usize {
        self.state().bytes
    }

    /// A reader starting after the newest batch.
    pub fn reader(self: &Arc<Self>) -> Reader {
        let state = self.state();
        self.readers.fetch_add(1, Ordering::AcqRel);
        Reader { ring: self.clone(), next: state.first + state.batches.len() as u64 }
    }

    /// How many readers exist (sockets tailing).
    pub fn readers(&self) -> usize {
        self.readers.load(Ordering::Acquire)
    }

    /// Wakes every reader with [`Next::Closed`].
    pub fn close(&self) {
        self.state().closed = true;
        self.notify.notify_waiters();
    }
}

/// One socket's place in the ring. Holds no batch itself: memory stays with the ring.
pub struct Reader {
    ring: Arc<Ring>,
    next: u64,
}

impl Reader {
    /// The next batch, waiting for it if needed.
    pub async fn next(&mut self) -> Next {
        loop {
            let notified = self.ring.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let state = self.ring.state();
                if state.closed {
                    return Next::Closed;
                }
                let end = state.first + state.batches.len() as u64;
                if self.next < state.first {
                    self.next = end;
                    return Next::Lagged;
                }
                if let Some(batch) = state.batches.get(usize::try_from(self.next - state.first).unwrap_or(usize::MAX)) {
                    self.next += 1;
                    return Next::Batch(batch.clone());
                }
            }
            notified.await;
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.ring.readers.fetch_sub(1, Ordering::AcqRel);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::hub::{LiveBatch, LiveEvent};

    fn batch(position: i64, payload: usize) -> Batch {
        let mut event: app::event::Event = serde_json::from_value(serde_json::json!({
            "id": "0192e4a0-7b1c-7cde-8f00-1234567890ab", "occurred_at": "2026-11-21T10:00:00Z",
            "received_at": "2026-11-21T10:00:01Z", "action": "a.b",
            "actor": {"id": "u", "name": "U", "type": "user"}, "outcome": "success", "context": {}
        }))
        .expect("event");
        event.error = Some("x".repeat(payload));
        Arc::new(LiveBatch::new(vec![Arc::new(LiveEvent::new(position, event))]))
    }

    #[tokio::test]
    async fn readers_get_every_batch_in_order() {
        let ring = Arc::new(Ring::new(1 << 20));
        let mut reader = ring.reader();
        ring.push(batch(1, 10));
        ring.push(batch(2, 10));
        for expected in [1, 2] {
            let Next::Batch(b) = reader.next().await else { panic!("a batch") };
            assert_eq!(b.last_position(), Some(expected));
        }
        let waiting = tokio::spawn(async move { matches!(reader.next().await, Next::Batch(b) if b.last_position() == Some(3)) });
        tokio::task::yield_now().await;
        ring.push(batch(3, 10));
        assert!(waiting.await.expect("join"));
    }

    #[tokio::test]
    async fn the_budget_holds_and_a_slow_reader_learns_it_lagged() {
        let ring = Arc::new(Ring::new(100_000));
        let mut slow = ring.reader();
        for position in 1..=100 {
            ring.push(batch(position, 10_000));
            assert!(ring.bytes() <= 100_000 + 20_000, "{} bytes held", ring.bytes());
        }
        assert!(matches!(slow.next().await, Next::Lagged));
        // After lagging it continues with what is pushed next.
        ring.push(batch(101, 10));
        assert!(matches!(slow.next().await, Next::Batch(b) if b.last_position() == Some(101)));
        assert_eq!(ring.readers(), 1);
        drop(slow);
        assert_eq!(ring.readers(), 0);
        ring.close();
        assert!(matches!(ring.reader().next().await, Next::Closed));
    }
}
