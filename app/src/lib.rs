#![recursion_limit = "256"]
//! Auditorium's shared crate: the event and filter model with its URL codec (used by the
//! browser and the server), the API's JSON shapes, and the Leptos UI.

pub mod accounts;
pub mod alerts;
pub mod api;
pub mod browser;
pub mod chart_math;
pub mod client;
pub mod destinations;
pub mod event;
pub mod exports;
pub mod format;
pub mod insight;
pub mod live;
pub mod page_state;
#[cfg(feature = "hydrate")]
mod live_socket;
pub mod query;
pub mod reveal;
pub mod rows;
pub mod sso;
pub mod zone;

mod components;
mod pages;

pub use pages::{shell, App};
#[cfg(feature = "ssr")]
pub use pages::CspNonce;
