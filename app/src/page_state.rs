//! What every part of the investigation page shares: the view from the URL, the resources
//! read for it, the display zone, the live tail's state. Provided as context by the page,
//! read by its components with [`use_page`] (they do not import the page).

use leptos::prelude::*;

use crate::api::{EventPage, FieldList, Histogram};
use crate::client::ClientError;
use crate::live::LiveState;
use crate::query::{QueryProblem, ViewState};
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
    pub events: Resource<Result<EventPage, ClientError>>,
    pub histogram: Resource<Result<Histogram, ClientError>>,
    pub fields: LocalResource<Result<FieldList, ClientError>>,
    pub zone: RwSignal<DisplayZone>,
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
        if let Some(Ok(page)) = self.events.get() {
            ids.extend(page.events.iter().map(|e| e.id));
        }
        neighbours_in(&ids, id)
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
    use super::neighbours_in;

    #[test]
    fn an_event_has_the_rows_around_it_as_neighbours() {
        assert_eq!(neighbours_in(&[1, 2, 3], 2), (Some(1), Some(3)));
        assert_eq!(neighbours_in(&[1, 2, 3], 1), (None, Some(2)));
        assert_eq!(neighbours_in(&[1, 2, 3], 3), (Some(2), None));
        assert_eq!(neighbours_in(&[1, 2, 3], 9), (None, None), "an event opened from a link, not in the table");
    }
}
