//! The JSON shapes of sign-in and of the admin API (users, tokens, sessions), shared by the
//! server, which writes them, and the pages, which read them. See docs/api.md.

use serde::{Deserialize, Serialize};

/// `GET /api/v1/session`: who is signed in (or whose token this is) and what they may do.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Me {
    pub user: Option<Person>,
    /// `admin`, `auditor` or `member`.
    pub role: String,
    /// A member's scope, as views in the URL format; empty for admins and auditors (who see
    /// everything).
    pub scopes: Vec<String>,
    /// `session` or `token`.
    pub via: String,
    /// The token's name, when `via` is `token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    /// Whether the admin pages are open to them.
    pub can_manage: bool,
}

impl Me {
    pub fn is_member(&self) -> bool {
        self.role == "member"
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Person {
    pub id: String,
    pub email: String,
    pub name: String,
}

/// `POST /api/v1/session`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// `POST /api/v1/password`: a password chosen through a one-time link.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewPassword {
    pub token: String,
    pub password: String,
}

/// One account, as the admin pages list it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserSummary {
    pub id: String,
    pub email: String,
    pub name: String,
    pub role: String,
    pub scopes: Vec<String>,
    pub disabled: bool,
    /// False until the person has set a password.
    pub has_password: bool,
    /// Signs in with single sign-on: role and scope follow their groups at each sign-in.
    #[serde(default)]
    pub sso: bool,
    pub created_at: String,
    pub last_sign_in_at: Option<String>,
}

/// `POST /api/v1/users`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewUser {
    pub email: String,
    #[serde(default)]
    pub name: Option<String>,
    pub role: String,
    #[serde(default)]
    pub scopes: Vec<String>,
}

/// The answer to an invitation or a password reset: the one-time link, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Invitation {
    pub user: UserSummary,
    pub link: String,
    pub expires_in_days: u32,
}

/// `PATCH /api/v1/users/{id}`: what to change (absent: unchanged).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserPatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scopes: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenSummary {
    pub id: String,
    pub name: String,
    /// `ingest`, `read` or `admin`.
    pub scope: String,
    /// The owner's email, for read and admin tokens.
    pub owner: Option<String>,
    pub created_at: String,
    pub last_used_at: Option<String>,
    pub revoked_at: Option<String>,
}

/// `POST /api/v1/tokens`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewToken {
    pub name: String,
    pub scope: String,
    /// The owner's user id (read and admin tokens).
    #[serde(default)]
    pub user_id: Option<String>,
}

/// The answer to `POST /api/v1/tokens`: the secret, shown once.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedToken {
    pub token: TokenSummary,
    pub secret: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionSummary {
    /// A public handle (not usable to sign in) for ending it.
    pub handle: String,
    pub user_id: String,
    pub email: String,
    pub name: String,
    pub created_at: String,
    pub last_seen_at: String,
    pub expires_at: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The session of the request that listed it.
    pub current: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserList {
    pub users: Vec<UserSummary>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenList {
    pub tokens: Vec<TokenSummary>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionList {
    pub sessions: Vec<SessionSummary>,
}
