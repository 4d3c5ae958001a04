//! Pages of events, newest first, with keyset pagination on (occurred_at, id).

use app::event::Event;
use app::query::EventFilter;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use sqlx::{PgPool, Postgres, QueryBuilder};
use uuid::Uuid;

use super::filter_sql::push_conditions;
use super::rows::{EventRow, EVENT_COLUMNS};

/// A position between two events: the key of the event just past it, and the direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub occurred_at: DateTime<Utc>,
    pub id: Uuid,
    /// true: the page of events older than the key; false: newer than it.
    pub older: bool,
    /// Where the key's event is in the selection (0: the newest), when known: pages say
    /// "51–100 of N" from it. Cursors of older versions have none.
    pub index: Option<u64>,
}

impl Cursor {
    /// Opaque to clients: base64url of `o|n`, microseconds, id, and the index if known.
    pub fn encode(&self) -> String {
        let mut text = format!("{}{}.{}", if self.older { 'o' } else { 'n' }, self.occurred_at.timestamp_micros(), self.id.simple());
        if let Some(i) = self.index {
            text.push_str(&format!(".{i}"));
        }
        URL_SAFE_NO_PAD.encode(text)
    }

    pub fn decode(text: &str) -> Option<Cursor> {
        let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(text).ok()?).ok()?;
        let older = match raw.chars().next()? {
            'o' => true,
            'n' => false,
            _ => return None,
        };
        let mut parts = raw[1..].split('.');
        let (micros, id, index) = (parts.next()?, parts.next()?, parts.next());
        if parts.next().is_some() {
            return None;
        }
        Some(Cursor {
            occurred_at: DateTime::from_timestamp_micros(micros.parse().ok()?)?,
            id: Uuid::parse_str(id).ok()?,
            older,
            index: match index {
                Some(i) => Some(i.parse().ok()?),
                None => None,
            },
        })
    }
}

pub struct Page {
    /// Newest first.
    pub events: Vec<Event>,
    /// Where the first event is in the selection (0: the newest), when known.
    pub offset: Option<u64>,
    pub older: Option<Cursor>,
    pub newer: Option<Cursor>,
}

/// One page of `limit` events matching `filter`, starting at `cursor` (None: the newest).
pub async fn fetch_page(pool: &PgPool, filter: &EventFilter, cursor: Option<Cursor>, limit: u32) -> Result<Page, sqlx::Error> {
    let older = cursor.is_none_or(|c| c.older);
    let mut qb: QueryBuilder<Postgres> = QueryBuilder::new(format!("SELECT {EVENT_COLUMNS} FROM events e WHERE true"));
    push_conditions(&mut qb, filter);
    if let Some(c) = cursor {
        qb.push(if c.older { " AND (e.occurred_at, e.id) < (" } else { " AND (e.occurred_at, e.id) > (" })
            .push_bind(c.occurred_at)
            .push(", ")
            .push_bind(c.id)
            .push(")");
    }
    qb.push(if older { " ORDER BY e.occurred_at DESC, e.id DESC" } else { " ORDER BY e.occurred_at ASC, e.id ASC" });
    qb.push(" LIMIT ").push_bind(i64::from(limit) + 1);
    let mut rows: Vec<EventRow> = qb.build_query_as().fetch_all(pool).await?;
    let more = rows.len() > limit as usize;
    rows.truncate(limit as usize);
    if !older {
        rows.reverse();
    }
    let events: Vec<Event> = rows.into_iter().map(Event::from).collect();
    let offset = page_offset(cursor, events.len() as u64);
    let key = |e: &Event, older: bool, index: Option<u64>| Cursor { occurred_at: e.occurred_at, id: e.id, older, index };
    let last_index = offset.map(|o| (o + events.len() as u64).saturating_sub(1));
    // Going older: there are newer events exactly when we came from a cursor. Going newer:
    // there are older ones (we came from them), and newer ones if the page overflowed.
    let (has_older, has_newer) = if older { (more, cursor.is_some()) } else { (true, more) };
    Ok(Page {
        older: if has_older { events.last().map(|e| key(e, true, last_index)) } else { None },
        newer: if has_newer { events.first().map(|e| key(e, false, offset)) } else { None },
        offset,
        events,
    })
}

