//! Events: the ECS-aligned records Sluice emits (one JSON object per line).
use crate::time::rfc3339;
use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;
use sluice_flow::{EndReason, Endpoint};
use sluice_proto::Record;

/// `event.kind`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Event,
    Alert,
}

/// Summary of a flow when it ends (or at the active timeout).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct FlowRecord {
    pub start: i64,
    pub end: i64,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub payload_bytes: [u64; 2],
    pub history: String,
    pub end_reason: EndReason,
    pub gaps: u64,
    pub gap_bytes: u64,
    pub overlap_bytes: u64,
    pub retransmissions: u64,
    pub out_of_order: u64,
    pub transactions: u64,
}

/// A protocol anomaly or a decoding problem.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AnomalyRecord {
    pub protocol: &'static str,
    pub kind: &'static str,
    pub message: String,
}

/// An alert: a judgement on what was observed.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct AlertRecord {
    /// Deterministic alert id (same input, same id: re-analysis adds no duplicates).
    pub id: String,
    /// Stable rule id, e.g. `SLC-POL-001`.
    pub rule_id: String,
    pub rule_name: String,
    /// 1 (informational) to 100 (critical).
    pub severity: u8,
    /// ATT&CK for ICS technique, e.g. `T0836`.
    pub technique_id: Option<String>,
    pub technique_name: Option<String>,
    /// ATT&CK for ICS tactic, e.g. `Impair Process Control`.
    pub tactic: Option<String>,
    /// Control references, e.g. `IEC62443-3-3:SR 5.1`, `CSF:PR.IR-01`.
    pub controls: Vec<String>,
    /// Assets involved (`ip:10.10.1.10`).
    pub asset_ids: Vec<String>,
    /// One or two sentences a plant operator understands.
    pub explanation: String,
    /// Alerts of one attack chain share this id.
    pub chain_id: Option<String>,
    /// Identical alerts aggregated into this one.
    pub count: u64,
    /// Ids of the events that prove it (transactions, flows).
    pub evidence: Vec<String>,
    /// Rule-specific facts (old and new value, envelope, zones...).
    pub details: serde_json::Value,
}

/// What the event is about.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    Flow(FlowRecord),
    Txn { ts_end: Option<i64>, record: Record },
    Anomaly(AnomalyRecord),
    Alert(Box<AlertRecord>),
}

/// One event.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub ts: i64,
    pub kind: Kind,
    pub flow_uid: Option<u64>,
    /// Sequence number of this event within its flow (for idempotent storage).
    pub seq: u32,
    pub src: Option<Endpoint>,
    pub dst: Option<Endpoint>,
    pub src_mac: Option<[u8; 6]>,
    pub dst_mac: Option<[u8; 6]>,
    pub transport: Option<&'static str>,
    pub protocol: Option<&'static str>,
    pub body: Body,
}

/// Formats a MAC address the ECS way (`00-1B-1B-01-02-03`).
pub fn mac_string(m: &[u8; 6]) -> String {
    MacText::new(m).as_str().to_owned()
}

/// A MAC address as the events write it (`00-1B-1B-01-02-03`), held on the stack: the
/// inventory compares the MAC of every packet with the ones it knows without allocating.
pub struct MacText([u8; 17]);

impl MacText {
    pub fn new(m: &[u8; 6]) -> Self {
        const HEX: &[u8; 16] = b"0123456789ABCDEF";
        let mut t = [b'-'; 17];
        for (i, b) in m.iter().enumerate() {
            t[i * 3] = HEX[usize::from(b >> 4)];
            t[i * 3 + 1] = HEX[usize::from(b & 0xf)];
        }
        MacText(t)
    }

    pub fn as_str(&self) -> &str {
        // Hex digits and dashes only: always UTF-8.
        std::str::from_utf8(&self.0).unwrap_or_default()
    }
}

/// The flow id as text.
pub fn uid_string(uid: u64) -> String {
    format!("F{uid:016x}")
}

