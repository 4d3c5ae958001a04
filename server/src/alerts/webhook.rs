//! Sending firings to webhooks, signed the Standard Webhooks way, retried with backoff.
//!
//! Headers: `webhook-id` (the firing's id: the same on every retry, so a receiver can drop
//! repeats), `webhook-timestamp` (Unix seconds), `webhook-signature: v1,<base64 of
//! HMAC-SHA256(key, "{id}.{timestamp}.{body}")>`, the key being the base64 part of the
//! rule's `whsec_` secret. Any instance delivers: a firing is claimed by moving its next
//! attempt forward (`FOR UPDATE SKIP LOCKED`), so two instances never send it at once.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use sqlx::PgPool;
use tokio::sync::Notify;
use uuid::Uuid;

/// Attempts before a firing's delivery is given up (about a day of retries).
pub const MAX_ATTEMPTS: i32 = 12;
/// One attempt waits this long for an answer.
const TIMEOUT: Duration = Duration::from_secs(10);

/// `v1,<signature>` for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> Option<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_")?)
        .ok()?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).ok()?;
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    Some(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// A new secret: `whsec_` + base64 of 32 random bytes.
pub fn new_secret() -> String {
    use rand::RngCore;
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(key)
    )
}

/// Wait before attempt `n + 1` after `n` failed ones: 5 s, 10 s, 20 s, ... up to 4 h.
pub fn backoff(attempts: i32) -> Duration {
    let exp = attempts.clamp(1, 20) as u32 - 1;
    Duration::from_secs(5u64.saturating_mul(1 << exp).min(4 * 3600))
}

/// Whether `url`'s host may receive webhooks under `allow` (empty: any).
pub fn allowed(url: &str, allow: &[String]) -> bool {
    if allow.is_empty() {
        return true;
    }
    let host = reqwest::Url::parse(url).ok().and_then(|u| {
        u.host_str()
            .map(|h| h.trim_matches(['[', ']']).to_ascii_lowercase())
    });
    let Some(host) = host else { return false };
    allow
        .iter()
        .map(|a| a.trim().to_ascii_lowercase())
        .any(|a| match a.strip_prefix("*.") {
            Some(domain) => host.ends_with(&format!(".{domain}")),
            None => host == a.trim_matches(['[', ']']),
        })
}

/// An HTTP client that never follows redirects (a webhook target cannot bounce the signed
/// firing elsewhere) and gives up after [`TIMEOUT`].
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(TIMEOUT)
        .user_agent(concat!("Auditorium/", env!("CARGO_PKG_VERSION"), " alerts"))
        .build()
        .unwrap_or_default()
}

#[derive(sqlx::FromRow)]
struct Due {
    id: Uuid,
    attempts: i32,
    url: String,
    secret: Option<String>,
    body: serde_json::Value,
}

