#![recursion_limit = "256"]
//! Auditorium's server: the HTTP API, server-rendered pages, the event store and the
//! commands of the `auditorium` binary.

pub mod alerts;
pub mod api;
pub mod auditfile;
pub mod auth;
pub mod commands;
pub mod config;
pub mod db;
pub mod demo;
pub mod embedded_pg;
pub mod explore;
pub mod export;
pub mod forward;
pub mod ingest;
pub mod insight;
pub mod integrity;
pub mod keyfile;
pub mod live;
pub mod metrics;
pub mod retention;
pub mod secrets;
pub mod serve;
pub mod state;
pub mod store;
pub mod telemetry;
#[cfg(test)]
mod test_support;
pub mod web;

use config::{Cli, Command, DemoArgs, ServeArgs};
use db::Database;
use ingest::Ingestor;

pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// What commands need besides the database.
struct CliContext {
    /// Where one-time links point.
    base_url: String,
    /// Where the integrity key lives.
    data_dir: std::path::PathBuf,
}

/// `--public-url`, or the server's address from `AUDITORIUM_ADDR` (default 127.0.0.1:3000).
fn base_url(public_url: Option<&str>) -> String {
    match public_url.map(str::trim).filter(|u| !u.is_empty()) {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let addr = ServeArgs::from_env().map(|a| a.addr).unwrap_or_else(|_| ServeArgs::default().addr);
            let host = if addr.ip().is_unspecified() { format!("127.0.0.1:{}", addr.port()) } else { addr.to_string() };
            format!("http://{host}")
        }
    }
}

/// Runs one command of the `auditorium` binary.
pub async fn run(cli: Cli) -> Result<(), BoxError> {
    let Cli { database, public_url, command } = cli;
    let command = match command {
        Some(command) => command,
        None => Command::Serve(ServeArgs::from_env()?),
    };
    let context = CliContext { base_url: base_url(public_url.as_deref()), data_dir: database.data_dir.clone() };
    match command {
        Command::Serve(mut args) => {
            args.public_url = public_url;
            args.data_dir = database.data_dir.clone();
            args.export_dir.get_or_insert_with(|| database.data_dir.join("exports"));
            serve::serve(&database, args).await
        }
        Command::Db(command) => commands::db::run(&database, command).await,
        command => {
            let db = Database::open(&database, 8).await?;
            let result = run_with_database(&db, command, &context).await;
            db.close().await?;
            result
        }
    }
}

async fn run_with_database(db: &Database, command: Command, cli: &CliContext) -> Result<(), BoxError> {
    match command {
        Command::Migrate => {
            println!("Migrations are applied.");
            Ok(())
        }
        Command::Demo(args) => run_demo(db, args).await,
        Command::Ingest(args) => {
            let ingestor = Ingestor::for_command(db.pool.clone());
            let result = commands::ingest_file::run(&ingestor, &args.file, args.batch).await;
            ingestor.stop(std::time::Duration::from_secs(30)).await;
            result
        }
        Command::Export(args) => commands::export::run(&db.pool, args).await,
        Command::Token(command) => commands::token::run(&db.pool, command).await,
        Command::User(command) => commands::user::run(&db.pool, command, &cli.base_url).await,
        Command::Verify(args) => commands::verify::verify(&db.pool, &cli.data_dir, args).await,
        Command::Integrity(command) => commands::verify::integrity(&db.pool, &cli.data_dir, command).await,
        Command::Retention(command) => commands::retention::retention(&db.owner, command).await,
        Command::Archive(command) => commands::retention::archive(&db.pool, command).await,
        Command::Serve(_) | Command::Db(_) => Ok(()),
    }
}

async fn run_demo(db: &Database, args: DemoArgs) -> Result<(), BoxError> {
    let ingestor = Ingestor::for_command(db.pool.clone());
    let result = demo_with(db, &ingestor, args).await;
    ingestor.stop(std::time::Duration::from_secs(30)).await;
    result
}

async fn demo_with(db: &Database, ingestor: &Ingestor, args: DemoArgs) -> Result<(), BoxError> {
    let seed = args.seed.unwrap_or_else(rand::random);
    if args.if_empty && !store::is_empty(&db.pool).await? {
        println!("The database already holds events; no demo data added.");
    } else if args.events > 0 {
        let stored = demo::seed(ingestor, args.events, args.days, seed).await?;
        println!("Stored {stored} demo events over the last {} days.", args.days);
    }
    if args.live {
        println!("Emitting about {} events per second; stop with Ctrl-C.", args.rate);
        tokio::select! {
            result = demo::live(ingestor, args.rate, seed) => result?,
            () = serve::shutdown_signal() => println!("Stopped."),
        }
    }
    Ok(())
}