impl Event {
    /// An anomaly outside any flow (a corrupt capture, say), `seq`-th of its kind.
    pub fn loose_anomaly(
        ts: i64,
        seq: u32,
        protocol: &'static str,
        kind: &'static str,
        message: String,
    ) -> Event {
        Event {
            ts,
            kind: Kind::Event,
            flow_uid: None,
            seq,
            src: None,
            dst: None,
            src_mac: None,
            dst_mac: None,
            transport: None,
            protocol: None,
            body: Body::Anomaly(AnomalyRecord {
                protocol,
                kind,
                message,
            }),
        }
    }

    /// `event.dataset`.
    pub fn dataset(&self) -> &'static str {
        match &self.body {
            Body::Flow(_) => "sluice.flow",
            Body::Anomaly(_) => "sluice.anomaly",
            Body::Alert(_) => "sluice.alert",
            Body::Txn { record, .. } => record.dataset(),
        }
    }

    /// A stable id of this event (flow id + sequence).
    pub fn id(&self) -> String {
        let mut s = String::with_capacity(24);
        self.write_id(&mut s);
        s
    }

    /// Appends the event id's UTF-8 to `out`, as [`Event::write_id`] writes it, without
    /// going through `fmt` (the store writes one per row).
    pub fn write_id_bytes(&self, out: &mut Vec<u8>) {
        match &self.body {
            Body::Alert(a) => out.extend_from_slice(a.id.as_bytes()),
            _ => crate::json::push_id(out, self),
        }
    }

    /// Appends the event id to `out` (no allocation when `out` has room).
    pub fn write_id(&self, out: &mut String) {
        use std::fmt::Write;
        if let Body::Alert(a) = &self.body {
            out.push_str(&a.id);
            return;
        }
        // Writing into a String cannot fail.
        let _ = match self.flow_uid {
            Some(u) => write!(out, "F{u:016x}-{}", self.seq),
            None => write!(out, "T{:x}-{}", self.ts, self.seq),
        };
    }

    /// Appends the event's JSON line (no newline) to `out`. The fast encoder
    /// (`json.rs`) writes what `serde_json` would write for this event (the `Serialize`
    /// impl below stays the reference; the tests compare the two byte for byte);
    /// alerts take the `serde` path.
    pub fn write_json(&self, out: &mut Vec<u8>) {
        if !matches!(self.body, Body::Alert(_)) && crate::json::write_event(self, out) {
            return;
        }
        self.write_json_serde(out);
    }

    /// Appends the event's JSON line through `serde_json` (the reference encoding).
    pub fn write_json_serde(&self, out: &mut Vec<u8>) {
        let start = out.len();
        if let Err(e) = serde_json::to_writer(&mut *out, self) {
            out.truncate(start);
            out.extend_from_slice(
                format!("{{\"error\":\"event serialization failed: {e}\"}}").as_bytes(),
            );
        }
    }

    /// One JSON line (no trailing newline).
    pub fn to_json(&self) -> String {
        let mut out = Vec::with_capacity(512);
        self.write_json(&mut out);
        // Both encoders write UTF-8 only.
        String::from_utf8(out).unwrap_or_else(|_| self.to_json_serde())
    }

    /// One JSON line through `serde_json` (the reference encoding).
    pub fn to_json_serde(&self) -> String {
        serde_json::to_string(self)
            .unwrap_or_else(|e| format!("{{\"error\":\"event serialization failed: {e}\"}}"))
    }
}

struct EndpointJson<'a> {
    ep: Option<&'a Endpoint>,
    mac: Option<&'a [u8; 6]>,
    packets: Option<u64>,
    bytes: Option<u64>,
}

impl Serialize for EndpointJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        if let Some(ep) = self.ep {
            m.serialize_entry("ip", &ep.ip)?;
            m.serialize_entry("port", &ep.port)?;
        }
        if let Some(mac) = self.mac {
            m.serialize_entry("mac", &mac_string(mac))?;
        }
        if let Some(p) = self.packets {
            m.serialize_entry("packets", &p)?;
        }
        if let Some(b) = self.bytes {
            m.serialize_entry("bytes", &b)?;
        }
        m.end()
    }
}

struct EventMeta<'a>(&'a Event);

