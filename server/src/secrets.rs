//! Secrets Auditorium must store and use again (the OIDC client secret) are sealed with
//! XChaCha20-Poly1305 (the `chacha20poly1305` crate, RustCrypto) under a 32-byte key:
//! `AUDITORIUM_SECRET_KEY` (base64) when set — the same on every instance — else
//! `secrets.key` in the data directory, created on first use. A database dump alone does not
//! reveal them. Sealed text: `v1:` and base64 of nonce ‖ ciphertext.

use std::path::PathBuf;
use std::sync::OnceLock;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand::RngCore;

pub const KEY_ENV: &str = "AUDITORIUM_SECRET_KEY";
const KEY_FILE: &str = "secrets.key";
const PREFIX: &str = "v1:";

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("the secrets key is not usable: {0}")]
    Key(String),
    #[error("a stored secret cannot be opened with this instance's secrets key (was it sealed with another {KEY_ENV} or data directory?)")]
    Open,
}

/// The instance's sealing key, read (or created) when first needed.
pub struct SecretBox {
    data_dir: PathBuf,
    key: OnceLock<Result<[u8; 32], String>>,
}

impl SecretBox {
    pub fn new(data_dir: PathBuf) -> SecretBox {
        SecretBox { data_dir, key: OnceLock::new() }
    }

    /// A box with a fixed key (tests).
    pub fn with_key(key: [u8; 32]) -> SecretBox {
        let cell = OnceLock::new();
        let _ = cell.set(Ok(key));
        SecretBox { data_dir: PathBuf::new(), key: cell }
    }

    fn cipher(&self) -> Result<XChaCha20Poly1305, SecretError> {
        let key = self.key.get_or_init(|| match std::env::var(KEY_ENV) {
            Ok(text) if !text.trim().is_empty() => crate::keyfile::parse(&text).ok_or_else(|| format!("{KEY_ENV} is not base64 of 32 bytes")),
            _ => crate::keyfile::load_or_create(&self.data_dir.join(KEY_FILE)).map_err(|e| e.to_string()),
        });
        let key = key.as_ref().map_err(|e| SecretError::Key(e.clone()))?;
        XChaCha20Poly1305::new_from_slice(key).map_err(|e| SecretError::Key(e.to_string()))
    }

    pub fn seal(&self, plain: &str) -> Result<String, SecretError> {
        let cipher = self.cipher()?;
        let mut nonce = [0u8; 24];
        rand::rng().fill_bytes(&mut nonce);
        let sealed = cipher.encrypt(XNonce::from_slice(&nonce), plain.as_bytes()).map_err(|_| SecretError::Open)?;
        let mut bytes = nonce.to_vec();
        bytes.extend_from_slice(&sealed);
        Ok(format!("{PREFIX}{}", B64.encode(bytes)))
    }

    pub fn open(&self, sealed: &str) -> Result<String, SecretError> {
        let cipher = self.cipher()?;
        let bytes = sealed.strip_prefix(PREFIX).and_then(|b| B64.decode(b).ok()).filter(|b| b.len() > 24).ok_or(SecretError::Open)?;
        let (nonce, text) = bytes.split_at(24);
        let plain = cipher.decrypt(XNonce::from_slice(nonce), text).map_err(|_| SecretError::Open)?;
        String::from_utf8(plain).map_err(|_| SecretError::Open)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_secrets_open_only_with_their_key() {
        let a = SecretBox::with_key([7; 32]);
        let sealed = a.seal("client secret").expect("sealed");
        assert!(sealed.starts_with("v1:") && !sealed.contains("client secret"));
        assert_ne!(a.seal("client secret").expect("sealed"), sealed, "a fresh nonce each time");
        assert_eq!(a.open(&sealed).expect("opened"), "client secret");
        assert!(matches!(SecretBox::with_key([8; 32]).open(&sealed), Err(SecretError::Open)));
        let mut changed = sealed.clone();
        changed.pop();
        changed.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(a.open(&changed).is_err(), "a changed byte is refused");
        assert!(a.open("plain text").is_err());
    }

    #[test]
    fn the_key_file_is_created_in_the_data_directory() {
        let dir = std::env::temp_dir().join(format!("auditorium-secrets-{}", uuid::Uuid::new_v4().simple()));
        let sealed = SecretBox::new(dir.clone()).seal("x").expect("sealed");
        assert!(dir.join(KEY_FILE).exists());
        assert_eq!(SecretBox::new(dir.clone()).open(&sealed).expect("same key from the file"), "x");
        let _ = std::fs::remove_dir_all(dir);
    }
}
