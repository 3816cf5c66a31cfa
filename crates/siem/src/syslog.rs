//! RFC 5424 syslog over UDP (RFC 5426: one message per datagram) and TCP (RFC 6587
//! octet counting: `LEN SP MSG`), sent by a background thread from a bounded queue.
//!
//! The caller never blocks: [`SyslogSender::send`] drops the message (and counts it)
//! when the queue is full, e.g. while the collector is down. Over TCP a dead connection
//! is noticed before each write (a peer that closed reads as end of file) or by a failed
//! write; the sender reconnects with exponential back-off (100 ms to 5 s) and sends the
//! message again, so nothing is lost that was still queued. [`SyslogSender::close`]
//! drains the queue for at most a given time.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use crate::SiemError;

/// Transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    /// One datagram per message.
    Udp,
    /// Octet-counted frames on one connection.
    Tcp,
}

/// Where and how to send.
#[derive(Debug, Clone)]
pub struct SyslogConfig {
    /// Transport.
    pub protocol: Protocol,
    /// Collector address.
    pub addr: SocketAddr,
    /// Queue capacity (messages).
    pub queue: usize,
    /// Facility (16 = local0).
    pub facility: u8,
    /// HOSTNAME field.
    pub hostname: String,
    /// APP-NAME field.
    pub app_name: String,
    /// Longest wait between reconnection attempts.
    pub max_backoff: Duration,
}

impl SyslogConfig {
    /// Parses `udp://HOST:PORT` or `tcp://HOST:PORT`.
    pub fn from_url(url: &str) -> Result<SyslogConfig, SiemError> {
        let (protocol, rest) = if let Some(r) = url.strip_prefix("udp://") {
            (Protocol::Udp, r)
        } else if let Some(r) = url.strip_prefix("tcp://") {
            (Protocol::Tcp, r)
        } else {
            return Err(SiemError::BadUrl(url.to_string()));
        };
        let rest = rest.trim_end_matches('/');
        if rest.is_empty() || !rest.contains(':') {
            return Err(SiemError::BadUrl(url.to_string()));
        }
        let addr = rest
            .to_socket_addrs()
            .map_err(|source| SiemError::Resolve {
                url: url.to_string(),
                source,
            })?
            .next()
            .ok_or_else(|| SiemError::BadUrl(url.to_string()))?;
        Ok(SyslogConfig {
            protocol,
            addr,
            queue: 10_000,
            facility: 16,
            hostname: hostname(),
            app_name: "sluice".into(),
            max_backoff: Duration::from_secs(5),
        })
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/etc/hostname")
        .ok()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_graphic()))
        .map(|s| s.chars().take(255).collect())
        .unwrap_or_else(|| "-".into())
}

/// Counters of a sender.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyslogStats {
    /// Messages written to the socket.
    pub sent: u64,
    /// Messages dropped (queue full, or still queued when closing timed out).
    pub dropped: u64,
    /// Connections re-established after a loss (TCP).
    pub reconnects: u64,
    /// Send or connect errors.
    pub errors: u64,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    dropped: AtomicU64,
    reconnects: AtomicU64,
    errors: AtomicU64,
}

impl Counters {
    fn snapshot(&self) -> SyslogStats {
        SyslogStats {
            sent: self.sent.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            reconnects: self.reconnects.load(Ordering::Relaxed),
            errors: self.errors.load(Ordering::Relaxed),
        }
    }
}

/// Formats one RFC 5424 message: `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID - MSG`.
pub fn rfc5424(
    facility: u8,
    severity: u8,
    ts_ns: i64,
    hostname: &str,
    app: &str,
    msgid: &str,
    msg: &str,
) -> String {
    let pri = u16::from(facility.min(23)) * 8 + u16::from(severity.min(7));
    let ts = sluice_engine::time::rfc3339(ts_ns);
    // RFC 5424 allows at most 6 fraction digits.
    let ts = match ts.split_once('.') {
        Some((a, b)) => {
            let digits: String = b.chars().filter(char::is_ascii_digit).take(6).collect();
            format!("{a}.{digits}Z")
        }
        None => ts,
    };
    let field = |s: &str, max: usize| -> String {
        let f: String = s
            .chars()
            .filter(|c| c.is_ascii_graphic())
            .take(max)
            .collect();
        if f.is_empty() {
            "-".into()
        } else {
            f
        }
    };
    format!(
        "<{pri}>1 {ts} {} {} {} {} - {msg}",
        field(hostname, 255),
        field(app, 48),
        std::process::id(),
        field(msgid, 32)
    )
}

