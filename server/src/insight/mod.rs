//! The overview and the histories of one resource and one actor: reading that starts from a
//! question other than "which events match this view". Every query goes through the same
//! filter-to-SQL translation, scope included (`store::filter_sql`).

pub mod history;
pub mod overview;
pub mod top;

pub use history::{actor, resource};
pub use overview::overview;
pub use top::TopCache;
