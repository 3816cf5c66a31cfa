//! The audit trail: every decision (who, certificate fingerprint, request, decision,
//! reason) as one JSON line in the audit log and one row of the state database.
//! Denials are also alert events (`event.kind = "alert"`, a `SLC-GATE-*` rule, an
//! ATT&CK for ICS technique, controls) stored in the state database's `alerts` table
//! and, when asked, appended to an events file: the normal alert outputs.
//!
//! Records are made on the hot path without formatting; a dedicated thread formats and
//! writes them in batches. If the audit cannot be written, the gate is told and
//! refuses every request (fail closed).

use crate::config::Table;
use crate::request::Span;
use crate::state::{AuditRow, StateDb};
use serde::Serialize;
use serde_json::{json, Value};
use sluice_engine::event::{AlertRecord, Body, Event, Kind};
use sluice_engine::time::rfc3339;
use sluice_flow::Endpoint;
use sluice_proto::modbus::names::function_name;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// How the client reached the gate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Transport {
    Tls,
    Plain,
    /// The local control socket (approvals).
    Control,
}

/// A client certificate's facts.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CertInfo {
    pub fingerprint: String,
    pub subject: String,
    pub serial: String,
}

/// Who is on the other end of a connection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// `None` for the control socket.
    pub addr: Option<SocketAddr>,
    pub transport: Transport,
    /// Certificate name, plain client address, or approver.
    pub identity: String,
    pub role: Option<String>,
    pub cert: Option<CertInfo>,
}

/// What was decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    Allow,
    Deny,
    /// Allowed, but the PLC could not be reached.
    Error,
}

impl Decision {
    pub fn name(self) -> &'static str {
        match self {
            Decision::Allow => "allow",
            Decision::Deny => "deny",
            Decision::Error => "error",
        }
    }
}

/// What the decision was about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// A Modbus request.
    Request,
    /// A TCP connection (plain allowlist, client limit).
    Connect,
    /// A TLS handshake (client certificate).
    Handshake,
    /// An approval submitted on the control socket.
    Approve,
}

impl Action {
    pub fn name(self) -> &'static str {
        match self {
            Action::Request => "request",
            Action::Connect => "connect",
            Action::Handshake => "handshake",
            Action::Approve => "approve",
        }
    }
}

/// Why something was denied; each kind is one alert rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DenyKind {
    /// A read (or other non-write) outside the role.
    Unauthorised,
    /// A write outside the role.
    UnauthorisedWrite,
    /// A critical register written without an open approval.
    NotApproved,
    /// A value outside the policy's safety envelope.
    Envelope,
    /// A client certificate that failed verification (handshake, or a re-check after
    /// a reload).
    Certificate,
    /// A plain connection from an address not listed.
    PlainRefused,
    /// An approval with a wrong, replayed or unknown code.
    ApprovalRefused,
    /// A request that cannot be decoded or is inconsistent.
    Malformed,
    /// The gate is at its client limit or cannot write its audit trail.
    Unavailable,
}

/// An alert rule.
#[derive(Debug)]
pub struct Rule {
    pub id: &'static str,
    pub name: &'static str,
    pub severity: u8,
    pub technique: Option<(&'static str, &'static str, &'static str)>,
    pub controls: &'static [&'static str],
}

