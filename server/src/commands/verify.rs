//! `auditorium verify` and `auditorium integrity key|checkpoint`.

use std::path::Path;
use std::time::Instant;

use sqlx::PgPool;

use crate::config::{IntegrityCommand, VerifyArgs};
use crate::integrity::chain::{self, Anchor, Range};
use crate::integrity::checkpoint::{self, Checkpoint};
use crate::BoxError;

/// Prints what differs; an error (non-zero exit) when anything does.
pub async fn verify(pool: &PgPool, data_dir: &Path, args: VerifyArgs) -> Result<(), BoxError> {
    let own_key = checkpoint::load(data_dir)?.map(|k| k.verifying_key());
    let mut anchors = Vec::new();
    let mut problems = Vec::new();
    // Checkpoints handed in by the auditor: signature first, then the chain must reach them.
    for path in &args.checkpoints {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| format!("{} is not a checkpoint: {e}", path.display()))?;
        if let Err(why) = cp.check(own_key.as_ref()) {
            problems.push(format!("checkpoint {}: {why}", path.display()));
            continue;
        }
        anchors.push(Anchor { seq: cp.seq, digest: cp.digest_bytes().ok_or("the checkpoint's digest is not hex")? });
    }
    // And those stored by the server (signed by this instance's key).
    for cp in checkpoint::stored(pool, 0).await? {
        match cp.check(own_key.as_ref()) {
            Ok(()) => anchors.extend(cp.digest_bytes().map(|digest| Anchor { seq: cp.seq, digest })),
            Err(why) if own_key.is_some() => problems.push(format!("stored checkpoint at position {}: {why}", cp.seq)),
            Err(_) => {}
        }
    }
    let started = Instant::now();
    let range = Range { from: args.from, to: args.to, after: None, find_inserted: true };
    let report = chain::verify(pool, &range, &anchors).await?;
    let seconds = started.elapsed().as_secs_f64();
    if args.json {
        println!("{}", serde_json::json!({ "intact": report.intact() && problems.is_empty(), "report": report, "checkpoint_problems": problems, "seconds": seconds }));
    } else {
        for finding in &report.findings {
            println!("{finding}");
        }
        for problem in &problems {
            println!("{problem}");
        }
        let rate = report.events as f64 / seconds.max(1e-9);
        println!(
            "Checked {} events in {} batches ({} removed by retention), {} checkpoint(s), up to {}, in {seconds:.1} s ({rate:.0} events/s).",
            report.events,
            report.batches,
            report.retired_batches,
            report.anchors_checked,
            report.verified_upto.map_or("the start".into(), |t| t.to_rfc3339()),
        );
    }
    let n = report.findings.len() + problems.len();
    if n > 0 {
        return Err(format!("the audit log is NOT intact: {n} problem(s)").into());
    }
    if !args.json {
        println!("The audit log is intact.");
    }
    Ok(())
}

pub async fn integrity(pool: &PgPool, data_dir: &Path, command: IntegrityCommand) -> Result<(), BoxError> {
    let key = checkpoint::load_or_create(data_dir)?;
    match command {
        IntegrityCommand::Key => {
            println!("{}", checkpoint::public_key_text(&key.verifying_key()));
            eprintln!("(private key: {})", checkpoint::key_path(data_dir).display());
        }
        IntegrityCommand::Checkpoint { output } => {
            checkpoint::make(pool, &key).await?;
            let latest = checkpoint::stored(pool, 0).await?.pop().ok_or("nothing has been written yet: no checkpoint to sign")?;
            let json = serde_json::to_string_pretty(&latest)?;
            match output {
                Some(path) => {
                    std::fs::write(&path, format!("{json}\n")).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
                    eprintln!("Checkpoint at position {} written to {}.", latest.seq, path.display());
                }
                None => println!("{json}"),
            }
        }
    }
    Ok(())
}
