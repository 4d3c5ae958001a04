//! `auditorium token create|list|revoke`.

use sqlx::PgPool;

use crate::auth::accounts;
use crate::auth::audit::{Actor, Origin};
use crate::config::{ScopeArg, TokenCommand};
use crate::store::tokens::{self, Scope};
use crate::store::users;

pub async fn run(pool: &PgPool, command: TokenCommand) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match command {
        TokenCommand::Create { name, scope, user } => {
            let scope = match scope {
                ScopeArg::Ingest => Scope::Ingest,
                ScopeArg::Read => Scope::Read,
                ScopeArg::Admin => Scope::Admin,
            };
            let owner = match user {
                Some(email) => Some(users::by_email(pool, &email).await?.ok_or_else(|| format!("there is no account {email:?}"))?.id),
                None => None,
            };
            let (token, secret) = accounts::create_token(pool, &name, scope, owner, Actor::command_line(), Origin::default()).await?;
            let whose = token.owner_email.as_deref().map(|e| format!(", acting as {e}")).unwrap_or_default();
            eprintln!("Created token {:?} with scope {}{whose}. Its secret is shown only this once:", token.name, token.scope);
            println!("{secret}");
        }
        TokenCommand::List => {
            let all = tokens::list(pool).await?;
            println!("{:<24} {:<7} {:<28} {:<20} {:<20} {}", "NAME", "SCOPE", "OWNER", "CREATED", "LAST USED", "STATE");
            for t in all {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())
                };
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M UTC")),
                    None => "active".into(),
                };
                let owner = t.owner_email.clone().unwrap_or_else(|| "-".into());
                println!("{:<24} {:<7} {:<28} {:<20} {:<20} {state}", t.name, t.scope, owner, when(Some(t.created_at)), when(t.last_used_at));
            }
        }
        TokenCommand::Revoke { name } => {
            let active = tokens::list(pool).await?.into_iter().find(|t| t.name == name && t.revoked_at.is_none());
            let Some(token) = active else {
                return Err(format!("there is no active token named {name:?}").into());
            };
            accounts::revoke_token(pool, token.id, Actor::command_line(), Origin::default()).await?;
            println!("Revoked token {name:?}.");
        }
    }
    Ok(())
}
