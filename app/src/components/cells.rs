//! Pieces of the event details: the outcome badge and the click-to-filter buttons ("only
//! this" / "not this") beside a value. (The table's rows are HTML text: `crate::rows`.)

use leptos::prelude::*;

use crate::event::Outcome;
use crate::page_state::use_page;
use crate::query::Field;

#[component]
pub fn OutcomeBadge(outcome: Outcome) -> impl IntoView {
    let failed = outcome == Outcome::Failure;
    view! {
        // The check / cross is drawn by the stylesheet, as in the table's rows.
        <span class="outcome" class:outcome-failure=failed>{if failed { "Failure" } else { "Success" }}</span>
    }
}

/// The two click-to-filter buttons for one value.
#[component]
pub fn FilterButtons(field: Field, value: String) -> impl IntoView {
    let page = use_page();
    let label = field.label();
    let (f1, v1, f2, v2) = (field.clone(), value.clone(), field, value.clone());
    view! {
        <span class="filter-buttons">
            // The + and − are drawn by CSS (.mini-is, .mini-is-not): a page holds hundreds of
            // these buttons, and inline SVG would double the elements each render creates.
            <button type="button" class="mini mini-is" title=format!("Show only {label} is {value}") aria-label=format!("Filter: {label} is {value}")
                on:click=move |ev| { ev.stop_propagation(); page.apply(|v| v.focus_on(f1.clone(), v1.clone()).with_event(None)); }>
            </button>
            <button type="button" class="mini mini-is-not" title=format!("Hide {label} is {value}") aria-label=format!("Exclude: {label} is {v2}")
                on:click=move |ev| { ev.stop_propagation(); page.apply(|v| v.exclude_value(f2.clone(), v2.clone()).with_event(None)); }>
            </button>
        </span>
    }
}
