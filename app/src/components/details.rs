//! The details of one event (`event=<id>` in the URL): every field, the changes before →
//! after, metadata, copy as JSON, and every event of the same request.

use chrono::Duration;
use leptos::prelude::*;

use crate::client::get_json_and_text;
use crate::components::icons::{Icon, IconName};
use crate::components::cells::{FilterButtons, OutcomeBadge};
use crate::components::toolbar::copy_text;
use crate::event::Event;
use crate::format::{actor_badge, change_value, pretty_json, status_class, time_exact};
use crate::page_state::use_page;
use crate::query::{Field, FilterValue, TimeRange};
use crate::reveal::{has_hidden, shown};

#[component]
pub fn DetailsPanel() -> impl IntoView {
    let page = use_page();
    let opened = Memo::new(move |_| page.view.get().event);
    let details = Resource::new(move || opened.get(), |id| async move {
        match id {
            Some(id) => get_json_and_text::<Event>(format!("/api/v1/events/{id}")).await.map(Some),
            None => Ok(None),
        }
    });
    let close = move || page.close_event();
    view! {
        <Show when=move || opened.get().is_some()>
            <div class="details" role="dialog" aria-modal="false" aria-labelledby="details-title">
                <Transition fallback=|| view! { <p class="state muted">"Loading event…"</p> }>
                    {move || Suspend::new(async move {
                        match details.await {
                            Ok(Some((event, json))) => view! { <EventDetails event json/> }.into_any(),
                            Ok(None) => ().into_any(),
                            Err(e) => view! {
                                <div class="details-head">
                                    <h2 id="details-title">"Event not available"</h2>
                                    <button type="button" class="icon-button" aria-label="Close details" on:click=move |_| close()>
                                        <Icon name=IconName::Close/>
                                    </button>
                                </div>
                                <p class="state">{e.message}</p>
                            }.into_any(),
                        }
                    })}
                </Transition>
            </div>
        </Show>
    }
}

