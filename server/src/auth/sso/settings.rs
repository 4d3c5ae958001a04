//! The single-sign-on settings (one row of `sso_settings`): read, checked, saved with an audit
//! entry naming what changed (the client secret only as "changed", never its value).

use app::sso::{MappingRule, SignInOptions, SsoSettings, SsoSettingsInput, TestResult};
use chrono::{SecondsFormat, Utc};
use serde_json::{json, Value};
use sqlx::{PgExecutor, PgPool};

use crate::auth::accounts::check_scopes;
use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::secrets::SecretBox;
use crate::store::users::Role;

/// The stored settings; `client_secret` is sealed.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct Stored {
    pub enabled: bool,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub mappings: sqlx::types::Json<Vec<MappingRule>>,
    pub allowed_domains: Vec<String>,
    pub create_accounts: bool,
    pub password_sign_in: bool,
    pub last_test: Option<sqlx::types::Json<TestResult>>,
}

const COLUMNS: &str =
    "enabled, display_name, issuer, client_id, client_secret, scopes, groups_claim, mappings, allowed_domains, create_accounts, password_sign_in, last_test";

pub async fn load(db: impl PgExecutor<'_>) -> Result<Stored, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM sso_settings")).fetch_one(db).await
}

/// What the sign-in page offers.
pub async fn sign_in_options(pool: &PgPool) -> Result<SignInOptions, sqlx::Error> {
    let s = load(pool).await?;
    Ok(SignInOptions { sso: s.enabled, name: s.display_name, password: !s.enabled || s.password_sign_in })
}

/// Where the provider sends people back, for a server at `base_url`.
pub fn redirect_uri(base_url: &str) -> String {
    format!("{}/sso/callback", base_url.trim_end_matches('/'))
}

pub fn post_logout_uri(base_url: &str) -> String {
    format!("{}/sign-in?signed_out=1", base_url.trim_end_matches('/'))
}

pub fn view(s: &Stored, base_url: &str) -> SsoSettings {
    SsoSettings {
        enabled: s.enabled,
        display_name: s.display_name.clone(),
        issuer: s.issuer.clone(),
        client_id: s.client_id.clone(),
        has_client_secret: s.client_secret.is_some(),
        scopes: s.scopes.clone(),
        groups_claim: s.groups_claim.clone(),
        mappings: s.mappings.0.clone(),
        allowed_domains: s.allowed_domains.clone(),
        create_accounts: s.create_accounts,
        password_sign_in: s.password_sign_in,
        redirect_uri: redirect_uri(base_url),
        post_logout_uri: post_logout_uri(base_url),
        last_test: s.last_test.as_ref().map(|t| t.0.clone()),
    }
}

fn words(items: &[String], lower: bool) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for item in items.iter().flat_map(|i| i.split([',', ' ', '\n'])).map(str::trim).filter(|i| !i.is_empty()) {
        let item = if lower { item.to_ascii_lowercase() } else { item.to_string() };
        if !out.contains(&item) {
            out.push(item);
        }
    }
    out
}

