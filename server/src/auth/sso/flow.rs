//! The sign-in itself (authorisation-code flow with PKCE): `start` sends the browser to the
//! provider with a fresh `state`, `nonce` and code challenge, remembered in `sso_logins` and
//! bound to the browser by a cookie; `finish` takes the provider's answer once, exchanges the
//! code, checks the ID token (signature, issuer, audience, expiry, nonce, access-token hash),
//! reads the claims, decides access from the groups, creates or updates the account and opens
//! a session. Every refusal is audited with its reason.

use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Utc;
use openidconnect::core::{CoreAuthenticationFlow, CoreGenderClaim};
use openidconnect::{
    AccessTokenHash, AuthorizationCode, CsrfToken, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, Scope, TokenResponse,
};
use serde_json::{json, Value};
use uuid::Uuid;

use super::mapping::{self, Grant, Refusal};
use super::provider::{chain, AnyClaims, Provider};
use super::settings::{self, Stored};
use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::auth::session;
use crate::state::AppState;
use crate::store::users::{self, Role, UserRow};
use crate::store::{sessions, tokens};

/// How long the provider may take to send the person back.
pub const LOGIN_LIFETIME: Duration = Duration::from_secs(600);
/// The cookie binding a sign-in under way to its browser.
pub const BROWSER_COOKIE: &str = "auditorium_sso";

pub struct Started {
    /// Where to send the browser.
    pub url: String,
    /// For the browser cookie.
    pub browser_secret: String,
}

fn refused(code: &'static str, reason: impl Into<String>) -> Refusal {
    Refusal::new(code, reason)
}

fn unavailable(e: sqlx::Error) -> Refusal {
    tracing::warn!(error = %e, "single sign-on: database: {e}");
    refused("unavailable", "the database is unavailable")
}

fn client_secret(state: &AppState, s: &Stored) -> Result<Option<String>, Refusal> {
    s.client_secret.as_deref().map(|sealed| state.secrets.open(sealed)).transpose().map_err(|e| refused("misconfigured", e.to_string()))
}

/// Sends the browser to the provider. `test_by`: an admin's "Test sign-in" (works while single
/// sign-on is still off).
pub async fn start(state: &AppState, test_by: Option<Uuid>, next: &str) -> Result<Started, Refusal> {
    let s = settings::load(&state.pool).await.map_err(unavailable)?;
    if !s.enabled && test_by.is_none() {
        return Err(refused("off", "single sign-on is turned off"));
    }
    if s.issuer.is_empty() || s.client_id.is_empty() {
        return Err(refused("misconfigured", "single sign-on has no issuer or client id"));
    }
    let meta = state.sso.metadata(&s.issuer).await.map_err(|e| refused("unreachable", e))?;
    let client = Provider::client(&meta, &s.client_id, client_secret(state, &s)?, &settings::redirect_uri(&state.web.base_url)).map_err(|e| refused("misconfigured", e))?;
    let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
    let mut request = client.authorize_url(CoreAuthenticationFlow::AuthorizationCode, CsrfToken::new_random, Nonce::new_random).set_pkce_challenge(challenge);
    for scope in s.scopes.iter().filter(|s| s.as_str() != "openid") {
        request = request.add_scope(Scope::new(scope.clone()));
    }
    let (url, csrf, nonce) = request.url();
    let (browser_secret, browser_hash) = session::new_secret();
    let expires = Utc::now() + chrono::TimeDelta::from_std(LOGIN_LIFETIME).unwrap_or(chrono::TimeDelta::minutes(10));
    let mut tx = state.pool.begin().await.map_err(unavailable)?;
    sqlx::query("DELETE FROM sso_logins WHERE expires_at < now()").execute(&mut *tx).await.map_err(unavailable)?;
    sqlx::query("INSERT INTO sso_logins (state_hash, browser_hash, nonce, pkce_verifier, next, test_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)")
        .bind(session::hash_secret(csrf.secret()))
        .bind(browser_hash)
        .bind(nonce.secret())
        .bind(verifier.secret())
        .bind(next)
        .bind(test_by)
        .bind(expires)
        .execute(&mut *tx)
        .await
        .map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)?;
    Ok(Started { url: url.to_string(), browser_secret })
}

