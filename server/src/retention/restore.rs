//! `auditorium archive restore FILE`: an archived day back into the log, through the API's
//! validation and the ingest writer, idempotently and in its original order.

use std::io::{BufReader, Read};
use std::path::Path;

use chrono::{DateTime, Utc};
use flate2::read::MultiGzDecoder;
use serde_json::Value;
use sha2::{Digest, Sha256};
use sqlx::PgPool;
use uuid::Uuid;

use super::archive::{check, read_manifest, ArchiveError};
use crate::ingest::validate::validate_event;
use crate::ingest::writer::{Ingestor, WriteError, MAX_GROUP_EVENTS};
use crate::integrity::checkpoint::{hex, unhex};
use crate::store::write::{NewEvent, Stored};

#[derive(Debug, Default, PartialEq, Eq)]
pub struct Restored {
    pub events: u64,
    pub new: u64,
    pub duplicates: u64,
    /// The restored events, in their new position order, hash to the manifest's digest.
    pub digest_matches: bool,
}

/// Puts the archived day back through the ingest writer, keeping the events' order: each
/// write holds a run of events already in the order the database assigns positions in
/// (time, id), and writes go one after the other. Events stored already are duplicates
/// (idempotent).
pub async fn restore(pool: &PgPool, ingestor: &Ingestor, file: &Path) -> Result<Restored, ArchiveError> {
    let manifest = read_manifest(file)?;
    let path = file.to_path_buf();
    let checked = manifest.clone();
    let events = tokio::task::spawn_blocking(move || -> Result<Vec<NewEvent>, ArchiveError> {
        check(&path, &checked)?;
        let bytes = std::fs::read(&path).map_err(|e| ArchiveError::Io(path.clone(), e))?;
        let mut events = Vec::new();
        let mut reader = BufReader::new(MultiGzDecoder::new(&bytes[..]));
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(|e| ArchiveError::Corrupt(path.clone(), e.to_string()))?;
        for (i, line) in text.lines().enumerate() {
            events.push(parse_line(i, line).map_err(|why| ArchiveError::Corrupt(path.clone(), why))?);
        }
        Ok(events)
    })
    .await
    .map_err(|e| ArchiveError::Write(e.to_string()))??;
    let mut restored = Restored { events: events.len() as u64, ..Restored::default() };
    let ids: Vec<Uuid> = events.iter().map(|e| e.event.id).collect();
    let mut run: Vec<NewEvent> = Vec::new();
    for event in events {
        let ordered = run.last().is_none_or(|p: &NewEvent| (p.event.occurred_at, p.event.id) < (event.event.occurred_at, event.event.id));
        if !ordered || run.len() == MAX_GROUP_EVENTS {
            write_run(ingestor, std::mem::take(&mut run), &mut restored).await?;
        }
        run.push(event);
    }
    write_run(ingestor, run, &mut restored).await?;
    let hashes: Vec<Vec<u8>> = sqlx::query_scalar("SELECT hash FROM event_positions WHERE id = ANY($1) ORDER BY seq").bind(&ids).fetch_all(pool).await?;
    let mut content = Sha256::new();
    for hash in &hashes {
        content.update(hash);
    }
    restored.digest_matches = hashes.len() as u64 == manifest.events && hex(&content.finalize()) == manifest.integrity_digest;
    Ok(restored)
}

async fn write_run(ingestor: &Ingestor, run: Vec<NewEvent>, restored: &mut Restored) -> Result<(), ArchiveError> {
    if run.is_empty() {
        return Ok(());
    }
    match ingestor.write(run).await {
        Ok(stored) => {
            for s in stored {
                match s {
                    Stored::New => restored.new += 1,
                    Stored::Duplicate => restored.duplicates += 1,
                }
            }
            Ok(())
        }
        Err(WriteError::Conflict(indexes)) => Err(ArchiveError::Write(format!("{} event(s) exist already with other content", indexes.len()))),
        Err(e) => Err(ArchiveError::Write(e.to_string())),
    }
}

/// One archived line back to a validated event with its original fingerprint.
fn parse_line(index: usize, line: &str) -> Result<NewEvent, String> {
    let mut value: Value = serde_json::from_str(line).map_err(|e| format!("line {}: {e}", index + 1))?;
    let object = value.as_object_mut().ok_or_else(|| format!("line {} is not an object", index + 1))?;
    object.remove("position");
    let fingerprint = object.remove("fingerprint").and_then(|f| f.as_str().and_then(unhex)).ok_or_else(|| format!("line {} has no fingerprint", index + 1))?;
    // Set by the server when it first received the event: kept, not sent again.
    let received_at = object
        .remove("received_at")
        .as_ref()
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc))
        .ok_or_else(|| format!("line {} has no received_at", index + 1))?;
    let event = validate_event(index, &value, received_at).map_err(|errors| format!("line {}: {}", index + 1, errors.iter().map(|e| e.message.clone()).collect::<Vec<_>>().join("; ")))?;
    Ok(NewEvent { event, fingerprint })
}


#[cfg(test)]
mod tests {
    use super::*;
    use super::super::archive::position_of;

    #[test]
    fn a_line_reads_back_to_the_validated_event_and_its_fingerprint() {
        let id = Uuid::now_v7();
        let text = format!(
            r#"{{"position":42,"fingerprint":"0102ff","id" : "{id}", "occurred_at" : "2026-12-01T10:00:00.123456+00:00", "received_at" : "2026-12-01T10:00:01+00:00", "action" : "user.login", "actor" : {{"id" : "u", "name" : "U", "email" : null, "type" : "user"}}, "source" : null, "method" : null, "status" : 401, "path" : null, "outcome" : "failure", "error" : null, "resource" : null, "context" : {{"team": "a"}}, "request_id" : null, "ip" : null, "user_agent" : null, "changes" : null, "metadata" : null}}"#
        );
        assert_eq!(position_of(&text), Some(42));
        let back = parse_line(0, &text).expect("parses");
        assert_eq!(back.fingerprint, vec![1, 2, 255]);
        assert_eq!((back.event.id, back.event.action.as_str(), back.event.status), (id, "user.login", Some(401)));
        assert_eq!(back.event.received_at.to_rfc3339(), "2026-12-01T10:00:01+00:00", "kept, not the time of the restore");
        assert_eq!(back.event.context.get("team").map(String::as_str), Some("a"));
        assert!(parse_line(0, r#"{"position":1,"id":"x"}"#).is_err(), "a line without its fingerprint");
    }
}