/// The input cleaned, or every problem with it.
pub fn check(input: &SsoSettingsInput) -> Result<SsoSettingsInput, Vec<String>> {
    let mut problems = Vec::new();
    let mut clean = input.clone();
    clean.display_name = input.display_name.trim().to_string();
    // As the provider writes it: discovery compares it exactly (some end with a slash).
    clean.issuer = input.issuer.trim().to_string();
    clean.client_id = input.client_id.trim().to_string();
    clean.groups_claim = input.groups_claim.trim().to_string();
    clean.client_secret = input.client_secret.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_string);
    clean.scopes = words(&input.scopes, false);
    if !clean.scopes.iter().any(|s| s == "openid") {
        clean.scopes.insert(0, "openid".into());
    }
    clean.allowed_domains = words(&input.allowed_domains, true).into_iter().map(|d| d.trim_start_matches('@').to_string()).collect();
    if clean.display_name.is_empty() || clean.display_name.chars().count() > 60 {
        problems.push("the name on the sign-in button must have 1 to 60 characters".to_string());
    }
    if clean.groups_claim.is_empty() {
        problems.push("name the claim that holds the groups (often `groups`)".to_string());
    }
    let url_ok = url_like(&clean.issuer);
    if (clean.enabled || !clean.issuer.is_empty()) && !url_ok {
        problems.push(format!("the issuer must be an https:// (or, for a local test, http://) URL, not {:?}", clean.issuer));
    }
    if clean.enabled && clean.client_id.is_empty() {
        problems.push("a client id is needed to turn single sign-on on".to_string());
    }
    clean.mappings = Vec::new();
    for (i, rule) in input.mappings.iter().enumerate() {
        let group = rule.group.trim().to_string();
        if group.is_empty() && rule.scopes.iter().all(|s| s.trim().is_empty()) {
            continue;
        }
        let Some(role) = Role::parse(rule.role.trim()) else {
            problems.push(format!("rule {}: the role must be admin, auditor or member", i + 1));
            continue;
        };
        if group.is_empty() {
            problems.push(format!("rule {}: name a group", i + 1));
        }
        if role == Role::Member && rule.scopes.iter().all(|s| s.trim().is_empty()) {
            problems.push(format!("rule {}: a member needs a scope (what they may see), e.g. context.team=machinery", i + 1));
        }
        match check_scopes(role, &rule.scopes) {
            Ok(scopes) => clean.mappings.push(MappingRule { group, role: role.as_str().into(), scopes: if role == Role::Member { scopes } else { vec![] } }),
            Err(e) => problems.push(format!("rule {}: {e}", i + 1)),
        }
    }
    if problems.is_empty() {
        Ok(clean)
    } else {
        Err(problems)
    }
}

fn url_like(text: &str) -> bool {
    let rest = text.strip_prefix("https://").or_else(|| text.strip_prefix("http://"));
    rest.is_some_and(|r| !r.is_empty() && !r.starts_with('/') && !r.chars().any(|c| c.is_whitespace() || c.is_control()))
}

