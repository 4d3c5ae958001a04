//! `auditorium token create|list|revoke`.

use sqlx::PgPool;

use crate::config::{ScopeArg, TokenCommand};
use crate::store::tokens::{self, Scope};

pub async fn run(pool: &PgPool, command: TokenCommand) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    match command {
        TokenCommand::Create { name, scope } => {
            let scope = match scope {
                ScopeArg::Ingest => Scope::Ingest,
                ScopeArg::Read => Scope::Read,
                ScopeArg::Admin => Scope::Admin,
            };
            let (token, secret) = tokens::create(pool, &name, scope).await?;
            eprintln!("Created token {:?} with scope {}. Its secret is shown only this once:", token.name, token.scope);
            println!("{secret}");
        }
        TokenCommand::List => {
            let all = tokens::list(pool).await?;
            println!("{:<24} {:<7} {:<20} {:<20} {}", "NAME", "SCOPE", "CREATED", "LAST USED", "STATE");
            for t in all {
                let when = |t: Option<chrono::DateTime<chrono::Utc>>| {
                    t.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "never".into())
                };
                let state = match t.revoked_at {
                    Some(at) => format!("revoked {}", at.format("%Y-%m-%d %H:%M UTC")),
                    None => "active".into(),
                };
                println!("{:<24} {:<7} {:<20} {:<20} {state}", t.name, t.scope, when(Some(t.created_at)), when(t.last_used_at));
            }
        }
        TokenCommand::Revoke { name } => {
            if tokens::revoke(pool, &name).await? {
                println!("Revoked token {name:?}.");
            } else {
                return Err(format!("there is no active token named {name:?}").into());
            }
        }
    }
    Ok(())
}
