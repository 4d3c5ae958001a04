//! "Columns": which fields the table shows, in which order. Remembered by this browser, or
//! kept in the link when the link carries them (see `query::columns`).

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::page_state::use_page;
use crate::query::columns::{default_columns, moved, toggled};
use crate::query::Field;

#[component]
pub fn ColumnsMenu() -> impl IntoView {
    let page = use_page();
    // Every field a column can show: the fixed ones and the context labels seen in events.
    let choices = move || {
        let mut all = Field::FIXED.to_vec();
        if let Some(Ok(list)) = page.fields.get() {
            all.extend(list.fields.iter().filter_map(|f| Field::parse(&f.key).ok()).filter(|f| matches!(f, Field::Context(_))));
        }
        all
    };
    let set = move |columns: Vec<Field>| page.set_columns(columns);
    // (The lists are rebuilt in place when a column moves between them: the boxes' `checked`
    // is set as a property, or a reused box would keep the state of the field it showed.)
    // The list is built when the menu opens: it is not part of every page's HTML.
    let open = RwSignal::new(false);
    let menu = NodeRef::<leptos::html::Details>::new();
    view! {
        <details class="columns-menu" node_ref=menu on:toggle=move |_| open.set(menu.get().is_some_and(|d| d.open()))>
            <summary class="button"><Icon name=IconName::Columns/><span class="button-label">"Columns"</span></summary>
            <Show when=move || open.get()>
            <div class="popover menu columns-popover" role="group" aria-label="Columns of the table">
                <p class="menu-title">"Shown, in order"</p>
                <ul class="column-list">
                    {move || {
                        let shown = page.columns.get();
                        let n = shown.len();
                        shown.clone().into_iter().enumerate().map(|(i, field)| {
                            let label = field.label();
                            let (f1, f2, f3) = (field.clone(), field.clone(), field);
                            view! {
                                <li class="column-item">
                                    <label><input type="checkbox" prop:checked=true disabled=n == 1
                                        on:change=move |_| set(toggled(page.columns.get_untracked(), &f1))/>
                                        <bdi>{label.clone()}</bdi></label>
                                    <button type="button" class="icon-button" disabled=i == 0 aria-label=format!("Move {label} left")
                                        on:click=move |_| set(moved(page.columns.get_untracked(), &f2, -1))><Icon name=IconName::ChevronUp/></button>
                                    <button type="button" class="icon-button" disabled=i + 1 == n aria-label=format!("Move {label} right")
                                        on:click=move |_| set(moved(page.columns.get_untracked(), &f3, 1))><Icon name=IconName::ChevronDown/></button>
                                </li>
                            }
                        }).collect_view()
                    }}
                </ul>
                <p class="menu-title">"More fields"</p>
                <ul class="column-list">
                    {move || {
                        let shown = page.columns.get();
                        choices().into_iter().filter(|f| !shown.contains(f)).map(|field| {
                            let label = field.label();
                            view! {
                                <li class="column-item">
                                    <label><input type="checkbox" prop:checked=false on:change=move |_| set(toggled(page.columns.get_untracked(), &field))/>
                                        <bdi>{label}</bdi></label>
                                </li>
                            }
                        }).collect_view()
                    }}
                </ul>
                <div class="menu-separator" role="separator"></div>
                <button type="button" class="menu-item" disabled=move || page.columns.get() == default_columns()
                    on:click=move |_| set(default_columns())>"Default columns"</button>
                <p class="muted column-note">{move || if page.view.get().columns.is_some() {
                    "These columns came with the link."
                } else {
                    "Remembered in this browser. Copy link shares them."
                }}</p>
            </div>
            </Show>
        </details>
    }
}
