//! What every part of the investigation page shares: the view from the URL, the resources
//! read for it, the display zone, the live tail's state. Provided as context by the page,
//! read by its components with [`use_page`] (they do not import the page).

use leptos::prelude::*;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use uuid::Uuid;

use crate::api::{EventPage, FieldList, Histogram, Total};
use crate::client::ClientError;
use crate::live::LiveState;
use crate::query::{Field, QueryProblem, ViewState};
use crate::zone::DisplayZone;

/// What every part of the page shares.
#[derive(Clone, Copy)]
pub struct Page {
    /// The view the URL describes (with the page's default when the URL is bare).
    pub view: Memo<ViewState>,
    /// Parameters of the URL that could not be used.
    pub problems: Memo<Vec<QueryProblem>>,
    /// Go to a view: a new history entry.
    pub go: Callback<ViewState>,
    pub events: Resource<Result<Shown, ClientError>>,
    pub histogram: Resource<Result<ChartData, ClientError>>,
    pub fields: LocalResource<Result<FieldList, ClientError>>,
    pub zone: RwSignal<DisplayZone>,
    /// The table's columns: the link's, else this browser's choice, else the default.
    pub columns: Memo<Vec<Field>>,
    /// This browser's choice of columns (remembered in a cookie).
    pub own_columns: RwSignal<Vec<Field>>,
    /// The widths of resized columns: the link's, else this browser's.
    pub widths: Memo<crate::query::columns::Widths>,
    pub own_widths: RwSignal<crate::query::columns::Widths>,
    /// True while a new page of events loads (the old one stays, dimmed).
    pub loading: RwSignal<bool>,
    pub live: LiveState,
}

impl Page {
    /// The current view, without tracking.
    pub fn now(&self) -> ViewState {
        self.view.get_untracked()
    }

    pub fn apply(&self, change: impl FnOnce(ViewState) -> ViewState) {
        self.go.run(change(self.now()));
    }

    /// The events shown just above and below `id` in the table (live rows first): the details
    /// step to them.
    pub fn neighbours(&self, id: uuid::Uuid) -> (Option<uuid::Uuid>, Option<uuid::Uuid>) {
        let mut ids: Vec<uuid::Uuid> = self.live.rows.with(|rows| rows.iter().map(|e| e.id).collect());
        ids.extend(self.page_ids());
        neighbours_in(&ids, id)
    }

    /// Sets a column's width: in the link when it carries widths, otherwise remembered by
    /// this browser.
    pub fn set_width(&self, field: &Field, px: f64) {
        let widths = crate::query::columns::with_width(self.widths.get_untracked(), field, px);
        if self.now().widths.is_some() {
            self.apply(|v| v.with_widths(Some(widths)));
        } else {
            crate::zone::set_cookie(crate::query::columns::WIDTHS_COOKIE, &crate::query::columns::widths_cookie_value(&widths));
            self.own_widths.set(widths);
        }
    }

    /// The ids of the page's events (not the live ones), newest first.
    pub fn page_ids(&self) -> Vec<Uuid> {
        self.events.with_untracked(|r| r.as_ref().and_then(|r| r.as_ref().ok()).map(|s| s.ids.clone())).unwrap_or_default()
    }

    /// Shows `columns`: in the link when it carries columns (a shared table stays shared),
    /// otherwise remembered by this browser.
    pub fn set_columns(&self, columns: Vec<Field>) {
        if self.now().columns.is_some() {
            self.apply(|v| v.with_columns(Some(columns)));
        } else {
            crate::zone::set_cookie(crate::query::columns::COLUMNS_COOKIE, &crate::query::columns::cookie_value(&columns));
            self.own_columns.set(columns);
        }
    }

    /// Closes the event details and gives the keyboard focus back to the row they were for.
    pub fn close_event(&self) {
        let opened = self.now().event;
        self.apply(|v| v.with_event(None));
        if let Some(id) = opened {
            crate::browser::focus_id_soon(row_id(id));
        }
    }
}

