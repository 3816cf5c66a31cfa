//! The Sluice sensor pipeline.
//!
//! `packet()` takes one captured frame through decoding, IP reassembly, the flow table
//! and TCP reassembly to the application-layer parsers chosen by port and content, and
//! turns what they report into [`event::Event`]s and the [`assets::Inventory`]. Events
//! are collected in a buffer that the caller drains with [`Engine::take_events`].
#![forbid(unsafe_code)]

pub mod assets;
pub mod event;
mod json;
mod record_json;
/// An address's text as `Display` writes it, appended to a byte buffer without `fmt`.
pub use json::push_ip as write_ip;
pub use sluice_flow::PRESIZED_FLOWS;
pub mod oui;
pub mod shard;
pub mod time;

/// Loads the tables the engine otherwise loads on first use (the IEEE OUI registry,
/// the ODVA and ASHRAE vendor lists). Live capture calls it before the first packet,
/// so that the first asset seen does not hold the packets behind it for the tens of
/// milliseconds a registry takes to parse.
pub fn warm_up() {
    let _ = oui::OuiDb::global().len();
    let _ = sluice_proto::enip::names::vendor_name(1);
    let _ = sluice_proto::bacnet::names::vendor_name(0);
}

use assets::{Inventory, OpClass, TxnCounts};
use event::{AnomalyRecord, Body, Event, FlowRecord, Kind};
use serde::Serialize;
use sluice_decode::{
    decode, decode_transport, defrag::Defragmenter, ipproto, tcp_flags, DecodeError, Decoded, Net,
    Transport as L4,
};
use sluice_flow::{
    Budget, Chunk, EndReason, Ended, Endpoint, Flow, FlowConfig, FlowTable, ORIG, RESP,
};
use sluice_proto::{
    registry::{FRAME_REGISTRY, REGISTRY},
    Direction, FrameParser, L2Frame, Output, Parser, Probe, ProtocolDesc, Record, Side, Transport,
};
use std::collections::BTreeMap;
use std::net::IpAddr;

/// Limits and timeouts of the engine.
#[derive(Clone, Copy, Debug)]
pub struct EngineConfig {
    pub flows: FlowConfig,
    /// Cap on bytes buffered for TCP reassembly across all flows.
    pub reassembly_bytes: usize,
    /// Cap on inventoried devices (about 2.3 KiB each); new addresses beyond it are
    /// counted in [`Stats::assets_dropped`], not tracked.
    pub max_assets: usize,
    /// Emit `sluice.flow` events.
    pub flow_events: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            flows: FlowConfig::default(),
            reassembly_bytes: 64 << 20,
            max_assets: 100_000,
            flow_events: true,
        }
    }
}

/// Counters reported in the summary and stored with each run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Stats {
    pub packets: u64,
    pub bytes: u64,
    pub decode_errors: u64,
    pub unsupported_link: u64,
    pub non_ip: u64,
    pub arp: u64,
    pub ipv4: u64,
    pub ipv6: u64,
    pub tcp: u64,
    pub udp: u64,
    pub icmp: u64,
    pub fragments: u64,
    pub reassembled_datagrams: u64,
    pub fragments_dropped: u64,
    pub flows: u64,
    pub flows_evicted: u64,
    pub reassembly_overflows: u64,
    /// Observations of devices not inventoried because the asset cap was reached (one
    /// per refused update, not per address).
    pub assets_dropped: u64,
    pub tcp_gaps: u64,
    pub transactions: BTreeMap<&'static str, u64>,
    pub anomalies: u64,
    pub first_ts: Option<i64>,
    pub last_ts: Option<i64>,
}

impl Stats {
    /// Total transactions over all protocols.
    pub fn total_transactions(&self) -> u64 {
        self.transactions.values().sum()
    }

