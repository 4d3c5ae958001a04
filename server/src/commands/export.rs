//! `auditorium export [--format F] [--output FILE] '<view>'`: the whole view, read in chunks
//! like the API's download, with a progress bar on the terminal. Recorded in Auditorium's own
//! log as an export by the command line.

use std::io::{BufWriter, IsTerminal, Write};

use app::query::Scope;
use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use sqlx::PgPool;

use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::config::ExportArgs;
use crate::export::{encoder, read, Format, Options};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A page link or its query string → the query string.
fn query_of(view: &str) -> &str {
    view.split_once('?').map_or(view, |(_, q)| q).split('#').next().unwrap_or("")
}

pub async fn run(pool: &PgPool, args: ExportArgs) -> Result<(), BoxError> {
    let format = Format::parse(&args.format).ok_or_else(|| format!("--format must be csv, ndjson, cef or xlsx, not {:?}", args.format))?;
    if format == Format::Xlsx && args.output.is_none() && std::io::stdout().is_terminal() {
        return Err("an XLSX workbook is binary: give --output FILE or redirect standard output".into());
    }
    let query = query_of(&args.view);
    let (plan, _) = read::plan(pool, query, &[], Utc::now(), &Scope::All).await.map_err(|e| e.to_string())?;
    let total = read::count(pool, &plan).await.ok();
    let bar = progress(total);
    let scratch = std::env::temp_dir();
    let mut out: Box<dyn Write + Send> = match &args.output {
        Some(path) => Box::new(BufWriter::new(std::fs::File::create(path).map_err(|e| format!("cannot create {}: {e}", path.display()))?)),
        None => Box::new(BufWriter::new(std::io::stdout())),
    };
    let mut encoder = encoder(format, &plan.columns, Options { bom: args.bom }, &scratch)?;
    let started = std::time::Instant::now();
    let (mut rows, mut after) = (0u64, None);
    loop {
        let (events, next) = read::chunk(pool, &plan, after).await?;
        for event in &events {
            encoder.event(event)?;
        }
        encoder.drain(&mut *out)?;
        rows += events.len() as u64;
        bar.set_position(rows);
        match next {
            Some(cursor) => after = Some(cursor),
            None => break,
        }
    }
    if format == Format::Xlsx {
        bar.set_message("writing the workbook…");
    }
    encoder.finish(&mut *out)?;
    out.flush()?;
    bar.finish_and_clear();
    let entry = Entry::new("auditorium.export.downloaded", Actor::command_line(), Origin::default())
        .note("format", json!(format.as_str()))
        .note("view", json!(query))
        .note("rows", json!(rows));
    audit::record(pool, &entry).await?;
    let secs = started.elapsed().as_secs_f64();
    let place = args.output.as_ref().map_or("standard output".to_string(), |p| p.display().to_string());
    eprintln!("Exported {rows} events as {} to {place} in {secs:.1} s ({:.0} events/s).", format.as_str(), rows as f64 / secs.max(0.001));
    Ok(())
}

/// A bar when the total is known, a counter otherwise; hidden when stderr is not a terminal.
pub fn progress(total: Option<u64>) -> ProgressBar {
    let bar = match total {
        Some(n) => ProgressBar::new(n).with_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {percent:>3}%  {human_pos}/{human_len} events  {per_sec}  ETA {eta}  {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        ),
        None => ProgressBar::new_spinner().with_style(
            ProgressStyle::with_template("{spinner} {human_pos} events  {per_sec}  {msg}").unwrap_or_else(|_| ProgressStyle::default_spinner()),
        ),
    };
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_query_strings_both_work() {
        assert_eq!(query_of("http://host/?range=7d&action=a#x"), "range=7d&action=a");
        assert_eq!(query_of("range=7d"), "range=7d");
        assert_eq!(query_of(""), "");
    }
}