impl Serialize for EventMeta<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("kind", &e.kind)?;
        m.serialize_entry("dataset", e.dataset())?;
        m.serialize_entry("id", &e.id())?;
        if let Body::Alert(a) = &e.body {
            m.serialize_entry("severity", &a.severity)?;
            m.serialize_entry("count", &a.count)?;
        }
        match &e.body {
            Body::Flow(f) => {
                m.serialize_entry("start", &rfc3339(f.start))?;
                m.serialize_entry("end", &rfc3339(f.end))?;
                m.serialize_entry("duration", &f.end.wrapping_sub(f.start).max(0))?;
            }
            Body::Txn {
                ts_end: Some(end), ..
            } => {
                m.serialize_entry("end", &rfc3339(*end))?;
                m.serialize_entry("duration", &end.wrapping_sub(e.ts).max(0))?;
            }
            _ => {}
        }
        m.end()
    }
}

struct NetworkJson<'a>(&'a Event);

impl Serialize for NetworkJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(t) = e.transport {
            m.serialize_entry("transport", t)?;
        }
        if let Some(p) = e.protocol {
            m.serialize_entry("protocol", p)?;
        }
        if let Body::Flow(f) = &e.body {
            m.serialize_entry("packets", &f.packets[0].wrapping_add(f.packets[1]))?;
            m.serialize_entry("bytes", &f.bytes[0].wrapping_add(f.bytes[1]))?;
        }
        m.end()
    }
}

struct FlowJson<'a>(&'a Event);

impl Serialize for FlowJson<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let e = self.0;
        let mut m = s.serialize_map(None)?;
        if let Some(u) = e.flow_uid {
            m.serialize_entry("id", &uid_string(u))?;
        }
        if let Body::Flow(f) = &e.body {
            m.serialize_entry("history", &f.history)?;
            m.serialize_entry("end_reason", &f.end_reason)?;
            m.serialize_entry("payload_bytes", &f.payload_bytes)?;
            m.serialize_entry("transactions", &f.transactions)?;
            if f.gaps > 0 {
                m.serialize_entry("gaps", &f.gaps)?;
                m.serialize_entry("gap_bytes", &f.gap_bytes)?;
            }
            if f.overlap_bytes > 0 {
                m.serialize_entry("overlap_bytes", &f.overlap_bytes)?;
            }
            if f.retransmissions > 0 {
                m.serialize_entry("retransmissions", &f.retransmissions)?;
            }
            if f.out_of_order > 0 {
                m.serialize_entry("out_of_order", &f.out_of_order)?;
            }
        }
        m.end()
    }
}

impl Serialize for Event {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("@timestamp", &rfc3339(self.ts))?;
        m.serialize_entry("event", &EventMeta(self))?;
        let flow = match &self.body {
            Body::Flow(f) => Some(f),
            _ => None,
        };
        if self.src.is_some() || self.src_mac.is_some() {
            m.serialize_entry(
                "source",
                &EndpointJson {
                    ep: self.src.as_ref(),
                    mac: self.src_mac.as_ref(),
                    packets: flow.map(|f| f.packets[0]),
                    bytes: flow.map(|f| f.bytes[0]),
                },
            )?;
        }
        if self.dst.is_some() || self.dst_mac.is_some() {
            m.serialize_entry(
                "destination",
                &EndpointJson {
                    ep: self.dst.as_ref(),
                    mac: self.dst_mac.as_ref(),
                    packets: flow.map(|f| f.packets[1]),
                    bytes: flow.map(|f| f.bytes[1]),
                },
            )?;
        }
        m.serialize_entry("network", &NetworkJson(self))?;
        m.serialize_entry("flow", &FlowJson(self))?;
        match &self.body {
            Body::Txn { record, .. } => {
                m.serialize_entry(record.protocol(), &record.fields())?;
            }
            Body::Anomaly(a) => m.serialize_entry("anomaly", a)?,
            Body::Alert(a) => {
                m.serialize_entry(
                    "rule",
                    &serde_json::json!({"id": a.rule_id, "name": a.rule_name}),
                )?;
                if let Some(t) = &a.technique_id {
                    let mut threat = serde_json::json!({
                        "framework": "MITRE ATT&CK for ICS",
                        "technique": {"id": t, "name": a.technique_name},
                    });
                    if let Some(tac) = &a.tactic {
                        threat["tactic"] = serde_json::json!({ "name": tac });
                    }
                    m.serialize_entry("threat", &threat)?;
                }
                m.serialize_entry(
                    "sluice",
                    &serde_json::json!({
                        "controls": a.controls,
                        "asset_ids": a.asset_ids,
                        "explanation": a.explanation,
                        "chain_id": a.chain_id,
                        "evidence": a.evidence,
                        "details": a.details,
                    }),
                )?;
            }
            Body::Flow(_) => {}
        }
        m.end()
    }
}

