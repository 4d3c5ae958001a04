//! The admin pages: users, API tokens, sessions, single sign-on, SIEM destinations. Lists are server-rendered with the page;
//! changes are sent from the browser to the admin API and the list is read again.

mod destinations;
mod destinations_form;
mod destinations_row;
mod sessions;
mod sso;
mod tokens;
mod users;

pub use destinations::DestinationsPage;
pub use sessions::SessionsPage;
pub use sso::SsoPage;
pub use tokens::TokensPage;
pub use users::UsersPage;

use leptos::prelude::*;

use crate::client::ClientError;
use crate::components::brand::Brand;
use crate::components::theme::ThemeToggle;
use crate::components::user_menu::UserMenu;

/// The frame of every admin page: the bar with navigation, and the page's content.
#[component]
fn AdminFrame(current: &'static str, title: &'static str, lede: &'static str, children: Children) -> impl IntoView {
    let link = move |href: &'static str, label: &'static str| {
        let here = href == current;
        view! { <a href=href class="admin-nav-link" aria-current=here.then_some("page")>{label}</a> }
    };
    view! {
        <div class="app admin">
            <header class="topbar">
                <Brand/>
                <nav class="admin-nav" aria-label="Administration">
                    <a href="/" class="admin-nav-link">"Events"</a>
                    {link("/admin/users", "Users")}
                    {link("/admin/tokens", "API tokens")}
                    {link("/admin/sessions", "Sessions")}
                    {link("/admin/sso", "Single sign-on")}
                    {link("/admin/destinations", "Destinations")}
                </nav>
                <div class="topbar-actions">
                    <ThemeToggle/>
                    <UserMenu/>
                </div>
            </header>
            <main class="admin-main">
                <h1>{title}</h1>
                <p class="admin-lede">{lede}</p>
                {children()}
            </main>
        </div>
    }
}

/// An API error as a sentence, or nothing.
#[component]
fn Problem(error: RwSignal<Option<ClientError>>) -> impl IntoView {
    move || error.get().map(|e| view! { <p class="form-error" role="alert">{e.message}</p> })
}

/// "Dec 3, 09:12 UTC" from an RFC 3339 time (the admin lists give UTC seconds). Built from
/// the page's own formatters: chrono's format strings would add kilobytes to the bundle.
fn when(text: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(text) {
        Ok(t) => format!("{} UTC", crate::format::time_minutes(t.with_timezone(&chrono::Utc), 0)),
        Err(_) => text.to_string(),
    }
}
