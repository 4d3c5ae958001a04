//! Realistic sample events: people work in office hours, CI deploys all day, the autoscaler
//! never sleeps, and a few incidents fill the log with failures.

use chrono::{DateTime, Datelike, Duration, Timelike, Utc};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Map, Value};

use super::cast::{cast, ActorProfile};
use super::catalog::*;

/// A window of trouble: many more events, many of them failing.
#[derive(Clone, Copy, Debug)]
struct Incident {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

pub struct Generator {
    rng: StdRng,
    actors: Vec<ActorProfile>,
    incidents: Vec<Incident>,
}

impl Generator {
    /// A generator whose incidents fall inside `[from, to)`.
    pub fn new(seed: u64, from: DateTime<Utc>, to: DateTime<Utc>) -> Generator {
        let mut rng = StdRng::seed_from_u64(seed);
        let actors = cast(&mut rng);
        let span = (to - from).num_minutes().max(1);
        let incidents = (0..3)
            .map(|_| {
                let start = from + Duration::minutes(rng.random_range(0..span));
                Incident { start, end: start + Duration::minutes(rng.random_range(25..70)) }
            })
            .collect();
        Generator { rng, actors, incidents }
    }

    /// About `count` events spread over `[from, to)` with a daily rhythm, oldest first.
    pub fn events_between(&mut self, from: DateTime<Utc>, to: DateTime<Utc>, count: u64) -> Vec<Value> {
        let span_ms = (to - from).num_milliseconds().max(1);
        let mut times: Vec<DateTime<Utc>> = Vec::new();
        // Sample one request time per wanted event (by rejection, for the rhythm); requests
        // yield one or more events, and the surplus is thinned out evenly below.
        while (times.len() as u64) < count {
            let t = from + Duration::milliseconds(self.rng.random_range(0..span_ms));
            if self.rng.random::<f64>() < self.activity(t) / 6.0 {
                times.push(t);
            }
        }
        times.sort();
        let mut events: Vec<Value> = times.into_iter().flat_map(|t| self.request_at(t, to)).collect();
        // Drop exactly the surplus, spread evenly over the whole range.
        let (len, surplus) = (events.len(), events.len().saturating_sub(count as usize));
        let mut index = 0;
        events.retain(|_| {
            index += 1;
            (index * surplus) / len == ((index - 1) * surplus) / len
        });
        events.truncate(count as usize);
        events.sort_by(|a, b| a["occurred_at"].as_str().cmp(&b["occurred_at"].as_str()));
        events
    }

    /// Relative activity at `t`: office hours, weekdays, incidents.
    fn activity(&self, t: DateTime<Utc>) -> f64 {
        let hour = f64::from(t.hour()) + f64::from(t.minute()) / 60.0;
        let daytime = 0.25 + (-(hour - 13.0).powi(2) / 18.0).exp();
        let weekday = if t.weekday().number_from_monday() >= 6 { 0.35 } else { 1.0 };
        let incident = if self.in_incident(t) { 4.0 } else { 1.0 };
        daytime * weekday * incident
    }

    fn in_incident(&self, t: DateTime<Utc>) -> bool {
        self.incidents.iter().any(|i| i.start <= t && t < i.end)
    }

    /// The events of one request at `t` (one, or a few sharing a request id), none after `limit`.
    pub fn request_at(&mut self, t: DateTime<Utc>, limit: DateTime<Utc>) -> Vec<Value> {
        let actor = self.pick_actor();
        let spec = self.pick_action(&actor);
        let request_id = format!("req_{:016x}", self.rng.random::<u64>());
        let incident = self.in_incident(t);
        let place = self.pick_place();
        let mut events = vec![self.event(t, &actor, spec, &place, &request_id, incident)];
        let failed = events[0]["outcome"] == "failure";
        if spec.action == "deployment.started" && !failed {
            let controller = self.service("deploy-controller");
            let later = (t + Duration::seconds(self.rng.random_range(40..400))).min(limit);
            let tag = IMAGES_TAGS[self.rng.random_range(0..IMAGES_TAGS.len())];
            let mut update = self.event(t, &controller, spec_named("application.updated"), &place, &request_id, false);
            update["changes"] = json!([{ "field": "image", "before": format!("registry.acme.io/{}:{}", place.app, IMAGES_TAGS[0]),
                                         "after": format!("registry.acme.io/{}:{tag}", place.app) }]);
            events.push(update);
            let fails = self.rng.random::<f64>() < if incident { 0.6 } else { 0.06 };
            events.push(self.outcome_event(later, &controller, &place, &request_id, fails, &events[0]));
        }
        events
    }

