//! Signing in with an email and a password. The answer never says whether an account exists
//! (same message, same time), and attempts slow down per account and per address (the
//! `governor` crate's keyed rate limiters: 10 attempts a minute per email, 30 per address,
//! per instance).

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::Utc;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use sqlx::PgPool;

use super::audit::{self, Actor, Entry, Origin};
use super::password;
use super::session;
use crate::store::users::{self, Role, UserRow};
use crate::store::sessions;

/// The one answer to wrong credentials, whatever was wrong.
pub const WRONG_CREDENTIALS: &str = "The email or password is not right.";

pub struct Throttle {
    per_email: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    /// Single-sign-on starts (each stores a pending sign-in): 120 a minute per address.
    sso_starts: DefaultKeyedRateLimiter<IpAddr>,
}

impl Default for Throttle {
    fn default() -> Self {
        let minute = |n: u32| Quota::per_minute(NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN));
        Throttle { per_email: RateLimiter::keyed(minute(10)), per_address: RateLimiter::keyed(minute(30)), sso_starts: RateLimiter::keyed(minute(120)) }
    }
}

impl Throttle {
    /// Whether this address may start another single sign-on now.
    pub fn sso_start_allowed(&self, address: Option<IpAddr>) -> bool {
        address.is_none_or(|a| self.sso_starts.check_key(&a).is_ok())
    }

    /// `Err(wait)` when this email or address has tried too often.
    fn check(&self, email: &str, address: Option<IpAddr>) -> Result<(), Duration> {
        let now = DefaultClock::default().now();
        if let Err(not_until) = self.per_email.check_key(&email.to_string()) {
            return Err(not_until.wait_time_from(now));
        }
        if let Some(address) = address {
            if let Err(not_until) = self.per_address.check_key(&address) {
                return Err(not_until.wait_time_from(now));
            }
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    #[error("{WRONG_CREDENTIALS}")]
    WrongCredentials,
    #[error("Too many attempts; wait {} seconds.", .0.as_secs().max(1))]
    Throttled(Duration),
    /// Right password, but password sign-in is turned off for this account's role.
    #[error("Password sign-in is turned off: sign in with single sign-on.")]
    SsoOnly,
    #[error(transparent)]
    Sql(#[from] sqlx::Error),
}

const SSO_ONLY: &str = "password sign-in is turned off (single sign-on only)";

async fn password_allowed(pool: &PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT NOT enabled OR password_sign_in FROM sso_settings").fetch_optional(pool).await.map(|allowed| allowed.unwrap_or(true))
}

pub struct SignedIn {
    /// The session id for the cookie.
    pub secret: String,
    pub user: UserRow,
    pub role: Role,
}

/// Checks the credentials and opens a session (recorded as `auditorium.session.created`, or
/// `auditorium.session.failed` with the reason).
pub async fn sign_in(
    pool: &PgPool,
    throttle: &Throttle,
    absolute: Duration,
    email: &str,
    password_given: String,
    origin: Origin,
) -> Result<SignedIn, SignInError> {
    let email = users::normalise_email(email);
    let address = origin.ip.as_deref().and_then(|ip| ip.parse().ok());
    if let Err(wait) = throttle.check(&email, address) {
        let entry = Entry::new("auditorium.session.failed", Actor::claimed(&email), origin).failed("too many attempts");
        audit::record(pool, &entry).await?;
        return Err(SignInError::Throttled(wait));
    }
    let user = users::by_email(pool, &email).await?;
    let refusal = match &user {
        None => {
            password::verify_nothing(password_given).await;
            Some("no such account")
        }
        Some(u) => match &u.password_hash {
            None => {
                password::verify_nothing(password_given).await;
                Some("no password set yet")
            }
            Some(hash) if !password::verify(password_given, hash.clone()).await => Some("wrong password"),
            Some(_) if u.disabled_at.is_some() => Some("account disabled"),
            Some(_) if u.role().is_none() => Some("unknown role"),
            Some(_) => None,
        },
    };
    // With single sign-on on and password sign-in turned off, only admins (break-glass)
    // still sign in with a password. Said only to someone who knows the password.
    let refusal = match (&user, refusal) {
        (Some(u), None) if u.role() != Some(Role::Admin) && !password_allowed(pool).await? => Some(SSO_ONLY),
        (_, refusal) => refusal,
    };
    let (Some(user), None) = (user, refusal) else {
        let entry = Entry::new("auditorium.session.failed", Actor::claimed(&email), origin).failed(refusal.unwrap_or("refused"));
        audit::record(pool, &entry).await?;
        return Err(if refusal == Some(SSO_ONLY) { SignInError::SsoOnly } else { SignInError::WrongCredentials });
    };
    let (secret, hash) = session::new_secret();
    let expires = Utc::now() + chrono::TimeDelta::from_std(absolute).unwrap_or(chrono::TimeDelta::days(7));
    let mut tx = pool.begin().await?;
    sessions::create(&mut *tx, &hash, user.id, expires, origin.ip.as_deref(), origin.user_agent.as_deref()).await?;
    users::record_sign_in(&mut *tx, user.id).await?;
    let actor = Actor { id: user.id.to_string(), name: user.display_name.clone(), email: Some(user.email.clone()), kind: "user" };
    audit::record(&mut *tx, &Entry::new("auditorium.session.created", actor, origin).on("user", user.id, &user.email)).await?;
    tx.commit().await?;
    let role = user.role().unwrap_or(Role::Member);
    Ok(SignedIn { secret, user, role })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attempts_slow_down_per_email_and_per_address() {
        let throttle = Throttle::default();
        let here: IpAddr = "10.0.0.1".parse().expect("ip");
        for _ in 0..10 {
            assert!(throttle.check("ada@example.com", Some(here)).is_ok());
        }
        assert!(throttle.check("ada@example.com", Some(here)).is_err(), "the 11th attempt for one email waits");
        assert!(throttle.check("bob@example.com", Some(here)).is_ok(), "another email is not held up");
        for i in 0..19 {
            let _ = throttle.check(&format!("user{i}@example.com"), Some(here));
        }
        assert!(throttle.check("carol@example.com", Some(here)).is_err(), "one address trying many emails waits");
    }

    #[test]
    fn single_sign_on_starts_slow_down_per_address() {
        let throttle = Throttle::default();
        let (here, there): (IpAddr, IpAddr) = ("10.0.0.1".parse().expect("ip"), "10.0.0.2".parse().expect("ip"));
        assert!((0..120).all(|_| throttle.sso_start_allowed(Some(here))));
        assert!(!throttle.sso_start_allowed(Some(here)), "the 121st start in a minute waits");
        assert!(throttle.sso_start_allowed(Some(there)), "another address is not held up");
    }
}
