//! The sign-in and set-password pages. Both are plain HTML forms posted to the server
//! (`/sign-in`, `/set-password`), so they work before the WebAssembly has loaded, or without
//! it; the server answers with a redirect. Messages come back in the URL.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::client::get_json;
use crate::components::brand::Brand;
use crate::components::theme::ThemeToggle;
use crate::sso::SignInOptions;

fn sign_in_message(error: Option<&str>) -> Option<&'static str> {
    match error? {
        "invalid" => Some("The email or password is not right."),
        "throttled" => Some("Too many attempts. Wait a minute, then try again."),
        "unavailable" => Some("Auditorium cannot reach its database right now. Try again in a few seconds."),
        "sso_only" => Some("Password sign-in is turned off for your account. Use the single sign-on button."),
        _ => Some("Signing in did not work. Try again."),
    }
}

/// Why single sign-on did not let someone in (`?sso_error=`), said plainly: a heading and what
/// to do next. The reason in detail is in Auditorium's audit log.
fn sso_message(code: &str) -> (&'static str, &'static str) {
    match code {
        "no_access" => ("You have no access to Auditorium", "Your account at the identity provider is not in a group that has access. Ask an administrator to add you to one, then sign in again."),
        "not_invited" => ("You have no Auditorium account yet", "Only invited people may sign in. Ask an administrator to invite you, then sign in again."),
        "domain" => ("This email domain may not sign in", "Auditorium accepts accounts of certain email domains only. Sign in with your work account."),
        "disabled" => ("Your account is disabled", "An administrator disabled your Auditorium account. Ask them if you need access again."),
        "no_email" | "unverified_email" => ("Your email address was not confirmed", "The identity provider did not confirm your email address, so Auditorium cannot tell who you are."),
        "last_admin" => ("You are the last administrator", "Your groups at the identity provider no longer make you an administrator, and nobody else is one. Your account was left as it is; ask for the admin group at the provider, or make someone else an administrator first."),
        "conflict" => ("This email belongs to someone else here", "Your email address is linked to another identity at the provider. Ask an administrator."),
        "state" | "expired" => ("That sign-in expired or was already used", "Sign-ins must finish within 10 minutes, in the browser that started them, and work once. Start again."),
        "throttled" => ("Too many sign-ins from your network", "Wait a minute, then try again."),
        "off" => ("Single sign-on is turned off", "Sign in with your email and password, or ask an administrator."),
        "unreachable" => ("The identity provider cannot be reached", "Auditorium could not talk to the identity provider just now. Try again in a minute; if it keeps happening, tell an administrator."),
        "code" | "token" | "provider" => ("The identity provider's answer was refused", "Auditorium could not verify the answer, so nobody was signed in. Try again; if it keeps happening, tell an administrator (the reason is in the audit log)."),
        _ => ("Single sign-on is not working right now", "Try again in a minute, or tell an administrator."),
    }
}

#[component]
pub fn SignInPage() -> impl IntoView {
    let query = use_query_map();
    let param = move |name: &str| query.with(|q| q.get(name));
    let next = param("next").unwrap_or_else(|| "/".into());
    let email = param("email").unwrap_or_default();
    let error = sign_in_message(param("error").as_deref());
    let refused = param("sso_error").map(|code| sso_message(&code));
    let notice = if param("signed_out").is_some() {
        Some("You are signed out.")
    } else if param("password_set").is_some() {
        Some("Your password is set. Sign in with it.")
    } else {
        None
    };
    let options = Resource::new(|| (), |_| get_json::<SignInOptions>("/api/v1/sso".into()));
    let title = if refused.is_some() { "Access refused" } else { "Sign in to Auditorium" };
    view! {
        <div class="account-page">
            <header class="account-top">
                <Brand/>
                <ThemeToggle/>
            </header>
            <main class="account-card" aria-labelledby="sign-in-title">
                <h1 id="sign-in-title">{title}</h1>
                {match refused {
                    Some((heading, help)) => view! {
                        <div class="account-error sso-refused" role="alert" id="sign-in-error">
                            <strong>{heading}</strong>
                            <p>{help}</p>
                        </div>
                    }.into_any(),
                    None => view! { <p class="account-lede">"The audit log of your organisation. Sign in with the account an administrator gave you."</p> }.into_any(),
                }}
                {notice.map(|text| view! { <p class="account-notice" role="status">{text}</p> })}
                {error.map(|text| view! { <p class="account-error" role="alert" id="sign-in-error">{text}</p> })}
                <Transition fallback=|| ()>
                    {move || {
                        let options = options.get().and_then(Result::ok).unwrap_or(SignInOptions { sso: false, name: String::new(), password: true });
                        let form = view! { <PasswordForm next=next.clone() email=email.clone() error=error.is_some()/> };
                        let sso_href = format!("/sso/start?next={}", percent_encoding::utf8_percent_encode(&next, percent_encoding::NON_ALPHANUMERIC));
                        match (options.sso, options.password) {
                            (false, _) => form.into_any(),
                            (true, password) => view! {
                                <a class="button primary account-submit sso-button" href=sso_href rel="external">{format!("Sign in with {}", options.name)}</a>
                                {if password {
                                    view! { <p class="account-or"><span>"or with a password"</span></p> {form} }.into_any()
                                } else {
                                    view! {
                                        <details class="break-glass" open=error.is_some()>
                                            <summary>"Administrator sign-in with a password"</summary>
                                            {form}
                                        </details>
                                    }.into_any()
                                }}
                            }.into_any(),
                        }
                    }}
                </Transition>
                <p class="account-help">"Forgot your password? Ask an administrator for a new one-time link."</p>
            </main>
        </div>
    }
}

#[component]
fn PasswordForm(next: String, email: String, error: bool) -> impl IntoView {
    view! {
        <form method="post" action="/sign-in" class="account-form">
            <input type="hidden" name="next" value=next/>
            <label for="email">"Email"</label>
            <input id="email" name="email" type="email" autocomplete="username" required value=email.clone()
                autofocus=email.is_empty() aria-describedby=error.then_some("sign-in-error")/>
            <label for="password">"Password"</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required
                autofocus=!email.is_empty()/>
            <button type="submit" class="button primary account-submit">"Sign in"</button>
        </form>
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
