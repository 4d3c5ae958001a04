//! A connection to one destination and sending a batch over it. Syslog over TCP or TLS has
//! no acknowledgements: a batch counts as delivered once the connection has stayed open for
//! [`STREAM_GRACE`] after it was written (a receiver that goes away closes the connection,
//! which a reader task notices; what was written shortly before is then sent again). HTTP
//! destinations acknowledge each batch with a 2xx answer. UDP is best effort.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use app::destinations::{DestinationKind, DestinationSettings, SyslogTransport};
use app::event::Event;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};
use tokio::net::{TcpStream, UdpSocket};

use super::format::{self, HecFields};
use super::tls::Certificates;

/// How long a written syslog batch must be followed by an open connection to count.
pub const STREAM_GRACE: Duration = Duration::from_secs(1);
/// Connecting, writing a batch, or an HTTP answer: each waits at most this long.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// Everything needed to reach one destination.
#[derive(Clone)]
pub struct Target {
    pub id: uuid::Uuid,
    pub settings: DestinationSettings,
    /// HEC token or webhook secret, opened.
    pub secret: Option<String>,
    pub certs: Certificates,
    /// This instance's name in syslog headers.
    pub hostname: String,
}

/// Secrets stay out of debug output.
impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target").field("id", &self.id).field("settings", &self.settings).field("secret", &self.secret.as_ref().map(|_| "(set)")).finish_non_exhaustive()
    }
}

pub trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

pub enum Link {
    Stream {
        writer: WriteHalf<Box<dyn Io>>,
        closed: Arc<Mutex<Option<String>>>,
        reader: tokio::task::JoinHandle<()>,
        target: Target,
        /// Bytes written to the TCP socket (TLS records included), and its two ends.
        written: Arc<std::sync::atomic::AtomicU64>,
        ends: (std::net::SocketAddr, std::net::SocketAddr),
    },
    Udp { socket: UdpSocket, target: Target },
    Http { client: reqwest::Client, target: Target },
}

impl Drop for Link {
    fn drop(&mut self) {
        if let Link::Stream { reader, .. } = self {
            reader.abort();
        }
    }
}

async fn within<T>(what: &str, future: impl std::future::Future<Output = Result<T, String>>) -> Result<T, String> {
    tokio::time::timeout(TIMEOUT, future).await.unwrap_or_else(|_| Err(format!("{what} timed out after {} s", TIMEOUT.as_secs())))
}

impl Link {
    pub async fn connect(target: &Target) -> Result<Link, String> {
        let s = &target.settings;
        match s.kind {
            DestinationKind::Syslog => {
                let address = format!("{}:{}", s.host, s.port);
                if s.transport == SyslogTransport::Udp {
                    let socket = UdpSocket::bind(if s.host.contains(':') { "[::]:0" } else { "0.0.0.0:0" }).await.map_err(|e| format!("UDP socket: {e}"))?;
                    socket.connect(&address).await.map_err(|e| format!("{address}: {e}"))?;
                    return Ok(Link::Udp { socket, target: target.clone() });
                }
                let tcp = within("connecting", async { TcpStream::connect(&address).await.map_err(|e| format!("connecting to {address}: {e}")) }).await?;
                let _ = tcp.set_nodelay(true);
                let ends = (tcp.local_addr().map_err(|e| e.to_string())?, tcp.peer_addr().map_err(|e| e.to_string())?);
                let (tcp, written) = super::tcp_acks::Counted::new(tcp);
                let io: Box<dyn Io> = if s.transport == SyslogTransport::Tls {
                    let config = target.certs.rustls()?;
                    let name = rustls_pki_types::ServerName::try_from(s.host.clone()).map_err(|e| format!("{}: {e}", s.host))?;
                    let connector = tokio_rustls::TlsConnector::from(config);
                    Box::new(within("the TLS handshake", async { connector.connect(name, tcp).await.map_err(|e| format!("TLS with {address}: {e}")) }).await?)
                } else {
                    Box::new(tcp)
                };
                let (read, writer) = tokio::io::split(io);
                let closed = Arc::new(Mutex::new(None));
                let reader = tokio::spawn(watch_close(read, closed.clone()));
                Ok(Link::Stream { writer, closed, reader, target: target.clone(), written, ends })
            }
            DestinationKind::SplunkHec | DestinationKind::Webhook => Ok(Link::Http { client: target.certs.http_client(TIMEOUT)?, target: target.clone() }),
        }
    }

    /// How long after a successful send the batch counts as delivered.
    pub fn grace(&self) -> Duration {
        match self {
            Link::Stream { .. } => STREAM_GRACE,
            _ => Duration::ZERO,
        }
    }

    /// Bytes written so far, and how many of them the receiver's TCP has acknowledged (None
    /// for HTTP and UDP, or where the kernel does not say).
    pub fn progress(&self) -> (u64, Option<u64>) {
        match self {
            Link::Stream { written, ends, .. } => {
                let total = written.load(std::sync::atomic::Ordering::Acquire);
                (total, super::tcp_acks::acknowledged(total, ends.0, ends.1))
            }
            _ => (0, None),
        }
    }

