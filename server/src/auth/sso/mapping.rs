//! Who may sign in through the identity provider, and as what: the domain allow-list, and the
//! group rules that turn the groups claim into a role and a scope. Plain functions of the
//! settings and the claims; decided again at every sign-in.

use app::sso::MappingRule;
use serde_json::Value;

use crate::store::users::Role;

/// What a sign-in grants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub role: Role,
    /// A member's scope: the views of every matching member rule (empty for other roles).
    pub scopes: Vec<String>,
    /// The groups that matched a rule.
    pub groups: Vec<String>,
}

/// Why a sign-in is refused; `code` goes into the sign-in page's URL, `reason` into the audit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub reason: String,
}

impl Refusal {
    pub fn new(code: &'static str, reason: impl Into<String>) -> Refusal {
        Refusal { code, reason: reason.into() }
    }
}

/// The values of the groups claim: an array of strings, or one string (some providers send
/// a single group so). Anything else counts as no groups.
pub fn groups(claims: &Value, claim: &str) -> Vec<String> {
    match claims.get(claim) {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Some(Value::String(one)) => vec![one.clone()],
        _ => Vec::new(),
    }
}

/// The email the provider vouches for: present, and not marked unverified.
pub fn verified_email(claims: &Value) -> Result<String, Refusal> {
    let email = claims.get("email").and_then(Value::as_str).map(crate::store::users::normalise_email).filter(|e| e.contains('@'));
    let Some(email) = email else {
        return Err(Refusal::new("no_email", "the identity provider sent no email address (is the `email` scope requested?)"));
    };
    match claims.get("email_verified") {
        Some(Value::Bool(false)) => Err(Refusal::new("unverified_email", format!("the identity provider has not verified {email}"))),
        _ => Ok(email),
    }
}

/// Whether the provider says outright that the email is verified (`email_verified: true`, or
/// `"true"` as some providers write it). Linking an existing account by its email needs this:
/// a provider that lets people set their own email could otherwise hand anyone any account.
pub fn email_confirmed(claims: &Value) -> bool {
    matches!(claims.get("email_verified"), Some(Value::Bool(true))) || claims.get("email_verified").and_then(Value::as_str) == Some("true")
}

pub fn domain_allowed(email: &str, allowed: &[String]) -> bool {
    let domain = email.rsplit_once('@').map(|(_, d)| d.to_ascii_lowercase()).unwrap_or_default();
    allowed.is_empty() || allowed.iter().any(|a| a.trim().trim_start_matches('@').eq_ignore_ascii_case(&domain))
}

fn rank(role: Role) -> u8 {
    match role {
        Role::Admin => 3,
        Role::Auditor => 2,
        Role::Member => 1,
    }
}

/// The highest role among the rules matching the person's groups; a member's scope is every
/// matching member rule's views together (they see what any of them shows).
pub fn grant(rules: &[MappingRule], groups: &[String]) -> Result<Grant, Refusal> {
    let matching: Vec<(&MappingRule, Role)> = rules
        .iter()
        .filter(|r| groups.iter().any(|g| g == &r.group))
        .filter_map(|r| Role::parse(&r.role).map(|role| (r, role)))
        .collect();
    let Some(role) = matching.iter().map(|(_, role)| *role).max_by_key(|r| rank(*r)) else {
        let shown = if groups.is_empty() { "no groups".to_string() } else { format!("groups {}", groups.join(", ")) };
        return Err(Refusal::new("no_access", format!("{shown}: no rule grants access")));
    };
    let mut scopes = Vec::new();
    if role == Role::Member {
        for (rule, _) in &matching {
            for scope in &rule.scopes {
                if !scopes.contains(scope) {
                    scopes.push(scope.clone());
                }
            }
        }
    }
    let groups = matching.iter().map(|(r, _)| r.group.clone()).collect();
    Ok(Grant { role, scopes, groups })
}

