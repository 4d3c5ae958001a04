//! The JSON shapes of the overview and of a resource's and an actor's history
//! (`/api/v1/overview`, `/api/v1/resources/{type}/{id}`, `/api/v1/actors/{id}`), shared by
//! the server, which writes them, and the pages, which read them. See docs/api.md.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::api::rfc3339;
use crate::event::Event;
use crate::query::{encode_query, Field, Filter, FilterValue, TimeRange, ViewState};

/// Events in a period and in the equally long period before it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    /// Where it starts (a whole hour); it ends at the overview's `now`.
    #[serde(with = "rfc3339")]
    pub from: DateTime<Utc>,
    pub label: String,
    pub count: u64,
    pub failures: u64,
    pub previous: u64,
}

impl Period {
    /// The change against the previous period, in percent (`None` when it had no events).
    pub fn change_percent(&self) -> Option<i64> {
        (self.previous > 0).then(|| {
            ((self.count as f64 - self.previous as f64) * 100.0 / self.previous as f64).round()
                as i64
        })
    }

    /// "▲ 3% vs. the period before (860)"; from ten times up "▲ 87× the period before (23)"
    /// (a percentage of almost nothing says little); "no events in the period before".
    pub fn change_label(&self) -> String {
        let Some(c) = self.change_percent() else { return "no events in the period before".into() };
        let arrow = match c {
            c if c > 0 => "▲ ",
            c if c < 0 => "▼ ",
            _ => "",
        };
        let before = crate::format::thousands(self.previous);
        if c >= 900 {
            format!("{arrow}{}× the period before ({before})", crate::format::thousands(self.count / self.previous.max(1)))
        } else {
            format!("{arrow}{}% vs. the period before ({before})", c.abs())
        }
    }

    /// Failures per hundred events, one decimal.
    pub fn failure_rate(&self) -> f64 {
        if self.count == 0 {
            return 0.0;
        }
        (self.failures as f64 * 1000.0 / self.count as f64).round() / 10.0
    }
}

/// One day of the volume chart.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCount {
    #[serde(with = "rfc3339")]
    pub start: DateTime<Utc>,
    pub success: u64,
    pub failure: u64,
}

/// A value among the most frequent: an action, an actor, a resource.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ranked {
    /// The value (the action, the actor's id, the resource's id).
    pub value: String,
    /// For resources: their type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// A name to show, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub count: u64,
}

/// Where events come from: a `source` value, or an ingest token, and when it last sent.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// `source` or `token`.
    pub kind: String,
    pub name: String,
    #[serde(
        default,
        with = "crate::api::optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub last_seen: Option<DateTime<Utc>>,
    /// Sent in the last 7 days, but nothing for the last [`QUIET_HOURS`] hours.
    pub quiet: bool,
}

/// A source that sent in the last week and then nothing for this long has gone quiet.
pub const QUIET_HOURS: i64 = 6;

/// `GET /api/v1/overview`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Overview {
    #[serde(with = "rfc3339")]
    pub now: DateTime<Utc>,
    /// Last 24 hours, 7 days, 30 days.
    pub periods: Vec<Period>,
    /// The last 30 days (UTC), oldest first.
    pub days: Vec<DayCount>,
    /// Over the last 30 days.
    pub top_actions: Vec<Ranked>,
    pub top_actors: Vec<Ranked>,
    pub top_resources: Vec<Ranked>,
    /// Whether the top lists are exact counts (else tallied over the newest events).
    pub exact: bool,
    pub sources: Vec<Source>,
    /// The newest events.
    pub latest: Vec<Event>,
    /// Commit position of the newest event when read: the live tail adds what follows.
    pub position: i64,
}

/// A name a resource (or an actor) has had, and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NameSeen {
    pub name: String,
    #[serde(with = "rfc3339")]
    pub first: DateTime<Utc>,
    #[serde(with = "rfc3339")]
    pub last: DateTime<Utc>,
}

/// `GET /api/v1/resources/{type}/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResourceHistory {
    pub resource_type: String,
    pub id: String,
    pub names: Vec<NameSeen>,
    pub total: u64,
    #[serde(
        default,
        with = "crate::api::optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub first: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "crate::api::optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub last: Option<DateTime<Utc>>,
    /// Who acted on it, most active first.
    pub actors: Vec<Ranked>,
    pub actions: Vec<Ranked>,
    /// Events per day (UTC) over its last 90 days of activity, oldest first.
    pub activity: Vec<DayCount>,
    /// Whether the breakdowns (actors, actions, names) were tallied over its newest
    /// [`BREAKDOWN_SAMPLE`] events only (then `total` still counts every event).
    pub sampled: bool,
    /// Events that changed it, oldest first (its version history).
    pub changes: Vec<Event>,
    /// Its newest events.
    pub latest: Vec<Event>,
}

