//! Active filters as pills, and the editor that adds or changes one: field → operator →
//! values, with suggestions (and their counts) from the field-values API.

use leptos::prelude::*;
use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};

use crate::api::{FieldInfo, FieldValues};
use crate::client::get_json;
use crate::components::icons::{Icon, IconName};
use crate::format::thousands;
use crate::page_state::use_page;
use crate::query::filter::parse_values;
use crate::query::{encode_query, Field, FieldKind, Filter, FilterValue};

/// A filter being written: chosen field, operator, values, and the filter it replaces.
#[derive(Clone, Debug, Default, PartialEq)]
struct Draft {
    field: Option<Field>,
    negated: bool,
    multi: bool,
    values: Vec<FilterValue>,
    replacing: Option<(Field, bool)>,
}

#[component]
pub fn FilterBar() -> impl IntoView {
    let page = use_page();
    let draft = RwSignal::new(None::<Draft>);
    view! {
        <div class="filter-bar" role="group" aria-label="Active filters">
            {move || page.view.get().filters().iter().cloned().map(|filter| view! { <Pill filter draft/> }).collect_view()}
            <div class="popover-anchor">
                <button type="button" class="button add-filter" aria-haspopup="dialog"
                    aria-expanded=move || draft.get().is_some_and(|d| d.replacing.is_none()).to_string()
                    on:click=move |_| draft.set(Some(Draft::default()))>
                    <Icon name=IconName::Plus/>
                    "Add filter"
                </button>
                <Show when=move || draft.get().is_some()>
                    <FilterEditor draft/>
                </Show>
            </div>
            <Show when=move || !page.view.get().filters().is_empty()>
                <button type="button" class="link-button" on:click=move |_| page.apply(|v| v.clear_filters())>"Clear all"</button>
            </Show>
        </div>
    }
}

/// Text between quotes that only screen readers hear.
#[component]
fn Quoted(text: String) -> impl IntoView {
    view! { <span class="visually-hidden">"“"</span>{text}<span class="visually-hidden">"”"</span> }
}

/// A value as the pill's accessible name says it: `“deploy”`, `“project.”*`, `5xx`.
fn spoken_value(value: &FilterValue) -> String {
    match value {
        FilterValue::Exact(v) => format!("“{v}”"),
        FilterValue::Prefix(p) if p.is_empty() => "any value".into(),
        FilterValue::Prefix(p) => format!("“{p}”*"),
        FilterValue::StatusClass(_) => value.display(),
    }
}

#[component]
fn Pill(filter: Filter, draft: RwSignal<Option<Draft>>) -> impl IntoView {
    let page = use_page();
    // Each value quoted on its own ("a, b" is one value; "a", "b" two) and a wildcard outside
    // the quotes ("project."* is a prefix; "project.*" the exact text).
    let spoken: Vec<String> = filter.values().iter().map(spoken_value).collect();
    let summary = format!("{} {} {}", filter.field.label(), filter.operator_label(), spoken.join(", "));
    let (field, negated) = (filter.field.clone(), filter.negated);
    let edit = {
        let filter = filter.clone();
        move |_| {
            draft.set(Some(Draft {
                field: Some(filter.field.clone()),
                negated: filter.negated,
                multi: filter.values().len() > 1,
                values: filter.values().to_vec(),
                replacing: Some((filter.field.clone(), filter.negated)),
            }))
        }
    };
    let toggle = {
        let field = field.clone();
        move |_| page.apply(|v| v.toggle_negation(&field, negated))
    };
    let remove = move |_| page.apply(|v| v.without_filter(&field, negated));
    view! {
        <span class="pill" class:exclude=negated>
            <button type="button" class="pill-main" title=format!("Edit: {summary}") on:click=edit>
                <span class="pill-field">{filter.field.label()}</span>
                <span class="pill-op">{filter.operator_label()}</span>
                <span class="pill-values">
                    {filter.values().iter().map(|v| match v {
                        // Quotes for screen readers only: "a, b" is one value, "a" "b" two.
                        FilterValue::Prefix(p) => view! {
                            <span class="pill-value"><Quoted text=crate::reveal::shown(p)/></span><span class="wildcard" title="then any text">"*"</span>
                        }.into_any(),
                        other => view! { <span class="pill-value"><Quoted text=crate::reveal::shown(&other.display())/></span> }.into_any(),
                    }).collect_view()}
                </span>
            </button>
            <button type="button" class="pill-action" on:click=toggle
                title=if negated { "Include these values instead" } else { "Exclude these values instead" }
                aria-label=format!("{} instead: {summary}", if negated { "Include" } else { "Exclude" })>
                <Icon name=IconName::Swap/>
            </button>
            <button type="button" class="pill-action" on:click=remove aria-label=format!("Remove filter: {summary}") title="Remove">
                <Icon name=IconName::Close/>
            </button>
        </span>
    }
}