/// The whole decision for one set of claims.
pub fn decide(claims: &Value, groups_claim: &str, rules: &[MappingRule], allowed_domains: &[String]) -> Result<(String, Grant), Refusal> {
    let email = verified_email(claims)?;
    if !domain_allowed(&email, allowed_domains) {
        return Err(Refusal::new("domain", format!("{email} is not in an allowed domain")));
    }
    let grant = grant(rules, &groups(claims, groups_claim))?;
    Ok((email, grant))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn rule(group: &str, role: &str, scopes: &[&str]) -> MappingRule {
        MappingRule { group: group.into(), role: role.into(), scopes: scopes.iter().map(|s| s.to_string()).collect() }
    }

    fn rules() -> Vec<MappingRule> {
        vec![
            rule("sec-team", "auditor", &[]),
            rule("team-machinery", "member", &["context.team=machinery"]),
            rule("team-billing", "member", &["source=billing"]),
            rule("platform-admins", "admin", &[]),
        ]
    }

    #[test]
    fn the_highest_role_of_the_matching_groups_wins() {
        let g = grant(&rules(), &["team-machinery".into(), "sec-team".into()]).expect("granted");
        assert_eq!((g.role, g.scopes.len()), (Role::Auditor, 0));
        let g = grant(&rules(), &["platform-admins".into(), "sec-team".into()]).expect("granted");
        assert_eq!(g.role, Role::Admin);
    }

    #[test]
    fn a_member_in_two_groups_sees_both_scopes() {
        let g = grant(&rules(), &["team-billing".into(), "team-machinery".into(), "unmapped".into()]).expect("granted");
        assert_eq!(g.role, Role::Member);
        assert_eq!(g.scopes, vec!["context.team=machinery".to_string(), "source=billing".to_string()]);
        assert_eq!(g.groups, vec!["team-machinery".to_string(), "team-billing".to_string()]);
    }

    #[test]
    fn no_matching_group_is_refused_with_the_groups_named() {
        let refusal = grant(&rules(), &["marketing".into()]).expect_err("refused");
        assert_eq!(refusal.code, "no_access");
        assert!(refusal.reason.contains("marketing"), "{}", refusal.reason);
        assert_eq!(grant(&rules(), &[]).expect_err("refused").reason, "no groups: no rule grants access");
        assert!(grant(&[rule("x", "superuser", &[])], &["x".into()]).is_err(), "an unknown role grants nothing");
    }

    #[test]
    fn groups_come_as_a_list_or_one_string() {
        assert_eq!(groups(&json!({"groups": ["a", "b", 3]}), "groups"), vec!["a", "b"]);
        assert_eq!(groups(&json!({"roles": "a"}), "roles"), vec!["a"]);
        assert!(groups(&json!({"groups": {"a": 1}}), "groups").is_empty());
    }

    #[test]
    fn email_must_be_present_verified_and_in_an_allowed_domain() {
        let claims = |email_verified: Value| json!({"email": "Ada@Example.COM", "email_verified": email_verified, "groups": ["sec-team"]});
        let (email, g) = decide(&claims(json!(true)), "groups", &rules(), &["example.com".into()]).expect("allowed");
        assert_eq!((email.as_str(), g.role), ("ada@example.com", Role::Auditor));
        assert!(decide(&claims(Value::Null), "groups", &rules(), &[]).is_ok(), "no email_verified claim: trusted as sent");
        assert_eq!(decide(&claims(json!(false)), "groups", &rules(), &[]).expect_err("refused").code, "unverified_email");
        assert_eq!(decide(&claims(json!(true)), "groups", &rules(), &["@corp.example".into()]).expect_err("refused").code, "domain");
        assert_eq!(decide(&json!({"groups": ["sec-team"]}), "groups", &rules(), &[]).expect_err("refused").code, "no_email");
        assert!(!domain_allowed("eve@example.com.evil", &["example.com".into()]));
    }

    #[test]
    fn only_an_email_said_to_be_verified_links_an_existing_account() {
        for (claim, confirmed) in [(json!(true), true), (json!("true"), true), (json!(false), false), (json!("yes"), false), (Value::Null, false)] {
            assert_eq!(email_confirmed(&json!({"email": "a@example.com", "email_verified": claim})), confirmed, "{claim}");
        }
        assert!(!email_confirmed(&json!({"email": "a@example.com"})));
    }
}
