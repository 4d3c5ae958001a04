//! `auditorium user create|list|set-role|set-scope|disable|enable|reset-password`, and what a
//! fresh install does when nobody can sign in yet.

use std::io::Read;

use sqlx::PgPool;

use crate::auth::accounts::{self, UserChange};
use crate::auth::audit::{Actor, Origin};
use crate::auth::password;
use crate::config::{RoleArg, UserCommand};
use crate::store::users::{self, Role, UserRow};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pub fn role(arg: RoleArg) -> Role {
    match arg {
        RoleArg::Admin => Role::Admin,
        RoleArg::Auditor => Role::Auditor,
        RoleArg::Member => Role::Member,
    }
}

async fn find(pool: &PgPool, email: &str) -> Result<UserRow, BoxError> {
    users::by_email(pool, email).await?.ok_or_else(|| format!("there is no account {email:?} (see `auditorium user list`)").into())
}

async fn change(pool: &PgPool, user: &UserRow, change: UserChange) -> Result<UserRow, accounts::AccountError> {
    accounts::change_user(pool, user.id, change, Actor::command_line(), Origin::default()).await
}

pub async fn run(pool: &PgPool, command: UserCommand, base_url: &str) -> Result<(), BoxError> {
    match command {
        UserCommand::Create { email, role: r, name, scopes, password_stdin } => {
            let password = if password_stdin {
                let mut text = String::new();
                std::io::stdin().read_to_string(&mut text)?;
                Some(text.trim_end_matches(['\n', '\r']).to_string())
            } else {
                None
            };
            let (user, link) = accounts::create_user(pool, &email, name.as_deref(), role(r), &scopes, password, Actor::command_line(), Origin::default()).await?;
            eprintln!("Created {} ({}) as {}.", user.display_name, user.email, user.role);
            if let Some(token) = link {
                eprintln!("Send them this one-time link to choose a password (valid for 7 days):");
                println!("{}", accounts::link_url(base_url, &token));
            }
        }
        UserCommand::List => {
            println!("{:<32} {:<24} {:<8} {:<9} {:<17} SCOPE", "EMAIL", "NAME", "ROLE", "STATE", "LAST SIGN-IN");
            for u in users::list(pool).await? {
                let state = match (u.disabled_at, u.has_password()) {
                    (Some(_), _) => "disabled",
                    (None, false) => "invited",
                    (None, true) => "active",
                };
                let last = u.last_sign_in_at.map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_else(|| "never".into());
                let scope = if u.role == "member" { u.scopes.join(" | ") } else { "everything".into() };
                println!("{:<32} {:<24} {:<8} {:<9} {:<17} {scope}", u.email, u.display_name, u.role, state, last);
            }
        }
        UserCommand::SetRole { email, role: r } => {
            let user = find(pool, &email).await?;
            let updated = change(pool, &user, UserChange { role: Some(role(r)), ..Default::default() }).await?;
            println!("{} is now {}.", updated.email, updated.role);
        }
        UserCommand::SetScope { email, scopes } => {
            let user = find(pool, &email).await?;
            let updated = change(pool, &user, UserChange { scopes: Some(scopes), ..Default::default() }).await?;
            println!("{} sees: {}", updated.email, if updated.scopes.is_empty() { "nothing".into() } else { updated.scopes.join(" | ") });
        }
        UserCommand::Disable { email } => {
            let user = find(pool, &email).await?;
            change(pool, &user, UserChange { disabled: Some(true), ..Default::default() }).await?;
            println!("{email} is disabled: their sessions and tokens no longer work.");
        }
        UserCommand::Enable { email } => {
            let user = find(pool, &email).await?;
            change(pool, &user, UserChange { disabled: Some(false), ..Default::default() }).await?;
            println!("{email} is enabled again.");
        }
        UserCommand::ResetPassword { email } => {
            let user = find(pool, &email).await?;
            let (_, token) = accounts::password_link(pool, user.id, Actor::command_line(), Origin::default()).await?;
            eprintln!("A one-time link for {} to choose a new password (valid for 7 days; older links no longer work):", user.email);
            println!("{}", accounts::link_url(base_url, &token));
        }
    }
    Ok(())
}

/// The account a fresh install starts with.
pub const FIRST_ADMIN: &str = "admin@auditorium.local";

/// When nobody can sign in yet: with demo data, an admin with a generated password, printed
/// plainly; otherwise an admin without a password and a one-time link to choose one, printed
/// in the log. Does nothing once any account exists.
pub async fn first_run(pool: &PgPool, base_url: &str, demo: bool) -> Result<(), BoxError> {
    if users::count(pool).await? > 0 {
        return Ok(());
    }
    let actor = Actor::system();
    if demo {
        let (secret, _) = crate::auth::session::new_secret();
        let password: String = secret.chars().take(16).collect();
        password::check_new(&password)?;
        let created = accounts::create_user(pool, FIRST_ADMIN, Some("Demo admin"), Role::Admin, &[], Some(password.clone()), actor, Origin::default()).await;
        if created.is_ok() {
            println!("\n  Demo admin account: sign in at {base_url} with\n    email:    {FIRST_ADMIN}\n    password: {password}\n");
        }
    } else {
        let created = accounts::create_user(pool, FIRST_ADMIN, Some("Administrator"), Role::Admin, &[], None, actor, Origin::default()).await;
        if let Ok((_, Some(token))) = created {
            let link = accounts::link_url(base_url, &token);
            tracing::warn!("no accounts yet: open the one-time setup link to choose the password of {FIRST_ADMIN}");
            println!("\n  No accounts yet. Finish setting up: open\n    {link}\n  to choose the password of the first admin ({FIRST_ADMIN}).\n");
        }
    }
    Ok(())
}