struct Shared {
    counters: Counters,
    deadline: Mutex<Option<Instant>>,
    closing: AtomicBool,
}

impl Shared {
    fn past_deadline(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
            && self
                .deadline
                .lock()
                .map(|d| d.is_some_and(|d| Instant::now() >= d))
                .unwrap_or(true)
    }
}

/// A running sender.
pub struct SyslogSender {
    tx: Option<SyncSender<String>>,
    shared: Arc<Shared>,
    handle: Option<JoinHandle<()>>,
    cfg: SyslogConfig,
}

impl SyslogSender {
    /// Starts the sender thread (it connects lazily, on the first message).
    pub fn start(cfg: SyslogConfig) -> Result<SyslogSender, SiemError> {
        let (tx, rx) = sync_channel::<String>(cfg.queue.max(1));
        let shared = Arc::new(Shared {
            counters: Counters::default(),
            deadline: Mutex::new(None),
            closing: AtomicBool::new(false),
        });
        let s2 = Arc::clone(&shared);
        let c2 = cfg.clone();
        let handle = std::thread::Builder::new()
            .name("sluice-syslog".into())
            .spawn(move || worker(c2, rx, s2))
            .map_err(SiemError::Thread)?;
        Ok(SyslogSender {
            tx: Some(tx),
            shared,
            handle: Some(handle),
            cfg,
        })
    }

    /// Queues one message body with a syslog severity; never blocks.
    pub fn send(&self, msg: &str, severity: u8) {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
            .unwrap_or(0);
        let line = rfc5424(
            self.cfg.facility,
            severity,
            now,
            &self.cfg.hostname,
            &self.cfg.app_name,
            "alert",
            msg,
        );
        self.send_raw(line);
    }

