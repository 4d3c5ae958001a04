//! The filter model, its URL codec and its Rust predicate — one model for the page, the
//! API, the SQL translation and the live tail.

pub mod buckets;
pub mod codec;
pub mod columns;
#[cfg(test)]
mod codec_props;
pub mod field;
pub mod filter;
pub mod matches;
pub mod scope;
pub mod time_range;
pub mod view;

pub use codec::{decode_query, encode_query, selection_only, DecodedQuery, QueryProblem};
pub use field::{Field, FieldKind};
pub use filter::{Filter, FilterValue};
pub use matches::EventFilter;
pub use scope::{Scope, ScopeView};
pub use time_range::{Bounds, RelativeRange, TimeRange, TimeUnit};
pub use view::ViewState;
