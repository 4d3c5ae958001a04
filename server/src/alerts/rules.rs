//! Alert rules as stored, who may see and change them, and their firings.
//!
//! A rule belongs to the person who made it and sees only what they may see: their scope is
//! stored with the rule and applied when it is evaluated (and when its firings are shown).
//! Admins and auditors see every rule; members see theirs. Only the owner or an admin may
//! change or delete a rule. Every change is audited in the same transaction.

use app::alerts::{
    check_rule, AlertRule, AlertRuleChange, CreatedRule, Firing, NewAlertRule, Threshold, Webhook,
};
use app::query::Scope;
use chrono::{DateTime, Utc};
use serde_json::json;
use sqlx::PgPool;
use uuid::Uuid;

use crate::auth::audit::{self, Actor, Entry, Origin};
use crate::auth::Principal;
use crate::store::users::Role;

#[derive(Debug, thiserror::Error)]
pub enum RuleError {
    #[error("{}", .0.iter().map(|(f, m)| format!("{f}: {m}")).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<(String, String)>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    Store(#[from] sqlx::Error),
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RuleRow {
    pub id: Uuid,
    pub name: String,
    pub view: String,
    pub threshold: i32,
    pub window_seconds: i32,
    pub per: Option<String>,
    pub webhook_url: Option<String>,
    pub webhook_secret: Option<String>,
    pub enabled: bool,
    pub suggestion: Option<String>,
    pub owner_id: Option<Uuid>,
    pub owner_scopes: Vec<String>,
    pub owner_email: Option<String>,
    pub created_at: DateTime<Utc>,
}

const SELECT: &str = "SELECT r.id, r.name, r.view, r.threshold, r.window_seconds, r.per, r.webhook_url, r.webhook_secret, r.enabled, \
     r.suggestion, r.owner_id, r.owner_scopes, u.email AS owner_email, r.created_at FROM alert_rules r LEFT JOIN users u ON u.id = r.owner_id";

impl RuleRow {
    pub fn summary(&self) -> AlertRule {
        AlertRule {
            id: self.id.to_string(),
            name: self.name.clone(),
            view: self.view.clone(),
            threshold: Threshold {
                count: self.threshold.max(1) as u32,
                window: window_text(self.window_seconds.into()),
                per: self.per.clone(),
            },
            webhook: self
                .webhook_url
                .clone()
                .map(|url| Webhook { url, secret: None }),
            enabled: self.enabled,
            suggestion: self.suggestion.clone(),
            owner: self.owner_email.clone(),
            created_at: self.created_at,
        }
    }

