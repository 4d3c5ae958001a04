//! Command line and environment configuration, in one typed place. Documented in README.md.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Debug, Parser)]
#[command(name = "auditorium", version, about = "Self-hosted audit-log explorer")]
pub struct Cli {
    #[command(flatten)]
    pub database: DatabaseArgs,
    /// The address people use to reach Auditorium, e.g. https://audit.example.com (behind a
    /// proxy). Sets the accepted Host, Secure cookies, and the base of one-time links.
    #[arg(long, env = "AUDITORIUM_PUBLIC_URL", global = true)]
    pub public_url: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Clone, Args)]
pub struct DatabaseArgs {
    /// PostgreSQL to use. Without it, Auditorium runs a private PostgreSQL cluster in DATA_DIR.
    #[arg(long, env = "DATABASE_URL", global = true)]
    pub database_url: Option<String>,
    /// Where the embedded PostgreSQL cluster lives.
    #[arg(long, env = "AUDITORIUM_DATA_DIR", default_value = ".data", global = true)]
    pub data_dir: PathBuf,
    /// Longest time any single query may run before it is cancelled.
    #[arg(long, env = "AUDITORIUM_STATEMENT_TIMEOUT", default_value = "5s", value_parser = parse_duration, global = true)]
    pub statement_timeout: Duration,
}

impl DatabaseArgs {
    /// The database to use instead of the embedded cluster: `DATABASE_URL` / `--database-url`,
    /// unless empty (`DATABASE_URL=` means "not set", as in most tools).
    pub fn external_url(&self) -> Option<&str> {
        self.database_url.as_deref().map(str::trim).filter(|url| !url.is_empty())
    }
}

// The URL may carry a password: never print it.
impl std::fmt::Debug for DatabaseArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseArgs")
            .field("database_url", &self.database_url.as_ref().map(|_| "<redacted>"))
            .field("data_dir", &self.data_dir)
            .field("statement_timeout", &self.statement_timeout)
            .finish()
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Serve the web UI and the HTTP API (the default).
    Serve(ServeArgs),
    /// Apply database migrations and exit.
    Migrate,
    /// Fill the database with realistic sample events.
    Demo(DemoArgs),
    /// Load events from an NDJSON file through the same validation as the API.
    Ingest(IngestArgs),
    /// Export the events of a view (URL format) to standard output or a file.
    Export(ExportArgs),
    /// Create, list and revoke API tokens.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Create and manage accounts.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the embedded PostgreSQL cluster.
    #[command(subcommand)]
    Db(DbCommand),
    /// Recompute the hash chain and report every event changed, missing or inserted (exit 0:
    /// intact, 1: something differs).
    Verify(VerifyArgs),
    /// The signing key and signed checkpoints of the hash chain.
    #[command(subcommand)]
    Integrity(IntegrityCommand),
    /// Legal holds (they stop retention) and what retention has dropped.
    #[command(subcommand)]
    Retention(RetentionCommand),
    /// Put an archived day back.
    #[command(subcommand)]
    Archive(ArchiveCommand),
}

#[derive(Clone, Debug, Args)]
pub struct VerifyArgs {
    /// Only batches committed at or after this time (RFC 3339 or YYYY-MM-DD, UTC).
    #[arg(long, value_parser = parse_time)]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Only batches committed before this time.
    #[arg(long, value_parser = parse_time)]
    pub to: Option<chrono::DateTime<chrono::Utc>>,
    /// A signed checkpoint kept outside Auditorium (JSON from `auditorium integrity
    /// checkpoint`); repeat for several. Its signature is checked against this instance's key.
    #[arg(long = "checkpoint")]
    pub checkpoints: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Subcommand)]