/// The provider's answer, as it arrives at `/sso/callback`.
#[derive(Debug, Default, serde::Deserialize)]
pub struct Answer {
    pub code: Option<String>,
    pub state: Option<String>,
    pub error: Option<String>,
    pub error_description: Option<String>,
    /// RFC 9207: the issuer that answered, when the provider says.
    pub iss: Option<String>,
}

pub enum Finished {
    SignedIn { secret: String, next: String, role: Role },
    /// An admin's test: nothing signed in; the claims are in the settings.
    Tested,
}

/// A sign-in under way, taken (deleted) from `sso_logins`.
#[derive(sqlx::FromRow)]
struct Pending {
    browser_hash: Vec<u8>,
    nonce: String,
    pkce_verifier: String,
    next: String,
    test_by: Option<Uuid>,
    expires_at: chrono::DateTime<Utc>,
}

/// What is known of the person when a refusal is recorded.
#[derive(Default)]
struct Known {
    who: Option<String>,
    test_by: Option<Uuid>,
    claims: Option<Value>,
    user: Option<Uuid>,
}

/// Finishes a sign-in. A refusal has been audited when returned; a test's refusal is recorded
/// in the settings and the test counts as finished.
pub async fn finish(state: &AppState, answer: Answer, browser: Option<String>, origin: Origin) -> Result<Finished, Refusal> {
    let mut known = Known::default();
    let result = finish_inner(state, answer, browser, &origin, &mut known).await;
    state.audit_kick.notify_one();
    let Err(refusal) = result else { return result };
    if refusal.code == "unavailable" {
        return Err(refusal);
    }
    // A test is the admin's action; a refusal names whom the provider said it was.
    let actor = match known.test_by {
        Some(admin) => person(&state.pool, admin).await,
        None => Actor::claimed(known.who.as_deref().unwrap_or("(unknown)")),
    };
    let mut entry = Entry::new(if known.test_by.is_some() { "auditorium.sso.tested" } else { "auditorium.sso.refused" }, actor, origin).failed(refusal.reason.clone());
    entry = entry.note("refusal", json!(refusal.code));
    // Someone the provider no longer lets in loses the sessions and the API tokens they still
    // had (a token acts as its owner, with the owner's role and scope) — not the last admin,
    // whom the refusal leaves as they are.
    let shut_out = known.user.filter(|_| refusal.code != "last_admin");
    let recorded = async {
        let mut tx = state.pool.begin().await?;
        if known.test_by.is_some() {
            settings::record_test(&mut *tx, known.claims.clone().unwrap_or(Value::Null), &format!("Refused: {}", refusal.reason), false).await?;
        }
        if let Some(user) = shut_out {
            let ended = sessions::revoke_all(&mut *tx, user).await?;
            if ended > 0 {
                entry = entry.clone().note("sessions_ended", json!(ended));
            }
            let revoked = tokens::revoke_owned(&mut *tx, user).await?;
            if revoked > 0 {
                entry = entry.clone().note("tokens_revoked", json!(revoked));
            }
        }
        audit::record(&mut *tx, &entry).await?;
        tx.commit().await?;
        if shut_out.is_some() {
            state.live.access_changed();
        }
        Ok(())
    };
    match recorded.await {
        // A test is finished either way: what it found is in the settings.
        Ok(()) if known.test_by.is_some() => Ok(Finished::Tested),
        Ok(()) => Err(refusal),
        Err(e) => Err(unavailable(e)),
    }
}

