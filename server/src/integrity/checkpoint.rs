//! The instance's Ed25519 signing key (`integrity.key` in the data directory) and signed
//! checkpoints: "the chain's digest at position N was D at time T", which an auditor keeps
//! outside Auditorium and later hands to `auditorium verify --checkpoint FILE`.
//!
//! ed25519-dalek (RustCrypto-reviewed, constant-time) signs; nothing cryptographic is written
//! here beyond composing the signed message.

use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use chrono::{DateTime, SubsecRound, Utc};
use ed25519_dalek::{Signature, Signer, SigningKey, Verifier, VerifyingKey};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;

const KEY_FILE: &str = "integrity.key";
const FORMAT: &str = "auditorium-checkpoint/1";

pub use crate::keyfile::KeyError;

pub fn key_path(data_dir: &Path) -> PathBuf {
    data_dir.join(KEY_FILE)
}

/// The key in `data_dir`, created (readable by its owner only) when there is none.
pub fn load_or_create(data_dir: &Path) -> Result<SigningKey, KeyError> {
    crate::keyfile::load_or_create(&key_path(data_dir)).map(|seed| SigningKey::from_bytes(&seed))
}

/// The key in `data_dir`, if there is one.
pub fn load(data_dir: &Path) -> Result<Option<SigningKey>, KeyError> {
    Ok(crate::keyfile::load(&key_path(data_dir))?.map(|seed| SigningKey::from_bytes(&seed)))
}

/// The public key as printed and stored: `ed25519:` and base64.
pub fn public_key_text(key: &VerifyingKey) -> String {
    format!("ed25519:{}", B64.encode(key.as_bytes()))
}

fn parse_public_key(text: &str) -> Option<VerifyingKey> {
    let bytes: [u8; 32] = B64.decode(text.strip_prefix("ed25519:")?).ok()?.try_into().ok()?;
    VerifyingKey::from_bytes(&bytes).ok()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub fn unhex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

/// A signed checkpoint, as stored and as handed to auditors (JSON).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub format: String,
    /// The position of the last event of the batch it closes.
    pub seq: i64,
    /// The chain's digest after that batch (hex).
    pub digest: String,
    pub signed_at: DateTime<Utc>,
    pub public_key: String,
    /// Ed25519 signature of [`message`] (base64).
    pub signature: String,
}

/// The exact bytes signed.
fn message(seq: i64, digest: &str, signed_at: &DateTime<Utc>) -> Vec<u8> {
    format!("{FORMAT}\nseq={seq}\ndigest={digest}\nsigned_at={}\n", signed_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)).into_bytes()
}

impl Checkpoint {
    pub fn sign(key: &SigningKey, seq: i64, digest: &[u8], signed_at: DateTime<Utc>) -> Checkpoint {
        let signed_at = signed_at.trunc_subsecs(6);
        let digest = hex(digest);
        let signature = key.sign(&message(seq, &digest, &signed_at));
        Checkpoint {
            format: FORMAT.into(),
            seq,
            digest,
            signed_at,
            public_key: public_key_text(&key.verifying_key()),
            signature: B64.encode(signature.to_bytes()),
        }
    }

    /// Checks the signature against `trusted` (the key the auditor knows), or against the
    /// checkpoint's own key when none is given.
    pub fn check(&self, trusted: Option<&VerifyingKey>) -> Result<(), String> {
        if self.format != FORMAT {
            return Err(format!("unknown checkpoint format {:?}", self.format));
        }
        let own = parse_public_key(&self.public_key).ok_or("the checkpoint's public key is malformed")?;
        let key = match trusted {
            Some(trusted) if *trusted != own => return Err(format!("signed by {}, not by this instance's key {}", self.public_key, public_key_text(trusted))),
            Some(trusted) => trusted,
            None => &own,
        };
        let bytes: [u8; 64] = B64.decode(&self.signature).ok().and_then(|b| b.try_into().ok()).ok_or("the signature is malformed")?;
        key.verify(&message(self.seq, &self.digest, &self.signed_at), &Signature::from_bytes(&bytes))
            .map_err(|_| "the signature does not match the checkpoint's content".to_string())
    }

