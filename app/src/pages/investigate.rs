//! The investigation page at `/`.

use leptos::prelude::*;

#[component]
pub fn InvestigatePage() -> impl IntoView {
    let dark = RwSignal::new(false);
    view! {
        <div class="app" class:theme-dark=move || dark.get()>
            <header class="topbar">
                <span class="brand">"Auditorium"</span>
                <button class="theme-toggle" aria-pressed=move || dark.get().to_string()
                    on:click=move |_| dark.update(|d| *d = !*d)>
                    {move || if dark.get() { "Light theme" } else { "Dark theme" }}
                </button>
            </header>
            <main class="events-area" aria-label="Events">
                <p class="empty">"No events to show yet."</p>
            </main>
        </div>
    }
}
