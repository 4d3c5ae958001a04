//! The demo cast: the people, tokens, system actors and services that appear in the log.

use rand::rngs::StdRng;
use rand::Rng;

use super::catalog::*;

/// A person, token or program that does things.
#[derive(Clone, Debug)]
pub(super) struct ActorProfile {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) email: Option<String>,
    pub(super) kind: &'static str,
    pub(super) source: &'static str,
    pub(super) user_agent: String,
    pub(super) ip: String,
    /// Admins do more writes and org-level changes.
    pub(super) admin: bool,
}

/// Everyone who appears in the demo log.
pub(super) fn cast(rng: &mut StdRng) -> Vec<ActorProfile> {
    let mut actors = Vec::new();
    for (i, (name, handle)) in USERS.iter().enumerate() {
        let cli = rng.random::<f64>() < 0.3;
        actors.push(ActorProfile {
            id: format!("usr_{handle}"),
            name: name.to_string(),
            email: Some(format!("{handle}@acme.io")),
            kind: "user",
            source: if cli { "cli" } else { "dashboard" },
            user_agent: if cli { CLI_AGENTS[i % CLI_AGENTS.len()] } else { BROWSERS[i % BROWSERS.len()] }.to_string(),
            ip: if i % 7 == 3 { format!("2001:db8:85a3::{:x}", 0x100 + i) } else { format!("{}.{}", if i % 3 == 0 { "198.51.100" } else { "203.0.113" }, 10 + i * 5) },
            admin: i < 6,
        });
    }
    for (i, (name, agent)) in TOKENS.iter().enumerate() {
        actors.push(ActorProfile {
            id: format!("tok_{name}"),
            name: name.to_string(),
            email: None,
            kind: "api_token",
            source: "api",
            user_agent: agent.to_string(),
            ip: format!("192.0.2.{}", 20 + i * 3),
            admin: false,
        });
    }
    for (list, kind, prefix) in [(SYSTEM_ACTORS, "system", "sys"), (SERVICES, "service", "svc")] {
        for (i, name) in list.iter().enumerate() {
            actors.push(ActorProfile {
                id: format!("{prefix}_{name}"),
                name: name.to_string(),
                email: None,
                kind,
                source: "system",
                user_agent: format!("{name}/1.0"),
                ip: format!("10.0.{}.{}", if kind == "system" { 1 } else { 2 }, 10 + i),
                admin: false,
            });
        }
    }
    actors
}
