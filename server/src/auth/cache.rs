//! Resolving credentials to principals, remembered in memory so that a busy ingest client or
//! a page's requests do not each cost a database query.
//!
//! A remembered principal is trusted only while nothing about access has changed: the live
//! hub hears `auditorium_access` notifications (a token revoked, a session ended, a role or
//! scope changed, an account disabled — by any instance or the CLI) and bumps an epoch;
//! entries from an older epoch are checked again. Entries also expire after [`TTL`], in case a
//! notification was lost with its connection. Unknown secrets are never remembered.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use app::query::Scope;
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use uuid::Uuid;

use super::principal::{Credential, Principal, TokenInfo, UserInfo};
use crate::db::detached;
use crate::live::LiveHub;
use crate::store::tokens::{self, Scope as TokenScope};
use crate::store::users::Role;

/// The longest a remembered principal is trusted without asking the database.
pub const TTL: Duration = Duration::from_secs(10);
/// Record a token's or session's use at most this often.
const USE_RECORDED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);
/// At most this many principals are remembered (then the cache starts over).
const MAX_ENTRIES: usize = 100_000;

/// How long sessions live.
#[derive(Clone, Copy, Debug)]
pub struct SessionLimits {
    /// A session unused this long ends.
    pub idle: Duration,
    /// A session ends this long after sign-in, however active.
    pub absolute: Duration,
}

pub struct Authenticator {
    hub: Arc<LiveHub>,
    pub limits: SessionLimits,
    entries: Mutex<HashMap<Credential, Entry>>,
}

struct Entry {
    principal: Principal,
    epoch: u64,
    checked: Instant,
    last_used: Option<DateTime<Utc>>,
}

/// What the database says about a credential.
struct Found {
    principal: Principal,
    last_used: Option<DateTime<Utc>>,
}

impl Authenticator {
    pub fn new(hub: Arc<LiveHub>, limits: SessionLimits) -> Authenticator {
        Authenticator { hub, limits, entries: Mutex::new(HashMap::new()) }
    }

    /// The principal behind `credential`, or `None` (unknown, revoked, expired, disabled).
    /// A database failure is an error, never "unknown".
    pub async fn resolve(&self, pool: &PgPool, credential: &Credential) -> Result<Option<Principal>, sqlx::Error> {
        let epoch = self.hub.access_epoch();
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries
                .get(credential)
                .filter(|e| e.epoch == epoch && e.checked.elapsed() < TTL)
                .map(|e| (e.principal.clone(), e.last_used))
        };
        let (principal, last_used) = match cached {
            Some(hit) => hit,
            None => {
                let (pool2, credential2, limits) = (pool.clone(), credential.clone(), self.limits);
                let found = detached(async move { lookup(&pool2, &credential2, limits).await })
                    .await
                    .ok_or(sqlx::Error::WorkerCrashed)??;
                let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                let Some(found) = found else {
                    entries.remove(credential);
                    return Ok(None);
                };
                if entries.len() >= MAX_ENTRIES {
                    entries.clear();
                }
                let entry = Entry { principal: found.principal.clone(), epoch, checked: Instant::now(), last_used: found.last_used };
                entries.insert(credential.clone(), entry);
                (found.principal, found.last_used)
            }
        };
        self.record_use(pool, credential, last_used);
        Ok(Some(principal))
    }

    /// Notes the use in the database, at most once a minute, in the background.
    fn record_use(&self, pool: &PgPool, credential: &Credential, last_used: Option<DateTime<Utc>>) {
        let now = Utc::now();
        if last_used.is_some_and(|at| now - at < USE_RECORDED_EVERY) {
            return;
        }
        if let Some(entry) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get_mut(credential) {
            entry.last_used = Some(now);
        }
        let (pool, credential) = (pool.clone(), credential.clone());
        tokio::spawn(async move {
            let recorded = match &credential {
                Credential::Token(hash) => tokens::record_use_by_hash(&pool, hash).await,
                Credential::Session(hash) => crate::store::sessions::touch(&pool, hash).await,
            };
            if let Err(e) = recorded {
                tracing::debug!(error = %e, "recording a credential's use failed: {e}");
            }
        });
    }

    /// Forgets a credential at once (sign-out on this instance).
    pub fn forget(&self, credential: &Credential) {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).remove(credential);
    }
}

