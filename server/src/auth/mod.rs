//! Who is asking and what they may do: accounts, sign-in, sessions, tokens, roles and scopes,
//! the browser protections around them, and Auditorium's audit of itself. See
//! docs/security.md.

pub mod access;
pub mod accounts;
pub mod audit;
mod cache;
pub mod guard;
pub mod password;
pub mod principal;
pub mod session;
pub mod sign_in;
pub mod sso;

pub use access::{Access, AdminAccess, Authenticated, IngestAccess, MetricsAccess, ReadAccess};
pub use cache::{Authenticator, SessionLimits};
pub use principal::{Credential, Need, Principal};
