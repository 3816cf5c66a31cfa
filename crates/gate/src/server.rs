//! The running gate: listeners (Modbus/TCP Security over TLS, plain Modbus/TCP from
//! listed addresses), one task pair per client (reader deciding, writer answering),
//! the decision path (role, critical registers and approvals, safety envelopes) and
//! hot reload.

use crate::approval::{now_ns, Approvals};
use crate::audit::{
    Action, AuditMsg, AuditRecord, AuditSender, CertInfo, Decision, DenyKind, PeerInfo,
    RequestInfo, Transport,
};
use crate::config::{canonical, Config, ConfigError, DenyException, Located, Role, Table};
use crate::ranges::RangeSet;
use crate::request::{analyse, written_coils, written_registers, Access, Class};
use crate::tls::{self, RoleError, TlsSetup};
use crate::upstream::{Frame, Reply, ReplyTo, UpHandle, UpReq, Upstream, GATEWAY_TARGET_FAILED};
use rustls_pki_types::CertificateDer;
use serde_json::{json, Value};
use sluice_policy::{Envelope, Policy, PolicyError};
use sluice_proto::modbus::encode;
use sluice_proto::modbus::parser::{check_header, decode_response, Response, MAX_LENGTH};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch, OwnedSemaphorePermit, Semaphore};

/// Everything loaded from the configuration and the files it names.
#[derive(Debug)]
pub struct Snapshot {
    pub generation: u64,
    pub config: Config,
    pub policy: Option<Policy>,
    pub tls: Option<TlsSetup>,
}

fn policy_error(cfg: &Config, l: &Located, e: PolicyError) -> ConfigError {
    let message = match &e {
        PolicyError::Syntax { message, .. } => message.clone(),
        PolicyError::Invalid { diagnostics } => diagnostics
            .iter()
            .find(|d| d.severity == sluice_policy::Severity::Error)
            .map_or_else(|| e.to_string(), |d| d.message.clone()),
        PolicyError::Io { .. } => return cfg.error_at(&l.place, e.to_string()),
    };
    match e.location() {
        Some(loc) if loc.line > 0 => ConfigError {
            file: loc.file.clone(),
            line: loc.line,
            column: loc.column,
            message: format!("policy: {message}"),
        },
        _ => cfg.error_at(&l.place, format!("policy {}: {e}", l.path.display())),
    }
}

impl Snapshot {
    /// Reads the TLS material and the policy a configuration names.
    pub fn load(config: Config, generation: u64) -> Result<Snapshot, ConfigError> {
        let tls = match &config.tls {
            Some(f) => Some(tls::setup(&config, f)?),
            None => None,
        };
        let policy = match &config.policy {
            Some(l) => Some(Policy::load(&l.path).map_err(|e| policy_error(&config, l, e))?),
            None => None,
        };
        if config.listen_plain.is_some() && config.plain_clients.is_empty() {
            tracing::warn!(
                "{}: listen_plain is set but no [[plain_client]] is listed: every plain connection will be refused",
                config.path.display()
            );
        }
        if let Some(p) = &policy {
            if !p.envelopes().is_empty() && !p.envelopes().iter().any(|e| e.device == config.device)
            {
                tracing::warn!(
                    "{}: no [[envelope]] of the policy names device {}: no envelope applies (set device = \"...\" in [gate] to the PLC's address in the policy)",
                    config.path.display(),
                    config.device
                );
            }
        }
        Ok(Snapshot {
            generation,
            config,
            policy,
            tls,
        })
    }

    fn deny_code(&self, auto: u8) -> u8 {
        match self.config.deny_exception {
            DenyException::Auto => auto,
            DenyException::Code(c) => c,
        }
    }

    /// Envelopes bounding some register of a holding-register write.
    fn envelopes_hit(&self, unit: u8, start: u16, count: u16) -> bool {
        let Some(p) = &self.policy else { return false };
        let last = u32::from(start) + u32::from(count).saturating_sub(1);
        p.envelopes().iter().any(|e| {
            e.device == self.config.device
                && e.unit.is_none_or(|u| u == unit)
                && u32::from(e.registers.first) <= last
                && u32::from(e.registers.last) >= u32::from(start)
        })
    }

    fn envelope(&self, unit: u8, register: u16) -> Option<&Envelope> {
        self.policy
            .as_ref()?
            .envelope(self.config.device, unit, register)
    }

    /// The critical registers a write touches: (table, registers) or `None`.
    fn critical_hit(&self, unit: u8, table: Table, start: u16, count: u16) -> Option<RangeSet> {
        let mut spans = Vec::new();
        for c in &self.config.critical {
            if c.unit == unit && c.table == table {
                spans.extend_from_slice(c.registers.overlap(start, count).spans());
            }
        }
        (!spans.is_empty()).then(|| RangeSet::from_spans(spans))
    }
}

/// Counters for status.
#[derive(Debug, Default)]
pub struct Stats {
    pub allowed: AtomicU64,
    pub denied: AtomicU64,
    pub errors: AtomicU64,
    pub connections: AtomicU64,
}

/// State shared by every task of one gate.
pub struct Shared {
    snapshot: RwLock<Arc<Snapshot>>,
    reload_lock: Mutex<()>,
    pub(crate) audit: AuditSender,
    pub(crate) upstream: Upstream,
    pub(crate) approvals: Mutex<Approvals>,
    write_lock: tokio::sync::Mutex<()>,
    clients: AtomicUsize,
    next_client: AtomicUsize,
    pub(crate) shutdown: watch::Receiver<bool>,
    pub(crate) config_path: PathBuf,
    pub stats: Stats,
}

