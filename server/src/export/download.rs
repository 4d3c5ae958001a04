//! Instant downloads: the whole view, encoded as it is read. A task of its own reads chunk
//! after chunk and hands the bytes to the response through a small channel, so memory stays
//! flat, a slow client slows the reading (not the server), and a client that goes away
//! stops it between two queries — never in the middle of one. If reading fails half-way
//! the response is cut off (not ended cleanly), so a truncated file cannot pass for whole.

use std::io::Write;

use axum::body::Bytes;
use sqlx::PgPool;
use tokio::sync::mpsc;

use super::pipeline::{self, Priority};
use super::read::Plan;
use super::{encoder, Encoder, Format, Options};

pub type Chunk = Result<Bytes, std::io::Error>;

/// Starts reading; the receiver yields the file.
pub fn start(pool: PgPool, plan: Plan, format: Format, options: Options, scratch: std::path::PathBuf) -> mpsc::Receiver<Chunk> {
    let (tx, rx) = mpsc::channel::<Chunk>(4);
    tokio::spawn(async move {
        if let Err(e) = produce(&pool, &plan, format, options, &scratch, &tx).await {
            tracing::warn!(error = %e, format = format.as_str(), "an export download stopped half-way");
            let _ = tx.send(Err(std::io::Error::other(e))).await;
        }
    });
    rx
}

async fn produce(pool: &PgPool, plan: &Plan, format: Format, options: Options, scratch: &std::path::Path, tx: &mpsc::Sender<Chunk>) -> Result<(), super::ExportError> {
    let encoder = encoder(format, &plan.columns, options, scratch)?;
    let out = Sender { tx: tx.clone(), buffer: Vec::with_capacity(1 << 16) };
    // Encoded on a thread of its own while the next chunk is read (see `pipeline`).
    let encode = |(encoder, out): &mut (Box<dyn Encoder>, Sender), events: Vec<app::event::Event>| {
        for event in &events {
            encoder.event(event)?;
        }
        encoder.drain(out)
    };
    let (encoder, mut out) = match pipeline::run(pool, plan, Priority::Interactive, (encoder, out), encode, || false).await {
        Ok((state, _)) => state,
        Err(e) if client_gone(&e) => return Ok(()),
        Err(e) => return Err(e),
    };
    // The rest (for XLSX, the whole workbook) is written off the async threads.
    let finished = tokio::task::spawn_blocking(move || -> Result<(), super::ExportError> {
        encoder.finish(&mut out)?;
        Ok(out.flush()?)
    })
    .await
    .map_err(|e| super::ExportError::Io(std::io::Error::other(e)))?;
    match finished {
        Err(e) if !client_gone(&e) => Err(e),
        _ => Ok(()),
    }
}

/// Whether writing failed because the client went away (not worth a warning).
fn client_gone(e: &super::ExportError) -> bool {
    matches!(e, super::ExportError::Io(io) if io.kind() == std::io::ErrorKind::BrokenPipe)
}

/// A blocking writer into the response channel.
struct Sender {
    tx: mpsc::Sender<Chunk>,
    buffer: Vec<u8>,
}

impl Write for Sender {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.buffer.extend_from_slice(data);
        if self.buffer.len() >= 1 << 16 {
            self.flush()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let bytes = Bytes::from(std::mem::take(&mut self.buffer));
        self.tx.blocking_send(Ok(bytes)).map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// `Content-Disposition` for a download named `stem.ext` (an ASCII fallback and the UTF-8 name).
pub fn attachment(file_name: &str) -> String {
    let ascii: String = file_name.chars().map(|c| if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') { c } else { '_' }).collect();
    let encoded = percent_encoding::utf8_percent_encode(file_name, percent_encoding::NON_ALPHANUMERIC);
    format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attachment_names_are_quoted_safely() {
        assert_eq!(attachment("a b\".csv"), "attachment; filename=\"a_b_.csv\"; filename*=UTF-8''a%20b%22%2Ecsv");
        assert!(attachment("Prüfung.zip").starts_with("attachment; filename=\"Pr_fung.zip\"; filename*=UTF-8''Pr%C3%BCfung%2Ezip"));
    }
}
