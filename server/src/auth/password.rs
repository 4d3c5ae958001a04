//! Passwords: Argon2id (the `argon2` crate of RustCrypto, PHC strings with their own salt and
//! parameters, so parameters can be raised later without breaking stored hashes). Hashing is
//! deliberately slow, so it runs on the blocking pool, never on the async workers.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

/// Passwords shorter than this are refused.
pub const MIN_LENGTH: usize = 12;
/// Longer than this is refused too (hashing cost grows with length).
pub const MAX_LENGTH: usize = 1024;

/// Why a new password is refused.
pub fn check_new(password: &str) -> Result<(), String> {
    let n = password.chars().count();
    if n < MIN_LENGTH {
        return Err(format!("a password needs at least {MIN_LENGTH} characters"));
    }
    if n > MAX_LENGTH {
        return Err(format!("a password may have at most {MAX_LENGTH} characters"));
    }
    Ok(())
}

/// The PHC string of `password` (Argon2id, default parameters, a random salt).
pub async fn hash(password: String) -> Result<String, String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default().hash_password(password.as_bytes(), &salt).map(|h| h.to_string()).map_err(|e| e.to_string())
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Whether `password` matches `phc`. A malformed stored hash never matches.
pub async fn verify(password: String, phc: String) -> bool {
    tokio::task::spawn_blocking(move || {
        PasswordHash::new(&phc).is_ok_and(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
    })
    .await
    .unwrap_or(false)
}

/// Spends the time a verification takes, for sign-ins of unknown accounts: the answer then
/// takes as long whether or not the account exists.
pub async fn verify_nothing(password: String) {
    const DUMMY: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$YlFvWU1yQkZjc3ZtN0dUR0tqdHp2dw";
    let _ = verify(password, DUMMY.to_string()).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery".into()).await.expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery".into(), phc.clone()).await);
        assert!(!verify("correct horse battery!".into(), phc).await);
        assert!(!verify("anything".into(), "not a hash".into()).await);
    }

    #[test]
    fn new_passwords_have_a_length() {
        assert!(check_new("short").is_err());
        assert!(check_new("long enough, really").is_ok());
        assert!(check_new(&"x".repeat(MAX_LENGTH + 1)).is_err());
    }
}
