//! Light/dark theme: follows the system until the user picks one, remembered in
//! localStorage. A tiny script in <head> applies the choice before the first paint.

use leptos::prelude::*;

/// Runs before paint: applies a remembered theme (localStorage `auditorium-theme`) to
/// <html data-theme>.
pub const EARLY_SCRIPT: &str = "try{var t=localStorage.getItem('auditorium-theme');\
if(t==='dark'||t==='light')document.documentElement.dataset.theme=t;}catch(e){}";

/// The button shows a moon or a sun depending on the effective theme (decided by CSS), so
/// the server and the browser render the same markup.
#[component]
pub fn ThemeToggle() -> impl IntoView {
    view! {
        <button type="button" class="icon-button theme-toggle" title="Switch light / dark theme"
            aria-label="Switch light / dark theme" on:click=move |_| toggle()>
            <svg class="icon icon-moon" viewBox="0 0 24 24" aria-hidden="true">
                <path d="M21 12.8A9 9 0 1 1 11.2 3a7 7 0 0 0 9.8 9.8z"/>
            </svg>
            <svg class="icon icon-sun" viewBox="0 0 24 24" aria-hidden="true">
                <circle cx="12" cy="12" r="4.5"/>
                <path d="M12 1.5v3M12 19.5v3M1.5 12h3M19.5 12h3M4.6 4.6l2.1 2.1M17.3 17.3l2.1 2.1M4.6 19.4l2.1-2.1M17.3 6.7l2.1-2.1"/>
            </svg>
        </button>
    }
}

fn toggle() {
    crate::browser::toggle_theme();
}
