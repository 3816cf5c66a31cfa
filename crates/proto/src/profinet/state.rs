//! The Profinet frame parser: DCP pairing and identities, RT counting.
use super::dcp::{self, DeviceFacts};
use super::record::{DcpDevice, DcpTransaction, RtAlarm, RtRecord, RtStream};
use super::rt;
use crate::goose::record::mac_string;
use crate::{Anomaly, Direction, FrameParser, Identity, L2Frame, Output, Record, Timestamp, Txn};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// How long a request waits for answers (identify responses come within the
/// response delay, at most a few seconds).
pub const REQUEST_TIMEOUT_NS: i64 = 30_000_000_000;
/// Most requests waiting.
pub const MAX_PENDING: usize = 256;
/// Most devices whose RT traffic is counted.
pub const MAX_DEVICES: usize = 1024;
/// Most streams (frame ids) counted per device.
pub const MAX_STREAMS: usize = 64;

/// Vendor name of a PROFINET vendor id (PI manufacturer id list).
pub fn vendor_name(id: u16) -> Option<&'static str> {
    static TABLE: &str = include_str!("vendors.tsv");
    TABLE
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .find(|(hex, _)| {
            u16::from_str_radix(hex.trim().trim_start_matches("0x"), 16).ok() == Some(id)
        })
        .map(|(_, name)| name.trim())
}

struct Pending {
    ts: Timestamp,
    frame_id: u16,
    requester: [u8; 6],
    tx: DcpTransaction,
    answered: bool,
}

struct Device {
    src: [u8; 6],
    frames: u64,
    streams: Vec<RtStream>,
    truncated: bool,
    first_ts: Timestamp,
    last_ts: Timestamp,
}

/// The Profinet frame parser (one per engine).
#[derive(Default)]
pub struct ProfinetParser {
    pending: VecDeque<Pending>,
    devices: Vec<Device>,
    index: HashMap<[u8; 6], usize>,
    untracked: u64,
    last_ts: Timestamp,
}

fn anomaly(out: &mut Vec<Output>, ts: Timestamp, kind: &'static str, message: String) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "profinet",
        kind,
        message,
        dir: Direction::ToServer,
    }));
}

fn device(f: &DeviceFacts) -> DcpDevice {
    DcpDevice {
        name_of_station: f.name_of_station.clone(),
        type_of_station: f.type_of_station.clone(),
        alias_name: f.alias_name.clone(),
        vendor_id: f.vendor_id,
        vendor: f.vendor_id.and_then(vendor_name),
        device_id: f.device_id,
        device_role: f.device_role.map(dcp::device_roles).unwrap_or_default(),
        mac: f.mac,
        ip: f.ip,
        netmask: f.netmask,
        gateway: f.gateway,
        options: f.options.clone(),
        permanent: f.permanent,
    }
}

fn emit(out: &mut Vec<Output>, ts: Timestamp, ts_end: Option<Timestamp>, tx: DcpTransaction) {
    out.push(Output::Txn(Txn {
        ts,
        ts_end,
        dir: Direction::ToServer,
        record: Record::ProfinetDcp(Box::new(tx)),
    }));
}

/// The identity a device states about itself (identify/get response, hello).
fn identity(src: [u8; 6], f: &DeviceFacts) -> Option<Identity> {
    if f.name_of_station.is_none()
        && f.vendor_id.is_none()
        && f.type_of_station.is_none()
        && f.ip.is_none()
    {
        return None;
    }
    let address =
        f.ip.filter(|ip| !ip.is_unspecified() && !ip.is_broadcast())
            .map(IpAddr::V4);
    Some(Identity {
        source: "profinet_dcp.identify",
        address,
        // The frame's source: the device itself (its MAC block says the same).
        mac: Some(src),
        vendor: f.vendor_id.and_then(vendor_name).map(str::to_string),
        product: f.type_of_station.clone().filter(|s| !s.trim().is_empty()),
        name: f.name_of_station.clone().filter(|s| !s.trim().is_empty()),
        ..Identity::default()
    })
}

impl ProfinetParser {
    pub fn new() -> ProfinetParser {
        ProfinetParser::default()
    }

    /// Emits requests whose answers can no longer come.
    fn expire(&mut self, now: Timestamp, out: &mut Vec<Output>) {
        while self
            .pending
            .front()
            .is_some_and(|p| now.saturating_sub(p.ts) > REQUEST_TIMEOUT_NS)
        {
            if let Some(p) = self.pending.pop_front() {
                if !p.answered {
                    emit(out, p.ts, None, p.tx);
                }
            }
        }
    }

