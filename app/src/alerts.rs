//! Alert rules and their firings: the JSON shapes of `/api/v1/alert-rules` and
//! `/api/v1/alerts`, and the checks of a new rule (shared by the page's form and the server).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::rfc3339;
use crate::query::{Field, RelativeRange};

/// `threshold` of a rule: at least `count` matching events within `window` (e.g. `10m`),
/// counted separately per value of the field `per` when given (e.g. `actor.id`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Threshold {
    pub count: u32,
    pub window: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per: Option<String>,
}

/// Where a firing is POSTed. The secret (`whsec_` + base64) signs it, Standard Webhooks style.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Webhook {
    pub url: String,
    /// Given when creating; never shown again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `POST /api/v1/alert-rules`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewAlertRule {
    pub name: String,
    /// A view in the URL format (its time range is ignored: the window decides).
    pub view: String,
    pub threshold: Threshold,
    /// Without one, firings go to the notification list only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
}

/// `PATCH /api/v1/alert-rules/{id}`: turn a rule on or off (silence it).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRuleChange {
    #[serde(default)]
    pub enabled: Option<bool>,
}

/// `POST /api/v1/alert-rules` answers `{"id": …}` (and the secret it made, when none was given).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedRule {
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<String>,
}

/// `GET /api/v1/alert-rules/{id}` (the webhook's secret is never shown).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRule {
    pub id: String,
    pub name: String,
    pub view: String,
    pub threshold: Threshold,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<Webhook>,
    pub enabled: bool,
    /// For a built-in suggestion: its key.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<String>,
    /// Who made it (email), when a person did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(with = "rfc3339")]
    pub created_at: DateTime<Utc>,
}

/// One crossing of a rule's threshold.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Firing {
    pub id: String,
    pub rule_id: String,
    pub rule_name: String,
    /// The value of the rule's `per` field the count was for ('' without `per`).
    pub group: String,
    #[serde(with = "rfc3339")]
    pub window_from: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub window_to: DateTime<Utc>,
    pub event_ids: Vec<String>,
    #[serde(with = "rfc3339")]
    pub fired_at: DateTime<Utc>,
    /// `none` (no webhook), `pending`, `delivered`, `failed`.
    pub delivery: String,
    pub attempts: i32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// The investigation page with the matching events.
    pub link: String,
}

/// `GET /api/v1/alerts`: the rules one may see and their latest firings (newest first).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertList {
    pub rules: Vec<AlertRule>,
    pub firings: Vec<Firing>,
}

/// `GET /api/v1/alert-rules`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertRules {
    pub rules: Vec<AlertRule>,
}

/// A rule that passed the checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckedRule {
    pub name: String,
    /// Canonical view, without its time range.
    pub view: String,
    pub count: u32,
    pub window_seconds: i64,
    pub per: Option<Field>,
}

/// The longest window: a week (the evaluation keeps that much in memory per rule).
pub const MAX_WINDOW_SECONDS: i64 = 7 * 86_400;
/// The largest threshold.
pub const MAX_COUNT: u32 = 100_000;

/// Checks a new rule; every problem as (field, message).
pub fn check_rule(rule: &NewAlertRule) -> Result<CheckedRule, Vec<(String, String)>> {
    let mut problems = Vec::new();
    let name = rule.name.trim().to_string();
    if name.is_empty() || name.chars().count() > 200 {
        problems.push((
            "name".into(),
            "give the rule a name of 1 to 200 characters".into(),
        ));
    }
    let view = crate::query::selection_only(&rule.view).unwrap_or_else(|found| {
        problems.extend(found.into_iter().map(|m| ("view".to_string(), m)));
        String::new()
    });
    if rule.threshold.count == 0 || rule.threshold.count > MAX_COUNT {
        problems.push((
            "threshold.count".into(),
            format!("must be between 1 and {MAX_COUNT}"),
        ));
    }
    let window_seconds = match RelativeRange::parse(rule.threshold.window.trim()) {
        Ok(w) if w.seconds() <= MAX_WINDOW_SECONDS => w.seconds(),
        Ok(_) => {
            problems.push(("threshold.window".into(), "at most 7d".into()));
            0
        }
        Err(e) => {
            problems.push(("threshold.window".into(), format!("{e} (e.g. 10m, 1h, 1d)")));
            0
        }
    };
    let per = match rule
        .threshold
        .per
        .as_deref()
        .map(str::trim)
        .filter(|p| !p.is_empty())
    {
        None => None,
        Some(key) => match Field::parse(key) {
            Ok(field) => Some(field),
            _ => {
                problems.push((
                    "threshold.per".into(),
                    format!("{key:?} is not a field (e.g. actor.id)"),
                ));
                None
            }
        },
    };
    if let Some(hook) = &rule.webhook {
        let url = hook.url.trim();
        if !(url.starts_with("https://") || url.starts_with("http://"))
            || url.len() > 2000
            || url.contains(char::is_whitespace)
        {
            problems.push((
                "webhook.url".into(),
                "must be an http:// or https:// URL".into(),
            ));
        }
        if let Some(secret) = &hook.secret {
            if !valid_secret(secret) {
                problems.push((
                    "webhook.secret".into(),
                    "must be whsec_ followed by base64 of 24 to 64 bytes".into(),
                ));
            }
        }
    }
    if problems.is_empty() {
        Ok(CheckedRule {
            name,
            view,
            count: rule.threshold.count,
            window_seconds,
            per,
        })
    } else {
        Err(problems)
    }
}

/// `whsec_` + standard base64 of 24–64 random bytes.
pub fn valid_secret(secret: &str) -> bool {
    use base64::Engine;
    secret
        .strip_prefix("whsec_")
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .is_some_and(|key| (24..=64).contains(&key.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(view: &str, count: u32, window: &str, per: Option<&str>) -> NewAlertRule {
        NewAlertRule {
            name: "Failed sign-ins".into(),
            view: view.into(),
            threshold: Threshold {
                count,
                window: window.into(),
                per: per.map(str::to_string),
            },
            webhook: None,
        }
    }

    #[test]
    fn a_good_rule_is_made_canonical_and_loses_its_range() {
        let checked = check_rule(&rule(
            "outcome=failure&range=7d&action=user.login&live=1",
            5,
            "10m",
            Some("actor.id"),
        ))
        .expect("ok");
        assert_eq!(checked.view, "action=user.login&outcome=failure");
        assert_eq!(
            (checked.count, checked.window_seconds, checked.per),
            (5, 600, Some(Field::ActorId))
        );
    }

    #[test]
    fn every_problem_is_named() {
        let mut bad = rule("nope=1", 0, "ten minutes", Some("shoe.size"));
        bad.name = " ".into();
        bad.webhook = Some(Webhook {
            url: "ftp://x".into(),
            secret: Some("whsec_short".into()),
        });
        let fields: Vec<String> = check_rule(&bad)
            .expect_err("bad")
            .into_iter()
            .map(|(f, _)| f)
            .collect();
        assert_eq!(
            fields,
            [
                "name",
                "view",
                "threshold.count",
                "threshold.window",
                "threshold.per",
                "webhook.url",
                "webhook.secret"
            ]
        );
    }

    #[test]
    fn secrets() {
        assert!(valid_secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!valid_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"));
        assert!(!valid_secret("whsec_%%%"));
    }
}