pub enum IntegrityCommand {
    /// Print the public key that signs checkpoints (creating the key pair if needed).
    Key,
    /// Sign the chain's current head now and print the checkpoint (JSON) to keep elsewhere.
    Checkpoint {
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RetentionCommand {
    /// Place a legal hold: nothing is dropped until every hold is released.
    Hold {
        #[arg(long)]
        reason: String,
    },
    /// Release one hold (by id) or all of them.
    Release {
        id: Option<uuid::Uuid>,
        #[arg(long)]
        all: bool,
    },
    /// Holds, dropped days and the oldest available day.
    Status,
}

#[derive(Debug, Subcommand)]
pub enum ArchiveCommand {
    /// Re-import an archived day (events-YYYY-MM-DD.ndjson.gz) through the ingest writer;
    /// events already stored are skipped.
    Restore { file: PathBuf },
}

#[derive(Clone, Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "AUDITORIUM_ADDR", default_value = "127.0.0.1:3000")]
    pub addr: SocketAddr,
    /// Directory with the built site (WebAssembly, JS, CSS), as written by cargo-leptos.
    #[arg(long, env = "AUDITORIUM_SITE_ROOT", default_value = "target/site")]
    pub site_root: PathBuf,
    /// Seed demo data when the database holds no events yet.
    #[arg(long, env = "AUDITORIUM_DEMO")]
    pub demo: bool,
    /// A live-tail WebSocket whose client does not take a message for this long is closed
    /// with code 4408 (the client reconnects and catches up).
    #[arg(long, env = "AUDITORIUM_LIVE_SEND_TIMEOUT", default_value = "20s", value_parser = parse_duration)]
    pub live_send_timeout: Duration,
    /// A session unused this long ends (sign in again).
    #[arg(long, env = "AUDITORIUM_SESSION_IDLE", default_value = "12h", value_parser = parse_duration)]
    pub session_idle: Duration,
    /// A session ends this long after sign-in, however active.
    #[arg(long, env = "AUDITORIUM_SESSION_LIFETIME", default_value = "7d", value_parser = parse_duration)]
    pub session_lifetime: Duration,
    /// A reverse proxy whose X-Forwarded-For is believed for the client's address (repeat, or
    /// comma-separate in the variable).
    #[arg(long = "trusted-proxy", env = "AUDITORIUM_TRUSTED_PROXIES", value_delimiter = ',')]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Where export files are written (default: `exports/` in the data directory). Several
    /// instances serving one database need a directory they share.
    #[arg(long, env = "AUDITORIUM_EXPORT_DIR")]
    pub export_dir: Option<std::path::PathBuf>,
    /// How long finished export files can be downloaded before they are deleted.
    #[arg(long, env = "AUDITORIUM_EXPORT_EXPIRY", default_value = "7d", value_parser = parse_duration)]
    pub export_expiry: Duration,
    /// Alert webhooks may only be sent to these hosts (comma-separated names or addresses,
    /// `*.example.com` for subdomains); default: any host.
    #[arg(long = "webhook-allow", env = "AUDITORIUM_WEBHOOK_ALLOW", value_delimiter = ',')]
    pub webhook_allow: Vec<String>,
    /// Keep events this long (`90d`, `12w`, `1y`), dropping whole days past it; default
    /// `forever`.
    #[arg(long, env = "AUDITORIUM_RETENTION", default_value = "forever", value_parser = crate::retention::Retention::parse)]
    pub retention: crate::retention::Retention,
    /// Before retention drops a day, write it here (events-YYYY-MM-DD.ndjson.gz + manifest).
    #[arg(long, env = "AUDITORIUM_ARCHIVE_DIR")]
    pub archive_dir: Option<PathBuf>,
    /// Also append every committed event to DIR/audit.log (rotated daily).
    #[arg(long, env = "AUDITORIUM_AUDIT_FILE")]
    pub audit_file: Option<PathBuf>,
    /// A SIEM destination failing this long shows red and is audited
    /// (`auditorium.destination.failing`).
    #[arg(long, env = "AUDITORIUM_FORWARD_ALARM_AFTER", default_value = "60s", value_parser = parse_duration)]
    pub forward_alarm_after: Duration,
    /// The longest wait between two attempts to reach a failing destination.
    #[arg(long, env = "AUDITORIUM_FORWARD_MAX_BACKOFF", default_value = "60s", value_parser = parse_duration)]
    pub forward_max_backoff: Duration,
    /// How often the hash chain's head is signed.
    #[arg(long, env = "AUDITORIUM_CHECKPOINT_EVERY", default_value = "10m", value_parser = parse_duration)]
    pub checkpoint_every: Duration,
    /// Set from the global `--public-url`.
    #[arg(skip)]
    pub public_url: Option<String>,
    /// Set from the global `--data-dir` (the integrity key lives there).
    #[arg(skip)]
    pub data_dir: PathBuf,
}

impl Default for ServeArgs {
    fn default() -> Self {
        ServeArgs {
            addr: ([127, 0, 0, 1], 3000).into(),
            site_root: "target/site".into(),
            demo: false,
            live_send_timeout: Duration::from_secs(20),
            session_idle: Duration::from_secs(12 * 3600),
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            trusted_proxies: Vec::new(),
            export_dir: None,
            export_expiry: Duration::from_secs(7 * 24 * 3600),
            webhook_allow: Vec::new(),
            retention: crate::retention::Retention::Forever,
            archive_dir: None,
            audit_file: None,
            checkpoint_every: Duration::from_secs(600),
            forward_alarm_after: Duration::from_secs(60),
            forward_max_backoff: Duration::from_secs(60),
            public_url: None,
            data_dir: PathBuf::from(".data"),
        }
    }
}

impl ServeArgs {
    /// The serve settings of a bare `auditorium` (no subcommand): defaults and environment
    /// variables, exactly as `auditorium serve` would read them.
    pub fn from_env() -> Result<ServeArgs, clap::Error> {
        use clap::FromArgMatches;
        let matches = <ServeArgs as Args>::augment_args(clap::Command::new("serve")).try_get_matches_from(["serve"])?;
        ServeArgs::from_arg_matches(&matches)
    }
}

#[derive(Clone, Debug, Args)]
pub struct DemoArgs {
    /// How many events to create over the past DAYS.
    #[arg(long, default_value_t = 60_000)]
    pub events: u64,
    /// How many days back the events reach.
    #[arg(long, default_value_t = 30)]
    pub days: u32,
    /// After seeding, keep emitting a plausible trickle of new events until stopped.
    #[arg(long)]
    pub live: bool,
    /// Average events per second while --live.
    #[arg(long, default_value_t = 2.0)]
    pub rate: f64,
    /// Only seed when the database holds no events yet.
    #[arg(long)]
    pub if_empty: bool,
    /// Random seed, for reproducible data.
    #[arg(long)]
    pub seed: Option<u64>,
}

#[derive(Clone, Debug, Args)]
pub struct IngestArgs {
    /// NDJSON file: one event per line.
    pub file: PathBuf,
    /// Events per transaction.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
}

#[derive(Clone, Debug, Args)]
pub struct ExportArgs {
    /// The view, in the URL format: the query string of a page link, e.g.
    /// 'range=7d&action=user.login' (a whole link works too). Empty: the default 24 hours.
    #[arg(default_value = "")]
    pub view: String,
    /// csv, ndjson, cef or xlsx.
    #[arg(long, default_value = "csv")]
    pub format: String,
    /// CSV: start with a UTF-8 byte order mark (for spreadsheets).
    #[arg(long)]
    pub bom: bool,
    /// Write to this file instead of standard output (XLSX needs one, or a redirect).
    #[arg(long, short)]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print its secret (shown only once). Read and admin tokens carry the
    /// role and scope of their user (--user); ingest tokens belong to an application.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        scope: ScopeArg,
        /// The email of the account whose role and scope a read or admin token carries.
        #[arg(long)]
        user: Option<String>,
    },
    /// List tokens (never shows secrets).
    List,
    /// Revoke the active token with this name.
    Revoke { name: String },
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; prints a one-time link to set its password (or reads the password
    /// from standard input with --password-stdin).
    Create {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// Display name (default: the part of the email before @).
        #[arg(long)]
        name: Option<String>,
        /// A view in the URL format the member may see (repeat for several), e.g.
        /// 'context.team=machinery'.
        #[arg(long = "scope")]
        scopes: Vec<String>,
        #[arg(long)]
        password_stdin: bool,
    },
    /// List accounts.
    List,
    /// Change an account's role.
    SetRole {
        #[arg(long)]
        email: String,
        #[arg(long, value_enum)]
        role: RoleArg,
    },
    /// Replace a member's scope (repeat --scope; none to see nothing).
    SetScope {
        #[arg(long)]
        email: String,
        #[arg(long = "scope")]
        scopes: Vec<String>,
    },
    /// Disable an account: its sessions and tokens stop working at once.
    Disable {
        #[arg(long)]
        email: String,
    },
    /// Enable a disabled account again.
    Enable {
        #[arg(long)]
        email: String,
    },
    /// Print a new one-time link to set the password (older links stop working).
    ResetPassword {
        #[arg(long)]
        email: String,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Admin,
    Auditor,
    Member,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ScopeArg {
    Ingest,
    Read,
    Admin,
}

#[derive(Debug, Subcommand)]
pub enum DbCommand {
    /// Start the embedded cluster and keep it running until `db stop`; prints its URL.
    Start,
    /// Stop the embedded cluster (unless a running command still uses it).
    Stop {
        /// Stop it even if other Auditorium processes use it.
        #[arg(long)]
        force: bool,
    },
    /// Say whether the embedded cluster runs, and who uses it.
    Status,
    /// Print the connection URL of the embedded cluster (starting it if needed).
    Url,
    /// Open psql on the embedded database.
    Psql,
}

/// Parses an RFC 3339 time or a UTC day (`2026-12-04`).
pub fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let text = text.trim();
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc())
        .map_err(|_| format!("{text:?} is not a time such as 2026-12-04 or 2026-12-04T10:00:00Z"))
}

/// Parses `500ms`, `5s`, `2m`, `12h`, `7d` (surrounding spaces allowed).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    let (digits, unit) = trimmed.split_at(trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len()));
    let n: u64 = digits.parse().map_err(|_| format!("{text:?} is not a duration such as 500ms, 5s or 2m"))?;
    match unit {
        "ms" => Ok(Duration::from_millis(n)),
        "s" | "" => Ok(Duration::from_secs(n)),
        "m" => Ok(Duration::from_secs(n.saturating_mul(60))),
        "h" => Ok(Duration::from_secs(n.saturating_mul(3600))),
        "d" => Ok(Duration::from_secs(n.saturating_mul(86_400))),
        _ => Err(format!("{text:?} is not a duration such as 500ms, 5s, 2m, 12h or 7d")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert!(parse_duration("soon").is_err());
        assert_eq!(parse_duration("5 "), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration(" 2m "), Ok(Duration::from_secs(120)));
        assert!(parse_duration(" ").is_err());
        assert!(parse_duration("5 s").is_err());
        assert_eq!(parse_duration("12h"), Ok(Duration::from_secs(43_200)));
        assert_eq!(parse_duration("7d"), Ok(Duration::from_secs(604_800)));
    }

    #[test]
    fn an_empty_database_url_means_the_embedded_cluster() {
        let parse = |args: &[&str]| Cli::try_parse_from(args).expect("parses").database;
        assert_eq!(parse(&["auditorium", "--database-url", "", "migrate"]).external_url(), None);
        assert_eq!(parse(&["auditorium", "--database-url", "  ", "migrate"]).external_url(), None);
        assert_eq!(parse(&["auditorium", "--database-url", "postgres:///x", "migrate"]).external_url(), Some("postgres:///x"));
    }

    #[test]
    fn the_command_line_parses() {
        let cli = Cli::try_parse_from(["auditorium", "--data-dir", "/tmp/x", "demo", "--live"]).expect("valid");
        assert!(matches!(cli.command, Some(Command::Demo(DemoArgs { live: true, .. }))));
        let cli = Cli::try_parse_from(["auditorium"]).expect("valid");
        assert!(cli.command.is_none(), "serve is the default");
        assert!(Cli::try_parse_from(["auditorium", "token", "create", "--name", "ci", "--scope", "root"]).is_err());
        let cli = Cli::try_parse_from([
            "auditorium", "user", "create", "--email", "e@x.io", "--role", "member", "--scope", "context.team=a", "--scope", "actor.id=u1",
        ])
        .expect("the contract's user create");
        assert!(matches!(cli.command, Some(Command::User(UserCommand::Create { ref scopes, .. })) if scopes.len() == 2));
        assert!(Cli::try_parse_from(["auditorium", "token", "create", "--name", "r", "--scope", "read", "--user", "e@x.io"]).is_ok());
    }
}