/// Breakdowns of a resource's or actor's events are tallied over at most this many of its
/// newest events (a busy service account has millions).
pub const BREAKDOWN_SAMPLE: i64 = 20_000;

/// A sign-in of an actor: where from, and whether that address or agent was new then.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SignIn {
    pub event: Event,
    pub new_ip: bool,
    pub new_agent: bool,
}

/// `GET /api/v1/actors/{id}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ActorHistory {
    pub id: String,
    pub names: Vec<NameSeen>,
    pub actor_type: Option<String>,
    pub email: Option<String>,
    pub total: u64,
    pub failures: u64,
    #[serde(
        default,
        with = "crate::api::optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub first: Option<DateTime<Utc>>,
    #[serde(
        default,
        with = "crate::api::optional_rfc3339",
        skip_serializing_if = "Option::is_none"
    )]
    pub last: Option<DateTime<Utc>>,
    pub actions: Vec<Ranked>,
    pub resources: Vec<Ranked>,
    /// See [`ResourceHistory::sampled`].
    pub sampled: bool,
    /// Newest first.
    pub sign_ins: Vec<SignIn>,
    /// Their newest failed actions.
    pub failed: Vec<Event>,
    pub latest: Vec<Event>,
}

/// Whether an action is a sign-in (`login`, `sign_in`, `session.created`, ...).
pub fn is_sign_in(action: &str) -> bool {
    let a = action.to_ascii_lowercase();
    [
        "login",
        "log_in",
        "signin",
        "sign_in",
        "sign-in",
        "session.created",
        "session.create",
        "authenticate",
    ]
    .iter()
    .any(|w| a.contains(w))
}

/// The investigation page's URL for `filters` since `from` (open-ended: events arriving later
/// show too), or over its default range.
pub fn investigate_link(filters: &[(Field, &str)], from: Option<DateTime<Utc>>) -> String {
    investigate_between(filters, from, None)
}

/// The investigation page's URL for `filters` in `[from, to)`.
pub fn investigate_between(
    filters: &[(Field, &str)],
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
) -> String {
    // Everything the filters select (no "reads excluded" default): the counts shown beside
    // such links are of every event.
    let mut view = ViewState::default();
    if let Some(from) = from {
        view = view.with_range(TimeRange::Absolute { from, to });
    }
    for (field, value) in filters {
        if let Some(filter) = Filter::new(
            field.clone(),
            false,
            [FilterValue::Exact((*value).to_string())],
        ) {
            view = view.with_filter(filter);
        }
    }
    format!("/?{}", encode_query(&view))
}

/// A resource page's path.
pub fn resource_path(kind: &str, id: &str) -> String {
    format!("/resources/{}/{}", segment(kind), segment(id))
}

/// An actor page's path.
pub fn actor_path(id: &str) -> String {
    format!("/actors/{}", segment(id))
}

/// One path segment, percent-encoded (ids may hold `/`, `?`, spaces...).
pub fn segment(text: &str) -> String {
    percent_encoding::utf8_percent_encode(text, SEGMENT).to_string()
}

const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~')
    .remove(b':')
    .remove(b'@');

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_the_filters_and_range() {
        let from = "2026-11-05T00:00:00Z".parse().ok();
        assert_eq!(
            investigate_link(&[(Field::ActorId, "usr_ada")], from),
            "/?from=2026-11-05T00:00:00Z&actor.id=usr_ada"
        );
        assert_eq!(investigate_link(&[], None), "/?range=24h");
        assert_eq!(
            resource_path("project", "prj a/b"),
            "/resources/project/prj%20a%2Fb"
        );
        assert_eq!(
            actor_path("usr_ada@example.com"),
            "/actors/usr_ada@example.com"
        );
    }

    #[test]
    fn change_and_failure_rate() {
        let p = Period {
            from: chrono::DateTime::UNIX_EPOCH,
            label: "x".into(),
            count: 150,
            failures: 3,
            previous: 100,
        };
        assert_eq!(p.change_percent(), Some(50));
        assert_eq!(p.failure_rate(), 2.0);
        assert_eq!(p.change_label(), "▲ 50% vs. the period before (100)");
        let grown = Period { count: 19_984, previous: 23, ..p.clone() };
        assert_eq!(grown.change_label(), "▲ 868× the period before (23)");
        let shrunk = Period { count: 90, previous: 100, ..p.clone() };
        assert_eq!(shrunk.change_label(), "▼ 10% vs. the period before (100)");
        assert_eq!(Period { previous: 0, ..p }.change_percent(), None);
    }

    #[test]
    fn sign_in_actions() {
        assert!(is_sign_in("user.login"));
        assert!(is_sign_in("auditorium.session.created"));
        assert!(!is_sign_in("project.delete"));
    }
}
