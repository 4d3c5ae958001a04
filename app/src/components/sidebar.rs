//! The field sidebar: every field with its most frequent values in the current view and their
//! counts; one click filters to a value or out of it. Values are read when a field is opened
//! (a few are open from the start), from `/api/v1/fields/{field}/values` — the same counts
//! the filter builder suggests, exact for any time range.

use leptos::prelude::*;

use crate::api::FieldValues;
use crate::client::get_json;
use crate::format::thousands;
use crate::page_state::use_page;
use crate::query::{encode_query, Field};
use crate::reveal::shown;

/// Open when the page opens: what investigators look at first.
const OPEN_AT_START: [Field; 4] = [Field::Action, Field::ActorName, Field::Outcome, Field::ResourceType];

/// How many values a field shows before "more".
const FIRST_VALUES: usize = 5;

/// How long a view must stay before its values are counted.
const SETTLE_MS: i32 = 300;

/// The view the values are counted for (not the page, the opened event, the columns).
fn values_query(view: &crate::query::ViewState) -> String {
    encode_query(&view.clone().with_event(None).without_layout().with_cursor(None).with_live(false))
}

#[component]
pub fn FieldSidebar() -> impl IntoView {
    let page = use_page();
    // Open beside the table on wide screens, folded under its heading on narrow ones; the
    // heading's button flips it either way.
    let flipped = RwSignal::new(false);
    let narrow = RwSignal::new(false);
    Effect::new(move |_| narrow.set(crate::browser::matches_media("(max-width: 1099px)")));
    let expanded = move || flipped.get() == narrow.get();
    // The list is of use only with JavaScript (its values are read from the browser): it is
    // built after hydration and is not part of the page's HTML.
    let running = RwSignal::new(false);
    Effect::new(move |_| running.set(true));
    let fields = move || {
        let mut all = Field::FIXED.to_vec();
        if let Some(Ok(list)) = page.fields.get() {
            all.extend(list.fields.iter().filter_map(|f| Field::parse(&f.key).ok()).filter(|f| matches!(f, Field::Context(_))));
        }
        all
    };
    view! {
        <aside class="sidebar" class:open=expanded aria-labelledby="sidebar-title">
            <h2 class="sidebar-title">
                <button type="button" class="sidebar-toggle" id="sidebar-title" aria-expanded=move || expanded().to_string()
                    aria-controls="sidebar-fields" title="Show or hide the fields and their values"
                    on:click=move |_| flipped.update(|f| *f = !*f)>
                    <span class="chevron" aria-hidden="true"></span>"Fields"
                </button>
            </h2>
            <ul class="sidebar-fields" id="sidebar-fields">
                {move || running.get().then(|| fields().into_iter().map(|field| view! { <FieldEntry field/> }).collect_view())}
            </ul>
        </aside>
    }
}

#[component]
fn FieldEntry(field: Field) -> impl IntoView {
    let page = use_page();
    let open = RwSignal::new(OPEN_AT_START.contains(&field));
    let all = RwSignal::new(false);
    let key = field.key();
    let filtered = {
        let field = field.clone();
        move || page.view.with(|v| v.filters().iter().any(|f| f.field == field))
    };
    let values = LocalResource::new({
        let key = key.clone();
        move || {
            let wanted = open.get();
            let query = values_query(&page.view.get());
            let key = key.clone();
            async move {
                if !wanted {
                    return Ok(None);
                }
                // Counted once the view settles: a view passed through (Back, Forward, a quick
                // second click) asks the server for nothing.
                crate::browser::pause(SETTLE_MS).await;
                if values_query(&page.view.get_untracked()) != query {
                    return Ok(None);
                }
                get_json::<FieldValues>(format!("/api/v1/fields/{key}/values?{query}")).await.map(Some)
            }
        }
    });
    let label = field.label();
    let list_id = format!("values-{}", key.replace('.', "-"));
    let parts = StoredValue::new((field.clone(), label.clone(), list_id.clone()));
    view! {
        <li class="field-entry" class:filtered=filtered>
            <button type="button" class="field-name" aria-expanded=move || open.get().to_string() aria-controls=list_id.clone()
                on:click=move |_| open.update(|o| *o = !*o)>
                <span class="chevron" aria-hidden="true"></span><bdi>{label}</bdi>
            </button>
            <Show when=move || open.get()>
                <div id=parts.with_value(|p| p.2.clone()) class="field-values">
                    <Suspense fallback=|| view! { <p class="muted facet-note">"Counting…"</p> }>
                        {move || Suspend::new(async move {
                            let (field, label, _) = parts.get_value();
                            match values.await {
                                Ok(Some(v)) => view! { <ValueList values=v field label all/> }.into_any(),
                                Ok(None) => ().into_any(),
                                Err(e) => view! { <p class="facet-note error-text">{e.message}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                </div>
            </Show>
        </li>
    }
}

#[component]
fn ValueList(values: FieldValues, field: Field, label: String, all: RwSignal<bool>) -> impl IntoView {
    let page = use_page();
    if values.values.is_empty() {
        return view! { <p class="muted facet-note">"No values in this view."</p> }.into_any();
    }
    let most = values.values.iter().map(|v| v.count).max().unwrap_or(1).max(1);
    let more = values.values.len() > FIRST_VALUES;
    let items = values.values.into_iter().enumerate().map(|(i, v)| {
        let share = (v.count as f64 / most as f64 * 100.0).round();
        let (f1, f2, v1, v2) = (field.clone(), field.clone(), v.value.clone(), v.value.clone());
        let text = shown(&v.value);
        view! {
            <li class="facet-value" class:beyond={move || i >= FIRST_VALUES && !all.get()}>
                <span class="facet-label">
                    <span class="facet-bar" style=format!("width:{share}%") aria-hidden="true"></span>
                    <bdi class="facet-text" title=text.clone()>{text.clone()}</bdi>
                    <span class="facet-count">{thousands(v.count)}</span>
                </span>
                <button type="button" class="mini mini-is" aria-label=format!("Filter: {label} is {text}")
                    on:click=move |_| page.apply(|v| v.focus_on(f1.clone(), v1.clone()).with_event(None))></button>
                <button type="button" class="mini mini-is-not" aria-label=format!("Exclude: {label} is {text}")
                    on:click=move |_| page.apply(|v| v.exclude_value(f2.clone(), v2.clone()).with_event(None))></button>
            </li>
        }
    }).collect_view();
    view! {
        <ul class="facet-list" aria-label=format!("Most frequent values of {label}")>{items}</ul>
        {more.then(|| view! {
            <button type="button" class="link-button facet-more" on:click=move |_| all.update(|a| *a = !*a)>
                {move || if all.get() { "Fewer values" } else { "More values" }}
            </button>
        })}
        {(!values.exact).then(|| view! { <p class="muted facet-note">"Counted in the newest 50,000 matching events."</p> })}
    }
    .into_any()
}