    pub fn digest_bytes(&self) -> Option<Vec<u8>> {
        unhex(&self.digest)
    }
}

/// Signs the chain's current head and stores the checkpoint; `None` when nothing was written
/// yet or the head is signed already.
pub async fn make(pool: &PgPool, key: &SigningKey) -> Result<Option<Checkpoint>, sqlx::Error> {
    let head: Option<(i64, Vec<u8>)> = sqlx::query_as("SELECT last_seq, digest FROM event_chain ORDER BY last_seq DESC LIMIT 1").fetch_optional(pool).await?;
    let Some((seq, digest)) = head else { return Ok(None) };
    let checkpoint = Checkpoint::sign(key, seq, &digest, Utc::now());
    let stored = sqlx::query(
        "INSERT INTO integrity_checkpoints (seq, digest, signed_at, public_key, signature) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (seq) DO NOTHING",
    )
    .bind(seq)
    .bind(&digest)
    .bind(checkpoint.signed_at)
    .bind(&checkpoint.public_key)
    .bind(&checkpoint.signature)
    .execute(pool)
    .await?;
    Ok((stored.rows_affected() == 1).then_some(checkpoint))
}

/// The stored checkpoints after position `after` (0: all), oldest first.
pub async fn stored(pool: &PgPool, after: i64) -> Result<Vec<Checkpoint>, sqlx::Error> {
    let rows: Vec<(i64, Vec<u8>, DateTime<Utc>, String, String)> =
        sqlx::query_as("SELECT seq, digest, signed_at, public_key, signature FROM integrity_checkpoints WHERE seq > $1 ORDER BY seq")
            .bind(after)
            .fetch_all(pool)
            .await?;
    Ok(rows
        .into_iter()
        .map(|(seq, digest, signed_at, public_key, signature)| Checkpoint { format: FORMAT.into(), seq, digest: hex(&digest), signed_at, public_key, signature })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_verifies_and_any_change_breaks_it() {
        let key = SigningKey::from_bytes(&[9; 32]);
        let at = DateTime::parse_from_rfc3339("2026-12-04T10:00:00.123456789Z").expect("time").with_timezone(&Utc);
        let cp = Checkpoint::sign(&key, 42, &[1; 32], at);
        cp.check(Some(&key.verifying_key())).expect("intact");
        let json = serde_json::to_string(&cp).expect("json");
        let back: Checkpoint = serde_json::from_str(&json).expect("parse");
        back.check(None).expect("the file form verifies too");
        for tampered in [
            Checkpoint { seq: 43, ..cp.clone() },
            Checkpoint { digest: hex(&[2; 32]), ..cp.clone() },
            Checkpoint { signed_at: at + chrono::Duration::seconds(1), ..cp.clone() },
        ] {
            assert!(tampered.check(None).is_err(), "{tampered:?}");
        }
        let other = SigningKey::from_bytes(&[8; 32]);
        assert!(cp.check(Some(&other.verifying_key())).is_err(), "another instance's key");
        let forged = Checkpoint::sign(&other, 42, &[1; 32], at);
        assert!(forged.check(Some(&key.verifying_key())).is_err(), "signed by someone else");
    }

    #[test]
    fn hex_round_trips() {
        assert_eq!(unhex(&hex(&[0, 1, 0xab, 0xff])), Some(vec![0, 1, 0xab, 0xff]));
        assert_eq!(unhex("abc"), None);
        assert_eq!(unhex("zz"), None);
    }

    #[test]
    fn the_key_file_is_created_once_and_private() {
        let dir = std::env::temp_dir().join(format!("auditorium-key-{}", uuid::Uuid::now_v7()));
        let key = load_or_create(&dir).expect("created");
        assert_eq!(load_or_create(&dir).expect("loaded").to_bytes(), key.to_bytes());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(key_path(&dir)).expect("file").permissions().mode();
            assert_eq!(mode & 0o077, 0, "only the owner may read it");
        }
        std::fs::remove_dir_all(&dir).ok();
    }
}
