//! An OpenID Connect provider written for the tests. It speaks the real protocol (discovery,
//! JWKS, token endpoint with PKCE and client authentication, userinfo; ID tokens signed with a
//! real RSA key by the `openidconnect` crate) and can also answer as a broken or hostile
//! provider would — tokens for another audience, expired, signed by another key, with another
//! nonce — which a correct provider (the browser tests use the certified `oidc-provider`)
//! never does.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Form, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chrono::Utc;
use openidconnect::core::{CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet, CoreJwsSigningAlgorithm, CoreRsaPrivateSigningKey};
use openidconnect::{AccessToken, Audience, EmptyAdditionalClaims, IssuerUrl, JsonWebKeyId, Nonce, PrivateSigningKey, StandardClaims, SubjectIdentifier};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "auditorium";
pub const CLIENT_SECRET: &str = "the client secret of this test";
const SIGNING: &str = include_str!("../fixtures/sso-signing.pem");
const OTHER: &str = include_str!("../fixtures/sso-other.pem");

/// What the provider does wrong when it answers a code.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Fault {
    None,
    WrongAudience,
    Expired,
    BadSignature,
    WrongNonce,
}

pub struct Code {
    pub nonce: String,
    pub challenge: String,
    pub subject: String,
    pub fault: Fault,
}

#[derive(Default)]
pub struct Fake {
    pub issuer: String,
    pub codes: Mutex<HashMap<String, Code>>,
    pub used: Mutex<HashSet<String>>,
    /// subject → (email, groups)
    pub people: Mutex<HashMap<String, (String, Vec<String>)>>,
    /// Subjects whose email the provider does not say is verified (no `email_verified`).
    pub unverified: Mutex<HashSet<String>>,
    /// access token → subject
    pub tokens: Mutex<HashMap<String, String>>,
    /// How long the token endpoint takes to answer.
    pub delay_ms: std::sync::atomic::AtomicU64,
}

fn key(pem: &str) -> CoreRsaPrivateSigningKey {
    CoreRsaPrivateSigningKey::from_pem(pem, Some(JsonWebKeyId::new("k1".into()))).expect("test key")
}

async fn discovery(State(fake): State<Arc<Fake>>) -> Json<Value> {
    let i = &fake.issuer;
    Json(json!({
        "issuer": i, "authorization_endpoint": format!("{i}/auth"), "token_endpoint": format!("{i}/token"),
        "jwks_uri": format!("{i}/jwks"), "userinfo_endpoint": format!("{i}/me"), "end_session_endpoint": format!("{i}/logout"),
        "response_types_supported": ["code"], "subject_types_supported": ["public"], "id_token_signing_alg_values_supported": ["RS256"],
    }))
}

async fn jwks() -> Json<CoreJsonWebKeySet> {
    Json(CoreJsonWebKeySet::new(vec![key(SIGNING).as_verification_key()]))
}

fn oauth_error(error: &str) -> axum::response::Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": error}))).into_response()
}

async fn token(State(fake): State<Arc<Fake>>, headers: HeaderMap, Form(form): Form<HashMap<String, String>>) -> axum::response::Response {
    tokio::time::sleep(Duration::from_millis(fake.delay_ms.load(std::sync::atomic::Ordering::Relaxed))).await;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("{CLIENT_ID}:{}", CLIENT_SECRET.replace(' ', "+"))));
    if headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) != Some(basic.as_str()) {
        return oauth_error("invalid_client");
    }
    let code_text = form.get("code").cloned().unwrap_or_default();
    if !fake.used.lock().expect("lock").insert(code_text.clone()) {
        return oauth_error("invalid_grant");
    }
    let Some(code) = fake.codes.lock().expect("lock").remove(&code_text) else { return oauth_error("invalid_grant") };
    let verifier = form.get("code_verifier").cloned().unwrap_or_default();
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    if challenge != code.challenge {
        return oauth_error("invalid_grant");
    }
    let access = format!("at-{}", uuid::Uuid::new_v4());
    fake.tokens.lock().expect("lock").insert(access.clone(), code.subject.clone());
    let now = Utc::now();
    let (exp, iat) = if code.fault == Fault::Expired { (now - chrono::TimeDelta::minutes(5), now - chrono::TimeDelta::minutes(10)) } else { (now + chrono::TimeDelta::minutes(5), now) };
    let audience = if code.fault == Fault::WrongAudience { "another-application" } else { CLIENT_ID };
    let nonce = if code.fault == Fault::WrongNonce { "another nonce".to_string() } else { code.nonce.clone() };
    let claims = CoreIdTokenClaims::new(
        IssuerUrl::new(fake.issuer.clone()).expect("issuer"),
        vec![Audience::new(audience.into())],
        exp,
        iat,
        StandardClaims::new(SubjectIdentifier::new(code.subject.clone())),
        EmptyAdditionalClaims {},
    )
    .set_nonce(Some(Nonce::new(nonce)));
    let signer = key(if code.fault == Fault::BadSignature { OTHER } else { SIGNING });
    let id_token = CoreIdToken::new(claims, &signer, CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256, Some(&AccessToken::new(access.clone())), None).expect("signed");
    Json(json!({"access_token": access, "token_type": "Bearer", "expires_in": 300, "id_token": id_token.to_string()})).into_response()
}

async fn userinfo(State(fake): State<Arc<Fake>>, headers: HeaderMap) -> axum::response::Response {
    let bearer = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer ")).unwrap_or_default();
    let Some(subject) = fake.tokens.lock().expect("lock").get(bearer).cloned() else { return StatusCode::UNAUTHORIZED.into_response() };
    let (email, groups) = fake.people.lock().expect("lock").get(&subject).cloned().unwrap_or_default();
    let mut claims = json!({"sub": subject, "email": email, "email_verified": true, "name": format!("Person {subject}"), "groups": groups});
    if fake.unverified.lock().expect("lock").contains(&subject) {
        claims.as_object_mut().map(|c| c.remove("email_verified"));
    }
    Json(claims).into_response()
}

/// The provider, listening on a loopback port.
pub async fn provider() -> Arc<Fake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let fake = Arc::new(Fake { issuer: format!("http://{}", listener.local_addr().expect("addr")), ..Default::default() });
    let app = Router::new()
        .route("/.well-known/openid-configuration", get(discovery))
        .route("/jwks", get(jwks))
        .route("/token", post(token))
        .route("/me", get(userinfo))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    fake
}
