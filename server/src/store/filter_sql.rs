//! The one place that turns an `EventFilter` — a view within someone's scope — into SQL. Every value is a bound parameter;
//! only column names (from a fixed list) are written into the text.
//!
//! The translation must agree with `EventFilter::matches` (app/src/query/matches.rs) on every
//! event; `server/tests/filter_agreement.rs` checks that with random events and filters.

use app::query::{EventFilter, Field, Filter, FilterValue, Scope, ScopeView};
use sqlx::{Postgres, QueryBuilder};

/// Appends ` AND <condition>` for every part of `filter`, on the events alias `e`.
pub fn push_conditions(qb: &mut QueryBuilder<'_, Postgres>, filter: &EventFilter) {
    if let Some(from) = filter.from {
        qb.push(" AND e.occurred_at >= ").push_bind(from);
    }
    if let Some(to) = filter.to {
        qb.push(" AND e.occurred_at < ").push_bind(to);
    }
    for f in &filter.filters {
        push_filter(qb, On::Events, f);
        push_implied_search(qb, f);
    }
    if let Some(term) = &filter.search {
        push_search(qb, term);
    }
    push_scope(qb, &filter.scope);
}

/// `AND (the event is inside the scope)`: the one place where what someone may see becomes
/// SQL. One view is plain conditions (the planner uses the same indexes as for a view's own
/// filters); several are `(false OR (view 1) OR (view 2) ...)`; none is `false`.
fn push_scope(qb: &mut QueryBuilder<'_, Postgres>, scope: &Scope) {
    let Scope::AnyOf(views) = scope else { return };
    match views.as_slice() {
        [] => {
            qb.push(" AND false");
        }
        [one] => push_view(qb, one),
        many => {
            qb.push(" AND (false");
            for view in many {
                qb.push(" OR (true");
                push_view(qb, view);
                qb.push(")");
            }
            qb.push(")");
        }
    }
}

fn push_view(qb: &mut QueryBuilder<'_, Postgres>, view: &ScopeView) {
    for f in &view.filters {
        push_filter(qb, On::Events, f);
        push_implied_search(qb, f);
    }
    if let Some(term) = &view.search {
        push_search(qb, term);
    }
}

/// `AND search_text contains term` (`term` in lower case). The trigram index looks up the
/// part of the term [`trigrams`](super::trigrams) finds cheapest; when that is only a part,
/// the whole term is checked with `strpos` (which the index cannot serve, so the planner
/// does not add the term's common trigrams back into the lookup).
fn push_search(qb: &mut QueryBuilder<'_, Postgres>, term: &str) {
    let needle = index_needle(term);
    qb.push(" AND e.search_text LIKE ").push_bind(format!("%{}%", like_escape(needle)));
    if needle != term {
        qb.push(" AND strpos(e.search_text, ").push_bind(term.to_string()).push(") > 0");
    }
}

fn index_needle(term: &str) -> &str {
    match super::trigrams::current() {
        Some(sample) => sample.index_needle(term),
        None => term,
    }
}

/// Which table a match is written against.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum On {
    /// The events table, alias `e`.
    Events,
    /// The per-minute counts, alias `c`: `c.outcome` for the outcome, `c.value` for the
    /// value of the dimension the caller selected.
    Counts,
}

/// Text fields that are part of `search_text` (app::event::search_text) but have no index
/// of their own. (Action, actor id and name, resource id, request id and context labels have
/// better indexes; an extra trigram condition would only tempt the planner away from them.)
fn needs_trigram_help(field: &Field) -> bool {
    matches!(field, Field::ActorEmail | Field::ResourceName | Field::Path | Field::Ip)
}

/// For an include filter with one value on a field held in `search_text`: a condition the
/// match implies (the lower-cased value — or the part of it the index looks up — is a
/// substring of `search_text`), so the trigram index narrows the rows. It never changes the
/// result: rows it removes cannot match.
/// Skipped for values whose lower case depends on context (Greek capital sigma) and for
/// values too short for trigrams.
fn push_implied_search(qb: &mut QueryBuilder<'_, Postgres>, filter: &Filter) {
    let [value] = filter.values() else { return };
    let text = match value {
        FilterValue::Exact(v) | FilterValue::Prefix(v) => v,
        FilterValue::StatusClass(_) => return,
    };
    if filter.negated || !needs_trigram_help(&filter.field) || text.chars().count() < 3 || text.contains('Σ') {
        return;
    }
    let lower = text.to_lowercase();
    qb.push(" AND e.search_text LIKE ").push_bind(format!("%{}%", like_escape(index_needle(&lower))));
}

/// `AND (matches)` for an include filter, `AND NOT coalesce((matches), false)` for an
/// exclude filter, so events without the field pass an exclude filter (as in Rust).
pub fn push_filter(qb: &mut QueryBuilder<'_, Postgres>, on: On, filter: &Filter) {
    qb.push(if filter.negated { " AND NOT coalesce((" } else { " AND (" });
    match on {
        On::Events => push_match(qb, &filter.field, filter.values()),
        On::Counts => push_count_match(qb, &filter.field, filter.values()),
    }
    qb.push(if filter.negated { "), false)" } else { ")" });
}

