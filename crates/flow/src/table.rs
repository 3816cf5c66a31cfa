//! The flow table: bidirectional flows keyed by 5-tuple + VLAN, bounded in count,
//! expired by idle and active timeouts in capture time.
use crate::reassembly::TcpStream;
use hashbrown::HashMap;
use serde::Serialize;
use std::collections::VecDeque;
use std::net::IpAddr;

/// One end of a flow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
pub struct Endpoint {
    pub ip: IpAddr,
    pub port: u16,
}

/// Direction-independent flow key.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct FlowKey {
    pub lo: Endpoint,
    pub hi: Endpoint,
    pub proto: u8,
    pub vlan: u32,
}

impl FlowKey {
    /// Builds the key and tells whether `src` is the `lo` end.
    pub fn new(src: Endpoint, dst: Endpoint, proto: u8, vlan: u32) -> (FlowKey, bool) {
        if src <= dst {
            (
                FlowKey {
                    lo: src,
                    hi: dst,
                    proto,
                    vlan,
                },
                true,
            )
        } else {
            (
                FlowKey {
                    lo: dst,
                    hi: src,
                    proto,
                    vlan,
                },
                false,
            )
        }
    }
}

/// Why a flow record was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// Both sides sent FIN.
    Fin,
    Rst,
    IdleTimeout,
    /// Interim record of a long-lived flow; the flow goes on.
    ActiveTimeout,
    /// Evicted to stay within the flow cap.
    Evicted,
    /// Still open when the capture ended.
    EndOfCapture,
}

impl EndReason {
    /// The name used in events and the store (`idle_timeout`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EndReason::Fin => "fin",
            EndReason::Rst => "rst",
            EndReason::IdleTimeout => "idle_timeout",
            EndReason::ActiveTimeout => "active_timeout",
            EndReason::Evicted => "evicted",
            EndReason::EndOfCapture => "end_of_capture",
        }
    }
}

/// Index of the originator (client, 0) and responder (server, 1) in per-side arrays.
pub const ORIG: usize = 0;
pub const RESP: usize = 1;

/// Timeouts in nanoseconds and caps.
#[derive(Clone, Copy, Debug)]
pub struct FlowConfig {
    pub tcp_idle_ns: i64,
    pub tcp_closed_ns: i64,
    /// A TCP connection attempt nobody answered (only the opener's packets, no
    /// payload) is over after this long: Zeek's `tcp_attempt_delay` is also 5 s.
    pub tcp_attempt_ns: i64,
    pub udp_idle_ns: i64,
    pub other_idle_ns: i64,
    pub active_ns: i64,
    pub max_flows: usize,
    /// Flows the table has room for before it first grows. Live capture wants room
    /// from the start: growing a map of tens of thousands of flows rehashes them all
    /// within one packet. Bulk analysis can start small (a presized map's pages are
    /// all touched as flows land at random in it, so it costs its full size in memory).
    pub presized_flows: usize,
}

impl Default for FlowConfig {
    fn default() -> Self {
        const S: i64 = 1_000_000_000;
        FlowConfig {
            tcp_idle_ns: 600 * S,
            tcp_closed_ns: 5 * S,
            tcp_attempt_ns: 5 * S,
            udp_idle_ns: 120 * S,
            other_idle_ns: 60 * S,
            active_ns: 3600 * S,
            max_flows: 1_000_000,
            presized_flows: PRESIZED_FLOWS,
        }
    }
}

/// A flow and the application state `T` attached to it.
#[derive(Debug)]
pub struct Flow<T> {
    pub key: FlowKey,
    /// Stable id derived from the key and the first packet's time.
    pub uid: u64,
    /// The side that opened the flow (or is believed to be the client).
    pub client: Endpoint,
    pub server: Endpoint,
    pub client_mac: Option<[u8; 6]>,
    pub server_mac: Option<[u8; 6]>,
    pub first_ts: i64,
    pub last_ts: i64,
    /// Start of the current reporting interval (active timeout).
    pub interval_ts: i64,
    pub packets: [u64; 2],
    pub bytes: [u64; 2],
    pub payload_bytes: [u64; 2],
    /// Zeek-style connection history (uppercase: client, lowercase: server).
    pub history: String,
    history_seen: u32,
    pub tcp: [TcpStream; 2],
    pub syn_seen: bool,
    pub rst: bool,
    pub app: T,
    class: u8,
    queued_sec: i64,
}