    /// Queues one complete syslog message; never blocks.
    pub fn send_raw(&self, line: String) {
        let Some(tx) = &self.tx else { return };
        match tx.try_send(line) {
            Ok(()) => {}
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.shared.counters.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> SyslogStats {
        self.shared.counters.snapshot()
    }

    /// Stops accepting messages, sends what is queued for at most `timeout` (the rest is
    /// dropped and counted), and returns the counters.
    pub fn close(mut self, timeout: Duration) -> SyslogStats {
        if let Ok(mut d) = self.shared.deadline.lock() {
            *d = Some(Instant::now() + timeout);
        }
        self.shared.closing.store(true, Ordering::Relaxed);
        drop(self.tx.take());
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.shared.counters.snapshot()
    }
}

impl Drop for SyslogSender {
    fn drop(&mut self) {
        if self.handle.is_some() {
            if let Ok(mut d) = self.shared.deadline.lock() {
                *d = Some(Instant::now() + Duration::from_secs(2));
            }
            self.shared.closing.store(true, Ordering::Relaxed);
            drop(self.tx.take());
            if let Some(h) = self.handle.take() {
                let _ = h.join();
            }
        }
    }
}

/// Whether a connected TCP peer has closed (reads end of file) or failed.
fn peer_gone(s: &mut TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return true;
    }
    let mut b = [0u8; 256];
    let gone = loop {
        match s.read(&mut b) {
            Ok(0) => break true,
            Ok(_) => continue, // collectors send nothing; discard anything they do
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break false,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => break true,
        }
    };
    gone || s.set_nonblocking(false).is_err()
}

fn worker(cfg: SyslogConfig, rx: Receiver<String>, shared: Arc<Shared>) {
    let c = &shared.counters;
    let mut udp: Option<UdpSocket> = None;
    let mut tcp: Option<TcpStream> = None;
    let mut connected_once = false;
    let mut backoff = Duration::from_millis(100);
    loop {
        let msg = match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(m) => m,
            Err(RecvTimeoutError::Timeout) => {
                if shared.past_deadline() {
                    break;
                }
                continue;
            }
            Err(RecvTimeoutError::Disconnected) => break,
        };
        if shared.past_deadline() {
            c.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match cfg.protocol {
            Protocol::Udp => {
                if udp.is_none() {
                    let bind: SocketAddr = if cfg.addr.is_ipv4() {
                        SocketAddr::from(([0, 0, 0, 0], 0))
                    } else {
                        SocketAddr::from(([0u16; 8], 0))
                    };
                    udp = UdpSocket::bind(bind)
                        .and_then(|s| s.connect(cfg.addr).map(|()| s))
                        .ok();
                }
                let bytes = msg.as_bytes();
                let datagram = bytes.get(..bytes.len().min(65_000)).unwrap_or(bytes);
                match udp.as_ref().map(|s| s.send(datagram)) {
                    Some(Ok(_)) => {
                        c.sent.fetch_add(1, Ordering::Relaxed);
                    }
                    _ => {
                        c.errors.fetch_add(1, Ordering::Relaxed);
                        c.dropped.fetch_add(1, Ordering::Relaxed);
                        udp = None;
                    }
                }
            }
            Protocol::Tcp => {
                let frame = format!("{} {}", msg.len(), msg);
                loop {
                    if let Some(s) = tcp.as_mut() {
                        if peer_gone(s) {
                            tcp = None;
                        }
                    }
                    if tcp.is_none() {
                        match TcpStream::connect_timeout(&cfg.addr, Duration::from_secs(2)) {
                            Ok(s) => {
                                let _ = s.set_nodelay(true);
                                let _ = s.set_write_timeout(Some(Duration::from_secs(5)));
                                if connected_once {
                                    c.reconnects.fetch_add(1, Ordering::Relaxed);
                                }
                                connected_once = true;
                                backoff = Duration::from_millis(100);
                                tcp = Some(s);
                            }
                            Err(_) => {
                                c.errors.fetch_add(1, Ordering::Relaxed);
                                if shared.past_deadline() {
                                    c.dropped.fetch_add(1, Ordering::Relaxed);
                                    break;
                                }
                                std::thread::sleep(backoff);
                                backoff = (backoff * 2).min(cfg.max_backoff);
                                continue;
                            }
                        }
                    }
                    let Some(s) = tcp.as_mut() else { continue };
                    match s.write_all(frame.as_bytes()) {
                        Ok(()) => {
                            c.sent.fetch_add(1, Ordering::Relaxed);
                            break;
                        }
                        Err(_) => {
                            c.errors.fetch_add(1, Ordering::Relaxed);
                            tcp = None;
                        }
                    }
                }
            }
        }
    }
    // Whatever is still queued after the deadline is dropped.
    while rx.try_recv().is_ok() {
        c.dropped.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_format() {
        let m = rfc5424(
            16,
            3,
            1_612_530_081_123_456_789,
            "sensor1",
            "sluice",
            "alert",
            "CEF:0|x",
        );
        assert!(
            m.starts_with("<131>1 2021-02-05T13:01:21.123456Z sensor1 sluice "),
            "{m}"
        );
        assert!(m.ends_with(" alert - CEF:0|x"), "{m}");
        let m = rfc5424(16, 3, 1_612_530_081_000_000_000, "", "", "", "x");
        assert!(m.contains(" - - "), "{m}");
    }

    #[test]
    fn urls() {
        assert_eq!(
            SyslogConfig::from_url("udp://127.0.0.1:5514")
                .unwrap()
                .protocol,
            Protocol::Udp
        );
        let c = SyslogConfig::from_url("tcp://127.0.0.1:6514").unwrap();
        assert_eq!(c.addr, "127.0.0.1:6514".parse().unwrap());
        assert!(SyslogConfig::from_url("http://x:1").is_err());
        assert!(SyslogConfig::from_url("tcp://nohost").is_err());
    }
}