    fn dcp(&mut self, f: &L2Frame<'_>, frame_id: u16, pdu: &[u8], out: &mut Vec<Output>) {
        let (h, area) = match dcp::parse(pdu) {
            Ok(x) => x,
            Err(e) => {
                anomaly(
                    out,
                    f.ts,
                    e.kind(),
                    format!("DCP frame from {}: {e}", mac_string(&f.src_mac)),
                );
                return;
            }
        };
        let blocks = match dcp::blocks(&h, area) {
            Ok(b) => b,
            Err(e) => {
                anomaly(
                    out,
                    f.ts,
                    e.kind(),
                    format!("DCP frame from {}: {e}", mac_string(&f.src_mac)),
                );
                Vec::new()
            }
        };
        let facts = dcp::facts(&blocks);
        let errors: Vec<String> = facts
            .results
            .iter()
            .filter(|(_, e)| *e != "ok")
            .map(|(o, e)| format!("{o}:{e}"))
            .collect();
        let base = DcpTransaction {
            function_code: h.service_id,
            function: dcp::service_name(h.service_id),
            frame_id,
            xid: h.xid,
            ..DcpTransaction::default()
        };
        if h.service_id == dcp::SERVICE_HELLO {
            let mut tx = base;
            tx.requester = Some(f.src_mac);
            tx.device = Some(Box::new(device(&facts)));
            tx.request = true;
            emit(out, f.ts, None, tx);
            if let Some(id) = identity(f.src_mac, &facts) {
                out.push(Output::Identity(Identity {
                    source: "profinet_dcp.hello",
                    ..id
                }));
            }
            return;
        }
        if h.is_request() {
            // The same request seen twice (mirrored on two ports) counts once.
            if self.pending.iter().any(|p| {
                p.tx.xid == h.xid && p.requester == f.src_mac && p.tx.function_code == h.service_id
            }) {
                return;
            }
            let mut tx = base;
            tx.requester = Some(f.src_mac);
            tx.request = true;
            tx.query = Some(Box::new(device(&facts)));
            if self.pending.len() >= MAX_PENDING {
                if let Some(old) = self.pending.pop_front() {
                    if !old.answered {
                        emit(out, old.ts, None, old.tx);
                    }
                }
            }
            self.pending.push_back(Pending {
                ts: f.ts,
                frame_id,
                requester: f.src_mac,
                tx,
                answered: false,
            });
            return;
        }
        // A response: to the request with its xid from the station it goes to.
        let i = self.pending.iter().position(|p| {
            p.tx.xid == h.xid && p.requester == f.dst_mac && p.tx.function_code == h.service_id
        });
        let (mut tx, start) = match i.and_then(|i| self.pending.get_mut(i)) {
            Some(p) => {
                p.answered = true;
                let mut tx = p.tx.clone();
                tx.frame_id = p.frame_id;
                (tx, p.ts)
            }
            None => {
                let mut tx = base;
                tx.requester = Some(f.dst_mac);
                (tx, f.ts)
            }
        };
        // Identify requests collect many answers; get/set end with theirs.
        if h.service_id != dcp::SERVICE_IDENTIFY {
            if let Some(i) = i {
                self.pending.remove(i);
            }
        }
        tx.responder = Some(f.src_mac);
        tx.response = true;
        tx.status = Some(dcp::service_type_name(h.service_type));
        if h.service_id != dcp::SERVICE_SET {
            tx.device = Some(Box::new(device(&facts)));
        }
        tx.errors = errors;
        emit(out, start, Some(f.ts), tx);
        if matches!(h.service_id, dcp::SERVICE_IDENTIFY | dcp::SERVICE_GET) {
            if let Some(id) = identity(f.src_mac, &facts) {
                out.push(Output::Identity(id));
            }
        }
    }

