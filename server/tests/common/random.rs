//! Random events and views for property tests (filter agreement, scopes).

use app::query::{Field, FilterValue, TimeRange, ViewState};
use chrono::{DateTime, Duration, TimeZone, Utc};
use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

pub const ACTIONS: &[&str] = &["user.login", "user.logout", "project.created", "project.updated", "deploy.started", "a_b.c-d"];
pub const ACTORS: &[(&str, &str, Option<&str>, &str)] = &[
    ("u1", "Ada Lovelace", Some("ada@acme.io"), "user"),
    ("u2", "Zoë Ünïcode", None, "user"),
    ("t1", "ci_deployer", None, "api_token"),
    ("s1", "scheduler", None, "system"),
    ("svc", "50%_off\\bot", None, "service"),
    ("u3", "ΟΔΥΣΣΕΥΣ Σ", None, "user"),
];
pub const METHODS: &[&str] = &["GET", "POST", "PATCH", "DELETE"];
pub const STATUSES: &[u16] = &[200, 201, 204, 301, 403, 404, 500, 503];
pub const PATHS: &[&str] = &["/api/projects/1", "/api/projects/2", "/api/users", "/x%y_z"];
pub const CLUSTERS: &[&str] = &["prod-eu", "prod-us", "Prod-EU"];
pub const RESOURCES: &[(&str, Option<&str>, Option<&str>)] =
    &[("project", Some("p1"), Some("Billing")), ("project", Some("p2"), None), ("user", None, Some("Ünïcode näme"))];

pub type TestRng = StdRng;

pub fn pick<T: Clone>(rng: &mut TestRng, items: &[T]) -> T {
    items[rng.random_range(0..items.len())].clone()
}

pub trait Chance {
    fn chance(&mut self, p: f64) -> bool;
}

impl Chance for TestRng {
    fn chance(&mut self, p: f64) -> bool {
        self.random::<f64>() < p
    }
}

pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 20, 6, 0, 0).single().expect("time")
}

pub fn random_event(rng: &mut TestRng) -> Value {
    let (id, name, email, kind) = pick(rng, ACTORS);
    let micros = rng.random_range(0..6 * 3600 * 1_000_000i64);
    let mut e = json!({
        "occurred_at": (start() + Duration::microseconds(micros)).to_rfc3339(),
        "action": pick(rng, ACTIONS),
        "actor": { "id": id, "name": name, "type": kind },
    });
    if let Some(email) = email {
        e["actor"]["email"] = json!(email);
    }
    if rng.chance(0.8) { e["method"] = json!(pick(rng, METHODS)); }
    if rng.chance(0.8) { e["status"] = json!(pick(rng, STATUSES)); }
    if rng.chance(0.6) { e["path"] = json!(pick(rng, PATHS)); }
    if rng.chance(0.5) { e["source"] = json!(pick(rng, &["cli", "api", "dashboard"])); }
    if rng.chance(0.3) { e["error"] = json!("Deadline exceeded: prod-eu is slow"); }
    if rng.chance(0.5) { e["request_id"] = json!(format!("req_{}", rng.random_range(0..20))); }
    if rng.chance(0.5) { e["ip"] = json!(pick(rng, &["10.0.0.1", "2001:db8::7", "192.0.2.30"])); }
    if rng.chance(0.7) {
        let (kind, id, name) = pick(rng, RESOURCES);
        e["resource"] = json!({ "type": kind });
        if let Some(id) = id { e["resource"]["id"] = json!(id); }
        if let Some(name) = name { e["resource"]["name"] = json!(name); }
    }
    let mut context = serde_json::Map::new();
    if rng.chance(0.6) { context.insert("cluster".into(), json!(pick(rng, CLUSTERS))); }
    if rng.chance(0.4) { context.insert("team.name".into(), json!(pick(rng, &["core", "edge"]))); }
    e["context"] = Value::Object(context);
    e
}

/// A value of `field` that occurs in the data (or a prefix of one).
pub fn random_value(rng: &mut TestRng, field: &Field) -> FilterValue {
    let text = |rng: &mut TestRng, options: Vec<String>| {
        let v = pick(rng, &options);
        if rng.chance(0.3) {
            let cut = rng.random_range(0..=v.chars().count());
            FilterValue::Prefix(v.chars().take(cut).collect())
        } else {
            FilterValue::Exact(v)
        }
    };
    let strings = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    match field {
        // "Has any value" (`*`, or `!=*` negated) on every field.
        _ if rng.chance(0.08) => FilterValue::Prefix(String::new()),
        Field::Status if rng.chance(0.5) => FilterValue::StatusClass(pick(rng, &[2u8, 3, 4, 5])),
        Field::Status => FilterValue::Exact(pick(rng, STATUSES).to_string()),
        Field::Method => FilterValue::Exact(pick(rng, METHODS).to_string()),
        Field::Outcome => FilterValue::Exact(pick(rng, &["success", "failure"]).to_string()),
        Field::ActorType => FilterValue::Exact(pick(rng, &["user", "api_token", "system", "service"]).to_string()),
        Field::Action => text(rng, strings(ACTIONS)),
        Field::ActorName => text(rng, ACTORS.iter().map(|a| a.1.to_string()).collect()),
        Field::ActorEmail => text(rng, vec!["ada@acme.io".into()]),
        Field::Path => text(rng, strings(PATHS)),
        Field::ResourceName => text(rng, vec!["Billing".into(), "Ünïcode näme".into()]),
        Field::Context(_) => text(rng, strings(CLUSTERS)),
        _ => text(rng, vec!["p1".into(), "u1".into(), "req_3".into(), "10.0.0.1".into(), "cli".into()]),
    }
}

pub fn random_view(rng: &mut TestRng) -> ViewState {
    let fields = [
        Field::Action, Field::ActorName, Field::ActorEmail, Field::ActorType, Field::Source, Field::Method, Field::Status,
        Field::Outcome, Field::ResourceType, Field::ResourceId, Field::ResourceName, Field::RequestId, Field::Ip, Field::Path,
        Field::Context("cluster".into()), Field::Context("team.name".into()),
    ];
    let from = start() + Duration::milliseconds(rng.random_range(0..3 * 3600 * 1000i64));
    let to = from + Duration::milliseconds(rng.random_range(1..4 * 3600 * 1000i64));
    let mut view = ViewState::default().with_range(TimeRange::absolute(from, to));
    for _ in 0..rng.random_range(0..3) {
        let field = pick(rng, &fields);
        let values: Vec<FilterValue> = (0..rng.random_range(1..3)).map(|_| random_value(rng, &field)).collect();
        view = view.with_filter_values(field, rng.chance(0.4), values);
    }
    if rng.chance(0.2) {
        view = view.with_search(pick(rng, &["PROD-eu", "ada@", "_off\\", "ünïcode", "login", "%y_"]));
    }
    view
}

