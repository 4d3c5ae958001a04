//! The JSON shapes of single sign-on (`/api/v1/sso`, `/api/v1/sso/settings`), shared by the
//! server and the pages. See docs/api.md.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/sso` (for everyone, the sign-in page): how people sign in.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInOptions {
    /// A "Sign in with …" button is offered.
    pub sso: bool,
    /// The provider's name on that button.
    pub name: String,
    /// Everyone may still sign in with a password; when false only admins may (break-glass).
    pub password: bool,
}

/// One rule: people in `group` get `role` (members with `scopes`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MappingRule {
    pub group: String,
    pub role: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// `GET /api/v1/sso/settings` (admins). The client secret is never sent back.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SsoSettings {
    pub enabled: bool,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    /// A client secret is stored (it is not shown).
    pub has_client_secret: bool,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub mappings: Vec<MappingRule>,
    pub allowed_domains: Vec<String>,
    /// Accounts are created at first sign-in; when false only invited people may sign in.
    pub create_accounts: bool,
    /// Everyone may sign in with a password; when false only admins (break-glass).
    pub password_sign_in: bool,
    /// Register this at the provider as the redirect (callback) URI.
    pub redirect_uri: String,
    /// And this as the post-logout redirect URI.
    pub post_logout_uri: String,
    #[serde(default)]
    pub last_test: Option<TestResult>,
}

/// `PUT /api/v1/sso/settings`. A missing or empty `client_secret` keeps the stored one.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SsoSettingsInput {
    pub enabled: bool,
    pub display_name: String,
    pub issuer: String,
    pub client_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    pub scopes: Vec<String>,
    pub groups_claim: String,
    pub mappings: Vec<MappingRule>,
    pub allowed_domains: Vec<String>,
    pub create_accounts: bool,
    pub password_sign_in: bool,
}

/// What the last "Test sign-in" received from the provider and what it would have granted.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct TestResult {
    pub at: String,
    /// The claims of the ID token and of the userinfo answer, merged.
    pub claims: serde_json::Value,
    /// "Would sign in as auditor", or why it would be refused.
    pub outcome: String,
    pub allowed: bool,
}