    fn outcome_event(&mut self, t: DateTime<Utc>, actor: &ActorProfile, place: &Place, request_id: &str, failed: bool, start: &Value) -> Value {
        let mut e = base(t, actor, request_id);
        e["action"] = json!(if failed { "deployment.failed" } else { "deployment.succeeded" });
        e["outcome"] = json!(if failed { "failure" } else { "success" });
        e["resource"] = start["resource"].clone();
        e["context"] = place.context(true);
        if failed {
            let reasons = ["readiness probe failed: GET /healthz returned 503", "image pull failed: manifest unknown",
                           "OOMKilled: container exceeded its 512Mi memory limit", "rollout timed out after 10m"];
            e["error"] = json!(reasons[self.rng.random_range(0..reasons.len())]);
        }
        e
    }

    fn event(&mut self, t: DateTime<Utc>, actor: &ActorProfile, spec: &ActionSpec, place: &Place, request_id: &str, incident: bool) -> Value {
        let mut e = base(t, actor, request_id);
        let (resource, path) = self.target(spec, place, actor);
        e["action"] = json!(spec.action);
        e["method"] = json!(spec.method);
        e["path"] = json!(path);
        e["resource"] = resource;
        e["context"] = place.context(matches!(spec.target, Target::Application | Target::Deployment));
        let fail_rate = match (incident, spec.target) {
            (true, Target::Application | Target::Deployment | Target::Datastore | Target::Cluster) => 0.45,
            _ => 0.03,
        };
        let failure = (!spec.failures.is_empty() && self.rng.random::<f64>() < fail_rate)
            .then(|| {
                let server_errors: Vec<&(u16, &str)> = spec.failures.iter().filter(|(s, _)| *s >= 500).collect();
                match (incident, server_errors.is_empty()) {
                    (true, false) => *server_errors[self.rng.random_range(0..server_errors.len())],
                    _ => spec.failures[self.rng.random_range(0..spec.failures.len())],
                }
            });
        match failure {
            Some((status, message)) => {
                e["status"] = json!(status);
                e["error"] = json!(message.replace("{app}", place.app).replace("{tag}", "v1.44.0"));
            }
            None => {
                e["status"] = json!(if spec.method == "POST" && !spec.action.ends_with("login") { 201 } else { 200 });
                if !spec.changes.is_empty() {
                    e["changes"] = self.changes(spec.changes);
                }
            }
        }
        e
    }

    fn changes(&mut self, fields: &[&str]) -> Value {
        let n = self.rng.random_range(1..=fields.len().min(3));
        let start = self.rng.random_range(0..fields.len());
        let picked: Vec<&str> = (0..n).map(|i| fields[(start + i) % fields.len()]).collect();
        Value::Array(picked.into_iter().map(|field| self.change(field)).collect())
    }

