//! The whole state of an investigation view. The URL encodes exactly this (see `codec`);
//! the page edits it only through the methods below, which keep it canonical.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::field::Field;
use super::filter::{Filter, FilterValue};
use super::time_range::{RelativeRange, TimeRange, TimeUnit};

pub const DEFAULT_LIMIT: u32 = 50;
pub const MAX_LIMIT: u32 = 500;
pub const PAGE_SIZES: [u32; 4] = [25, 50, 100, 200];

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewState {
    pub range: TimeRange,
    /// Canonical: sorted by field, includes before excludes, at most one per (field, negated).
    filters: Vec<Filter>,
    /// Free-text search as typed; `None` when empty.
    pub search: Option<String>,
    /// Opaque page position from the API; `None` is the newest page.
    pub cursor: Option<String>,
    pub limit: u32,
    pub live: bool,
    /// The event whose details are open.
    pub event: Option<Uuid>,
    /// The table's columns when the link carries them (`cols=`); otherwise the browser's own.
    pub columns: Option<Vec<Field>>,
    /// The columns' widths when the link carries them (`colw=`); otherwise the browser's own.
    pub widths: Option<Vec<(Field, u16)>>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            range: TimeRange::default(),
            filters: Vec::new(),
            search: None,
            cursor: None,
            limit: DEFAULT_LIMIT,
            live: false,
            event: None,
            columns: None,
            widths: None,
        }
    }
}

impl ViewState {
    /// What the page shows for a URL without any parameters: the last 24 hours, reads
    /// (GET requests) excluded — as a visible filter the user can remove.
    pub fn page_default() -> ViewState {
        ViewState::default().with_filter_values(Field::Method, true, [FilterValue::Exact("GET".into())])
    }

    pub fn filters(&self) -> &[Filter] {
        &self.filters
    }

    /// Replaces the filter for (field, negated), or removes it when `values` is empty.
    /// Any change of what is selected returns to the first page.
    pub fn with_filter_values(
        mut self,
        field: Field,
        negated: bool,
        values: impl IntoIterator<Item = FilterValue>,
    ) -> ViewState {
        self.filters.retain(|f| !(f.field == field && f.negated == negated));
        if let Some(filter) = Filter::new(field, negated, values) {
            self.filters.push(filter);
        }
        self.filters.sort_by(|a, b| {
            (a.field.rank(), &a.field, a.negated).cmp(&(b.field.rank(), &b.field, b.negated))
        });
        self.cursor = None;
        self
    }

    /// Adds one filter, merging values with an existing filter of the same field and sign.
    pub fn with_filter(self, filter: Filter) -> ViewState {
        let mut values = self.values_of(&filter.field, filter.negated);
        values.extend(filter.values().iter().cloned());
        self.with_filter_values(filter.field, filter.negated, values)
    }

    pub fn without_filter(self, field: &Field, negated: bool) -> ViewState {
        self.with_filter_values(field.clone(), negated, [])
    }

    /// Include ↔ exclude; merges into an existing filter of the other sign.
    pub fn toggle_negation(self, field: &Field, negated: bool) -> ViewState {
        let moved = self.values_of(field, negated);
        let mut target = self.values_of(field, !negated);
        target.extend(moved);
        self.without_filter(field, negated).with_filter_values(field.clone(), !negated, target)
    }

    /// Click-to-filter "is this value": narrows the field to exactly this value.
    pub fn focus_on(self, field: Field, value: String) -> ViewState {
        let kept: Vec<FilterValue> = self
            .values_of(&field, true)
            .into_iter()
            .filter(|v| *v != FilterValue::Exact(value.clone()))
            .collect();
        self.with_filter_values(field.clone(), true, kept)
            .with_filter_values(field, false, [FilterValue::Exact(value)])
    }

    /// Click-to-filter "is not this value": adds the value to the field's exclusions.
    pub fn exclude_value(self, field: Field, value: String) -> ViewState {
        let exact = FilterValue::Exact(value);
        let kept: Vec<FilterValue> =
            self.values_of(&field, false).into_iter().filter(|v| *v != exact).collect();
        let mut excluded = self.values_of(&field, true);
        excluded.push(exact);
        self.with_filter_values(field.clone(), false, kept).with_filter_values(field, true, excluded)
    }

    pub fn clear_filters(mut self) -> ViewState {
        self.filters.clear();
        self.cursor = None;
        self
    }

    pub fn with_range(mut self, range: TimeRange) -> ViewState {
        self.range = range;
        self.cursor = None;
        self
    }

    /// Sets the search text; blank text clears the search. A search is one line: pasted
    /// line breaks become spaces.
    pub fn with_search(mut self, text: &str) -> ViewState {
        let one_line = text.replace(['\r', crate::event::SEARCH_SEPARATOR], " ");
        let trimmed = one_line.trim();
        self.search = (!trimmed.is_empty()).then(|| trimmed.to_string());
        self.cursor = None;
        self
    }

