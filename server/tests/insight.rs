//! The overview and the resource and actor histories against real PostgreSQL: every number
//! equals `count(*)` over the same range, and a resource's history is its filtered event list.

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use serde_json::{json, Value};
use server::store::tokens::Scope;
use sqlx::PgPool;

/// Events spread over 45 days: actors, resources, failures, and one resource's changes.
fn spread() -> Vec<Value> {
    let now = Utc::now();
    (0..400)
        .map(|i: i64| {
            let at = now - TimeDelta::minutes(i * 163 + 7);
            let action = ["project.updated", "user.login", "secret.viewed", "project.deleted"][(i % 4) as usize];
            let mut e = json!({
                "occurred_at": at.to_rfc3339(),
                "action": action,
                "actor": {"id": format!("usr_{}", i % 7), "name": format!("Person {}", i % 7), "type": "user"},
                "outcome": if i % 9 == 0 { "failure" } else { "success" },
                "source": if i % 3 == 0 { "billing" } else { "console" },
                "resource": {"type": "project", "id": format!("prj_{}", i % 11), "name": format!("Project {}", i % 11)},
                "context": {"team": if i % 2 == 0 { "core" } else { "web" }},
            });
            if i % 11 == 3 {
                e["changes"] = json!([{"field": "name", "before": format!("v{}", i), "after": format!("v{}", i + 1)}]);
                e["resource"]["name"] = json!(format!("Project three ({})", i / 100));
            }
            e
        })
        .collect()
}

