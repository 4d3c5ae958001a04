//! The investigation page at `/`.

use leptos::prelude::*;

use crate::components::theme::ThemeToggle;

#[component]
pub fn InvestigatePage() -> impl IntoView {
    view! {
        <div class="app">
            <header class="topbar">
                <span class="brand">"Auditorium"</span>
                <ThemeToggle/>
            </header>
            <main class="events-area" aria-label="Events">
                <p class="empty">"No events to show yet."</p>
            </main>
        </div>
    }
}
