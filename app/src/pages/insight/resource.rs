//! `/resources/{type}/{id}`: a resource's story — its names, first and last event, who acted
//! on it, its activity by day, its version history (every change, before → after, in order)
//! and its newest events.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{actor_items, when, when_opt, DayBars, EventList, Frame, RankedList};
use crate::client::get_json;
use crate::event::Event;
use crate::format::{change_value, thousands};
use crate::insight::{actor_path, investigate_link, segment, ResourceHistory};
use crate::query::Field;

#[component]
pub fn ResourcePage() -> impl IntoView {
    let params = use_params_map();
    let key = move || {
        params.with(|p| {
            (
                p.get("kind").unwrap_or_default(),
                p.get("id").unwrap_or_default(),
            )
        })
    };
    let history = Resource::new(key, |(kind, id)| {
        get_json::<ResourceHistory>(format!(
            "/api/v1/resources/{}/{}",
            segment(&kind),
            segment(&id)
        ))
    });
    view! {
        <Frame current="">
            <Suspense fallback=|| view! { <p class="muted">"Loading its history…"</p> }>
                {move || history.get().map(|result| match result {
                    Err(e) => view! {
                        <h1>"Resource"</h1>
                        <p class="form-error" role="alert">{e.message}</p>
                    }.into_any(),
                    Ok(h) => view! { <ResourceBody history=h/> }.into_any(),
                })}
            </Suspense>
        </Frame>
    }
}

#[component]
fn ResourceBody(history: ResourceHistory) -> impl IntoView {
    let name = history
        .names
        .last()
        .map(|n| n.name.clone())
        .unwrap_or_else(|| history.id.clone());
    let pinned = [
        (Field::ResourceType, history.resource_type.as_str()),
        (Field::ResourceId, history.id.as_str()),
    ];
    let all = investigate_link(&pinned, history.first);
    let last_change = history.changes.last().map(|e| e.occurred_at);
    let actions: Vec<_> = history
        .actions
        .iter()
        .map(|r| {
            let mut filters = pinned.to_vec();
            filters.push((Field::Action, &r.value));
            (
                investigate_link(&filters, history.first),
                r.value.clone(),
                None,
                r.count,
            )
        })
        .collect();
    let filters = vec![
        (Field::ResourceType, history.resource_type.clone()),
        (Field::ResourceId, history.id.clone()),
    ];
    view! {
        <div class="history-head">
            <span class="kind-chip">{history.resource_type.clone()}</span>
            <h1><bdi>{name}</bdi></h1>
            <p class="muted mono"><bdi>{history.id.clone()}</bdi></p>
        </div>
        <dl class="facts">
            <div><dt>"Events"</dt><dd><a href=all.clone()>{thousands(history.total)}</a></dd></div>
            <div><dt>"First event"</dt><dd>{when_opt(history.first)}</dd></div>
            <div><dt>"Last event"</dt><dd>{when_opt(history.last)}</dd></div>
            <div><dt>"Last change"</dt><dd>{when_opt(last_change)}</dd></div>
        </dl>
        {history.sampled.then(|| view! {
            <p class="muted">{format!("Names, actors, actions and days are tallied over its newest {} events.", thousands(crate::insight::BREAKDOWN_SAMPLE as u64))}</p>
        })}
        {(history.names.len() > 1).then(|| view! {
            <section class="card">
                <h2>"Names it has had"</h2>
                <ul class="name-list">
                    {history.names.iter().map(|n| view! {
                        <li><bdi>{n.name.clone()}</bdi><span class="muted">{format!(" {} – {}", when(n.first), when(n.last))}</span></li>
                    }).collect_view()}
                </ul>
            </section>
        })}
        <section class="card">
            <div class="card-head"><h2>"Activity by day"</h2></div>
            <DayBars days=history.activity.clone() filters label="Events on it per day"/>
        </section>
        <div class="card-grid">
            <RankedList title="Who acted on it" items=actor_items(&history.actors) empty="Nobody."/>
            <RankedList title="Actions on it" items=actions empty="No actions."/>
        </div>
        <VersionHistory changes=history.changes.clone()/>
        <section class="card">
            <div class="card-head">
                <h2>"Newest events"</h2>
                <a class="button small" href=all>{format!("All {} in the investigation page", thousands(history.total))}</a>
            </div>
            <EventList events=history.latest.clone() caption="Its newest events"/>
        </section>
    }
}

/// The page shows at most this many changes (the newest), in order.
const VERSIONS_SHOWN: usize = 100;

/// Every change, oldest first: who, when, and each field's before → after.
#[component]
fn VersionHistory(changes: Vec<Event>) -> impl IntoView {
    let all = changes.len();
    let changes: Vec<Event> = changes
        .into_iter()
        .skip(all.saturating_sub(VERSIONS_SHOWN))
        .collect();
    let note = (all > VERSIONS_SHOWN).then(|| format!("The newest {VERSIONS_SHOWN} changes, oldest first (the investigation page has them all)."));
    let offset = all.saturating_sub(VERSIONS_SHOWN);
    view! {
        <section class="card" aria-labelledby="versions">
            <h2 id="versions">"Version history"</h2>
            {note.map(|n| view! { <p class="muted">{n}</p> })}
            {if changes.is_empty() {
                view! { <p class="muted">"No event recorded a change to it."</p> }.into_any()
            } else {
                view! {
                    <ol class="versions">
                        {changes.into_iter().enumerate().map(|(i, e)| view! {
                            <li class="version">
                                <div class="version-head">
                                    <span class="version-number">{format!("#{}", offset + i + 1)}</span>
                                    <span>{when(e.occurred_at)}</span>
                                    <bdi class="mono">{e.action.clone()}</bdi>
                                    <span>"by "<a href=actor_path(&e.actor.id)><bdi>{e.actor.name.clone()}</bdi></a></span>
                                </div>
                                <table class="change-table">
                                    <thead class="visually-hidden"><tr><th scope="col">"Field"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                                    <tbody>
                                        {e.changes.iter().map(|c| view! {
                                            <tr>
                                                <th scope="row"><bdi>{c.field.clone()}</bdi></th>
                                                <td class="before"><bdi>{change_value(c.before.as_ref())}</bdi></td>
                                                <td class="after"><bdi>{change_value(c.after.as_ref())}</bdi></td>
                                            </tr>
                                        }).collect_view()}
                                    </tbody>
                                </table>
                            </li>
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}
