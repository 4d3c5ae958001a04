//! `/alerts`: the notification list (firings, newest first, each linking to its events), the
//! rules (silence, enable, delete; built-in suggestions off until enabled) and a form for a
//! new rule — prefilled from the investigation page's "Alert me" (`/alerts?view=…`).

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use super::{when, Frame};
use crate::alerts::{AlertList, AlertRule, CreatedRule, NewAlertRule, Threshold, Webhook};
use crate::client::{get_json, send_for, send_json, ClientError};

/// The list is read again this often (firings appear without a reload).
const REFRESH_MS: u64 = 3000;

#[component]
pub fn AlertsPage() -> impl IntoView {
    let version = RwSignal::new(0u32);
    let list = Resource::new(
        move || version.get(),
        |_| get_json::<AlertList>("/api/v1/alerts".into()),
    );
    #[cfg(feature = "hydrate")]
    if let Ok(handle) = set_interval_with_handle(
        move || version.update(|v| *v += 1),
        std::time::Duration::from_millis(REFRESH_MS),
    ) {
        on_cleanup(move || handle.clear());
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = REFRESH_MS;
    let error = RwSignal::new(None::<ClientError>);
    let reload = move || version.update(|v| *v += 1);
    view! {
        <Frame current="/alerts">
            <h1>"Alerts"</h1>
            <NewRuleForm on_created=reload/>
            {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })}
            <Transition fallback=|| view! { <p class="muted">"Loading alerts…"</p> }>
                {move || list.get().map(|result| match result {
                    Err(e) => view! { <p class="form-error" role="alert">{e.message}</p> }.into_any(),
                    Ok(list) => view! {
                        <Notifications list=list.clone()/>
                        <Rules rules=list.rules error reload/>
                    }.into_any(),
                })}
            </Transition>
        </Frame>
    }
}

#[component]
fn Notifications(list: AlertList) -> impl IntoView {
    view! {
        <section class="card" aria-labelledby="notifications">
            <h2 id="notifications">"Notifications"</h2>
            {if list.firings.is_empty() {
                view! { <p class="muted">"No alert has fired yet."</p> }.into_any()
            } else {
                view! {
                    <ol class="notifications" aria-live="polite">
                        {list.firings.into_iter().map(|f| {
                            let delivery = match f.delivery.as_str() {
                                "delivered" => "webhook delivered".to_string(),
                                "pending" if f.attempts > 0 => format!("webhook retrying ({} attempts)", f.attempts),
                                "pending" => "webhook pending".into(),
                                "failed" => "webhook failed".into(),
                                _ => String::new(),
                            };
                            view! {
                                <li class="notification">
                                    <div class="notification-head">
                                        <strong><bdi>{f.rule_name.clone()}</bdi></strong>
                                        {(!f.group.is_empty()).then(|| view! { <span>" · "<bdi>{f.group.clone()}</bdi></span> })}
                                        <span class="muted">{format!(" fired {}", when(f.fired_at))}</span>
                                    </div>
                                    <p>
                                        <a href=f.link.clone()>{format!("{} events between {} and {}", f.event_ids.len(), when(f.window_from), when(f.window_to))}</a>
                                        {(!delivery.is_empty()).then(|| view! { <span class=format!("delivery-chip {}", f.delivery)>{delivery}</span> })}
                                    </p>
                                    {f.last_error.clone().filter(|_| f.delivery != "delivered").map(|e| view! { <p class="muted">{e}</p> })}
                                </li>
                            }
                        }).collect_view()}
                    </ol>
                }.into_any()
            }}
        </section>
    }
}