#[component]
fn EventDetails(event: Event, json: String) -> impl IntoView {
    let page = use_page();
    let close = move || page.close_event();
    // The keyboard focus moves into the details (and back to the row when they close).
    Effect::new(move |_| {
        crate::browser::focus_id_soon("details-title".into());
    });
    let t = event.occurred_at;
    let received = event.received_at;
    let metadata = event.metadata.is_some().then(|| pretty_json(&json, Some("metadata")));
    let json = pretty_json(&json, None);
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let json = json.clone();
        copy_text(json, move |ok| {
            copied.set(ok);
            set_timeout(move || copied.set(false), std::time::Duration::from_millis(2000));
        })
    };
    let request = event.request_id.clone().map(|rid| {
        let all_of_request = move |_| {
            let id = rid.clone();
            page.apply(|v| {
                v.clear_filters()
                    .with_search("")
                    .with_range(TimeRange::absolute(t - Duration::days(1), t + Duration::days(1)))
                    .with_filter_values(Field::RequestId, false, [FilterValue::Exact(id)])
                    .with_event(None)
            })
        };
        view! {
            <button type="button" class="button" on:click=all_of_request>"All events of this request"</button>
        }
    });
    let badge = actor_badge(&event);
    let fact = |label: &'static str, value: Option<String>, field: Option<Field>| {
        value.map(|v| view! {
            <div class="fact">
                <dt>{label}</dt>
                <dd>
                    <FactValue value=v.clone()/>
                    {field.map(|f| view! { <FilterButtons field=f value=v.clone()/> })}
                </dd>
            </div>
        })
    };
    let resource = event.resource.clone();
    view! {
        <div class="details-head">
            <div>
                <h2 id="details-title" class="mono" tabindex="-1">{shown(&event.action)}</h2>
                <p class="muted">
                    <time datetime=t.to_rfc3339()>{move || time_exact(t, page.zone.get().offset_minutes(t))}</time>
                </p>
            </div>
            <OutcomeBadge outcome=event.outcome/>
            <button type="button" class="icon-button" aria-label="Close details" title="Close (Esc)" on:click=move |_| close()>
                <Icon name=IconName::Close/>
            </button>
        </div>
        <div class="details-actions">
            <StepButtons id=event.id/>
            <button type="button" class="button" on:click=copy>
                <Icon name=IconName::Copy/>{move || if copied.get() { "Copied" } else { "Copy as JSON" }}
            </button>
            {request}
            <a class="button" href=crate::insight::actor_path(&event.actor.id)>"Actor history"</a>
            {resource.as_ref().and_then(|r| r.id.clone().map(|id| view! {
                <a class="button" href=crate::insight::resource_path(&r.resource_type, &id)>"Resource history"</a>
            }))}
        </div>
        {event.error.clone().map(|e| view! { <div class="error-box" role="note"><strong>"Error"</strong><p>{shown(&e)}</p></div> })}
        <dl class="facts">
            <div class="fact">
                <dt>"Actor"</dt>
                <dd>
                    <FactValue value=event.actor.name.clone()/>
                    {badge.map(|b| view! { <span class=format!("badge badge-{}", b.to_ascii_lowercase())>{b}</span> })}
                    <FilterButtons field=Field::ActorName value=event.actor.name.clone()/>
                </dd>
            </div>
            {fact("Actor ID", Some(event.actor.id.clone()), Some(Field::ActorId))}
            {fact("Email", event.actor.email.clone(), Some(Field::ActorEmail))}
            {fact("Actor type", Some(event.actor.actor_type.as_str().to_string()), Some(Field::ActorType))}
            {fact("Source", event.source.clone(), Some(Field::Source))}
            {fact("Method", event.method.clone(), Some(Field::Method))}
            {fact("Path", event.path.clone(), Some(Field::Path))}
            {event.status.map(|s| view! {
                <div class="fact">
                    <dt>"Status"</dt>
                    <dd>
                        <span class=format!("status {}", status_class(s))>{s}</span>
                        <FilterButtons field=Field::Status value=s.to_string()/>
                    </dd>
                </div>
            })}
            {fact("Resource type", resource.as_ref().map(|r| r.resource_type.clone()), Some(Field::ResourceType))}
            {fact("Resource ID", resource.as_ref().and_then(|r| r.id.clone()), Some(Field::ResourceId))}
            {fact("Resource", resource.as_ref().and_then(|r| r.name.clone()), Some(Field::ResourceName))}
            {fact("Request ID", event.request_id.clone(), Some(Field::RequestId))}
            {fact("IP address", event.ip.clone(), Some(Field::Ip))}
            {fact("User agent", event.user_agent.clone(), None)}
            <div class="fact">
                <dt>"Received"</dt>
                <dd><span class="fact-value">{move || time_exact(received, page.zone.get().offset_minutes(received))}</span></dd>
            </div>
            {fact("Event ID", Some(event.id.to_string()), None)}
        </dl>
        {(!event.context.is_empty()).then(|| view! {
            <h3>"Context"</h3>
            <dl class="facts">
                {event.context.iter().map(|(k, v)| view! {
                    <div class="fact">
                        <dt class="mono">{shown(k)}</dt>
                        <dd><FactValue value=v.clone()/><FilterButtons field=Field::Context(k.clone()) value=v.clone()/></dd>
                    </div>
                }).collect_view()}
            </dl>
        })}
        {(!event.changes.is_empty()).then(|| view! {
            <h3>"Changes"</h3>
            <table class="changes">
                <thead><tr><th scope="col">"Field"</th><th scope="col">"Before"</th><th scope="col">"After"</th></tr></thead>
                <tbody>
                    {event.changes.iter().map(|c| view! {
                        <tr>
                            <th scope="row" class="mono">{shown(&c.field)}</th>
                            <td class="before"><code>{shown(&change_value(c.before.as_ref()))}</code></td>
                            <td class="after"><span aria-hidden="true">"→ "</span><code>{shown(&change_value(c.after.as_ref()))}</code></td>
                        </tr>
                    }).collect_view()}
                </tbody>
            </table>
        })}
        {metadata.map(|m| view! {
            <h3>"Metadata"</h3>
            <pre class="json">{m}</pre>
        })}
    }
}

/// A value as stored, with hidden characters shown as markers and a warning when it had any.
#[component]
fn FactValue(value: String) -> impl IntoView {
    let hidden = has_hidden(&value);
    view! {
        <span class="fact-value">{shown(&value)}</span>
        {hidden.then(|| view! {
            <span class="hidden-warning" title="This value contains invisible or direction-changing characters, shown as ⟦U+…⟧">"hidden characters"</span>
        })}
    }
}

/// Newer / older event: the details step through the table's rows without closing.
#[component]
fn StepButtons(id: uuid::Uuid) -> impl IntoView {
    let page = use_page();
    let near = Memo::new(move |_| page.neighbours(id));
    let step = move |to: Option<uuid::Uuid>| {
        if let Some(to) = to {
            page.apply(|v| v.with_event(Some(to)));
        }
    };
    view! {
        <span class="step-buttons" role="group" aria-label="Step through events">
            <button type="button" class="icon-button" aria-label="Newer event" title="Newer event"
                disabled=move || near.get().0.is_none() on:click=move |_| step(near.get_untracked().0)>
                <Icon name=IconName::ChevronUp/>
            </button>
            <button type="button" class="icon-button" aria-label="Older event" title="Older event"
                disabled=move || near.get().1.is_none() on:click=move |_| step(near.get_untracked().1)>
                <Icon name=IconName::ChevronDown/>
            </button>
        </span>
    }
}
