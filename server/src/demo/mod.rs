//! `auditorium demo`: sample events through the real ingest path, and a live trickle.

mod cast;
mod catalog;
mod generate;

use std::time::Duration;

use chrono::Utc;
use rand::{Rng, SeedableRng};
pub use generate::Generator;

use crate::ingest::{ingest, IngestError, Ingestor};

/// Stores about `count` events spread over the last `days` days; returns how many.
pub async fn seed(ingestor: &Ingestor, count: u64, days: u32, seed: u64) -> Result<usize, IngestError> {
    let to = Utc::now();
    let from = to - chrono::Duration::days(i64::from(days));
    let mut generator = Generator::new(seed, from, to);
    let events = generator.events_between(from, to, count);
    let started = std::time::Instant::now();
    for (i, batch) in events.chunks(1000).enumerate() {
        ingest(ingestor, batch).await?;
        if i % 10 == 9 {
            let stored = ((i + 1) * 1000).min(events.len());
            tracing::info!(stored, total = events.len(), "demo data: {stored} of {} events", events.len());
        }
    }
    tracing::info!(events = events.len(), seconds = started.elapsed().as_secs_f32(), "demo data stored");
    Ok(events.len())
}

/// Emits about `rate` events per second, as they happen, until cancelled.
pub async fn live(ingestor: &Ingestor, rate: f64, seed: u64) -> Result<(), IngestError> {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let now = Utc::now();
    let mut generator = Generator::new(seed ^ 0x5eed, now - chrono::Duration::days(1), now);
    let tick = Duration::from_millis(500);
    let mut interval = tokio::time::interval(tick);
    let mut total = 0usize;
    loop {
        interval.tick().await;
        let expected = rate * tick.as_secs_f64();
        // Poisson-ish: whole part plus a chance for one more.
        let requests = expected.floor() as usize + usize::from(rng.random::<f64>() < expected.fract());
        let now = Utc::now();
        let events: Vec<serde_json::Value> = (0..requests).flat_map(|_| generator.request_at(now, now)).collect();
        if events.is_empty() {
            continue;
        }
        ingest(ingestor, &events).await?;
        total += events.len();
        tracing::debug!(total, "live demo: {} events so far", total);
    }
}
