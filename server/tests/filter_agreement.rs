//! Property: for random events and random views, PostgreSQL (filter_sql, counts) selects and
//! counts exactly the events `EventFilter::matches` selects.

mod common;

use common::random::*;

use std::collections::BTreeSet;

use app::event::Event;
use app::query::{EventFilter, Field, FilterValue, ViewState};
use chrono::{DateTime, Duration, Utc};
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde_json::{json, Value};
use server::store::counts::{count_buckets, is_counted};
use server::store::filter_sql::push_conditions;
use server::store::rows::{EventRow, EVENT_COLUMNS};
use sqlx::{PgPool, QueryBuilder};

async fn stored_events(pool: &PgPool) -> Vec<Event> {
    let rows: Vec<EventRow> = sqlx::query_as(&format!("SELECT {EVENT_COLUMNS} FROM events e")).fetch_all(pool).await.expect("events");
    rows.into_iter().map(Event::from).collect()
}

async fn sql_ids(pool: &PgPool, filter: &EventFilter) -> BTreeSet<uuid::Uuid> {
    let mut qb = QueryBuilder::new("SELECT e.id FROM events e WHERE true");
    push_conditions(&mut qb, filter);
    qb.build_query_scalar().fetch_all(pool).await.expect("query").into_iter().collect()
}