impl Shared {
    pub(crate) fn new(
        snap: Snapshot,
        audit: AuditSender,
        approvals: Approvals,
        shutdown: watch::Receiver<bool>,
        config_path: PathBuf,
    ) -> Shared {
        let upstream = Upstream::new(
            snap.config.upstream,
            snap.config.limits.clone(),
            shutdown.clone(),
        );
        Shared {
            snapshot: RwLock::new(Arc::new(snap)),
            reload_lock: Mutex::new(()),
            audit,
            upstream,
            approvals: Mutex::new(approvals),
            write_lock: tokio::sync::Mutex::new(()),
            clients: AtomicUsize::new(0),
            next_client: AtomicUsize::new(0),
            shutdown,
            config_path,
            stats: Stats::default(),
        }
    }

    /// The configuration in force.
    pub fn snapshot(&self) -> Arc<Snapshot> {
        match self.snapshot.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// Reads the configuration file again and applies it to new handshakes and to
    /// every request from now on; established connections stay open (a client whose
    /// certificate a new revocation list revokes, or whose address is no longer
    /// listed, is cut off). Listeners, upstream, state, audit log and control socket
    /// keep their start-up values. A bad configuration changes nothing.
    pub fn reload(&self) -> Result<u64, ConfigError> {
        let _g = self.reload_lock.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.snapshot();
        let cfg = Config::load(&self.config_path)?;
        let snap = Snapshot::load(cfg, old.generation + 1)?;
        let (a, b) = (&old.config, &snap.config);
        for (what, changed) in [
            ("listen_tls", a.listen_tls != b.listen_tls),
            ("listen_plain", a.listen_plain != b.listen_plain),
            ("upstream", a.upstream != b.upstream),
            ("state", a.state != b.state),
            ("audit_log", a.audit_log != b.audit_log),
            ("control", a.control != b.control),
            ("events", a.events != b.events),
            ("upstream limits", a.limits != b.limits),
        ] {
            if changed {
                tracing::warn!("reload: {what} changed; it takes effect after a restart");
            }
        }
        let generation = snap.generation;
        match self.snapshot.write() {
            Ok(mut g) => *g = Arc::new(snap),
            Err(p) => *p.into_inner() = Arc::new(snap),
        }
        tracing::info!(
            "configuration {} reloaded (generation {generation})",
            self.config_path.display()
        );
        Ok(generation)
    }

    fn stat(&self, d: Decision) {
        let c = match d {
            Decision::Allow => &self.stats.allowed,
            Decision::Deny => &self.stats.denied,
            Decision::Error => &self.stats.errors,
        };
        c.fetch_add(1, Ordering::Relaxed);
    }

    /// Audits a connection-level decision.
    pub(crate) async fn audit_conn(
        &self,
        peer: &Arc<PeerInfo>,
        action: Action,
        decision: Decision,
        kind: Option<DenyKind>,
        reason: Option<String>,
    ) {
        self.stat(decision);
        self.audit
            .record(AuditRecord {
                ts: now_ns(),
                peer: peer.clone(),
                action,
                decision,
                kind,
                reason,
                request: None,
                exception: None,
                approval_id: None,
                details: None,
            })
            .await;
    }
}

struct ClientGuard(Arc<Shared>);

impl ClientGuard {
    fn new(s: &Arc<Shared>, max: usize) -> Option<ClientGuard> {
        let n = s.clients.fetch_add(1, Ordering::AcqRel);
        if n >= max {
            s.clients.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        s.stats.connections.fetch_add(1, Ordering::Relaxed);
        Some(ClientGuard(s.clone()))
    }
}

impl ClientGuard {
    /// [`ClientGuard::new`], auditing the refused connection when `max` clients are
    /// already connected.
    async fn admit(
        s: &Arc<Shared>,
        max: usize,
        addr: SocketAddr,
        transport: Transport,
    ) -> Option<ClientGuard> {
        let guard = ClientGuard::new(s, max);
        if guard.is_none() {
            let reason = format!("{max} clients connected: max_clients reached");
            s.audit_conn(
                &anonymous(addr, transport),
                Action::Connect,
                Decision::Deny,
                Some(DenyKind::Unavailable),
                Some(reason),
            )
            .await;
        }
        guard
    }
}

impl Drop for ClientGuard {
    fn drop(&mut self) {
        self.0.clients.fetch_sub(1, Ordering::AcqRel);
    }
}

fn anonymous(addr: SocketAddr, transport: Transport) -> Arc<PeerInfo> {
    Arc::new(PeerInfo {
        addr: Some(addr),
        transport,
        identity: canonical(addr.ip()).to_string(),
        role: None,
        cert: None,
    })
}

/// Accepts connections until shutdown.
pub(crate) async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, transport: Transport) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let (sock, addr) = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            r = listener.accept() => match r {
                Ok(x) => x,
                Err(e) => {
                    tracing::warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = sock.set_nodelay(true);
        let shared = shared.clone();
        tokio::spawn(async move {
            match transport {
                Transport::Tls => tls_client(sock, addr, shared).await,
                _ => plain_client(sock, addr, shared).await,
            }
        });
    }
}

async fn tls_client(sock: TcpStream, addr: SocketAddr, shared: Arc<Shared>) {
    let snap = shared.snapshot();
    let max = snap.config.limits.max_clients;
    let Some(_guard) = ClientGuard::admit(&shared, max, addr, Transport::Tls).await else {
        return;
    };
    let Some(setup) = snap.tls.clone() else {
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(setup.server.clone());
    let stream =
        match tokio::time::timeout(snap.config.limits.handshake_timeout, acceptor.accept(sock))
            .await
        {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                let reason = format!("TLS handshake failed: {e}");
                shared
                    .audit_conn(
                        &anonymous(addr, Transport::Tls),
                        Action::Handshake,
                        Decision::Deny,
                        Some(DenyKind::Certificate),
                        Some(reason),
                    )
                    .await;
                return;
            }
            Err(_) => {
                let reason = format!(
                    "TLS handshake not finished within {} ms",
                    snap.config.limits.handshake_timeout.as_millis()
                );
                shared
                    .audit_conn(
                        &anonymous(addr, Transport::Tls),
                        Action::Handshake,
                        Decision::Deny,
                        Some(DenyKind::Certificate),
                        Some(reason),
                    )
                    .await;
                return;
            }
        };
    let chain: Vec<CertificateDer<'static>> = stream
        .get_ref()
        .1
        .peer_certificates()
        .map(|c| c.iter().map(|c| c.clone().into_owned()).collect())
        .unwrap_or_default();
    let Some(ee) = chain.first() else {
        shared
            .audit_conn(
                &anonymous(addr, Transport::Tls),
                Action::Handshake,
                Decision::Deny,
                Some(DenyKind::Certificate),
                Some("no client certificate".into()),
            )
            .await;
        return;
    };
    let id = tls::identify(ee);
    let peer = Arc::new(PeerInfo {
        addr: Some(addr),
        transport: Transport::Tls,
        identity: id.name.clone(),
        role: id.role.as_ref().ok().cloned(),
        cert: Some(CertInfo {
            fingerprint: id.fingerprint.clone(),
            subject: id.subject.clone(),
            serial: id.serial.clone(),
        }),
    });
    let note = match &id.role {
        Ok(r) if snap.config.role(r).is_none() => Some(format!(
            "role {r:?} of the certificate is not configured: every request will be refused"
        )),
        Ok(_) => None,
        Err(e) => Some(format!("{e}: every request will be refused")),
    };
    shared
        .audit_conn(&peer, Action::Handshake, Decision::Allow, None, note)
        .await;
    let (rd, wr) = tokio::io::split(stream);
    let ident = Ident::Tls {
        chain,
        role: id.role,
    };
    run_client(rd, wr, true, peer, ident, shared, &snap).await;
}

async fn plain_client(sock: TcpStream, addr: SocketAddr, shared: Arc<Shared>) {
    let snap = shared.snapshot();
    let max = snap.config.limits.max_clients;
    let Some(_guard) = ClientGuard::admit(&shared, max, addr, Transport::Plain).await else {
        return;
    };
    let ip = canonical(addr.ip());
    let Some(role) = snap.config.plain_role(ip) else {
        let reason = format!("address {ip} is not listed as a [[plain_client]]: connection closed");
        shared
            .audit_conn(
                &anonymous(addr, Transport::Plain),
                Action::Connect,
                Decision::Deny,
                Some(DenyKind::PlainRefused),
                Some(reason),
            )
            .await;
        return;
    };
    let peer = Arc::new(PeerInfo {
        addr: Some(addr),
        transport: Transport::Plain,
        identity: ip.to_string(),
        role: Some(role.to_string()),
        cert: None,
    });
    shared
        .audit_conn(&peer, Action::Connect, Decision::Allow, None, None)
        .await;
    let (rd, wr) = sock.into_split();
    run_client(rd, wr, false, peer, Ident::Plain, shared, &snap).await;
}

/// How a client's role is found again after a reload.
enum Ident {
    Tls {
        chain: Vec<CertificateDer<'static>>,
        role: Result<String, RoleError>,
    },
    Plain,
}

struct Client {
    shared: Arc<Shared>,
    peer: Arc<PeerInfo>,
    ident: Ident,
    generation: u64,
    role: Result<Role, String>,
    tx: mpsc::Sender<Reply>,
    sem: Arc<Semaphore>,
    up: UpHandle,
}

async fn run_client<R, W>(
    rd: R,
    wr: W,
    one_record_per_frame: bool,
    peer: Arc<PeerInfo>,
    ident: Ident,
    shared: Arc<Shared>,
    snap: &Snapshot,
) where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let cap = snap.config.limits.client_max_in_flight.max(1);
    let (tx, rx) = mpsc::channel(cap);
    let writer = tokio::spawn(write_loop(
        wr,
        rx,
        one_record_per_frame,
        shared.clone(),
        peer.clone(),
    ));
    let slot = shared.next_client.fetch_add(1, Ordering::Relaxed);
    let mut c = Client {
        shared: shared.clone(),
        peer,
        ident,
        generation: u64::MAX,
        role: Err(String::new()),
        tx,
        sem: Arc::new(Semaphore::new(cap)),
        up: UpHandle::new(slot),
    };
    c.read_loop(rd).await;
    drop(c);
    let _ = writer.await;
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::Receiver<Reply>,
    one_record_per_frame: bool,
    shared: Arc<Shared>,
    peer: Arc<PeerInfo>,
) {
    let mut out: Vec<u8> = Vec::with_capacity(16 * 1024);
    while let Some(first) = rx.recv().await {
        let mut next = Some(first);
        while let Some(r) = next.take() {
            if let Some(why) = r.upstream_error {
                let f = r.frame;
                shared.stat(Decision::Error);
                shared
                    .audit
                    .record(AuditRecord {
                        ts: now_ns(),
                        peer: peer.clone(),
                        action: Action::Request,
                        decision: Decision::Error,
                        kind: None,
                        reason: Some(why),
                        request: Some(RequestInfo {
                            transaction_id: f.transaction_id(),
                            unit: f.unit(),
                            function_code: f.function_code() & 0x7F,
                            read: None,
                            write: None,
                            values: Vec::new(),
                        }),
                        exception: Some(GATEWAY_TARGET_FAILED),
                        approval_id: None,
                        details: None,
                    })
                    .await;
            }
            if one_record_per_frame {
                // Modbus/TCP Security peers (pymodbus among them) expect one frame per
                // TLS record.
                if wr.write_all(r.frame.as_bytes()).await.is_err() {
                    return;
                }
            } else {
                out.extend_from_slice(r.frame.as_bytes());
            }
            drop(r.permit);
            if out.len() < 12 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        if !out.is_empty() {
            if wr.write_all(&out).await.is_err() {
                return;
            }
            out.clear();
        }
        if wr.flush().await.is_err() {
            return;
        }
    }
    let _ = wr.shutdown().await;
}

/// Largest valid frame: MBAP length 254.
const MAX_VALID_FRAME: usize = 6 + MAX_LENGTH as usize;

/// How the next request of a client's byte stream is delimited (see [`next_frame`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framing {
    /// Fewer than the 6 bytes that tell a frame's length: read more.
    NeedMore,
    /// A frame of this many bytes (8..=260) starts here; it is complete once that many
    /// bytes are buffered.
    Frame(usize),
    /// Not Modbus/TCP, or a length the gate never forwards: the connection is closed
    /// with this reason.
    Close(String),
}