#[derive(sqlx::FromRow)]
struct OwnerRow {
    user_id: Option<Uuid>,
    email: Option<String>,
    display_name: Option<String>,
    role: Option<String>,
    scopes: Option<Vec<String>>,
    disabled_at: Option<DateTime<Utc>>,
}

impl OwnerRow {
    /// The person's role, scope and identity; `None` when they may not sign in at all.
    /// `Err(())` for a row without a user (a token without an owner).
    fn access(&self) -> Result<Option<(Role, Scope, Vec<String>, UserInfo)>, ()> {
        let (Some(id), Some(email), Some(name), Some(role)) = (self.user_id, &self.email, &self.display_name, &self.role) else {
            return Err(());
        };
        if self.disabled_at.is_some() {
            return Ok(None);
        }
        // An unknown role grants nothing.
        let Some(role) = Role::parse(role) else { return Ok(None) };
        let views = self.scopes.clone().unwrap_or_default();
        let (scope, views) = match role {
            Role::Admin | Role::Auditor => (Scope::All, Vec::new()),
            // A stored scope that no longer parses shows nothing rather than everything.
            Role::Member => (Scope::parse(&views).unwrap_or(Scope::AnyOf(Vec::new())), views),
        };
        Ok(Some((role, scope, views, UserInfo { id, email: email.clone(), name: name.clone() })))
    }
}

async fn lookup(pool: &PgPool, credential: &Credential, limits: SessionLimits) -> Result<Option<Found>, sqlx::Error> {
    match credential {
        Credential::Token(hash) => {
            #[derive(sqlx::FromRow)]
            struct Row {
                id: Uuid,
                name: String,
                scope: String,
                last_used_at: Option<DateTime<Utc>>,
                #[sqlx(flatten)]
                owner: OwnerRow,
            }
            let row: Option<Row> = sqlx::query_as(
                "SELECT t.id, t.name, t.scope, t.last_used_at, t.user_id, u.email, u.display_name, u.role, u.scopes, u.disabled_at
                 FROM api_tokens t LEFT JOIN users u ON u.id = t.user_id
                 WHERE t.secret_hash = $1 AND t.revoked_at IS NULL",
            )
            .bind(hash)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            // An unknown token scope grants nothing.
            let Some(token_scope) = TokenScope::parse(&row.scope) else { return Ok(None) };
            let (role, scope, scope_views, user) = match row.owner.access() {
                Ok(Some((role, scope, views, user))) => (role, scope, views, Some(user)),
                Ok(None) => return Ok(None),
                // Tokens from before accounts existed read everything, manage nothing.
                Err(()) => (Role::Auditor, Scope::All, Vec::new(), None),
            };
            let token = Some(TokenInfo { id: row.id, name: row.name, scope: token_scope });
            let principal = Principal { credential: credential.clone(), user, role, scope, scope_views, token };
            Ok(Some(Found { principal, last_used: row.last_used_at }))
        }
        Credential::Session(hash) => {
            #[derive(sqlx::FromRow)]
            struct Row {
                last_seen_at: DateTime<Utc>,
                #[sqlx(flatten)]
                owner: OwnerRow,
            }
            let row: Option<Row> = sqlx::query_as(
                "SELECT s.last_seen_at, s.user_id, u.email, u.display_name, u.role, u.scopes, u.disabled_at
                 FROM sessions s JOIN users u ON u.id = s.user_id
                 WHERE s.id_hash = $1 AND s.revoked_at IS NULL AND s.expires_at > now()",
            )
            .bind(hash)
            .fetch_optional(pool)
            .await?;
            let Some(row) = row else { return Ok(None) };
            let idle = chrono::TimeDelta::from_std(limits.idle).unwrap_or(chrono::TimeDelta::MAX);
            if Utc::now() - row.last_seen_at > idle {
                return Ok(None);
            }
            let Ok(Some((role, scope, scope_views, user))) = row.owner.access() else { return Ok(None) };
            let principal = Principal { credential: credential.clone(), user: Some(user), role, scope, scope_views, token: None };
            Ok(Some(Found { principal, last_used: Some(row.last_seen_at) }))
        }
    }
}
