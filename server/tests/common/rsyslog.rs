//! A real rsyslog (Debian's `rsyslog` and `rsyslog-gnutls`; `make test` installs them) as the
//! receiving end of SIEM streaming: syslog over TLS (RFC 5425, the gtls driver), plain TCP or
//! UDP on a free loopback port. Each receiver runs in the foreground with its own configuration,
//! work directory and pid file in the test's directory — no system inputs, nothing in /var/log,
//! its own messages kept in its own log — and writes every message it receives, exactly as
//! received (`%rawmsg%`: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`, no octet count), as
//! one line of `received.log`. Control characters, 8-bit text, `|`, `=`, `\` pass unchanged;
//! `received.json` has the same messages JSON-escaped, for messages with line breaks.
//!
//! The TLS material is made at start with the `openssl` command: a CA, a server certificate
//! for `127.0.0.1` and `localhost` and a client certificate signed by it, and an unrelated CA
//! (same name, other key) whose trust must not be enough.

use std::fs;
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const RSYSLOGD: &str = "/usr/sbin/rsyslogd";
/// rsyslog's `maxMessageSize` here: larger messages are truncated (UDP carries at most 65507 bytes).
pub const MAX_MESSAGE_SIZE: usize = 256 * 1024;
const READY_TIMEOUT: Duration = Duration::from_secs(15);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Transport {
    /// RFC 5425: TLS, octet-counted frames.
    #[default]
    Tls,
    /// RFC 6587: plain TCP, octet-counted or line-delimited frames.
    Tcp,
    /// RFC 5426: one message per datagram.
    Udp,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct RsyslogOptions {
    pub transport: Transport,
    /// TLS only: `x509/certvalid` (a client certificate signed by [`Rsyslog::ca_pem`]'s CA is
    /// required) instead of `anon`.
    pub require_client_cert: bool,
    /// TLS without a required client certificate: also offer TLS 1.3. rsyslog's gtls driver in
    /// `anon` mode offers only TLS 1.2 unless given a GnuTLS priority string (the default here
    /// is what a stock rsyslog does); in `x509/certvalid` mode it offers 1.2 and 1.3 anyway.
    /// With TLS 1.3 a client refused for lacking a certificate completes its handshake and
    /// its first writes succeed: only the messages' absence (and [`Rsyslog::log`]) shows it.
    pub allow_tls13: bool,
}

impl RsyslogOptions {
    pub fn tls() -> Self {
        Self { transport: Transport::Tls, ..Self::default() }
    }
    pub fn mutual_tls() -> Self {
        Self { transport: Transport::Tls, require_client_cert: true, ..Self::default() }
    }
    pub fn tcp() -> Self {
        Self { transport: Transport::Tcp, ..Self::default() }
    }
    pub fn udp() -> Self {
        Self { transport: Transport::Udp, ..Self::default() }
    }
}

pub struct Rsyslog {
    dir: PathBuf,
    options: RsyslogOptions,
    port: u16,
    child: Option<Child>,
}

impl Rsyslog {
    /// Starts a receiver working in `dir` (created if missing) and waits until it listens.
    pub fn start(dir: &Path, options: RsyslogOptions) -> Rsyslog {
        assert!(
            Path::new(RSYSLOGD).exists(),
            "{RSYSLOGD} is missing: these tests need a real rsyslog. Install the Debian packages `rsyslog rsyslog-gnutls` \
             (`apt-get install rsyslog rsyslog-gnutls`; `make test` does it)"
        );
        if options.transport == Transport::Tls {
            assert!(
                gtls_driver_installed(),
                "rsyslog's TLS driver (lmnsd_gtls.so) is missing: install the Debian package `rsyslog-gnutls` (`make test` does it)"
            );
        }
        fs::create_dir_all(dir).expect("rsyslog dir");
        let dir = fs::canonicalize(dir).expect("rsyslog dir");
        let text = dir.to_str().expect("a UTF-8 path");
        assert!(!text.contains(['"', '\\', '\'', '\n']), "rsyslog dir {text:?}: quotes or backslashes would need escaping in its config");
        make_tls_material(&dir.join("tls"));
        let port = match options.transport {
            Transport::Udp => UdpSocket::bind("127.0.0.1:0").and_then(|s| s.local_addr()),
            _ => TcpListener::bind("127.0.0.1:0").and_then(|s| s.local_addr()),
        }
        .expect("a free port")
        .port();
        fs::write(dir.join("rsyslog.conf"), config(&dir, options, port)).expect("rsyslog.conf");
        let mut rsyslog = Rsyslog { dir, options, port, child: None };
        rsyslog.spawn();
        rsyslog
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn options(&self) -> RsyslogOptions {
        self.options
    }

    /// The CA that signed the server and client certificates (PEM).
    pub fn ca_pem(&self) -> String {
        self.tls_file("ca.pem")
    }

    /// A client certificate signed by [`Self::ca_pem`]'s CA (PEM).
    pub fn client_cert_pem(&self) -> String {
        self.tls_file("client.pem")
    }

    /// The client certificate's private key (PKCS#8 PEM, EC P-256).
    pub fn client_key_pem(&self) -> String {
        self.tls_file("client.key")
    }

    /// A CA that signed nothing here, with the same subject name as the real one.
    pub fn other_ca_pem(&self) -> String {
        self.tls_file("other-ca.pem")
    }

    /// A file of the TLS material (`ca.pem`, `server.pem`, `server.key`, `client.pem`,
    /// `client.key`, `other-ca.pem`).
    pub fn tls_path(&self, name: &str) -> PathBuf {
        self.dir.join("tls").join(name)
    }

    fn tls_file(&self, name: &str) -> String {
        fs::read_to_string(self.tls_path(name)).expect("TLS material")
    }

    /// The messages received so far, one per line of the output file, as received. A message
    /// with a line break in it spans several lines: see [`Self::messages_exact`].
    pub fn messages(&self) -> Vec<String> {
        match fs::read(self.dir.join("received.log")) {
            // Split on LF only: a carriage return at the end of a message is the message's.
            Ok(bytes) => String::from_utf8_lossy(&bytes).split_terminator('\n').map(str::to_string).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// The messages received so far, exactly, line breaks included (from rsyslog's JSON
    /// escaping of each message, decoded).
    pub fn messages_exact(&self) -> Vec<String> {
        let text = fs::read_to_string(self.dir.join("received.json")).unwrap_or_default();
        text.lines()
            .map(|line| serde_json::from_str::<String>(&format!("\"{line}\"")).unwrap_or_else(|e| panic!("rsyslog's JSON escaping of {line:?}: {e}")))
            .collect()
    }

    /// Waits until at least `count` messages have arrived and returns them all ([`Self::messages`]);
    /// panics with rsyslog's log after `timeout`.
    pub fn wait_for_messages(&self, count: usize, timeout: Duration) -> Vec<String> {
        let deadline = Instant::now() + timeout;
        loop {
            let messages = self.messages();
            if messages.len() >= count {
                return messages;
            }
            if Instant::now() > deadline {
                let shown: Vec<String> = messages.iter().map(|m| abbreviated(m)).collect();
                panic!("rsyslog received {} of {count} messages within {timeout:?}: {shown:#?}\n{}", messages.len(), self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What rsyslog said about itself: its standard error and its own messages (TLS errors,
    /// refused peers, oversize messages, …).
    pub fn log(&self) -> String {
        let read = |name: &str| fs::read_to_string(self.dir.join(name)).unwrap_or_default();
        format!("--- rsyslogd stderr ---\n{}--- rsyslogd log ---\n{}", read("stderr.log"), read("rsyslogd.log"))
    }

    pub fn is_running(&mut self) -> bool {
        self.child.as_mut().is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// SIGTERM, then waits for rsyslog to exit (it writes what it has received first).
    pub fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while matches!(child.try_wait(), Ok(None)) {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("rsyslogd did not exit within 10 s of SIGTERM\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stops rsyslog if it runs and starts it again: same port, same certificates, the same
    /// output file (appended to).
    pub fn restart(&mut self) {
        self.stop();
        self.spawn();
    }

    fn spawn(&mut self) {
        assert!(self.child.is_none(), "rsyslogd already runs");
        let pid_file = self.dir.join("rsyslogd.pid");
        let _ = fs::remove_file(&pid_file); // left behind by a killed one: rsyslogd would refuse to start
        let stderr = fs::OpenOptions::new().create(true).append(true).open(self.dir.join("stderr.log")).expect("stderr.log");
        let child = Command::new(RSYSLOGD)
            .arg("-n")
            .arg("-f")
            .arg(self.dir.join("rsyslog.conf"))
            .arg("-i")
            .arg(&pid_file)
            .current_dir(&self.dir)
            .stdin(Stdio::null())
            .stdout(stderr.try_clone().expect("stderr.log"))
            .stderr(stderr)
            .spawn()
            .unwrap_or_else(|e| panic!("starting {RSYSLOGD}: {e}"));
        self.child = Some(child);
        self.wait_listening();
    }

    /// Waits until rsyslogd's socket for the port is bound (read from /proc/net, so that no
    /// probe connection shows up in rsyslog's log).
    fn wait_listening(&mut self) {
        let (table, state) = match self.options.transport {
            Transport::Udp => ("/proc/net/udp", "07"),
            _ => ("/proc/net/tcp", "0A"),
        };
        let local = format!("0100007F:{:04X}", self.port);
        let deadline = Instant::now() + READY_TIMEOUT;
        loop {
            let listening = fs::read_to_string(table).expect("/proc/net").lines().any(|line| {
                let fields: Vec<&str> = line.split_whitespace().collect();
                fields.get(1) == Some(&local.as_str()) && fields.get(3) == Some(&state)
            });
            if listening {
                return;
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                self.child = None;
                panic!("rsyslogd exited ({status}) before listening on port {}\n{}", self.port, self.log());
            }
            if Instant::now() > deadline {
                panic!("rsyslogd did not listen on port {} within {READY_TIMEOUT:?}\n{}", self.port, self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Rsyslog {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Debian's rsyslog-gnutls: /usr/lib/<multiarch triplet>/rsyslog/lmnsd_gtls.so.
fn gtls_driver_installed() -> bool {
    let libs = fs::read_dir("/usr/lib").into_iter().flatten().flatten().map(|e| e.path());
    std::iter::once(PathBuf::from("/usr/lib")).chain(libs).any(|lib| lib.join("rsyslog/lmnsd_gtls.so").exists())
}

/// A message cut to a readable length for a panic message.
fn abbreviated(message: &str) -> String {
    if message.len() <= 400 {
        return message.to_string();
    }
    let cut = (0..=400).rev().find(|&i| message.is_char_boundary(i)).unwrap_or(0);
    format!("{}… ({} bytes)", &message[..cut], message.len())
}

fn config(dir: &Path, options: RsyslogOptions, port: u16) -> String {
    let d = dir.display();
    // Global settings first: maxMessageSize must be set before the inputs are loaded.
    let mut conf = format!(
        r#"# A test receiver: written by server/tests/common/rsyslog.rs
global(
  workDirectory="{d}"
  maxMessageSize="{MAX_MESSAGE_SIZE}"
  processInternalMessages="on"
  net.enableDNS="off"
  parser.escapeControlCharactersOnReceive="off"
  parser.escape8BitCharactersOnReceive="off"
"#
    );
    if options.transport == Transport::Tls {
        conf += &format!(
            r#"  defaultNetstreamDriver="gtls"
  defaultNetstreamDriverCAFile="{d}/tls/ca.pem"
  defaultNetstreamDriverCertFile="{d}/tls/server.pem"
  defaultNetstreamDriverKeyFile="{d}/tls/server.key"
"#
        );
    }
    conf += &format!(
        r#")

template(name="received_raw" type="string" string="%rawmsg%\n")
template(name="received_json" type="string" string="%rawmsg:::json%\n")
ruleset(name="received") {{
  action(type="omfile" file="{d}/received.log" template="received_raw" flushOnTXEnd="on" asyncWriting="off")
  action(type="omfile" file="{d}/received.json" template="received_json" flushOnTXEnd="on" asyncWriting="off")
}}

"#
    );
    conf += &match options.transport {
        Transport::Tls => {
            let auth = if options.require_client_cert { "x509/certvalid" } else { "anon" };
            let priority = if options.allow_tls13 { r#" gnutlsPriorityString="NORMAL""# } else { "" };
            format!(
                r#"module(load="imtcp" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="{auth}")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="received"{priority})
"#
            )
        }
        Transport::Tcp => format!(
            r#"module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="{port}" ruleset="received")
"#
        ),
        Transport::Udp => format!(
            r#"module(load="imudp")
input(type="imudp" address="127.0.0.1" port="{port}" ruleset="received" rcvbufSize="4m")
"#
        ),
    };
    // rsyslog's own messages (default ruleset): its log, not the system's.
    conf += &format!("\n*.* action(type=\"omfile\" file=\"{d}/rsyslogd.log\")\n");
    conf
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl").args(args).current_dir(dir).output().unwrap_or_else(|e| panic!("running openssl (needed for the TLS test material): {e}"));
    assert!(out.status.success(), "openssl {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// CA, server and client certificates (EC P-256, 30 days) and an unrelated CA, in `dir`.
fn make_tls_material(dir: &Path) {
    if dir.join("other-ca.pem").exists() {
        return; // made by an earlier start in the same directory
    }
    fs::create_dir_all(dir).expect("tls dir");
    let key = |name: &str| openssl(dir, &["genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", name]);
    let ca = |key_file: &str, out: &str| {
        openssl(dir, &["req", "-x509", "-new", "-key", key_file, "-subj", "/CN=Auditorium test CA", "-days", "30", "-out", out,
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign"]);
    };
    let leaf = |name: &str, subject: &str, extensions: &str| {
        key(&format!("{name}.key"));
        openssl(dir, &["req", "-new", "-key", &format!("{name}.key"), "-subj", subject, "-out", &format!("{name}.csr")]);
        let common = "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n";
        fs::write(dir.join(format!("{name}.ext")), format!("{common}{extensions}\n")).expect("ext file");
        openssl(dir, &["x509", "-req", "-in", &format!("{name}.csr"), "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "30", "-extfile", &format!("{name}.ext"), "-out", &format!("{name}.pem")]);
    };
    key("ca.key");
    ca("ca.key", "ca.pem");
    leaf("server", "/CN=localhost", "extendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost");
    leaf("client", "/CN=auditorium-test-client", "extendedKeyUsage=clientAuth");
    key("other-ca.key");
    ca("other-ca.key", "other-ca.pem");
}
