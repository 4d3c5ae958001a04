//! Pages need someone signed in: anyone else is sent to the sign-in page, which brings them
//! back to where they were going. The admin pages need an admin; a token that cannot read
//! (an ingest token) opens no page.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::principal::Denied;
use crate::auth::{session, Access, Need};

/// Pages anyone may open.
const OPEN: [&str; 2] = ["/sign-in", "/set-password"];

pub async fn require_sign_in(request: Request, next: Next) -> Response {
    let path = request.uri().path();
    if OPEN.contains(&path) {
        return next.run(request).await;
    }
    let need = if path.starts_with("/admin") { Need::Manage } else { Need::Read };
    match request.extensions().get::<Access>() {
        Some(Access::Known(principal)) => match principal.allows(need) {
            Ok(()) => next.run(request).await,
            Err(Denied(reason)) => (
                StatusCode::FORBIDDEN,
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
                format!("You cannot open this page: {reason}."),
            )
                .into_response(),
        },
        Some(Access::Unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, HeaderValue::from_static("5")), (header::CONTENT_TYPE, HeaderValue::from_static("text/plain; charset=utf-8"))],
            "Auditorium cannot reach its database right now. Try again in a few seconds.",
        )
            .into_response(),
        access => {
            let target = request.uri().path_and_query().map(|p| p.as_str()).unwrap_or("/");
            let mut response = Redirect::to(&sign_in_url(target)).into_response();
            // A session that ended: its cookie goes.
            if matches!(access, Some(Access::Refused(_))) {
                response.headers_mut().insert(header::SET_COOKIE, session::clear_cookie(false));
            }
            response
        }
    }
}

/// `/sign-in?next=<target>` (`/` is the default and left out).
pub fn sign_in_url(target: &str) -> String {
    if target == "/" {
        "/sign-in".into()
    } else {
        format!("/sign-in?next={}", percent_encoding::utf8_percent_encode(target, percent_encoding::NON_ALPHANUMERIC))
    }
}

/// A place to go after signing in: only a path of this site (never `//evil.example` or a
/// full URL, which would make the sign-in page an open redirect).
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // No control character anywhere and no backslash in the path: browsers drop tabs and
        // line breaks from URLs (`/\t/evil.example` would become `//evil.example`) and read a
        // path's `\` as `/`. (A backslash in the query, as in a search for a Windows path, stays.)
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.contains(char::is_control) && !n.split(['?', '#']).next().unwrap_or(n).contains('\\') => n.to_string(),
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/?action=user.login&range=1h")), "/?action=user.login&range=1h");
        for bad in ["//evil.example/x", "https://evil.example", "/\\evil.example", "javascript:alert(1)", "", "/\t/evil.example", "/\n/evil.example", "/x\\..\\\\evil.example", "/\u{1}x"] {
            assert_eq!(safe_next(Some(bad)), "/", "{bad}");
        }
        assert_eq!(safe_next(None), "/");
        assert_eq!(safe_next(Some("/?q=C:%5Cx&text=a\\b")), "/?q=C:%5Cx&text=a\\b", "a backslash in the query stays");
    }

    #[test]
    fn the_target_is_kept_in_the_sign_in_link() {
        assert_eq!(sign_in_url("/"), "/sign-in");
        assert_eq!(sign_in_url("/?q=a b"), "/sign-in?next=%2F%3Fq%3Da%20b");
    }
}
