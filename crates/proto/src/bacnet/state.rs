//! Datagram handling and pairing for one BACnet/IP flow.
//!
//! Every datagram is one BVLC message. Confirmed requests wait for their answer,
//! matched by invoke id from the other direction (BACnet/IP flows often have port
//! 47808 at both ends, so either side may be the requester); an abort sent by the
//! requester itself (SRV = 0) ends its own request. Segmented answers complete on
//! their last segment (only the first is decoded). BVLC requests (Register-Foreign-
//! Device, Read-BDT, ...) pair with the next BVLC-Result / ACK from the other side.
//! Unconfirmed requests and network layer messages are transactions of their own.
//! Requests still waiting at `finish()` are emitted unanswered.
//!
//! Identity: I-Am gives `bacnet.i_am` (vendor from the ASHRAE vendor id, the device
//! instance as name); ReadProperty(Multiple) answers about a device object
//! (vendor-name, model-name, firmware-revision, application-software-version,
//! object-name) accumulate per answering side into `bacnet.device`. The address
//! is the Forwarded-NPDU's originating address when the message was forwarded,
//! else the sending side of the flow.
use super::names;
use super::parser::{self, Apdu, Bvlc, Npdu};
use super::record::{self, Detail, Network, Transaction};
use super::tags::{self, TagIssue, Value};
use crate::{Anomaly, Direction, Identity, Output, Parser, Record, Side, Timestamp, Txn};
use std::collections::VecDeque;
use std::net::{IpAddr, Ipv4Addr};

/// Requests waiting for an answer, per flow.
pub const MAX_PENDING: usize = 64;
/// Consecutive malformed datagrams that end BACnet parsing of a flow that never had a
/// valid one.
pub const MAX_BAD_UNCONFIRMED: u32 = 4;
/// ... of a flow that had valid ones.
pub const MAX_BAD_CONFIRMED: u32 = 16;

struct Pending {
    ts: Timestamp,
    dir: Direction,
    /// Invoke id (APDU requests) or `None` for BVLC requests.
    invoke_id: Option<u8>,
    bvlc_function: u8,
    tx: Transaction,
}

#[derive(Default, Clone, PartialEq)]
struct DeviceInfo {
    vendor: Option<String>,
    model: Option<String>,
    firmware: Option<String>,
    app_version: Option<String>,
    name: Option<String>,
}

/// The BACnet/IP parser of one flow.
pub struct BacnetParser {
    pending: VecDeque<Pending>,
    /// Device facts per answering direction (to server, to client).
    devices: [DeviceInfo; 2],
    emitted: [DeviceInfo; 2],
    confirmed: bool,
    bad_streak: u32,
    disabled: bool,
}

impl Default for BacnetParser {
    fn default() -> Self {
        Self::new()
    }
}

fn anomaly(
    out: &mut Vec<Output>,
    ts: Timestamp,
    dir: Direction,
    kind: &'static str,
    message: String,
) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "bacnet",
        kind,
        message,
        dir,
    }));
}

fn emit(
    out: &mut Vec<Output>,
    ts: Timestamp,
    ts_end: Option<Timestamp>,
    dir: Direction,
    tx: Transaction,
) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end,
        dir,
        record: Record::Bacnet(Box::new(tx)),
    }));
}

/// Reports service data nested too deep or declaring lengths past the APDU (the
/// message is still decoded as far as it goes). A later segment of a segmented
/// message starts and ends anywhere, so only its nesting is checked.
fn check_structure(a: &Apdu<'_>, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
    if !matches!(a.pdu_type, 0 | 1 | 3 | 5) {
        return;
    }
    match tags::scan(a.data) {
        Some(i @ TagIssue::TooDeep { .. }) => anomaly(out, ts, dir, i.kind(), i.to_string()),
        Some(i @ TagIssue::Overrun { .. }) if !a.segmented => {
            anomaly(out, ts, dir, i.kind(), i.to_string())
        }
        _ => {}
    }
}

