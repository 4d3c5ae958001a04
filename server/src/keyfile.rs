//! 32-byte keys kept in files of the data directory (`integrity.key`, `secrets.key`): base64
//! on one line, created once with mode 0600, never overwritten.

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use rand::RngCore;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("cannot read or write the key file {0}: {1}")]
    Io(PathBuf, std::io::Error),
    #[error("the key file {0} does not hold a base64 key of 32 bytes")]
    Malformed(PathBuf),
}

/// The key in `path`, if the file exists.
pub fn load(path: &Path) -> Result<Option<[u8; 32]>, KeyError> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(KeyError::Io(path.to_path_buf(), e)),
    };
    parse(text.trim()).map(Some).ok_or_else(|| KeyError::Malformed(path.to_path_buf()))
}

/// 32 bytes from base64 text (a key file's line, or an environment variable).
pub fn parse(text: &str) -> Option<[u8; 32]> {
    B64.decode(text.trim()).ok().and_then(|b| b.try_into().ok())
}

/// The key in `path`, created (readable by its owner only) when there is none. When two
/// processes create it at the same moment, both use the one that was written first.
pub fn load_or_create(path: &Path) -> Result<[u8; 32], KeyError> {
    if let Some(key) = load(path)? {
        return Ok(key);
    }
    let mut key = [0u8; 32];
    rand::rng().fill_bytes(&mut key);
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| KeyError::Io(path.to_path_buf(), e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(format!("{}\n", B64.encode(key)).as_bytes())
                .and_then(|()| file.sync_all())
                .map_err(|e| KeyError::Io(path.to_path_buf(), e))?;
            Ok(key)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => load(path)?.ok_or_else(|| KeyError::Malformed(path.to_path_buf())),
        Err(e) => Err(KeyError::Io(path.to_path_buf(), e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_created_once_private_and_read_back() {
        let dir = std::env::temp_dir().join(format!("auditorium-keyfile-{}", uuid::Uuid::new_v4().simple()));
        let path = dir.join("some.key");
        assert_eq!(load(&path).expect("no file is fine"), None);
        let key = load_or_create(&path).expect("created");
        assert_eq!(load_or_create(&path).expect("loaded"), key);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).expect("meta").permissions().mode() & 0o777, 0o600);
        }
        std::fs::write(&path, "not a key\n").expect("write");
        assert!(matches!(load(&path), Err(KeyError::Malformed(_))));
        let _ = std::fs::remove_dir_all(dir);
    }
}