    fn change(&mut self, field: &str) -> Value {
        let r = &mut self.rng;
        let (before, after): (Value, Value) = match field {
            "replicas" | "node_count" | "min_nodes" | "max_nodes" => {
                let b = r.random_range(2..12);
                (json!(b), json!(if r.random() { b + r.random_range(1..4) } else { (b - 1).max(1) }))
            }
            "image" => (json!("registry.acme.io/app:v1.41.0"), json!("registry.acme.io/app:v1.42.0")),
            "cpu" => (json!("500m"), json!("1")),
            "memory" => (json!("512Mi"), json!("1Gi")),
            "env.LOG_LEVEL" => (json!("info"), json!("debug")),
            "name" => (json!("Store front"), json!("Storefront")),
            "description" => (json!("Customer-facing shop"), json!("Customer-facing shop and checkout")),
            "visibility" => (json!("private"), json!("internal")),
            "kubernetes_version" => (json!("1.30"), json!("1.31")),
            "value" => (json!("••••••••"), json!("••••••••")),
            "role" => (json!(ROLES[r.random_range(0..2)]), json!(ROLES[r.random_range(1..3)])),
            "storage_gb" => (json!(50), json!(100)),
            "version" => (json!("15"), json!("16")),
            "session_lifetime_hours" => (json!(12), json!(8)),
            "require_mfa" | "enforced" => (json!(false), json!(true)),
            "provider" => (Value::Null, json!("okta")),
            _ => (json!("old"), json!("new")),
        };
        let mut change = Map::new();
        change.insert("field".into(), json!(field));
        if !before.is_null() {
            change.insert("before".into(), before);
        }
        change.insert("after".into(), after);
        Value::Object(change)
    }

    fn pick_actor(&mut self) -> ActorProfile {
        let roll = self.rng.random::<f64>();
        let pool: Vec<&ActorProfile> = self
            .actors
            .iter()
            .filter(|a| match roll {
                r if r < 0.68 => a.kind == "user",
                r if r < 0.88 => a.kind == "api_token",
                r if r < 0.96 => a.kind == "system",
                _ => a.kind == "service",
            })
            .collect();
        // A few people do most of the work.
        let i = (self.rng.random::<f64>().powi(2) * pool.len() as f64) as usize;
        pool[i.min(pool.len() - 1)].clone()
    }

    fn pick_action(&mut self, actor: &ActorProfile) -> &'static ActionSpec {
        let allowed = |s: &ActionSpec| match actor.kind {
            "system" => matches!(s.action, "application.scaled" | "application.restarted" | "datastore.backup.created" | "cluster.node_pool.scaled"),
            "service" => matches!(s.action, "application.updated" | "application.restarted" | "deployment.rolled_back" | "datastore.backup.created"),
            "api_token" => s.target != Target::Session && s.target != Target::Organization && s.target != Target::Member,
            _ => actor.admin || !matches!(s.target, Target::Organization | Target::Member | Target::Token),
        };
        let candidates: Vec<&'static ActionSpec> = ACTIONS.iter().filter(|s| allowed(s)).collect();
        let total: u32 = candidates.iter().map(|s| s.weight).sum();
        let mut pick = self.rng.random_range(0..total);
        for spec in &candidates {
            if pick < spec.weight {
                return spec;
            }
            pick -= spec.weight;
        }
        candidates[0]
    }

    fn pick_place(&mut self) -> Place {
        let (project, app) = APPLICATIONS[self.rng.random_range(0..APPLICATIONS.len())];
        let cluster = if self.rng.random::<f64>() < 0.7 { CLUSTERS[self.rng.random_range(0..2)] } else { CLUSTERS[self.rng.random_range(2..4)] };
        Place { project, app, cluster }
    }

    fn service(&self, name: &str) -> ActorProfile {
        self.actors.iter().find(|a| a.id == format!("svc_{name}")).cloned().unwrap_or_else(|| self.actors[0].clone())
    }