async fn finish_inner(state: &AppState, answer: Answer, browser: Option<String>, origin: &Origin, known: &mut Known) -> Result<Finished, Refusal> {
    let Some(returned_state) = answer.state.as_deref().filter(|s| !s.is_empty() && s.len() <= 256) else {
        return Err(refused("state", "the answer carried no state"));
    };
    let pending: Option<Pending> = sqlx::query_as("DELETE FROM sso_logins WHERE state_hash = $1 RETURNING browser_hash, nonce, pkce_verifier, next, test_by, expires_at")
        .bind(session::hash_secret(returned_state))
        .fetch_optional(&state.pool)
        .await
        .map_err(unavailable)?;
    let Some(pending) = pending else {
        return Err(refused("state", "the state is unknown or was already used (a replayed or forged answer)"));
    };
    known.test_by = pending.test_by;
    if browser.as_deref().map(session::hash_secret) != Some(pending.browser_hash.clone()) {
        return Err(refused("state", "the answer came to another browser than the one that started the sign-in"));
    }
    if pending.expires_at < Utc::now() {
        return Err(refused("expired", "the sign-in took longer than 10 minutes"));
    }
    if let Some(error) = answer.error.as_deref() {
        let text: String = format!("{error}: {}", answer.error_description.as_deref().unwrap_or("")).chars().take(300).collect();
        return Err(refused("provider", format!("the identity provider answered with an error ({})", text.trim_end_matches([':', ' ']))));
    }
    let Some(code) = answer.code.filter(|c| !c.is_empty()) else {
        return Err(refused("provider", "the answer carried no code"));
    };
    let s = settings::load(&state.pool).await.map_err(unavailable)?;
    if !s.enabled && pending.test_by.is_none() {
        return Err(refused("off", "single sign-on was turned off"));
    }
    if answer.iss.as_deref().is_some_and(|iss| iss != s.issuer) {
        return Err(refused("provider", "the answer names another issuer than the configured one (a mix-up)"));
    }
    let meta = state.sso.metadata(&s.issuer).await.map_err(|e| refused("unreachable", e))?;
    let client = Provider::client(&meta, &s.client_id, client_secret(state, &s)?, &settings::redirect_uri(&state.web.base_url)).map_err(|e| refused("misconfigured", e))?;
    let exchange = client.exchange_code(AuthorizationCode::new(code)).map_err(|e| refused("misconfigured", e.to_string()))?;
    let tokens = exchange
        .set_pkce_verifier(PkceCodeVerifier::new(pending.pkce_verifier.clone()))
        .request_async(&state.sso.http)
        .await
        .map_err(|e| match e {
            openidconnect::RequestTokenError::Request(e) => refused("unreachable", format!("the identity provider could not be reached: {}", chain(&e))),
            e => refused("code", format!("the identity provider refused the code: {}", chain(&e))),
        })?;
    let id_token = tokens.id_token().ok_or_else(|| refused("token", "the identity provider sent no ID token"))?;
    let verifier = client.id_token_verifier();
    let verified = match id_token.claims(&verifier, &Nonce::new(pending.nonce.clone())) {
        Ok(claims) => claims.clone(),
        Err(e) => {
            // A key not seen yet: the provider may have rotated its keys; fetch them next time.
            state.sso.forget();
            return Err(refused("token", format!("the ID token was refused: {}", chain(&e))));
        }
    };
    if let Some(expected) = verified.access_token_hash() {
        let alg = id_token.signing_alg().map_err(|e| refused("token", e.to_string()))?;
        let key = id_token.signing_key(&verifier).map_err(|e| refused("token", e.to_string()))?;
        let actual = AccessTokenHash::from_token(tokens.access_token(), alg, key).map_err(|e| refused("token", e.to_string()))?;
        if actual != *expected {
            return Err(refused("token", "the access token does not match the ID token's at_hash"));
        }
    }
    let subject = verified.subject().to_string();
    let mut claims = payload(&id_token.to_string()).unwrap_or_else(|| json!({}));
    if client.user_info_url().is_some() {
        let info = client
            .user_info(tokens.access_token().clone(), Some(verified.subject().clone()))
            .map_err(|e| refused("provider", e.to_string()))?
            .request_async::<AnyClaims, _, CoreGenderClaim>(&state.sso.http)
            .await
            .map_err(|e| refused("provider", format!("the userinfo answer could not be used: {}", chain(&e))))?;
        merge(&mut claims, serde_json::to_value(&info).unwrap_or(Value::Null));
    }
    known.who = claims.get("email").and_then(Value::as_str).map(str::to_string).or_else(|| Some(format!("subject {subject}")));
    known.claims = Some(claims.clone());
    let identity = format!("{} {subject}", s.issuer);
    if pending.test_by.is_none() {
        known.user = users::by_sso_subject(&state.pool, &identity).await.map_err(unavailable)?.map(|u| u.id);
    }
    let (email, grant) = mapping::decide(&claims, &s.groups_claim, &s.mappings.0, &s.allowed_domains)?;
    if let Some(admin) = pending.test_by {
        let outcome = format!("Would sign in {email} as {}{}", grant.role.as_str(), scope_text(&grant));
        let mut tx = state.pool.begin().await.map_err(unavailable)?;
        settings::record_test(&mut *tx, claims, &outcome, true).await.map_err(unavailable)?;
        let actor = person(&state.pool, admin).await;
        audit::record(&mut *tx, &Entry::new("auditorium.sso.tested", actor, origin.clone()).note("outcome", json!(outcome))).await.map_err(unavailable)?;
        tx.commit().await.map_err(unavailable)?;
        return Ok(Finished::Tested);
    }
    let name = claims.get("name").and_then(Value::as_str).map(str::trim).filter(|n| !n.is_empty()).map(|n| n.chars().take(200).collect::<String>());
    let mut tx = state.pool.begin().await.map_err(unavailable)?;
    let confirmed = mapping::email_confirmed(&claims);
    let user = account(&mut tx, &s, &identity, (&email, confirmed), name.as_deref(), &grant, origin, known).await?;
    let (secret, hash) = session::new_secret();
    let expires = Utc::now() + chrono::TimeDelta::from_std(state.auth.limits.absolute).unwrap_or(chrono::TimeDelta::days(7));
    sessions::create(&mut *tx, &hash, user.id, expires, origin.ip.as_deref(), origin.user_agent.as_deref()).await.map_err(unavailable)?;
    sessions::set_sso_id_token(&mut *tx, &hash, &id_token.to_string()).await.map_err(unavailable)?;
    users::record_sign_in(&mut *tx, user.id).await.map_err(unavailable)?;
    let actor = Actor { id: user.id.to_string(), name: user.display_name.clone(), email: Some(user.email.clone()), kind: "user" };
    let entry = Entry::new("auditorium.session.created", actor, origin.clone())
        .on("user", user.id, &user.email)
        .note("method", json!("sso"))
        .note("groups", json!(grant.groups));
    audit::record(&mut *tx, &entry).await.map_err(unavailable)?;
    tx.commit().await.map_err(unavailable)?;
    Ok(Finished::SignedIn { secret, next: pending.next, role: grant.role })
}

