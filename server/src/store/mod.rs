//! Everything that reads or writes PostgreSQL.

pub mod counts;
pub mod exports;
pub mod filter_sql;
pub mod links;
pub mod live;
pub mod outbox;
pub mod page;
pub mod partitions;
pub mod rows;
pub mod sessions;
pub mod tokens;
pub mod trigrams;
pub mod users;
pub mod write;

/// Whether the store holds any event at all.
pub async fn is_empty(pool: &sqlx::PgPool) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar("SELECT NOT EXISTS (SELECT 1 FROM event_positions)").fetch_one(pool).await
}