    /// What the rule may see: its owner's scope (everything for built-in suggestions and
    /// rules of admins and auditors).
    pub fn scope(&self) -> Scope {
        if self.owner_scopes.is_empty() {
            Scope::All
        } else {
            Scope::parse(&self.owner_scopes).unwrap_or(Scope::AnyOf(vec![]))
        }
    }
}

/// `600` → `10m`: the largest unit that divides it.
pub fn window_text(seconds: i64) -> String {
    for (unit, size) in [("w", 604_800), ("d", 86_400), ("h", 3600), ("m", 60)] {
        if seconds % size == 0 {
            return format!("{}{unit}", seconds / size);
        }
    }
    format!("{seconds}s")
}

fn sees(who: &Principal, rule: &RuleRow) -> bool {
    who.role != Role::Member
        || (rule.owner_id.is_some() && rule.owner_id == who.user.as_ref().map(|u| u.id))
}

fn may_change(who: &Principal, rule: &RuleRow) -> bool {
    who.role == Role::Admin
        || (rule.owner_id.is_some() && rule.owner_id == who.user.as_ref().map(|u| u.id))
}

pub async fn create(
    pool: &PgPool,
    who: &Principal,
    new: &NewAlertRule,
    allow: &[String],
    origin: Origin,
) -> Result<CreatedRule, RuleError> {
    let checked = check_rule(new).map_err(RuleError::Invalid)?;
    let mut made_secret = None;
    let (url, secret) = match &new.webhook {
        None => (None, None),
        Some(hook) => {
            if !super::webhook::allowed(hook.url.trim(), allow) {
                return Err(RuleError::Invalid(vec![(
                    "webhook.url".into(),
                    "this host is not among the allowed webhook targets (--webhook-allow)".into(),
                )]));
            }
            let secret = hook.secret.clone().unwrap_or_else(|| {
                let s = super::webhook::new_secret();
                made_secret = Some(s.clone());
                s
            });
            (Some(hook.url.trim().to_string()), Some(secret))
        }
    };
    let id = Uuid::now_v7();
    let mut tx = pool.begin().await?;
    sqlx::query(
        "INSERT INTO alert_rules (id, name, view, threshold, window_seconds, per, webhook_url, webhook_secret, owner_id, owner_scopes)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(id)
    .bind(&checked.name)
    .bind(&checked.view)
    .bind(checked.count as i32)
    .bind(checked.window_seconds as i32)
    .bind(checked.per.as_ref().map(|f| f.key()))
    .bind(&url)
    .bind(&secret)
    .bind(who.user.as_ref().map(|u| u.id))
    .bind(&who.scope_views)
    .execute(&mut *tx)
    .await?;
    let entry = Entry::new("auditorium.alert_rule.created", Actor::of(who), origin)
        .on("alert_rule", id, &checked.name)
        .note("view", json!(checked.view))
        .note("threshold", json!({"count": checked.count, "window": window_text(checked.window_seconds), "per": checked.per.map(|f| f.key())}))
        .note("webhook", json!(url));
    audit::record(&mut *tx, &entry).await?;
    tx.commit().await?;
    Ok(CreatedRule {
        id: id.to_string(),
        secret: made_secret,
    })
}

async fn find(db: impl sqlx::PgExecutor<'_>, id: &str) -> Result<Option<RuleRow>, sqlx::Error> {
    let Ok(id) = Uuid::parse_str(id) else {
        return Ok(None);
    };
    sqlx::query_as(&format!(
        "{SELECT} WHERE r.id = $1 AND r.deleted_at IS NULL"
    ))
    .bind(id)
    .fetch_optional(db)
    .await
}

fn not_found(id: &str) -> RuleError {
    RuleError::NotFound(format!("there is no alert rule {id}"))
}

pub async fn get(pool: &PgPool, who: &Principal, id: &str) -> Result<AlertRule, RuleError> {
    match find(pool, id).await? {
        Some(rule) if sees(who, &rule) => Ok(rule.summary()),
        _ => Err(not_found(id)),
    }
}

pub async fn list(pool: &PgPool, who: &Principal) -> Result<Vec<RuleRow>, sqlx::Error> {
    let rows: Vec<RuleRow> = sqlx::query_as(&format!(
        "{SELECT} WHERE r.deleted_at IS NULL ORDER BY r.suggestion NULLS FIRST, r.created_at DESC"
    ))
    .fetch_all(pool)
    .await?;
    Ok(rows.into_iter().filter(|r| sees(who, r)).collect())
}

/// The enabled rules, for evaluation.
pub async fn enabled(pool: &PgPool) -> Result<Vec<RuleRow>, sqlx::Error> {
    sqlx::query_as(&format!(
        "{SELECT} WHERE r.deleted_at IS NULL AND r.enabled ORDER BY r.id"
    ))
    .fetch_all(pool)
    .await
}

/// A number that changes whenever any rule does (the evaluator reloads then).
pub async fn version(pool: &PgPool) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    sqlx::query_as("SELECT count(*)::int8, max(updated_at) FROM alert_rules")
        .fetch_one(pool)
        .await
}

pub async fn delete(
    pool: &PgPool,
    who: &Principal,
    id: &str,
    origin: Origin,
) -> Result<(), RuleError> {
    let mut tx = pool.begin().await?;
    let rule = find(&mut *tx, id)
        .await?
        .filter(|r| sees(who, r))
        .ok_or_else(|| not_found(id))?;
    if !may_change(who, &rule) {
        return Err(RuleError::Forbidden(
            "only its owner or an admin may delete this rule".into(),
        ));
    }
    sqlx::query("UPDATE alert_rules SET deleted_at = now(), enabled = false, updated_at = now() WHERE id = $1").bind(rule.id).execute(&mut *tx).await?;
    audit::record(
        &mut *tx,
        &Entry::new("auditorium.alert_rule.deleted", Actor::of(who), origin).on(
            "alert_rule",
            rule.id,
            &rule.name,
        ),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}

/// Turns a rule on or off ("silence"), audited.
pub async fn change(
    pool: &PgPool,
    who: &Principal,
    id: &str,
    change: &AlertRuleChange,
    origin: Origin,
) -> Result<AlertRule, RuleError> {
    let mut tx = pool.begin().await?;
    let rule = find(&mut *tx, id)
        .await?
        .filter(|r| sees(who, r))
        .ok_or_else(|| not_found(id))?;
    if !may_change(who, &rule) {
        return Err(RuleError::Forbidden(
            "only its owner or an admin may change this rule".into(),
        ));
    }
    if let Some(enabled) = change.enabled.filter(|e| *e != rule.enabled) {
        sqlx::query("UPDATE alert_rules SET enabled = $2, updated_at = now() WHERE id = $1")
            .bind(rule.id)
            .bind(enabled)
            .execute(&mut *tx)
            .await?;
        let action = if enabled {
            "auditorium.alert_rule.enabled"
        } else {
            "auditorium.alert_rule.silenced"
        };
        let entry = Entry::new(action, Actor::of(who), origin)
            .on("alert_rule", rule.id, &rule.name)
            .change("enabled", json!(rule.enabled), json!(enabled));
        audit::record(&mut *tx, &entry).await?;
    }
    let changed = find(&mut *tx, id).await?.ok_or_else(|| not_found(id))?;
    tx.commit().await?;
    Ok(changed.summary())
}

#[derive(sqlx::FromRow)]
struct FiringRow {
    id: Uuid,
    rule_id: Uuid,
    group_value: String,
    window_from: DateTime<Utc>,
    window_to: DateTime<Utc>,
    event_ids: Vec<Uuid>,
    fired_at: DateTime<Utc>,
    delivery: String,
    attempts: i32,
    last_error: Option<String>,
}

/// The newest firings of the rules `who` sees.
pub async fn firings(
    pool: &PgPool,
    who: &Principal,
    rules: &[RuleRow],
    limit: i64,
) -> Result<Vec<Firing>, sqlx::Error> {
    let ids: Vec<Uuid> = rules
        .iter()
        .filter(|r| sees(who, r))
        .map(|r| r.id)
        .collect();
    let rows: Vec<FiringRow> = sqlx::query_as(
        "SELECT id, rule_id, group_value, window_from, window_to, event_ids, fired_at, delivery, attempts, last_error
         FROM alert_firings WHERE rule_id = ANY($1) ORDER BY fired_at DESC, id DESC LIMIT $2",
    )
    .bind(&ids)
    .bind(limit)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|f| (f.group_value.clone(), f))
        .map(|(group, f)| Firing {
            id: f.id.to_string(),
            rule_id: f.rule_id.to_string(),
            rule_name: rules
                .iter()
                .find(|r| r.id == f.rule_id)
                .map(|r| r.name.clone())
                .unwrap_or_default(),
            group: f.group_value,
            window_from: f.window_from,
            window_to: f.window_to,
            event_ids: f.event_ids.iter().map(Uuid::to_string).collect(),
            fired_at: f.fired_at,
            delivery: f.delivery,
            attempts: f.attempts,
            last_error: f.last_error,
            link: rules
                .iter()
                .find(|r| r.id == f.rule_id)
                .map(|r| {
                    super::evaluator::firing_path(
                        &r.view,
                        r.per.as_deref(),
                        &group,
                        f.window_from,
                        f.window_to,
                    )
                })
                .unwrap_or_else(|| "/".into()),
        })
        .collect())
}