/// `value matches any of values` on a row of `event_counts`, whose `value` holds the field
/// as text (status as its three digits).
fn push_count_match(qb: &mut QueryBuilder<'_, Postgres>, field: &Field, values: &[FilterValue]) {
    let column = if *field == Field::Outcome { "c.outcome" } else { "c.value" };
    for (i, value) in values.iter().enumerate() {
        if i > 0 {
            qb.push(" OR ");
        }
        qb.push(column);
        match value {
            FilterValue::Exact(v) => qb.push(" = ").push_bind(v.clone()),
            FilterValue::Prefix(p) if p.is_empty() => qb.push(" IS NOT NULL"),
            FilterValue::Prefix(p) => qb.push(" LIKE ").push_bind(format!("{}%", like_escape(p))),
            FilterValue::StatusClass(c) => qb.push(" LIKE ").push_bind(format!("{c}__")),
        };
    }
}

/// `value matches any of values`, for one field of an event.
pub fn push_match(qb: &mut QueryBuilder<'_, Postgres>, field: &Field, values: &[FilterValue]) {
    let mut first = true;
    let mut or = |qb: &mut QueryBuilder<'_, Postgres>| {
        if !std::mem::take(&mut first) {
            qb.push(" OR ");
        }
    };
    let exact: Vec<&str> = values
        .iter()
        .filter_map(|v| match v {
            FilterValue::Exact(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    match field {
        Field::Context(key) => {
            // Containment uses the GIN index on context.
            for value in &exact {
                or(qb);
                qb.push("e.context @> ").push_bind(serde_json::json!({ key.as_str(): value })).push("::jsonb");
            }
        }
        Field::Status => {
            let codes: Vec<i16> = exact.iter().filter_map(|s| s.parse().ok()).collect();
            if !codes.is_empty() {
                or(qb);
                qb.push("e.status = ANY(").push_bind(codes).push(")");
            }
        }
        _ if !exact.is_empty() => {
            or(qb);
            let column = column(field);
            if let [one] = exact.as_slice() {
                qb.push(column).push(" = ").push_bind(one.to_string());
            } else {
                qb.push(column).push(" = ANY(").push_bind(exact.iter().map(|s| s.to_string()).collect::<Vec<_>>()).push(")");
            }
        }
        _ => {}
    }
    for value in values {
        match value {
            FilterValue::Exact(_) => {}
            FilterValue::Prefix(p) if p.is_empty() => {
                or(qb);
                push_text(qb, field);
                qb.push(" IS NOT NULL");
            }
            FilterValue::Prefix(p) => {
                or(qb);
                push_text(qb, field);
                qb.push(" LIKE ").push_bind(format!("{}%", like_escape(p)));
            }
            FilterValue::StatusClass(c) => {
                or(qb);
                let low = i16::from(*c) * 100;
                qb.push("e.status BETWEEN ").push_bind(low).push(" AND ").push_bind(low + 99);
            }
        }
    }
    if first {
        // No value can match (cannot happen for a valid filter, which has values).
        qb.push("false");
    }
}

/// The field as text (context labels through `->>`; the key is bound).
pub fn push_text(qb: &mut QueryBuilder<'_, Postgres>, field: &Field) {
    match field {
        Field::Context(key) => {
            qb.push("(e.context ->> ").push_bind(key.clone()).push(")");
        }
        Field::Status => {
            qb.push("e.status::text");
        }
        other => {
            qb.push(column(other));
        }
    }
}

/// The column of a plain field.
pub fn column(field: &Field) -> &'static str {
    match field {
        Field::Action => "e.action",
        Field::ActorId => "e.actor_id",
        Field::ActorName => "e.actor_name",
        Field::ActorEmail => "e.actor_email",
        Field::ActorType => "e.actor_type",
        Field::Source => "e.source",
        Field::Method => "e.method",
        Field::Status => "e.status",
        Field::Outcome => "e.outcome",
        Field::ResourceType => "e.resource_type",
        Field::ResourceId => "e.resource_id",
        Field::ResourceName => "e.resource_name",
        Field::RequestId => "e.request_id",
        Field::Ip => "e.ip",
        Field::Path => "e.path",
        Field::Context(_) => "e.context",
    }
}

/// Escapes LIKE's wildcards (`%`, `_`) and its escape character (`\`).
pub fn like_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use app::query::decode_query;

    fn sql(query: &str) -> String {
        let view = decode_query(query, &[]).view;
        let filter = EventFilter { filters: view.filters().to_vec(), search: view.search.clone(), from: None, to: None, scope: Scope::All };
        let mut qb = QueryBuilder::new("SELECT 1 FROM events e WHERE true");
        push_conditions(&mut qb, &filter);
        qb.into_sql()
    }

    #[test]
    fn values_are_bound_never_written_into_the_sql() {
        let text = sql("action=a'b;--,x*&context.cluster=prod&q=50%25_off&actor.name!=Robert')");
        for leaked in ["a'b", "prod", "50%", "Robert"] {
            assert!(!text.contains(leaked), "{leaked} in {text}");
        }
        assert!(text.contains("$1"), "{text}");
    }

    #[test]
    fn excludes_keep_events_without_the_field() {
        assert_eq!(sql("method!=GET"), "SELECT 1 FROM events e WHERE true AND NOT coalesce((e.method = $1), false)");
        assert_eq!(sql("status=5xx"), "SELECT 1 FROM events e WHERE true AND (e.status BETWEEN $1 AND $2)");
    }

    #[test]
    fn like_wildcards_are_escaped() {
        assert_eq!(like_escape(r"50%_a\b"), r"50\%\_a\\b");
    }
}
