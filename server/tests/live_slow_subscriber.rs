//! A live-tail subscriber that stops reading while events pour in: the server's memory stays
//! under a stated bound (the buffer of recent batches is bounded in bytes, a socket holds at
//! most its send buffer), the socket is cut, and when the client reads again it finds the
//! documented close code 4408 after the data — not a bare connection loss.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

const BIN: &str = env!("CARGO_BIN_EXE_auditorium");
/// The bound this test holds the server to: growth of its resident memory while one socket
/// is stalled and ~40 MB of events are committed. (Before the buffer was bounded in bytes the
/// same load grew the server by 450 MB.)
const MAX_GROWTH_MB: u64 = 128;

fn scratch_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("auditorium-test-slow-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn auditorium(data_dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.env_remove("DATABASE_URL").arg("--data-dir").arg(data_dir);
    command
}

fn http(addr: SocketAddr, method: &str, path: &str, token: &str, body: &str) -> (u16, String) {
    let Ok(mut stream) = TcpStream::connect(addr) else { return (0, String::new()) };
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(request.as_bytes());
    let mut answer = String::new();
    let _ = stream.read_to_string(&mut answer);
    (answer.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0), answer)
}

fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = Command::new("kill").args(["-TERM", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stalled_subscriber_costs_bounded_memory_and_gets_4408() {
    let dir = scratch_dir();
    let addr = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr");
    let admin = auditorium(&dir).args(["user", "create", "--email", "ops@example.com", "--role", "admin"]).output().expect("user");
    assert!(admin.status.success(), "{}", String::from_utf8_lossy(&admin.stderr));
    let token = {
        let out = auditorium(&dir).args(["token", "create", "--name", "t", "--scope", "admin", "--user", "ops@example.com"]).output().expect("token");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    let server = Running(
        auditorium(&dir)
            .args(["serve", "--addr", &addr.to_string(), "--site-root", "/nonexistent", "--live-send-timeout", "3s"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.log")).expect("log"))
            .spawn()
            .expect("server"),
    );
    let pid = server.0.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    while http(addr, "GET", "/readyz", &token, "").0 != 200 {
        assert!(Instant::now() < deadline, "the server never became ready");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // A subscriber with a small receive buffer that reads up to `ready`, then stops reading.
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(16 * 1024).expect("buffer");
    let stream = socket.connect(addr).await.expect("connect");
    let request = tokio_tungstenite::tungstenite::client::IntoClientRequest::into_client_request(format!(
        "ws://{addr}/api/v1/live?range=1h"
    ))
    .map(|mut r| {
        r.headers_mut().insert("Authorization", format!("Bearer {token}").parse().expect("header"));
        r
    })
    .expect("request");
    let (mut subscriber, _) = tokio_tungstenite::client_async(request, stream).await.expect("upgrade");
    loop {
        let message = subscriber.next().await.expect("message").expect("frame");
        if message.to_text().is_ok_and(|t| t.contains("\"ready\"")) {
            break;
        }
    }

    // ~40 MB of events in 40 commits, while the subscriber reads nothing.
    let baseline = rss_mb(pid);
    let mut peak = baseline;
    let padding = "p".repeat(1_800);
    for batch in 0..40 {
        let events: Vec<String> = (0..1000)
            .map(|i| {
                format!(
                    r#"{{"action":"load.event","actor":{{"id":"u{i}","name":"Load","type":"service"}},"metadata":{{"batch":{batch},"padding":"{padding}"}}}}"#
                )
            })
            .collect();
        let (status, answer) = http(addr, "POST", "/api/v1/events", &token, &format!("[{}]", events.join(",")));
        assert_eq!(status, 201, "{answer}");
        peak = peak.max(rss_mb(pid));
    }
    // Past the send timeout the socket is cut; memory stays bounded meanwhile.
    let until = Instant::now() + Duration::from_secs(5);
    while Instant::now() < until {
        peak = peak.max(rss_mb(pid));
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let growth = peak.saturating_sub(baseline);
    eprintln!("server memory: {baseline} MB before, peak {peak} MB (growth {growth} MB)");
    assert!(growth <= MAX_GROWTH_MB, "the server grew by {growth} MB (bound {MAX_GROWTH_MB} MB)");
    let (_, metrics) = http(addr, "GET", "/metrics", &token, "");
    assert!(metrics.contains("auditorium_live_slow_closed_total 1"), "the slow socket was counted: {metrics}");

    // The client reads again: the data that was in flight, then the close frame 4408.
    let close = tokio::time::timeout(Duration::from_secs(60), async {
        while let Some(Ok(message)) = subscriber.next().await {
            if let Message::Close(frame) = message {
                return frame.map(|f| f.code);
            }
        }
        None
    })
    .await
    .expect("the socket ends");
    assert_eq!(close, Some(CloseCode::from(4408)), "the documented close code");
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