/// Built-in suggestions, off until someone enables them: (key, name, view, count, window, per).
/// The views name the actions of common products and Auditorium's own.
pub const SUGGESTIONS: [(&str, &str, &str, i32, i32, Option<&str>); 4] = [
    ("failed-sign-ins", "Repeated failed sign-ins", "action=user.login,auditorium.session.failed,auditorium.session.created&outcome=failure", 5, 600, Some("actor.id")),
    ("mass-deletions", "Mass deletions", "method=DELETE", 20, 600, Some("actor.id")),
    (
        "permission-changes",
        "Permission and role changes",
        "action=member.role.updated,member.invited,auditorium.user.role_changed,auditorium.user.scope_changed,auditorium.user.invited",
        1,
        60,
        None,
    ),
    ("new-api-tokens", "New API tokens", "action=api_token.created,auditorium.token.created", 1, 60, None),
];

/// Adds the built-in suggestions that are missing (disabled).
pub async fn ensure_suggestions(pool: &PgPool) -> Result<(), sqlx::Error> {
    for (key, name, view, count, window, per) in SUGGESTIONS {
        sqlx::query(
            "INSERT INTO alert_rules (id, name, view, threshold, window_seconds, per, enabled, suggestion)
             VALUES ($1, $2, $3, $4, $5, $6, false, $7) ON CONFLICT (suggestion) DO NOTHING",
        )
        .bind(Uuid::now_v7())
        .bind(name)
        .bind(view)
        .bind(count)
        .bind(window)
        .bind(per)
        .bind(key)
        .execute(pool)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_read_back_in_their_largest_unit() {
        assert_eq!(window_text(600), "10m");
        assert_eq!(window_text(7200), "2h");
        assert_eq!(window_text(86_400), "1d");
        assert_eq!(window_text(90), "90s");
    }

    #[test]
    fn suggestions_are_valid_views() {
        for (_, name, view, count, window, per) in SUGGESTIONS {
            let rule = NewAlertRule {
                name: name.into(),
                view: view.into(),
                threshold: Threshold {
                    count: count as u32,
                    window: window_text(window.into()),
                    per: per.map(str::to_string),
                },
                webhook: None,
            };
            assert!(check_rule(&rule).is_ok(), "{name}: {:?}", check_rule(&rule));
        }
    }
}