#[component]
fn FilterEditor(draft: RwSignal<Option<Draft>>) -> impl IntoView {
    let close = move || draft.set(None);
    // Only a change of field swaps the step: changing the operator or adding a value keeps the
    // editor (and what is half typed in it, and the focus) as it is.
    let field = Memo::new(move |_| draft.with(|d| d.as_ref().and_then(|d| d.field.clone())));
    view! {
        <div class="backdrop" on:click=move |_| close()></div>
        <div class="popover filter-editor" role="dialog" aria-label="Filter"
            on:keydown=move |ev| if ev.key() == "Escape" { ev.prevent_default(); close(); }>
            {move || match field.get() {
                None => view! { <FieldPicker draft/> }.into_any(),
                Some(field) => view! { <ValueEditor draft field/> }.into_any(),
            }}
        </div>
    }
}

/// Step 1: a searchable list of fields, context labels included.
#[component]
fn FieldPicker(draft: RwSignal<Option<Draft>>) -> impl IntoView {
    let page = use_page();
    let text = RwSignal::new(String::new());
    let input = NodeRef::<leptos::html::Input>::new();
    focus_when_mounted(input);
    let fields = move || -> Vec<FieldInfo> {
        let known = page.fields.get().and_then(|r| r.ok()).map(|l| l.fields);
        let all = known.unwrap_or_else(|| {
            Field::FIXED.iter().map(|f| FieldInfo { key: f.key(), label: f.label(), kind: f.kind(), values: vec![] }).collect()
        });
        let needle = text.get().to_ascii_lowercase();
        all.into_iter().filter(|f| f.label.to_ascii_lowercase().contains(&needle) || f.key.contains(&needle)).collect()
    };
    let choose = move |key: String| {
        if let Ok(field) = Field::parse(&key) {
            draft.update(|d| if let Some(d) = d { d.field = Some(field) });
        }
    };
    view! {
        <label class="visually-hidden" for="field-search">"Field"</label>
        <input id="field-search" class="input" type="search" placeholder="Filter by…" autocomplete="off" node_ref=input
            prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))
            on:keydown=move |ev| if ev.key() == "Enter" { ev.prevent_default(); if let Some(f) = fields().first() { choose(f.key.clone()); } }/>
        <ul class="field-list" aria-label="Fields">
            {move || fields().into_iter().map(|f| {
                let key = f.key.clone();
                let context = f.key.starts_with("context.");
                view! {
                    <li>
                        <button type="button" class="field-option" on:click=move |_| choose(key.clone())>
                            <span>{f.label.clone()}</span>
                            <span class="muted mono">{if context { f.key.clone() } else { String::new() }}</span>
                        </button>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
}

/// Step 2: operator and values, with suggestions counted under the other filters.
#[component]
fn ValueEditor(draft: RwSignal<Option<Draft>>, field: Field) -> impl IntoView {
    let page = use_page();
    let text = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let input = NodeRef::<leptos::html::Input>::new();
    focus_when_mounted(input);
    let key = field.key();
    let suggestions = LocalResource::new({
        let key = key.clone();
        move || {
            let query = encode_query(&page.view.get().with_event(None).without_layout().with_cursor(None));
            let prefix = utf8_percent_encode(&text.get(), NON_ALPHANUMERIC).to_string();
            get_json::<FieldValues>(format!("/api/v1/fields/{key}/values?{query}&prefix={prefix}"))
        }
    });
    let operator = move || draft.with(|d| d.as_ref().map(|d| (d.negated, d.multi)).unwrap_or_default());
    let add_value = move |value: FilterValue| {
        draft.update(|d| {
            if let Some(d) = d {
                if !d.multi {
                    d.values.clear();
                }
                if !d.values.contains(&value) {
                    d.values.push(value);
                }
            }
        });
        text.set(String::new());
    };
    let add_typed = {
        let field = field.clone();
        move || -> bool {
            let typed = text.get_untracked();
            if typed.trim().is_empty() {
                return true;
            }
            match parse_values(&field, typed.trim()) {
                Ok(values) => {
                    error.set(None);
                    values.into_iter().for_each(add_value);
                    true
                }
                Err(e) => {
                    error.set(Some(format!("That value {e}.")));
                    false
                }
            }
        }
    };
    let apply = {
        let field = field.clone();
        let add_typed = add_typed.clone();
        move || {
            if !add_typed() {
                return;
            }
            let Some(d) = draft.get_untracked() else { return };
            let Some(filter) = Filter::new(field.clone(), d.negated, d.values.clone()) else {
                error.set(Some("Add at least one value.".into()));
                return;
            };
            draft.set(None);
            page.apply(|mut v| {
                if let Some((f, n)) = &d.replacing {
                    v = v.without_filter(f, *n);
                }
                v.with_filter(filter)
            });
        }
    };
    let hint = match field.kind() {
        FieldKind::Text => "Type a value; end with * to match a prefix",
        FieldKind::Status => "A code such as 404, or a class such as 5xx",
        FieldKind::Enum => "Pick a value",
    };
    let label = field.label();
    view! {
        <div class="editor-head">
            <button type="button" class="link-button" on:click=move |_| draft.update(|d| if let Some(d) = d { d.field = None; d.values.clear(); })>
                <Icon name=IconName::ChevronLeft/>"Fields"
            </button>
            <strong>{label.clone()}</strong>
        </div>
        <label class="visually-hidden" for="filter-operator">"Operator"</label>
        <select id="filter-operator" class="input" on:change=move |ev| {
            let choice = event_target_value(&ev);
            draft.update(|d| if let Some(d) = d {
                d.negated = choice.starts_with("not");
                d.multi = choice.ends_with("any");
                if !d.multi { d.values.truncate(1); }
            });
        }>
            {[("is", "is", false, false), ("not", "is not", true, false), ("any", "is any of", false, true), ("not-any", "is not any of", true, true)]
                .into_iter()
                .map(|(value, text, negated, multi)| view! {
                    <option value=value selected=move || operator() == (negated, multi)>{text}</option>
                })
                .collect_view()}
        </select>
        <div class="chosen-values" aria-live="polite">
            {move || draft.get().map(|d| d.values).unwrap_or_default().into_iter().map(|v| {
                let shown = v.display();
                let gone = v.clone();
                view! {
                    <span class="chip">{shown.clone()}
                        <button type="button" class="chip-remove" aria-label=format!("Remove value {shown}")
                            on:click=move |_| draft.update(|d| if let Some(d) = d { d.values.retain(|x| *x != gone); })>
                            <Icon name=IconName::Close/>
                        </button>
                    </span>
                }
            }).collect_view()}
        </div>
        <label class="visually-hidden" for="filter-value">{format!("{label} value")}</label>
        <input id="filter-value" class="input" type="text" autocomplete="off" placeholder=hint node_ref=input
            prop:value=move || text.get() on:input=move |ev| text.set(event_target_value(&ev))
            on:keydown={
                let apply = apply.clone();
                move |ev| if ev.key() == "Enter" {
                    ev.prevent_default();
                    if text.get_untracked().trim().is_empty() { apply(); } else { add_typed(); }
                }
            }/>
        {move || error.get().map(|e| view! { <p class="form-error" role="alert">{e}</p> })}
        <ul class="suggestions" aria-label="Suggestions">
            {move || match suggestions.get() {
                None => view! { <li class="muted">"Loading values…"</li> }.into_any(),
                Some(Err(e)) => view! { <li class="form-error">{e.message}</li> }.into_any(),
                Some(Ok(list)) if list.values.is_empty() => view! { <li class="muted">"No values in this range"</li> }.into_any(),
                Some(Ok(list)) => {
                    let approx = if list.exact { "" } else { "≈ " };
                    list.values.into_iter().map(|vc| {
                        let value = FilterValue::Exact(vc.value.clone());
                        view! {
                            <li>
                                <button type="button" class="suggestion" on:click=move |_| add_value(value.clone())>
                                    <span class="suggestion-value">{crate::reveal::shown(&vc.value)}</span>
                                    <span class="muted">{format!("{approx}{}", thousands(vc.count))}</span>
                                </button>
                            </li>
                        }
                    }).collect_view().into_any()
                }
            }}
        </ul>
        <div class="editor-actions">
            <button type="button" class="button" on:click=move |_| draft.set(None)>"Cancel"</button>
            <button type="button" class="button primary" on:click=move |_| apply()>"Apply filter"</button>
        </div>
    }
}

/// Puts the keyboard focus into a popover's first input when it opens.
fn focus_when_mounted(input: NodeRef<leptos::html::Input>) {
    crate::browser::focus_when_mounted(input);
}