/// Delimits the next request frame at the start of `avail`, the bytes a client sent
/// that are not yet consumed. Pure: the server's read loop and the fuzz harness call it.
pub fn next_frame(avail: &[u8]) -> Framing {
    match check_header(avail) {
        Ok(None) => Framing::NeedMore,
        Ok(Some(len)) if (8..=MAX_VALID_FRAME).contains(&len) => Framing::Frame(len),
        Ok(Some(len)) => Framing::Close(format!(
            "MBAP length {} outside 2..=254: connection closed",
            len - 6
        )),
        Err(e) => Framing::Close(format!("not Modbus/TCP ({e}): connection closed")),
    }
}

/// Where the decision path sends a decoded request once the client's role is known
/// (see [`Snapshot::route`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Route {
    /// The role forbids it: the reason and the automatic exception code (before the
    /// configuration's `deny_exception`).
    Denied(String, u8),
    /// Forwarded to the PLC as it is.
    Forward,
    /// A write to critical registers (which need an approval) or to registers an
    /// envelope bounds: checked against approvals and the PLC's current values first.
    Guarded {
        critical: Option<RangeSet>,
        envelope: bool,
    },
}

impl Snapshot {
    /// Decides what happens to request `a` of a client with `role`: the pure part of
    /// the decision path (role, critical registers, envelopes), without approvals or
    /// the PLC's current values.
    pub fn route(&self, role: &Role, a: &Access<'_>) -> Route {
        if let Some((reason, code)) = role_denial(role, a) {
            return Route::Denied(reason, code);
        }
        let critical = match a.write {
            Some((table, span)) => self.critical_hit(a.unit, table, span.start, span.count),
            None => None,
        };
        let envelope = match a.write {
            Some((Table::HoldingRegister, span)) => {
                self.envelopes_hit(a.unit, span.start, span.count)
            }
            _ => false,
        };
        if critical.is_none() && !envelope {
            Route::Forward
        } else {
            Route::Guarded { critical, envelope }
        }
    }
}

