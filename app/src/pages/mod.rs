//! The application shell and its routes.

pub mod account;
pub mod admin;
pub mod insight;
pub mod investigate;

use leptos::prelude::*;
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{path, SsrMode};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    provide_csp_nonce();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <meta name="color-scheme" content="light dark"/>
                <link rel="icon" href="data:,"/>
                <script nonce=leptos::nonce::use_nonce()>{crate::components::theme::EARLY_SCRIPT}</script>
                <title>"Auditorium"</title>
                <link rel="stylesheet" href="/pkg/auditorium.css"/>
                <HydrationScripts options/>
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <Routes fallback=|| view! { <p class="not-found">"Page not found."</p> }>
                // Async: the server waits for the events, chart and details and sends them in
                // place, so a link opened without JavaScript (text browsers, unfurlers,
                // archivers, people who turn it off) shows the rows. See docs/architecture.md.
                <Route path=path!("/") view=investigate::InvestigatePage ssr=SsrMode::Async/>
                <Route path=path!("/overview") view=insight::OverviewPage ssr=SsrMode::Async/>
                <Route path=path!("/resources/:kind/:id") view=insight::ResourcePage ssr=SsrMode::Async/>
                <Route path=path!("/actors/:id") view=insight::ActorPage ssr=SsrMode::Async/>
                <Route path=path!("/alerts") view=insight::AlertsPage ssr=SsrMode::Async/>
                <Route path=path!("/sign-in") view=account::SignInPage ssr=SsrMode::Async/>
                <Route path=path!("/set-password") view=account::SetPasswordPage/>
                <Route path=path!("/admin/users") view=admin::UsersPage/>
                <Route path=path!("/admin/tokens") view=admin::TokensPage/>
                <Route path=path!("/admin/sessions") view=admin::SessionsPage/>
                <Route path=path!("/admin/sso") view=admin::SsoPage/>
                <Route path=path!("/admin/destinations") view=admin::DestinationsPage/>
            </Routes>
        </Router>
    }
}

/// The page's scripts carry the nonce of the response's Content-Security-Policy, which the
/// server chose for this request (no other inline script runs).
fn provide_csp_nonce() {
    #[cfg(feature = "ssr")]
    if let Some(nonce) = use_context::<http::request::Parts>().and_then(|parts| parts.extensions.get::<CspNonce>().cloned()) {
        provide_context(leptos::nonce::Nonce::from_value(nonce.0));
    }
}

/// Set by the server on each request (its CSP nonce); read while rendering.
#[cfg(feature = "ssr")]
#[derive(Clone, Debug)]
pub struct CspNonce(pub String);