#[derive(Debug, thiserror::Error)]
pub enum SaveError {
    #[error("{}", .0.join("; "))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Secret(#[from] crate::secrets::SecretError),
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

/// Saves the settings and records `auditorium.sso.settings_changed` with each changed field
/// (mapping rules as before/after lists) in the same transaction.
pub async fn save(pool: &PgPool, secrets: &SecretBox, input: &SsoSettingsInput, actor: Actor, origin: Origin) -> Result<Stored, SaveError> {
    let clean = check(input).map_err(SaveError::Invalid)?;
    let sealed = clean.client_secret.as_deref().map(|s| secrets.seal(s)).transpose()?;
    let mut tx = pool.begin().await?;
    let before: Stored = sqlx::query_as(&format!("SELECT {COLUMNS} FROM sso_settings FOR UPDATE")).fetch_one(&mut *tx).await?;
    if clean.enabled && sealed.is_none() && before.client_secret.is_none() {
        return Err(SaveError::Invalid(vec!["a client secret is needed to turn single sign-on on".into()]));
    }
    let after: Stored = sqlx::query_as(&format!(
        "UPDATE sso_settings SET enabled = $1, display_name = $2, issuer = $3, client_id = $4, client_secret = COALESCE($5, client_secret),
             scopes = $6, groups_claim = $7, mappings = $8, allowed_domains = $9, create_accounts = $10, password_sign_in = $11,
             updated_at = now()
         RETURNING {COLUMNS}"
    ))
    .bind(clean.enabled)
    .bind(&clean.display_name)
    .bind(&clean.issuer)
    .bind(&clean.client_id)
    .bind(&sealed)
    .bind(&clean.scopes)
    .bind(&clean.groups_claim)
    .bind(sqlx::types::Json(&clean.mappings))
    .bind(&clean.allowed_domains)
    .bind(clean.create_accounts)
    .bind(clean.password_sign_in)
    .fetch_one(&mut *tx)
    .await?;
    let mut entry = Entry::new("auditorium.sso.settings_changed", actor, origin).on("settings", "sso", "single sign-on");
    let pairs: [(&str, Value, Value); 10] = [
        ("enabled", json!(before.enabled), json!(after.enabled)),
        ("display_name", json!(before.display_name), json!(after.display_name)),
        ("issuer", json!(before.issuer), json!(after.issuer)),
        ("client_id", json!(before.client_id), json!(after.client_id)),
        ("scopes", json!(before.scopes), json!(after.scopes)),
        ("groups_claim", json!(before.groups_claim), json!(after.groups_claim)),
        ("mappings", json!(before.mappings.0), json!(after.mappings.0)),
        ("allowed_domains", json!(before.allowed_domains), json!(after.allowed_domains)),
        ("create_accounts", json!(before.create_accounts), json!(after.create_accounts)),
        ("password_sign_in", json!(before.password_sign_in), json!(after.password_sign_in)),
    ];
    for (field, was, now) in pairs {
        if was != now {
            entry = entry.change(field, was, now);
        }
    }
    // The secret itself never: only that one was set or replaced.
    if sealed.is_some() {
        entry = entry.change("client_secret", if before.client_secret.is_some() { json!("(set)") } else { Value::Null }, json!("(changed)"));
    }
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(after)
}

pub async fn record_test(db: impl PgExecutor<'_>, claims: Value, outcome: &str, allowed: bool) -> Result<(), sqlx::Error> {
    let result = TestResult { at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true), claims, outcome: outcome.to_string(), allowed };
    sqlx::query("UPDATE sso_settings SET last_test = $1").bind(sqlx::types::Json(result)).execute(db).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SsoSettingsInput {
        SsoSettingsInput {
            enabled: true,
            display_name: " Okta ".into(),
            issuer: "https://id.example.com/".into(),
            client_id: "auditorium".into(),
            client_secret: Some("  ".into()),
            scopes: vec!["email profile, groups".into()],
            groups_claim: "groups".into(),
            mappings: vec![
                MappingRule { group: "sec-team".into(), role: "auditor".into(), scopes: vec!["x=1".into()] },
                MappingRule { group: "team-machinery".into(), role: "member".into(), scopes: vec!["context.team=machinery".into()] },
                MappingRule { group: " ".into(), role: "member".into(), scopes: vec![] },
            ],
            allowed_domains: vec!["@Example.com corp.example".into()],
            create_accounts: true,
            password_sign_in: false,
        }
    }

    #[test]
    fn settings_are_cleaned() {
        let clean = check(&input()).expect("valid");
        assert_eq!(clean.display_name, "Okta");
        assert_eq!(clean.issuer, "https://id.example.com/", "kept as written: discovery compares it exactly");
        assert_eq!(clean.client_secret, None, "a blank secret keeps the stored one");
        assert_eq!(clean.scopes, vec!["openid", "email", "profile", "groups"]);
        assert_eq!(clean.allowed_domains, vec!["example.com", "corp.example"]);
        assert_eq!(clean.mappings.len(), 2, "the empty row is dropped");
        assert!(clean.mappings[0].scopes.is_empty(), "an auditor sees everything: no scope kept");
    }

    #[test]
    fn every_problem_is_named() {
        let mut bad = input();
        bad.issuer = "id.example.com".into();
        bad.client_id = String::new();
        bad.mappings = vec![
            MappingRule { group: "a".into(), role: "root".into(), scopes: vec![] },
            MappingRule { group: "b".into(), role: "member".into(), scopes: vec![] },
            MappingRule { group: "c".into(), role: "member".into(), scopes: vec!["time=forever".into()] },
        ];
        let problems = check(&bad).expect_err("invalid");
        assert_eq!(problems.len(), 5, "{problems:?}");
        assert!(problems[0].contains("issuer"));
        assert!(problems.iter().any(|p| p.starts_with("rule 3:")), "{problems:?}");
    }
}