async fn count(pool: &PgPool, condition: &str, from: DateTime<Utc>, to: DateTime<Utc>) -> u64 {
    let n: i64 = sqlx::query_scalar(&format!(
        "SELECT count(*) FROM events WHERE occurred_at >= $1 AND occurred_at < $2 AND {condition}"
    ))
    .bind(from)
    .bind(to)
    .fetch_one(pool)
    .await
    .expect("count");
    n as u64
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().expect("time").parse().expect("rfc3339")
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn overview_numbers_equal_count_star(pool: PgPool) {
    let app = app(&pool).await;
    let token = token(&pool, Scope::Ingest).await;
    assert_eq!(ingest(&app, &token, &json!(spread())).await.status, 201);
    let o = send(&app, read("/api/v1/overview")).await;
    assert_eq!(o.status, 200, "{}", o.text);
    let o = o.body;
    let now = time(&o["now"]);
    let periods = o["periods"].as_array().expect("periods");
    assert_eq!(periods.len(), 3);
    for p in periods {
        let from = time(&p["from"]);
        let length = now - from;
        // Previous: the whole-hour-aligned period of the same nominal length before it.
        let nominal = TimeDelta::hours((length.num_minutes() / 60).max(1));
        assert_eq!(
            p["count"],
            count(&pool, "true", from, now + TimeDelta::milliseconds(1)).await,
            "{p}"
        );
        assert_eq!(
            p["failures"],
            count(
                &pool,
                "outcome = 'failure'",
                from,
                now + TimeDelta::milliseconds(1)
            )
            .await,
            "{p}"
        );
        assert_eq!(
            p["previous"],
            count(&pool, "true", from - nominal, from).await,
            "{p}"
        );
    }
    let days = o["days"].as_array().expect("days");
    assert_eq!(days.len(), 30);
    for d in days {
        let start = time(&d["start"]);
        let end = (start + TimeDelta::days(1)).min(now + TimeDelta::milliseconds(1));
        assert_eq!(
            d["failure"],
            count(&pool, "outcome = 'failure'", start, end).await,
            "{d}"
        );
        assert_eq!(
            d["success"],
            count(&pool, "outcome = 'success'", start, end).await,
            "{d}"
        );
    }
    let first = time(&days[0]["start"]);
    let top: Vec<(String, i64)> = sqlx::query_as(
        "SELECT actor_id, count(*) FROM events WHERE occurred_at >= $1 GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
    )
    .bind(first)
    .fetch_all(&pool)
    .await
    .expect("top");
    let got: Vec<(String, i64)> = o["top_actors"]
        .as_array()
        .expect("actors")
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap_or("").to_string(),
                r["count"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, top);
    assert_eq!(
        o["top_actors"][0]["name"],
        json!(format!("Person {}", &top[0].0[4..]))
    );
    let top: Vec<(String, i64)> = sqlx::query_as(
        "SELECT resource_id, count(*) FROM events WHERE occurred_at >= $1 GROUP BY resource_type, resource_id
         ORDER BY 2 DESC, resource_type || chr(31) || resource_id LIMIT 10",
    )
    .bind(first)
    .fetch_all(&pool)
    .await
    .expect("top");
    let got: Vec<(String, i64)> = o["top_resources"]
        .as_array()
        .expect("resources")
        .iter()
        .map(|r| {
            (
                r["value"].as_str().unwrap_or("").to_string(),
                r["count"].as_i64().unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(got, top);
    // A server started after the events (its counts read from the daily table, not added up
    // from new events) gives the same lists, and so does one that then sees more events.
    let fresh = common::app(&pool).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let again = send(&fresh, read("/api/v1/overview")).await.body;
    assert_eq!(again["top_actors"], o["top_actors"]);
    assert_eq!(again["top_resources"], o["top_resources"]);
    let more: Vec<Value> = (0..3).map(|_| json!({"action": "project.updated", "actor": {"id": "usr_new", "name": "New", "type": "user"}})).collect();
    assert_eq!(ingest(&fresh, &token, &json!(more)).await.status, 201);
    let after = send(&fresh, read("/api/v1/overview")).await.body;
    let updated = after["top_actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["value"] == "project.updated")
        .expect("action")["count"]
        .as_u64();
    let before = o["top_actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["value"] == "project.updated")
        .expect("action")["count"]
        .as_u64();
    assert_eq!(updated, before.map(|n| n + 3), "new events count at once");
    let actions = o["top_actions"].as_array().expect("actions");
    assert_eq!(
        actions
            .iter()
            .map(|a| a["count"].as_u64().unwrap_or(0))
            .sum::<u64>(),
        count(&pool, "true", first, now + TimeDelta::milliseconds(1)).await
    );
    assert_eq!(o["latest"].as_array().expect("latest").len(), 20);
    let sources: Vec<&str> = o["sources"]
        .as_array()
        .expect("sources")
        .iter()
        .filter(|s| s["kind"] == "source")
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert_eq!(sources.len(), 2, "{sources:?}");
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_members_overview_counts_only_what_they_may_see(pool: PgPool) {
    let app = app(&pool).await;
    let token = token(&pool, Scope::Ingest).await;
    assert_eq!(ingest(&app, &token, &json!(spread())).await.status, 201);
    let member = server::auth::accounts::create_user(
        &pool,
        "mina@example.com",
        None,
        server::store::users::Role::Member,
        &["context.team=core".to_string()],
        None,
        server::auth::audit::Actor::system(),
        Default::default(),
    )
    .await
    .expect("member")
    .0
    .id;
    let read_token = server::auth::accounts::create_token(
        &pool,
        "mina",
        Scope::Read,
        Some(member),
        server::auth::audit::Actor::system(),
        Default::default(),
    )
    .await
    .expect("token")
    .1;
    let o = send(&app, get("/api/v1/overview", Some(&read_token)))
        .await
        .body;
    let now = time(&o["now"]);
    for p in o["periods"].as_array().expect("periods") {
        let from = time(&p["from"]);
        assert_eq!(
            p["count"],
            count(
                &pool,
                "context->>'team' = 'core'",
                from,
                now + TimeDelta::milliseconds(1)
            )
            .await,
            "{p}"
        );
    }
    let seen: Vec<&str> = o["latest"]
        .as_array()
        .expect("latest")
        .iter()
        .filter_map(|e| e["context"]["team"].as_str())
        .collect();
    assert!(
        !seen.is_empty() && seen.iter().all(|t| *t == "core"),
        "{seen:?}"
    );
    assert!(
        o["sources"]
            .as_array()
            .expect("sources")
            .iter()
            .all(|s| s["kind"] == "source"),
        "token names are not a member's to see"
    );
}

#[sqlx::test(migrator = "server::db::MIGRATOR")]
async fn a_resource_history_is_its_filtered_event_list(pool: PgPool) {
    let app = app(&pool).await;
    let token = token(&pool, Scope::Ingest).await;
    assert_eq!(ingest(&app, &token, &json!(spread())).await.status, 201);
    let h = send(&app, read("/api/v1/resources/project/prj_3")).await;
    assert_eq!(h.status, 200, "{}", h.text);
    let h = h.body;
    let all: Vec<(uuid::Uuid, Option<Value>)> = sqlx::query_as(
        "SELECT id, changes FROM events WHERE resource_type = 'project' AND resource_id = 'prj_3' ORDER BY occurred_at DESC, id DESC",
    )
    .fetch_all(&pool)
    .await
    .expect("events");
    assert_eq!(h["total"], all.len() as u64);
    let latest: Vec<String> = h["latest"]
        .as_array()
        .expect("latest")
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_string())
        .collect();
    let expected: Vec<String> = all.iter().take(50).map(|(id, _)| id.to_string()).collect();
    assert_eq!(latest, expected, "its newest events, newest first");
    // The version history: every event with changes, oldest first.
    let changes: Vec<String> = h["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|e| e["id"].as_str().unwrap_or("").to_string())
        .collect();
    let mut expected: Vec<String> = all
        .iter()
        .filter(|(_, c)| {
            c.as_ref()
                .and_then(|c| c.as_array())
                .is_some_and(|a| !a.is_empty())
        })
        .map(|(id, _)| id.to_string())
        .collect();
    expected.reverse();
    assert!(!expected.is_empty());
    assert_eq!(changes, expected);
    let names: Vec<&str> = h["names"]
        .as_array()
        .expect("names")
        .iter()
        .filter_map(|n| n["name"].as_str())
        .collect();
    // The names it has had, oldest first.
    assert_eq!(
        names,
        [
            "Project three (3)",
            "Project three (2)",
            "Project three (1)",
            "Project three (0)"
        ]
    );
    let actors: u64 = h["actors"]
        .as_array()
        .expect("actors")
        .iter()
        .map(|a| a["count"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(actors, all.len() as u64);
    // Unknown (or out of scope) resources do not exist.
    let missing = send(&app, read("/api/v1/resources/project/nope")).await;
    assert_eq!(missing.status, 404);
    // An actor's history: totals, failures and sign-ins.
    let a = send(&app, read("/api/v1/actors/usr_3")).await.body;
    let (total, failed): (i64, i64) = sqlx::query_as("SELECT count(*), count(*) FILTER (WHERE outcome = 'failure') FROM events WHERE actor_id = 'usr_3'")
        .fetch_one(&pool)
        .await
        .expect("actor");
    assert_eq!(
        (a["total"].as_i64(), a["failures"].as_i64()),
        (Some(total), Some(failed))
    );
    assert!(a["sign_ins"]
        .as_array()
        .expect("sign-ins")
        .iter()
        .all(|s| s["event"]["action"] == "user.login"));
}
