//! Who is signed in, with sign-out — a `<details>` menu and plain forms, so it works before the
//! WebAssembly loads. Admins also find the admin pages here.

use leptos::prelude::*;

use crate::accounts::Me;
use crate::client::{get_json, ClientError};

/// Who is asking, read once per page (server-rendered with the page).
pub fn use_me() -> Resource<Result<Me, ClientError>> {
    match use_context::<Resource<Result<Me, ClientError>>>() {
        Some(me) => me,
        None => {
            let me = Resource::new(|| (), |_| get_json::<Me>("/api/v1/session".into()));
            provide_context(me);
            me
        }
    }
}

fn initials(name: &str) -> String {
    let letters: String = name.split_whitespace().filter_map(|w| w.chars().next()).take(2).collect();
    if letters.is_empty() { "?".into() } else { letters.to_uppercase() }
}

#[component]
pub fn UserMenu() -> impl IntoView {
    let me = use_me();
    view! {
        <Suspense fallback=|| ()>
            {move || me.get().and_then(Result::ok).map(|me| {
                let name = me.user.as_ref().map(|u| u.name.clone()).or_else(|| me.token.clone()).unwrap_or_default();
                let email = me.user.as_ref().map(|u| u.email.clone()).unwrap_or_default();
                let role = me.role.clone();
                view! {
                    <details class="user-menu">
                        <summary class="button user-menu-button">
                            <span class="avatar" aria-hidden="true">{initials(&name)}</span>
                            <span class="user-menu-name">{name.clone()}</span>
                            <span class="visually-hidden">{format!(" — account menu ({role})")}</span>
                        </summary>
                        <div class="user-menu-panel">
                            <p class="user-menu-who"><bdi>{name}</bdi><span class="muted"><bdi>{email}</bdi></span></p>
                            <p class="user-menu-role"><span class=format!("role-chip role-{role}")>{role.clone()}</span></p>
                            {me.is_member().then(|| view! {
                                <p class="user-menu-scope muted">"You see the activity relevant to you."</p>
                            })}
                            <nav class="user-menu-links" aria-label="Pages">
                                <a href="/overview">"Overview"</a>
                                <a href="/">"Events"</a>
                                <a href="/alerts">"Alerts"</a>
                            </nav>
                            {me.can_manage.then(|| view! {
                                <nav class="user-menu-links" aria-label="Administration">
                                    <a href="/admin/users">"Users"</a>
                                    <a href="/admin/tokens">"API tokens"</a>
                                    <a href="/admin/sessions">"Sessions"</a>
                                    <a href="/admin/sso">"Single sign-on"</a>
                                    <a href="/admin/destinations">"Destinations"</a>
                                </nav>
                            })}
                            <form method="post" action="/sign-out">
                                <button type="submit" class="button menu-item">"Sign out"</button>
                            </form>
                            <form method="post" action="/sign-out">
                                <input type="hidden" name="everywhere" value="1"/>
                                <button type="submit" class="button menu-item">"Sign out everywhere"</button>
                            </form>
                        </div>
                    </details>
                }
            })}
        </Suspense>
    }
}
