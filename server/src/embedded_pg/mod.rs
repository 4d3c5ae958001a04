//! A private PostgreSQL cluster in the data directory, used when no `DATABASE_URL` is given.
//!
//! Layout under the data directory (default `.data`):
//! - `postgres/`  the cluster (initdb on first use), listening only on a unix socket;
//! - `run/`       that socket's directory;
//! - `leases/`    one file per process using the cluster (`<pid>`, or `pinned` from `db start`);
//! - `cluster.lock` serialises start/stop decisions between processes.
//!
//! Every Auditorium process takes a lease; the last one to leave stops the cluster. A lease
//! of a process that died (SIGKILL) is ignored, and a `postmaster.pid` left by a dead server
//! is handled, so an unclean stop never blocks the next start. A process given the cluster's
//! address (`DATABASE_URL` from `auditorium db url`) finds the cluster through a marker file
//! in the socket directory and takes a lease as well. A server restarts the cluster when it
//! finds it stopped ([`EmbeddedPostgres::ensure_running`]).

mod binaries;
mod process;

pub use binaries::PgBinaries;

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use binaries::{can_traverse, run_as, RunAs};
use process::{read_pid_file, postmaster_of};

pub const DATABASE: &str = "auditorium";
const SUPERUSER: &str = "auditorium";
/// Unix socket paths are limited to 107 bytes.
const MAX_SOCKET_PATH: usize = 100;
/// In the socket directory: the data directory of the cluster listening there.
const MARKER: &str = "auditorium-data-dir";

#[derive(Debug, thiserror::Error)]
pub enum EmbeddedError {
    #[error(
        "PostgreSQL server programs (initdb, pg_ctl, postgres) were not found on PATH, in \
         AUDITORIUM_PG_BIN or in /usr/lib/postgresql/*/bin. Install them (Debian/Ubuntu: \
         `apt-get install postgresql`), or set DATABASE_URL to use an existing PostgreSQL."
    )]
    BinariesMissing,
    #[error(
        "PostgreSQL refuses to run as root and there is no user {0:?} to run it as. Create that \
         user, set AUDITORIUM_PG_USER to another unprivileged user, or run Auditorium as a \
         normal user."
    )]
    NoUnprivilegedUser(String),
    #[error("{context}: {source}")]
    Io { context: String, source: std::io::Error },
    #[error("{program} failed: {output}")]
    CommandFailed { program: String, output: String },
    #[error("{0}")]
    Other(String),
}

impl EmbeddedError {
    fn io(context: impl Into<String>) -> impl FnOnce(std::io::Error) -> EmbeddedError {
        let context = context.into();
        move |source| EmbeddedError::Io { context, source }
    }
}

/// A running embedded cluster and this process's lease on it.
#[derive(Debug)]
pub struct EmbeddedPostgres {
    root: PathBuf,
    pgdata: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    bins: PgBinaries,
    run_as: Option<RunAs>,
    lease: Option<PathBuf>,
}

/// What a lease is for: a running process, or `db start` (until `db stop`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LeaseKind {
    Process,
    Pinned,
}

impl EmbeddedPostgres {
    /// Finds the cluster's places and the PostgreSQL programs; starts nothing.
    pub fn locate(data_dir: &Path) -> Result<EmbeddedPostgres, EmbeddedError> {
        let bins = PgBinaries::find()?;
        let run_as = run_as()?;
        fs::create_dir_all(data_dir).map_err(EmbeddedError::io(format!("creating {}", data_dir.display())))?;
        let root = data_dir
            .canonicalize()
            .map_err(EmbeddedError::io(format!("resolving {}", data_dir.display())))?;
        let (pgdata, socket_dir) = locations(&root, run_as);
        let mut cluster = EmbeddedPostgres { root, pgdata, socket_dir, port: 5432, bins, run_as, lease: None };
        if let (Some(_), Some(pid_file)) = (postmaster_of(&cluster.pgdata), read_pid_file(&cluster.pgdata)) {
            cluster.port = pid_file.port;
            cluster.socket_dir = pid_file.socket_dir;
        }
        Ok(cluster)
    }

