//! Valid API tokens remembered in memory, so a busy ingest client does not cost a database
//! query per request. An entry is trusted only while nothing about access has changed: the
//! live hub hears `auditorium_access` notifications (a token revoked anywhere, by any
//! instance or the CLI) and bumps an epoch; entries from an older epoch are checked again.
//! Entries also expire after [`TTL`], in case a notification was lost with its connection.
//! Unknown secrets are never cached (the cache cannot be filled with garbage).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;
use sqlx::PgPool;

use crate::db::detached;
use crate::live::LiveHub;
use crate::store::tokens::{self, TokenRow};

/// The longest a cached token is trusted without asking the database.
pub const TTL: Duration = Duration::from_secs(10);
/// Record a token's use at most this often.
const USE_RECORDED_EVERY: chrono::TimeDelta = chrono::TimeDelta::minutes(1);

pub struct TokenCache {
    hub: Arc<LiveHub>,
    entries: Mutex<HashMap<Vec<u8>, Entry>>,
}

struct Entry {
    token: TokenRow,
    epoch: u64,
    checked: Instant,
}

impl TokenCache {
    pub fn new(hub: Arc<LiveHub>) -> TokenCache {
        TokenCache { hub, entries: Mutex::new(HashMap::new()) }
    }

    /// The active token with this secret, or `None`. A database failure is an error, never
    /// "unknown token".
    pub async fn authenticate(&self, pool: &PgPool, secret: &str) -> Result<Option<TokenRow>, sqlx::Error> {
        let hash = tokens::hash(secret);
        let epoch = self.hub.access_epoch();
        let cached = {
            let entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
            entries.get(&hash).filter(|e| e.epoch == epoch && e.checked.elapsed() < TTL).map(|e| e.token.clone())
        };
        let token = match cached {
            Some(token) => Some(token),
            None => {
                let (pool, lookup) = (pool.clone(), hash.clone());
                let found = detached(async move { tokens::find_active(&pool, &lookup).await })
                    .await
                    .ok_or(sqlx::Error::WorkerCrashed)??;
                let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
                match &found {
                    Some(token) => {
                        entries.insert(hash.clone(), Entry { token: token.clone(), epoch, checked: Instant::now() });
                    }
                    None => {
                        entries.remove(&hash);
                    }
                }
                found
            }
        };
        if let Some(token) = &token {
            self.record_use(pool, &hash, token);
        }
        Ok(token)
    }

    /// Notes the token's last use in the database, at most once a minute, in the background.
    fn record_use(&self, pool: &PgPool, hash: &[u8], token: &TokenRow) {
        let now = Utc::now();
        if token.last_used_at.is_some_and(|at| now - at < USE_RECORDED_EVERY) {
            return;
        }
        if let Some(entry) = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get_mut(hash) {
            entry.token.last_used_at = Some(now);
        }
        let (pool, id) = (pool.clone(), token.id);
        tokio::spawn(async move {
            if let Err(e) = tokens::record_use(&pool, id).await {
                tracing::debug!(error = %e, "recording a token's use failed: {e}");
            }
        });
    }
}
