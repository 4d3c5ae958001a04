//! Alerts: rules (a view in the URL format + "at least N within W", optionally per value of a
//! field), evaluated on the stream of committed events by one instance at a time, firing once
//! per crossing into the notification list and to a signed webhook. See docs/architecture.md
//! ("Alerts") and docs/api.md.

pub mod evaluator;
pub mod rules;
pub mod webhook;
pub mod window;