impl DenyKind {
    /// The alert rule of this kind of denial.
    pub fn rule(self) -> &'static Rule {
        match self {
            DenyKind::Unauthorised => &Rule {
                id: "SLC-GATE-001",
                name: "Gate refused a Modbus request outside the client's role",
                severity: 50,
                technique: Some(("T0861", "Point & Tag Identification", "Collection")),
                controls: &["IEC62443-3-3:SR 2.1", "CSF:PR.AA-05"],
            },
            DenyKind::UnauthorisedWrite => &Rule {
                id: "SLC-GATE-002",
                name: "Gate refused a Modbus write outside the client's role",
                severity: 75,
                technique: Some((
                    "T0855",
                    "Unauthorized Command Message",
                    "Impair Process Control",
                )),
                controls: &["IEC62443-3-3:SR 2.1", "IEC62443-3-3:SR 5.2", "CSF:PR.AA-05"],
            },
            DenyKind::NotApproved => &Rule {
                id: "SLC-GATE-003",
                name: "Gate refused a critical write without an approval",
                severity: 85,
                technique: Some(("T0836", "Modify Parameter", "Impair Process Control")),
                controls: &["IEC62443-3-3:SR 1.1", "IEC62443-3-3:SR 2.1", "CSF:PR.AA-03"],
            },
            DenyKind::Envelope => &Rule {
                id: "SLC-GATE-004",
                name: "Gate refused a write outside the safety envelope",
                severity: 95,
                technique: Some(("T0836", "Modify Parameter", "Impair Process Control")),
                controls: &[
                    "IEC62443-3-3:SR 3.5",
                    "IEC62443-3-3:SR 2.1",
                    "CSF:PR.PS-06",
                    "CSF:DE.CM-09",
                ],
            },
            DenyKind::Certificate => &Rule {
                id: "SLC-GATE-005",
                name: "Gate refused a client certificate",
                severity: 70,
                technique: Some(("T0859", "Valid Accounts", "Lateral Movement")),
                controls: &[
                    "IEC62443-3-3:SR 1.2",
                    "IEC62443-3-3:SR 1.8",
                    "IEC62443-3-3:SR 1.9",
                    "CSF:PR.AA-03",
                ],
            },
            DenyKind::PlainRefused => &Rule {
                id: "SLC-GATE-006",
                name: "Gate refused a plain Modbus/TCP connection from an unlisted address",
                severity: 60,
                technique: Some(("T0886", "Remote Services", "Initial Access")),
                controls: &["IEC62443-3-3:SR 1.2", "IEC62443-3-3:SR 5.2", "CSF:PR.AA-03"],
            },
            DenyKind::ApprovalRefused => &Rule {
                id: "SLC-GATE-007",
                name: "Gate refused an approval code",
                severity: 70,
                technique: Some(("T0859", "Valid Accounts", "Lateral Movement")),
                controls: &[
                    "IEC62443-3-3:SR 1.1",
                    "IEC62443-3-3:SR 1.11",
                    "CSF:PR.AA-03",
                ],
            },
            DenyKind::Malformed => &Rule {
                id: "SLC-GATE-008",
                name: "Gate refused a malformed Modbus request",
                severity: 40,
                technique: None,
                controls: &["IEC62443-3-3:SR 3.5", "CSF:DE.CM-01"],
            },
            DenyKind::Unavailable => &Rule {
                id: "SLC-GATE-009",
                name: "Gate refused a connection or request it could not serve safely",
                severity: 40,
                technique: None,
                controls: &[
                    "IEC62443-3-3:SR 7.1",
                    "IEC62443-3-3:SR 2.10",
                    "CSF:PR.IR-04",
                ],
            },
        }
    }
}

/// The Modbus request a decision is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RequestInfo {
    pub transaction_id: u16,
    pub unit: u8,
    pub function_code: u8,
    pub read: Option<Span>,
    pub write: Option<(Table, Span)>,
    /// Values written (registers, or coils as 0/1), at most 125.
    pub values: Vec<u16>,
}

/// One decision.
#[derive(Clone, Debug, PartialEq)]
pub struct AuditRecord {
    /// Nanoseconds since the epoch.
    pub ts: i64,
    pub peer: Arc<PeerInfo>,
    pub action: Action,
    pub decision: Decision,
    pub kind: Option<DenyKind>,
    pub reason: Option<String>,
    pub request: Option<RequestInfo>,
    /// The exception answered (denials and errors).
    pub exception: Option<u8>,
    pub approval_id: Option<i64>,
    /// Rule facts (envelope bounds, old and new value...).
    pub details: Option<Value>,
}

/// Messages to the audit thread.
#[derive(Debug)]
pub enum AuditMsg {
    Record(AuditRecord),
    /// An approval allowed one more write (persist its use count).
    ApprovalUsed {
        id: i64,
        used: u32,
    },
    /// Answered once everything sent before is written.
    Flush(oneshot::Sender<()>),
}

/// Sends audit messages; cheap to clone.
#[derive(Clone, Debug)]
pub struct AuditSender {
    tx: mpsc::Sender<AuditMsg>,
    healthy: Arc<AtomicBool>,
}

