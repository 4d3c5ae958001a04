//! The Auditorium mark and name, linking home.

use leptos::prelude::*;

#[component]
pub fn Brand() -> impl IntoView {
    view! {
        <a class="brand" href="/" aria-label="Auditorium home">
            <svg class="brand-mark" viewBox="0 0 24 24" aria-hidden="true"><path d="M4 19V9M9 19V5M14 19v-7M19 19V8"/></svg>
            <span class="brand-name">"Auditorium"</span>
        </a>
    }
}
