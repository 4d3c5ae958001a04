//! Who is asking: resolving credentials to what they may do, once per request.

mod cache;

pub use cache::TokenCache;