/// The query string of the API request for a view's page of events (not the opened event, not
/// the columns: neither changes which events are read).
pub fn events_query(view: &ViewState) -> String {
    crate::query::encode_query(&view.clone().with_event(None).without_layout())
}

/// The events resource: one page of events. Put into the page's hydration data *without*
/// its events — their rows are already in the HTML ([`crate::rows`]) — so a page is not sent
/// twice; the browser keeps their ids, and reads the events themselves only when it must
/// write the rows again (another zone or other columns).
#[derive(Clone, Debug, PartialEq)]
pub struct Shown {
    pub page: EventPage,
    pub ids: Vec<Uuid>,
    /// True when this came from the server's HTML: `page.events` is empty.
    pub rows_in_html: bool,
}

impl Shown {
    pub fn fetched(page: EventPage) -> Shown {
        Shown { ids: page.events.iter().map(|e| e.id).collect(), page, rows_in_html: false }
    }
}

/// What the hydration data holds of a [`Shown`].
#[derive(Serialize, Deserialize)]
struct ShownMeta {
    total: Total,
    #[serde(with = "crate::api::rfc3339")]
    from: chrono::DateTime<chrono::Utc>,
    #[serde(with = "crate::api::rfc3339")]
    to: chrono::DateTime<chrono::Utc>,
    older: Option<String>,
    newer: Option<String>,
    offset: Option<u64>,
    position: i64,
    ids: Vec<Uuid>,
    #[serde(default, with = "crate::api::optional_rfc3339")]
    retained_from: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default, with = "crate::api::optional_rfc3339")]
    verified_upto: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(default)]
    integrity_problem: Option<String>,
}

impl Serialize for Shown {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let p = &self.page;
        ShownMeta {
            total: p.total,
            from: p.from,
            to: p.to,
            older: p.older.clone(),
            newer: p.newer.clone(),
            offset: p.offset,
            position: p.position,
            ids: self.ids.clone(),
            retained_from: p.retained_from,
            verified_upto: p.verified_upto,
            integrity_problem: p.integrity_problem.clone(),
        }
            .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Shown {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Shown, D::Error> {
        let m = ShownMeta::deserialize(d)?;
        let page = EventPage {
            events: vec![],
            total: m.total,
            from: m.from,
            to: m.to,
            older: m.older,
            newer: m.newer,
            offset: m.offset,
            position: m.position,
            retained_from: m.retained_from,
            verified_upto: m.verified_upto,
            integrity_problem: m.integrity_problem,
        };
        Ok(Shown { page, ids: m.ids, rows_in_html: true })
    }
}

/// The histogram resource; in the hydration data its bar edges are numbers, not dates (the
/// bars themselves are in the HTML): a quarter of the size.
#[derive(Clone, Debug, PartialEq)]
pub struct ChartData(pub Histogram);

#[derive(Serialize, Deserialize)]
struct ChartMeta {
    #[serde(with = "crate::api::rfc3339")]
    from: chrono::DateTime<chrono::Utc>,
    #[serde(with = "crate::api::rfc3339")]
    to: chrono::DateTime<chrono::Utc>,
    width: i64,
    total: Total,
    position: i64,
    /// Every bar's start and the last bar's end, in microseconds since 1970.
    edges: Vec<i64>,
    counts: Vec<[u64; 2]>,
}

impl Serialize for ChartData {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = &self.0;
        let mut edges: Vec<i64> = h.buckets.iter().map(|b| b.start.timestamp_micros()).collect();
        edges.extend(h.buckets.last().map(|b| b.end.timestamp_micros()));
        let counts = h.buckets.iter().map(|b| [b.success, b.failure]).collect();
        ChartMeta { from: h.from, to: h.to, width: h.bucket_seconds, total: h.total, position: h.position, edges, counts }.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ChartData {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ChartData, D::Error> {
        let m = ChartMeta::deserialize(d)?;
        // The range's own ends keep their full precision.
        let at = |micros: i64| match micros {
            x if x == m.from.timestamp_micros() => m.from,
            x if x == m.to.timestamp_micros() => m.to,
            x => chrono::DateTime::from_timestamp_micros(x).unwrap_or_default(),
        };
        let buckets = m
            .edges
            .windows(2)
            .zip(m.counts)
            .map(|(e, [success, failure])| crate::api::HistogramBucket { start: at(e[0]), end: at(e[1]), success, failure })
            .collect();
        Ok(ChartData(Histogram { from: m.from, to: m.to, bucket_seconds: m.width, buckets, total: m.total, position: m.position }))
    }
}

/// The ids before and after `id` in `ids`.
pub fn neighbours_in<T: PartialEq + Copy>(ids: &[T], id: T) -> (Option<T>, Option<T>) {
    match ids.iter().position(|x| *x == id) {
        Some(i) => (i.checked_sub(1).map(|j| ids[j]), ids.get(i + 1).copied()),
        None => (None, None),
    }
}

/// The id of an event's row in the table (focus returns there when its details close).
pub fn row_id(id: uuid::Uuid) -> String {
    format!("row-{id}")
}

pub fn use_page() -> Page {
    expect_context::<Page>()
}


#[cfg(test)]
mod tests {
    use super::{neighbours_in, Shown};
    use crate::api::{EventPage, Total};
    use crate::event::tests::sample_event;

