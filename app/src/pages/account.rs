//! The sign-in and set-password pages. Both are plain HTML forms posted to the server
//! (`/sign-in`, `/set-password`), so they work before the WebAssembly has loaded, or without
//! it; the server answers with a redirect. Messages come back in the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::components::brand::Brand;
use crate::components::theme::ThemeToggle;

fn sign_in_message(error: Option<&str>) -> Option<&'static str> {
    match error? {
        "invalid" => Some("The email or password is not right."),
        "throttled" => Some("Too many attempts. Wait a minute, then try again."),
        "unavailable" => Some("Auditorium cannot reach its database right now. Try again in a few seconds."),
        _ => Some("Signing in did not work. Try again."),
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name));
    let next = param("next").unwrap_or_else(|| "/".into());
    let email = param("email").unwrap_or_default();
    let error = sign_in_message(param("error").as_deref());
    let notice = if param("signed_out").is_some() {
        Some("You are signed out.")
    } else if param("password_set").is_some() {
        Some("Your password is set. Sign in with it.")
    } else {
        None
    };
    view! {
        <div class="account-page">
            <header class="account-top">
                <Brand/>
                <ThemeToggle/>
            </header>
            <main class="account-card" aria-labelledby="sign-in-title">
                <h1 id="sign-in-title">"Sign in to Auditorium"</h1>
                <p class="account-lede">"The audit log of your organisation. Sign in with the account an administrator gave you."</p>
                {notice.map(|text| view! { <p class="account-notice" role="status">{text}</p> })}
                {error.map(|text| view! { <p class="account-error" role="alert" id="sign-in-error">{text}</p> })}
                <form method="post" action="/sign-in" class="account-form">
                    <input type="hidden" name="next" value=next/>
                    <label for="email">"Email"</label>
                    <input id="email" name="email" type="email" autocomplete="username" required value=email.clone()
                        autofocus=email.is_empty() aria-describedby=error.map(|_| "sign-in-error")/>
                    <label for="password">"Password"</label>
                    <input id="password" name="password" type="password" autocomplete="current-password" required
                        autofocus=!email.is_empty()/>
                    <button type="submit" class="button primary account-submit">"Sign in"</button>
                </form>
                <p class="account-help">"Forgot your password? Ask an administrator for a new one-time link."</p>
            </main>
        </div>
    }
}

#[component]
pub fn SetPasswordPage() -> impl IntoView {
    let query = use_query_map();
    let token = query.with(|q| q.get("token")).unwrap_or_default();
    let error = query.with(|q| q.get("error"));
    let missing = token.is_empty();
    view! {
        <div class="account-page">
            <header class="account-top">
                <Brand/>
                <ThemeToggle/>
            </header>
            <main class="account-card" aria-labelledby="set-password-title">
                <h1 id="set-password-title">"Choose your password"</h1>
                <p class="account-lede">"At least 12 characters. A sentence you remember is a good password."</p>
                {error.map(|text| view! { <p class="account-error" role="alert" id="set-password-error">{text}</p> })}
                {missing.then(|| view! {
                    <p class="account-error" role="alert">"This page needs the one-time link an administrator sent you."</p>
                })}
                <form method="post" action="/set-password" class="account-form">
                    <input type="hidden" name="token" value=token/>
                    <label for="password">"New password"</label>
                    <input id="password" name="password" type="password" autocomplete="new-password" minlength="12" required autofocus=true/>
                    <label for="confirm">"The same again"</label>
                    <input id="confirm" name="confirm" type="password" autocomplete="new-password" minlength="12" required/>
                    <button type="submit" class="button primary account-submit" disabled=missing>"Set password and sign in"</button>
                </form>
            </main>
        </div>
    }
}
