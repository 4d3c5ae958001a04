//! Session cookies: a random id (256 bits, base64url) in an `HttpOnly`, `SameSite=Lax` cookie
//! (`Secure` behind https); the database keeps only its SHA-256. A new id at every sign-in,
//! so an id planted before sign-in is worthless afterwards. Cookie text is built and parsed
//! with the `cookie` crate.

use std::time::Duration;

use axum::http::{header, HeaderMap, HeaderValue};
use base64::Engine;
use cookie::{Cookie, SameSite};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub const COOKIE: &str = "auditorium_session";

/// A fresh secret (for a session id or a one-time link) and its hash.
pub fn new_secret() -> (String, Vec<u8>) {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_secret(&secret);
    (secret, hash)
}

pub fn hash_secret(secret: &str) -> Vec<u8> {
    Sha256::digest(secret.as_bytes()).to_vec()
}

/// The session id the request's cookies carry.
pub fn from_headers(headers: &HeaderMap) -> Option<String> {
    cookie_value(headers, COOKIE)
}

/// The value of the cookie `name` (non-empty, at most 128 characters) among the request's.
pub fn cookie_value(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| Cookie::split_parse(v.to_string()).filter_map(Result::ok).collect::<Vec<_>>())
        .find(|c| c.name() == name)
        .map(|c| c.value().to_string())
        .filter(|v| !v.is_empty() && v.len() <= 128)
}

/// `Set-Cookie` for a new session.
pub fn set_cookie(secret: &str, lifetime: Duration, secure: bool) -> HeaderValue {
    let cookie = Cookie::build((COOKIE, secret.to_string()))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .path("/")
        .max_age(cookie::time::Duration::seconds(i64::try_from(lifetime.as_secs()).unwrap_or(i64::MAX)))
        .build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    let cookie = Cookie::build((COOKIE, "")).http_only(true).same_site(SameSite::Lax).secure(secure).path("/").max_age(cookie::time::Duration::ZERO).build();
    HeaderValue::from_str(&cookie.to_string()).unwrap_or_else(|_| HeaderValue::from_static(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_random_and_hashed() {
        let (a, hash) = new_secret();
        let (b, _) = new_secret();
        assert_ne!(a, b);
        assert_eq!(a.len(), 43);
        assert_eq!(hash, hash_secret(&a));
        assert_eq!(hash.len(), 32);
    }

    #[test]
    fn the_cookie_is_http_only_and_lax_and_secure_when_asked() {
        let text = set_cookie("abc", Duration::from_secs(3600), true).to_str().expect("ascii").to_string();
        for part in ["auditorium_session=abc", "HttpOnly", "SameSite=Lax", "Secure", "Path=/", "Max-Age=3600"] {
            assert!(text.contains(part), "{part} in {text}");
        }
        assert!(!set_cookie("abc", Duration::from_secs(1), false).to_str().expect("ascii").contains("Secure"));
    }

    #[test]
    fn the_session_is_found_among_other_cookies() {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_static("tz=Europe%2FBerlin; auditorium_session=s3cr3t; theme=dark"));
        assert_eq!(from_headers(&headers).as_deref(), Some("s3cr3t"));
        assert_eq!(from_headers(&HeaderMap::new()), None);
    }
}