#[component]
fn Rules(
    rules: Vec<AlertRule>,
    error: RwSignal<Option<ClientError>>,
    reload: impl Fn() + Copy + Send + Sync + 'static,
) -> impl IntoView {
    let send = move |method: &'static str, id: String, body: Option<String>| {
        leptos::task::spawn_local(async move {
            match send_json(method, format!("/api/v1/alert-rules/{id}"), body).await {
                Ok(_) => {
                    error.set(None);
                    reload();
                }
                Err(e) => error.set(Some(e)),
            }
        });
    };
    view! {
        <section class="card" aria-labelledby="rules">
            <h2 id="rules">"Rules"</h2>
            <ul class="rules">
                {rules.into_iter().map(|r| {
                    let (id1, id2) = (r.id.clone(), r.id.clone());
                    let enabled = r.enabled;
                    let per = r.threshold.per.clone().map(|p| format!(" per {p}")).unwrap_or_default();
                    let summary = format!("at least {} within {}{per}", r.threshold.count, r.threshold.window);
                    view! {
                        <li class="rule" class:off=!enabled>
                            <div class="rule-head">
                                <strong><bdi>{r.name.clone()}</bdi></strong>
                                {r.suggestion.as_ref().map(|_| view! { <span class="kind-chip">"suggested"</span> })}
                                <span class=if enabled { "state-chip on" } else { "state-chip off" }>{if enabled { "on" } else { "off" }}</span>
                            </div>
                            <p class="muted">
                                <a href=format!("/?{}", r.view) class="mono"><bdi>{r.view.clone()}</bdi></a>" · "{summary}
                                {r.webhook.as_ref().map(|w| view! { " · webhook "<bdi class="mono">{w.url.clone()}</bdi> })}
                            </p>
                            <div class="rule-actions">
                                <button type="button" class="button small"
                                    on:click=move |_| send("PATCH", id1.clone(), Some(format!("{{\"enabled\":{}}}", !enabled)))>
                                    {if enabled { "Silence" } else { "Enable" }}
                                </button>
                                {r.suggestion.is_none().then(|| view! {
                                    <button type="button" class="button small danger" on:click=move |_| send("DELETE", id2.clone(), None)>"Delete"</button>
                                })}
                            </div>
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
    }
}

/// A new rule; the view comes from `?view=` ("Alert me" on the investigation page).
#[component]
fn NewRuleForm(on_created: impl Fn() + Copy + Send + Sync + 'static) -> impl IntoView {
    let query = use_query_map();
    let from_page = query.with_untracked(|q| q.get("view"));
    let open = RwSignal::new(from_page.is_some());
    let name = RwSignal::new(String::new());
    let view_text = RwSignal::new(from_page.unwrap_or_default());
    let count = RwSignal::new("5".to_string());
    let window = RwSignal::new("10m".to_string());
    let per = RwSignal::new(String::new());
    let url = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let secret = RwSignal::new(None::<String>);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let rule = NewAlertRule {
            name: name.get_untracked(),
            view: view_text.get_untracked(),
            threshold: Threshold {
                count: count.get_untracked().trim().parse().unwrap_or(0),
                window: window.get_untracked(),
                per: Some(per.get_untracked()).filter(|p| !p.trim().is_empty()),
            },
            webhook: Some(url.get_untracked())
                .filter(|u| !u.trim().is_empty())
                .map(|url| Webhook { url, secret: None }),
        };
        if let Err(problems) = crate::alerts::check_rule(&rule) {
            problem.set(Some(
                problems
                    .into_iter()
                    .map(|(f, m)| format!("{f}: {m}"))
                    .collect::<Vec<_>>()
                    .join("; "),
            ));
            return;
        }
        let body = serde_json::to_string(&rule).unwrap_or_default();
        leptos::task::spawn_local(async move {
            match send_for::<CreatedRule>("POST", "/api/v1/alert-rules".into(), Some(body)).await {
                Ok(created) => {
                    problem.set(None);
                    secret.set(created.secret);
                    open.set(false);
                    on_created();
                }
                Err(e) => problem.set(Some(e.message)),
            }
        });
    };
    let field = |id: &'static str,
                 label: &'static str,
                 hint: &'static str,
                 value: RwSignal<String>| {
        view! {
            <label class="field" for=id>
                <span class="field-label">{label}</span>
                <input id=id class="input" type="text" prop:value=move || value.get() on:input=move |ev| value.set(event_target_value(&ev))/>
                <span class="muted field-hint">{hint}</span>
            </label>
        }
    };
    view! {
        {move || secret.get().map(|s| view! {
            <div class="card secret-card" role="status">
                <p>"Rule created. Its webhook secret (shown once — the receiver verifies signatures with it):"</p>
                <code class="secret">{s}</code>
            </div>
        })}
        <Show when=move || !open.get()>
            <button type="button" class="button primary" on:click=move |_| open.set(true)>"New rule"</button>
        </Show>
        <Show when=move || open.get()>
            <form class="card rule-form" on:submit=submit aria-labelledby="new-rule">
                <h2 id="new-rule">"New alert rule"</h2>
                {field("rule-name", "Name", "What the notification says", name)}
                {field("rule-view", "Events (a view in the URL format)", "e.g. action=user.login&outcome=failure", view_text)}
                <div class="field-row">
                    {field("rule-count", "At least", "events", count)}
                    {field("rule-window", "Within", "e.g. 10m, 1h", window)}
                    {field("rule-per", "Per (optional)", "a field, e.g. actor.id", per)}
                </div>
                {field("rule-url", "Webhook URL (optional)", "Firings are POSTed here, signed (Standard Webhooks)", url)}
                {move || problem.get().map(|p| view! { <p class="form-error" role="alert">{p}</p> })}
                <div class="form-actions">
                    <button type="submit" class="button primary">"Create rule"</button>
                    <button type="button" class="button" on:click=move |_| open.set(false)>"Cancel"</button>
                </div>
            </form>
        </Show>
    }
}
