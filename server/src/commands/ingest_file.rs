//! `auditorium ingest FILE.ndjson`: a backfill through the API's validation, batch by batch.
//! A bad line stops the load with its line number; batches before it stay stored.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::time::Instant;

use serde_json::Value;

use crate::ingest::{ingest, IngestError, Ingestor};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(ingestor: &Ingestor, file: &Path, batch_size: usize) -> Result<(), BoxError> {
    let batch_size = batch_size.clamp(1, crate::ingest::body::MAX_BATCH);
    let total_bytes = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0).max(1);
    let reader = BufReader::new(std::fs::File::open(file).map_err(|e| format!("cannot open {}: {e}", file.display()))?);
    let started = Instant::now();
    let (mut stored, mut duplicates, mut read_bytes) = (0usize, 0usize, 0u64);
    let mut batch: Vec<Value> = Vec::with_capacity(batch_size);
    let mut batch_first_line = 1;
    let bar = indicatif::ProgressBar::new(total_bytes).with_style(
        indicatif::ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}%  {binary_bytes}/{binary_total_bytes}  ETA {eta}  {msg}")
            .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
    );
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    let mut lines = reader.lines().enumerate().peekable();
    while let Some((number, line)) = lines.next() {
        let line = line?;
        read_bytes += line.len() as u64 + 1;
        if !line.trim().is_empty() {
            if batch.is_empty() {
                batch_first_line = number + 1;
            }
            let value = serde_json::from_str(&line).map_err(|e| format!("line {}: malformed JSON at column {}: {e}", number + 1, e.column()))?;
            batch.push(value);
        }
        if batch.len() == batch_size || (lines.peek().is_none() && !batch.is_empty()) {
            let results = ingest(ingestor, &batch).await.map_err(|e| describe(e, batch_first_line))?;
            let new = results.iter().filter(|r| r.status == "stored").count();
            stored += new;
            duplicates += results.len() - new;
            batch.clear();
            bar.set_position(read_bytes);
            bar.set_message(format!("{stored} stored, {duplicates} duplicates"));
        }
    }
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    println!(
        "Stored {stored} events ({duplicates} duplicates skipped) from {} in {secs:.1} s ({:.0} events/s).",
        file.display(),
        (stored + duplicates) as f64 / secs.max(0.001)
    );
    Ok(())
}

/// Turns item indexes of a batch into file line numbers (blank lines aside).
fn describe(e: IngestError, first_line: usize) -> BoxError {
    match e {
        IngestError::Invalid(details) | IngestError::Conflict(details) => {
            let lines: Vec<String> = details
                .iter()
                .map(|d| format!("item {} of the batch starting at line {first_line}: {}: {}", d.index.unwrap_or(0), d.field.clone().unwrap_or_default(), d.message))
                .collect();
            format!("nothing from this batch was stored:\n  {}", lines.join("\n  ")).into()
        }
        IngestError::Write(e) => e.into(),
    }
}
