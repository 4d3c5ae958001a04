//! Ingest: the one path every event takes into the store — the HTTP API, `auditorium ingest`
//! and the demo generator all call [`ingest`].

pub mod body;
pub mod fingerprint;
pub mod validate;
pub mod writer;

use std::collections::HashMap;

use app::api::ErrorDetail;
use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

use crate::store::write::{NewEvent, Stored};
pub use writer::{Ingestor, WriteError};

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ItemResult {
    pub index: usize,
    pub id: Uuid,
    /// `stored`, or `duplicate` when the same event was already stored (a retry).
    pub status: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// Items that failed validation; nothing was stored.
    #[error("{} problem(s) in the submitted events", .0.len())]
    Invalid(Vec<ErrorDetail>),
    /// Items whose id is already stored with different content; nothing was stored.
    #[error("{} event id(s) already exist with different content", .0.len())]
    Conflict(Vec<ErrorDetail>),
    /// Nothing was stored, for a reason that is not the request's (overload, outage).
    #[error(transparent)]
    Write(WriteError),
}

/// Validates every item, then stores all of them or none, answering after commit.
pub async fn ingest(ingestor: &Ingestor, items: &[Value]) -> Result<Vec<ItemResult>, IngestError> {
    let received_at = Utc::now().trunc_subsecs(6);
    let prepared = prepare(items, received_at)?;
    let stored = ingestor.write(prepared.unique).await.map_err(|e| match e {
        WriteError::Conflict(indexes) => IngestError::Conflict(
            indexes
                .into_iter()
                .map(|i| ErrorDetail {
                    index: Some(prepared.origin[i]),
                    field: Some("id".into()),
                    message: "an event with this id is already stored with different content".into(),
                })
                .collect(),
        ),
        other => IngestError::Write(other),
    })?;
    Ok(prepared
        .items
        .iter()
        .enumerate()
        .map(|(index, item)| ItemResult {
            index,
            id: item.id,
            status: match item.unique_index.map(|u| stored[u]) {
                Some(Stored::New) => "stored",
                _ => "duplicate",
            },
        })
        .collect())
}

struct Prepared {
    /// Events to store, each id once.
    unique: Vec<NewEvent>,
    /// For each of `unique`, the index of the request item it came from.
    origin: Vec<usize>,
    /// Per request item: its id and its place in `unique` (None: repeats an earlier item).
    items: Vec<PreparedItem>,
}

struct PreparedItem {
    id: Uuid,
    unique_index: Option<usize>,
}

fn prepare(items: &[Value], received_at: DateTime<Utc>) -> Result<Prepared, IngestError> {
    let mut errors = Vec::new();
    let mut prepared = Prepared { unique: Vec::new(), origin: Vec::new(), items: Vec::new() };
    let mut seen: HashMap<Uuid, usize> = HashMap::new();
    for (index, item) in items.iter().enumerate() {
        let event = match validate::validate_event(index, item, received_at) {
            Ok(event) => event,
            Err(mut problems) => {
                errors.append(&mut problems);
                continue;
            }
        };
        let time_sent = item.get("occurred_at").is_some_and(|t| !t.is_null());
        let fingerprint = fingerprint::fingerprint(&event, time_sent);
        let id = event.id;
        match seen.get(&id) {
            Some(&u) if prepared.unique[u].fingerprint == fingerprint => {
                prepared.items.push(PreparedItem { id, unique_index: None });
            }
            Some(&u) => errors.push(ErrorDetail {
                index: Some(index),
                field: Some("id".into()),
                message: format!("repeats the id of item {} with different content", prepared.origin[u]),
            }),
            None => {
                seen.insert(id, prepared.unique.len());
                prepared.items.push(PreparedItem { id, unique_index: Some(prepared.unique.len()) });
                prepared.origin.push(index);
                prepared.unique.push(NewEvent { event, fingerprint });
            }
        }
    }
    if errors.is_empty() {
        Ok(prepared)
    } else {
        Err(IngestError::Invalid(errors))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn item(id: &str, action: &str) -> Value {
        json!({"id": id, "action": action, "actor": {"id": "u", "name": "U", "type": "user"}})
    }

    const ID: &str = "0192e4a0-7b1c-7cde-8f00-1234567890ab";

    #[test]
    fn a_repeated_item_is_stored_once() {
        let prepared = prepare(&[item(ID, "a.b"), item(ID, "a.b")], Utc::now()).map_err(|e| e.to_string()).expect("valid");
        assert_eq!(prepared.unique.len(), 1);
        assert_eq!(prepared.items[1].unique_index, None);
    }

    #[test]
    fn a_reused_id_with_other_content_is_invalid() {
        let Err(IngestError::Invalid(details)) = prepare(&[item(ID, "a.b"), item(ID, "a.c")], Utc::now()) else {
            panic!("expected a validation error");
        };
        assert_eq!(details[0].index, Some(1));
        assert!(details[0].message.contains("item 0"));
    }

    #[test]
    fn every_invalid_item_is_reported() {
        let Err(IngestError::Invalid(details)) = prepare(&[json!({}), item(ID, "ok.ok"), json!(3)], Utc::now()) else {
            panic!("expected a validation error");
        };
        let indexes: Vec<Option<usize>> = details.iter().map(|d| d.index).collect();
        assert!(indexes.contains(&Some(0)) && indexes.contains(&Some(2)) && !indexes.contains(&Some(1)));
    }
}
