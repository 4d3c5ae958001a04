//! `/actors/{id}`: everything one actor did — sign-ins with addresses and user agents (new
//! ones marked), resources touched, actions, failures, newest events.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::{resource_items, when, when_opt, EventList, Frame, RankedList};
use crate::client::get_json;
use crate::format::thousands;
use crate::insight::{investigate_link, segment, ActorHistory, SignIn};
use crate::query::Field;

#[component]
pub fn ActorPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.with(|p| p.get("id").unwrap_or_default());
    let history = Resource::new(id, |id| {
        get_json::<ActorHistory>(format!("/api/v1/actors/{}", segment(&id)))
    });
    view! {
        <Frame current="">
            <Suspense fallback=|| view! { <p class="muted">"Loading their history…"</p> }>
                {move || history.get().map(|result| match result {
                    Err(e) => view! {
                        <h1>"Actor"</h1>
                        <p class="form-error" role="alert">{e.message}</p>
                    }.into_any(),
                    Ok(h) => view! { <ActorBody history=h/> }.into_any(),
                })}
            </Suspense>
        </Frame>
    }
}

#[component]
fn ActorBody(history: ActorHistory) -> impl IntoView {
    let name = history
        .names
        .last()
        .map(|n| n.name.clone())
        .unwrap_or_else(|| history.id.clone());
    let pinned = [(Field::ActorId, history.id.as_str())];
    let all = investigate_link(&pinned, history.first);
    let failed = investigate_link(
        &[
            (Field::ActorId, history.id.as_str()),
            (Field::Outcome, "failure"),
        ],
        history.first,
    );
    let actions: Vec<_> = history
        .actions
        .iter()
        .map(|r| {
            (
                investigate_link(
                    &[
                        (Field::ActorId, history.id.as_str()),
                        (Field::Action, &r.value),
                    ],
                    history.first,
                ),
                r.value.clone(),
                None,
                r.count,
            )
        })
        .collect();
    let other_names: Vec<String> = history
        .names
        .iter()
        .rev()
        .skip(1)
        .map(|n| n.name.clone())
        .collect();
    view! {
        <div class="history-head">
            {history.actor_type.clone().map(|t| view! { <span class="kind-chip">{t}</span> })}
            <h1><bdi>{name}</bdi></h1>
            <p class="muted mono"><bdi>{history.id.clone()}</bdi>{history.email.clone().map(|e| view! { " · "<bdi>{e}</bdi> })}</p>
            {(!other_names.is_empty()).then(|| view! { <p class="muted">"Also known as "<bdi>{other_names.join(", ")}</bdi></p> })}
        </div>
        <dl class="facts">
            <div><dt>"Events"</dt><dd><a href=all.clone()>{thousands(history.total)}</a></dd></div>
            <div><dt>"Failed"</dt><dd><a href=failed>{thousands(history.failures)}</a></dd></div>
            <div><dt>"First event"</dt><dd>{when_opt(history.first)}</dd></div>
            <div><dt>"Last event"</dt><dd>{when_opt(history.last)}</dd></div>
        </dl>
        {history.sampled.then(|| view! {
            <p class="muted">{format!("Actions and resources are tallied over their newest {} events.", thousands(crate::insight::BREAKDOWN_SAMPLE as u64))}</p>
        })}
        <SignIns sign_ins=history.sign_ins.clone()/>
        <div class="card-grid">
            <RankedList title="Resources they touched" items=resource_items(&history.resources) empty="No resources."/>
            <RankedList title="Their actions" items=actions empty="No actions."/>
        </div>
        <section class="card">
            <h2>"Failures"</h2>
            {if history.failed.is_empty() {
                view! { <p class="muted">"None."</p> }.into_any()
            } else {
                view! { <EventList events=history.failed.clone() caption="Their newest failed actions"/> }.into_any()
            }}
        </section>
        <section class="card">
            <div class="card-head">
                <h2>"Newest events"</h2>
                <a class="button small" href=all>{format!("All {} in the investigation page", thousands(history.total))}</a>
            </div>
            <EventList events=history.latest.clone() caption="Their newest events"/>
        </section>
    }
}

/// Sign-ins shown before "Show all".
const SIGN_INS_SHOWN: usize = 10;

#[component]
fn SignIns(sign_ins: Vec<SignIn>) -> impl IntoView {
    let n = sign_ins.len();
    let addresses = sign_ins
        .iter()
        .filter_map(|s| s.event.ip.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let agents = sign_ins
        .iter()
        .filter_map(|s| s.event.user_agent.clone())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let new_ones = sign_ins.iter().filter(|s| s.new_ip || s.new_agent).count();
    let summary = format!(
        "{n} newest: from {addresses} address{}, {agents} user agent{}{}",
        if addresses == 1 { "" } else { "es" },
        if agents == 1 { "" } else { "s" },
        if new_ones > 0 {
            format!("; {new_ones} from a new address or agent")
        } else {
            String::new()
        }
    );
    view! {
        <section class="card">
            <div class="card-head"><h2>"Sign-ins"</h2><span class="muted">{(n > 0).then_some(summary)}</span></div>
            {if sign_ins.is_empty() {
                view! { <p class="muted">"No sign-ins recorded."</p> }.into_any()
            } else {
                view! {
                    // Works without JavaScript: the checkbox shows the rows past the first ten.
                    <input type="checkbox" id="all-sign-ins" class="show-all-toggle visually-hidden"/>
                    <div class="admin-table-wrap">
                        <table class="admin-table">
                            <caption class="visually-hidden">"Their newest sign-ins; new addresses and user agents are marked"</caption>
                            <thead><tr>
                                <th scope="col">"Time (UTC)"</th><th scope="col">"Address"</th><th scope="col">"User agent"</th><th scope="col">"Outcome"</th>
                            </tr></thead>
                            <tbody>
                                {sign_ins.into_iter().enumerate().map(|(i, s)| {
                                    let failed = s.event.outcome == crate::event::Outcome::Failure;
                                    let more = i >= SIGN_INS_SHOWN;
                                    view! {
                                        <tr class:failed=failed class:more=more>
                                            <td class="nowrap">{when(s.event.occurred_at)}</td>
                                            <td><bdi class="mono">{s.event.ip.clone().unwrap_or_else(|| "—".into())}</bdi>
                                                {s.new_ip.then(|| view! { " "<span class="new-chip">"new address"</span> })}</td>
                                            <td class="ua-cell"><bdi>{s.event.user_agent.clone().unwrap_or_else(|| "—".into())}</bdi>
                                                {s.new_agent.then(|| view! { " "<span class="new-chip">"new agent"</span> })}</td>
                                            <td><span class=if failed { "outcome-chip failure" } else { "outcome-chip success" }>{s.event.outcome.as_str()}</span></td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </div>
                    {(n > SIGN_INS_SHOWN).then(|| view! {
                        <label for="all-sign-ins" class="button small show-all-label">{format!("Show all {n}")}</label>
                    })}
                }.into_any()
            }}
        </section>
    }
}