impl<T> Flow<T> {
    /// Adds a letter to the history, once per letter and side.
    pub fn history_mark(&mut self, letter: u8, side: usize) {
        let idx = match letter {
            b'S' => 0,
            b'H' => 1,
            b'A' => 2,
            b'D' => 3,
            b'F' => 4,
            b'R' => 5,
            b'G' => 6,
            _ => return,
        };
        let bit = 1u32 << (idx * 2 + side as u32);
        if self.history_seen & bit == 0 {
            self.history_seen |= bit;
            let c = if side == ORIG {
                letter as char
            } else {
                (letter as char).to_ascii_lowercase()
            };
            self.history.push(c);
        }
    }

    /// Whether both directions closed.
    pub fn closed(&self) -> bool {
        self.rst || (self.tcp[ORIG].fin && self.tcp[RESP].fin)
    }

    /// Why the flow ends now: its reset or its closing if it saw them, else `otherwise`.
    pub fn end_reason(&self, otherwise: EndReason) -> EndReason {
        if self.rst {
            EndReason::Rst
        } else if self.closed() {
            EndReason::Fin
        } else {
            otherwise
        }
    }

    /// Swaps client and server (when a later packet proves the first guess wrong).
    pub fn swap_sides(&mut self) {
        std::mem::swap(&mut self.client, &mut self.server);
        std::mem::swap(&mut self.client_mac, &mut self.server_mac);
        self.packets.swap(0, 1);
        self.bytes.swap(0, 1);
        self.payload_bytes.swap(0, 1);
        self.tcp.swap(0, 1);
        let h: String = self
            .history
            .chars()
            .map(|c| {
                if c.is_ascii_uppercase() {
                    c.to_ascii_lowercase()
                } else {
                    c.to_ascii_uppercase()
                }
            })
            .collect();
        self.history = h;
        let mut seen = 0u32;
        for i in 0..8 {
            let o = (self.history_seen >> (i * 2)) & 1;
            let r = (self.history_seen >> (i * 2 + 1)) & 1;
            seen |= (r << (i * 2)) | (o << (i * 2 + 1));
        }
        self.history_seen = seen;
    }
}

const CLASS_TCP_OPEN: u8 = 0;
const CLASS_TCP_CLOSED: u8 = 1;
const CLASS_UDP: u8 = 2;
const CLASS_OTHER: u8 = 3;
const CLASS_TCP_ATTEMPT: u8 = 4;
const CLASSES: usize = 5;

/// Counters of the table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct TableStats {
    pub created: u64,
    pub expired: u64,
    pub evicted: u64,
    pub active_flows: u64,
    pub peak_flows: u64,
}

/// Where a packet landed in the table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Hit {
    pub slot: u32,
    /// 0 when the packet goes client→server, 1 otherwise.
    pub side: usize,
    pub created: bool,
}

/// A flow that left the table (or an interim record), for the caller to finalise.
pub struct Ended<T> {
    pub flow: Flow<T>,
    pub reason: EndReason,
}

/// Flows a live table has room for before it first grows (see `FlowConfig`).
pub const PRESIZED_FLOWS: usize = 65_536;

/// The flow table.
pub struct FlowTable<T> {
    map: HashMap<FlowKey, u32>,
    slots: Vec<Option<Flow<T>>>,
    free: Vec<u32>,
    queues: [VecDeque<(u32, i64)>; CLASSES],
    pub cfg: FlowConfig,
    pub stats: TableStats,
    now: i64,
    /// Slots still to end at the end of the capture, last first (see `drain_some`).
    closing: Option<Vec<u32>>,
}

fn fnv(bytes: &[u8], mut h: u64) -> u64 {
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h
}

fn endpoint_bytes(e: &Endpoint, out: &mut Vec<u8>) {
    match e.ip {
        IpAddr::V4(a) => out.extend_from_slice(&a.octets()),
        IpAddr::V6(a) => out.extend_from_slice(&a.octets()),
    }
    out.extend_from_slice(&e.port.to_be_bytes());
}

/// Deterministic flow id from the key and the first packet time.
pub fn flow_uid(key: &FlowKey, first_ts: i64) -> u64 {
    let mut b = Vec::with_capacity(48);
    endpoint_bytes(&key.lo, &mut b);
    endpoint_bytes(&key.hi, &mut b);
    b.push(key.proto);
    b.extend_from_slice(&key.vlan.to_be_bytes());
    b.extend_from_slice(&first_ts.to_be_bytes());
    fnv(&b, 0xcbf2_9ce4_8422_2325) & 0x7fff_ffff_ffff_ffff
}