impl AuditSender {
    /// Queues a record (waits while the writer is behind: back-pressure, never loss).
    pub async fn record(&self, r: AuditRecord) {
        if self.tx.send(AuditMsg::Record(r)).await.is_err() {
            self.healthy.store(false, Ordering::Relaxed);
        }
    }

    /// Queues a message without waiting (for synchronous contexts); false when the
    /// queue is full or closed.
    pub fn try_send(&self, m: AuditMsg) -> bool {
        self.tx.try_send(m).is_ok()
    }

    pub async fn send(&self, m: AuditMsg) {
        if self.tx.send(m).await.is_err() {
            self.healthy.store(false, Ordering::Relaxed);
        }
    }

    /// Waits until everything queued so far is written.
    pub async fn flush(&self) {
        let (tx, rx) = oneshot::channel();
        if self.tx.send(AuditMsg::Flush(tx)).await.is_ok() {
            let _ = rx.await;
        }
    }

    /// False once writing the audit trail has failed.
    pub fn healthy(&self) -> bool {
        self.healthy.load(Ordering::Relaxed)
    }
}

/// Where the audit thread writes.
pub struct AuditSinks {
    pub db: StateDb,
    pub log: BufWriter<File>,
    pub events: Option<BufWriter<File>>,
    /// The PLC (destination of every request).
    pub upstream: SocketAddr,
}

/// Opens a JSON-lines file for appending.
pub fn open_append(path: &Path) -> std::io::Result<BufWriter<File>> {
    let f = OpenOptions::new().create(true).append(true).open(path)?;
    Ok(BufWriter::with_capacity(1 << 16, f))
}

/// Starts the audit thread; it ends when every sender is dropped.
pub fn spawn(sinks: AuditSinks) -> std::io::Result<(AuditSender, std::thread::JoinHandle<()>)> {
    let (tx, rx) = mpsc::channel(16_384);
    let healthy = Arc::new(AtomicBool::new(true));
    let h = healthy.clone();
    let join = std::thread::Builder::new()
        .name("gate-audit".into())
        .spawn(move || Writer::new(sinks, h).run(rx))?;
    Ok((AuditSender { tx, healthy }, join))
}

/// How often the audit thread looks for records while the gate is busy...
const COALESCE: std::time::Duration = std::time::Duration::from_millis(2);
/// ...and once it has been idle this long...
const IDLE_AFTER: std::time::Duration = std::time::Duration::from_secs(1);
/// ...how often then.
const IDLE_POLL: std::time::Duration = std::time::Duration::from_millis(20);

struct Writer {
    sinks: AuditSinks,
    healthy: Arc<AtomicBool>,
    /// Aggregated alert counts by id (one alert per rule, client, request and minute).
    counts: HashMap<String, (i64, u64)>,
    seq: u32,
}

fn fnv(parts: &[&str]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for p in parts {
        for &b in p.as_bytes().iter().chain(b"\x1f") {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    }
    h
}

#[derive(Serialize)]
struct Ep {
    ip: String,
    port: u16,
}

#[derive(Serialize)]
struct EventPart {
    kind: &'static str,
    dataset: &'static str,
    action: &'static str,
    outcome: &'static str,
}

#[derive(Serialize)]
struct GatePart<'a> {
    decision: &'static str,
    transport: Transport,
    #[serde(skip_serializing_if = "Option::is_none")]
    deny: Option<DenyKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exception: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    approval_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<&'a Value>,
}

#[derive(Serialize)]
struct UserPart<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<[&'a str; 1]>,
}

#[derive(Serialize)]
struct TlsClient<'a> {
    hash: TlsHash<'a>,
    subject: &'a str,
    serial: &'a str,
}

#[derive(Serialize)]
struct TlsHash<'a> {
    sha256: &'a str,
}

#[derive(Serialize)]
struct TlsPart<'a> {
    client: TlsClient<'a>,
}

#[derive(Serialize)]
struct ModbusPart<'a> {
    transaction_id: u16,
    unit_id: u8,
    function_code: u8,
    function: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    quantity: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write_address: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    write_quantity: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    table: Option<&'static str>,
    #[serde(skip_serializing_if = "<[u16]>::is_empty")]
    values: &'a [u16],
}