    /// Makes sure the cluster exists and runs, and takes a lease on it. Blocking: call
    /// from `spawn_blocking`.
    pub fn start(mut self, kind: LeaseKind) -> Result<EmbeddedPostgres, EmbeddedError> {
        let _lock = self.lock()?;
        if !self.pgdata.join("PG_VERSION").exists() {
            self.init()?;
        }
        match postmaster_of(&self.pgdata) {
            Some(pid) => tracing::info!(pid, data = %self.pgdata.display(), "using the running embedded PostgreSQL"),
            None => self.launch()?,
        }
        if let Some(pid_file) = read_pid_file(&self.pgdata) {
            self.port = pid_file.port;
            self.socket_dir = pid_file.socket_dir;
        }
        self.lease = Some(self.take_lease(kind)?);
        Ok(self)
    }

    /// The cluster listening in `socket_dir`, when it is an embedded cluster of Auditorium's
    /// (found through the marker file written at start).
    pub fn for_socket_dir(socket_dir: &Path) -> Option<Result<EmbeddedPostgres, EmbeddedError>> {
        let root = fs::read_to_string(socket_dir.join(MARKER)).ok()?;
        Some(EmbeddedPostgres::locate(Path::new(root.trim_end_matches('\n'))))
    }

    /// A handle on the same cluster without a lease: for watching it.
    pub fn watcher(&self) -> EmbeddedPostgres {
        EmbeddedPostgres {
            root: self.root.clone(),
            pgdata: self.pgdata.clone(),
            socket_dir: self.socket_dir.clone(),
            port: self.port,
            bins: self.bins.clone(),
            run_as: self.run_as,
            lease: None,
        }
    }

    /// Starts the cluster again if it is not running (it crashed, or was stopped from outside
    /// while processes still use it). `Ok(true)` when it had to be started. Blocking.
    pub fn ensure_running(&self) -> Result<bool, EmbeddedError> {
        let _lock = self.lock()?;
        if postmaster_of(&self.pgdata).is_some() {
            return Ok(false);
        }
        self.launch()?;
        Ok(true)
    }

    /// The postmaster's pid when the cluster runs.
    pub fn running_pid(&self) -> Option<u32> {
        postmaster_of(&self.pgdata)
    }

    /// Connection URL of `database` in this cluster (unix socket, trust authentication).
    pub fn url(&self, database: &str) -> String {
        let socket = self.socket_dir.to_string_lossy();
        let host: String = url_escape(&socket);
        format!("postgres:///{database}?host={host}&port={}&user={SUPERUSER}", self.port)
    }

    pub fn data_dir(&self) -> &Path {
        &self.pgdata
    }

    /// Gives up this process's lease; stops the cluster when nobody else uses it.
    pub fn release(mut self) -> Result<(), EmbeddedError> {
        let _lock = self.lock()?;
        if let Some(lease) = self.lease.take() {
            let _ = fs::remove_file(lease);
        }
        if self.live_leases()?.is_empty() {
            self.shutdown()?;
        }
        Ok(())
    }

    /// `db stop`: drops the `db start` lease and stops the cluster unless running processes
    /// still use it (or `force`). Returns the leases that kept it running.
    pub fn stop(self, force: bool) -> Result<Vec<String>, EmbeddedError> {
        let _lock = self.lock()?;
        let _ = fs::remove_file(self.leases_dir().join("pinned"));
        let remaining = self.live_leases()?;
        if remaining.is_empty() || force {
            self.shutdown()?;
            return Ok(Vec::new());
        }
        Ok(remaining)
    }