impl Client {
    fn record(
        &self,
        decision: Decision,
        kind: Option<DenyKind>,
        reason: Option<String>,
        request: Option<RequestInfo>,
        exception: Option<u8>,
    ) -> AuditRecord {
        self.shared.stat(decision);
        AuditRecord {
            ts: now_ns(),
            peer: self.peer.clone(),
            action: Action::Request,
            decision,
            kind,
            reason,
            request,
            exception,
            approval_id: None,
            details: None,
        }
    }

    /// Re-derives role and certificate validity when the configuration changed;
    /// false when the client must be cut off.
    async fn refresh(&mut self, snap: &Snapshot) -> bool {
        if snap.generation == self.generation {
            return true;
        }
        let first = self.generation == u64::MAX;
        self.generation = snap.generation;
        match &self.ident {
            Ident::Tls { chain, role } => {
                if !first {
                    if let Some(t) = &snap.tls {
                        if let Err(e) = tls::recheck(t.verifier.as_ref(), chain) {
                            let r = self.record(
                                Decision::Deny,
                                Some(DenyKind::Certificate),
                                Some(format!("certificate no longer accepted after a configuration reload: {e}; connection closed")),
                                None,
                                None,
                            );
                            self.shared
                                .audit
                                .record(AuditRecord {
                                    action: Action::Handshake,
                                    ..r
                                })
                                .await;
                            return false;
                        }
                    }
                }
                self.role = match role {
                    Ok(name) => snap.config.role(name).cloned().ok_or_else(|| {
                        format!("role {name:?} of the certificate is not configured")
                    }),
                    Err(e) => Err(e.to_string()),
                };
            }
            Ident::Plain => {
                let ip = self.peer.addr.map(|a| canonical(a.ip()));
                match ip.and_then(|ip| snap.config.plain_role(ip)) {
                    Some(name) => {
                        if self.peer.role.as_deref() != Some(name) {
                            let mut p = (*self.peer).clone();
                            p.role = Some(name.to_string());
                            self.peer = Arc::new(p);
                        }
                        self.role = snap
                            .config
                            .role(name)
                            .cloned()
                            .ok_or_else(|| format!("role {name:?} is not configured"));
                    }
                    None => {
                        let r = self.record(
                            Decision::Deny,
                            Some(DenyKind::PlainRefused),
                            Some("address no longer listed as a [[plain_client]] after a configuration reload: connection closed".into()),
                            None,
                            None,
                        );
                        self.shared
                            .audit
                            .record(AuditRecord {
                                action: Action::Connect,
                                ..r
                            })
                            .await;
                        return false;
                    }
                }
            }
        }
        true
    }