/// Where a page of `len` events read from `cursor` starts in the selection.
fn page_offset(cursor: Option<Cursor>, len: u64) -> Option<u64> {
    match cursor {
        None => Some(0),
        Some(Cursor { index: Some(i), older: true, .. }) => Some(i + 1),
        Some(Cursor { index: Some(i), older: false, .. }) => Some(i.saturating_sub(len)),
        Some(Cursor { index: None, .. }) => None,
    }
}

/// The first page, from keys already found newest first (`keys` may hold more than `limit`).
pub async fn page_of_keys(pool: &PgPool, keys: &[(DateTime<Utc>, Uuid)], limit: u32) -> Result<Page, sqlx::Error> {
    let shown = &keys[..keys.len().min(limit as usize)];
    let (times, ids): (Vec<DateTime<Utc>>, Vec<Uuid>) = shown.iter().cloned().unzip();
    let rows: Vec<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM UNNEST($1::timestamptz[], $2::uuid[]) AS k(occurred_at, id)
         JOIN events e ON e.occurred_at = k.occurred_at AND e.id = k.id
         ORDER BY e.occurred_at DESC, e.id DESC"
    ))
    .bind(&times)
    .bind(&ids)
    .fetch_all(pool)
    .await?;
    let events: Vec<Event> = rows.into_iter().map(Event::from).collect();
    let more = keys.len() > shown.len();
    let index = (events.len() as u64).checked_sub(1);
    Ok(Page {
        older: if more { events.last().map(|e| Cursor { occurred_at: e.occurred_at, id: e.id, older: true, index }) } else { None },
        newer: None,
        offset: Some(0),
        events,
    })
}

/// One event by id, with every field.
pub async fn fetch_event(pool: &PgPool, id: Uuid) -> Result<Option<Event>, sqlx::Error> {
    let row: Option<EventRow> = sqlx::query_as(&format!(
        "SELECT {EVENT_COLUMNS} FROM event_positions p JOIN events e ON e.occurred_at = p.occurred_at AND e.id = p.id
         WHERE p.id = $1"
    ))
    .bind(id)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(Event::from))
}

/// The position of the newest stored event (0 when there is none).
pub async fn latest_position<'e>(db: impl sqlx::PgExecutor<'e>) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT last_seq FROM event_sequence").fetch_one(db).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        let c = Cursor { occurred_at: DateTime::from_timestamp_micros(1_763_632_800_123_456).expect("t"), id: Uuid::from_u128(42), older: true, index: None };
        assert_eq!(Cursor::decode(&c.encode()), Some(c));
        let n = Cursor { older: false, index: Some(149), ..c };
        assert_eq!(Cursor::decode(&n.encode()), Some(n));
        assert_eq!(Cursor::decode(&URL_SAFE_NO_PAD.encode(format!("o1.{}.x", Uuid::nil().simple()))), None);
        for bad in ["", "!!", "eDEyMw", &URL_SAFE_NO_PAD.encode("o12.notauuid")] {
            assert_eq!(Cursor::decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn pages_know_where_they_start() {
        let at = |older, index| Some(Cursor { occurred_at: DateTime::UNIX_EPOCH, id: Uuid::nil(), older, index });
        assert_eq!(page_offset(None, 50), Some(0));
        assert_eq!(page_offset(at(true, Some(49)), 50), Some(50), "the page after 1–50 starts at 51");
        assert_eq!(page_offset(at(false, Some(50)), 50), Some(0), "the page before 51–100 is 1–50");
        assert_eq!(page_offset(at(false, Some(30)), 30), Some(0));
        assert_eq!(page_offset(at(true, None), 50), None, "an old cursor: position unknown");
    }
}
