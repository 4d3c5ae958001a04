//! Auditorium's shared crate: the event and filter model with its URL codec (used by the
//! browser and the server), the API's JSON shapes, and the Leptos UI.

pub mod api;
pub mod event;
pub mod query;

mod components;
mod pages;

pub use pages::{shell, App};