    async fn read_loop<R: AsyncRead + Unpin>(&mut self, mut rd: R) {
        let mut buf = vec![0u8; 8 * 1024];
        let (mut start, mut end) = (0usize, 0usize);
        let mut shutdown = self.shared.shutdown.clone();
        loop {
            if start == end {
                start = 0;
                end = 0;
            } else if buf.len() - end < MAX_VALID_FRAME {
                buf.copy_within(start..end, 0);
                end -= start;
                start = 0;
            }
            let n = tokio::select! {
                biased;
                _ = shutdown.changed() => return,
                r = rd.read(&mut buf[end..]) => match r {
                    Ok(0) | Err(_) => return,
                    Ok(n) => n,
                },
            };
            end += n;
            let snap = self.shared.snapshot();
            if !self.refresh(&snap).await {
                return;
            }
            loop {
                let avail = buf.get(start..end).unwrap_or_default();
                let len = match next_frame(avail) {
                    Framing::NeedMore => break,
                    Framing::Frame(len) => len,
                    Framing::Close(reason) => {
                        let r = self.record(
                            Decision::Deny,
                            Some(DenyKind::Malformed),
                            Some(reason),
                            None,
                            None,
                        );
                        self.shared.audit.record(r).await;
                        return;
                    }
                };
                let Some(frame) = avail.get(..len) else { break };
                if !self.handle(&snap, frame).await {
                    return;
                }
                start += len;
            }
        }
    }

    /// Sends an answer the gate made itself; false when the client is gone.
    async fn answer(&self, frame: Frame, permit: OwnedSemaphorePermit) -> bool {
        self.tx
            .send(Reply {
                frame,
                upstream_error: None,
                permit: Some(permit),
            })
            .await
            .is_ok()
    }

    #[allow(clippy::too_many_arguments)]
    async fn deny(
        &self,
        a: &Access<'_>,
        info: RequestInfo,
        kind: DenyKind,
        code: u8,
        reason: String,
        details: Option<Value>,
        permit: OwnedSemaphorePermit,
    ) -> bool {
        let mut r = self.record(
            Decision::Deny,
            Some(kind),
            Some(reason),
            Some(info),
            Some(code),
        );
        r.details = details;
        self.shared.audit.record(r).await;
        self.answer(
            Frame::exception(a.transaction_id, a.unit, a.function_code, code),
            permit,
        )
        .await
    }

    /// Decides one request and answers or forwards it; false when the client is gone.
    async fn handle(&mut self, snap: &Snapshot, frame: &[u8]) -> bool {
        let Ok(permit) = self.sem.clone().acquire_owned().await else {
            return false;
        };
        let access = match analyse(frame) {
            Ok(a) => a,
            Err(m) => {
                let byte = |i: usize| frame.get(i).copied().unwrap_or(0);
                let tid = u16::from_be_bytes([byte(0), byte(1)]);
                let (unit, fc) = (byte(6), byte(7));
                let info = RequestInfo {
                    transaction_id: tid,
                    unit,
                    function_code: fc,
                    read: None,
                    write: None,
                    values: Vec::new(),
                };
                let code = m.exception();
                let r = self.record(
                    Decision::Deny,
                    Some(DenyKind::Malformed),
                    Some(m.to_string()),
                    Some(info),
                    Some(code),
                );
                self.shared.audit.record(r).await;
                return self
                    .answer(Frame::exception(tid, unit, fc & 0x7F, code), permit)
                    .await;
            }
        };
        let values: Vec<u16> = match access.write {
            Some((Table::HoldingRegister, _)) => written_registers(&access.request, |_| None)
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
            Some((Table::Coil, _)) => written_coils(&access.request)
                .into_iter()
                .map(|(_, v)| v)
                .collect(),
            None => Vec::new(),
        };
        let info = RequestInfo {
            transaction_id: access.transaction_id,
            unit: access.unit,
            function_code: access.function_code,
            read: access.read,
            write: access.write,
            values: values.into_iter().take(125).collect(),
        };
        if !self.shared.audit.healthy() {
            return self
                .deny(
                    &access,
                    info,
                    DenyKind::Unavailable,
                    4,
                    "the audit trail cannot be written: every request is refused".into(),
                    None,
                    permit,
                )
                .await;
        }
        let unauthorised = if access.class == Class::Write {
            DenyKind::UnauthorisedWrite
        } else {
            DenyKind::Unauthorised
        };
        let role = match &self.role {
            Ok(r) => r,
            Err(why) => {
                let reason = format!("no role: {why}");
                let code = snap.deny_code(1);
                return self
                    .deny(&access, info, unauthorised, code, reason, None, permit)
                    .await;
            }
        };
        let crit = match snap.route(role, &access) {
            Route::Denied(reason, auto) => {
                let code = snap.deny_code(auto);
                return self
                    .deny(&access, info, unauthorised, code, reason, None, permit)
                    .await;
            }
            Route::Guarded { critical, .. } => critical,
            Route::Forward => {
                let Some(f) = Frame::from_slice(frame) else {
                    return false;
                };
                let record = self.record(Decision::Allow, None, None, Some(info), None);
                let req = UpReq {
                    frame: f,
                    reply: ReplyTo::Client {
                        tx: self.tx.clone(),
                        permit,
                    },
                };
                // Forward first, then queue the record: the trail stays complete (the
                // record is queued before the next request is read) and off the
                // response's path.
                self.up.send(&self.shared.upstream, req).await;
                self.shared.audit.record(record).await;
                return true;
            }
        };
        self.guarded_write(snap, &access, frame, info, crit, permit)
            .await
    }

