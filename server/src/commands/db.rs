//! `auditorium db start|stop|status|url|psql`: the embedded cluster by hand.

use crate::config::{DatabaseArgs, DbCommand};
use crate::db::Database;
use crate::embedded_pg::{EmbeddedPostgres, LeaseKind, DATABASE};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub async fn run(args: &DatabaseArgs, command: DbCommand) -> Result<(), BoxError> {
    if args.external_url().is_some() {
        return Err("DATABASE_URL is set: the embedded cluster is not in use".into());
    }
    let data_dir = args.data_dir.clone();
    let cluster = tokio::task::spawn_blocking(move || EmbeddedPostgres::locate(&data_dir)).await??;
    match command {
        DbCommand::Start => {
            let cluster = tokio::task::spawn_blocking(move || cluster.start(LeaseKind::Pinned)).await??;
            let url = cluster.url(DATABASE);
            // Create the database and apply migrations, then keep the pinned lease.
            crate::db::ensure_database(&cluster).await?;
            let db = Database::open(&DatabaseArgs { database_url: Some(url.clone()), ..args.clone() }, 2).await?;
            db.close().await?;
            eprintln!("The embedded PostgreSQL runs until `auditorium db stop`.");
            println!("{url}");
        }
        DbCommand::Stop { force } => {
            let still_used = tokio::task::spawn_blocking(move || cluster.stop(force)).await??;
            if still_used.is_empty() {
                println!("The embedded PostgreSQL is stopped.");
            } else {
                println!("Still in use by process(es) {}; it stops when they exit (or use --force).", still_used.join(", "));
            }
        }
        DbCommand::Status => match cluster.running_pid() {
            Some(pid) => println!(
                "running (pid {pid}) in {}; users: {}",
                cluster.data_dir().display(),
                cluster.live_leases()?.join(", ")
            ),
            None => println!("not running ({})", cluster.data_dir().display()),
        },
        DbCommand::Url => match cluster.running_pid() {
            Some(_) => println!("{}", cluster.url(DATABASE)),
            None => return Err("the embedded PostgreSQL is not running (start it with `auditorium db start`)".into()),
        },
        DbCommand::Psql => {
            let db = Database::open(args, 1).await?;
            let url = db.url.clone();
            let status = tokio::process::Command::new("psql").arg(&url).status().await;
            db.close().await?;
            status.map_err(|e| format!("could not run psql ({e}); connect with: psql '{url}'"))?;
        }
    }
    Ok(())
}
