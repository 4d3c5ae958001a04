//! Property tests of the URL codec: any view survives encode → decode exactly, and encoding
//! is canonical.

use chrono::DateTime;
use proptest::prelude::*;
use uuid::Uuid;

use super::codec::{decode_query, encode_query};
use super::field::Field;
use super::filter::FilterValue;
use super::time_range::{RelativeRange, TimeRange, TimeUnit};
use super::view::ViewState;

/// Text full of the characters that break naive URL handling.
fn nasty_text() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just(",".to_string()), Just("\\".to_string()), Just("*".to_string()), Just("=".to_string()),
            Just("&".to_string()), Just("#".to_string()), Just("%".to_string()), Just("+".to_string()),
            Just("\"".to_string()), Just("'".to_string()), Just(" ".to_string()), Just("?".to_string()),
            Just("🚀".to_string()), Just("ü".to_string()), Just("日本".to_string()), Just("%20".to_string()),
            Just("!".to_string()), Just("\n".to_string()), "[a-z0-9._/-]{1,6}".prop_map(String::from),
            // Any character but NUL, which no stored text can hold (the codec refuses it).
            any::<char>().prop_filter("not NUL", |c| *c != '\0').prop_map(|c| c.to_string()),
        ],
        1..8,
    )
    .prop_map(|parts| parts.concat())
}

fn field() -> impl Strategy<Value = Field> {
    prop_oneof![
        prop::sample::select(Field::FIXED.to_vec()),
        "[a-z][a-z0-9_.-]{0,10}".prop_map(Field::Context),
    ]
}

fn value_for(field: &Field) -> BoxedStrategy<FilterValue> {
    match field {
        Field::Status => prop_oneof![
            (100u16..600).prop_map(|c| FilterValue::Exact(c.to_string())),
            (1u8..=5).prop_map(FilterValue::StatusClass),
        ]
        .boxed(),
        Field::Method => "[A-Z]{1,8}".prop_map(FilterValue::Exact).boxed(),
        Field::Outcome | Field::ActorType => {
            prop::sample::select(field.known_values()).prop_map(|v| FilterValue::Exact(v.to_string())).boxed()
        }
        _ => prop_oneof![
            nasty_text().prop_map(FilterValue::Exact),
            prop_oneof![Just(String::new()), nasty_text()].prop_map(FilterValue::Prefix),
        ]
        .boxed(),
    }
}

fn filter() -> impl Strategy<Value = (Field, bool, Vec<FilterValue>)> {
    (field(), any::<bool>()).prop_flat_map(|(f, negated)| {
        let values = prop::collection::vec(value_for(&f), 1..4);
        (Just(f), Just(negated), values)
    })
}

fn range() -> impl Strategy<Value = TimeRange> {
    let units = prop::sample::select(vec![TimeUnit::Second, TimeUnit::Minute, TimeUnit::Hour, TimeUnit::Day, TimeUnit::Week]);
    prop_oneof![
        (1u32..500, units).prop_map(|(n, u)| TimeRange::Relative(RelativeRange::new(n, u))),
        (946_684_800_000i64..4_102_444_800_000, 1i64..10_000_000_000, any::<bool>()).prop_map(|(from, len, open)| {
            let from = DateTime::from_timestamp_millis(from).unwrap_or_default();
            let to = DateTime::from_timestamp_millis(from.timestamp_millis() + len).unwrap_or_default();
            TimeRange::Absolute { from, to: (!open).then_some(to) }
        }),
    ]
}

fn column_choices() -> Vec<Field> {
    let mut fields = Field::FIXED.to_vec();
    fields.extend(["team", "cluster.name", "a-b_c"].map(|k| Field::Context(k.into())));
    fields
}

fn view() -> impl Strategy<Value = ViewState> {
    (
        range(),
        prop::collection::vec(filter(), 0..5),
        // A search is one line (see decode_query).
        prop::option::of(nasty_text().prop_map(|s| s.replace(crate::event::SEARCH_SEPARATOR, " "))),
        prop::option::of("[A-Za-z0-9_-]{1,40}"),
        1u32..=500,
        any::<bool>(),
        prop::option::of(any::<u128>().prop_map(Uuid::from_u128)),
        prop::option::of(prop::sample::subsequence(column_choices(), 1..6)),
        prop::option::of(prop::collection::vec(48u16..=960, 0..4)),
    )
        .prop_map(|(range, filters, search, cursor, limit, live, event, columns, widths)| {
            let widths = widths.map(|w| column_choices().into_iter().zip(w).collect());
            let mut view = ViewState::default().with_range(range).with_limit(limit).with_live(live).with_event(event).with_columns(columns).with_widths(widths);
            for (field, negated, values) in filters {
                view = view.with_filter_values(field, negated, values);
            }
            view.search = search;
            view.with_cursor(cursor)
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn decode_inverts_encode(view in view()) {
        let encoded = encode_query(&view);
        let decoded = decode_query(&encoded, &[]);
        prop_assert!(decoded.problems.is_empty(), "{encoded} -> {:?}", decoded.problems);
        prop_assert_eq!(&decoded.view, &view, "via {}", encoded);
    }

    #[test]
    fn encoding_is_canonical(view in view()) {
        let once = encode_query(&view);
        let twice = encode_query(&decode_query(&once, &[]).view);
        prop_assert_eq!(&once, &twice);
        // The same filters added in reverse order encode identically.
        let mut reversed = ViewState::default().with_range(view.range).with_limit(view.limit).with_live(view.live).with_event(view.event).with_columns(view.columns.clone()).with_widths(view.widths.clone());
        for f in view.filters().iter().rev() {
            let values: Vec<FilterValue> = f.values().iter().rev().cloned().collect();
            reversed = reversed.with_filter_values(f.field.clone(), f.negated, values);
        }
        reversed.search = view.search.clone();
        let reversed = reversed.with_cursor(view.cursor.clone());
        prop_assert_eq!(encode_query(&reversed), once);
    }

    #[test]
    fn decoding_anything_never_panics(query in ".{0,200}") {
        let _ = decode_query(&query, &["prefix"]);
    }

    #[test]
    fn nothing_unsafe_reaches_the_url(view in view()) {
        let encoded = encode_query(&view);
        prop_assert!(!encoded.chars().any(|c| c.is_whitespace() || matches!(c, '#' | '"' | '<' | '>' | '\\' | '+')), "{}", encoded);
    }
}