    /// A write to critical or enveloped registers: serialised with every other such
    /// write, checked against approvals and envelopes with the PLC's current values,
    /// and answered only once the PLC has.
    async fn guarded_write(
        &mut self,
        snap: &Snapshot,
        a: &Access<'_>,
        frame: &[u8],
        info: RequestInfo,
        crit: Option<RangeSet>,
        permit: OwnedSemaphorePermit,
    ) -> bool {
        let shared = self.shared.clone();
        let _guard = shared.write_lock.lock().await;
        let Some((table, span)) = a.write else {
            return false;
        };
        let now = now_ns();
        let mut approval = None;
        if let Some(regs) = &crit {
            let found = shared
                .approvals
                .lock()
                .ok()
                .and_then(|mut ap| ap.find(&self.peer.identity, a.unit, table, regs, now));
            match found {
                Some(id) => approval = Some(id),
                None => {
                    let reason = format!(
                        "{} {regs} of unit {} {} critical: no open approval for {:?} (sluice gate approve --user ... --registers {regs})",
                        if table == Table::Coil { "coil" } else { "register" },
                        a.unit,
                        if matches!(regs.spans(), [(a, b)] if a == b) { "is" } else { "are" },
                        self.peer.identity
                    );
                    let code = snap.deny_code(2);
                    let details = json!({"registers": regs.to_string(), "unit": a.unit, "table": table.name()});
                    return self
                        .deny(
                            a,
                            info,
                            DenyKind::NotApproved,
                            code,
                            reason,
                            Some(details),
                            permit,
                        )
                        .await;
                }
            }
        }
        let mut details = Value::Null;
        if table == Table::HoldingRegister {
            // Registers of the write that an envelope bounds.
            let bounded: Vec<(u16, &Envelope)> = (0..span.count)
                .filter_map(|i| {
                    let r = span.start.checked_add(i)?;
                    snap.envelope(a.unit, r).map(|e| (r, e))
                })
                .collect();
            if !bounded.is_empty() {
                let need_current =
                    a.function_code == 22 || bounded.iter().any(|(_, e)| e.max_step.is_some());
                let mut current: HashMap<u16, u16> = HashMap::new();
                if need_current {
                    match self.read_current(a.unit, &bounded).await {
                        Ok(m) => current = m,
                        Err(Current::Unreachable(why)) => {
                            self.shared.stat(Decision::Error);
                            let r = self.record(
                                Decision::Error,
                                None,
                                Some(why),
                                Some(info),
                                Some(GATEWAY_TARGET_FAILED),
                            );
                            self.shared.audit.record(r).await;
                            return self
                                .answer(
                                    Frame::exception(
                                        a.transaction_id,
                                        a.unit,
                                        a.function_code,
                                        GATEWAY_TARGET_FAILED,
                                    ),
                                    permit,
                                )
                                .await;
                        }
                        Err(Current::Refused(why)) => {
                            let code = snap.deny_code(3);
                            return self
                                .deny(a, info, DenyKind::Envelope, code, why, None, permit)
                                .await;
                        }
                    }
                }
                let written = written_registers(&a.request, |r| current.get(&r).copied());
                if a.function_code == 22 && written.is_empty() {
                    let code = snap.deny_code(3);
                    let why = "mask write to an enveloped register whose current value is unknown"
                        .to_string();
                    return self
                        .deny(a, info, DenyKind::Envelope, code, why, None, permit)
                        .await;
                }
                for (reg, value) in written {
                    let Some((_, env)) = bounded.iter().find(|(r, _)| *r == reg) else {
                        continue;
                    };
                    let old = current.get(&reg).copied();
                    if let Some(b) = env.check(old.map(f64::from), f64::from(value)) {
                        let bound = match b.kind {
                            sluice_policy::BreachKind::BelowMin => {
                                format!("below the minimum {}", b.min)
                            }
                            sluice_policy::BreachKind::AboveMax => {
                                format!("above the maximum {}", b.max)
                            }
                            sluice_policy::BreachKind::StepTooLarge => format!(
                                "a change of {} from {}, more than the largest step {}",
                                (f64::from(value) - b.old.unwrap_or(0.0)).abs(),
                                b.old.unwrap_or(0.0),
                                b.max_step.unwrap_or(0.0)
                            ),
                            sluice_policy::BreachKind::NotANumber => "not a number".to_string(),
                        };
                        let reason = format!(
                            "register {reg} of unit {} = {value} is outside the safety envelope{}: {bound}",
                            a.unit,
                            env.name.as_deref().map(|n| format!(" {n:?}")).unwrap_or_default()
                        );
                        let details = json!({
                            "register": reg,
                            "unit": a.unit,
                            "old": old,
                            "new": value,
                            "min": b.min,
                            "max": b.max,
                            "max_step": b.max_step,
                            "bound": b.kind,
                            "approved": approval.is_some(),
                        });
                        let code = snap.deny_code(3);
                        return self
                            .deny(
                                a,
                                info,
                                DenyKind::Envelope,
                                code,
                                reason,
                                Some(details),
                                permit,
                            )
                            .await;
                    }
                }
                if !current.is_empty() {
                    let mut m = serde_json::Map::new();
                    for (k, v) in &current {
                        m.insert(k.to_string(), json!(v));
                    }
                    details = json!({ "old": m });
                }
            }
        }
        if let Some(id) = approval {
            let used = shared
                .approvals
                .lock()
                .ok()
                .and_then(|mut ap| ap.consume(id, now_ns()));
            match used {
                Some(n) => {
                    shared
                        .audit
                        .send(AuditMsg::ApprovalUsed { id, used: n })
                        .await;
                }
                None => {
                    let code = snap.deny_code(2);
                    let why = format!("approval {id} expired or was used up");
                    return self
                        .deny(a, info, DenyKind::NotApproved, code, why, None, permit)
                        .await;
                }
            }
        }
        let Some(f) = Frame::from_slice(frame) else {
            return false;
        };
        let mut r = self.record(Decision::Allow, None, None, Some(info.clone()), None);
        r.approval_id = approval;
        r.details = (!details.is_null()).then_some(details);
        shared.audit.record(r).await;
        match self.up.request(&shared.upstream, f).await {
            Ok(resp) => self.answer(resp, permit).await,
            Err(why) => self
                .tx
                .send(Reply {
                    frame: Frame::exception(
                        a.transaction_id,
                        a.unit,
                        a.function_code,
                        GATEWAY_TARGET_FAILED,
                    ),
                    upstream_error: Some(why),
                    permit: Some(permit),
                })
                .await
                .is_ok(),
        }
    }

