//! Finding the machine's PostgreSQL server programs, and the user to run them as.

use std::path::{Path, PathBuf};

use super::EmbeddedError;

/// The directory holding `initdb`, `pg_ctl` and `postgres`.
#[derive(Clone, Debug)]
pub struct PgBinaries {
    pub dir: PathBuf,
}

impl PgBinaries {
    /// Looks in `AUDITORIUM_PG_BIN`, then `PATH`, then `/usr/lib/postgresql/<newest>/bin`.
    pub fn find() -> Result<PgBinaries, EmbeddedError> {
        let mut candidates: Vec<PathBuf> = Vec::new();
        if let Some(dir) = std::env::var_os("AUDITORIUM_PG_BIN") {
            candidates.push(PathBuf::from(dir));
        }
        if let Some(path) = std::env::var_os("PATH") {
            candidates.extend(std::env::split_paths(&path));
        }
        candidates.extend(debian_versions().into_iter().map(|v| v.join("bin")));
        PgBinaries::find_in(candidates)
    }

    /// The first of `candidates` holding all three programs.
    pub fn find_in(candidates: impl IntoIterator<Item = PathBuf>) -> Result<PgBinaries, EmbeddedError> {
        candidates
            .into_iter()
            .find(|dir| ["initdb", "pg_ctl", "postgres"].iter().all(|p| is_executable(&dir.join(p))))
            .map(|dir| PgBinaries { dir })
            .ok_or(EmbeddedError::BinariesMissing)
    }

    pub fn program(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }
}

/// `/usr/lib/postgresql/*`, newest version first.
fn debian_versions() -> Vec<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            Some((version, entry.path()))
        })
        .collect();
    versions.sort_by(|a, b| b.0.cmp(&a.0));
    versions.into_iter().map(|(_, path)| path).collect()
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// PostgreSQL refuses to run as root. When we are root, its programs run as this user.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunAs {
    pub uid: u32,
    pub gid: u32,
}

/// `None` when the current user may run PostgreSQL itself; otherwise the `postgres` user
/// (or `AUDITORIUM_PG_USER`).
pub fn run_as() -> Result<Option<RunAs>, EmbeddedError> {
    if effective_uid()? != 0 {
        return Ok(None);
    }
    let name = std::env::var("AUDITORIUM_PG_USER").unwrap_or_else(|_| "postgres".into());
    let passwd = std::fs::read_to_string("/etc/passwd").map_err(EmbeddedError::io("reading /etc/passwd"))?;
    passwd
        .lines()
        .find_map(|line| {
            let mut parts = line.split(':');
            let user = parts.next()?;
            let (uid, gid) = (parts.nth(1)?.parse().ok()?, parts.next()?.parse().ok()?);
            (user == name).then_some(RunAs { uid, gid })
        })
        .map(Some)
        .ok_or(EmbeddedError::NoUnprivilegedUser(name))
}

fn effective_uid() -> Result<u32, EmbeddedError> {
    let status = std::fs::read_to_string("/proc/self/status").map_err(EmbeddedError::io("reading /proc/self/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|euid| euid.parse().ok())
        .ok_or_else(|| EmbeddedError::Other("cannot read the effective user id from /proc/self/status".into()))
}

/// Whether `user` can reach `dir`: every ancestor must be searchable by it.
pub fn can_traverse(dir: &Path, user: RunAs) -> bool {
    use std::os::unix::fs::MetadataExt;
    dir.ancestors().skip(1).all(|ancestor| match std::fs::metadata(ancestor) {
        Ok(m) if m.uid() == user.uid => m.mode() & 0o100 != 0,
        Ok(m) if m.gid() == user.gid => m.mode() & 0o010 != 0,
        Ok(m) => m.mode() & 0o001 != 0,
        Err(_) => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_programs_are_explained() {
        let err = PgBinaries::find_in([PathBuf::from("/nonexistent")]).expect_err("nothing there");
        let message = err.to_string();
        assert!(message.contains("initdb, pg_ctl, postgres"), "{message}");
        assert!(message.contains("apt-get install postgresql"), "{message}");
        assert!(message.contains("DATABASE_URL"), "{message}");
    }
}
