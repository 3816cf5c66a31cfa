//! The learned baseline: who talks to whom over what, with which functions, which
//! registers (points) are read and written, the values they hold and how often they are
//! polled. Learned with `sluice analyze --learn`, kept in the store (every version, so
//! re-learning can be diffed), compared against afterwards.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::net::IpAddr;

use serde::{Deserialize, Serialize};
use sluice_proto::registry::PROTOCOL_NAMES;

use crate::facts::{Seen, Table, Touch};

/// Most pairs a baseline keeps.
pub const MAX_PAIRS: usize = 100_000;
/// Most values (per address) a pair keeps.
pub const MAX_VALUES_PER_PAIR: usize = 4_096;
/// Most polls a pair keeps.
pub const MAX_POLLS_PER_PAIR: usize = 1_024;
/// Most disjoint ranges per (unit, table, access).
pub const MAX_RANGES: usize = 256;
/// Polling intervals kept per poll while learning.
const MAX_INTERVALS: usize = 512;

/// A learned baseline.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Format version.
    pub format: u32,
    /// First and last capture time learned from (ns since the epoch).
    pub first_ts: i64,
    /// Last capture time.
    pub last_ts: i64,
    /// Transactions learned from.
    pub transactions: u64,
    /// Flows learned from.
    pub flows: u64,
    /// Talker pairs, sorted.
    pub pairs: Vec<PairModel>,
}

/// One talker pair over one protocol.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PairModel {
    /// Requester.
    pub client: IpAddr,
    /// Responder.
    pub server: IpAddr,
    /// Protocol name (`modbus`, ...; `tcp`/`udp` when unidentified).
    pub protocol: String,
    /// Transactions seen.
    pub transactions: u64,
    /// Flows seen.
    pub flows: u64,
    /// First seen.
    pub first_ts: i64,
    /// Last seen.
    pub last_ts: i64,
    /// Function codes used.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub functions: Vec<FunctionModel>,
    /// Address ranges read and written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ranges: Vec<RangeModel>,
    /// Value ranges per address.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub values: Vec<ValueModel>,
    /// Polling periods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub polls: Vec<PollModel>,
}

/// A function code used by a pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionModel {
    /// The code.
    pub code: u32,
    /// Its name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Times used.
    pub count: u64,
}

/// Address ranges of one unit, table and access.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RangeModel {
    /// Unit id / outstation.
    pub unit: u16,
    /// Table name (`holding_register`, `coil`, `g40`...).
    pub table: String,
    /// `read` or `write`.
    pub access: String,
    /// Disjoint inclusive ranges, sorted.
    pub ranges: Vec<(u32, u32)>,
}

/// The values one address held.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueModel {
    /// Unit id / outstation.
    pub unit: u16,
    /// Table name.
    pub table: String,
    /// Address.
    pub address: u32,
    /// Smallest value.
    pub min: f64,
    /// Largest value.
    pub max: f64,
    /// Values seen.
    pub samples: u64,
}

/// A regular read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollModel {
    /// Function code.
    pub function: u32,
    /// Unit id / outstation.
    pub unit: u16,
    /// Table name.
    pub table: String,
    /// First address read.
    pub address: u32,
    /// Median interval, ns.
    pub period_ns: i64,
    /// Intervals measured.
    pub samples: u64,
}

/// The interned name of a protocol (`None` for names Sluice does not know).
pub fn intern(p: &str) -> Option<&'static str> {
    PROTOCOL_NAMES
        .iter()
        .copied()
        .chain(["tcp", "udp", "icmp", "other"])
        .find(|n| n.eq_ignore_ascii_case(p))
}