    /// The PLC's current values of the bounded registers.
    async fn read_current(
        &mut self,
        unit: u8,
        bounded: &[(u16, &Envelope)],
    ) -> Result<HashMap<u16, u16>, Current> {
        let lo = bounded.iter().map(|(r, _)| *r).min().unwrap_or(0);
        let hi = bounded.iter().map(|(r, _)| *r).max().unwrap_or(0);
        let spans: Vec<(u16, u16)> = if hi - lo < 125 {
            vec![(lo, hi - lo + 1)]
        } else {
            bounded.iter().map(|(r, _)| (*r, 1)).collect()
        };
        let mut out = HashMap::new();
        for (start, count) in spans {
            let req = encode::request(
                0,
                unit,
                &encode::Request::ReadHoldingRegisters {
                    address: start,
                    quantity: count,
                },
            )
            .map_err(|e| Current::Refused(e.to_string()))?;
            let Some(f) = Frame::from_slice(&req) else {
                return Err(Current::Refused("read request too long".into()));
            };
            let resp = self
                .up
                .request(&self.shared.upstream, f)
                .await
                .map_err(Current::Unreachable)?;
            let pdu = resp.as_bytes().get(7..).unwrap_or_default();
            match decode_response(pdu) {
                Ok(d) => match d.pdu {
                    Response::ReadRegisters { values, .. } if values.len() >= usize::from(count) => {
                        for (i, v) in values.iter().take(usize::from(count)).enumerate() {
                            out.insert(start.wrapping_add(i as u16), v);
                        }
                    }
                    Response::Exception { code, .. } => {
                        return Err(Current::Refused(format!(
                            "the PLC refused to read the current value of registers {start}-{} (exception {code}): the envelope's step cannot be checked",
                            start.saturating_add(count - 1)
                        )))
                    }
                    _ => return Err(Current::Refused("the PLC's answer to reading the current value is not a register read".into())),
                },
                Err(e) => return Err(Current::Refused(format!("the PLC's answer to reading the current value cannot be decoded: {e}"))),
            }
        }
        Ok(out)
    }
}

enum Current {
    Unreachable(String),
    Refused(String),
}