/// An account as the actor of an audit entry (Auditorium itself if it is gone).
async fn person(pool: &sqlx::PgPool, id: Uuid) -> Actor {
    match users::by_id(pool, id).await {
        Ok(Some(u)) => Actor { id: u.id.to_string(), name: u.display_name, email: Some(u.email), kind: "user" },
        _ => Actor::system(),
    }
}

fn scope_text(grant: &Grant) -> String {
    if grant.scopes.is_empty() {
        String::new()
    } else {
        format!(" seeing {}", grant.scopes.join(" or "))
    }
}

/// The account for this identity: found by its provider identity, else by email (and linked),
/// else created when allowed; its role and scope set to what the groups grant now (audited as
/// an admin's changes are).
#[allow(clippy::too_many_arguments)]
async fn account(
    tx: &mut sqlx::Transaction<'_, sqlx::Postgres>,
    s: &Stored,
    identity: &str,
    (email, email_confirmed): (&str, bool),
    name: Option<&str>,
    grant: &Grant,
    origin: &Origin,
    known: &mut Known,
) -> Result<UserRow, Refusal> {
    let by_subject = users::by_sso_subject(&mut **tx, identity).await.map_err(unavailable)?;
    let user = match by_subject {
        Some(user) => user,
        None => match users::by_email(&mut **tx, email).await.map_err(unavailable)? {
            Some(user) => {
                if user.sso_subject.is_some() {
                    return Err(refused("conflict", format!("{email} belongs to an account linked to another identity at the provider")));
                }
                if !email_confirmed {
                    return Err(refused(
                        "unverified_email",
                        format!("{email} has an account here, and it is linked only when the identity provider says the email is verified (email_verified)"),
                    ));
                }
                users::set_sso_subject(&mut **tx, user.id, identity).await.map_err(unavailable)?;
                user
            }
            None if !s.create_accounts => return Err(refused("not_invited", format!("{email} has no account and only invited people may sign in"))),
            None => {
                let display = name.map(str::to_string).unwrap_or_else(|| email.split('@').next().unwrap_or(email).to_string());
                let user = users::create(&mut **tx, email, &display, grant.role, &grant.scopes, None).await.map_err(|e| match e {
                    users::UserError::Sql(e) => unavailable(e),
                    other => refused("conflict", other.to_string()),
                })?;
                users::set_sso_subject(&mut **tx, user.id, identity).await.map_err(unavailable)?;
                let entry = Entry::new("auditorium.user.created", Actor::claimed(email), origin.clone())
                    .on("user", user.id, &user.email)
                    .change("role", Value::Null, json!(grant.role.as_str()))
                    .note("scopes", json!(grant.scopes))
                    .note("method", json!("sso"));
                audit::record(&mut **tx, &entry).await.map_err(unavailable)?;
                user
            }
        },
    };
    known.user = Some(user.id);
    if user.disabled_at.is_some() {
        return Err(refused("disabled", format!("the account {email} is disabled")));
    }
    // The same records as an admin's changes, by the person's sign-in (method `sso`).
    let change = |action: &'static str, field: &str, before: Value, after: Value| {
        Entry::new(action, Actor::claimed(email), origin.clone()).on("user", user.id, &user.email).change(field, before, after).note("method", json!("sso"))
    };
    let mut entries = Vec::new();
    let demoted = user.role() == Some(Role::Admin) && grant.role != Role::Admin;
    if demoted && users::other_active_admins(&mut **tx, user.id).await.map_err(unavailable)? == 0 {
        return Err(refused("last_admin", format!("{email} is the last active admin and their groups grant {}: left unchanged", grant.role.as_str())));
    }
    if user.role().as_ref() != Some(&grant.role) {
        users::set_role(&mut **tx, user.id, grant.role).await.map_err(unavailable)?;
        entries.push(change("auditorium.user.role_changed", "role", json!(user.role), json!(grant.role.as_str())));
    }
    if user.scopes != grant.scopes {
        users::set_scopes(&mut **tx, user.id, &grant.scopes).await.map_err(unavailable)?;
        entries.push(change("auditorium.user.scope_changed", "scopes", json!(user.scopes), json!(grant.scopes)));
    }
    if let Some(name) = name.filter(|n| *n != user.display_name) {
        users::set_display_name(&mut **tx, user.id, name).await.map_err(unavailable)?;
        entries.push(change("auditorium.user.renamed", "display_name", json!(user.display_name), json!(name)));
    }
    for entry in &entries {
        audit::record(&mut **tx, entry).await.map_err(unavailable)?;
    }
    users::by_id(&mut **tx, user.id).await.map_err(unavailable)?.ok_or_else(|| refused("unavailable", "the account vanished"))
}

/// The claims of a JWT (already verified), as JSON.
fn payload(jwt: &str) -> Option<Value> {
    let part = jwt.split('.').nth(1)?;
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part.trim_end_matches('=')).ok()?).ok()
}

/// Adds userinfo claims the ID token does not carry (the ID token's own stay).
fn merge(into: &mut Value, from: Value) {
    if let (Value::Object(into), Value::Object(from)) = (into, from) {
        for (k, v) in from {
            into.entry(k).or_insert(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_claims_of_a_token_are_read_and_userinfo_adds_to_them() {
        let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"ada","email":"ada@example.com"}"#);
        let mut claims = payload(&format!("eyJhbGciOiJSUzI1NiJ9.{body}.c2ln")).expect("claims");
        merge(&mut claims, json!({"sub": "other", "groups": ["sec-team"]}));
        assert_eq!(claims, json!({"sub": "ada", "email": "ada@example.com", "groups": ["sec-team"]}));
        assert_eq!(payload("not a jwt"), None);
    }
}