/// 600 random events stored through the ingest path (seed from `AGREEMENT_SEED` to replay a
/// failure), the generator to draw views from, and the events as stored.
async fn random_store(pool: &PgPool) -> (u64, StdRng, Vec<Event>) {
    let seed: u64 = std::env::var("AGREEMENT_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or_else(rand::random);
    let mut rng = StdRng::seed_from_u64(seed);
    let values: Vec<Value> = (0..600).map(|_| random_event(&mut rng)).collect();
    let ingestor = server::ingest::Ingestor::for_command(pool.clone());
    for batch in values.chunks(200) {
        server::ingest::ingest(&ingestor, batch).await.expect("ingest");
    }
    (seed, rng, stored_events(pool).await)
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn sql_and_rust_select_and_count_the_same_events(pool: PgPool) {
    let (seed, mut rng, events) = random_store(&pool).await;
    assert_eq!(events.len(), 600);

    let now = start() + Duration::hours(12);
    let (mut nonempty, mut counted) = (0, 0);
    for case in 0..400 {
        let view = random_view(&mut rng);
        let filter = EventFilter::for_window(&view, now);
        let expected: BTreeSet<uuid::Uuid> = events.iter().filter(|e| filter.matches(e)).map(|e| e.id).collect();
        let actual = sql_ids(&pool, &filter).await;
        assert_eq!(actual, expected, "seed {seed} case {case}: {}", app::query::encode_query(&view));
        nonempty += usize::from(!expected.is_empty());
        counted += usize::from(is_counted(&filter));

        // Counting (per-minute counts + ragged edges, or events) agrees too, per bucket.
        let (from, to) = (filter.from.expect("from"), filter.to.expect("to"));
        // Aligned buckets around a ragged [from, to), as the histogram uses them; widths of 10
        // minutes (per-minute counts usable) and 1 or 3 hours (hourly label counts usable too).
        let width = pick(&mut rng, &[600i64, 3600, 10_800]);
        let mut bounds = vec![DateTime::from_timestamp(from.timestamp() / width * width, 0).expect("t")];
        while *bounds.last().expect("bound") < to {
            let next = *bounds.last().expect("bound") + Duration::seconds(width);
            bounds.push(next);
        }
        let counts = count_buckets(&mut *pool.acquire().await.expect("connection"), &filter, &bounds).await.expect("counts");
        for (i, pair) in counts.iter().enumerate() {
            let in_bucket = |e: &&Event| filter.matches(e) && bounds[i] <= e.occurred_at && e.occurred_at < bounds[i + 1];
            let failures = events.iter().filter(in_bucket).filter(|e| e.outcome == app::event::Outcome::Failure).count() as u64;
            let all = events.iter().filter(in_bucket).count() as u64;
            assert_eq!(*pair, [all - failures, failures], "seed {seed} case {case} bucket {i}: {}", app::query::encode_query(&view));
        }
    }
    assert!(nonempty > 100, "the random views must often select something ({nonempty}/400)");
    assert!(counted > 50, "the per-minute counts must be exercised ({counted}/400)");
}

/// Lower-casing is not always letter by letter: a prefix ending in Σ lower-cases to a final
/// sigma (ς) that the full name does not contain. Filters must still find the event.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn prefixes_ending_in_a_capital_sigma_still_match(pool: PgPool) {
    let event = json!({ "action": "user.login", "actor": { "id": "u", "name": "ΟΔΥΣΣΕΥΣ", "type": "user" } });
    server::ingest::ingest(&server::ingest::Ingestor::for_command(pool.clone()), &[event]).await.expect("ingest");
    let events = stored_events(&pool).await;
    for prefix in ["ΟΔΥΣ", "ΟΔΥΣΣ", "ΟΔΥΣΣΕΥΣ"] {
        for value in [FilterValue::Prefix(prefix.into()), FilterValue::Exact(prefix.into())] {
            let view = ViewState::default().with_filter_values(Field::ActorName, false, [value.clone()]);
            let filter = EventFilter::from_view(&view, Utc::now());
            let expected: BTreeSet<uuid::Uuid> = events.iter().filter(|e| filter.matches(e)).map(|e| e.id).collect();
            assert_eq!(sql_ids(&pool, &EventFilter { from: None, ..filter }).await, expected, "{value:?}");
        }
    }
}

/// With a sample of stored texts, a search whose term has common trigrams looks up only a rare
/// part of it in the trigram index and checks the whole term on each row: the events found
/// must still be exactly those the term matches (`user1234@acme.io` must not find
/// `user1234@acme.org`, nor `user1234@acme.io` an event without it).
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn searches_narrowed_by_the_trigram_sample_find_exactly_the_matching_events(pool: PgPool) {
    let values: Vec<Value> = (1000..1400)
        .map(|i| {
            let domain = if i % 7 == 0 { "acme.org" } else { "acme.io" };
            json!({
                "occurred_at": (start() + Duration::seconds(i - 1000)).to_rfc3339(),
                "action": "user.login",
                "actor": { "id": format!("u{i}"), "name": format!("User {i}"), "email": format!("user{i}@{domain}"), "type": "user" },
            })
        })
        .collect();
    server::ingest::ingest(&server::ingest::Ingestor::for_command(pool.clone()), &values).await.expect("ingest");
    assert_eq!(server::store::trigrams::refresh(&pool).await.expect("sample"), 400);
    let sample = server::store::trigrams::current().expect("a sample");
    let needle = sample.index_needle("user1234@acme.io");
    assert!(needle.len() < "user1234@acme.io".len() && "user1234@acme.io".contains(needle), "looked up {needle:?}");

    let events = stored_events(&pool).await;
    let searches =
        ["user1234@acme.io", "USER1234@ACME.ORG", "user1239@", "r1234", "user 13", "acme.io", "user1399@acme.io", "user1234@acme.iox"];
    for term in searches {
        let view = ViewState::default().with_search(term);
        let filter = EventFilter { from: None, ..EventFilter::from_view(&view, Utc::now()) };
        let expected: BTreeSet<uuid::Uuid> = events.iter().filter(|e| filter.matches(e)).map(|e| e.id).collect();
        assert_eq!(sql_ids(&pool, &filter).await, expected, "q={term}");
    }
    for email in ["user1234@acme.io", "user1232@acme.org", "user1234@acme.org"] {
        let view = ViewState::default().with_filter_values(Field::ActorEmail, false, [FilterValue::Exact(email.into())]);
        let filter = EventFilter { from: None, ..EventFilter::from_view(&view, Utc::now()) };
        let expected: Vec<uuid::Uuid> = events.iter().filter(|e| filter.matches(e)).map(|e| e.id).collect();
        assert_eq!(sql_ids(&pool, &filter).await, expected.iter().copied().collect(), "{email}");
        assert_eq!(expected.len(), usize::from(email != "user1234@acme.org"), "{email}");
    }
}

/// Facet values (autocomplete, the field sidebar) count exactly the events the list selects,
/// for random views with ragged time bounds: whole minutes or hours from the counts tables,
/// the edges from the events, and without a usable count, the events themselves.
#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn facet_values_count_exactly_the_events_the_list_selects(pool: PgPool) {
    let (seed, mut rng, events) = random_store(&pool).await;
    let now = start() + Duration::hours(12);
    let fields = [
        Field::Action, Field::Source, Field::Status, Field::Method, Field::Outcome, Field::ActorType, Field::ActorName,
        Field::Context("cluster".into()), Field::Context("team.name".into()),
    ];
    let mut counted = 0;
    for case in 0..200 {
        let view = random_view(&mut rng);
        let field = pick(&mut rng, &fields);
        let query = app::query::encode_query(&view);
        let answer = server::explore::field_values(&pool, &field.key(), &query, now, &app::query::Scope::All).await.expect("values");
        assert!(answer.exact, "seed {seed} case {case}: 600 events are always tallied exactly");
        let filter = EventFilter::for_window(&view, now).without_field(&field);
        counted += usize::from(is_counted(&filter));
        let mut truth: std::collections::BTreeMap<String, u64> = Default::default();
        for value in events.iter().filter(|e| filter.matches(e)).filter_map(|e| field.value_of(e)) {
            *truth.entry(value).or_default() += 1;
        }
        let mut expected: Vec<(String, u64)> = truth.into_iter().collect();
        expected.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        expected.truncate(20);
        let actual: Vec<(String, u64)> = answer.values.into_iter().map(|v| (v.value, v.count)).collect();
        assert_eq!(actual, expected, "seed {seed} case {case}: {} values of {query}", field.key());
    }
    assert!(counted > 40, "the counts tables must be exercised ({counted}/200)");
}