/// Why `role` may not make request `a`, with the automatic exception code.
pub fn role_denial(role: &Role, a: &Access<'_>) -> Option<(String, u8)> {
    if !role.allows_function(a.function_code) {
        return Some((
            format!(
                "function {} ({}) is not allowed for role {:?}",
                a.function_code,
                sluice_proto::modbus::names::function_name(a.function_code),
                role.name
            ),
            1,
        ));
    }
    if !role.allows_unit(a.unit) {
        return Some((
            format!("unit {} is not allowed for role {:?}", a.unit, role.name),
            2,
        ));
    }
    if let Some(s) = a.read {
        if !role.read.covers(s.start, s.count) {
            return Some((
                format!(
                    "reading addresses {}-{} is outside role {:?}'s read ranges ({})",
                    s.start,
                    s.last(),
                    role.name,
                    if role.read.is_empty() {
                        "none".to_string()
                    } else {
                        role.read.to_string()
                    }
                ),
                2,
            ));
        }
    }
    if let Some((_, s)) = a.write {
        if !role.write.covers(s.start, s.count) {
            return Some((
                format!(
                    "writing addresses {}-{} is outside role {:?}'s write ranges ({})",
                    s.start,
                    s.last(),
                    role.name,
                    if role.write.is_empty() {
                        "none".to_string()
                    } else {
                        role.write.to_string()
                    }
                ),
                2,
            ));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_proto::modbus::encode::{request, Request as E};

    #[test]
    fn role_decisions() {
        let op = Role::new(
            "operator",
            &[1],
            &[1, 2, 3, 4, 5, 6, 15, 16, 23],
            RangeSet::parse("0-99").unwrap(),
            RangeSet::parse("0-19").unwrap(),
        );
        let viewer = Role::new(
            "viewer",
            &[1],
            &[1, 2, 3, 4],
            RangeSet::parse("0-99").unwrap(),
            RangeSet::new(),
        );
        let check = |role: &Role, req: E<'_>, unit: u8| {
            let f = request(1, unit, &req).unwrap();
            let a = analyse(&f).unwrap();
            role_denial(role, &a).map(|(_, c)| c)
        };
        let read = E::ReadHoldingRegisters {
            address: 0,
            quantity: 100,
        };
        assert_eq!(check(&op, read, 1), None);
        assert_eq!(check(&op, read, 2), Some(2));
        assert_eq!(
            check(
                &op,
                E::ReadHoldingRegisters {
                    address: 95,
                    quantity: 6
                },
                1
            ),
            Some(2)
        );
        assert_eq!(
            check(
                &op,
                E::WriteSingleRegister {
                    address: 19,
                    value: 1
                },
                1
            ),
            None
        );
        assert_eq!(
            check(
                &op,
                E::WriteSingleRegister {
                    address: 20,
                    value: 1
                },
                1
            ),
            Some(2)
        );
        assert_eq!(
            check(
                &op,
                E::WriteMultipleRegisters {
                    address: 18,
                    values: &[1, 2, 3]
                },
                1
            ),
            Some(2)
        );
        assert_eq!(
            check(
                &op,
                E::MaskWriteRegister {
                    address: 1,
                    and_mask: 0,
                    or_mask: 1
                },
                1
            ),
            Some(1)
        );
        assert_eq!(
            check(
                &viewer,
                E::WriteSingleRegister {
                    address: 5,
                    value: 1
                },
                1
            ),
            Some(1)
        );
        assert_eq!(
            check(
                &viewer,
                E::WriteSingleCoil {
                    address: 5,
                    value: true
                },
                1
            ),
            Some(1)
        );
        assert_eq!(check(&viewer, read, 1), None);
        assert_eq!(
            check(
                &op,
                E::ReadWriteMultipleRegisters {
                    read_address: 90,
                    read_quantity: 10,
                    write_address: 0,
                    values: &[1]
                },
                1
            ),
            None
        );
        assert_eq!(
            check(
                &op,
                E::ReadWriteMultipleRegisters {
                    read_address: 90,
                    read_quantity: 11,
                    write_address: 0,
                    values: &[1]
                },
                1
            ),
            Some(2)
        );
        assert_eq!(
            check(
                &op,
                E::Diagnostics {
                    sub_function: 1,
                    data: &[0, 0]
                },
                1
            ),
            Some(1)
        );
    }

    #[test]
    fn next_frame_delimits_what_the_read_loop_accepts() {
        let f = request(
            1,
            1,
            &E::ReadHoldingRegisters {
                address: 0,
                quantity: 2,
            },
        )
        .unwrap();
        assert_eq!(next_frame(&f), Framing::Frame(12));
        assert_eq!(next_frame(&f[..5]), Framing::NeedMore);
        assert_eq!(next_frame(&f[..6]), Framing::Frame(12));
        // protocol id 1
        let mut g = f.clone();
        g[3] = 1;
        assert!(matches!(next_frame(&g), Framing::Close(r) if r.starts_with("not Modbus/TCP")));
        // MBAP length 255..=260 is tolerated by the decoder but never forwarded
        let mut g = f.clone();
        g[4..6].copy_from_slice(&255u16.to_be_bytes());
        assert_eq!(
            next_frame(&g),
            Framing::Close("MBAP length 255 outside 2..=254: connection closed".into())
        );
        // length 1 is refused by the header check itself
        g[4..6].copy_from_slice(&1u16.to_be_bytes());
        assert!(matches!(next_frame(&g), Framing::Close(_)));
    }

    #[test]
    fn route_applies_role_critical_registers_and_envelopes() {
        let text = r#"[gate]
listen_plain = "127.0.0.1:8502"
upstream = "127.0.0.1:5020"
state = "gate.db"
audit_log = "audit.jsonl"

[[plain_client]]
address = "127.0.0.1"
role = "viewer"

[[role]]
name = "operator"
units = [1]
functions = [1, 2, 3, 4, 5, 6, 15, 16, 23]
read = ["0-99"]
write = ["0-19"]

[[role]]
name = "viewer"
units = [1]
functions = [1, 2, 3, 4]
read = ["0-99"]

[[critical]]
unit = 1
registers = "5"
approval_window_s = 300
max_writes = 1
"#;
        let config = Config::parse(text, std::path::Path::new("/tmp/g.toml")).unwrap();
        let policy = Policy::parse(
            "[[envelope]]\ndevice = \"127.0.0.1\"\nunit = 1\nregister = 9\nmin = 0\nmax = 10\n",
            std::path::Path::new("/tmp/p.toml"),
        )
        .unwrap();
        let snap = Snapshot {
            generation: 0,
            config,
            policy: Some(policy),
            tls: None,
        };
        let op = snap.config.role("operator").unwrap().clone();
        let viewer = snap.config.role("viewer").unwrap().clone();
        let route = |role: &Role, req: E<'_>| {
            let f = request(1, 1, &req).unwrap();
            snap.route(role, &analyse(&f).unwrap())
        };
        let read = E::ReadHoldingRegisters {
            address: 0,
            quantity: 10,
        };
        assert_eq!(route(&op, read), Route::Forward);
        let write = |address| E::WriteSingleRegister { address, value: 1 };
        assert!(matches!(route(&viewer, write(5)), Route::Denied(_, 1)));
        assert_eq!(route(&op, write(3)), Route::Forward);
        assert_eq!(
            route(&op, write(5)),
            Route::Guarded {
                critical: Some(RangeSet::parse("5").unwrap()),
                envelope: false
            }
        );
        assert_eq!(
            route(&op, write(9)),
            Route::Guarded {
                critical: None,
                envelope: true
            }
        );
        assert!(matches!(route(&op, write(50)), Route::Denied(_, 2)));
    }
}
