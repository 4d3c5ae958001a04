//! The forms of the sign-in, sign-out and set-password pages, posted as plain HTML forms so
//! they work before (or without) the WebAssembly. Each answers with a redirect: to where the
//! person was going, or back to the form with what went wrong. Cross-site posts are refused
//! by the origin check in front of every route.

use axum::extract::{Form, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::gate::safe_next;
use crate::auth::accounts::{self, AccountError};
use crate::auth::audit::Actor;
use crate::auth::guard::ClientOrigin;
use crate::auth::sign_in::{sign_in as check_and_open, SignInError};
use crate::auth::{session, Authenticated, Credential};
use crate::state::AppState;

fn encode(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, percent_encoding::NON_ALPHANUMERIC).to_string()
}

#[derive(Deserialize)]
pub struct SignIn {
    email: String,
    password: String,
    next: Option<String>,
}

pub async fn sign_in(State(state): State<AppState>, ClientOrigin(origin): ClientOrigin, Form(form): Form<SignIn>) -> Response {
    let next = safe_next(form.next.as_deref());
    let result = check_and_open(&state.pool, &state.throttle, state.auth.limits.absolute, &form.email, form.password, origin).await;
    state.audit_kick.notify_one();
    match result {
        Ok(signed_in) => {
            let cookie = session::set_cookie(&signed_in.secret, state.auth.limits.absolute, state.web.secure_cookies);
            // Admins and auditors land on the overview; members on their events.
            let next = if next == "/" && signed_in.role != crate::store::users::Role::Member { "/overview".to_string() } else { next };
            ([(header::SET_COOKIE, cookie)], Redirect::to(&next)).into_response()
        }
        Err(e) => {
            let error = match e {
                SignInError::WrongCredentials => "invalid",
                SignInError::Throttled(_) => "throttled",
                SignInError::SsoOnly => "sso_only",
                SignInError::Sql(e) => {
                    tracing::warn!(error = %e, "signing in failed: {e}");
                    "unavailable"
                }
            };
            let back = format!("/sign-in?error={error}&email={}&next={}", encode(form.email.trim()), encode(&next));
            Redirect::to(&back).into_response()
        }
    }
}

#[derive(Deserialize)]
pub struct SignOut {
    #[serde(default)]
    everywhere: Option<String>,
}

pub async fn sign_out(
    State(state): State<AppState>,
    who: Result<Authenticated, crate::api::error::ApiError>,
    ClientOrigin(origin): ClientOrigin,
    Form(form): Form<SignOut>,
) -> Response {
    let clear = [(header::SET_COOKIE, session::clear_cookie(state.web.secure_cookies))];
    let Ok(Authenticated(who)) = who else {
        return (clear, Redirect::to("/sign-in?signed_out=1")).into_response();
    };
    let mut to = "/sign-in?signed_out=1".to_string();
    if let Credential::Session(hash) = &who.credential {
        // A single-sign-on session ends at the provider too, where it offers that.
        let id_token = crate::store::sessions::sso_id_token(&state.pool, hash).await.ok().flatten();
        let actor = Actor::of(&who);
        let ended = match (&who.user, form.everywhere.is_some()) {
            (Some(user), true) => accounts::end_all_sessions(&state.pool, user.id, actor, origin).await.map(|_| ()),
            _ => accounts::end_session(&state.pool, hash, actor, origin).await,
        };
        if let Err(e) = ended {
            tracing::warn!(error = %e, "signing out failed: {e}");
            return Redirect::to("/?error=sign-out-failed").into_response();
        }
        state.auth.forget(&who.credential);
        state.audit_kick.notify_one();
        if let Some(id_token) = id_token {
            to = crate::auth::sso::logout_url(&state, &id_token).await.unwrap_or(to);
        }
    }
    (clear, Redirect::to(&to)).into_response()
}

#[derive(Deserialize)]
pub struct SetPassword {
    token: String,
    password: String,
    confirm: String,
}

pub async fn set_password(State(state): State<AppState>, ClientOrigin(origin): ClientOrigin, Form(form): Form<SetPassword>) -> Response {
    let back = |error: &str| Redirect::to(&format!("/set-password?token={}&error={}", encode(&form.token), encode(error))).into_response();
    if form.password != form.confirm {
        return back("The two passwords are not the same.");
    }
    let user = match accounts::set_password_with_link(&state.pool, &form.token, form.password.clone(), origin.clone()).await {
        Ok(user) => user,
        Err(AccountError::Sql(e)) => {
            tracing::warn!(error = %e, "setting a password failed: {e}");
            return back("The server could not save the password right now; try again.");
        }
        Err(e) => return back(&e.to_string()),
    };
    state.audit_kick.notify_one();
    // Signed in straight away with the new password.
    match check_and_open(&state.pool, &state.throttle, state.auth.limits.absolute, &user.email, form.password, origin).await {
        Ok(signed_in) => {
            let cookie = session::set_cookie(&signed_in.secret, state.auth.limits.absolute, state.web.secure_cookies);
            ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
        }
        Err(_) => Redirect::to(&format!("/sign-in?password_set=1&email={}", encode(&user.email))).into_response(),
    }
}
