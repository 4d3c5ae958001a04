//! The Rust predicate for a view's selection. The live tail uses it on new events; it must
//! agree with the SQL translation (server/src/store/filter_sql.rs) on every event — a
//! property test against PostgreSQL checks that.

use chrono::{DateTime, Utc};

use super::filter::Filter;
use super::scope::Scope;
use super::time_range::TimeRange;
use super::view::ViewState;
use crate::event::{search_text, Event};

/// Which events a view selects for someone: its filters (AND), its search and its time window,
/// within what that person may see (`scope`).
#[derive(Clone, Debug, PartialEq)]
pub struct EventFilter {
    pub filters: Vec<Filter>,
    /// Lower-cased search term.
    pub search: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Who is looking decides this, never the view: it is not dropped by
    /// [`EventFilter::without_field`].
    pub scope: Scope,
}

impl EventFilter {
    /// The selection of `view` at `now`. A relative range stays open-ended at the top, so
    /// events arriving later (live tail) still match.
    pub fn from_view(view: &ViewState, now: DateTime<Utc>) -> EventFilter {
        let (from, to) = match view.range {
            TimeRange::Relative(_) => (Some(view.range.resolve(now).from), None),
            TimeRange::Absolute { from, to } => (Some(from), to),
        };
        EventFilter {
            filters: view.filters().to_vec(),
            search: view.search.as_ref().map(|s| s.to_lowercase()),
            from,
            to,
            scope: Scope::All,
        }
    }

    /// The same selection, within what `scope` lets someone see.
    pub fn within(self, scope: &Scope) -> EventFilter {
        EventFilter { scope: scope.clone(), ..self }
    }

    /// The selection of `view` within its window at `now`: both ends fixed, so a page, its
    /// total and its histogram all count the same events.
    pub fn for_window(view: &ViewState, now: DateTime<Utc>) -> EventFilter {
        let bounds = view.range.resolve(now);
        EventFilter { from: Some(bounds.from), to: Some(bounds.to), ..EventFilter::from_view(view, now) }
    }

    /// The same selection without the filters on `field` (autocomplete for that field).
    pub fn without_field(&self, field: &crate::query::Field) -> EventFilter {
        EventFilter { filters: self.filters.iter().filter(|f| f.field != *field).cloned().collect(), ..self.clone() }
    }

    pub fn matches(&self, event: &Event) -> bool {
        if self.search.is_some() || self.scope.searches() {
            self.matches_with_text(event, &search_text(event))
        } else {
            self.matches_with_text(event, "")
        }
    }

    /// [`EventFilter::matches`] with the event's `search_text` already computed (the live tail
    /// computes it once per event, not once per subscriber).
    pub fn matches_with_text(&self, event: &Event, search_text: &str) -> bool {
        self.from.is_none_or(|from| event.occurred_at >= from)
            && self.to.is_none_or(|to| event.occurred_at < to)
            && self
                .filters
                .iter()
                .all(|f| f.matches_value(f.field.value_of(event).as_deref()))
            && self.search.as_ref().is_none_or(|term| search_text.contains(term.as_str()))
            && self.scope.matches(event, search_text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::tests::sample_event;
    use crate::query::codec::decode_query;

    fn matches(query: &str) -> bool {
        let decoded = decode_query(query, &[]);
        assert!(decoded.problems.is_empty(), "{:?}", decoded.problems);
        let now = sample_event().occurred_at;
        EventFilter::from_view(&decoded.view, now).matches(&sample_event())
    }

    #[test]
    fn operators_on_the_sample_event() {
        assert!(matches("action=project.updated"));
        assert!(matches("action=project.*"));
        assert!(!matches("action=user.*"));
        assert!(matches("action!=user.login,user.logout"));
        assert!(!matches("action!=project.*"));
        assert!(matches("status=2xx"));
        assert!(!matches("status=5xx,404"));
        assert!(matches("context.cluster=prod-EU"));
        assert!(!matches("context.cluster=prod-eu"), "filters are exact, search is case-insensitive");
        assert!(matches("context.region!=eu"), "an absent label is not equal to anything");
        assert!(!matches("context.region=*"));
        assert!(matches("actor.email=*&resource.type=project&method!=GET"));
    }

    #[test]
    fn search_is_case_insensitive_substring() {
        assert!(matches("q=LOVELACE"));
        assert!(matches("q=PROD-eu"));
        assert!(!matches("q=curl"));
    }

    #[test]
    fn the_time_window_applies() {
        assert!(matches("range=1h"));
        assert!(matches("from=2026-11-20T10:00:00Z&to=2026-11-20T10:00:01Z"));
        assert!(!matches("from=2026-11-20T09:00:00Z&to=2026-11-20T10:00:00Z"), "to is exclusive");
    }
}