    /// Leases of living processes (and `pinned`), pruning those of dead processes.
    pub fn live_leases(&self) -> Result<Vec<String>, EmbeddedError> {
        let dir = self.leases_dir();
        let mut live = Vec::new();
        for entry in fs::read_dir(&dir).into_iter().flatten().flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let alive = name == "pinned" || name.parse::<u32>().is_ok_and(process::is_alive);
            if alive {
                live.push(name);
            } else {
                let _ = fs::remove_file(entry.path());
            }
        }
        live.sort();
        Ok(live)
    }

    fn leases_dir(&self) -> PathBuf {
        self.root.join("leases")
    }

    fn lock(&self) -> Result<File, EmbeddedError> {
        let path = self.root.join("cluster.lock");
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(EmbeddedError::io(format!("opening {}", path.display())))?;
        file.lock().map_err(EmbeddedError::io(format!("locking {}", path.display())))?;
        Ok(file)
    }

    fn take_lease(&self, kind: LeaseKind) -> Result<PathBuf, EmbeddedError> {
        let dir = self.leases_dir();
        fs::create_dir_all(&dir).map_err(EmbeddedError::io(format!("creating {}", dir.display())))?;
        let path = match kind {
            LeaseKind::Process => dir.join(std::process::id().to_string()),
            LeaseKind::Pinned => dir.join("pinned"),
        };
        let mut file = File::create(&path).map_err(EmbeddedError::io(format!("creating {}", path.display())))?;
        let command: Vec<String> = std::env::args().collect();
        let _ = writeln!(file, "{}", command.join(" "));
        Ok(path)
    }

    fn init(&self) -> Result<(), EmbeddedError> {
        tracing::info!(data = %self.pgdata.display(), "creating the embedded PostgreSQL cluster (first run)");
        self.make_private_dir(&self.pgdata)?;
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        self.run(
            "initdb",
            &["-D", &pgdata, "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8", "--no-locale", "--no-instructions"],
        )?;
        let conf = self.pgdata.join("postgresql.conf");
        let mut file = File::options()
            .append(true)
            .open(&conf)
            .map_err(EmbeddedError::io(format!("opening {}", conf.display())))?;
        writeln!(file, "\ninclude_if_exists = 'auditorium.conf'")
            .map_err(EmbeddedError::io(format!("writing {}", conf.display())))
    }

    fn launch(&self) -> Result<(), EmbeddedError> {
        process::clear_stale_locks(&self.pgdata, &self.socket_dir);
        self.make_private_dir(&self.socket_dir)?;
        self.write_settings()?;
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        let log = self.pgdata.join("server.log").to_string_lossy().into_owned();
        tracing::info!(data = %pgdata, "starting the embedded PostgreSQL");
        self.run("pg_ctl", &["start", "-D", &pgdata, "-l", &log, "-w", "-t", "120", "-s"])
            .map_err(|e| match e {
                EmbeddedError::CommandFailed { program, output } => EmbeddedError::CommandFailed {
                    program,
                    output: format!("{output}\nlast lines of {log}:\n{}", tail(&self.pgdata.join("server.log"), 15)),
                },
                other => other,
            })?;
        let marker = self.socket_dir.join(MARKER);
        fs::write(&marker, format!("{}\n", self.root.display())).map_err(EmbeddedError::io(format!("writing {}", marker.display())))
    }

    fn shutdown(&self) -> Result<(), EmbeddedError> {
        if postmaster_of(&self.pgdata).is_none() {
            return Ok(());
        }
        tracing::info!(data = %self.pgdata.display(), "stopping the embedded PostgreSQL");
        let pgdata = self.pgdata.to_string_lossy().into_owned();
        self.run("pg_ctl", &["stop", "-D", &pgdata, "-m", "fast", "-w", "-t", "60", "-s"])
    }

    /// Settings rewritten on every start, so upgrades of Auditorium apply them.
    fn write_settings(&self) -> Result<(), EmbeddedError> {
        let socket = self.socket_dir.to_string_lossy().replace('\'', "''");
        let (shared_buffers, cache) = memory_settings(total_memory_mb());
        let settings = format!(
            "# Written by Auditorium on every start; edit postgresql.conf to override.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{socket}'\n\
             unix_socket_permissions = 0700\n\
             max_connections = 300\n\
             shared_buffers = {shared_buffers}MB\n\
             work_mem = 16MB\n\
             maintenance_work_mem = 256MB\n\
             effective_cache_size = {cache}MB\n\
             random_page_cost = 1.1\n\
             jit = off\n\
             max_wal_size = 4GB\n\
             checkpoint_timeout = 15min\n\
             timezone = 'UTC'\n"
        );
        let path = self.pgdata.join("auditorium.conf");
        fs::write(&path, settings).map_err(EmbeddedError::io(format!("writing {}", path.display())))?;
        self.give_to_postgres(&path)
    }

    fn make_private_dir(&self, dir: &Path) -> Result<(), EmbeddedError> {
        fs::create_dir_all(dir).map_err(EmbeddedError::io(format!("creating {}", dir.display())))?;
        fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
            .map_err(EmbeddedError::io(format!("setting permissions of {}", dir.display())))?;
        self.give_to_postgres(dir)
    }

    fn give_to_postgres(&self, path: &Path) -> Result<(), EmbeddedError> {
        match self.run_as {
            Some(user) => std::os::unix::fs::chown(path, Some(user.uid), Some(user.gid))
                .map_err(EmbeddedError::io(format!("giving {} to the PostgreSQL user", path.display()))),
            None => Ok(()),
        }
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), EmbeddedError> {
        use std::os::unix::process::CommandExt;
        let path = self.bins.program(program);
        let mut command = Command::new(&path);
        command.args(args).current_dir("/").env("LC_ALL", "C.UTF-8");
        if let Some(user) = self.run_as {
            command.uid(user.uid).gid(user.gid);
        }
        let output = command.output().map_err(EmbeddedError::io(format!("running {}", path.display())))?;
        if output.status.success() {
            return Ok(());
        }
        let mut text = String::from_utf8_lossy(&output.stderr).into_owned();
        text.push_str(&String::from_utf8_lossy(&output.stdout));
        Err(EmbeddedError::CommandFailed { program: program.into(), output: text.trim().to_string() })
    }
}

