//! What a person may see: everything, or the events matching any of a few views (a member's
//! scope, each view in the URL format, e.g. `context.team=machinery` or `actor.id=u_42`).
//!
//! A scope is part of every selection ([`super::EventFilter::scope`]): the SQL translation
//! and the Rust predicate both apply it, so every read path — pages, totals, histograms, facet
//! values, one event, the live tail — sees the same events. A scope's time range, paging and
//! live settings are ignored: only its filters and search count.

use serde::{Deserialize, Serialize};

use super::codec::decode_query;
use super::filter::Filter;
use crate::event::Event;

/// The most views one scope may hold.
pub const MAX_SCOPE_VIEWS: usize = 20;

/// One view of a scope: its filters (all must hold) and its search (lower-cased).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ScopeView {
    pub filters: Vec<Filter>,
    pub search: Option<String>,
}

impl ScopeView {
    pub fn matches(&self, event: &Event, search_text: &str) -> bool {
        self.filters.iter().all(|f| f.matches_value(f.field.value_of(event).as_deref()))
            && self.search.as_ref().is_none_or(|term| search_text.contains(term.as_str()))
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Every event (admins, auditors).
    #[default]
    All,
    /// The events matching any of these views; none when empty.
    AnyOf(Vec<ScopeView>),
}

impl Scope {
    /// A scope from views in the URL format, every problem named (`view N: param: problem`).
    pub fn parse(views: &[String]) -> Result<Scope, Vec<String>> {
        if views.len() > MAX_SCOPE_VIEWS {
            return Err(vec![format!("a scope holds at most {MAX_SCOPE_VIEWS} views")]);
        }
        let mut problems = Vec::new();
        let mut parsed = Vec::new();
        for (i, text) in views.iter().enumerate() {
            let decoded = decode_query(text.trim(), &[]);
            problems.extend(decoded.problems.iter().map(|p| format!("view {}: {}: {}", i + 1, p.param, p.message)));
            let view = ScopeView { filters: decoded.view.filters().to_vec(), search: decoded.view.search.as_ref().map(|s| s.to_lowercase()) };
            if view.filters.is_empty() && view.search.is_none() && decoded.problems.is_empty() {
                problems.push(format!("view {}: selects every event; give it a filter (or make the person an auditor)", i + 1));
            }
            parsed.push(view);
        }
        if problems.is_empty() {
            Ok(Scope::AnyOf(merge_alternatives(parsed)))
        } else {
            Err(problems)
        }
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// Whether an event (with its `search_text`, when any view searches) is inside.
    pub fn matches(&self, event: &Event, search_text: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::AnyOf(views) => views.iter().any(|v| v.matches(event, search_text)),
        }
    }

    /// Whether some view searches (then matching needs the event's search text).
    pub fn searches(&self) -> bool {
        matches!(self, Scope::AnyOf(views) if views.iter().any(|v| v.search.is_some()))
    }

    /// A short stable text for this scope, to tell scopes apart in cache keys.
    pub fn key(&self) -> String {
        match self {
            Scope::All => String::new(),
            Scope::AnyOf(views) => serde_json::to_string(views).unwrap_or_default(),
        }
    }
}

/// Views that are each one "field is …" filter on the same field are one view: `team=a` or
/// `team=b` is `team is any of a, b` — the same events, but one condition the counting tables
/// can answer.
fn merge_alternatives(views: Vec<ScopeView>) -> Vec<ScopeView> {
    let single_include = |v: &ScopeView| match v.filters.as_slice() {
        [f] if !f.negated && v.search.is_none() => Some(f.field.clone()),
        _ => None,
    };
    let Some(field) = views.first().and_then(single_include) else { return views };
    if views.len() < 2 || !views.iter().all(|v| single_include(v).as_ref() == Some(&field)) {
        return views;
    }
    let values = views.iter().flat_map(|v| v.filters[0].values().to_vec()).collect::<Vec<_>>();
    match Filter::new(field, false, values) {
        Some(filter) => vec![ScopeView { filters: vec![filter], search: None }],
        None => views,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::{search_text, tests::sample_event};

    fn scope(views: &[&str]) -> Scope {
        Scope::parse(&views.iter().map(|s| s.to_string()).collect::<Vec<_>>()).expect("valid scope")
    }

    #[test]
    fn an_event_is_visible_when_any_view_matches() {
        let event = sample_event();
        let text = search_text(&event);
        assert!(Scope::All.matches(&event, &text));
        assert!(scope(&["context.cluster=prod-EU"]).matches(&event, &text));
        assert!(scope(&["actor.id=nobody", "resource.id=p_1&action=project.*"]).matches(&event, &text));
        assert!(!scope(&["actor.id=nobody", "resource.id=p_2"]).matches(&event, &text));
        assert!(scope(&["q=LOVELACE"]).matches(&event, &text), "search is lower-cased like a view's");
        assert!(!Scope::AnyOf(vec![]).matches(&event, &text), "an empty scope sees nothing");
    }

    #[test]
    fn bad_views_are_named() {
        let problems = Scope::parse(&["action=ok.*".into(), "colour=red".into(), "range=1h".into()]).expect_err("invalid");
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].starts_with("view 2: colour"), "{problems:?}");
        assert!(problems[1].starts_with("view 3:") && problems[1].contains("every event"), "{problems:?}");
    }

    #[test]
    fn alternatives_on_one_field_become_one_condition() {
        let Scope::AnyOf(views) = scope(&["context.team=a", "context.team=b,c"]) else { panic!("a scope") };
        assert_eq!(views.len(), 1);
        assert_eq!(views[0].filters[0].values().len(), 3);
        let Scope::AnyOf(views) = scope(&["context.team=a", "action=x"]) else { panic!("a scope") };
        assert_eq!(views.len(), 2, "different fields stay alternatives");
        let Scope::AnyOf(views) = scope(&["context.team!=a", "context.team!=b"]) else { panic!("a scope") };
        assert_eq!(views.len(), 2, "exclusions do not merge");
    }

    #[test]
    fn the_time_range_of_a_scope_view_is_ignored() {
        let event = sample_event();
        assert!(scope(&["range=5m&actor.id=u_42"]).matches(&event, ""));
    }
}