fn side_of(dir: Direction) -> Side {
    match dir {
        Direction::ToServer => Side::Client,
        Direction::ToClient => Side::Server,
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn network_of(n: &Npdu<'_>) -> Option<Box<Network>> {
    if n.dnet.is_none() && n.snet.is_none() && n.vendor_id.is_none() {
        return None;
    }
    Some(Box::new(Network {
        dnet: n.dnet,
        dadr: n.dnet.map(|_| hex(n.dadr)),
        snet: n.snet,
        sadr: n.snet.map(|_| hex(n.sadr)),
        hop_count: n.hop_count,
        vendor_id: n.vendor_id,
    }))
}

impl BacnetParser {
    pub fn new() -> BacnetParser {
        BacnetParser {
            pending: VecDeque::new(),
            devices: Default::default(),
            emitted: Default::default(),
            confirmed: false,
            bad_streak: 0,
            disabled: false,
        }
    }

    /// The parser gave up on the flow (not BACnet).
    pub fn is_disabled(&self) -> bool {
        self.disabled
    }

    fn bad(&mut self, dir: Direction, ts: Timestamp, out: &mut Vec<Output>) {
        self.bad_streak = self.bad_streak.saturating_add(1);
        let limit = if self.confirmed {
            MAX_BAD_CONFIRMED
        } else {
            MAX_BAD_UNCONFIRMED
        };
        if self.bad_streak >= limit {
            self.disabled = true;
            anomaly(
                out,
                ts,
                dir,
                "not_bacnet",
                format!(
                    "{} consecutive malformed datagrams{}: no longer parsing this flow as BACnet/IP",
                    self.bad_streak,
                    if self.confirmed { "" } else { " and no valid one" }
                ),
            );
        }
    }

    fn push_pending(&mut self, p: Pending, out: &mut Vec<Output>) {
        if self.pending.len() >= MAX_PENDING {
            if let Some(old) = self.pending.pop_front() {
                anomaly(
                    out,
                    p.ts,
                    old.dir,
                    "unanswered_request",
                    format!(
                        "more than {MAX_PENDING} requests waiting: {} request given up",
                        old.tx.function
                    ),
                );
                emit(out, old.ts, None, old.dir, old.tx);
            }
        }
        self.pending.push_back(p);
    }

    fn datagram(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        let bvlc = match parser::parse_bvlc(data) {
            Ok(b) => b,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        if usize::from(bvlc.length) != data.len() {
            anomaly(
                out,
                ts,
                dir,
                "bad_length",
                format!(
                    "BVLC length {} but the datagram has {} bytes (decoded whole)",
                    bvlc.length,
                    data.len()
                ),
            );
        }
        let mut tx = Transaction {
            bvlc_function: names::bvlc_function_name(bvlc.function),
            forwarded_from: bvlc
                .forwarded_from
                .map(|(ip, port)| format!("{}:{port}", Ipv4Addr::from(ip))),
            ..Transaction::default()
        };
        let Some(npdu_bytes) = bvlc.npdu else {
            self.confirmed = true;
            self.bad_streak = 0;
            self.bvlc_only(dir, &bvlc, tx, ts, out);
            return;
        };
        let npdu = match parser::parse_npdu(npdu_bytes) {
            Ok(n) => n,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        tx.network = network_of(&npdu);
        if let Some(m) = npdu.message_type {
            self.confirmed = true;
            self.bad_streak = 0;
            tx.function_code = 512 + u16::from(m);
            tx.function = names::network_message_name(m);
            tx.request = true;
            emit(out, ts, None, dir, tx);
            return;
        }
        let apdu = match parser::parse_apdu(npdu.payload) {
            Ok(a) => a,
            Err(e) => {
                anomaly(out, ts, dir, e.kind(), e.to_string());
                self.bad(dir, ts, out);
                return;
            }
        };
        self.confirmed = true;
        self.bad_streak = 0;
        check_structure(&apdu, dir, ts, out);
        let origin = bvlc
            .forwarded_from
            .map(|(ip, _)| IpAddr::V4(Ipv4Addr::from(ip)));
        self.apdu(dir, &apdu, tx, origin, ts, out);
    }

    fn bvlc_only(
        &mut self,
        dir: Direction,
        b: &Bvlc<'_>,
        mut tx: Transaction,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let f = b.function;
        match f {
            // Answers: BVLC-Result, Read-BDT-Ack, Read-FDT-Ack.
            0x00 | 0x03 | 0x07 => {
                let want: &[u8] = match f {
                    0x03 => &[0x02],
                    0x07 => &[0x06],
                    _ => &[0x01, 0x02, 0x05, 0x06, 0x08, 0x09],
                };
                let found = self
                    .pending
                    .iter()
                    .position(|p| {
                        p.invoke_id.is_none() && p.dir != dir && want.contains(&p.bvlc_function)
                    })
                    .and_then(|i| self.pending.remove(i));
                let this = names::bvlc_function_name(f);
                let (mut t, start, first_dir) = match found {
                    Some(p) => (p.tx, p.ts, p.dir),
                    None => {
                        tx.function_code = 256 + u16::from(f);
                        tx.function = this;
                        (tx, ts, dir)
                    }
                };
                t.response = true;
                if t.bvlc_function != this {
                    t.response_bvlc_function = Some(this);
                }
                if f == 0x00 {
                    let code = b.body.get(..2).map(|c| {
                        u16::from_be_bytes([
                            c.first().copied().unwrap_or(0),
                            c.get(1).copied().unwrap_or(0),
                        ])
                    });
                    t.result_code = code;
                    t.result = code.map(names::result_name);
                }
                emit(out, start, Some(ts), first_dir, t);
            }
            // Requests answered by a result or an ACK.
            0x01 | 0x02 | 0x05 | 0x06 | 0x08 => {
                tx.function_code = 256 + u16::from(f);
                tx.function = names::bvlc_function_name(f);
                tx.request = true;
                self.push_pending(
                    Pending {
                        ts,
                        dir,
                        invoke_id: None,
                        bvlc_function: f,
                        tx,
                    },
                    out,
                );
            }
            _ => {
                tx.function_code = 256 + u16::from(f);
                tx.function = names::bvlc_function_name(f);
                tx.request = true;
                emit(out, ts, None, dir, tx);
            }
        }
    }

    fn apdu(
        &mut self,
        dir: Direction,
        a: &Apdu<'_>,
        mut tx: Transaction,
        origin: Option<IpAddr>,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let service = a.service.unwrap_or(0);
        match a.pdu_type {
            0 => {
                tx.function_code = u16::from(service);
                tx.function = names::confirmed_service_name(service);
                tx.pdu_type = Some("confirmed_request");
                tx.invoke_id = a.invoke_id;
                tx.request = true;
                tx.segmented = a.segmented;
                if a.segmented && a.sequence != Some(0) {
                    // A later segment of a request already pending: nothing new.
                    if self
                        .pending
                        .iter()
                        .any(|p| p.dir == dir && p.invoke_id == a.invoke_id)
                    {
                        return;
                    }
                }
                let d = record::confirmed_request(service, a.data);
                tx.detail = Some(Box::new(d));
                if let Some(i) = self
                    .pending
                    .iter()
                    .position(|p| p.dir == dir && p.invoke_id == a.invoke_id)
                {
                    if let Some(old) = self.pending.remove(i) {
                        anomaly(
                            out,
                            ts,
                            dir,
                            "unanswered_request",
                            format!(
                                "{} request (invoke id {}) got no answer before its invoke id was reused",
                                old.tx.function,
                                old.invoke_id.unwrap_or(0)
                            ),
                        );
                        emit(out, old.ts, None, old.dir, old.tx);
                    }
                }
                self.push_pending(
                    Pending {
                        ts,
                        dir,
                        invoke_id: a.invoke_id,
                        bvlc_function: 0xFF,
                        tx,
                    },
                    out,
                );
            }
            1 => {
                tx.function_code = u16::from(service);
                tx.function = names::unconfirmed_service_name(service);
                tx.pdu_type = Some("unconfirmed_request");
                tx.request = true;
                let d = record::unconfirmed_request(service, a.data);
                let identity = (service == 0).then(|| {
                    let mut id = Identity {
                        side: Some(side_of(dir)),
                        source: "bacnet.i_am",
                        address: origin,
                        ..Identity::default()
                    };
                    id.vendor = match (d.vendor_name, d.vendor_id) {
                        (Some(n), _) => Some(n.to_string()),
                        (None, Some(v)) => Some(format!("vendor {v}")),
                        _ => None,
                    };
                    id.name = d.device.map(|o| format!("device {}", o.instance));
                    id
                });
                tx.detail = Some(Box::new(d));
                emit(out, ts, None, dir, tx);
                if let Some(id) = identity {
                    if id.vendor.is_some() || id.name.is_some() {
                        out.push(Output::Identity(id));
                    }
                }
            }
            2..=7 => self.answer(dir, a, tx, origin, ts, out),
            t => {
                anomaly(
                    out,
                    ts,
                    dir,
                    "bad_pdu_type",
                    format!("reserved APDU type {t}"),
                );
            }
        }
    }

    fn answer(
        &mut self,
        dir: Direction,
        a: &Apdu<'_>,
        tx: Transaction,
        origin: Option<IpAddr>,
        ts: Timestamp,
        out: &mut Vec<Output>,
    ) {
        let pdu = names::pdu_type_name(a.pdu_type);
        let tx_bvlc = tx.bvlc_function;
        // Who sent the request: the other side, except for an abort by the client.
        let requester_same_side = a.pdu_type == 7 && !a.server;
        let idx = self.pending.iter().position(|p| {
            p.invoke_id.is_some()
                && p.invoke_id == a.invoke_id
                && ((p.dir == dir) == requester_same_side)
        });
        if a.pdu_type == 4 {
            // Segment ACK: part of a segmented exchange, no transaction.
            if let Some(p) = idx.and_then(|i| self.pending.get_mut(i)) {
                p.tx.segmented = true;
            }
            return;
        }
        let found = idx.and_then(|i| self.pending.remove(i));
        let paired = found.is_some();
        let (mut t, start, first_dir) = match found {
            Some(p) => (p.tx, p.ts, p.dir),
            None => {
                let mut t = tx;
                let svc = a.service.unwrap_or(0);
                // Rejects and aborts name no service: 768 + PDU type.
                let (code, name) = match a.pdu_type {
                    6 => (768 + 6, "reject"),
                    7 => (768 + 7, "abort"),
                    _ => (u16::from(svc), names::confirmed_service_name(svc)),
                };
                t.function_code = code;
                t.function = name;
                t.invoke_id = a.invoke_id;
                t.pdu_type = Some(pdu);
                (t, ts, dir)
            }
        };
        if paired {
            if let (Some(s), 2 | 3 | 5) = (a.service, a.pdu_type) {
                if u16::from(s) != t.function_code {
                    anomaly(
                        out,
                        ts,
                        dir,
                        "unexpected_response",
                        format!(
                            "{pdu} for service {} answers a {} request (invoke id {})",
                            names::confirmed_service_name(s),
                            t.function,
                            a.invoke_id.unwrap_or(0)
                        ),
                    );
                }
            }
        }
        t.response = true;
        t.response_pdu_type = Some(pdu);
        if t.bvlc_function != tx_bvlc {
            t.response_bvlc_function = Some(tx_bvlc);
        }
        match a.pdu_type {
            3 => {
                t.segmented |= a.segmented;
                if a.segmented && a.sequence != Some(0) {
                    // Later segment: nothing more to decode.
                } else if let Some(s) = a.service {
                    let mut d = t.detail.take().map(|b| *b).unwrap_or_default();
                    record::complex_ack(s, a.data, &mut d);
                    t.detail = Some(Box::new(d));
                }
                if a.segmented && a.more_follows {
                    // Wait for the last segment.
                    self.pending.push_back(Pending {
                        ts: start,
                        dir: first_dir,
                        invoke_id: a.invoke_id,
                        bvlc_function: 0xFF,
                        tx: t,
                    });
                    return;
                }
            }
            5 => {
                if let Some((c, e)) = record::error_pdu(a.data) {
                    t.error_class = Some(names::error_class_name(c));
                    t.error_code = Some(names::error_code_name(e));
                }
            }
            6 => t.reason = a.reason.map(names::reject_reason_name),
            7 => t.reason = a.reason.map(names::abort_reason_name),
            _ => {}
        }
        if !paired && a.pdu_type != 7 {
            anomaly(
                out,
                ts,
                dir,
                "unexpected_response",
                format!(
                    "{pdu} (invoke id {}) without a request",
                    a.invoke_id.unwrap_or(0)
                ),
            );
        }
        let answering = dir;
        let device_facts = (a.pdu_type == 3).then(|| device_facts(t.detail.as_deref()));
        emit(out, start, Some(ts), first_dir, t);
        if let Some(Some(facts)) = device_facts {
            self.device_identity(answering, facts, origin, out);
        }
    }

    fn device_identity(
        &mut self,
        dir: Direction,
        facts: DeviceInfo,
        origin: Option<IpAddr>,
        out: &mut Vec<Output>,
    ) {
        let i = usize::from(dir == Direction::ToClient);
        let (Some(cur), Some(last)) = (self.devices.get_mut(i), self.emitted.get(i)) else {
            return;
        };
        let merge = |dst: &mut Option<String>, src: Option<String>| {
            if src.is_some() {
                *dst = src;
            }
        };
        merge(&mut cur.vendor, facts.vendor);
        merge(&mut cur.model, facts.model);
        merge(&mut cur.firmware, facts.firmware);
        merge(&mut cur.app_version, facts.app_version);
        merge(&mut cur.name, facts.name);
        if cur == last {
            return;
        }
        let snapshot = cur.clone();
        out.push(Output::Identity(Identity {
            side: Some(side_of(dir)),
            source: "bacnet.device",
            address: origin,
            vendor: snapshot.vendor.clone(),
            model: snapshot.model.clone(),
            firmware: snapshot
                .firmware
                .clone()
                .or_else(|| snapshot.app_version.clone()),
            name: snapshot.name.clone(),
            ..Identity::default()
        }));
        if let Some(e) = self.emitted.get_mut(i) {
            *e = snapshot;
        }
    }
}

/// Identity facts in a read answer about a device object.
fn device_facts(d: Option<&Detail>) -> Option<DeviceInfo> {
    let d = d?;
    let mut f = DeviceInfo::default();
    let mut any = false;
    for p in &d.properties {
        if p.object.or(d.object).map(|o| o.object_type) != Some(8) {
            continue;
        }
        let Some(Value::CharacterString(s)) = p.values.first() else {
            continue;
        };
        if s.trim().is_empty() || matches!(s.trim(), "N/A" | "n/a" | "NA") {
            continue;
        }
        let slot = match p.property {
            121 => &mut f.vendor,
            70 => &mut f.model,
            44 => &mut f.firmware,
            12 => &mut f.app_version,
            77 => &mut f.name,
            _ => continue,
        };
        *slot = Some(s.trim().to_string());
        any = true;
    }
    any.then_some(f)
}

impl Parser for BacnetParser {
    fn parse(&mut self, dir: Direction, data: &[u8], ts: Timestamp, out: &mut Vec<Output>) {
        if self.disabled || data.is_empty() {
            return;
        }
        self.datagram(dir, data, ts, out);
    }

    fn gap(&mut self, _dir: Direction, _len: u64, _ts: Timestamp, _out: &mut Vec<Output>) {}

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Output>) {
        while let Some(p) = self.pending.pop_front() {
            emit(out, p.ts, None, p.dir, p.tx);
        }
    }
}