/// Where the cluster and its socket live. The usual place is inside the data directory;
/// when PostgreSQL must run as another user who cannot reach it (a checkout under /root),
/// or the socket path would be too long, a private directory elsewhere is used instead.
fn locations(root: &Path, run_as: Option<RunAs>) -> (PathBuf, PathBuf) {
    let reachable = run_as.is_none_or(|user| can_traverse(&root.join("postgres"), user));
    let base = if reachable {
        root.to_path_buf()
    } else {
        let fallback = PathBuf::from("/var/tmp").join(format!("auditorium-{}", short_hash(root)));
        tracing::info!(dir = %fallback.display(), "the PostgreSQL user cannot reach the data directory; using another one");
        let _ = fs::create_dir_all(&fallback);
        fallback
    };
    let socket_dir = base.join("run");
    let socket_dir = if socket_dir.join(".s.PGSQL.5432").as_os_str().len() > MAX_SOCKET_PATH {
        std::env::temp_dir().join(format!("auditorium-{}", short_hash(root)))
    } else {
        socket_dir
    };
    (base.join("postgres"), socket_dir)
}

/// Megabytes of RAM (from /proc/meminfo; 2 GiB when unknown).
fn total_memory_mb() -> u64 {
    fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| m.lines().find_map(|l| l.strip_prefix("MemTotal:").map(|v| v.trim().trim_end_matches(" kB").parse::<u64>().ok())))
        .flatten()
        .map(|kb| kb / 1024)
        .unwrap_or(2048)
}

/// shared_buffers: an eighth of RAM, between 128 MB and 2 GB; effective_cache_size: half.
fn memory_settings(ram_mb: u64) -> (u64, u64) {
    ((ram_mb / 8).clamp(128, 2048), (ram_mb / 2).max(256))
}

fn short_hash(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(path.as_os_str().as_encoded_bytes());
    digest.iter().take(6).map(|b| format!("{b:02x}")).collect()
}

fn url_escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'/' | b'-' | b'_' | b'.' => (b as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect()
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_follows_the_machine() {
        assert_eq!(memory_settings(1024), (128, 512));
        assert_eq!(memory_settings(8192), (1024, 4096));
        assert_eq!(memory_settings(24 * 1024), (2048, 12 * 1024));
    }

    #[test]
    fn urls_escape_the_socket_directory() {
        assert_eq!(url_escape("/tmp/a b/run"), "/tmp/a%20b/run");
    }

    #[test]
    fn long_paths_move_the_socket_out() {
        let deep = PathBuf::from(format!("/{}", "d".repeat(120)));
        let (pgdata, socket) = locations(&deep, None);
        assert!(pgdata.starts_with(&deep));
        assert!(socket.as_os_str().len() < MAX_SOCKET_PATH);
    }
}
