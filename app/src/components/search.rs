//! Free-text search: applied 350 ms after typing stops, or at once on Enter. `/` focuses it.

use std::time::Duration;

use leptos::prelude::*;

use crate::components::icons::{Icon, IconName};
use crate::page_state::use_page;

#[component]
pub fn SearchBox() -> impl IntoView {
    let page = use_page();
    let pending = StoredValue::new(None::<TimeoutHandle>);
    let cancel = move || {
        if let Some(handle) = pending.get_value() {
            handle.clear();
        }
        pending.set_value(None);
    };
    let submit = move |text: String| {
        cancel();
        if page.now().search.as_deref().unwrap_or("") != text.trim() {
            page.apply(|v| v.with_search(&text));
        }
    };
    let on_input = move |ev: leptos::ev::Event| {
        let text = event_target_value(&ev);
        cancel();
        pending.set_value(set_timeout_with_handle(move || submit(text), Duration::from_millis(350)).ok());
    };
    view! {
        <form class="search" role="search" on:submit=move |ev| ev.prevent_default()>
            <Icon name=IconName::Search/>
            <label class="visually-hidden" for="search-input">"Search events"</label>
            <input id="search-input" class="search-input" type="search" autocomplete="off" spellcheck="false"
                placeholder="Search actors, actions, resources, paths, IPs…"
                prop:value=move || page.view.get().search.unwrap_or_default()
                on:input=on_input
                on:keydown=move |ev| match ev.key().as_str() {
                    "Enter" => { ev.prevent_default(); submit(event_target_value(&ev)); }
                    "Escape" if !event_target_value(&ev).is_empty() => { ev.prevent_default(); submit(String::new()); }
                    _ => {}
                }/>
            <kbd aria-hidden="true" title="Press / to search">"/"</kbd>
        </form>
    }
}