    /// Adds another worker's counters.
    pub fn merge(&mut self, o: &Stats) {
        self.packets += o.packets;
        self.bytes += o.bytes;
        self.decode_errors += o.decode_errors;
        self.unsupported_link += o.unsupported_link;
        self.non_ip += o.non_ip;
        self.arp += o.arp;
        self.ipv4 += o.ipv4;
        self.ipv6 += o.ipv6;
        self.tcp += o.tcp;
        self.udp += o.udp;
        self.icmp += o.icmp;
        self.fragments += o.fragments;
        self.reassembled_datagrams += o.reassembled_datagrams;
        self.fragments_dropped += o.fragments_dropped;
        self.flows += o.flows;
        self.flows_evicted += o.flows_evicted;
        self.reassembly_overflows += o.reassembly_overflows;
        self.assets_dropped += o.assets_dropped;
        self.tcp_gaps += o.tcp_gaps;
        for (k, v) in &o.transactions {
            *self.transactions.entry(k).or_insert(0) += v;
        }
        self.anomalies += o.anomalies;
        self.first_ts = match (self.first_ts, o.first_ts) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.last_ts = match (self.last_ts, o.last_ts) {
            (Some(a), Some(b)) => Some(a.max(b)),
            (a, b) => a.or(b),
        };
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Detect {
    /// Still looking (number of payload chunks probed so far).
    Pending(u8),
    Found,
    Unknown,
}

/// Application-layer state of a flow.
pub struct AppState {
    proto: Option<&'static ProtocolDesc>,
    parser: Option<Box<dyn Parser>>,
    detect: Detect,
    /// First bytes of each direction kept while the protocol is undecided.
    probe_buf: [Vec<u8>; 2],
    events: u32,
    txns: u64,
    /// The flow record already went out (a rejected connection attempt, reported at
    /// its reset): packets still arriving are counted in the table, not reported again.
    reported: bool,
    /// Transactions per protocol, applied to the inventory when the flow ends.
    tally: Tally,
}

/// Transactions of (up to two) protocols on one flow; a third protocol goes to the
/// inventory at once.
type Tally = [(Option<&'static str>, TxnCounts); 2];

/// Counts a transaction in the flow's tally; false when the tally has no room.
fn tally_add(tally: &mut Tally, proto: &'static str, op: OpClass, outstation: bool) -> bool {
    for (p, c) in tally.iter_mut() {
        match p {
            Some(q) if *q == proto => {
                c.add(op, outstation);
                return true;
            }
            Some(_) => {}
            None => {
                *p = Some(proto);
                c.add(op, outstation);
                return true;
            }
        }
    }
    false
}

impl Default for AppState {
    fn default() -> Self {
        AppState {
            proto: None,
            parser: None,
            detect: Detect::Pending(0),
            probe_buf: [Vec::new(), Vec::new()],
            events: 0,
            txns: 0,
            reported: false,
            tally: Default::default(),
        }
    }
}

/// Bytes kept per direction while probing for the protocol.
const PROBE_BYTES: usize = 512;
/// Payload chunks probed before a flow's protocol is declared unknown.
const PROBE_TRIES: u8 = 8;

/// The flow record event of `flow` (its current interval), ending for `reason`.
fn flow_event(flow: &mut Flow<AppState>, reason: EndReason) -> Event {
    let st =
        |f: fn(&sluice_flow::StreamStats) -> u64| f(&flow.tcp[0].stats) + f(&flow.tcp[1].stats);
    let rec = FlowRecord {
        start: flow.interval_ts,
        end: flow.last_ts,
        packets: flow.packets,
        bytes: flow.bytes,
        payload_bytes: flow.payload_bytes,
        history: flow.history.clone(),
        end_reason: reason,
        gaps: st(|s| s.gaps),
        gap_bytes: st(|s| s.gap_bytes),
        overlap_bytes: st(|s| s.overlap_bytes),
        retransmissions: st(|s| s.retransmissions),
        out_of_order: st(|s| s.out_of_order),
        transactions: flow.app.txns,
    };
    let seq = flow.app.events;
    flow.app.events += 1;
    Event {
        ts: flow.interval_ts,
        kind: Kind::Event,
        flow_uid: Some(flow.uid),
        seq,
        src: Some(flow.client),
        dst: Some(flow.server),
        src_mac: flow.client_mac,
        dst_mac: flow.server_mac,
        transport: Some(transport_name(flow.key.proto)),
        protocol: flow.app.proto.map(|p| p.name),
        body: Body::Flow(rec),
    }
}

/// The pipeline.
pub struct Engine {
    pub cfg: EngineConfig,
    flows: FlowTable<AppState>,
    defrag: Defragmenter,
    budget: Budget,
    pub assets: Inventory,
    pub stats: Stats,
    events: Vec<Event>,
    outputs: Vec<Output>,
    ended: Vec<Ended<AppState>>,
    next_housekeeping: i64,
    /// More flows are past their timeout than one packet ends.
    expiry_due: bool,
    /// Events with no flow (e.g. decode anomalies) get sequence numbers from here.
    loose_seq: u32,
    /// Layer-2 protocol parsers, by index in `FRAME_REGISTRY`, created on first use.
    frame_parsers: Vec<Option<Box<dyn FrameParser>>>,
}

const SEC: i64 = 1_000_000_000;
/// Flows ended per packet when many time out at once (about half a millisecond of work).
const EXPIRE_PER_PACKET: usize = 256;

fn transport_of(proto: u8) -> Option<Transport> {
    match proto {
        ipproto::TCP => Some(Transport::Tcp),
        ipproto::UDP => Some(Transport::Udp),
        _ => None,
    }
}

fn transport_name(proto: u8) -> &'static str {
    match proto {
        ipproto::TCP => "tcp",
        ipproto::UDP => "udp",
        ipproto::ICMP => "icmp",
        ipproto::ICMPV6 => "ipv6-icmp",
        _ => "other",
    }
}

fn is_registered_port(port: u16, t: Transport) -> bool {
    REGISTRY
        .iter()
        .any(|d| d.transports.contains(&t) && d.ports.contains(&port))
}

/// Classifies an ICS transaction for role inference and detection.
pub fn op_class(r: &Record) -> OpClass {
    r.operation()
}

impl Engine {
    pub fn new(cfg: EngineConfig) -> Self {
        Engine {
            cfg,
            flows: FlowTable::new(cfg.flows),
            defrag: Defragmenter::default(),
            budget: Budget::new(cfg.reassembly_bytes),
            assets: Inventory::new(cfg.max_assets),
            stats: Stats::default(),
            events: Vec::with_capacity(1024),
            outputs: Vec::new(),
            ended: Vec::new(),
            next_housekeeping: i64::MIN,
            expiry_due: false,
            loose_seq: 0,
            frame_parsers: Vec::new(),
        }
    }

    /// Events produced since the last call.
    pub fn take_events(&mut self) -> std::vec::Drain<'_, Event> {
        self.events.drain(..)
    }

    /// Number of events waiting.
    pub fn pending_events(&self) -> usize {
        self.events.len()
    }

    /// Flows currently tracked.
    pub fn active_flows(&self) -> usize {
        self.flows.len()
    }

    /// Bytes buffered for reassembly.
    pub fn reassembly_bytes(&self) -> usize {
        self.budget.used
    }

    /// Processes one frame.
    /// Advances the clock to `now` without a packet (a live capture on a quiet link):
    /// flows whose timeout has passed end, and their records go out, as they would at
    /// the next packet. Only forward, and at most once per second of `now`.
    pub fn advance(&mut self, now: i64) {
        let last = self.stats.last_ts.unwrap_or(i64::MIN);
        if now > last && (now >= self.next_housekeeping || self.expiry_due) {
            self.housekeeping(now, usize::MAX);
        }
    }

    pub fn packet(&mut self, ts: i64, linktype: u32, data: &[u8], orig_len: u32) {
        let st = &mut self.stats;
        st.packets += 1;
        st.bytes += u64::from(orig_len.max(data.len() as u32));
        if st.first_ts.is_none() {
            st.first_ts = Some(ts);
        }
        st.last_ts = Some(st.last_ts.map_or(ts, |l| l.max(ts)));
        if ts >= self.next_housekeeping || self.expiry_due {
            self.housekeeping(ts, EXPIRE_PER_PACKET);
        }
        let d = match decode(linktype, data) {
            Ok(d) => d,
            Err(DecodeError::UnsupportedLinkType(_)) => {
                self.stats.unsupported_link += 1;
                return;
            }
            Err(_) => {
                self.stats.decode_errors += 1;
                return;
            }
        };
        let len = u64::from(orig_len.max(data.len() as u32));
        match &d.net {
            Net::Arp(a) => {
                self.stats.arp += 1;
                self.assets
                    .saw_mac(IpAddr::V4(a.sender_ip), a.sender_mac, ts);
            }
            Net::Other { ethertype, payload } => {
                self.stats.non_ip += 1;
                if let (Some(src), Some(dst)) = (d.src_mac, d.dst_mac) {
                    self.l2_frame(ts, src, dst, d.vlan[0], *ethertype, payload);
                }
            }
            Net::Ip(ip) => {
                match ip.src {
                    IpAddr::V4(_) => self.stats.ipv4 += 1,
                    IpAddr::V6(_) => self.stats.ipv6 += 1,
                }
                if let Some(frag) = ip.fragment {
                    self.stats.fragments += 1;
                    let L4::Fragment(bytes) = &ip.transport else {
                        return;
                    };
                    if let Some(whole) = self.defrag.add(ts, ip.src, ip.dst, ip.proto, frag, bytes)
                    {
                        self.stats.reassembled_datagrams += 1;
                        match decode_transport(ip.proto, &whole) {
                            Ok(t) => self.transport(ts, &d, ip.src, ip.dst, ip.proto, &t, len),
                            Err(_) => self.stats.decode_errors += 1,
                        }
                    }
                    self.stats.fragments_dropped = self.defrag.stats.dropped;
                    return;
                }
                let t = ip.transport.clone();
                self.transport(ts, &d, ip.src, ip.dst, ip.proto, &t, len);
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn transport(
        &mut self,
        ts: i64,
        d: &Decoded<'_>,
        src: IpAddr,
        dst: IpAddr,
        proto: u8,
        t: &L4<'_>,
        len: u64,
    ) {
        let (sport, dport, payload, flags, seq, ack) = match t {
            L4::Tcp(tcp) => {
                self.stats.tcp += 1;
                (
                    tcp.src_port,
                    tcp.dst_port,
                    tcp.payload,
                    tcp.flags,
                    tcp.seq,
                    tcp.ack,
                )
            }
            L4::Udp(u) => {
                self.stats.udp += 1;
                (u.src_port, u.dst_port, u.payload, 0, 0, 0)
            }
            L4::Icmp(i) => {
                self.stats.icmp += 1;
                (u16::from(i.icmp_type), u16::from(i.code), &[][..], 0, 0, 0)
            }
            L4::Other(p) | L4::Fragment(p) => (0, 0, *p, 0, 0, 0),
        };
        let s = Endpoint {
            ip: src,
            port: sport,
        };
        let r = Endpoint {
            ip: dst,
            port: dport,
        };
        let mut ended = std::mem::take(&mut self.ended);
        let hit = self
            .flows
            .lookup(ts, s, r, proto, d.vlan_key(), AppState::default, &mut ended);
        self.ended = ended;
        if hit.created {
            self.stats.flows += 1;
        }
        let slot = hit.slot;
        let Some(flow) = self.flows.get_mut(slot) else {
            return;
        };
        let mut side = hit.side;
        if hit.created {
            // Assets are updated per flow, not per packet: here and when it ends.
            if let Some(m) = d.src_mac {
                self.assets.saw_mac(src, m, ts);
            }
            if let Some(m) = d.dst_mac {
                self.assets.saw_mac(dst, m, ts);
            }
            flow.client_mac = d.src_mac;
            flow.server_mac = d.dst_mac;
            // Orientation of a flow not started by a SYN: the well-known port is the server.
            let syn_only = proto == ipproto::TCP
                && flags & (tcp_flags::SYN | tcp_flags::ACK) == tcp_flags::SYN;
            if !syn_only {
                let tr = transport_of(proto).unwrap_or(Transport::Tcp);
                let src_known = is_registered_port(sport, tr);
                let dst_known = is_registered_port(dport, tr);
                let synack = proto == ipproto::TCP
                    && flags & (tcp_flags::SYN | tcp_flags::ACK)
                        == (tcp_flags::SYN | tcp_flags::ACK);
                let ephemeral_client = !src_known && sport < 1024 && dport >= 1024;
                if synack || (!dst_known && (src_known || ephemeral_client)) {
                    flow.swap_sides();
                    side = RESP;
                }
            }
        }
        flow.packets[side] += 1;
        flow.bytes[side] += len;
        flow.payload_bytes[side] += payload.len() as u64;
        if ts > flow.last_ts {
            flow.last_ts = ts;
        }
        let dir = if side == ORIG {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let mut outputs = std::mem::take(&mut self.outputs);
        match proto {
            ipproto::TCP => {
                if flags & tcp_flags::SYN != 0 {
                    flow.history_mark(
                        if flags & tcp_flags::ACK != 0 {
                            b'H'
                        } else {
                            b'S'
                        },
                        side,
                    );
                    flow.syn_seen = true;
                } else if flags & tcp_flags::ACK != 0 {
                    flow.history_mark(b'A', side);
                }
                if !payload.is_empty() {
                    flow.history_mark(b'D', side);
                }
                if flags & tcp_flags::FIN != 0 {
                    flow.history_mark(b'F', side);
                }
                if flags & tcp_flags::RST != 0 {
                    flow.history_mark(b'R', side);
                    flow.rst = true;
                }
                let Flow { tcp, app, .. } = &mut *flow;
                let budget = &mut self.budget;
                let [t0, t1] = tcp;
                let (mine, other) = if side == ORIG { (t0, t1) } else { (t1, t0) };
                if flags & tcp_flags::ACK != 0 {
                    other.acked(ack, budget, &mut |c| {
                        app_chunk(
                            app,
                            Transport::Tcp,
                            dir.reverse(),
                            c,
                            ts,
                            sport,
                            dport,
                            &mut outputs,
                        )
                    });
                }
                mine.segment(
                    seq,
                    flags & tcp_flags::SYN != 0,
                    flags & tcp_flags::FIN != 0,
                    payload,
                    budget,
                    &mut |c| app_chunk(app, Transport::Tcp, dir, c, ts, sport, dport, &mut outputs),
                );
            }
            ipproto::UDP if !payload.is_empty() => {
                app_chunk(
                    &mut flow.app,
                    Transport::Udp,
                    dir,
                    Chunk::Data(payload),
                    ts,
                    sport,
                    dport,
                    &mut outputs,
                );
            }
            _ => {}
        }
        self.outputs = outputs;
        self.flows.touched(slot, ts);
        self.handle_outputs(slot);
        if proto == ipproto::TCP && flags & tcp_flags::RST != 0 {
            self.report_rejected(slot);
        }
        if !self.ended.is_empty() {
            self.finish_ended();
        }
    }

    /// A connection attempt that a reset ended before any payload (a refused port, a
    /// half-open scan probe) is over at its reset: its flow record goes out now, not
    /// when the closed flow leaves the table seconds later, so live scan detection sees
    /// it at once. The flow stays in the table to absorb stray packets.
    fn report_rejected(&mut self, slot: u32) {
        if !self.cfg.flow_events {
            return;
        }
        let Some(flow) = self.flows.get_mut(slot) else {
            return;
        };
        if flow.app.reported || flow.payload_bytes != [0, 0] {
            return;
        }
        flow.app.reported = true;
        let ev = flow_event(flow, EndReason::Rst);
        let (first, last, client, server) =
            (flow.first_ts, flow.last_ts, flow.client.ip, flow.server.ip);
        let counts = [
            (flow.packets[0], flow.bytes[0]),
            (flow.packets[1], flow.bytes[1]),
        ];
        self.assets.flow_ended(first, last, client, server, counts);
        self.events.push(ev);
    }

    /// Once a second of capture time: ends the flows whose timeout passed (at most
    /// `max` now, the rest over the next packets) and expires fragments.
    fn housekeeping(&mut self, ts: i64, max: usize) {
        let round = ts >= self.next_housekeeping;
        if round {
            self.next_housekeeping = ts.saturating_add(SEC);
        }
        let mut ended = std::mem::take(&mut self.ended);
        self.expiry_due = self.flows.expire_some(ts, &mut ended, max);
        self.ended = ended;
        self.finish_ended();
        if !round {
            return;
        }
        self.defrag.expire(ts, false);
        self.stats.fragments_dropped = self.defrag.stats.dropped;
        self.stats.reassembly_overflows = self.budget.overflows;
        self.stats.assets_dropped = self.assets.dropped;
    }

    fn finish_ended(&mut self) {
        let ended = std::mem::take(&mut self.ended);
        for e in ended {
            self.finish_flow(e);
        }
    }

    fn finish_flow(&mut self, e: Ended<AppState>) {
        let Ended { mut flow, reason } = e;
        let ts = flow.last_ts;
        let mut outputs = std::mem::take(&mut self.outputs);
        if reason == EndReason::Evicted {
            self.stats.flows_evicted += 1;
            for s in &mut flow.tcp {
                s.discard(&mut self.budget);
            }
        } else {
            let Flow { tcp, app, key, .. } = &mut flow;
            let (sport, dport) = (key.lo.port, key.hi.port);
            for (i, s) in tcp.iter_mut().enumerate() {
                let dir = if i == ORIG {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                };
                s.flush(&mut self.budget, &mut |c| {
                    app_chunk(app, Transport::Tcp, dir, c, ts, sport, dport, &mut outputs)
                });
            }
        }
        if let Some(p) = flow.app.parser.as_mut() {
            p.finish(ts, &mut outputs);
        }
        self.outputs = outputs;
        self.emit_outputs(&mut flow);
        for (p, c) in std::mem::take(&mut flow.app.tally) {
            if let Some(p) = p {
                self.assets
                    .transactions(flow.first_ts, flow.client.ip, flow.server.ip, p, &c);
            }
        }
        let gaps = flow.tcp[0].stats.gaps + flow.tcp[1].stats.gaps;
        self.stats.tcp_gaps += gaps;
        if flow.app.reported {
            // Its record (and its asset counts) went out at its reset.
            return;
        }
        self.assets.flow_ended(
            flow.first_ts,
            flow.last_ts,
            flow.client.ip,
            flow.server.ip,
            [
                (flow.packets[0], flow.bytes[0]),
                (flow.packets[1], flow.bytes[1]),
            ],
        );
        if let Some(p) = flow.app.proto {
            if flow.app.txns == 0 {
                self.assets
                    .service(ts, flow.client.ip, flow.server.ip, p.name);
            }
        }
        if self.cfg.flow_events {
            let ev = flow_event(&mut flow, reason);
            self.events.push(ev);
        }
    }

    fn handle_outputs(&mut self, slot: u32) {
        if self.outputs.is_empty() {
            return;
        }
        let mut outputs = std::mem::take(&mut self.outputs);
        let info = self.flows.get_mut(slot).map(|f| FlowInfo::of(f));
        if let Some(mut info) = info {
            let mut added_events = 0u32;
            let mut added_txns = 0u64;
            for o in outputs.drain(..) {
                let seq = info.events + added_events;
                if self.output(&mut info, seq, o) {
                    added_txns += 1;
                }
                added_events += 1;
            }
            if let Some(f) = self.flows.get_mut(slot) {
                f.app.events += added_events;
                f.app.txns += added_txns;
                f.app.tally = info.tally;
            }
        }
        outputs.clear();
        self.outputs = outputs;
    }

    fn emit_outputs(&mut self, flow: &mut Flow<AppState>) {
        let mut outputs = std::mem::take(&mut self.outputs);
        let mut info = FlowInfo::of(flow);
        let mut added_events = 0u32;
        for o in outputs.drain(..) {
            let seq = info.events + added_events;
            if self.output(&mut info, seq, o) {
                flow.app.txns += 1;
            }
            added_events += 1;
        }
        flow.app.events += added_events;
        flow.app.tally = info.tally;
        self.outputs = outputs;
    }

    /// Turns one parser output into an event or an inventory update. Returns true for
    /// a transaction.
    fn output(&mut self, f: &mut FlowInfo, seq: u32, o: Output) -> bool {
        match o {
            Output::Txn(t) => {
                let proto = t.record.protocol();
                *self.stats.transactions.entry(proto).or_insert(0) += 1;
                let outstation = matches!(&t.record, Record::Dnp3(_));
                let op = op_class(&t.record);
                if !tally_add(&mut f.tally, proto, op, outstation) {
                    self.assets
                        .transaction(t.ts, f.client.ip, f.server.ip, proto, op, outstation);
                }
                let (src, dst, smac, dmac) = if t.dir == Direction::ToServer {
                    (f.client, f.server, f.client_mac, f.server_mac)
                } else {
                    (f.server, f.client, f.server_mac, f.client_mac)
                };
                self.events.push(Event {
                    ts: t.ts,
                    kind: Kind::Event,
                    flow_uid: Some(f.uid),
                    seq,
                    src: Some(src),
                    dst: Some(dst),
                    src_mac: smac,
                    dst_mac: dmac,
                    transport: Some(transport_name(f.proto)),
                    protocol: Some(proto),
                    body: Body::Txn {
                        ts_end: t.ts_end,
                        record: t.record,
                    },
                });
                true
            }
            Output::Anomaly(a) => {
                self.stats.anomalies += 1;
                let (src, dst) = if a.dir == Direction::ToServer {
                    (f.client, f.server)
                } else {
                    (f.server, f.client)
                };
                self.events.push(Event {
                    ts: a.ts,
                    kind: Kind::Event,
                    flow_uid: Some(f.uid),
                    seq,
                    src: Some(src),
                    dst: Some(dst),
                    src_mac: None,
                    dst_mac: None,
                    transport: Some(transport_name(f.proto)),
                    protocol: Some(a.protocol),
                    body: Body::Anomaly(AnomalyRecord {
                        protocol: a.protocol,
                        kind: a.kind,
                        message: a.message,
                    }),
                });
                false
            }
            Output::Identity(id) => {
                let ip = match (id.address, id.side) {
                    (Some(a), _) => a,
                    (None, Some(Side::Client)) => f.client.ip,
                    _ => f.server.ip,
                };
                self.assets.identity(ip, f.last_ts, id);
                false
            }
        }
    }

    /// A non-IP frame: handed to the layer-2 protocol registered for its ethertype.
    fn l2_frame(
        &mut self,
        ts: i64,
        src: [u8; 6],
        dst: [u8; 6],
        vlan: u16,
        ethertype: u16,
        payload: &[u8],
    ) {
        let Some(i) = FRAME_REGISTRY
            .iter()
            .position(|f| f.ethertypes.contains(&ethertype))
        else {
            return;
        };
        if self.frame_parsers.len() <= i {
            self.frame_parsers
                .resize_with(FRAME_REGISTRY.len(), || None);
        }
        let Some(slot) = self.frame_parsers.get_mut(i) else {
            return;
        };
        let parser = slot.get_or_insert_with(|| (FRAME_REGISTRY[i].new_parser)());
        let mut outputs = std::mem::take(&mut self.outputs);
        parser.frame(
            &L2Frame {
                ts,
                src_mac: src,
                dst_mac: dst,
                vlan,
                ethertype,
                payload,
            },
            &mut outputs,
        );
        self.assets.l2_device(src, ts, FRAME_REGISTRY[i].name);
        self.l2_outputs(&mut outputs, Some(src), Some(dst));
        self.outputs = outputs;
    }

    fn l2_outputs(
        &mut self,
        outputs: &mut Vec<Output>,
        src: Option<[u8; 6]>,
        dst: Option<[u8; 6]>,
    ) {
        for o in outputs.drain(..) {
            match o {
                Output::Txn(t) => {
                    let proto = t.record.protocol();
                    *self.stats.transactions.entry(proto).or_insert(0) += 1;
                    let seq = self.loose_seq;
                    self.loose_seq += 1;
                    self.events.push(Event {
                        ts: t.ts,
                        kind: Kind::Event,
                        flow_uid: None,
                        seq,
                        src: None,
                        dst: None,
                        src_mac: src,
                        dst_mac: dst,
                        transport: None,
                        protocol: Some(proto),
                        body: Body::Txn {
                            ts_end: t.ts_end,
                            record: t.record,
                        },
                    });
                }
                Output::Anomaly(a) => {
                    self.anomaly(a.ts, a.protocol, a.kind, a.message);
                }
                Output::Identity(id) => {
                    let ts = self.stats.last_ts.unwrap_or(0);
                    match (id.address, id.mac.or(src)) {
                        (Some(ip), _) => self.assets.identity(ip, ts, id),
                        (None, Some(mac)) => self.assets.identity_by_mac(mac, ts, id),
                        _ => {}
                    }
                }
            }
        }
    }

    /// Ends the capture: flushes every flow and emits the remaining events.
    pub fn finish(&mut self) {
        while !self.finish_some(usize::MAX) {}
    }

    /// Ends the capture a few hundred flows at a time ([`shard::FLOWS_PER_FINISH`]),
    /// handing the events of each part to `hand_on` before the next part adds more (all
    /// the open flows ending at once held their events together). No packet may follow.
    pub fn finish_in_parts(&mut self, mut hand_on: impl FnMut(std::vec::Drain<'_, Event>)) {
        while !self.finish_some(shard::FLOWS_PER_FINISH) {
            hand_on(self.take_events());
        }
        hand_on(self.take_events());
    }

    /// Ends the capture in parts: at most `max` flows per call, so that the caller can
    /// hand their events on (`take_events`) before the next part; true when the capture
    /// is over (every flow ended, the layer-2 parsers flushed). No packet may follow.
    pub fn finish_some(&mut self, max: usize) -> bool {
        let mut part = std::mem::take(&mut self.ended);
        let done = self.flows.drain_some(&mut part, max);
        for e in part.drain(..) {
            self.finish_flow(e);
        }
        self.ended = part;
        if !done {
            return false;
        }
        let ts = self.stats.last_ts.unwrap_or(0);
        let mut parsers = std::mem::take(&mut self.frame_parsers);
        for p in parsers.iter_mut().flatten() {
            let mut outputs = std::mem::take(&mut self.outputs);
            p.finish(ts, &mut outputs);
            self.l2_outputs(&mut outputs, None, None);
            self.outputs = outputs;
        }
        self.frame_parsers = parsers;
        self.stats.fragments_dropped = self.defrag.stats.dropped;
        self.stats.reassembly_overflows = self.budget.overflows;
        self.stats.assets_dropped = self.assets.dropped;
        true
    }

    /// Records an anomaly not tied to a flow (e.g. a corrupt capture).
    pub fn anomaly(
        &mut self,
        ts: i64,
        protocol: &'static str,
        kind: &'static str,
        message: String,
    ) {
        self.stats.anomalies += 1;
        let seq = self.loose_seq;
        self.loose_seq += 1;
        self.events
            .push(Event::loose_anomaly(ts, seq, protocol, kind, message));
    }
}

/// What outputs need of their flow.
struct FlowInfo {
    uid: u64,
    client: Endpoint,
    server: Endpoint,
    client_mac: Option<[u8; 6]>,
    server_mac: Option<[u8; 6]>,
    proto: u8,
    events: u32,
    last_ts: i64,
    tally: Tally,
}

impl FlowInfo {
    fn of(f: &Flow<AppState>) -> FlowInfo {
        FlowInfo {
            uid: f.uid,
            client: f.client,
            server: f.server,
            client_mac: f.client_mac,
            server_mac: f.server_mac,
            proto: f.key.proto,
            events: f.app.events,
            last_ts: f.last_ts,
            tally: f.app.tally,
        }
    }
}

/// Hands a reassembled chunk (or one datagram) to the flow's parser, detecting the
/// protocol first when it is not known yet.
#[allow(clippy::too_many_arguments)]
fn app_chunk(
    app: &mut AppState,
    tr: Transport,
    dir: Direction,
    c: Chunk<'_>,
    ts: i64,
    sport: u16,
    dport: u16,
    out: &mut Vec<Output>,
) {
    let idx = usize::from(dir == Direction::ToClient);
    match c {
        Chunk::Gap(n) => {
            if let Some(p) = app.parser.as_mut() {
                p.gap(dir, n, ts, out);
            } else if let Detect::Pending(_) = app.detect {
                app.probe_buf[idx].clear();
            }
        }
        Chunk::Data(d) => match app.detect {
            Detect::Found => {
                if let Some(p) = app.parser.as_mut() {
                    p.parse(dir, d, ts, out);
                }
            }
            Detect::Unknown => {}
            Detect::Pending(tries) => {
                let buffered = !app.probe_buf[idx].is_empty();
                let mut take = 0;
                if buffered {
                    let room = PROBE_BYTES.saturating_sub(app.probe_buf[idx].len());
                    take = room.min(d.len());
                    app.probe_buf[idx].extend_from_slice(&d[..take]);
                }
                let data: &[u8] = if buffered { &app.probe_buf[idx] } else { d };
                // The server's port, whichever way this chunk goes.
                let server_port = if dir == Direction::ToServer {
                    dport
                } else {
                    sport
                };
                let client_port = if dir == Direction::ToServer {
                    sport
                } else {
                    dport
                };
                let mut need_more = false;
                let mut chosen = None;
                for pass in 0..2 {
                    for desc in REGISTRY.iter().copied() {
                        if !desc.transports.contains(&tr) {
                            continue;
                        }
                        let on_port =
                            desc.ports.contains(&server_port) || desc.ports.contains(&client_port);
                        if (pass == 0) != on_port {
                            continue;
                        }
                        match (desc.probe)(dir, data) {
                            Probe::Match => {
                                chosen = Some(desc);
                                break;
                            }
                            Probe::NeedMore => need_more = true,
                            Probe::NoMatch => {}
                        }
                    }
                    if chosen.is_some() {
                        break;
                    }
                }
                if let Some(desc) = chosen {
                    let mut parser = (desc.new_parser)(tr);
                    // Bytes of the other direction seen earlier come first.
                    let other = std::mem::take(&mut app.probe_buf[1 - idx]);
                    if !other.is_empty() {
                        parser.parse(dir.reverse(), &other, ts, out);
                    }
                    if buffered {
                        let mine = std::mem::take(&mut app.probe_buf[idx]);
                        parser.parse(dir, &mine, ts, out);
                        if let Some(rest) = d.get(take..).filter(|r| !r.is_empty()) {
                            // Only part of `d` fit in the probe buffer.
                            parser.parse(dir, rest, ts, out);
                        }
                    } else {
                        parser.parse(dir, d, ts, out);
                    }
                    app.proto = Some(desc);
                    app.parser = Some(parser);
                    app.detect = Detect::Found;
                } else if need_more
                    && tries < PROBE_TRIES
                    && (if buffered {
                        take == d.len()
                    } else {
                        d.len() < PROBE_BYTES
                    })
                {
                    if !buffered {
                        app.probe_buf[idx].extend_from_slice(d);
                    }
                    app.detect = Detect::Pending(tries + 1);
                } else {
                    app.detect = Detect::Unknown;
                    app.probe_buf = [Vec::new(), Vec::new()];
                }
            }
        },
    }
}
