//! How much of what was written to a TCP connection the receiver's TCP has acknowledged:
//! bytes written to the socket (counted below TLS, so TLS records count too) minus the
//! socket's send queue, which Linux shows as `tx_queue` in /proc/net/tcp{,6} (no unsafe code
//! needed). A syslog batch counts as received only once every byte up to its end is
//! acknowledged: data still in our send buffer, or sent but unacknowledged, is never counted.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A TCP stream that counts the bytes written to it.
pub struct Counted {
    inner: TcpStream,
    written: Arc<AtomicU64>,
}

impl Counted {
    pub fn new(inner: TcpStream) -> (Counted, Arc<AtomicU64>) {
        let written = Arc::new(AtomicU64::new(0));
        (Counted { inner, written: written.clone() }, written)
    }
}

impl AsyncRead for Counted {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for Counted {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = &polled {
            self.written.fetch_add(*n as u64, Ordering::AcqRel);
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// An address as /proc/net/tcp{,6} prints it: the address's 32-bit words in host (little-
/// endian) order as hex, then the port.
pub fn proc_address(addr: SocketAddr) -> String {
    let words: Vec<[u8; 4]> = match addr {
        SocketAddr::V4(a) => vec![a.ip().octets()],
        SocketAddr::V6(a) => a.ip().octets().chunks(4).map(|c| [c[0], c[1], c[2], c[3]]).collect(),
    };
    let hex: String = words.iter().map(|w| format!("{:08X}", u32::from_le_bytes(*w))).collect();
    format!("{hex}:{:04X}", addr.port())
}

/// The send queue (bytes written and not yet acknowledged by the peer) of the connection
/// `local → peer` in a /proc/net/tcp table's text.
pub fn send_queue(table: &str, local: SocketAddr, peer: SocketAddr) -> Option<u64> {
    let (local, peer) = (proc_address(local), proc_address(peer));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        (fields.get(1) == Some(&local.as_str()) && fields.get(2) == Some(&peer.as_str()))
            .then(|| fields.get(4).and_then(|q| q.split(':').next()).and_then(|tx| u64::from_str_radix(tx, 16).ok()))
            .flatten()
    })
}

/// Bytes of the connection the peer has acknowledged; None where the kernel does not say
/// (not Linux): then the connection staying open is all there is to go by.
pub fn acknowledged(written: u64, local: SocketAddr, peer: SocketAddr) -> Option<u64> {
    let table = std::fs::read_to_string(if local.is_ipv4() { "/proc/net/tcp" } else { "/proc/net/tcp6" }).ok()?;
    send_queue(&table, local, peer).map(|queued| written.saturating_sub(queued))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_written_as_the_kernel_does() {
        assert_eq!(proc_address("127.0.0.1:8080".parse().expect("addr")), "0100007F:1F90");
        assert_eq!(proc_address("[::1]:514".parse().expect("addr")), "00000000000000000000000001000000:0202");
    }

    #[test]
    fn the_send_queue_of_one_connection_is_found() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0 100 0 0 10 0
   1: 0100007F:9C40 0100007F:1F90 01 000001F4:00000000 01:00000014 00000000     0        0 2 1 0 20 4 30 10 -1";
        let (local, peer) = ("127.0.0.1:40000".parse().expect("addr"), "127.0.0.1:8080".parse().expect("addr"));
        assert_eq!(send_queue(table, local, peer), Some(500));
        assert_eq!(send_queue(table, peer, local), None);
    }

    #[tokio::test]
    async fn a_live_connection_shows_everything_acknowledged_once_the_peer_read_it() {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let peer = listener.local_addr().expect("addr");
        let (tcp, accepted) = tokio::join!(TcpStream::connect(peer), listener.accept());
        let tcp = tcp.expect("connect");
        let local = tcp.local_addr().expect("addr");
        let (mut counted, written) = Counted::new(tcp);
        counted.write_all(&[7u8; 10_000]).await.expect("write");
        let mut buf = vec![0u8; 10_000];
        accepted.expect("accept").0.read_exact(&mut buf).await.expect("read");
        let total = written.load(Ordering::Acquire);
        assert_eq!(total, 10_000);
        let mut acked = None;
        for _ in 0..100 {
            acked = acknowledged(total, local, peer);
            if acked == Some(total) {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(acked, Some(10_000));
    }
}