    fn target(&mut self, spec: &ActionSpec, place: &Place, actor: &ActorProfile) -> (Value, String) {
        let (project_name, _) = PROJECTS[place.project];
        let project_id = format!("prj_{project_name}");
        let app_id = format!("app_{}", place.app);
        let (kind, id, name) = match spec.target {
            Target::Project => ("project", project_id.clone(), project_name.to_string()),
            Target::Application => ("application", app_id.clone(), place.app.to_string()),
            Target::Deployment => {
                let tag = IMAGES_TAGS[self.rng.random_range(0..IMAGES_TAGS.len())];
                ("deployment", format!("dep_{:08x}", self.rng.random::<u32>()), format!("{} {tag}", place.app))
            }
            Target::Cluster => ("cluster", format!("cl_{}", place.cluster), place.cluster.to_string()),
            Target::Secret => {
                let secret = SECRETS[self.rng.random_range(0..SECRETS.len())];
                ("secret", format!("sec_{}_{}", project_name, secret.to_lowercase()), secret.to_string())
            }
            Target::Token => {
                let (token, _) = TOKENS[self.rng.random_range(0..TOKENS.len())];
                ("api_token", format!("tok_{token}"), token.to_string())
            }
            Target::Member => {
                let (name, handle) = USERS[self.rng.random_range(0..USERS.len())];
                ("member", format!("usr_{handle}"), name.to_string())
            }
            Target::Session => ("user", actor.id.clone(), actor.name.clone()),
            Target::Datastore => {
                let ds = DATASTORES[self.rng.random_range(0..DATASTORES.len())];
                ("datastore", format!("ds_{project_name}_{ds}"), ds.to_string())
            }
            Target::Organization => ("organization", "org_acme".to_string(), "Acme Inc.".to_string()),
        };
        let path = spec.path.replace("{id}", &id).replace("{project}", &project_id).replace("{app}", &app_id);
        (json!({ "type": kind, "id": id, "name": name }), path)
    }
}

fn spec_named(action: &str) -> &'static ActionSpec {
    ACTIONS.iter().find(|s| s.action == action).unwrap_or(&ACTIONS[0])
}

struct Place {
    project: usize,
    app: &'static str,
    cluster: &'static str,
}

impl Place {
    fn context(&self, with_app: bool) -> Value {
        let (project, group) = PROJECTS[self.project];
        let mut labels = json!({ "project": project, "group": group, "cluster": self.cluster });
        if with_app {
            labels["application"] = json!(self.app);
        }
        labels
    }
}

fn base(t: DateTime<Utc>, actor: &ActorProfile, request_id: &str) -> Value {
    let mut a = json!({ "id": actor.id, "name": actor.name, "type": actor.kind });
    if let Some(email) = &actor.email {
        a["email"] = json!(email);
    }
    json!({
        "occurred_at": t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "actor": a,
        "source": actor.source,
        "request_id": request_id,
        "ip": actor.ip,
        "user_agent": actor.user_agent,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn demo_data_looks_like_a_real_log() {
        let to = Utc::now();
        let from = to - Duration::days(30);
        let events = Generator::new(1, from, to).events_between(from, to, 5000);
        assert_eq!(events.len(), 5000, "exactly the requested number");
        let within = |e: &&Value| {
            let t = DateTime::parse_from_rfc3339(e["occurred_at"].as_str().unwrap_or("")).map(|t| t.with_timezone(&Utc));
            t.is_ok_and(|t| from <= t && t <= to)
        };
        assert!(events.iter().all(|e| within(&e)));
        let kinds: HashSet<&str> = events.iter().filter_map(|e| e["actor"]["type"].as_str()).collect();
        assert_eq!(kinds.len(), 4, "users, tokens, system and services: {kinds:?}");
        let actions: HashSet<&str> = events.iter().filter_map(|e| e["action"].as_str()).collect();
        assert!(actions.len() > 25, "{} actions", actions.len());
        let failures = events.iter().filter(|e| e["outcome"] == "failure" || e["status"].as_u64().is_some_and(|s| s >= 400)).count();
        assert!(failures > 50 && failures < 1500, "{failures} failures");
        assert!(events.iter().any(|e| e["changes"].is_array()), "updates carry before/after changes");
        let gets = events.iter().filter(|e| e["method"] == "GET").count();
        assert!(gets > 1500, "reads dominate, as in real logs: {gets}");
        let mut per_request = std::collections::HashMap::new();
        for e in &events {
            *per_request.entry(e["request_id"].as_str().unwrap_or("")).or_insert(0) += 1;
        }
        assert!(per_request.values().any(|n| *n >= 3), "some requests span several events");
    }

    #[test]
    fn every_demo_event_passes_ingest_validation() {
        let to = Utc::now();
        let from = to - Duration::days(2);
        for (i, e) in Generator::new(2, from, to).events_between(from, to, 2000).iter().enumerate() {
            if let Err(problems) = crate::ingest::validate::validate_event(i, e, to) {
                panic!("{e}: {problems:?}");
            }
        }
    }
}
