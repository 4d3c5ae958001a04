//! Telling a live postmaster from a stale `postmaster.pid`, using /proc.

use std::fs;
use std::path::{Path, PathBuf};

pub struct PidFile {
    pub port: u16,
    pub socket_dir: PathBuf,
}

/// Lines of `postmaster.pid`: pid, data directory, start time, port, socket directory, ...
/// (the pid itself is read by [`postmaster_of`]).
pub fn read_pid_file(pgdata: &Path) -> Option<PidFile> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let lines: Vec<&str> = text.lines().collect();
    Some(PidFile {
        port: lines.get(3)?.trim().parse().ok()?,
        socket_dir: PathBuf::from(lines.get(4)?.trim()),
    })
}

pub fn is_alive(pid: u32) -> bool {
    Path::new(&format!("/proc/{pid}")).exists()
}

/// The pid of the postmaster serving `pgdata`, if one runs. A postmaster works in its data
/// directory, so a pid whose working directory is elsewhere is a different process that
/// happens to reuse the number.
pub fn postmaster_of(pgdata: &Path) -> Option<u32> {
    let pid = first_line_pid(&pgdata.join("postmaster.pid"))?;
    runs_in(pid, pgdata).then_some(pid)
}

fn first_line_pid(path: &Path) -> Option<u32> {
    fs::read_to_string(path).ok()?.lines().next()?.trim().parse().ok()
}

fn runs_in(pid: u32, dir: &Path) -> bool {
    let cwd = fs::read_link(format!("/proc/{pid}/cwd")).ok();
    let dir = dir.canonicalize().ok();
    cwd.is_some() && cwd == dir
}

/// Removes lock files naming a live process that is not our postmaster (pid reuse after an
/// unclean stop). PostgreSQL would otherwise refuse to start. Lock files of dead processes
/// are left to PostgreSQL, which checks its shared memory before replacing them.
pub fn clear_stale_locks(pgdata: &Path, socket_dir: &Path) {
    for lock in [pgdata.join("postmaster.pid"), socket_dir.join(".s.PGSQL.5432.lock")] {
        if let Some(pid) = first_line_pid(&lock) {
            if is_alive(pid) && !runs_in(pid, pgdata) {
                tracing::warn!(pid, file = %lock.display(), "removing a stale lock file whose pid now belongs to another process");
                let _ = fs::remove_file(&lock);
            }
        }
    }
}
