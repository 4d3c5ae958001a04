//! The columns of the table formats (CSV, XLSX): named after the fields of the URL format,
//! `id` and `occurred_at` first, one column per context label known when the export starts,
//! then `context` for labels first seen while it ran (JSON; empty when there are none).

use app::event::Event;
use app::query::Field;
use chrono::{DateTime, SecondsFormat, Utc};

/// One cell, typed (the workbook keeps the types; CSV writes text).
#[derive(Clone, Debug, PartialEq)]
pub enum Cell {
    Empty,
    Text(String),
    Number(f64),
    Time(DateTime<Utc>),
}

impl Cell {
    fn text(value: Option<String>) -> Cell {
        value.map_or(Cell::Empty, Cell::Text)
    }

    /// The cell as CSV text: timestamps in UTC ISO 8601 (microseconds), numbers plainly.
    pub fn to_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            Cell::Empty => "".into(),
            Cell::Text(s) => s.as_str().into(),
            Cell::Number(n) => n.to_string().into(),
            Cell::Time(t) => iso(*t).into(),
        }
    }
}

pub fn iso(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Micros, true)
}

/// Fields after the URL fields that are not filterable but belong to the record.
const TRAILING: [&str; 5] = ["error", "user_agent", "received_at", "changes", "metadata"];

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Columns {
    /// Context keys with a column of their own, sorted.
    pub context_keys: Vec<String>,
}

impl Columns {
    pub fn new(mut context_keys: Vec<String>) -> Columns {
        context_keys.sort();
        context_keys.dedup();
        Columns { context_keys }
    }

    pub fn header(&self) -> Vec<String> {
        let mut names = vec!["id".to_string(), "occurred_at".to_string()];
        names.extend(Field::FIXED.iter().map(Field::key));
        names.extend(TRAILING.iter().map(|s| s.to_string()));
        names.extend(self.context_keys.iter().map(|k| format!("context.{k}")));
        names.push("context".into());
        names
    }

    /// The event's cells, in header order.
    pub fn cells(&self, event: &Event) -> Vec<Cell> {
        let mut cells = Vec::with_capacity(Field::FIXED.len() + TRAILING.len() + self.context_keys.len() + 3);
        cells.push(Cell::Text(event.id.to_string()));
        cells.push(Cell::Time(event.occurred_at));
        for field in Field::FIXED {
            cells.push(match field {
                Field::Status => event.status.map_or(Cell::Empty, |s| Cell::Number(f64::from(s))),
                other => Cell::text(other.value_of(event)),
            });
        }
        cells.push(Cell::text(event.error.clone()));
        cells.push(Cell::text(event.user_agent.clone()));
        cells.push(Cell::Time(event.received_at));
        cells.push(if event.changes.is_empty() { Cell::Empty } else { Cell::Text(json(&event.changes)) });
        cells.push(event.metadata.as_ref().map_or(Cell::Empty, |m| Cell::Text(json(m))));
        for key in &self.context_keys {
            cells.push(Cell::text(event.context.get(key).cloned()));
        }
        let others: std::collections::BTreeMap<&String, &String> =
            event.context.iter().filter(|(k, _)| self.context_keys.binary_search(k).is_err()).collect();
        cells.push(if others.is_empty() { Cell::Empty } else { Cell::Text(json(&others)) });
        cells
    }
}

fn json<T: serde::Serialize + ?Sized>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::event::{Actor, ActorType, Outcome};

    fn event() -> Event {
        Event {
            id: uuid::Uuid::from_u128(7),
            occurred_at: DateTime::from_timestamp_micros(1_764_000_000_123_456).expect("t"),
            received_at: DateTime::from_timestamp_micros(1_764_000_001_000_000).expect("t"),
            action: "user.login".into(),
            actor: Actor { id: "u1".into(), name: "Ada".into(), email: None, actor_type: ActorType::User },
            method: Some("POST".into()),
            status: Some(201),
            outcome: Outcome::Success,
            context: [("team".to_string(), "core".to_string()), ("zone".to_string(), "eu".to_string())].into_iter().collect(),
            ..crate::test_support::sample_event()
        }
    }

    #[test]
    fn header_names_the_url_fields_with_id_and_time_first() {
        let header = Columns::new(vec!["team".into()]).header();
        assert_eq!(&header[..4], ["id", "occurred_at", "action", "actor.id"]);
        assert!(header.contains(&"context.team".to_string()));
        assert_eq!(header.last().map(String::as_str), Some("context"));
    }

    #[test]
    fn cells_follow_the_header_and_keep_labels_without_a_column() {
        let columns = Columns::new(vec!["team".into()]);
        let header = columns.header();
        let cells = columns.cells(&event());
        assert_eq!(cells.len(), header.len());
        let cell = |name: &str| cells[header.iter().position(|h| h == name).expect("column")].clone();
        assert_eq!(cell("occurred_at").to_text(), "2025-11-24T16:00:00.123456Z");
        assert_eq!(cell("status"), Cell::Number(201.0));
        assert_eq!(cell("context.team"), Cell::Text("core".into()));
        assert_eq!(cell("context"), Cell::Text(r#"{"zone":"eu"}"#.into()));
        assert_eq!(cell("actor.email"), Cell::Empty);
    }
}
