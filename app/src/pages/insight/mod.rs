//! The pages that start from something other than a view: the overview, a resource's and an
//! actor's history, and alerts. Server-rendered with their data (readable without
//! JavaScript); every number and row links into the investigation page or another history.

mod actor;
mod alerts;
mod overview;
mod resource;

pub use actor::ActorPage;
pub use alerts::AlertsPage;
pub use overview::OverviewPage;
pub use resource::ResourcePage;

use chrono::{DateTime, Utc};
use leptos::prelude::*;

use crate::components::brand::Brand;
use crate::components::theme::ThemeToggle;
use crate::components::user_menu::UserMenu;
use crate::event::Event;
use crate::format::thousands;
use crate::insight::{
    actor_path, investigate_between, investigate_link, resource_path, DayCount, Ranked,
};
use crate::query::Field;

/// The frame of these pages: the bar with the main navigation, then the content.
#[component]
fn Frame(current: &'static str, children: Children) -> impl IntoView {
    view! {
        <div class="app insight">
            <header class="topbar">
                <Brand/>
                <MainNav current/>
                <div class="topbar-actions">
                    <ThemeToggle/>
                    <UserMenu/>
                </div>
            </header>
            <main class="insight-main">{children()}</main>
        </div>
    }
}

/// Overview · Events · Alerts.
#[component]
pub fn MainNav(current: &'static str) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str| {
        view! { <a href=href class="admin-nav-link" aria-current=(href == current).then_some("page")>{label}</a> }
    };
    view! {
        <nav class="admin-nav" aria-label="Main">
            {link("/overview", "Overview")}
            {link("/", "Events")}
            {link("/alerts", "Alerts")}
        </nav>
    }
}

/// "Dec 3, 09:12 UTC".
fn when(t: DateTime<Utc>) -> String {
    format!("{} UTC", crate::format::time_minutes(t, 0))
}

fn when_opt(t: Option<DateTime<Utc>>) -> String {
    t.map(when).unwrap_or_else(|| "—".into())
}

