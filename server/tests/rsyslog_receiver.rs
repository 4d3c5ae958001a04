//! The SIEM receiver of the forwarding tests (`common/rsyslog.rs`, a real rsyslog) keeps each
//! message exactly as sent — so a difference a forwarding test finds is the server's — and
//! enforces a required client certificate. Frames go through `openssl s_client`, not the
//! server's code.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::rsyslog::{Rsyslog, RsyslogOptions};

/// An `openssl s_client` session trusting the receiver's CA; killed on drop.
struct Session(Child);

impl Session {
    fn open(rsyslog: &Rsyslog, client_cert: bool) -> Session {
        let mut command = Command::new("openssl");
        command.args(["s_client", "-quiet", "-verify_return_error", "-connect", &rsyslog.addr().to_string(), "-CAfile"]).arg(rsyslog.tls_path("ca.pem"));
        if client_cert {
            command.arg("-cert").arg(rsyslog.tls_path("client.pem")).arg("-key").arg(rsyslog.tls_path("client.key"));
        }
        Session(command.stdin(Stdio::piped()).stdout(Stdio::null()).stderr(Stdio::null()).spawn().expect("openssl s_client"))
    }

    /// Sends RFC 5425 frames: `<octet count> <message>`. A refused session may have ended
    /// already: what arrives is what counts.
    fn send(&mut self, messages: &[&str]) {
        let stdin = self.0.stdin.as_mut().expect("stdin");
        for message in messages {
            let _ = write!(stdin, "{} {message}", message.len());
        }
        let _ = stdin.flush();
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    std::env::temp_dir().join(format!("auditorium-rsyslog-{name}-{}", uuid::Uuid::now_v7()))
}

fn done(rsyslog: Rsyslog, dir: &Path) {
    drop(rsyslog);
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn tls_frames_arrive_unchanged() {
    let dir = scratch("frames");
    let rsyslog = Rsyslog::start(&dir, RsyslogOptions::tls());
    let cef = r#"<110>1 2026-12-07T10:00:00.123456Z audit.example.com auditorium 4242 project.updated [auditorium@32473 id="a\"b\]c\\d"] CEF:0|Auditorium|Audit \| Log|1.0|project.updated|Back\\slash \| pipe|5|suser=Zoë 日本 msg=a\=b c\\d\nnext cs1=x|y=z"#;
    let controls = "<14>1 - - - - - - tab\there, cr\rhere, \u{1}\u{7f} ünïcödé";
    let large = format!("<14>1 - - - - - - {}", "0123456789|=\\ü ".repeat(64 * 1024 / 16));
    let mut session = Session::open(&rsyslog, false);
    session.send(&[cef, controls, &large]);
    let received = rsyslog.wait_for_messages(3, Duration::from_secs(10));
    assert_eq!(received, [cef, controls, large.as_str()]);
    assert_eq!(rsyslog.messages_exact(), received);
    drop(session);
    done(rsyslog, &dir);
}

#[test]
fn a_required_client_certificate_is_enforced() {
    let dir = scratch("mtls");
    let rsyslog = Rsyslog::start(&dir, RsyslogOptions::mutual_tls());
    let mut anonymous = Session::open(&rsyslog, false);
    anonymous.send(&["<14>1 - - - - - - without a certificate"]);
    let deadline = Instant::now() + Duration::from_secs(10);
    while !rsyslog.log().contains("peer did not provide a certificate") {
        assert!(Instant::now() < deadline, "rsyslog did not refuse the anonymous client\n{}", rsyslog.log());
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut certified = Session::open(&rsyslog, true);
    certified.send(&["<14>1 - - - - - - with a certificate"]);
    assert_eq!(rsyslog.wait_for_messages(1, Duration::from_secs(10)), ["<14>1 - - - - - - with a certificate"]);
    drop((anonymous, certified));
    done(rsyslog, &dir);
}