impl<T> FlowTable<T> {
    pub fn new(cfg: FlowConfig) -> Self {
        FlowTable {
            // (The slots grow by reallocation, which moves pages rather than flows.)
            map: HashMap::with_capacity(cfg.max_flows.min(cfg.presized_flows)),
            slots: Vec::new(),
            free: Vec::new(),
            queues: Default::default(),
            cfg,
            stats: TableStats::default(),
            now: i64::MIN,
            closing: None,
        }
    }

    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    pub fn get_mut(&mut self, slot: u32) -> Option<&mut Flow<T>> {
        self.slots.get_mut(slot as usize).and_then(Option::as_mut)
    }

    fn class_of(flow: &Flow<T>) -> u8 {
        match flow.key.proto {
            6 if flow.closed() => CLASS_TCP_CLOSED,
            6 if flow.packets[RESP] == 0 && flow.payload_bytes[ORIG] == 0 => CLASS_TCP_ATTEMPT,
            6 => CLASS_TCP_OPEN,
            17 => CLASS_UDP,
            _ => CLASS_OTHER,
        }
    }

    fn timeout(&self, class: u8) -> i64 {
        match class {
            CLASS_TCP_OPEN => self.cfg.tcp_idle_ns,
            CLASS_TCP_CLOSED => self.cfg.tcp_closed_ns,
            CLASS_TCP_ATTEMPT => self.cfg.tcp_attempt_ns,
            CLASS_UDP => self.cfg.udp_idle_ns,
            _ => self.cfg.other_idle_ns,
        }
    }

    /// Finds or creates the flow of a packet from `src` to `dst`.
    /// `new_app` builds the application state of a new flow; `ended` receives flows
    /// evicted to make room.
    #[allow(clippy::too_many_arguments)]
    pub fn lookup(
        &mut self,
        ts: i64,
        src: Endpoint,
        dst: Endpoint,
        proto: u8,
        vlan: u32,
        new_app: impl FnOnce() -> T,
        ended: &mut Vec<Ended<T>>,
    ) -> Hit {
        if ts > self.now {
            self.now = ts;
        }
        let (key, _) = FlowKey::new(src, dst, proto, vlan);
        if let Some(&slot) = self.map.get(&key) {
            if let Some(f) = self.slots.get(slot as usize).and_then(Option::as_ref) {
                let side = if f.client == src { ORIG } else { RESP };
                return Hit {
                    slot,
                    side,
                    created: false,
                };
            }
        }
        if self.map.len() >= self.cfg.max_flows {
            self.evict_oldest(ended);
        }
        let flow = Flow {
            key,
            uid: flow_uid(&key, ts),
            client: src,
            server: dst,
            client_mac: None,
            server_mac: None,
            first_ts: ts,
            last_ts: ts,
            interval_ts: ts,
            packets: [0; 2],
            bytes: [0; 2],
            payload_bytes: [0; 2],
            history: String::new(),
            history_seen: 0,
            tcp: Default::default(),
            syn_seen: false,
            rst: false,
            app: new_app(),
            class: u8::MAX,
            queued_sec: i64::MIN,
        };
        let slot = match self.free.pop() {
            Some(s) => {
                self.slots[s as usize] = Some(flow);
                s
            }
            None => {
                self.slots.push(Some(flow));
                (self.slots.len() - 1) as u32
            }
        };
        self.map.insert(key, slot);
        self.stats.created += 1;
        self.stats.active_flows = self.map.len() as u64;
        self.stats.peak_flows = self.stats.peak_flows.max(self.stats.active_flows);
        Hit {
            slot,
            side: ORIG,
            created: true,
        }
    }

    /// Records that the flow in `slot` was touched at `ts` (after updating it), so
    /// that timeouts see it.
    pub fn touched(&mut self, slot: u32, ts: i64) {
        let Some(f) = self.slots.get_mut(slot as usize).and_then(Option::as_mut) else {
            return;
        };
        if ts > f.last_ts {
            f.last_ts = ts;
        }
        let class = Self::class_of(f);
        let sec = f.last_ts.div_euclid(1_000_000_000);
        if class != f.class || sec != f.queued_sec {
            f.class = class;
            f.queued_sec = sec;
            self.queues[class as usize].push_back((slot, sec));
        }
    }

    fn remove(&mut self, slot: u32) -> Option<Flow<T>> {
        let f = self.slots.get_mut(slot as usize)?.take()?;
        self.map.remove(&f.key);
        self.free.push(slot);
        self.stats.active_flows = self.map.len() as u64;
        Some(f)
    }

