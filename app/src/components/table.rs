//! The events table with its header (total, page size, paging) and its empty and error states.

use chrono::Utc;
use leptos::prelude::*;

use crate::api::EventPage;
use crate::client::ClientError;
use crate::components::icons::{Icon, IconName};
use crate::components::live::NewEventsButton;
use crate::components::cells::{FilterCell, OutcomeBadge};
use crate::event::{Event, Outcome};
use crate::format::{actor_badge, describe_filters, status_class, time_exact, time_short, total_label};
use crate::page_state::use_page;
use crate::query::time_range::{RelativeRange, TimeUnit};
use crate::query::view::PAGE_SIZES;
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
                        Ok(p) => view! { <ResultsHeader page=p.clone()/><NewEventsButton/><EventsOrEmpty events=p.events/> }.into_any(),
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
    view! {
        <div class="results-head">
            <h2 class="total" aria-live="polite">
                {move || {
                    // Events that arrived live are part of the selection too.
                    let live = ctx.live.received.with(Vec::len) as u64;
                    total_label(crate::api::Total { count: page.total.count + live, exact: page.total.exact })
                }}
            </h2>
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
fn EventsOrEmpty(events: Vec<Event>) -> impl IntoView {
    let live = use_page().live;
    let page_empty = events.is_empty();
    let show_table = Memo::new(move |_| !page_empty || live.rows.with(|r| !r.is_empty()));
    let events = StoredValue::new(events);
    move || {
        if show_table.get() {
            view! { <EventsTable events=events.get_value()/> }.into_any()
        } else {
            view! { <EmptyState/> }.into_any()
        }
    }
}

#[component]
fn EventsTable(events: Vec<Event>) -> impl IntoView {
    view! {
        <div class="table-wrap">
            <table class="events">
                <caption class="visually-hidden">"Audit events, newest first. Press Enter on a row for details."</caption>
                <thead>
                    <tr>
                        <th scope="col" class="col-time">"Time"</th>
                        <th scope="col" class="col-actor">"Actor"</th>
                        <th scope="col" class="col-action">"Action"</th>
                        <th scope="col" class="col-method">"Method"</th>
                        <th scope="col" class="col-status">"Status"</th>
                        <th scope="col" class="col-resource">"Resource"</th>
                        <th scope="col" class="col-outcome">"Outcome"</th>
                    </tr>
                </thead>
                <tbody>
                    // Live rows (at most a few hundred) re-render as a list; a keyed <For> would
                    // add 13 KB to the bundle. Only rows marked fresh animate.
                    {move || use_page().live.rows.get().into_iter().map(|event| view! { <EventRow event/> }).collect_view()}
                    {events.into_iter().map(|e| view! { <EventRow event=e/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn EventRow(event: Event) -> impl IntoView {
    let page = use_page();
    let id = event.id;
    let open = move || page.apply(|v| v.with_event(Some(id)));
    let selected = move || page.view.get().event == Some(id);
    let t = event.occurred_at;
    let badge = actor_badge(&event);
    let request_line = format!("{} {}", event.method.clone().unwrap_or_default(), event.path.clone().unwrap_or_default());
    let resource = event.resource.clone();
    view! {
        <tr tabindex="0" id=crate::page_state::row_id(id) class:selected=selected class:failed=event.outcome == Outcome::Failure
            class:fresh=move || page.live.fresh.with(|f| f.contains(&id))
            aria-selected=move || selected().to_string()
            on:click=move |_| open()
            on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); open(); }>
            <td class="col-time">
                <time datetime=t.to_rfc3339() title=move || time_exact(t, page.zone.get().offset_minutes(t))>
                    {move || time_short(t, page.zone.get().offset_minutes(t), Utc::now())}
                </time>
            </td>
            <FilterCell field=Field::ActorName value=Some(event.actor.name.clone())>
                <span class="actor-name" title=event.actor.email.clone().unwrap_or_else(|| event.actor.id.clone())>{shown(&event.actor.name)}</span>
                {badge.map(|b| view! { <span class=format!("badge badge-{}", b.to_ascii_lowercase())>{b}</span> })}
            </FilterCell>
            <FilterCell field=Field::Action value=Some(event.action.clone())>
                <span class="action mono" title=request_line.trim().to_string()>{shown(&event.action)}</span>
            </FilterCell>
            <FilterCell field=Field::Method value=event.method.clone()>
                <span class="method mono">{shown(event.method.as_deref().unwrap_or_default())}</span>
            </FilterCell>
            <FilterCell field=Field::Status value=event.status.map(|s| s.to_string())>
                {event.status.map(|s| view! { <span class=format!("status {}", status_class(s))>{s}</span> })}
            </FilterCell>
            <FilterCell field=Field::ResourceName value=resource.as_ref().and_then(|r| r.name.clone())>
                {resource.map(|r| view! {
                    <span class="resource-type">{shown(&r.resource_type)}</span>
                    <span class="resource-name" title=r.id.clone().unwrap_or_default()>{shown(r.name.as_deref().or(r.id.as_deref()).unwrap_or_default())}</span>
                })}
            </FilterCell>
            <FilterCell field=Field::Outcome value=Some(event.outcome.as_str().to_string())>
                <OutcomeBadge outcome=event.outcome/>
            </FilterCell>
        </tr>
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