/// Delivers due firings until shutdown; woken by `kick` (a firing here) and every second.
pub async fn keep_delivering(
    pool: PgPool,
    kick: Arc<Notify>,
    allow: Vec<String>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let client = client();
    loop {
        match deliver_due(&pool, &client, &allow).await {
            Ok(n) if n > 0 => continue,
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "alert delivery could not read its queue: {e}"),
        }
        tokio::select! {
            () = kick.notified() => {}
            () = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Claims and sends the due firings; how many it tried.
pub async fn deliver_due(
    pool: &PgPool,
    client: &reqwest::Client,
    allow: &[String],
) -> Result<usize, sqlx::Error> {
    // Claimed for a minute: another instance skips them meanwhile; a crash mid-send retries.
    let due: Vec<Due> = sqlx::query_as(
        "UPDATE alert_firings f SET attempts = f.attempts + 1, next_attempt_at = now() + interval '1 minute'
         FROM alert_rules r
         WHERE f.rule_id = r.id AND f.id IN (
             SELECT id FROM alert_firings WHERE delivery = 'pending' AND next_attempt_at <= now()
             ORDER BY next_attempt_at LIMIT 20 FOR UPDATE SKIP LOCKED)
         RETURNING f.id, f.attempts, coalesce(r.webhook_url, '') AS url, r.webhook_secret AS secret, f.body",
    )
    .fetch_all(pool)
    .await?;
    let n = due.len();
    let sends = due.into_iter().map(|d| async move {
        let result = send(client, &d, allow).await;
        (d.id, d.attempts, result)
    });
    for (id, attempts, result) in futures::future::join_all(sends).await {
        match result {
            Ok(()) => {
                sqlx::query("UPDATE alert_firings SET delivery = 'delivered', delivered_at = now(), last_error = NULL WHERE id = $1")
                    .bind(id)
                    .execute(pool)
                    .await?;
            }
            Err(error) => {
                tracing::warn!(firing = %id, attempts, "alert webhook failed: {error}");
                let give_up = attempts >= MAX_ATTEMPTS;
                let wait = backoff(attempts);
                sqlx::query(
                    "UPDATE alert_firings SET last_error = $2, delivery = CASE WHEN $3 THEN 'failed' ELSE delivery END,
                         next_attempt_at = now() + make_interval(secs => $4) WHERE id = $1",
                )
                .bind(id)
                .bind(error.chars().take(500).collect::<String>())
                .bind(give_up)
                .bind(wait.as_secs_f64())
                .execute(pool)
                .await?;
            }
        }
    }
    Ok(n)
}

async fn send(client: &reqwest::Client, due: &Due, allow: &[String]) -> Result<(), String> {
    if !allowed(&due.url, allow) {
        return Err("the webhook's host is not in --webhook-allow".into());
    }
    let secret = due
        .secret
        .as_deref()
        .ok_or("the rule has no webhook secret")?;
    let body = serde_json::to_string(&due.body).map_err(|e| e.to_string())?;
    let id = due.id.to_string();
    let timestamp = Utc::now().timestamp();
    let signature = sign(secret, &id, timestamp, &body).ok_or("the webhook secret is not valid")?;
    let response = client
        .post(&due.url)
        .header("content-type", "application/json")
        .header("webhook-id", &id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature)
        .body(body)
        .send()
        .await
        .map_err(|e| format!("could not reach the webhook: {}", without_url(&e)))?;
    let status = response.status();
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("the webhook answered {status}"))
    }
}

/// A reqwest error without its URL (which may carry credentials in its query).
fn without_url(e: &reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_redirect() {
        "redirected"
    } else {
        "request failed"
    };
    kind.to_string()
}

/// The JSON a firing POSTs.
#[allow(clippy::too_many_arguments)]
pub fn body(
    firing: Uuid,
    rule: Uuid,
    rule_name: &str,
    per: Option<&str>,
    group: &str,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    event_ids: &[Uuid],
    link: &str,
) -> serde_json::Value {
    serde_json::json!({
        "type": "alert.fired",
        "id": firing,
        "rule": {"id": rule, "name": rule_name},
        "group": per.map(|field| serde_json::json!({"field": field, "value": group})),
        "window": {"from": from, "to": to},
        "count": event_ids.len(),
        "event_ids": event_ids,
        "link": link,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_of_the_standard_webhooks_example() {
        // The example of the Standard Webhooks specification (and its reference libraries).
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let body = r#"{"test": 2432232314}"#;
        let got = sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).expect("signs");
        assert_eq!(got, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(
            sign("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "x", 1, "").is_none(),
            "no whsec_ prefix"
        );
    }

    #[test]
    fn backoff_grows_and_stops_growing() {
        assert_eq!(backoff(1), Duration::from_secs(5));
        assert_eq!(backoff(2), Duration::from_secs(10));
        assert_eq!(backoff(30), Duration::from_secs(4 * 3600));
    }

    #[test]
    fn allow_list() {
        assert!(allowed("https://hooks.example.com/x", &[]));
        let allow = vec![
            "hooks.example.com".to_string(),
            "*.corp.example".to_string(),
            "127.0.0.1".to_string(),
        ];
        assert!(allowed("https://hooks.example.com/x", &allow));
        assert!(allowed("https://a.b.corp.example/x", &allow));
        assert!(allowed("http://127.0.0.1:9000/x", &allow));
        assert!(!allowed("https://evil.example/x", &allow));
        assert!(!allowed("https://corp.example.evil/x", &allow));
        assert!(!allowed("not a url", &allow));
    }
}
