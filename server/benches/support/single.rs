//! The single-event pattern of the ingest benchmark: many clients, each posting one event per
//! request (the way applications send audit events), measured with Debian's `wrk` against a
//! real server on a local port; next to it, PostgreSQL's own single-row INSERT rate into a
//! plain table with the same columns and indexes (pgbench), in the same run.

use std::path::PathBuf;
use std::process::Command;

use super::BenchCluster;

pub struct Row {
    pub clients: usize,
    pub events_per_second: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub errors: u64,
}

const WRK_SCRIPT: &str = r#"
-- One event per request, each with its own UUID (as a careful client sends them).
local counter = 0
local hex = "0123456789abcdef"
local function uuid()
  local t = {}
  for i = 1, 32 do
    local r = math.random(1, 16)
    t[i] = hex:sub(r, r)
  end
  t[13] = "4"
  return table.concat(t, "", 1, 8) .. "-" .. table.concat(t, "", 9, 12) .. "-" .. table.concat(t, "", 13, 16)
    .. "-8" .. table.concat(t, "", 18, 20) .. "-" .. table.concat(t, "", 21, 32)
end
init = function(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1000000))
  token = args[1]
end
request = function()
  counter = counter + 1
  local n = math.random(1, 5000)
  local body = string.format(
    '{"id":"%s","action":"user.login","actor":{"id":"usr_%d","name":"User %d","email":"user%d@acme.io","type":"user"},'
    .. '"source":"dashboard","method":"POST","status":200,"path":"/api/session","ip":"10.0.%d.%d",'
    .. '"user_agent":"Mozilla/5.0 (X11; Linux x86_64)","request_id":"req_%d","context":{"cluster":"prod-eu","team":"team-%d"}}',
    uuid(), n, n, n, n % 250, counter % 250, counter, n % 40)
  return wrk.format("POST", "/api/v1/events",
    { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token }, body)
end
"#;

/// Runs wrk for `seconds` with `clients` connections against `url`, posting with `token`.
pub fn wrk(url: &str, token: &str, clients: usize, seconds: u64) -> Row {
    let script = std::env::temp_dir().join(format!("auditorium-bench-{}.lua", std::process::id()));
    std::fs::write(&script, WRK_SCRIPT).expect("wrk script");
    let threads = clients.min(2);
    let out = Command::new("wrk")
        .args(["-t", &threads.to_string(), "-c", &clients.to_string(), "-d", &format!("{seconds}s"), "--latency", "--timeout", "10s", "-s"])
        .arg(&script)
        .arg(url)
        .arg("--")
        .arg(token)
        .output()
        .expect("wrk runs (apt-get install wrk)");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let value = |prefix: &str| -> Option<String> {
        text.lines().find_map(|l| l.trim().strip_prefix(prefix).map(|v| v.trim().to_string()))
    };
    let errors = value("Non-2xx or 3xx responses:").and_then(|v| v.parse().ok()).unwrap_or(0)
        + value("Socket errors:").map(|v| v.split(',').filter_map(|p| p.split_whitespace().last()?.parse::<u64>().ok()).sum()).unwrap_or(0);
    Row {
        clients,
        events_per_second: value("Requests/sec:").and_then(|v| v.parse().ok()).unwrap_or(0.0),
        p50_ms: value("50%").map(|v| millis(&v)).unwrap_or(f64::NAN),
        p99_ms: value("99%").map(|v| millis(&v)).unwrap_or(f64::NAN),
        errors,
    }
}

/// wrk's `1.23ms`, `456.00us`, `1.20s` in milliseconds.
fn millis(text: &str) -> f64 {
    let split = text.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let n: f64 = number.parse().unwrap_or(f64::NAN);
    match unit {
        "us" => n / 1000.0,
        "ms" => n,
        "s" => n * 1000.0,
        "m" => n * 60_000.0,
        _ => f64::NAN,
    }
}

/// The plain table: the events' columns and indexes, no partitions, no trigger.
const PLAIN_TABLE: &str = "
CREATE TABLE plain_events (LIKE events INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
CREATE UNIQUE INDEX ON plain_events (id);
CREATE INDEX ON plain_events (occurred_at, id);
CREATE INDEX ON plain_events (action, occurred_at);
CREATE INDEX ON plain_events (actor_id, occurred_at);
CREATE INDEX ON plain_events (resource_id, occurred_at) WHERE resource_id IS NOT NULL;
CREATE INDEX ON plain_events (request_id, occurred_at) WHERE request_id IS NOT NULL;
CREATE INDEX ON plain_events USING gin (context jsonb_path_ops);
CREATE INDEX ON plain_events (actor_name text_pattern_ops, occurred_at) INCLUDE (outcome);
";

const PGBENCH_SCRIPT: &str = "\\set n random(1, 5000)
INSERT INTO plain_events (occurred_at, id, received_at, action, actor_id, actor_name, actor_email, actor_type, source,
  method, status, path, outcome, resource_type, context, request_id, ip, user_agent, search_text, fingerprint)
VALUES (now(), gen_random_uuid(), now(), 'user.login', 'usr_' || :n, 'User ' || :n, 'user' || :n || '@acme.io', 'user',
  'dashboard', 'POST', 200, '/api/session', 'success', 'session', '{\"cluster\": \"prod-eu\"}', 'req_' || :n,
  '10.0.0.' || (:n % 250), 'Mozilla/5.0 (X11; Linux x86_64)', 'user.login usr_' || :n, '\\x00');
";

/// Single-row INSERTs per second into the plain table with `clients` connections.
pub async fn pgbench(cluster: &BenchCluster, clients: usize, seconds: u64) -> f64 {
    let (pool, url) = cluster.fresh_database("bench_plain_insert").await;
    sqlx::raw_sql(PLAIN_TABLE).execute(&pool).await.expect("plain table");
    pool.close().await;
    let script = std::env::temp_dir().join(format!("auditorium-pgbench-{}.sql", std::process::id()));
    std::fs::write(&script, PGBENCH_SCRIPT).expect("pgbench script");
    let out = Command::new(pgbench_program())
        .args(["-n", "-M", "prepared", "-c", &clients.to_string(), "-j", &clients.min(2).to_string(), "-T", &seconds.to_string(), "-f"])
        .arg(&script)
        .arg(&url)
        .output()
        .expect("pgbench runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.lines()
        .find_map(|l| l.strip_prefix("tps = ").and_then(|v| v.split_whitespace().next()?.parse().ok()))
        .unwrap_or_else(|| panic!("pgbench said: {text}{}", String::from_utf8_lossy(&out.stderr)))
}

fn pgbench_program() -> PathBuf {
    let debian = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|v| v.path().join("bin/pgbench"))
        .find(|p| p.exists());
    debian.unwrap_or_else(|| PathBuf::from("pgbench"))
}