    fn entry_valid(&self, slot: u32, sec: i64, class: u8) -> bool {
        matches!(self.slots.get(slot as usize), Some(Some(f)) if f.queued_sec == sec && f.class == class)
    }

    fn evict_oldest(&mut self, ended: &mut Vec<Ended<T>>) {
        loop {
            // The queue whose head is oldest.
            let mut best: Option<(usize, i64)> = None;
            for (i, q) in self.queues.iter().enumerate() {
                if let Some(&(_, sec)) = q.front() {
                    if best.is_none_or(|(_, b)| sec < b) {
                        best = Some((i, sec));
                    }
                }
            }
            let Some((qi, _)) = best else { return };
            let Some((slot, sec)) = self.queues[qi].pop_front() else {
                return;
            };
            if self.entry_valid(slot, sec, qi as u8) {
                if let Some(flow) = self.remove(slot) {
                    self.stats.evicted += 1;
                    ended.push(Ended {
                        flow,
                        reason: EndReason::Evicted,
                    });
                }
                return;
            }
        }
    }

    /// Expires flows idle past their timeout at capture time `now`.
    pub fn expire(&mut self, now: i64, ended: &mut Vec<Ended<T>>) {
        self.expire_some(now, ended, usize::MAX);
    }

    /// Expires at most `max` of the flows idle past their timeout at capture time `now`;
    /// true if more are due. A sweep of thousands of scanned addresses times out in the
    /// same second: ending them a few hundred per packet keeps every packet's latency
    /// flat.
    pub fn expire_some(&mut self, now: i64, ended: &mut Vec<Ended<T>>, max: usize) -> bool {
        if now > self.now {
            self.now = now;
        }
        let now = self.now;
        let start = ended.len();
        for class in 0..CLASSES as u8 {
            let timeout = self.timeout(class);
            let limit = now.saturating_sub(timeout).div_euclid(1_000_000_000);
            while let Some(&(slot, sec)) = self.queues[class as usize].front() {
                if sec >= limit {
                    break;
                }
                if ended.len() - start >= max {
                    return true;
                }
                self.queues[class as usize].pop_front();
                if !self.entry_valid(slot, sec, class) {
                    continue;
                }
                let idle = match self.slots.get(slot as usize) {
                    Some(Some(f)) => now - f.last_ts >= timeout,
                    _ => false,
                };
                if idle {
                    if let Some(flow) = self.remove(slot) {
                        let reason = flow.end_reason(EndReason::IdleTimeout);
                        self.stats.expired += 1;
                        ended.push(Ended { flow, reason });
                    }
                } else {
                    // Touched within the last second of the limit: look again later.
                    self.queues[class as usize].push_back((slot, sec));
                    if let Some(Some(f)) = self.slots.get_mut(slot as usize) {
                        f.queued_sec = sec;
                    }
                    break;
                }
            }
        }
        false
    }

    /// Flows whose current interval exceeds the active timeout.
    pub fn active_due(&mut self, now: i64, mut f: impl FnMut(&mut Flow<T>)) {
        let active = self.cfg.active_ns;
        for flow in self.slots.iter_mut().flatten() {
            if now - flow.interval_ts >= active {
                f(flow);
                flow.interval_ts = now;
            }
        }
    }

    /// Removes every flow (end of capture), oldest first.
    pub fn drain_all(&mut self) -> Vec<Ended<T>> {
        let mut all = Vec::with_capacity(self.map.len());
        while !self.drain_some(&mut all, usize::MAX) {}
        all
    }