#[derive(Serialize)]
struct Line<'a> {
    #[serde(rename = "@timestamp")]
    ts: String,
    event: EventPart,
    gate: GatePart<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    source: Option<Ep>,
    destination: Ep,
    user: UserPart<'a>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls: Option<TlsPart<'a>>,
    network: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    modbus: Option<ModbusPart<'a>>,
}

fn modbus_part(q: &RequestInfo) -> ModbusPart<'_> {
    // A read-write (23) shows its read span as address/quantity and its write span
    // as write_address/write_quantity; a plain write shows its span as address.
    let (address, quantity, wa, wq) = match (q.read, q.write) {
        (Some(r), Some((_, w))) => (Some(r.start), Some(r.count), Some(w.start), Some(w.count)),
        (Some(r), None) => (Some(r.start), Some(r.count), None, None),
        (None, Some((_, w))) => (Some(w.start), Some(w.count), None, None),
        (None, None) => (None, None, None, None),
    };
    ModbusPart {
        transaction_id: q.transaction_id,
        unit_id: q.unit,
        function_code: q.function_code,
        function: function_name(q.function_code),
        address,
        quantity,
        write_address: wa,
        write_quantity: wq,
        table: q.write.map(|(t, _)| t.name()),
        values: &q.values,
    }
}

impl Writer {
    fn new(sinks: AuditSinks, healthy: Arc<AtomicBool>) -> Writer {
        Writer {
            sinks,
            healthy,
            counts: HashMap::new(),
            seq: 0,
        }
    }

    fn run(mut self, mut rx: mpsc::Receiver<AuditMsg>) {
        use tokio::sync::mpsc::error::TryRecvError;
        // The thread polls the queue instead of waiting on it: senders never have to
        // wake it, so auditing stays off the path of the request that is audited;
        // a busy gate writes few large transactions.
        let mut batch = Vec::with_capacity(1024);
        let mut idle = std::time::Duration::ZERO;
        loop {
            let mut closed = false;
            while batch.len() < 4096 {
                match rx.try_recv() {
                    Ok(m) => batch.push(m),
                    Err(TryRecvError::Empty) => break,
                    Err(TryRecvError::Disconnected) => {
                        closed = true;
                        break;
                    }
                }
            }
            let full = batch.len() >= 4096;
            if !batch.is_empty() {
                if let Err(e) = self.write_batch(&mut batch) {
                    tracing::error!("audit trail cannot be written: {e}; refusing every request");
                    self.healthy.store(false, Ordering::Relaxed);
                }
                batch.clear();
                idle = std::time::Duration::ZERO;
            }
            if closed {
                break;
            }
            if !full {
                let nap = if idle < IDLE_AFTER {
                    COALESCE
                } else {
                    IDLE_POLL
                };
                std::thread::sleep(nap);
                idle += nap;
            }
        }
        let _ = self.sinks.log.flush();
        if let Some(ev) = self.sinks.events.as_mut() {
            let _ = ev.flush();
        }
    }