/// A list of ranked values, each linking somewhere, with its count (and a bar).
#[component]
fn RankedList(
    title: &'static str,
    items: Vec<(String, String, Option<String>, u64)>,
    empty: &'static str,
) -> impl IntoView {
    let top = items.iter().map(|i| i.3).max().unwrap_or(1).max(1);
    view! {
        <section class="card ranked">
            <h2>{title}</h2>
            {if items.is_empty() {
                view! { <p class="muted">{empty}</p> }.into_any()
            } else {
                view! {
                    <ol class="ranked-list">
                        {items.into_iter().map(|(href, label, detail, count)| {
                            let width = format!("width: {:.1}%", count as f64 * 100.0 / top as f64);
                            view! {
                                <li>
                                    <a href=href class="ranked-link">
                                        <span class="ranked-label"><bdi>{label}</bdi>
                                            {detail.map(|d| view! { <span class="muted ranked-detail"><bdi>{d}</bdi></span> })}
                                        </span>
                                        <span class="ranked-count">{thousands(count)}</span>
                                        <span class="ranked-bar" style=width aria-hidden="true"></span>
                                    </a>
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

/// Actors as ranked items linking to their pages.
fn actor_items(list: &[Ranked]) -> Vec<(String, String, Option<String>, u64)> {
    list.iter()
        .map(|r| {
            (
                actor_path(&r.value),
                r.name.clone().unwrap_or_else(|| r.value.clone()),
                r.name.as_ref().map(|_| r.value.clone()),
                r.count,
            )
        })
        .collect()
}

/// Resources as ranked items linking to their pages.
fn resource_items(list: &[Ranked]) -> Vec<(String, String, Option<String>, u64)> {
    list.iter()
        .map(|r| {
            let kind = r.kind.clone().unwrap_or_default();
            (
                resource_path(&kind, &r.value),
                r.name.clone().unwrap_or_else(|| r.value.clone()),
                Some(format!("{kind} · {}", r.value)),
                r.count,
            )
        })
        .collect()
}

/// Events per day as bars (failures stacked on top), each day a link to its events.
#[component]
fn DayBars(
    days: Vec<DayCount>,
    filters: Vec<(Field, String)>,
    label: &'static str,
) -> impl IntoView {
    let top = days
        .iter()
        .map(|d| d.success + d.failure)
        .max()
        .unwrap_or(1)
        .max(1);
    let day = |i: usize| {
        days.get(i)
            .map(|d| crate::format::month_day(d.start.date_naive()))
            .unwrap_or_default()
    };
    let axis = (
        day(0),
        day(days.len() / 2),
        day(days.len().saturating_sub(1)),
    );
    view! {
        <ol class="day-bars" aria-label=label>
            {days.into_iter().map(|d| {
                let total = d.success + d.failure;
                let h = |n: u64| format!("height: {:.1}%", n as f64 * 100.0 / top as f64);
                let refs: Vec<(Field, &str)> = filters.iter().map(|(f, v)| (f.clone(), v.as_str())).collect();
                let href = investigate_between(&refs, Some(d.start), Some(d.start + chrono::TimeDelta::days(1)));
                let title = format!("{}: {} events, {} failed", crate::format::month_day(d.start.date_naive()), thousands(total), thousands(d.failure));
                view! {
                    <li class="day-bar">
                        <a href=href title=title.clone() aria-label=title>
                            <span class="day-bar-stack">
                                <span class="day-bar-failure" style=h(d.failure)></span>
                                <span class="day-bar-success" style=h(d.success)></span>
                            </span>
                        </a>
                    </li>
                }
            }).collect_view()}
        </ol>
        <div class="day-axis" aria-hidden="true"><span>{axis.0}</span><span>{axis.1}</span><span>{axis.2}</span></div>
    }
}

/// A compact list of events: time, action, actor, resource, outcome — with links.
#[component]
fn EventList(events: Vec<Event>, caption: &'static str) -> impl IntoView {
    view! {
        <div class="admin-table-wrap">
            <table class="admin-table event-list">
                <caption class="visually-hidden">{caption}</caption>
                <thead><tr>
                    <th scope="col">"Time (UTC)"</th><th scope="col">"Action"</th><th scope="col">"Actor"</th>
                    <th scope="col">"Resource"</th><th scope="col">"Outcome"</th>
                </tr></thead>
                <tbody>
                    {events.into_iter().map(|e| view! { <EventRow event=e/> }).collect_view()}
                </tbody>
            </table>
        </div>
    }
}

#[component]
fn EventRow(event: Event) -> impl IntoView {
    let details = format!(
        "{}&event={}",
        investigate_link(
            &[(Field::Action, &event.action)],
            Some(event.occurred_at - chrono::TimeDelta::minutes(1))
        ),
        event.id
    );
    let failed = event.outcome == crate::event::Outcome::Failure;
    view! {
        <tr class:failed=failed>
            <td class="nowrap"><a href=details>{when(event.occurred_at)}</a></td>
            <td><bdi class="mono">{event.action.clone()}</bdi></td>
            <td><a href=actor_path(&event.actor.id)><bdi>{event.actor.name.clone()}</bdi></a></td>
            <td>{event.resource.clone().map(|r| match r.id.clone() {
                Some(id) => { let href = resource_path(&r.resource_type, &id); view! {
                    <a href=href><span class="muted">{r.resource_type.clone()}" "</span>
                        <bdi>{r.name.clone().unwrap_or(id)}</bdi></a>
                }.into_any() },
                None => view! { <span class="muted">{r.resource_type.clone()}</span> }.into_any(),
            })}</td>
            <td><span class=if failed { "outcome-chip failure" } else { "outcome-chip success" }>{event.outcome.as_str()}</span></td>
        </tr>
    }
}