    #[test]
    fn the_chart_survives_its_compact_form() {
        use crate::api::{Histogram, HistogramBucket};
        let t = |s: &str| chrono::DateTime::parse_from_rfc3339(s).expect("t").with_timezone(&chrono::Utc);
        let (from, mid, to) = (t("2026-12-04T01:14:38.259078502Z"), t("2026-12-04T02:00:00Z"), t("2026-12-04T03:14:38.259078502Z"));
        let h = Histogram {
            from, to, bucket_seconds: 3600, total: Total { count: 3, exact: true }, position: 9,
            buckets: vec![
                HistogramBucket { start: from, end: mid, success: 1, failure: 0 },
                HistogramBucket { start: mid, end: to, success: 1, failure: 1 },
            ],
        };
        let json = serde_json::to_string(&super::ChartData(h.clone())).expect("json");
        let back: super::ChartData = serde_json::from_str(&json).expect("decode");
        assert_eq!(back.0, h);
    }

    #[test]
    fn hydration_data_carries_the_ids_not_the_events() {
        let event = sample_event();
        let page = EventPage {
            events: vec![event.clone()], total: Total { count: 1, exact: true }, from: event.occurred_at, to: event.occurred_at,
            older: Some("c".into()), newer: None, offset: Some(0), position: 7,
            retained_from: None, verified_upto: Some(event.occurred_at), integrity_problem: None,
        };
        let json = serde_json::to_string(&Shown::fetched(page.clone())).expect("json");
        assert!(!json.contains(&event.action), "{json}");
        let back: Shown = serde_json::from_str(&json).expect("decode");
        assert_eq!(back.ids, vec![event.id]);
        assert!(back.rows_in_html && back.page.events.is_empty());
        assert_eq!((back.page.total, back.page.older, back.page.position), (page.total, page.older, 7));
        assert_eq!(back.page.verified_upto, Some(event.occurred_at), "the status line survives hydration");
    }

    #[test]
    fn an_event_has_the_rows_around_it_as_neighbours() {
        assert_eq!(neighbours_in(&[1, 2, 3], 2), (Some(1), Some(3)));
        assert_eq!(neighbours_in(&[1, 2, 3], 1), (None, Some(2)));
        assert_eq!(neighbours_in(&[1, 2, 3], 3), (Some(2), None));
        assert_eq!(neighbours_in(&[1, 2, 3], 9), (None, None), "an event opened from a link, not in the table");
    }
}
