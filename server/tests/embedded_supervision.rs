//! The real `auditorium` binary with its embedded PostgreSQL: a server brings the cluster
//! back after it is killed (ingest resumes without restarting Auditorium), and a second
//! server given the cluster's address keeps it when the first one stops.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_auditorium");

fn scratch_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auditorium-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn auditorium(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.env_remove("DATABASE_URL").env("RUST_LOG", "info").arg("--data-dir").arg(data_dir);
    command
}

/// Runs a command to completion and returns its standard output.
fn output(command: &mut Command) -> String {
    let out = command.output().expect("runs");
    assert!(out.status.success(), "{command:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr")
}

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Server {
    /// Starts a server on a free port. The port is only free when it is picked: a server of a
    /// test running beside this one may take it first, and then its `/readyz` would answer for
    /// ours. So ready means our process still runs *and* the port answers; a server that could
    /// not bind is started again on another port.
    fn start(data_dir: &Path, database_url: Option<&str>, log: &str) -> Server {
        for _attempt in 0..5 {
            let addr = free_port();
            let mut command = auditorium(data_dir);
            if let Some(url) = database_url {
                command.env("DATABASE_URL", url);
            }
            let log = std::fs::File::create(data_dir.join(log)).expect("log file");
            let child = command
                .args(["serve", "--addr", &addr.to_string(), "--site-root", "/nonexistent"])
                .stdout(Stdio::null())
                .stderr(log)
                .spawn()
                .expect("server starts");
            let mut server = Server { child, addr };
            let deadline = Instant::now() + Duration::from_secs(60);
            loop {
                if server.child.try_wait().expect("child status").is_some() {
                    break; // it exited (the port was taken): try another one
                }
                if http(addr, "GET", "/readyz", None, "").0 == 200 {
                    // Answered by our process only if it is still alive a moment later.
                    std::thread::sleep(Duration::from_millis(100));
                    if server.child.try_wait().expect("child status").is_none() {
                        return server;
                    }
                    break;
                }
                assert!(Instant::now() < deadline, "the server never became ready");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
        panic!("the server exited five times before it was ready; see {}", data_dir.join(log).display())
    }

    /// SIGTERM, then wait for the process to exit.
    fn stop(mut self) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        let status = self.child.wait().expect("exits");
        assert!(status.success(), "the server exited with {status}");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// One HTTP/1.1 request: (status, body). Status 0 when the connection failed.
fn http(addr: SocketAddr, method: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(addr) else { return (0, String::new()) };
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    if stream.write_all(request.as_bytes()).is_err() {
        return (0, String::new());
    }
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    let status = answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, answer.split("\r\n\r\n").nth(1).unwrap_or_default().to_string())
}

fn one_event(n: usize) -> String {
    format!(r#"{{"action":"supervision.check","actor":{{"id":"u{n}","name":"U","type":"user"}}}}"#)
}

fn postmaster_pid(data_dir: &Path) -> Option<u32> {
    let status = output(auditorium(data_dir).args(["db", "status"]));
    status.strip_prefix("running (pid ")?.split(')').next()?.parse().ok()
}

#[test]
fn a_killed_embedded_postgres_is_restarted_and_ingest_resumes() {
    let dir = scratch_dir("supervised");
    let server = Server::start(&dir, None, "server.log");
    let token = output(auditorium(&dir).args(["token", "create", "--name", "app", "--scope", "ingest"]));
    assert_eq!(http(server.addr, "POST", "/api/v1/events", Some(&token), &one_event(0)).0, 201);

    // An application keeps posting, one event every 20 ms, through the outage.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let answers = std::sync::Arc::new(std::sync::Mutex::new(Vec::<(u16, String)>::new()));
    let poster = {
        let (stop, answers, addr, token) = (stop.clone(), answers.clone(), server.addr, token.clone());
        std::thread::spawn(move || {
            let mut n = 1;
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let answer = http(addr, "POST", "/api/v1/events", Some(&token), &one_event(n));
                answers.lock().expect("answers").push(answer);
                n += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let killed = postmaster_pid(&dir).expect("the cluster runs");
    Command::new("kill").args(["-KILL", &killed.to_string()]).status().expect("kill");

    // The supervisor starts it again; then ingest resumes.
    let deadline = Instant::now() + Duration::from_secs(60);
    while postmaster_pid(&dir).is_none_or(|pid| pid == killed) {
        assert!(Instant::now() < deadline, "PostgreSQL was never started again");
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = answers.lock().expect("answers").len();
    while !answers.lock().expect("answers")[seen..].iter().any(|(status, _)| *status == 201) {
        assert!(Instant::now() < deadline, "ingest never resumed: {:?}", answers.lock().expect("answers"));
        std::thread::sleep(Duration::from_millis(50));
    }
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    poster.join().expect("poster");

    // Throughout: only answers a client retries (503) or success, never "unknown token" or
    // an internal error; and every acknowledged event is stored.
    let answers = answers.lock().expect("answers").clone();
    for (status, body) in &answers {
        assert!(*status == 201 || *status == 503, "while PostgreSQL was down: {status} {body}");
    }
    let acknowledged = 1 + answers.iter().filter(|(status, _)| *status == 201).count();
    assert_eq!(http(server.addr, "GET", "/readyz", None, "").0, 200);
    output(auditorium(&dir).args(["user", "create", "--email", "reader@example.com", "--role", "auditor"]));
    let reader = output(auditorium(&dir).args(["token", "create", "--name", "reader", "--scope", "read", "--user", "reader@example.com"]));
    let (status, body) = http(server.addr, "GET", "/api/v1/events?action=supervision.check&range=1h&limit=1", Some(&reader), "");
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).expect("json");
    let stored = page["total"]["count"].as_u64().expect("count") as usize;
    assert!(stored >= acknowledged, "{acknowledged} events were acknowledged but {stored} are stored ({answers:?})");
    let log = std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    assert!(log.contains("starting it again"), "the restart is logged");
    server.stop();
    assert_eq!(postmaster_pid(&dir), None, "the last user stopped the cluster");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_stopping_instance_does_not_take_the_cluster_from_another() {
    let dir = scratch_dir("two-instances");
    let first = Server::start(&dir, None, "first.log");
    let url = output(auditorium(&dir).args(["db", "url"]));
    let second = Server::start(&dir, Some(&url), "second.log");
    let token = output(auditorium(&dir).args(["token", "create", "--name", "app", "--scope", "ingest"]));

    first.stop();
    assert!(postmaster_pid(&dir).is_some(), "the second instance holds a lease");
    assert_eq!(http(second.addr, "POST", "/api/v1/events", Some(&token), &one_event(1)).0, 201);
    assert_eq!(http(second.addr, "GET", "/readyz", None, "").0, 200);
    second.stop();
    assert_eq!(postmaster_pid(&dir), None, "the last user stopped the cluster");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn commands_racing_on_a_fresh_data_directory_both_succeed() {
    let dir = scratch_dir("race");
    let racers: Vec<_> = (0..3)
        .map(|_| auditorium(&dir).arg("migrate").stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn"))
        .collect();
    for racer in racers {
        let out = racer.wait_with_output().expect("waits");
        assert!(out.status.success(), "a racing command failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    assert_eq!(postmaster_pid(&dir), None, "the last one out stopped the cluster");
    let _ = std::fs::remove_dir_all(&dir);
}