    pub fn with_limit(mut self, limit: u32) -> ViewState {
        self.limit = limit.clamp(1, MAX_LIMIT);
        self.cursor = None;
        self
    }

    pub fn with_cursor(mut self, cursor: Option<String>) -> ViewState {
        self.cursor = cursor;
        self
    }

    pub fn with_event(mut self, event: Option<Uuid>) -> ViewState {
        self.event = event;
        self
    }

    /// Columns in the link (`None`: the browser's own). Not a change of selection: the page stays.
    pub fn with_columns(mut self, columns: Option<Vec<Field>>) -> ViewState {
        self.columns = columns;
        self
    }

    /// The view without how the table looks (columns, widths): what the API is asked.
    pub fn without_layout(self) -> ViewState {
        self.with_columns(None).with_widths(None)
    }

    /// Column widths in the link (`None`: the browser's own).
    pub fn with_widths(mut self, widths: Option<Vec<(Field, u16)>>) -> ViewState {
        self.widths = widths;
        self
    }

    pub fn with_live(mut self, live: bool) -> ViewState {
        self.live = live;
        self.cursor = None;
        self
    }

    /// Live tail on. A live tail must reach "now": an absolute range becomes the relative
    /// range of the same length ("Last 90 minutes").
    pub fn live_on(self) -> ViewState {
        let range = match self.range {
            TimeRange::Absolute { from, to } => {
                let minutes = to.map_or(60, |to| (to - from).num_minutes()).clamp(1, 10 * 366 * 1440);
                let relative = match minutes {
                    m if m % 1440 == 0 => RelativeRange::new((m / 1440) as u32, TimeUnit::Day),
                    m if m % 60 == 0 => RelativeRange::new((m / 60) as u32, TimeUnit::Hour),
                    m => RelativeRange::new(m as u32, TimeUnit::Minute),
                };
                TimeRange::Relative(relative)
            }
            relative => relative,
        };
        self.with_range(range).with_live(true)
    }

    fn values_of(&self, field: &Field, negated: bool) -> Vec<FilterValue> {
        self.filters
            .iter()
            .find(|f| f.field == *field && f.negated == negated)
            .map(|f| f.values().to_vec())
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(v: &str) -> FilterValue {
        FilterValue::Exact(v.into())
    }

    #[test]
    fn filters_stay_in_canonical_order_whatever_the_order_of_edits() {
        let a = ViewState::default()
            .with_filter_values(Field::Status, false, [FilterValue::StatusClass(5)])
            .with_filter_values(Field::Action, false, [exact("b"), exact("a")]);
        let b = ViewState::default()
            .with_filter_values(Field::Action, false, [exact("a"), exact("b")])
            .with_filter_values(Field::Status, false, [FilterValue::StatusClass(5)]);
        assert_eq!(a, b);
        assert_eq!(a.filters()[0].field, Field::Action);
    }

    #[test]
    fn click_to_filter_moves_values_between_include_and_exclude() {
        let view = ViewState::page_default().focus_on(Field::Method, "GET".into());
        assert_eq!(view.filters().len(), 1, "GET left the exclusions: {view:?}");
        assert!(!view.filters()[0].negated);
        let view = view.exclude_value(Field::Method, "GET".into());
        assert_eq!(view.filters().len(), 1);
        assert!(view.filters()[0].negated);
    }

    #[test]
    fn toggling_negation_merges_with_the_other_side() {
        let view = ViewState::default()
            .with_filter_values(Field::Action, false, [exact("a")])
            .with_filter_values(Field::Action, true, [exact("b")])
            .toggle_negation(&Field::Action, false);
        assert_eq!(view.filters().len(), 1);
        assert_eq!(view.filters()[0].values(), &[exact("a"), exact("b")]);
        assert!(view.filters()[0].negated);
    }

    #[test]
    fn changing_the_selection_returns_to_the_first_page() {
        let view = ViewState::default().with_cursor(Some("c".into()));
        assert_eq!(view.clone().with_search("x").cursor, None);
        assert_eq!(view.clone().with_limit(100).cursor, None);
        assert_eq!(view.clear_filters().cursor, None);
    }

    #[test]
    fn live_needs_a_range_that_reaches_now() {
        let from = chrono::DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").expect("t").with_timezone(&chrono::Utc);
        let view = ViewState::default().with_range(TimeRange::absolute(from, from + chrono::Duration::minutes(90))).live_on();
        assert_eq!(view.range, TimeRange::Relative(RelativeRange::new(90, TimeUnit::Minute)));
        assert!(view.live);
        let day = ViewState::default().with_range(TimeRange::absolute(from, from + chrono::Duration::days(2))).live_on();
        assert_eq!(day.range, TimeRange::Relative(RelativeRange::new(2, TimeUnit::Day)));
    }

    #[test]
    fn blank_search_is_no_search() {
        assert_eq!(ViewState::default().with_search("   ").search, None);
        assert_eq!(ViewState::default().with_search(" deploy ").search.as_deref(), Some("deploy"));
    }
}