    /// Whether the receiver closed the connection (then what was written lately is in doubt).
    pub fn check(&self) -> Result<(), String> {
        match self {
            Link::Stream { closed, .. } => match closed.lock().unwrap_or_else(|e| e.into_inner()).clone() {
                Some(reason) => Err(reason),
                None => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Sends the events; the answer (HTTP status and body, or what was written).
    pub async fn send(&mut self, events: &[&Event]) -> Result<String, String> {
        self.check()?;
        match self {
            Link::Stream { writer, target, .. } => {
                let mut bytes = Vec::with_capacity(events.len() * 700);
                for event in events {
                    format::frame(&format::syslog_message(event, &target.hostname, target.settings.format), &mut bytes);
                }
                within("writing", async {
                    writer.write_all(&bytes).await.map_err(|e| format!("writing: {e}"))?;
                    writer.flush().await.map_err(|e| format!("writing: {e}"))
                })
                .await?;
                Ok(format!("{} messages written ({} bytes)", events.len(), bytes.len()))
            }
            Link::Udp { socket, target } => {
                for event in events {
                    let message = format::syslog_message(event, &target.hostname, target.settings.format);
                    socket.send(format::datagram(&message).as_bytes()).await.map_err(|e| format!("sending a datagram: {e}"))?;
                }
                Ok(format!("{} datagrams sent", events.len()))
            }
            Link::Http { client, target } => post(client, target, events).await,
        }
    }
}

/// Reads (and drops) whatever the receiver sends until it closes the connection.
async fn watch_close(mut read: ReadHalf<Box<dyn Io>>, closed: Arc<Mutex<Option<String>>>) {
    let mut buf = [0u8; 1024];
    let reason = loop {
        match read.read(&mut buf).await {
            Ok(0) => break "the receiver closed the connection".to_string(),
            Ok(_) => continue,
            Err(e) => break format!("the connection broke: {e}"),
        }
    };
    *closed.lock().unwrap_or_else(|e| e.into_inner()) = Some(reason);
}

/// The HEC endpoint for a collector URL given with or without its path.
pub fn hec_endpoint(url: &str) -> String {
    let url = url.trim_end_matches('/');
    if url.ends_with("/services/collector/event") {
        url.to_string()
    } else if url.ends_with("/services/collector") {
        format!("{url}/event")
    } else {
        format!("{url}/services/collector/event")
    }
}

/// A webhook message id: the same whenever exactly the same events are sent again (a
/// retried batch usually holds more events, so receivers de-duplicate on event ids).
pub fn webhook_id(destination: uuid::Uuid, events: &[&Event]) -> String {
    use sha2::{Digest, Sha256};
    let mut hash = Sha256::new();
    for event in events {
        hash.update(event.id.as_bytes());
    }
    let digest = hash.finalize();
    let hex: String = digest[..12].iter().map(|b| format!("{b:02x}")).collect();
    format!("msg_{}_{hex}", destination.simple())
}

async fn post(client: &reqwest::Client, target: &Target, events: &[&Event]) -> Result<String, String> {
    let s = &target.settings;
    let request = match s.kind {
        DestinationKind::SplunkHec => {
            let fields = HecFields { index: s.index.clone(), source: s.source.clone(), sourcetype: s.sourcetype.clone() };
            let mut body = String::with_capacity(events.len() * 700);
            for event in events {
                format::hec_envelope(event, &fields, &mut body);
            }
            client
                .post(hec_endpoint(&s.url))
                .header("Authorization", format!("Splunk {}", target.secret.as_deref().unwrap_or_default()))
                .header("Content-Type", "application/json")
                .body(body)
        }
        _ => {
            let body = format::ndjson(events);
            let id = webhook_id(target.id, events);
            let timestamp = chrono::Utc::now().timestamp();
            let signature = crate::alerts::webhook::sign(target.secret.as_deref().unwrap_or_default(), &id, timestamp, &body).ok_or("the webhook secret is not usable")?;
            client
                .post(&s.url)
                .header("Content-Type", "application/x-ndjson")
                .header("webhook-id", id)
                .header("webhook-timestamp", timestamp.to_string())
                .header("webhook-signature", signature)
                .body(body)
        }
    };
    let answer = request.send().await.map_err(|e| describe(&e))?;
    let status = answer.status();
    // At most 4 KB of the answer is read (a receiver may answer with anything).
    let mut body = Vec::new();
    let mut answer = answer;
    while let Ok(Some(chunk)) = answer.chunk().await {
        body.extend_from_slice(&chunk);
        if body.len() >= 4096 {
            break;
        }
    }
    let text: String = String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(300).collect();
    let said = format!("HTTP {}{}{}", status.as_u16(), if text.is_empty() { "" } else { ": " }, text);
    if status.is_success() {
        Ok(said)
    } else {
        Err(said)
    }
}

/// reqwest's error with its causes (the first line alone often says only "error sending request").
fn describe(e: &reqwest::Error) -> String {
    let mut text = e.to_string();
    // The URL may carry a token in its query: only its host is named.
    if let Some(url) = e.url() {
        text = text.replace(url.as_str(), url.host_str().unwrap_or("the receiver"));
    }
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hec_endpoint_is_found_from_any_collector_url() {
        assert_eq!(hec_endpoint("https://s:8088"), "https://s:8088/services/collector/event");
        assert_eq!(hec_endpoint("https://s:8088/services/collector/"), "https://s:8088/services/collector/event");
        assert_eq!(hec_endpoint("https://s:8088/services/collector/event"), "https://s:8088/services/collector/event");
    }

    #[test]
    fn a_webhook_id_is_stable_for_the_same_batch() {
        let event = crate::test_support::sample_event();
        let id = uuid::Uuid::from_u128(5);
        assert_eq!(webhook_id(id, &[&event]), webhook_id(id, &[&event]));
        let mut other = crate::test_support::sample_event();
        other.id = uuid::Uuid::from_u128(2);
        assert_ne!(webhook_id(id, &[&event]), webhook_id(id, &[&other]), "another batch of the same size");
        assert_ne!(webhook_id(id, &[&event]), webhook_id(id, &[&event, &other]));
    }
}
