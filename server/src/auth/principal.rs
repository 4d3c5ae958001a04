//! Who is asking and what they may do: one [`Principal`] per request, resolved from a session
//! cookie or an API token, and the one rule ([`Principal::allows`]) every endpoint applies.

use app::query::Scope;
use serde::Serialize;
use uuid::Uuid;

use crate::store::tokens::Scope as TokenScope;
use crate::store::users::Role;

/// How a request proved who it is; the hash of the secret, never the secret itself.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Credential {
    Session(Vec<u8>),
    Token(Vec<u8>),
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UserInfo {
    pub id: Uuid,
    pub email: String,
    pub name: String,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Principal {
    pub credential: Credential,
    /// The person (a session's, or a token's owner); `None` for a token without an owner.
    pub user: Option<UserInfo>,
    pub role: Role,
    /// What they may see (`All` unless they are a member).
    pub scope: Scope,
    /// The same, as stored: views in the URL format (empty unless they are a member).
    pub scope_views: Vec<String>,
    /// For tokens: what the token was created for.
    pub token: Option<TokenInfo>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct TokenInfo {
    pub id: Uuid,
    pub name: String,
    pub scope: TokenScope,
}

/// What an endpoint needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Read events (within the scope).
    Read,
    /// Send events.
    Ingest,
    /// Manage users, tokens, sessions, settings.
    Manage,
    /// Read operational metrics.
    Metrics,
}

/// Why a principal may not do something (always a 403: they are known, but not allowed).
#[derive(Debug, PartialEq, Eq)]
pub struct Denied(pub String);

impl Principal {
    /// What `GET /api/v1/session` says about them.
    pub fn me(&self) -> app::accounts::Me {
        app::accounts::Me {
            user: self.user.as_ref().map(|u| app::accounts::Person { id: u.id.to_string(), email: u.email.clone(), name: u.name.clone() }),
            role: self.role.as_str().into(),
            scopes: self.scope_views.clone(),
            via: if self.is_session() { "session".into() } else { "token".into() },
            token: self.token.as_ref().map(|t| t.name.clone()),
            can_manage: self.allows(Need::Manage).is_ok(),
        }
    }

    pub fn is_session(&self) -> bool {
        matches!(self.credential, Credential::Session(_))
    }

    /// The one authorisation rule of Auditorium.
    pub fn allows(&self, need: Need) -> Result<(), Denied> {
        let token_scope = self.token.as_ref().map(|t| t.scope);
        let allowed = match need {
            // People read through sessions; tokens read when made for reading.
            Need::Read => matches!(token_scope, None | Some(TokenScope::Read | TokenScope::Admin)),
            // Applications send events with tokens; people in a browser do not.
            Need::Ingest => matches!(token_scope, Some(TokenScope::Ingest | TokenScope::Admin)),
            Need::Manage => self.role == Role::Admin && matches!(token_scope, None | Some(TokenScope::Admin)),
            Need::Metrics => {
                matches!(self.role, Role::Admin | Role::Auditor) && matches!(token_scope, None | Some(TokenScope::Read | TokenScope::Admin))
            }
        };
        if allowed {
            return Ok(());
        }
        Err(Denied(match (need, &self.token) {
            (Need::Ingest, None) => "sending events needs an API token with ingest scope".into(),
            (_, Some(t)) if need != Need::Manage || self.role == Role::Admin => {
                format!("the token {:?} has scope {}; this needs {}", t.name, t.scope.as_str(), need.describe())
            }
            _ => format!("your role ({}) does not allow {}", self.role.as_str(), need.describe()),
        }))
    }
}

impl Need {
    fn describe(self) -> &'static str {
        match self {
            Need::Read => "reading events",
            Need::Ingest => "sending events (ingest)",
            Need::Manage => "managing users, tokens and sessions (admin)",
            Need::Metrics => "reading metrics (admin or auditor)",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn person(role: Role) -> Principal {
        Principal { credential: Credential::Session(vec![1]), user: None, role, scope: Scope::All, scope_views: vec![], token: None }
    }

    fn token(role: Role, scope: TokenScope) -> Principal {
        Principal {
            credential: Credential::Token(vec![2]),
            token: Some(TokenInfo { id: Uuid::nil(), name: "t".into(), scope }),
            ..person(role)
        }
    }

    #[test]
    fn the_rule() {
        use Need::*;
        let table: [(Principal, [bool; 4]); 9] = [
            //                                          Read   Ingest Manage Metrics
            (person(Role::Admin), [true, false, true, true]),
            (person(Role::Auditor), [true, false, false, true]),
            (person(Role::Member), [true, false, false, false]),
            (token(Role::Admin, TokenScope::Admin), [true, true, true, true]),
            (token(Role::Admin, TokenScope::Read), [true, false, false, true]),
            (token(Role::Auditor, TokenScope::Admin), [true, true, false, true]),
            (token(Role::Member, TokenScope::Read), [true, false, false, false]),
            (token(Role::Auditor, TokenScope::Ingest), [false, true, false, false]),
            (token(Role::Admin, TokenScope::Ingest), [false, true, false, false]),
        ];
        for (principal, expected) in table {
            let got = [Read, Ingest, Manage, Metrics].map(|need| principal.allows(need).is_ok());
            assert_eq!(got, expected, "{:?} with {:?}", principal.role, principal.token.map(|t| t.scope));
        }
    }
}