/// Event batches handed back by the last stage (the store or the writer) for the
/// engines to fill again. Batches of a few thousand events (hundreds of KiB) made afresh
/// on one thread and freed on another left glibc's arenas fragmented; kept circulating,
/// they are allocated once. A batch comes back with its events, which are dropped by the
/// thread that takes it next (an engine, the thread that allocated most of them): freed
/// on the store thread, they made it wait on the engine's arena lock (in the 2M-packet
/// bench run a quarter of the store thread's context switches were in `free`).
#[derive(Clone, Default)]
pub struct BatchPool {
    spares: std::sync::Arc<std::sync::Mutex<Vec<Vec<Event>>>>,
    capacity: usize,
}

impl BatchPool {
    /// Spare batches kept, at most (a few stages each hold one).
    const MAX_SPARES: usize = 8;

    /// A pool of batches of `capacity` events.
    pub fn new(capacity: usize) -> BatchPool {
        BatchPool {
            spares: Default::default(),
            capacity,
        }
    }

    /// An empty batch: a spare one (emptied here, its events dropped on this thread), or
    /// a new one.
    pub fn take(&self) -> Vec<Event> {
        let spare = self.spares.lock().ok().and_then(|mut s| s.pop());
        match spare {
            Some(mut batch) => {
                batch.clear();
                batch
            }
            None => Vec::with_capacity(self.capacity),
        }
    }

    /// Keeps `batch`, events and all, for [`take`] if it is of the usual size and the
    /// pool is not full; else drops it here.
    ///
    /// [`take`]: BatchPool::take
    pub fn give(&self, batch: Vec<Event>) {
        if batch.capacity() < self.capacity || batch.capacity() > 2 * self.capacity {
            return;
        }
        if let Ok(mut s) = self.spares.lock() {
            if s.len() < Self::MAX_SPARES {
                s.push(batch);
            }
        }
    }

    /// Spare batches held now.
    pub fn spares(&self) -> usize {
        self.spares.lock().map(|s| s.len()).unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(n: u32) -> Event {
        Event::loose_anomaly(
            i64::from(n),
            n,
            "capture",
            "truncated",
            format!("event {n}"),
        )
    }

    #[test]
    fn a_pool_hands_back_emptied_batches_of_its_size_only() {
        let pool = BatchPool::new(16);
        let mut b = pool.take();
        assert!(b.is_empty() && b.capacity() >= 16);
        b.extend((0..10).map(event));
        let ptr = b.as_ptr();
        pool.give(b);
        assert_eq!(pool.spares(), 1);
        let again = pool.take();
        assert!(again.is_empty(), "events dropped when taken again");
        assert_eq!(again.as_ptr(), ptr, "the same allocation comes back");
        assert_eq!(pool.spares(), 0);
        // Too small or grown far past the usual size: not kept.
        pool.give(Vec::with_capacity(4));
        pool.give(Vec::with_capacity(64));
        assert_eq!(pool.spares(), 0);
        // At most MAX_SPARES kept.
        for _ in 0..BatchPool::MAX_SPARES + 3 {
            pool.give(Vec::with_capacity(16));
        }
        assert_eq!(pool.spares(), BatchPool::MAX_SPARES);
        // Clones share the spares (the stages hold clones).
        let other = pool.clone();
        let _ = other.take();
        assert_eq!(pool.spares(), BatchPool::MAX_SPARES - 1);
    }
}
