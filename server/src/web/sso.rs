//! The browser's side of single sign-on: `/sso/start` sends the browser to the identity
//! provider, `/sso/callback` receives it back and signs in (or shows why not on the sign-in
//! page). `/sso/start?test=1`, for admins, checks the settings without signing anyone in.

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, HeaderValue};
use axum::response::{IntoResponse, Redirect, Response};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use super::gate::safe_next;
use crate::auth::guard::ClientOrigin;
use crate::auth::sso::flow::{self, Answer, Finished, BROWSER_COOKIE, LOGIN_LIFETIME};
use crate::auth::sso::mapping::Refusal;
use crate::db::detached;
use crate::auth::{session, Authenticated};
use crate::state::AppState;
use crate::store::users::Role;

#[derive(Deserialize)]
pub struct StartQuery {
    next: Option<String>,
    test: Option<String>,
}

fn browser_cookie(value: &str, secure: bool, lifetime: std::time::Duration) -> HeaderValue {
    let cookie = Cookie::build((BROWSER_COOKIE, value.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/sso")
        .max_age(cookie::time::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(600)))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

fn task_failed() -> Refusal {
    Refusal::new("unavailable", "the sign-in task failed")
}

fn refused_page(code: &str) -> Response {
    Redirect::to(&format!("/sign-in?sso_error={code}")).into_response()
}

pub async fn start(
    State(state): State<AppState>,
    who: Result<Authenticated, crate::api::error::ApiError>,
    ClientOrigin(origin): ClientOrigin,
    Query(query): Query<StartQuery>,
) -> Response {
    if !state.throttle.sso_start_allowed(origin.ip.as_deref().and_then(|ip| ip.parse().ok())) {
        return refused_page("throttled");
    }
    let test_by = match (query.test.is_some(), &who) {
        (false, _) => None,
        (true, Ok(Authenticated(p))) if p.role == Role::Admin && p.is_session() => p.user.as_ref().map(|u| u.id),
        (true, _) => return Redirect::to("/sign-in?next=%2Fadmin%2Fsso").into_response(),
    };
    let next = safe_next(query.next.as_deref());
    // Finished even if the browser goes away meanwhile: nothing is left half-written.
    let started = {
        let state = state.clone();
        detached(async move { flow::start(&state, test_by, &next).await }).await.unwrap_or_else(|| Err(task_failed()))
    };
    match started {
        Ok(started) => {
            let cookie = browser_cookie(&started.browser_secret, state.web.secure_cookies, LOGIN_LIFETIME);
            ([(header::SET_COOKIE, cookie)], Redirect::to(&started.url)).into_response()
        }
        Err(refusal) => {
            tracing::warn!(reason = %refusal.reason, "single sign-on could not start: {}", refusal.reason);
            if test_by.is_some() {
                // Shown as the test's result on the admin page (kept in the settings, not carried
                // in the URL, where anyone could write a message of their own).
                let (pool, outcome) = (state.pool.clone(), format!("Refused: {}", refusal.reason));
                let recorded = detached(async move { crate::auth::sso::settings::record_test(&pool, serde_json::Value::Null, &outcome, false).await }).await;
                if let Some(Err(e)) = recorded {
                    tracing::warn!(error = %e, "the failed test could not be recorded: {e}");
                }
                return Redirect::to("/admin/sso?tested=1").into_response();
            }
            refused_page(refusal.code)
        }
    }
}

pub async fn callback(State(state): State<AppState>, ClientOrigin(origin): ClientOrigin, headers: HeaderMap, Query(answer): Query<Answer>) -> Response {
    let clear = browser_cookie("", state.web.secure_cookies, std::time::Duration::ZERO);
    let finished = {
        let (state, browser) = (state.clone(), session::cookie_value(&headers, BROWSER_COOKIE));
        detached(async move { flow::finish(&state, answer, browser, origin).await }).await.unwrap_or_else(|| Err(task_failed()))
    };
    match finished {
        Ok(Finished::SignedIn { secret, next, role }) => {
            crate::auth::sso::refresh_sign_out_origin(&state).await;
            let cookie = session::set_cookie(&secret, state.auth.limits.absolute, state.web.secure_cookies);
            let next = if next == "/" && role != Role::Member { "/overview".to_string() } else { next };
            let mut response = Redirect::to(&next).into_response();
            response.headers_mut().append(header::SET_COOKIE, cookie);
            response.headers_mut().append(header::SET_COOKIE, clear);
            response
        }
        Ok(Finished::Tested) => ([(header::SET_COOKIE, clear)], Redirect::to("/admin/sso?tested=1")).into_response(),
        Err(refusal) => {
            let mut response = refused_page(refusal.code);
            response.headers_mut().append(header::SET_COOKIE, clear);
            response
        }
    }
}
