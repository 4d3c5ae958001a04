//! `/overview`: events in the last day, week and month against the period before, failure
//! rate, volume by day, top actions, actors and resources, where events come from (and which
//! source went quiet), and the newest events — refreshed every few seconds.

use leptos::prelude::*;

use super::{actor_items, resource_items, when, when_opt, DayBars, EventList, Frame, RankedList};
use crate::api::EventPage;
use crate::client::get_json;
use crate::format::thousands;
use crate::insight::{investigate_link, Overview, Period, QUIET_HOURS};
use crate::query::Field;

/// The newest events are read again this often.
const REFRESH_MS: u64 = 5000;

#[component]
pub fn OverviewPage() -> impl IntoView {
    let overview = Resource::new(|| (), |_| get_json::<Overview>("/api/v1/overview".into()));
    view! {
        <Frame current="/overview">
            <h1>"Overview"</h1>
            <Suspense fallback=|| view! { <p class="muted">"Loading the overview…"</p> }>
                {move || overview.get().map(|result| match result {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(o) => view! { <OverviewBody overview=o/> }.into_any(),
                })}
            </Suspense>
        </Frame>
    }
}

#[component]
fn OverviewBody(overview: Overview) -> impl IntoView {
    let start = overview.days.first().map(|d| d.start);
    let actions: Vec<_> = overview
        .top_actions
        .iter()
        .map(|r| {
            (
                investigate_link(&[(Field::Action, &r.value)], start),
                r.value.clone(),
                None,
                r.count,
            )
        })
        .collect();
    let actor_rows = actor_items(&overview.top_actors);
    let resource_rows = resource_items(&overview.top_resources);
    let period_cards = overview
        .periods
        .iter()
        .map(|p| view! { <PeriodCard period=p.clone()/> })
        .collect_view();
    view! {
        <section class="period-cards" aria-label="Event counts">{period_cards}</section>
        <section class="card">
            <div class="card-head">
                <h2>"Events per day (UTC), last 30 days"</h2>
                <a class="button small" href=investigate_link(&[], start)>"View all"</a>
            </div>
            <DayBars days=overview.days.clone() filters=vec![] label="Events per day"/>
        </section>
        <div class="card-grid">
            <RankedList title="Top actions" items=actions empty="No events in the last 30 days."/>
            <RankedList title="Top actors" items=actor_rows empty="No actors in the last 30 days."/>
            <RankedList title="Top resources" items=resource_rows empty="No resources in the last 30 days."/>
        </div>
        {(!overview.exact).then(|| view! { <p class="muted">"Top lists are tallied over the newest events you may see."</p> })}
        <Sources sources=overview.sources.clone()/>
        <Latest first=overview.latest.clone()/>
    }
}

#[component]
fn PeriodCard(period: Period) -> impl IntoView {
    let change = period.change_percent();
    let class = match change {
        Some(c) if c > 0 => "change up",
        Some(c) if c < 0 => "change down",
        _ => "change",
    };
    let change_text = period.change_label();
    let failures = investigate_link(&[(Field::Outcome, "failure")], Some(period.from));
    view! {
        <a class="card period-card" href=investigate_link(&[], Some(period.from))>
            <span class="period-label">{period.label.clone()}</span>
            <span class="period-count">{thousands(period.count)}</span>
            <span class=class>{change_text}</span>
        </a>
        <a class="card period-card failures" href=failures>
            <span class="period-label">{format!("Failures, {}", period.label.to_lowercase())}</span>
            <span class="period-count">{format!("{}%", period.failure_rate())}</span>
            <span class="change">{format!("{} failed", thousands(period.failures))}</span>
        </a>
    }
}

#[component]
fn Sources(sources: Vec<crate::insight::Source>) -> impl IntoView {
    view! {
        <section class="card">
            <h2>"Where events come from"</h2>
            {if sources.is_empty() {
                view! { <p class="muted">"No events in the last 30 days."</p> }.into_any()
            } else {
                view! {
                    <ul class="source-list">
                        {sources.into_iter().map(|s| {
                            let href = if s.kind == "source" { investigate_link(&[(Field::Source, &s.name)], None) } else { "/admin/tokens".into() };
                            let kind = if s.kind == "source" { "source" } else { "ingest token" };
                            view! {
                                <li class:quiet=s.quiet>
                                    <a href=href><bdi>{s.name.clone()}</bdi></a>
                                    <span class="muted">{kind}</span>
                                    <span>{format!("last event {}", when_opt(s.last_seen))}</span>
                                    {s.quiet.then(|| view! {
                                        <span class="quiet-chip" role="status">{format!("quiet for more than {QUIET_HOURS} hours")}</span>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
        </section>
    }
}

/// The newest events: rendered with the page, then read again every few seconds.
#[component]
fn Latest(first: Vec<crate::event::Event>) -> impl IntoView {
    let events = RwSignal::new(first);
    let updated = RwSignal::new(None::<chrono::DateTime<chrono::Utc>>);
    #[cfg(feature = "hydrate")]
    {
        let handle = set_interval_with_handle(
            move || {
                leptos::task::spawn_local(async move {
                    if let Ok(page) = get_json::<EventPage>(format!(
                        "/api/v1/events?range=30d&limit={}",
                        events.get_untracked().len().max(20)
                    ))
                    .await
                    {
                        if !page.events.is_empty() {
                            events.set(page.events);
                        }
                        updated.set(Some(chrono::Utc::now()));
                    }
                });
            },
            std::time::Duration::from_millis(REFRESH_MS),
        );
        if let Ok(handle) = handle {
            on_cleanup(move || handle.clear());
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (REFRESH_MS, std::marker::PhantomData::<EventPage>);
    view! {
        <section class="card">
            <div class="card-head">
                <h2>"Latest events"</h2>
                <span class="muted" aria-live="polite">{move || updated.get().map(|t| format!("updated {}", when(t)))}</span>
                <a class="button small" href="/?range=30d">"View all"</a>
            </div>
            {move || view! { <EventList events=events.get() caption="The newest events"/> }}
        </section>
    }
}
