//! The events table with its header (total, page size, paging) and its empty and error states.

use chrono::Utc;
use leptos::prelude::*;

use crate::api::EventPage;
use crate::client::ClientError;
use crate::components::icons::{Icon, IconName};
use crate::components::integrity::{IntegrityStatus, RetentionNotice};
use crate::components::live::NewEventsButton;
use crate::browser::{offer_filters, table_hit, TableHit};
use crate::components::columns::ColumnsMenu;
use crate::event::Event;
use crate::live::arrived_after;
use crate::format::{describe_filters, thousands, total_label};
use crate::page_state::{use_page, Shown};
use crate::rows::{column_class, rows_html, RowStyle};
use crate::query::time_range::{RelativeRange, TimeUnit};
use crate::query::view::PAGE_SIZES;
use crate::query::columns::{MAX_WIDTH, MIN_WIDTH};
use crate::query::{Field, TimeRange};
use crate::reveal::shown;

#[component]
pub fn Results() -> impl IntoView {
    let page = use_page();
    view! {
        <section class="results" class:is-loading=move || page.loading.get() aria-busy=move || page.loading.get().to_string()>
            <div class="loading-bar" aria-hidden="true"></div>
            <Transition fallback=|| view! { <p class="state muted">"Loading events…"</p> } set_pending=page.loading>
                {move || Suspend::new(async move {
                    match page.events.await {
                        Ok(shown) => view! {
                            <ResultsHeader page=shown.page.clone()/>
                            <RetentionNotice page=shown.page.clone()/>
                            <NewEventsButton/>
                            <IntegrityStatus page=shown.page.clone()/>
                            <EventsOrEmpty shown/>
                        }.into_any(),
                        Err(e) => view! { <ErrorState error=e/> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn ResultsHeader(page: EventPage) -> impl IntoView {
    let ctx = use_page();
    let (older, newer) = (page.older.clone(), page.newer.clone());
    let at_top = ctx.now().cursor.is_none();
    let (offset, shown, position) = (page.offset, page.events.len().max(ctx.page_ids().len()) as u64, page.position);
    view! {
        <div class="results-head">
            <h2 class="total" aria-live="polite">
                {move || {
                    // Events that arrived live are part of the selection too.
                    let live = ctx.live.received.with(|r| arrived_after(r, position));
                    let total = crate::api::Total { count: page.total.count + live, exact: page.total.exact };
                    position_label(offset, shown + if at_top { live } else { 0 }, total)
                }}
            </h2>
            <ColumnsMenu/>
            <div class="pager" role="navigation" aria-label="Pages">
                <label class="page-size"><span class="button-label">"Rows"</span>
                    <select class="input" on:change=move |ev| {
                        if let Ok(n) = event_target_value(&ev).parse::<u32>() { ctx.apply(|v| v.with_limit(n)); }
                    }>
                        {PAGE_SIZES.iter().map(|n| {
                            let n = *n;
                            view! { <option value=n.to_string() selected=move || ctx.view.get().limit == n>{n}</option> }
                        }).collect_view()}
                    </select>
                </label>
                <button type="button" class="button" disabled=at_top on:click=move |_| ctx.apply(|v| v.with_cursor(None))>"Newest"</button>
                <button type="button" class="button" disabled=newer.is_none()
                    on:click=move |_| ctx.apply(|v| v.with_cursor(newer.clone()))>
                    <Icon name=IconName::ChevronLeft/>"Newer"
                </button>
                <button type="button" class="button" disabled=older.is_none()
                    on:click=move |_| ctx.apply(|v| v.with_cursor(older.clone()))>
                    "Older"<Icon name=IconName::ChevronRight/>
                </button>
            </div>
        </div>
    }
}

/// The table, or — when neither the page nor the live tail has events — the empty state.
#[component]
fn EventsOrEmpty(shown: Shown) -> impl IntoView {
    let live = use_page().live;
    let page_empty = shown.ids.is_empty();
    let show_table = Memo::new(move |_| !page_empty || live.rows.with(|r| !r.is_empty()));
    let shown = StoredValue::new(shown);
    move || {
        if show_table.get() {
            view! { <EventsTable shown=shown.get_value()/> }.into_any()
        } else {
            view! { <EmptyState/> }.into_any()
        }
    }
}

/// The rows are HTML text ([`crate::rows`]): written by the server into the page, and by the
/// browser when the events, the columns or the zone change. One handler on the table serves
/// every row: open on click or Enter, filter buttons offered on hover or focus.
#[component]
fn EventsTable(shown: Shown) -> impl IntoView {
    let page = use_page();
    let from_html = shown.rows_in_html;
    let events = StoredValue::new(shown.page.events);
    let write = move |events: &[Event], fresh: &[uuid::Uuid]| {
        let (columns, zone) = (page.columns.get(), page.zone.get());
        rows_html(events, &RowStyle { columns: &columns, zone: &zone, now: Utc::now() }, fresh)
    };
    // Rows that came in the server's HTML stay as they are; to write them differently (other
    // columns, the browser's zone) the browser reads those events first.
    let read = RwSignal::new(None::<Vec<Event>>);
    let page_rows = move || match (from_html, read.get()) {
        (true, None) => String::new(),
        (true, Some(e)) => write(&e, &[]),
        (false, _) => events.with_value(|e| write(e, &[])),
    };
    Effect::new(move |before: Option<()>| {
        page.columns.track();
        page.zone.track();
        if before.is_some() && from_html && read.get_untracked().is_none() {
            read_shown_events(page, read);
        }
    });
    let live_rows = move || {
        let fresh = page.live.fresh.get();
        page.live.rows.with(|rows| write(rows, &fresh))
    };
    Effect::new(move |_| {
        let opened = page.view.get().event;
        page.columns.track();
        page.zone.track();
        page.live.rows.track();
        crate::browser::mark_selected_row(opened);
    });
    let label = move |n: usize| page.columns.with_untracked(|c| c.get(n).map(|f| f.label()));
    let on_click = move |ev: leptos::ev::MouseEvent| match table_hit(&ev) {
        TableHit::Filter { is, column, value } => {
            ev.stop_propagation();
            let Some(field) = page.columns.with_untracked(|c| c.get(column).cloned()) else { return };
            page.apply(|v| if is { v.focus_on(field, value) } else { v.exclude_value(field, value) }.with_event(None));
        }
        TableHit::Row(id) => page.apply(|v| v.with_event(Some(id))),
        TableHit::Nothing => {}
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() != "Enter" {
            return;
        }
        if let TableHit::Row(id) = table_hit(&ev) {
            // Enter on a filter button presses it (a click follows); on the row it opens.
            if !crate::browser::on_button(&ev) {
                ev.prevent_default();
                page.apply(|v| v.with_event(Some(id)));
            }
        }
    };
    view! {
        <div class="table-wrap">
            <table class="events" on:click=on_click on:keydown=on_key
                on:pointerover=move |ev| offer_filters(&ev, label) on:focusin=move |ev| offer_filters(&ev, label)>
                <caption class="visually-hidden">"Audit events, newest first. Press Enter on a row for details."</caption>
                <thead>
                    <tr>
                        <th scope="col" class="col-time">"Time"</th>
                        {move || page.columns.get().into_iter().map(|field| view! { <ColumnHeader field/> }).collect_view()}
                    </tr>
                </thead>
                <tbody class="live-rows" inner_html=live_rows></tbody>
                <tbody inner_html=page_rows></tbody>
            </table>
        </div>
    }
}

/// A column's header with a handle to resize it: drag it, or focus it and press ← / →.
#[component]
fn ColumnHeader(field: Field) -> impl IntoView {
    let page = use_page();
    let label = field.label();
    let field = StoredValue::new(field);
    let chosen = move || field.with_value(|f| page.widths.with(|w| w.iter().find(|(c, _)| c == f).map(|(_, px)| f64::from(*px))));
    // While dragging: where the pointer went down and the width then; the width shown now.
    let drag = RwSignal::new(None::<(f64, f64)>);
    let dragged = RwSignal::new(None::<f64>);
    let measured = RwSignal::new(0.0);
    let shown = move || dragged.get().or_else(chosen);
    let commit = move |px: f64| field.with_value(|f| page.set_width(f, px));
    view! {
        <th scope="col" class=field.with_value(column_class) style=move || shown().map(|px| format!("width: {px:.0}px")).unwrap_or_default()>
            {label.clone()}
            <span class="col-resize" role="separator" aria-orientation="vertical" tabindex="0"
                aria-label=format!("Width of {label}") aria-valuemin=MIN_WIDTH aria-valuemax=MAX_WIDTH
                aria-valuenow=move || format!("{:.0}", shown().unwrap_or(measured.get()))
                on:focus=move |ev| measured.set(crate::browser::parent_width(&ev))
                on:pointerdown=move |ev| {
                    ev.prevent_default();
                    crate::browser::capture_pointer(&ev);
                    drag.set(Some((f64::from(ev.client_x()), crate::browser::parent_width(&ev))));
                }
                on:pointermove=move |ev| if let Some((x0, w0)) = drag.get_untracked() {
                    dragged.set(Some((w0 + f64::from(ev.client_x()) - x0).clamp(f64::from(MIN_WIDTH), f64::from(MAX_WIDTH))));
                }
                on:pointerup=move |_| if drag.get_untracked().is_some() {
                    drag.set(None);
                    if let Some(px) = dragged.get_untracked() { commit(px); }
                    dragged.set(None);
                }
                on:keydown=move |ev| {
                    let step = match ev.key().as_str() { "ArrowLeft" => -16.0, "ArrowRight" => 16.0, _ => return };
                    ev.prevent_default();
                    let now = chosen().unwrap_or_else(|| crate::browser::parent_width(&ev));
                    commit(now + step);
                }></span>
        </th>
    }
}

/// Reads the events whose rows came in the server's HTML (the same view, a little more in
/// case new ones arrived since; only those shown are kept, in their order).
fn read_shown_events(page: crate::page_state::Page, into: RwSignal<Option<Vec<Event>>>) {
    let ids = page.page_ids();
    let mut view = page.now();
    view.limit = (ids.len() as u32 + 50).min(crate::query::view::MAX_LIMIT);
    let query = crate::page_state::events_query(&view);
    leptos::task::spawn_local(async move {
        if let Ok(read) = crate::client::get_json::<EventPage>(format!("/api/v1/events?{query}")).await {
            into.set(Some(ids.iter().filter_map(|id| read.events.iter().find(|e| e.id == *id).cloned()).collect()));
        }
    });
}

/// "1–50 of 1,234 events"; just the total when every event is shown or the position is not
/// known.
pub fn position_label(offset: Option<u64>, shown: u64, total: crate::api::Total) -> String {
    let everything = total.exact && shown >= total.count;
    match offset {
        Some(first) if shown > 0 && !everything => {
            let of = if total.exact { total_label(total) } else { format!("more than {} events", thousands(total.count)) };
            format!("{}–{} of {of}", thousands(first + 1), thousands(first + shown))
        }
        _ => total_label(total),
    }
}

#[component]
fn EmptyState() -> impl IntoView {
    let page = use_page();
    let view_now = page.now();
    let described = describe_filters(&view_now);
    let month = TimeRange::Relative(RelativeRange::new(30, TimeUnit::Day));
    let wider = view_now.range != month;
    let has_filters = !view_now.filters().is_empty() || view_now.search.is_some();
    view! {
        <div class="state empty-state" role="status">
            <Icon name=IconName::Filter/>
            <h2>"No events match"</h2>
            <p class="muted">{if described.is_empty() { "Nothing happened in this time range.".to_string() } else { shown(&described) }}</p>
            <div class="state-actions">
                {wider.then(|| view! { <button type="button" class="button" on:click=move |_| page.apply(|v| v.with_range(month))>"Search the last 30 days"</button> })}
                {has_filters.then(|| view! { <button type="button" class="button" on:click=move |_| page.apply(|v| v.clear_filters().with_search(""))>"Clear filters and search"</button> })}
            </div>
        </div>
    }
}

#[component]
fn ErrorState(error: ClientError) -> impl IntoView {
    let page = use_page();
    view! {
        <div class="state error-state" role="alert">
            <Icon name=IconName::Alert/>
            <h2>"Events could not be loaded"</h2>
            <p>{error.message.clone()}</p>
            {(!error.details.is_empty()).then(|| view! {
                <ul class="muted">{error.details.iter().map(|d| view! { <li>{d.message.clone()}</li> }).collect_view()}</ul>
            })}
            <button type="button" class="button primary" on:click=move |_| page.events.refetch()>
                <Icon name=IconName::Refresh/>"Try again"
            </button>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::position_label;
    use crate::api::Total;

    #[test]
    fn the_header_says_which_events_of_how_many() {
        let total = Total { count: 1234, exact: true };
        assert_eq!(position_label(Some(0), 50, total), "1–50 of 1,234 events");
        assert_eq!(position_label(Some(1200), 34, total), "1,201–1,234 of 1,234 events");
        assert_eq!(position_label(None, 50, total), "1,234 events", "an old link's cursor has no position");
        assert_eq!(position_label(Some(0), 0, Total { count: 0, exact: true }), "0 events");
        assert_eq!(position_label(Some(0), 30, Total { count: 30, exact: true }), "30 events", "all on one page");
        assert_eq!(position_label(Some(0), 50, Total { count: 10_000, exact: false }), "1–50 of more than 10,000 events");
    }
}