    fn line<'a>(upstream: SocketAddr, r: &'a AuditRecord) -> Line<'a> {
        let p = &r.peer;
        Line {
            ts: rfc3339(r.ts),
            event: EventPart {
                kind: "event",
                dataset: "sluice.gate",
                action: r.action.name(),
                outcome: match r.decision {
                    Decision::Allow => "success",
                    _ => "failure",
                },
            },
            gate: GatePart {
                decision: r.decision.name(),
                transport: p.transport,
                deny: r.kind,
                reason: r.reason.as_deref(),
                exception: r.exception,
                approval_id: r.approval_id,
                details: r.details.as_ref(),
            },
            source: p.addr.map(|a| Ep {
                ip: a.ip().to_string(),
                port: a.port(),
            }),
            destination: Ep {
                ip: upstream.ip().to_string(),
                port: upstream.port(),
            },
            user: UserPart {
                name: &p.identity,
                roles: p.role.as_deref().map(|r| [r]),
            },
            tls: p.cert.as_ref().map(|c| TlsPart {
                client: TlsClient {
                    hash: TlsHash {
                        sha256: &c.fingerprint,
                    },
                    subject: &c.subject,
                    serial: &c.serial,
                },
            }),
            network: json!({"transport": "tcp", "protocol": "modbus"}),
            modbus: r.request.as_ref().map(modbus_part),
        }
    }

    fn alert(&mut self, r: &AuditRecord, kind: DenyKind) -> Event {
        let rule = kind.rule();
        let p = &r.peer;
        let ip = p.addr.map(|a| a.ip().to_string()).unwrap_or_default();
        let minute = r.ts.div_euclid(60_000_000_000);
        let (unit, fc, addr) =
            r.request
                .as_ref()
                .map_or((String::new(), String::new(), String::new()), |q| {
                    let a = q.write.map(|(_, s)| s.start).or(q.read.map(|s| s.start));
                    (
                        q.unit.to_string(),
                        q.function_code.to_string(),
                        a.map(|a| a.to_string()).unwrap_or_default(),
                    )
                });
        let id = format!(
            "G{:016x}",
            fnv(&[
                rule.id,
                &p.identity,
                &ip,
                &unit,
                &fc,
                &addr,
                &minute.to_string()
            ])
        );
        let count = {
            let e = self.counts.entry(id.clone()).or_insert((minute, 0));
            e.1 += 1;
            e.1
        };
        if self.counts.len() > 10_000 {
            self.counts.retain(|_, (m, _)| *m >= minute - 1);
        }
        let up = self.sinks.upstream;
        let reason = r.reason.clone().unwrap_or_default();
        let who = match &p.role {
            Some(role) => format!("{} (role {role})", p.identity),
            None => p.identity.clone(),
        };
        let explanation = match &r.request {
            Some(q) => format!(
                "sluice gate refused Modbus {} (unit {}) from {who} at {ip}: {reason}. The request never reached the PLC at {up}.",
                function_name(q.function_code),
                q.unit
            ),
            None if p.transport == Transport::Control => {
                format!("sluice gate refused approver {} on its control socket: {reason}.", p.identity)
            }
            None => format!("sluice gate refused {who} at {ip}: {reason}."),
        };
        let mut details = json!({
            "decision": r.decision.name(),
            "deny": kind,
            "reason": reason,
            "identity": p.identity,
            "role": p.role,
            "transport": p.transport,
            "exception": r.exception,
        });
        if let (Some(obj), Some(c)) = (details.as_object_mut(), &p.cert) {
            obj.insert("certificate_sha256".into(), json!(c.fingerprint));
        }
        if let (Some(obj), Some(Value::Object(extra))) = (details.as_object_mut(), &r.details) {
            for (k, v) in extra {
                obj.insert(k.clone(), v.clone());
            }
        }
        let mut asset_ids = vec![format!("ip:{}", up.ip())];
        if !ip.is_empty() {
            asset_ids.insert(0, format!("ip:{ip}"));
        }
        self.seq = self.seq.wrapping_add(1);
        Event {
            ts: r.ts,
            kind: Kind::Alert,
            flow_uid: None,
            seq: self.seq,
            src: p.addr.map(|a| Endpoint {
                ip: a.ip(),
                port: a.port(),
            }),
            dst: Some(Endpoint {
                ip: up.ip(),
                port: up.port(),
            }),
            src_mac: None,
            dst_mac: None,
            transport: Some("tcp"),
            protocol: Some("modbus"),
            body: Body::Alert(Box::new(AlertRecord {
                id,
                rule_id: rule.id.to_string(),
                rule_name: rule.name.to_string(),
                severity: rule.severity,
                technique_id: rule.technique.map(|t| t.0.to_string()),
                technique_name: rule.technique.map(|t| t.1.to_string()),
                tactic: rule.technique.map(|t| t.2.to_string()),
                controls: rule.controls.iter().map(|c| c.to_string()).collect(),
                asset_ids,
                explanation,
                chain_id: None,
                count,
                evidence: Vec::new(),
                details,
            })),
        }
    }

    fn write_batch(&mut self, batch: &mut Vec<AuditMsg>) -> Result<(), String> {
        let mut jsons: Vec<String> = Vec::with_capacity(batch.len());
        let mut alerts: Vec<Event> = Vec::new();
        let mut flushes = Vec::new();
        let mut records: Vec<AuditRecord> = Vec::with_capacity(batch.len());
        for m in batch.drain(..) {
            match m {
                AuditMsg::Record(r) => {
                    let line = Writer::line(self.sinks.upstream, &r);
                    let text = match r.kind.filter(|_| r.decision == Decision::Deny) {
                        None => serde_json::to_string(&line).map_err(|e| e.to_string())?,
                        Some(kind) => {
                            let ev = self.alert(&r, kind);
                            let mut v = serde_json::to_value(&ev).map_err(|e| e.to_string())?;
                            let extra = serde_json::to_value(&line).map_err(|e| e.to_string())?;
                            if let (Some(o), Value::Object(x)) = (v.as_object_mut(), extra) {
                                for key in ["gate", "user", "tls", "modbus"] {
                                    if let Some(val) = x.get(key) {
                                        o.insert(key.to_string(), val.clone());
                                    }
                                }
                                if let Some(ev) = o.get_mut("event").and_then(Value::as_object_mut)
                                {
                                    ev.insert("action".into(), json!(r.action.name()));
                                    ev.insert("outcome".into(), json!("failure"));
                                }
                            }
                            alerts.push(ev);
                            v.to_string()
                        }
                    };
                    self.sinks
                        .log
                        .write_all(text.as_bytes())
                        .and_then(|_| self.sinks.log.write_all(b"\n"))
                        .map_err(|e| format!("audit log: {e}"))?;
                    jsons.push(text);
                    records.push(r);
                }
                AuditMsg::ApprovalUsed { id, used: n } => {
                    if let Err(e) = self.sinks.db.approval_used(id, n) {
                        tracing::error!("approval {id}: {e}");
                    }
                }
                AuditMsg::Flush(tx) => flushes.push(tx),
            }
        }
        self.sinks
            .log
            .flush()
            .map_err(|e| format!("audit log: {e}"))?;
        let rows: Vec<AuditRow<'_>> = records
            .iter()
            .zip(&jsons)
            .map(|(r, j)| AuditRow {
                ts: r.ts,
                action: r.action.name(),
                decision: r.decision.name(),
                reason: r.reason.as_deref(),
                identity: &r.peer.identity,
                role: r.peer.role.as_deref(),
                fingerprint: r.peer.cert.as_ref().map(|c| c.fingerprint.as_str()),
                src_ip: r.peer.addr.map(|a| a.ip().to_string()).unwrap_or_default(),
                src_port: r.peer.addr.map_or(0, |a| a.port()),
                unit: r.request.as_ref().map(|q| q.unit),
                function_code: r.request.as_ref().map(|q| q.function_code),
                transaction_id: r.request.as_ref().map(|q| q.transaction_id),
                address: r
                    .request
                    .as_ref()
                    .and_then(|q| q.write.map(|(_, s)| s.start).or(q.read.map(|s| s.start))),
                quantity: r
                    .request
                    .as_ref()
                    .and_then(|q| q.write.map(|(_, s)| s.count).or(q.read.map(|s| s.count))),
                exception: r.exception,
                approval_id: r.approval_id,
                json: (r.decision != Decision::Allow || r.action != Action::Request)
                    .then_some(j.as_str()),
            })
            .collect();
        if !rows.is_empty() {
            self.sinks
                .db
                .insert_audit(&rows)
                .map_err(|e| e.to_string())?;
        }
        if !alerts.is_empty() {
            let lines: Vec<String> = alerts.iter().map(Event::to_json).collect();
            self.sinks
                .db
                .store_mut()
                .insert_events(&alerts, &lines)
                .map_err(|e| e.to_string())?;
            if let Some(ev) = self.sinks.events.as_mut() {
                for l in &lines {
                    ev.write_all(l.as_bytes())
                        .and_then(|_| ev.write_all(b"\n"))
                        .map_err(|e| format!("events: {e}"))?;
                }
                ev.flush().map_err(|e| format!("events: {e}"))?;
            }
        }
        for f in flushes {
            let _ = f.send(());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn peer() -> Arc<PeerInfo> {
        Arc::new(PeerInfo {
            addr: Some("127.0.0.1:40000".parse().unwrap()),
            transport: Transport::Tls,
            identity: "op1".into(),
            role: Some("operator".into()),
            cert: Some(CertInfo {
                fingerprint: "ab".repeat(32),
                subject: "CN=op1".into(),
                serial: "01".into(),
            }),
        })
    }

    #[tokio::test]
    async fn records_lines_rows_and_alerts() {
        let dir = tempfile::tempdir().unwrap();
        let db = StateDb::open(&dir.path().join("gate.db")).unwrap();
        let log_path = dir.path().join("audit.jsonl");
        let ev_path = dir.path().join("events.jsonl");
        let (tx, join) = spawn(AuditSinks {
            db,
            log: open_append(&log_path).unwrap(),
            events: Some(open_append(&ev_path).unwrap()),
            upstream: "127.0.0.1:5020".parse().unwrap(),
        })
        .unwrap();
        let req = RequestInfo {
            transaction_id: 9,
            unit: 1,
            function_code: 6,
            read: None,
            write: Some((Table::HoldingRegister, Span { start: 5, count: 1 })),
            values: vec![11100],
        };
        let base = AuditRecord {
            ts: 1_700_000_000_000_000_000,
            peer: peer(),
            action: Action::Request,
            decision: Decision::Allow,
            kind: None,
            reason: None,
            request: Some(RequestInfo {
                function_code: 3,
                write: None,
                read: Some(Span {
                    start: 0,
                    count: 10,
                }),
                values: vec![],
                ..req.clone()
            }),
            exception: None,
            approval_id: None,
            details: None,
        };
        tx.record(base.clone()).await;
        for _ in 0..2 {
            tx.record(AuditRecord {
                decision: Decision::Deny,
                kind: Some(DenyKind::Envelope),
                reason: Some("register 5 = 11100 above max 200".into()),
                request: Some(req.clone()),
                exception: Some(3),
                details: Some(json!({"register": 5, "new": 11100})),
                ..base.clone()
            })
            .await;
        }
        tx.flush().await;
        drop(tx);
        join.join().unwrap();

        let lines: Vec<Value> = std::fs::read_to_string(&log_path)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0]["gate"]["decision"], "allow");
        assert_eq!(lines[0]["event"]["kind"], "event");
        assert_eq!(lines[0]["modbus"]["function_code"], 3);
        assert_eq!(lines[0]["modbus"]["quantity"], 10);
        assert_eq!(lines[0]["user"]["name"], "op1");
        assert_eq!(lines[0]["user"]["roles"][0], "operator");
        assert_eq!(lines[0]["tls"]["client"]["hash"]["sha256"], "ab".repeat(32));
        assert_eq!(lines[0]["@timestamp"], "2023-11-14T22:13:20.000000Z");
        let deny = &lines[1];
        assert_eq!(deny["event"]["kind"], "alert");
        assert_eq!(deny["rule"]["id"], "SLC-GATE-004");
        assert_eq!(deny["threat"]["technique"]["id"], "T0836");
        assert_eq!(deny["gate"]["decision"], "deny");
        assert_eq!(deny["gate"]["deny"], "envelope");
        assert_eq!(deny["gate"]["exception"], 3);
        assert_eq!(deny["modbus"]["values"][0], 11100);
        assert_eq!(deny["sluice"]["details"]["new"], 11100);
        assert_eq!(deny["source"]["ip"], "127.0.0.1");
        // the second identical denial in the same minute aggregates into one alert
        assert_eq!(lines[2]["event"]["count"], 2);
        assert_eq!(lines[1]["event"]["id"], lines[2]["event"]["id"]);

        let db = StateDb::open(&dir.path().join("gate.db")).unwrap();
        assert_eq!(db.audit_count().unwrap(), 3);
        let rows = db.audit_rows().unwrap();
        assert_eq!(rows[0].json, None, "allowed requests: columns only");
        assert_eq!((rows[0].function_code, rows[0].address), (Some(3), Some(0)));
        assert_eq!(
            rows[1]
                .json
                .as_deref()
                .map(|j| serde_json::from_str::<Value>(j).unwrap()),
            Some(lines[1].clone())
        );
        let (n, count): (i64, i64) = db
            .conn()
            .query_row("SELECT COUNT(*), MAX(count) FROM alerts", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!((n, count), (1, 2));
        let events = std::fs::read_to_string(&ev_path).unwrap();
        assert_eq!(events.lines().count(), 2);
        assert!(events.contains("\"SLC-GATE-004\""));
    }
}
