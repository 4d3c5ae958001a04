//! Least privilege: the server's requests run as a role of their own that may only read and
//! append events. Migrations, partition upkeep and retention run as the owner (the role in
//! `DATABASE_URL`, or the embedded cluster's superuser), on connections of their own.
//!
//! The role is `<database>_app`, created by the owner at start-up with a random password kept
//! in a table only the owner can read (so every instance uses the same one). Its rights are
//! granted again at every start: everything on the application's own tables, but only
//! `SELECT` and `INSERT` on `events` and only `SELECT` on the tables derived from it (the
//! insert trigger writes those with its owner's rights). So a bug or an injected query in a
//! request cannot update or delete an event, disable a trigger, drop or detach a partition,
//! or edit the positions, counts or the hash chain.

use rand::RngCore;
use sqlx::postgres::PgConnectOptions;
use sqlx::PgPool;

/// Tables the server's role may read but not write.
const READ_ONLY: &[&str] = &[
    "event_positions",
    "event_counts",
    "event_counts_hourly",
    "event_label_counts",
    "event_counts_daily",
    "context_keys",
    "event_chain",
    "chain_retired",
    "retention_holds",
    "retention_drops",
    "event_sequence",
    "_sqlx_migrations",
];
/// Tables the server's role may read and append to.
const APPEND_ONLY: &[&str] = &["events", "integrity_checkpoints"];
/// Tables the server's role may not touch at all.
const OWNER_ONLY: &[&str] = &["app_role"];

/// Creates (once) and grants the server's role; returns the options to connect as it, or
/// `None` when the owner may not create roles (the server then runs as the owner, which is
/// logged as a warning).
pub async fn app_role(owner: &PgPool) -> Result<Option<PgConnectOptions>, sqlx::Error> {
    let database: String = sqlx::query_scalar("SELECT current_database()").fetch_one(owner).await?;
    let role = role_name(&database);
    let mut tx = owner.begin().await?;
    // One instance at a time creates the role and sets its password.
    sqlx::query("SELECT pg_advisory_xact_lock(hashtext('auditorium.app_role'))").execute(&mut *tx).await?;
    let stored: Option<String> = sqlx::query_scalar("SELECT password FROM app_role WHERE name = $1").bind(&role).fetch_optional(&mut *tx).await?;
    let exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)").bind(&role).fetch_one(&mut *tx).await?;
    let password = match (stored, exists) {
        (Some(password), true) => password,
        (stored, exists) => {
            let password = stored.unwrap_or_else(random_password);
            let verb = if exists { "ALTER" } else { "CREATE" };
            // Identifiers and the password are ours (database name quoted, password hex).
            let created = sqlx::query(&format!("{verb} ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS PASSWORD '{password}'", quote(&role)))
                .execute(&mut *tx)
                .await;
            match created {
                Ok(_) => {}
                Err(e) if e.as_database_error().and_then(|d| d.code()).is_some_and(|c| c == "42501") => {
                    tracing::warn!(role = %role, "the database user may not create roles: the server runs with the owner's rights (grant CREATEROLE once, or create the role {role} yourself, for least privilege)");
                    return Ok(None);
                }
                Err(e) => return Err(e),
            }
            sqlx::query("INSERT INTO app_role (name, password) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET password = EXCLUDED.password")
                .bind(&role)
                .bind(&password)
                .execute(&mut *tx)
                .await?;
            password
        }
    };
    for statement in grants(&database, &role) {
        sqlx::query(&statement).execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(Some(owner.connect_options().as_ref().clone().username(&role).password(&password)))
}

/// The GRANT/REVOKE statements, in order.
fn grants(database: &str, role: &str) -> Vec<String> {
    let role = quote(role);
    let mut statements = vec![
        format!("GRANT CONNECT ON DATABASE {} TO {role}", quote(database)),
        format!("GRANT USAGE ON SCHEMA public TO {role}"),
        format!("REVOKE ALL ON ALL TABLES IN SCHEMA public FROM {role}"),
        format!("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {role}"),
        format!("GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"),
    ];
    for table in READ_ONLY.iter().chain(APPEND_ONLY).chain(OWNER_ONLY) {
        statements.push(format!("REVOKE ALL ON {table} FROM {role}"));
    }
    for table in READ_ONLY {
        statements.push(format!("GRANT SELECT ON {table} TO {role}"));
    }
    for table in APPEND_ONLY {
        statements.push(format!("GRANT SELECT, INSERT ON {table} TO {role}"));
    }
    statements
}

/// `<database>_app`, or for a database name too long for that (PostgreSQL cuts names at 63
/// bytes) `app_` and a hash of it.
fn role_name(database: &str) -> String {
    let name = format!("{database}_app");
    if name.len() <= 63 {
        return name;
    }
    use sha2::Digest;
    let hash = sha2::Sha256::digest(database.as_bytes());
    format!("app_{}", hash[..12].iter().map(|b| format!("{b:02x}")).collect::<String>())
}

fn quote(identifier: &str) -> String {
    format!("\"{}\"", identifier.replace('"', "\"\""))
}

fn random_password() -> String {
    let mut bytes = [0u8; 24];
    rand::rng().fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_tables_are_never_granted_more_than_read_and_append() {
        let statements = grants("auditorium", "auditorium_app");
        let all = statements.iter().position(|s| s.starts_with("GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES")).expect("broad grant");
        for table in ["events", "event_positions", "event_chain", "event_counts", "event_sequence"] {
            let revoke = statements.iter().position(|s| *s == format!("REVOKE ALL ON {table} FROM \"auditorium_app\"")).expect(table);
            assert!(revoke > all, "{table}: revoked after the broad grant");
            assert!(!statements[revoke..].iter().any(|s| s.contains(&format!(" ON {table} ")) && (s.contains("UPDATE") || s.contains("DELETE"))), "{table}");
        }
        assert_eq!(quote("a\"b"), "\"a\"\"b\"");
        assert_eq!(role_name("auditorium"), "auditorium_app");
        let long = role_name(&"x".repeat(63));
        assert!(long.len() <= 63 && long.starts_with("app_") && long != role_name(&"y".repeat(63)));
    }
}
