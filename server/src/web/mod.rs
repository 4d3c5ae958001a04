//! Server-rendered pages (Leptos), the forms that work without JavaScript (sign-in, sign-out,
//! set a password), single sign-on's redirects, and the built site's static files.

mod forms;
mod gate;
mod sso;

use std::sync::Arc;

use app::client::ApiHandle;
use app::{shell, App};
use http_body_util::BodyExt;
use leptos::prelude::provide_context;
use tower::ServiceExt;
use axum::Router;
use leptos::config::{Env, LeptosOptions};
use leptos_axum::{generate_route_list, LeptosRoutes};

use crate::auth::Access;
use crate::config::ServeArgs;
use crate::state::AppState;

pub fn leptos_options(args: &ServeArgs) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("auditorium")
        .site_root(args.site_root.to_string_lossy().into_owned())
        .site_pkg_dir("pkg")
        .site_addr(args.addr)
        .env(Env::PROD)
        .build()
}

pub fn router(state: &AppState) -> Router<AppState> {
    let routes = generate_route_list(App);
    let options = state.leptos_options.clone();
    let api = api_handle(state);
    Router::new()
        .leptos_routes_with_context(state, routes, move || provide_context(api.clone()), move || shell(options.clone()))
        // Pages need someone signed in (but the sign-in and set-password pages).
        .route_layer(axum::middleware::from_fn(gate::require_sign_in))
        .route("/sign-in", axum::routing::post(forms::sign_in))
        .route("/sign-out", axum::routing::post(forms::sign_out))
        .route("/set-password", axum::routing::post(forms::set_password))
        .route("/sso/start", axum::routing::get(sso::start))
        .route("/sso/callback", axum::routing::get(sso::callback))
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
}

/// Lets server-rendered pages read through the very same API router the browser uses (same
/// validation, same access rules), without a network hop — as the person the page is for:
/// the page request's authentication travels with the in-process request.
fn api_handle(state: &AppState) -> ApiHandle {
    let api = crate::api::router()
        .layer(axum::middleware::from_fn_with_state(state.clone(), crate::auth::access::authenticate))
        .with_state(state.clone());
    ApiHandle(Arc::new(move |path_and_query: String, page: Option<axum::http::request::Parts>| {
        let api = api.clone();
        Box::pin(async move {
            let mut request = match axum::http::Request::get(path_and_query).body(axum::body::Body::empty()) {
                Ok(request) => request,
                Err(e) => {
                    let body = app::api::ErrorBody {
                        error: app::api::ErrorInfo { code: "bad_request".into(), message: e.to_string(), details: vec![] },
                    };
                    return (400, serde_json::to_string(&body).unwrap_or_default());
                }
            };
            // Nobody, unless the page's request was authenticated.
            let access = page.and_then(|p| p.extensions.get::<Access>().cloned()).unwrap_or(Access::Anonymous);
            request.extensions_mut().insert(access);
            let response = match api.oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            };
            let status = response.status().as_u16();
            let body = response.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
            (status, String::from_utf8_lossy(&body).into_owned())
        })
    }))
}