    /// Ends at most `max` of the flows left at the end of the capture (appended to
    /// `ended`), oldest first, as `drain_all` does all at once; true once none is left.
    /// The caller hands each part's events on before the next: ended all at once, the
    /// tens of thousands of flows of a long capture and their events were all in
    /// memory together (the peak of a whole run). No packet may come in between.
    pub fn drain_some(&mut self, ended: &mut Vec<Ended<T>>, max: usize) -> bool {
        let order = self.closing.get_or_insert_with(|| {
            let mut order: Vec<(i64, u64, u32)> = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, f)| Some((f.as_ref()?.first_ts, f.as_ref()?.uid, i as u32)))
                .collect();
            // Oldest first: popped from the back.
            order.sort_unstable_by_key(|&(ts, uid, _)| std::cmp::Reverse((ts, uid)));
            order.into_iter().map(|(_, _, slot)| slot).collect()
        });
        for _ in 0..max {
            let Some(slot) = order.pop() else { break };
            let Some(flow) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
                continue;
            };
            self.map.remove(&flow.key);
            let reason = flow.end_reason(EndReason::EndOfCapture);
            ended.push(Ended { flow, reason });
        }
        self.stats.active_flows = self.map.len() as u64;
        if !order.is_empty() {
            return false;
        }
        self.closing = None;
        self.slots = Vec::new();
        self.map.clear();
        self.free.clear();
        for q in &mut self.queues {
            q.clear();
        }
        self.stats.active_flows = 0;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn ep(a: u8, port: u16) -> Endpoint {
        Endpoint {
            ip: IpAddr::V4(Ipv4Addr::new(10, 0, 0, a)),
            port,
        }
    }
    const S: i64 = 1_000_000_000;

    #[test]
    fn bidirectional_lookup_and_sides() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut ended = Vec::new();
        let h1 = t.lookup(0, ep(1, 4000), ep(2, 502), 6, 0, || (), &mut ended);
        t.touched(h1.slot, 0);
        let h2 = t.lookup(1, ep(2, 502), ep(1, 4000), 6, 0, || (), &mut ended);
        assert_eq!(h1.slot, h2.slot);
        assert!(h1.created && !h2.created);
        assert_eq!((h1.side, h2.side), (ORIG, RESP));
        // Another VLAN is another flow.
        let h3 = t.lookup(2, ep(1, 4000), ep(2, 502), 6, 5, || (), &mut ended);
        assert_ne!(h3.slot, h1.slot);
    }

    #[test]
    fn an_unanswered_tcp_attempt_ends_after_the_attempt_timeout() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut ended = Vec::new();
        // A SYN nobody answers, and a connection the server answered.
        let a = t.lookup(0, ep(1, 1000), ep(2, 502), 6, 0, || (), &mut ended);
        if let Some(f) = t.get_mut(a.slot) {
            f.packets = [1, 0];
        }
        t.touched(a.slot, 0);
        let b = t.lookup(0, ep(1, 1001), ep(2, 502), 6, 0, || (), &mut ended);
        if let Some(f) = t.get_mut(b.slot) {
            f.packets = [1, 1];
        }
        t.touched(b.slot, 0);
        t.expire(4 * S, &mut ended);
        assert!(ended.is_empty());
        t.expire(7 * S, &mut ended);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].flow.client.port, 1000);
        assert_eq!(ended[0].reason, EndReason::IdleTimeout);
        // The answer turns an attempt into a connection with the long idle timeout.
        let c = t.lookup(10 * S, ep(1, 1002), ep(2, 502), 6, 0, || (), &mut ended);
        t.touched(c.slot, 10 * S);
        if let Some(f) = t.get_mut(c.slot) {
            f.packets = [1, 1];
        }
        t.touched(c.slot, 11 * S);
        t.expire(20 * S, &mut ended);
        assert_eq!(ended.len(), 1);
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn a_mass_timeout_ends_a_bounded_number_of_flows_per_call() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut ended = Vec::new();
        for port in 1..=1000u16 {
            let f = t.lookup(0, ep(1, port), ep(2, 502), 17, 0, || (), &mut ended);
            t.touched(f.slot, 0);
        }
        assert!(t.expire_some(200 * S, &mut ended, 300));
        assert_eq!(ended.len(), 300);
        assert_eq!(t.len(), 700);
        assert!(t.expire_some(200 * S, &mut ended, 300));
        assert!(t.expire_some(200 * S, &mut ended, 300));
        // The last 100: nothing more is due.
        assert!(!t.expire_some(200 * S, &mut ended, 300));
        assert_eq!(ended.len(), 1000);
        assert!(t.is_empty());
        assert!(ended.iter().all(|e| e.reason == EndReason::IdleTimeout));
        assert!(!t.expire_some(201 * S, &mut ended, 300));
    }

    #[test]
    fn the_flows_left_at_the_end_end_in_parts_oldest_first() {
        // Flows opened out of order in time (slot order is not time order).
        let fill = |t: &mut FlowTable<u16>| {
            let mut ended = Vec::new();
            for i in 0..600u16 {
                let ts = i64::from((u32::from(i) * 7919) % 600) * 1_000_000;
                let f = t.lookup(ts, ep(1, 1000 + i), ep(2, 502), 6, 0, || i, &mut ended);
                t.touched(f.slot, ts);
            }
            ended
        };
        let mut all: FlowTable<u16> = FlowTable::new(FlowConfig::default());
        assert!(fill(&mut all).is_empty());
        let at_once = all.drain_all();
        assert_eq!(at_once.len(), 600);
        assert!(at_once
            .windows(2)
            .all(|w| (w[0].flow.first_ts, w[0].flow.uid) < (w[1].flow.first_ts, w[1].flow.uid)));
        assert!(all.is_empty());

        let mut parts: FlowTable<u16> = FlowTable::new(FlowConfig::default());
        assert!(fill(&mut parts).is_empty());
        let mut ended = Vec::new();
        let mut calls = 0;
        while !parts.drain_some(&mut ended, 256) {
            calls += 1;
            // Each part is at most 256 flows; the table shrinks as they leave.
            assert_eq!(ended.len(), 256 * calls);
            assert_eq!(parts.len(), 600 - 256 * calls);
            assert_eq!(parts.stats.active_flows, parts.len() as u64);
        }
        assert_eq!(calls, 2);
        let order = |v: &[Ended<u16>]| v.iter().map(|e| e.flow.app).collect::<Vec<_>>();
        assert_eq!(order(&ended), order(&at_once));
        assert!(parts.is_empty() && parts.stats.active_flows == 0);
        // An empty table is done at once, and the table works again afterwards.
        assert!(parts.drain_some(&mut ended, 256));
        let f = parts.lookup(9, ep(3, 1), ep(2, 502), 6, 0, || 7, &mut ended);
        parts.touched(f.slot, 9);
        assert_eq!(parts.len(), 1);
    }

    #[test]
    fn idle_timeout_expires_udp_before_tcp() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut ended = Vec::new();
        let a = t.lookup(0, ep(1, 1), ep(2, 2), 17, 0, || (), &mut ended);
        t.touched(a.slot, 0);
        let b = t.lookup(0, ep(1, 1), ep(2, 2), 6, 0, || (), &mut ended);
        // An answered connection (an unanswered one is an attempt: see below).
        if let Some(f) = t.get_mut(b.slot) {
            f.packets = [1, 1];
        }
        t.touched(b.slot, 0);
        t.expire(200 * S, &mut ended);
        assert_eq!(ended.len(), 1);
        assert_eq!(ended[0].flow.key.proto, 17);
        assert_eq!(ended[0].reason, EndReason::IdleTimeout);
        t.expire(700 * S, &mut ended);
        assert_eq!(ended.len(), 2);
        assert!(t.is_empty());
    }

    #[test]
    fn touched_flows_survive() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut ended = Vec::new();
        for s in 0..500 {
            let h = t.lookup(s * S, ep(1, 1), ep(2, 2), 17, 0, || (), &mut ended);
            t.touched(h.slot, s * S);
            t.expire(s * S, &mut ended);
        }
        assert!(ended.is_empty());
        assert_eq!(t.len(), 1);
    }

    #[test]
    fn cap_evicts_oldest() {
        let cfg = FlowConfig {
            max_flows: 100,
            ..FlowConfig::default()
        };
        let mut t: FlowTable<()> = FlowTable::new(cfg);
        let mut ended = Vec::new();
        for i in 0..1000u32 {
            let src = Endpoint {
                ip: IpAddr::V4(Ipv4Addr::from(i)),
                port: 1,
            };
            let h = t.lookup(i64::from(i) * S, src, ep(2, 2), 17, 0, || (), &mut ended);
            t.touched(h.slot, i64::from(i) * S);
            assert!(t.len() <= 100);
        }
        assert_eq!(ended.len(), 900);
        assert!(ended.iter().all(|e| e.reason == EndReason::Evicted));
        // The oldest went first.
        assert_eq!(ended[0].flow.first_ts, 0);
        assert_eq!(t.stats.evicted, 900);
    }

    #[test]
    fn history_and_swap() {
        let mut t: FlowTable<()> = FlowTable::new(FlowConfig::default());
        let mut ended = Vec::new();
        let h = t.lookup(0, ep(1, 1), ep(2, 2), 6, 0, || (), &mut ended);
        let f = t.get_mut(h.slot).unwrap();
        f.history_mark(b'S', ORIG);
        f.history_mark(b'S', ORIG);
        f.history_mark(b'H', RESP);
        f.history_mark(b'D', ORIG);
        assert_eq!(f.history, "ShD");
        f.swap_sides();
        assert_eq!(f.history, "sHd");
        f.history_mark(b'D', RESP);
        assert_eq!(f.history, "sHd");
    }
}
