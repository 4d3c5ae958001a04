//! Single sign-on with OpenID Connect (the `openidconnect` crate): settings kept in the
//! database and edited on the admin page, the authorisation-code flow with PKCE, group rules
//! that decide role and scope at every sign-in, and signing out at the provider too
//! (RP-initiated logout). See docs/security.md "Single sign-on".

pub mod flow;
pub mod mapping;
pub mod provider;
pub mod settings;

pub use provider::Provider;

use crate::state::AppState;

/// The provider's end-session page, when single sign-on is on and the provider has one.
pub async fn end_session_url(state: &AppState) -> Option<String> {
    let s = settings::load(&state.pool).await.ok().filter(|s| s.enabled)?;
    let meta = state.sso.metadata(&s.issuer).await.ok()?;
    meta.additional_metadata().end_session_endpoint.as_ref().map(|u| u.url().to_string())
}

/// Lets this instance's pages sign out at the provider (CSP `form-action`): at start, after
/// the settings change and after each single-sign-on sign-in.
pub async fn refresh_sign_out_origin(state: &AppState) {
    let url = end_session_url(state).await;
    state.web.allow_sign_out_to(url.as_deref());
}

/// Where to send a browser whose single-sign-on session just ended, to end the provider's
/// session too (RP-initiated logout), when the provider offers it.
pub async fn logout_url(state: &AppState, id_token: &str) -> Option<String> {
    let s = settings::load(&state.pool).await.ok().filter(|s| s.enabled)?;
    let meta = state.sso.metadata(&s.issuer).await.ok()?;
    let endpoint = meta.additional_metadata().end_session_endpoint.clone()?;
    let hint: openidconnect::core::CoreIdToken = id_token.parse().ok()?;
    let back = openidconnect::PostLogoutRedirectUrl::new(settings::post_logout_uri(&state.web.base_url)).ok()?;
    let request = openidconnect::LogoutRequest::from(endpoint)
        .set_id_token_hint(&hint)
        .set_client_id(openidconnect::ClientId::new(s.client_id))
        .set_post_logout_redirect_uri(back);
    Some(request.http_get_url().to_string())
}