    fn rt(&mut self, f: &L2Frame<'_>, frame_id: u16, data: &[u8], out: &mut Vec<Output>) {
        let i = match self.index.get(&f.src_mac) {
            Some(&i) => i,
            None => {
                if self.devices.len() >= MAX_DEVICES {
                    self.untracked += 1;
                    return;
                }
                self.devices.push(Device {
                    src: f.src_mac,
                    frames: 0,
                    streams: Vec::new(),
                    truncated: false,
                    first_ts: f.ts,
                    last_ts: f.ts,
                });
                self.index.insert(f.src_mac, self.devices.len() - 1);
                self.devices.len() - 1
            }
        };
        let Some(d) = self.devices.get_mut(i) else {
            return;
        };
        d.frames += 1;
        d.last_ts = f.ts;
        let s = match d.streams.iter().position(|s| s.frame_id == frame_id) {
            Some(j) => d.streams.get_mut(j),
            None if d.streams.len() < MAX_STREAMS => {
                d.streams.push(RtStream {
                    frame_id,
                    class: rt::class(frame_id),
                    dst_mac: f.dst_mac,
                    ..RtStream::default()
                });
                d.streams.last_mut()
            }
            None => {
                d.truncated = true;
                None
            }
        };
        let Some(s) = s else {
            return;
        };
        s.frames += 1;
        s.length = data.len();
        if rt::is_cyclic(frame_id) {
            if let Some(st) = rt::ApduStatus::parse(data) {
                s.invalid_frames += u64::from(!st.data_valid());
                s.provider_stop_frames += u64::from(!st.run());
                s.station_problem_frames += u64::from(!st.station_ok());
                s.backup_frames += u64::from(!st.primary());
            }
        } else if frame_id == 0xfc01 || frame_id == 0xfe01 {
            let (pdu_type, alarm) = rt::alarm(data, frame_id);
            match pdu_type {
                Some(rt::RTA_ACK) => s.alarm_acks += 1,
                Some(rt::RTA_ERR) => s.alarm_errors += 1,
                _ => {}
            }
            if let Some(a) = alarm {
                s.alarm_notifications += 1;
                let src = d.src;
                emit_alarm(out, f, src, frame_id, a);
            }
        }
    }
}

fn emit_alarm(out: &mut Vec<Output>, f: &L2Frame<'_>, src: [u8; 6], frame_id: u16, a: RtAlarm) {
    let rec = RtRecord {
        kind: "alarm",
        function: "alarm",
        src_mac: src,
        frames: 1,
        streams: vec![RtStream {
            frame_id,
            class: rt::class(frame_id),
            dst_mac: f.dst_mac,
            frames: 1,
            length: f.payload.len().saturating_sub(2),
            ..RtStream::default()
        }],
        alarm: Some(Box::new(a)),
        truncated: false,
    };
    out.push(Output::Txn(Txn {
        ts: f.ts,
        ts_end: None,
        dir: Direction::ToServer,
        record: Record::ProfinetRt(Box::new(rec)),
    }));
}

impl FrameParser for ProfinetParser {
    fn frame(&mut self, f: &L2Frame<'_>, out: &mut Vec<Output>) {
        self.last_ts = self.last_ts.max(f.ts);
        self.expire(f.ts, out);
        let Some((id, data)) = f.payload.split_first_chunk::<2>() else {
            anomaly(
                out,
                f.ts,
                "truncated",
                format!(
                    "Profinet frame from {} without a frame id",
                    mac_string(&f.src_mac)
                ),
            );
            return;
        };
        let frame_id = u16::from_be_bytes(*id);
        if (dcp::HELLO..=dcp::IDENTIFY_RESPONSE).contains(&frame_id) {
            self.dcp(f, frame_id, data, out);
        } else {
            self.rt(f, frame_id, data, out);
        }
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Output>) {
        while let Some(p) = self.pending.pop_front() {
            if !p.answered {
                emit(out, p.ts, None, p.tx);
            }
        }
        for d in self.devices.drain(..) {
            let rec = RtRecord {
                kind: "summary",
                function: "rt_summary",
                src_mac: d.src,
                frames: d.frames,
                streams: d.streams,
                alarm: None,
                truncated: d.truncated,
            };
            out.push(Output::Txn(Txn {
                ts: d.first_ts,
                ts_end: Some(d.last_ts),
                dir: Direction::ToServer,
                record: Record::ProfinetRt(Box::new(rec)),
            }));
        }
        self.index.clear();
        if self.untracked > 0 {
            anomaly(
                out,
                self.last_ts,
                "too_many_devices",
                format!(
                    "{} RT frames of devices beyond {MAX_DEVICES} not counted",
                    self.untracked
                ),
            );
            self.untracked = 0;
        }
    }
}