fn add_range(list: &mut Vec<(u32, u32)>, first: u32, last: u32) {
    let (mut f, mut l) = (first.min(last), first.max(last));
    let mut out = Vec::with_capacity(list.len() + 1);
    let mut placed = false;
    for &(a, b) in list.iter() {
        if b.saturating_add(1) < f {
            out.push((a, b));
        } else if l.saturating_add(1) < a {
            if !placed {
                out.push((f, l));
                placed = true;
            }
            out.push((a, b));
        } else {
            f = f.min(a);
            l = l.max(b);
        }
    }
    if !placed {
        out.push((f, l));
    }
    out.sort_unstable();
    if out.len() > MAX_RANGES {
        // Too fragmented: keep the envelope of the tail.
        let tail_start = out.get(MAX_RANGES - 1).map_or(0, |r| r.0);
        let tail_end = out.last().map_or(0, |r| r.1);
        out.truncate(MAX_RANGES - 1);
        out.push((tail_start, tail_end));
    }
    *list = out;
}

fn covered(list: &[(u32, u32)], first: u32, last: u32) -> bool {
    // Disjoint, sorted, non-adjacent: one range must hold it all.
    list.iter().any(|&(a, b)| a <= first && last <= b)
}

type PairKey = (IpAddr, IpAddr, &'static str);
type PollKey = (u32, u16, Table, u32);

#[derive(Default)]
struct PairAcc {
    transactions: u64,
    flows: u64,
    first_ts: i64,
    last_ts: i64,
    functions: BTreeMap<u32, (Option<String>, u64)>,
    ranges: BTreeMap<(u16, Table, bool), Vec<(u32, u32)>>,
    values: HashMap<(u16, Table, u32), (f64, f64, u64)>,
    polls: HashMap<PollKey, (i64, Vec<i64>)>,
}

/// Builds a baseline from events.
#[derive(Default)]
pub struct Learner {
    pairs: HashMap<PairKey, PairAcc>,
    first_ts: Option<i64>,
    last_ts: i64,
    transactions: u64,
    flows: u64,
}

impl Learner {
    /// An empty learner.
    pub fn new() -> Learner {
        Learner::default()
    }

    fn pair(&mut self, key: PairKey, ts: i64) -> Option<&mut PairAcc> {
        self.first_ts = Some(self.first_ts.map_or(ts, |f| f.min(ts)));
        self.last_ts = self.last_ts.max(ts);
        let n = self.pairs.len();
        let p = match self.pairs.entry(key) {
            std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::hash_map::Entry::Vacant(v) => {
                if n >= MAX_PAIRS {
                    return None;
                }
                v.insert(PairAcc {
                    first_ts: ts,
                    last_ts: ts,
                    ..PairAcc::default()
                })
            }
        };
        p.first_ts = p.first_ts.min(ts);
        p.last_ts = p.last_ts.max(ts);
        Some(p)
    }

    /// A flow (with the protocol, identified or guessed).
    pub fn flow(&mut self, client: IpAddr, server: IpAddr, protocol: &'static str, ts: i64) {
        self.flows += 1;
        if let Some(p) = self.pair((client, server, protocol), ts) {
            p.flows += 1;
        }
    }

    /// A transaction with its facts.
    #[allow(clippy::too_many_arguments)]
    pub fn transaction(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        protocol: &'static str,
        ts: i64,
        fc: Option<u32>,
        function: Option<&str>,
        touches: &[Touch],
        seen: &[Seen],
    ) {
        self.transactions += 1;
        let Some(p) = self.pair((client, server, protocol), ts) else {
            return;
        };
        p.transactions += 1;
        if let Some(fc) = fc {
            let e = p
                .functions
                .entry(fc)
                .or_insert_with(|| (function.map(str::to_string), 0));
            e.1 += 1;
        }
        for t in touches {
            if p.ranges.len() < MAX_RANGES || p.ranges.contains_key(&(t.unit, t.table, t.write)) {
                add_range(
                    p.ranges.entry((t.unit, t.table, t.write)).or_default(),
                    t.first,
                    t.last,
                );
            }
        }
        for s in seen {
            let k = (s.unit, s.table, s.address);
            let n = p.values.len();
            match p.values.get_mut(&k) {
                Some(v) => {
                    v.0 = v.0.min(s.value);
                    v.1 = v.1.max(s.value);
                    v.2 += 1;
                }
                None if n < MAX_VALUES_PER_PAIR && s.value.is_finite() => {
                    p.values.insert(k, (s.value, s.value, 1));
                }
                None => {}
            }
        }
        if let (Some(fc), Some(t)) = (fc, touches.iter().find(|t| !t.write)) {
            if touches.iter().all(|t| !t.write) {
                let k = (fc, t.unit, t.table, t.first);
                let n = p.polls.len();
                match p.polls.get_mut(&k) {
                    Some((last, iv)) => {
                        let d = ts.saturating_sub(*last);
                        if d > 0 && iv.len() < MAX_INTERVALS {
                            iv.push(d);
                        }
                        *last = ts;
                    }
                    None if n < MAX_POLLS_PER_PAIR => {
                        p.polls.insert(k, (ts, Vec::new()));
                    }
                    None => {}
                }
            }
        }
    }

    /// The baseline learned so far.
    pub fn finish(&self) -> Baseline {
        let mut pairs: Vec<PairModel> = self
            .pairs
            .iter()
            .map(|((c, s, proto), a)| {
                let mut values: Vec<ValueModel> = a
                    .values
                    .iter()
                    .map(|((unit, table, address), (min, max, n))| ValueModel {
                        unit: *unit,
                        table: table.name(),
                        address: *address,
                        min: *min,
                        max: *max,
                        samples: *n,
                    })
                    .collect();
                values.sort_by(|x, y| {
                    (x.unit, &x.table, x.address).cmp(&(y.unit, &y.table, y.address))
                });
                let mut polls: Vec<PollModel> = a
                    .polls
                    .iter()
                    .filter(|(_, (_, iv))| iv.len() >= 3)
                    .map(|((f, unit, table, address), (_, iv))| {
                        let mut v = iv.clone();
                        v.sort_unstable();
                        PollModel {
                            function: *f,
                            unit: *unit,
                            table: table.name(),
                            address: *address,
                            period_ns: v.get(v.len() / 2).copied().unwrap_or(0),
                            samples: v.len() as u64,
                        }
                    })
                    .collect();
                polls.sort_by(|x, y| {
                    (x.function, x.unit, &x.table, x.address)
                        .cmp(&(y.function, y.unit, &y.table, y.address))
                });
                PairModel {
                    client: *c,
                    server: *s,
                    protocol: proto.to_string(),
                    transactions: a.transactions,
                    flows: a.flows,
                    first_ts: a.first_ts,
                    last_ts: a.last_ts,
                    functions: a
                        .functions
                        .iter()
                        .map(|(code, (name, count))| FunctionModel {
                            code: *code,
                            name: name.clone(),
                            count: *count,
                        })
                        .collect(),
                    ranges: a
                        .ranges
                        .iter()
                        .map(|((unit, table, write), r)| RangeModel {
                            unit: *unit,
                            table: table.name(),
                            access: if *write { "write" } else { "read" }.into(),
                            ranges: r.clone(),
                        })
                        .collect(),
                    values,
                    polls,
                }
            })
            .collect();
        pairs.sort_by(|a, b| {
            (a.client, a.server, &a.protocol).cmp(&(b.client, b.server, &b.protocol))
        });
        Baseline {
            format: 1,
            first_ts: self.first_ts.unwrap_or(0),
            last_ts: self.last_ts,
            transactions: self.transactions,
            flows: self.flows,
            pairs,
        }
    }
}

struct PairIndex {
    functions: HashSet<u32>,
    ranges: HashMap<(u16, Table, bool), Vec<(u32, u32)>>,
    polls: HashMap<PollKey, i64>,
}

/// A baseline indexed for lookups on the hot path.
pub struct BaselineIndex {
    pairs: HashMap<PairKey, PairIndex>,
    /// Value bounds per (server, unit, table, address), over every pair.
    values: HashMap<(IpAddr, u16, Table, u32), (f64, f64)>,
    /// (client, server) pairs that wrote.
    writers: HashSet<(IpAddr, IpAddr)>,
}

impl BaselineIndex {
    /// Indexes a baseline (pairs with protocols Sluice does not know are skipped).
    pub fn new(b: &Baseline) -> BaselineIndex {
        let mut pairs = HashMap::new();
        let mut values: HashMap<(IpAddr, u16, Table, u32), (f64, f64)> = HashMap::new();
        let mut writers = HashSet::new();
        for p in &b.pairs {
            let Some(proto) = intern(&p.protocol) else {
                continue;
            };
            let mut ranges = HashMap::new();
            for r in &p.ranges {
                if let Some(t) = Table::parse(&r.table) {
                    let write = r.access == "write";
                    if write {
                        writers.insert((p.client, p.server));
                    }
                    ranges.insert((r.unit, t, write), r.ranges.clone());
                }
            }
            for v in &p.values {
                if let Some(t) = Table::parse(&v.table) {
                    let e = values
                        .entry((p.server, v.unit, t, v.address))
                        .or_insert((v.min, v.max));
                    e.0 = e.0.min(v.min);
                    e.1 = e.1.max(v.max);
                }
            }
            let polls = p
                .polls
                .iter()
                .filter_map(|q| {
                    Some((
                        (q.function, q.unit, Table::parse(&q.table)?, q.address),
                        q.period_ns,
                    ))
                })
                .collect();
            pairs.insert(
                (p.client, p.server, proto),
                PairIndex {
                    functions: p.functions.iter().map(|f| f.code).collect(),
                    ranges,
                    polls,
                },
            );
        }
        BaselineIndex {
            pairs,
            values,
            writers,
        }
    }

    /// Whether the pair was seen over this protocol.
    pub fn knows_pair(&self, client: IpAddr, server: IpAddr, protocol: &'static str) -> bool {
        self.pairs.contains_key(&(client, server, protocol))
    }

    /// Whether the client wrote to the server.
    pub fn knows_writer(&self, client: IpAddr, server: IpAddr) -> bool {
        self.writers.contains(&(client, server))
    }

    /// `Some(true)` when the pair used the function, `None` for an unknown pair.
    pub fn knows_function(
        &self,
        client: IpAddr,
        server: IpAddr,
        protocol: &'static str,
        fc: u32,
    ) -> Option<bool> {
        self.pairs
            .get(&(client, server, protocol))
            .map(|p| p.functions.contains(&fc))
    }

    /// Whether a touch lies inside the learned ranges (`None` for an unknown pair).
    pub fn knows_touch(
        &self,
        client: IpAddr,
        server: IpAddr,
        protocol: &'static str,
        t: &Touch,
    ) -> Option<bool> {
        self.pairs.get(&(client, server, protocol)).map(|p| {
            p.ranges
                .get(&(t.unit, t.table, t.write))
                .is_some_and(|r| covered(r, t.first, t.last))
        })
    }

    /// The learned value bounds of an address, widened by 10 % of their span (at least 1).
    pub fn value_bounds(
        &self,
        server: IpAddr,
        unit: u16,
        table: Table,
        address: u32,
    ) -> Option<(f64, f64)> {
        self.values
            .get(&(server, unit, table, address))
            .map(|(a, b)| {
                let tol = ((b - a) * 0.1).max(1.0);
                (a - tol, b + tol)
            })
    }

    /// The learned period of a poll.
    pub fn poll_period(
        &self,
        client: IpAddr,
        server: IpAddr,
        protocol: &'static str,
        key: (u32, u16, Table, u32),
    ) -> Option<i64> {
        self.pairs
            .get(&(client, server, protocol))?
            .polls
            .get(&key)
            .copied()
    }

    /// Number of pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether it holds no pair.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }
}

fn pair_label(p: &PairModel) -> String {
    format!("{} -> {} {}", p.client, p.server, p.protocol)
}

fn fmt_ranges(r: &[(u32, u32)]) -> String {
    r.iter()
        .map(|(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn period(ns: i64) -> String {
    format!("{:.3} s", ns as f64 / 1e9)
}

impl Baseline {
    /// A readable summary: one block per pair.
    pub fn describe(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "baseline: {} pairs, {} transactions, {} flows, {} to {}",
            self.pairs.len(),
            self.transactions,
            self.flows,
            sluice_engine::time::rfc3339(self.first_ts),
            sluice_engine::time::rfc3339(self.last_ts)
        );
        for p in &self.pairs {
            let _ = writeln!(
                s,
                "{} ({} transactions, {} flows)",
                pair_label(p),
                p.transactions,
                p.flows
            );
            if !p.functions.is_empty() {
                let f: Vec<String> = p
                    .functions
                    .iter()
                    .map(|f| match &f.name {
                        Some(n) => format!("{} {n} x{}", f.code, f.count),
                        None => format!("{} x{}", f.code, f.count),
                    })
                    .collect();
                let _ = writeln!(s, "  functions: {}", f.join(", "));
            }
            for r in &p.ranges {
                let _ = writeln!(
                    s,
                    "  {} unit {} {}: {}",
                    r.access,
                    r.unit,
                    r.table,
                    fmt_ranges(&r.ranges)
                );
            }
            for q in &p.polls {
                let _ = writeln!(
                    s,
                    "  poll fc {} unit {} {} {}: every {} ({} samples)",
                    q.function,
                    q.unit,
                    q.table,
                    q.address,
                    period(q.period_ns),
                    q.samples
                );
            }
            let written: Vec<&ValueModel> = p.values.iter().take(64).collect();
            for v in written {
                let _ = writeln!(
                    s,
                    "  values unit {} {} {}: {} to {}",
                    v.unit, v.table, v.address, v.min, v.max
                );
            }
        }
        s
    }

    /// What changed from `old` to `self`, one line per change (`+` new, `-` gone, `~` changed).
    pub fn diff(&self, old: &Baseline) -> Vec<String> {
        let key = |p: &PairModel| (p.client, p.server, p.protocol.clone());
        let olds: BTreeMap<_, &PairModel> = old.pairs.iter().map(|p| (key(p), p)).collect();
        let news: BTreeMap<_, &PairModel> = self.pairs.iter().map(|p| (key(p), p)).collect();
        let mut out = Vec::new();
        for (k, n) in &news {
            let Some(o) = olds.get(k) else {
                out.push(format!("+ pair {}", pair_label(n)));
                continue;
            };
            let of: BTreeMap<u32, &FunctionModel> =
                o.functions.iter().map(|f| (f.code, f)).collect();
            let nf: BTreeMap<u32, &FunctionModel> =
                n.functions.iter().map(|f| (f.code, f)).collect();
            for (c, f) in &nf {
                if !of.contains_key(c) {
                    out.push(format!(
                        "~ pair {}: + function {c} {}",
                        pair_label(n),
                        f.name.as_deref().unwrap_or("")
                    ));
                }
            }
            for (c, f) in &of {
                if !nf.contains_key(c) {
                    out.push(format!(
                        "~ pair {}: - function {c} {}",
                        pair_label(n),
                        f.name.as_deref().unwrap_or("")
                    ));
                }
            }
            let rk = |r: &RangeModel| (r.unit, r.table.clone(), r.access.clone());
            let orr: BTreeMap<_, &RangeModel> = o.ranges.iter().map(|r| (rk(r), r)).collect();
            for r in &n.ranges {
                match orr.get(&rk(r)) {
                    Some(x) if x.ranges == r.ranges => {}
                    Some(x) => out.push(format!(
                        "~ pair {}: {} unit {} {} {} -> {}",
                        pair_label(n),
                        r.access,
                        r.unit,
                        r.table,
                        fmt_ranges(&x.ranges),
                        fmt_ranges(&r.ranges)
                    )),
                    None => out.push(format!(
                        "~ pair {}: + {} unit {} {} {}",
                        pair_label(n),
                        r.access,
                        r.unit,
                        r.table,
                        fmt_ranges(&r.ranges)
                    )),
                }
            }
            let pk = |q: &PollModel| (q.function, q.unit, q.table.clone(), q.address);
            let op: BTreeMap<_, &PollModel> = o.polls.iter().map(|q| (pk(q), q)).collect();
            for q in &n.polls {
                if let Some(x) = op.get(&pk(q)) {
                    let (a, b) = (x.period_ns as f64, q.period_ns as f64);
                    if a > 0.0 && ((b - a) / a).abs() > 0.25 {
                        out.push(format!(
                            "~ pair {}: poll fc {} {} {} every {} -> {}",
                            pair_label(n),
                            q.function,
                            q.table,
                            q.address,
                            period(x.period_ns),
                            period(q.period_ns)
                        ));
                    }
                }
            }
            let vk = |v: &ValueModel| (v.unit, v.table.clone(), v.address);
            let ov: BTreeMap<_, &ValueModel> = o.values.iter().map(|v| (vk(v), v)).collect();
            for v in &n.values {
                if let Some(x) = ov.get(&vk(v)) {
                    if v.min < x.min || v.max > x.max {
                        out.push(format!(
                            "~ pair {}: values unit {} {} {}: {} to {} -> {} to {}",
                            pair_label(n),
                            v.unit,
                            v.table,
                            v.address,
                            x.min,
                            x.max,
                            v.min,
                            v.max
                        ));
                    }
                }
            }
        }
        for (k, o) in &olds {
            if !news.contains_key(k) {
                out.push(format!("- pair {}", pair_label(o)));
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_merge() {
        let mut r = Vec::new();
        add_range(&mut r, 0, 9);
        add_range(&mut r, 20, 29);
        add_range(&mut r, 10, 12);
        assert_eq!(r, [(0, 12), (20, 29)]);
        add_range(&mut r, 13, 19);
        assert_eq!(r, [(0, 29)]);
        assert!(covered(&r, 5, 29));
        assert!(!covered(&r, 5, 30));
        let mut many = Vec::new();
        for i in 0..1000u32 {
            add_range(&mut many, i * 3, i * 3);
        }
        assert!(many.len() <= MAX_RANGES);
        assert!(covered(&many, 2997, 2997));
    }

    #[test]
    fn learn_index_and_diff() {
        let c: IpAddr = "10.0.0.1".parse().unwrap();
        let s: IpAddr = "10.0.0.2".parse().unwrap();
        let mut l = Learner::new();
        let touch = Touch {
            unit: 1,
            table: Table::HOLDING_REGISTER,
            write: false,
            first: 0,
            last: 9,
        };
        for i in 0..10 {
            let seen = [Seen {
                unit: 1,
                table: Table::HOLDING_REGISTER,
                address: 5,
                value: 100.0 + f64::from(i),
                written: false,
            }];
            l.transaction(
                c,
                s,
                "modbus",
                i64::from(i) * 1_000_000_000,
                Some(3),
                Some("read_holding_registers"),
                &[touch],
                &seen,
            );
        }
        let b = l.finish();
        assert_eq!(b.pairs.len(), 1);
        let p = &b.pairs[0];
        assert_eq!(p.polls[0].period_ns, 1_000_000_000);
        assert_eq!((p.values[0].min, p.values[0].max), (100.0, 109.0));
        let ix = BaselineIndex::new(&b);
        assert!(ix.knows_pair(c, s, "modbus"));
        assert_eq!(ix.knows_function(c, s, "modbus", 3), Some(true));
        assert_eq!(ix.knows_function(c, s, "modbus", 16), Some(false));
        assert_eq!(ix.knows_touch(c, s, "modbus", &touch), Some(true));
        let far = Touch {
            first: 100,
            last: 100,
            ..touch
        };
        assert_eq!(ix.knows_touch(c, s, "modbus", &far), Some(false));
        assert_eq!(
            ix.value_bounds(s, 1, Table::HOLDING_REGISTER, 5),
            Some((99.0, 110.0))
        );
        let json = serde_json::to_string(&b).unwrap();
        let back: Baseline = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
        assert!(b.diff(&b).is_empty());
        let mut b2 = b.clone();
        b2.pairs[0].functions.push(FunctionModel {
            code: 16,
            name: None,
            count: 1,
        });
        b2.pairs.push(PairModel {
            client: s,
            server: c,
            ..b.pairs[0].clone()
        });
        let d = b2.diff(&b);
        assert!(
            d.iter()
                .any(|l| l.starts_with("+ pair 10.0.0.2 -> 10.0.0.1")),
            "{d:?}"
        );
        assert!(d.iter().any(|l| l.contains("+ function 16")), "{d:?}");
        assert!(b.describe().contains("10.0.0.1 -> 10.0.0.2 modbus"));
    }
}
