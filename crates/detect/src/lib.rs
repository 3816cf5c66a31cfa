#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! Detection: turns the sensor's events into alerts.
//!
//! A [`Detector`] sees every event in order ([`Detector::observe`]) and appends alert
//! events (`event.kind = alert`, [`AlertRecord`]) for:
//! - **policy violations**: every flow is judged once (at its first transaction, or at
//!   its end when it has none) and every ICS write or engineering operation again (read
//!   only conduits, writers per register range);
//! - **dangerous operations** and other protocol rules, as data ([`rules`]): TOML files
//!   compiled in plus users' own directories;
//! - **safety envelopes**: every written value against min / max / max step, with the
//!   last value written (or, for Modbus and DNP3, read) at that point as the old value.
//!   Envelopes name a device, a unit and a register; per protocol the point is: Modbus
//!   holding register (unit id), DNP3 analog output index (outstation), S7 byte offset of
//!   a typed data block or flag element (unit = DB number, 0 for the M area), IEC 104
//!   IOA of an executed command or setpoint (unit = common address), BACnet object
//!   instance of a present-value write (unit = object type number), and CIP tag or
//!   attribute writes by envelope `name` (the tag, or `0xCLASS/INSTANCE/ATTRIBUTE`) with
//!   the element index as the register (0 for a scalar);
//! - **remote access** into levels 0-3, **scans** and protocol sweeps (thresholds);
//! - **baseline** deviations, when a learned [`baseline::Baseline`] is given.
//!
//! Identical alerts (same rule, source and destination) within the aggregation window
//! (5 minutes) are one alert with a `count`. Alert ids are a hash of the rule, the
//! addresses and the first evidence (event id), so analysing a capture again yields the
//! same ids and the store updates rows instead of adding them.
//!
//! A remote-access session into a host followed, within the chain window (30 minutes),
//! by ICS writes *from* that host makes one attack chain: all those alerts share a
//! `chain_id`. The session may be known only when its flow ends (an unidentified flow
//! on a remote-access port): alerts raised earlier then join the chain afterwards.
//!
//! Emission: in batch mode (`sluice analyze`) alerts are held until [`Detector::finish`]
//! (or until [`DetectorConfig::max_held`] is reached, oldest first) and come out once, in
//! their final form. In live mode (`sluice sense`) an alert leaves at once; if it later
//! aggregates more occurrences or joins a chain it is emitted again with the same id
//! (the store updates the row; in JSON lines the last one wins).
//!
//! Decisions worth knowing:
//! - Connection attempts that carried no payload are left to the scan rules, not judged
//!   against the policy; ICMP is not judged either.
//! - A flow the engine could not identify is judged as the protocols registered on its
//!   server port (e.g. 5900 → `vnc`): the port is the best evidence left.
//! - A write that brings a value from outside the envelope back inside is not a step
//!   breach (it is the correction, not the excursion).
//! - Without a baseline, a "new talker" is a client whose first transaction with that
//!   server and protocol came after the warm-up ([`DetectorConfig::warmup_ns`]).
//! - Alerts on operations during an open maintenance window of the device keep their
//!   rule but get half the severity and name the window in `details`.

pub mod attack;
pub mod baseline;
mod error;
pub mod facts;
pub mod fields;
pub mod project;
pub mod rules;
pub mod store;
pub mod template;
pub mod util;

use hashbrown::{HashMap, HashSet};
use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;

use serde_json::{json, Map, Value};
use sluice_engine::event::{AlertRecord, Body, Event, FlowRecord, Kind as EventKind};
use sluice_flow::Endpoint;
use sluice_policy::protocols::{display_name, is_ics};
use sluice_policy::{
    Access, FlowFacts, IcsFacts, Level, Policy, RegisterRange, Verdict, ViolationKind,
};
use sluice_proto::{Operation, Record};

pub use attack::{Attack, Technique};
pub use baseline::{Baseline, BaselineIndex, Learner};
pub use error::DetectError;
pub use rules::{Anomaly, Kind, Rule, RuleSet, ScanKind};

use facts::{PointKey, PointWrite, Seen, Table, Touch};
use rules::GroupBy;
use util::{is_remote_access, protocols_on_port, stable_id};

const SEC: i64 = 1_000_000_000;
/// Evidence ids kept per alert.
const MAX_EVIDENCE: usize = 20;
/// Bound on the per-key state maps (talkers, last values, trackers...).
/// Default bound on the entries of each state table (talkers, trackers, scan groups...).
pub const DEFAULT_MAX_STATE: usize = 250_000;

/// How the detector runs.
#[derive(Debug, Clone)]
pub struct DetectorConfig {
    /// The site policy (zones, conduits, envelopes); policy and envelope rules need it.
    pub policy: Option<Arc<Policy>>,
    /// The rules.
    pub rules: RuleSet,
    /// ATT&CK names and tactics (may be empty: ids only).
    pub attack: Arc<Attack>,
    /// A learned baseline to compare against.
    pub baseline: Option<Baseline>,
    /// Build a baseline from what is observed ([`Detector::learned`]).
    pub learn: bool,
    /// Live mode: emit alerts at once and re-emit them when they change.
    pub live: bool,
    /// Identical alerts within this window aggregate (ns).
    pub aggregation_window_ns: i64,
    /// ICS writes this long after a remote-access session starts join its chain (ns).
    pub chain_window_ns: i64,
    /// Without a baseline, talkers first seen this long after the start are new (ns).
    pub warmup_ns: i64,
    /// Batch mode: most alerts held before the oldest closed ones are emitted.
    pub max_held: usize,
    /// Most entries in each state table (talkers, thresholds, scan groups, last values,
    /// sessions...). A full table is emptied and the reset counted, so memory stays
    /// bounded whatever the traffic (a flood of sources cannot grow it).
    pub max_state: usize,
}

impl DetectorConfig {
    /// Defaults: batch mode, 5 minute aggregation, 30 minute chains, 5 minute warm-up.
    pub fn new(rules: RuleSet) -> DetectorConfig {
        DetectorConfig {
            policy: None,
            rules,
            attack: Arc::new(Attack::empty()),
            baseline: None,
            learn: false,
            live: false,
            aggregation_window_ns: 300 * SEC,
            chain_window_ns: 1800 * SEC,
            warmup_ns: 300 * SEC,
            max_held: 200_000,
            max_state: DEFAULT_MAX_STATE,
        }
    }
}

/// Counters of a detector.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct DetectStats {
    /// Events observed.
    pub events: u64,
    /// Rule matches (before aggregation).
    pub matches: u64,
    /// Distinct alerts (after aggregation).
    pub alerts: u64,
    /// Alert events emitted (including live updates).
    pub emitted: u64,
    /// Highest severity of any alert.
    pub max_severity: u8,
    /// Alerts per rule id.
    pub by_rule: BTreeMap<String, u64>,
    /// Attack chains found.
    pub chains: u64,
    /// State tables emptied because they reached `max_state` entries.
    pub state_resets: u64,
}

#[derive(Debug, Clone)]
struct Session {
    start: i64,
    chain: Arc<str>,
}

#[derive(Debug, Clone)]
struct EvMeta {
    src: Option<Endpoint>,
    dst: Option<Endpoint>,
    src_mac: Option<[u8; 6]>,
    dst_mac: Option<[u8; 6]>,
    transport: Option<&'static str>,
    protocol: Option<&'static str>,
    flow_uid: Option<u64>,
}

struct Agg {
    first_ts: i64,
    last_ts: i64,
    /// When the first occurrence was proven: the packet that completed its evidence
    /// (a transaction's last packet), the alert's `@timestamp`.
    at: i64,
    rec: AlertRecord,
    meta: EvMeta,
    ics_write: bool,
    src_host: Option<IpAddr>,
    emitted: bool,
    dirty: bool,
    open: bool,
}

/// What an alert is about, for its explanation and details.
struct Raise<'a> {
    ev: &'a Event,
    ts: i64,
    src: Option<IpAddr>,
    dst: Option<IpAddr>,
    protocol: Option<&'a str>,
    function: Option<&'a str>,
    function_code: Option<u32>,
    record: Option<&'a Value>,
    details: Map<String, Value>,
    vars: Vec<(&'static str, String)>,
    ics_write: bool,
    chain: Option<Arc<str>>,
    /// Severity override (maintenance windows).
    severity: Option<u8>,
}

impl<'a> Raise<'a> {
    fn new(ev: &'a Event, ts: i64) -> Raise<'a> {
        Raise::between(ev, ts, ev.src.map(|e| e.ip), ev.dst.map(|e| e.ip))
    }

    fn between(ev: &'a Event, ts: i64, src: Option<IpAddr>, dst: Option<IpAddr>) -> Raise<'a> {
        Raise {
            ev,
            ts,
            src,
            dst,
            protocol: ev.protocol,
            function: None,
            function_code: None,
            record: None,
            details: Map::new(),
            vars: Vec::new(),
            ics_write: false,
            chain: None,
            severity: None,
        }
    }
}

#[derive(Default)]
struct Group {
    start: i64,
    count: u32,
    distinct: HashSet<u64>,
    fired: bool,
}

impl Group {
    /// Adds one occurrence; true when the group reaches `need` for the first time in
    /// its window.
    fn add(&mut self, ts: i64, window: i64, value: Option<u64>, need: u32) -> bool {
        if self.count == 0 || ts.saturating_sub(self.start) > window {
            self.start = ts;
            self.count = 0;
            self.distinct.clear();
            self.fired = false;
        }
        self.count = self.count.saturating_add(1);
        if let Some(v) = value {
            // Values beyond the threshold change nothing: the set stays at `need`.
            if self.distinct.len() < need.max(1) as usize {
                self.distinct.insert(v);
            }
        }
        let n = if value.is_some() {
            u32::try_from(self.distinct.len()).unwrap_or(u32::MAX)
        } else {
            self.count
        };
        if n >= need && !self.fired {
            self.fired = true;
            return true;
        }
        false
    }

    fn reached(&self, by_value: bool) -> u32 {
        if by_value {
            u32::try_from(self.distinct.len()).unwrap_or(u32::MAX)
        } else {
            self.count
        }
    }
}

/// A baseline deviation: kind, once-per-run key, template values, details.
type Found = (
    Anomaly,
    u64,
    Vec<(&'static str, String)>,
    Map<String, Value>,
);

fn hash_of(v: &impl std::hash::Hash) -> u64 {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    v.hash(&mut h);
    h.finish()
}

#[derive(Default)]
struct PollTrack {
    last: i64,
    intervals: VecDeque<i64>,
}

/// The detector. See the crate documentation.
pub struct Detector {
    policy: Option<Arc<Policy>>,
    rules: Vec<Rule>,
    attack: Arc<Attack>,
    baseline: Option<BaselineIndex>,
    learner: Option<Learner>,
    live: bool,
    window: i64,
    chain_window: i64,
    warmup: i64,
    max_held: usize,
    max_state: usize,
    txn_rules: Vec<usize>,
    /// The transaction rules that can match each protocol (those naming it and those
    /// naming none), in rule order: filled on a protocol's first transaction, so a
    /// transaction is tested against its own protocol's rules only.
    txn_by_proto: HashMap<&'static str, Arc<[usize]>>,
    /// Whether a transaction rule asks for new talkers (they are then tracked).
    txn_new_talker: bool,
    /// The record paths the transaction rules test (fields and distinct values).
    txn_paths: project::PathTree,
    flow_rules: Vec<usize>,
    policy_rules: HashMap<ViolationKind, Vec<usize>>,
    envelope_rules: Vec<usize>,
    ra_rules: Vec<usize>,
    ra_ports: HashSet<u16>,
    scan_rules: Vec<usize>,
    baseline_rules: HashMap<Anomaly, Vec<usize>>,
    // Alerts.
    aggs: HashMap<u64, Agg>,
    open: HashMap<(usize, Option<IpAddr>, Option<IpAddr>), u64>,
    next_agg: u64,
    // State.
    judged: HashSet<u64>,
    last_values: HashMap<(IpAddr, u16, Table, u32), f64>,
    /// Devices with a safety envelope: only their values are remembered (the old value
    /// an envelope alert reports); remembering every value read grew without need.
    envelope_devices: HashSet<IpAddr>,
    sessions: HashMap<IpAddr, Vec<Session>>,
    ra_flows: HashMap<u64, Arc<str>>,
    trackers: HashMap<(usize, IpAddr, Option<IpAddr>), Group>,
    scan_groups: HashMap<(usize, IpAddr, Option<IpAddr>), Group>,
    talkers: HashMap<(IpAddr, IpAddr, &'static str), i64>,
    once: HashSet<u64>,
    polls: HashMap<u64, PollTrack>,
    first_ts: Option<i64>,
    watermark: i64,
    next_gc: i64,
    next_sweep: i64,
    touches: Vec<Touch>,
    seen: Vec<Seen>,
    points: Vec<PointWrite>,
    stats: DetectStats,
}

fn level_text(l: Level) -> String {
    l.to_string()
}

impl Detector {
    /// A detector for `cfg`. Disabled rules, and rules that cannot run (policy and
    /// envelope rules without a policy, baseline rules without a baseline or while
    /// learning), are left out.
    pub fn new(cfg: DetectorConfig) -> Detector {
        let rules: Vec<Rule> = cfg
            .rules
            .rules()
            .iter()
            .filter(|r| r.enabled)
            .cloned()
            .collect();
        let has_policy = cfg.policy.is_some();
        let envelope_devices = cfg
            .policy
            .as_ref()
            .map(|p| {
                p.envelopes()
                    .iter()
                    .map(|e| e.device.to_canonical())
                    .collect()
            })
            .unwrap_or_default();
        let has_baseline = cfg.baseline.is_some() && !cfg.learn;
        let mut d = Detector {
            policy: cfg.policy,
            rules: Vec::new(),
            attack: cfg.attack,
            baseline: if has_baseline {
                cfg.baseline.as_ref().map(BaselineIndex::new)
            } else {
                None
            },
            learner: cfg.learn.then(Learner::new),
            live: cfg.live,
            window: cfg.aggregation_window_ns.max(1),
            chain_window: cfg.chain_window_ns.max(0),
            warmup: cfg.warmup_ns.max(0),
            max_held: cfg.max_held.max(1),
            max_state: cfg.max_state.max(16),
            txn_rules: Vec::new(),
            txn_by_proto: HashMap::new(),
            txn_new_talker: false,
            txn_paths: project::PathTree::default(),
            flow_rules: Vec::new(),
            policy_rules: HashMap::new(),
            envelope_rules: Vec::new(),
            ra_rules: Vec::new(),
            ra_ports: HashSet::new(),
            scan_rules: Vec::new(),
            baseline_rules: HashMap::new(),
            aggs: HashMap::new(),
            open: HashMap::new(),
            next_agg: 0,
            judged: HashSet::new(),
            last_values: HashMap::new(),
            envelope_devices,
            sessions: HashMap::new(),
            ra_flows: HashMap::new(),
            trackers: HashMap::new(),
            scan_groups: HashMap::new(),
            talkers: HashMap::new(),
            once: HashSet::new(),
            polls: HashMap::new(),
            first_ts: None,
            watermark: i64::MIN,
            next_gc: i64::MIN,
            next_sweep: i64::MIN,
            touches: Vec::new(),
            seen: Vec::new(),
            points: Vec::new(),
            stats: DetectStats::default(),
        };
        for r in rules {
            let i = d.rules.len();
            match r.kind {
                Kind::Transaction => {
                    let m = &r.matcher;
                    for c in m.fields.iter().chain(&m.any_fields) {
                        d.txn_paths.add(&c.path);
                    }
                    if let Some(path) = r.threshold.as_ref().and_then(|t| t.distinct.as_ref()) {
                        d.txn_paths.add(path);
                    }
                    d.txn_new_talker |= m.new_talker;
                    d.txn_rules.push(i);
                }
                Kind::Flow => d.flow_rules.push(i),
                Kind::Policy(k) if has_policy => d.policy_rules.entry(k).or_default().push(i),
                Kind::Envelope if has_policy => d.envelope_rules.push(i),
                Kind::RemoteAccess => {
                    d.ra_ports.extend(r.matcher.ports.iter().copied());
                    d.ra_rules.push(i);
                }
                Kind::Scan(_) => d.scan_rules.push(i),
                Kind::Baseline(a) if has_baseline => d.baseline_rules.entry(a).or_default().push(i),
                _ => continue,
            }
            d.rules.push(r);
        }
        d
    }

    /// The rules that run.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Counters.
    pub fn stats(&self) -> &DetectStats {
        &self.stats
    }

    /// The baseline learned so far (learning mode only).
    pub fn learned(&self) -> Option<Baseline> {
        self.learner.as_ref().map(Learner::finish)
    }

    /// Observes one event (in capture order) and appends the alert events it causes.
    pub fn observe(&mut self, ev: &Event, out: &mut Vec<Event>) {
        self.stats.events += 1;
        if self.first_ts.is_none() {
            self.first_ts = Some(ev.ts);
        }
        if ev.ts > self.watermark {
            self.watermark = ev.ts;
        }
        match &ev.body {
            Body::Txn { record, .. } => self.on_txn(ev, record, out),
            Body::Flow(f) => self.on_flow(ev, f, out),
            Body::Anomaly(_) | Body::Alert(_) => {}
        }
        if self.watermark >= self.next_gc {
            self.next_gc = self.watermark.saturating_add(SEC);
            self.gc(out);
        }
    }

    /// Ends the input: emits every alert still held (batch mode) or changed (live mode).
    pub fn finish(&mut self, out: &mut Vec<Event>) {
        let mut ids: Vec<u64> = self.aggs.keys().copied().collect();
        ids.sort_by_key(|id| self.aggs.get(id).map(|a| (a.first_ts, a.rec.id.clone())));
        for id in ids {
            if let Some(mut a) = self.aggs.remove(&id) {
                a.open = false;
                if !a.emitted || a.dirty {
                    self.emit(&mut a, out);
                }
            }
        }
        self.open.clear();
    }

    // ---------------------------------------------------------------------------------
    // Events
    // ---------------------------------------------------------------------------------

    fn is_new_talker(
        &mut self,
        client: IpAddr,
        server: IpAddr,
        proto: &'static str,
        ts: i64,
    ) -> bool {
        if let Some(b) = &self.baseline {
            return !b.knows_pair(client, server, proto);
        }
        let start = self.first_ts.unwrap_or(ts);
        let n = self.talkers.len();
        let first = match self.talkers.get(&(client, server, proto)) {
            Some(t) => *t,
            None if n < self.max_state => {
                self.talkers.insert((client, server, proto), ts);
                ts
            }
            None => return false,
        };
        first.saturating_sub(start) > self.warmup
    }

    /// Remembers a point's value as its last one, for devices with an envelope.
    fn remember(&mut self, server: IpAddr, unit: u16, table: Table, address: u32, value: f64) {
        if !self.envelope_devices.contains(&server.to_canonical()) {
            return;
        }
        let k = (server, unit, table, address);
        if self.last_values.len() < self.max_state || self.last_values.contains_key(&k) {
            self.last_values.insert(k, value);
        }
    }

    /// The transaction rules that can match a protocol's records, in rule order.
    fn txn_rules_of(&mut self, proto: &'static str) -> Arc<[usize]> {
        let Detector {
            txn_by_proto,
            txn_rules,
            rules,
            ..
        } = self;
        Arc::clone(txn_by_proto.entry(proto).or_insert_with(|| {
            txn_rules
                .iter()
                .copied()
                .filter(|&i| {
                    rules
                        .get(i)
                        .is_some_and(|r| r.matcher.protocol_matches(proto))
                })
                .collect()
        }))
    }

    fn on_txn(&mut self, ev: &Event, record: &Record, out: &mut Vec<Event>) {
        let proto = record.protocol();
        let Some((client, server)) = orient(ev, proto) else {
            return;
        };
        let (client, server) = (client.ip, server.ip);
        let op = record.operation();
        let fc = record.function_code();
        let function = record.function();
        let ts = ev.ts;
        if is_remote_access(proto) {
            // The session began with the request; the handshake that names the
            // protocol is complete at the response: the alert is raised then.
            let at = match &ev.body {
                Body::Txn {
                    ts_end: Some(end), ..
                } => (*end).max(ts),
                _ => ts,
            };
            self.remote_access(ev, proto, ts, at, out);
        }
        if let Some(uid) = ev.flow_uid {
            if !self.judged.contains(&uid) {
                if self.judged.len() >= self.max_state {
                    self.stats.state_resets += 1;
                    self.judged.clear();
                }
                self.judged.insert(uid);
                self.judge_flow(ev, client, server, &[proto], out);
            }
        }
        let mut touches = std::mem::take(&mut self.touches);
        let mut seen = std::mem::take(&mut self.seen);
        facts::extract(record, &mut touches, &mut seen);
        let writes =
            matches!(op, Operation::Write | Operation::Engineering) && !unsolicited(record);
        let window_name = match (&self.policy, writes) {
            (Some(p), true) => p.maintenance_window_at(server, ts).map(|w| w.name.clone()),
            _ => None,
        };
        // The whole record's JSON, for an alert; the parts the rules test, for matching.
        let mut record_json: Option<Value> = None;
        let mut tested_json: Option<Value> = None;
        // ICS writes against the policy: read-only conduits, writers per register range.
        let mut unlisted: Option<bool> = None;
        if writes {
            if let Some(policy) = self.policy.clone() {
                let w = touches.iter().find(|t| t.write);
                let unit = match record {
                    Record::Modbus(t) => Some(t.unit_id),
                    _ => None,
                };
                let registers = w.and_then(|t| {
                    Some(RegisterRange {
                        first: u16::try_from(t.first).ok()?,
                        last: u16::try_from(t.last).ok()?,
                    })
                });
                let v = policy.judge_ics(IcsFacts {
                    client,
                    server,
                    protocol: proto,
                    access: Access::Write,
                    unit,
                    registers,
                    ts,
                });
                unlisted = Some(!v.is_allowed());
                for viol in v.violations() {
                    if matches!(
                        viol.kind,
                        ViolationKind::WriteOnReadOnly | ViolationKind::WriterNotAllowed
                    ) {
                        let mut r = Raise::between(ev, ts, Some(client), Some(server));
                        r.ics_write = true;
                        r.function = function;
                        r.function_code = fc;
                        self.policy_alert(&mut r, viol, window_name.as_deref(), out);
                    }
                }
            } else if let Some(b) = &self.baseline {
                unlisted = Some(!b.knows_writer(client, server));
            }
        }
        // Safety envelopes, then remember the values.
        if let Some(policy) = self
            .policy
            .clone()
            .filter(|_| !self.envelope_rules.is_empty())
        {
            for s in seen.iter().filter(|s| s.written) {
                let covered = s.table == Table::HOLDING_REGISTER
                    || s.table == Table::dnp3(40)
                    || s.table == Table::dnp3(41);
                if !covered {
                    continue;
                }
                let key = PointKey::Number {
                    unit: s.unit,
                    register: s.address,
                };
                let Some(env) = facts::find_envelope(&policy, server, &key) else {
                    continue;
                };
                let label = if s.table == Table::HOLDING_REGISTER {
                    format!("register {} (unit {})", s.address, s.unit)
                } else {
                    format!(
                        "{} index {} (outstation {})",
                        if s.table == Table::dnp3(41) {
                            "analog output"
                        } else {
                            "analog output status"
                        },
                        s.address,
                        s.unit
                    )
                };
                let p = PointWrite {
                    table: s.table,
                    key,
                    unit: s.unit,
                    address: s.address,
                    value: s.value,
                    label,
                };
                self.envelope(
                    ev,
                    env,
                    server,
                    &p,
                    function,
                    fc,
                    window_name.as_deref(),
                    out,
                );
            }
            // S7, IEC 104, CIP and BACnet writes: the same check, then the value is
            // remembered as the point's last one.
            let mut points = std::mem::take(&mut self.points);
            facts::written_points(record, &mut points);
            for p in &points {
                if let Some(env) = facts::find_envelope(&policy, server, &p.key) {
                    self.envelope(
                        ev,
                        env,
                        server,
                        p,
                        function,
                        fc,
                        window_name.as_deref(),
                        out,
                    );
                }
                self.remember(server, p.unit, p.table, p.address, p.value);
            }
            self.points = points;
        }
        for s in &seen {
            if s.table == Table::HOLDING_REGISTER || s.table.0 >= 1000 || s.table == Table::COIL {
                self.remember(server, s.unit, s.table, s.address, s.value);
            }
        }
        // Protocol rules.
        let talker_new = self.txn_new_talker && self.is_new_talker(client, server, proto, ts);
        let txn_rules = self.txn_rules_of(proto);
        for &ri in txn_rules.iter() {
            let Some(rule) = self.rules.get(ri) else {
                continue;
            };
            let m = &rule.matcher;
            if !m.header_matches(fc, function, op)
                || (m.new_talker && !talker_new)
                || (m.unlisted_writer && unlisted != Some(true))
            {
                continue;
            }
            if m.needs_fields() {
                let j = tested_json.get_or_insert_with(|| self.txn_paths.project(&record.fields()));
                if !m.fields_match(j) {
                    continue;
                }
            }
            let mut vars = Vec::new();
            if let Some(t) = &rule.threshold {
                let value = match &t.distinct {
                    None => None,
                    Some(path) => {
                        let v = distinct_value(ev, record, path, || {
                            tested_json
                                .get_or_insert_with(|| self.txn_paths.project(&record.fields()))
                        });
                        match v {
                            Some(v) => Some(v),
                            None => continue,
                        }
                    }
                };
                let gkey = match t.group_by {
                    GroupBy::Source => (ri, client, None),
                    GroupBy::Pair => (ri, client, Some(server)),
                    GroupBy::Destination => (ri, server, None),
                };
                if self.trackers.len() >= self.max_state {
                    self.stats.state_resets += 1;
                    self.trackers.clear();
                }
                let g = self.trackers.entry(gkey).or_default();
                if !g.add(ts, t.window_ns, value, t.count) {
                    continue;
                }
                let n = g.reached(value.is_some());
                vars.push(("count", g.count.to_string()));
                vars.push(("distinct", n.to_string()));
                vars.push(("window", util::human_duration(t.window_ns)));
            }
            let j = record_json.get_or_insert_with(|| {
                serde_json::to_value(record.fields()).unwrap_or(Value::Null)
            });
            let mut r = Raise::between(ev, ts, Some(client), Some(server));
            if rule
                .threshold
                .as_ref()
                .is_some_and(|t| t.group_by != GroupBy::Pair)
            {
                r.dst = None;
                if rule
                    .threshold
                    .as_ref()
                    .is_some_and(|t| t.group_by == GroupBy::Destination)
                {
                    r.src = None;
                    r.dst = Some(server);
                }
            }
            r.function = function;
            r.function_code = fc;
            r.ics_write = writes;
            r.vars = vars;
            if let Some(u) = user_of(j) {
                r.vars.push(("user", u.clone()));
                r.details.insert("user".into(), Value::String(u));
            }
            if let Some(f) = function {
                r.details
                    .insert("function".into(), Value::String(f.to_string()));
            }
            if let Some(c) = fc {
                r.details.insert("function_code".into(), Value::from(c));
            }
            if let Some(w) = &window_name {
                r.details
                    .insert("maintenance_window".into(), Value::String(w.to_string()));
                r.severity = Some(rule.severity.div_ceil(2));
            }
            let j = j.clone();
            r.record = Some(&j);
            self.raise(ri, r, out);
        }
        // Baseline deviations.
        if self.baseline.is_some() {
            self.baseline_txn(
                ev, client, server, proto, fc, function, op, &touches, &seen, out,
            );
        }
        if let Some(l) = self.learner.as_mut() {
            l.transaction(client, server, proto, ts, fc, function, &touches, &seen);
        }
        self.touches = touches;
        self.seen = seen;
    }

    fn on_flow(&mut self, ev: &Event, f: &FlowRecord, out: &mut Vec<Event>) {
        let (Some(src), Some(dst)) = (ev.src, ev.dst) else {
            return;
        };
        // An interim record of a long flow: the flow goes on, keep its state.
        let interim = f.end_reason == sluice_flow::EndReason::ActiveTimeout;
        let uid = ev.flow_uid.filter(|_| !interim);
        let tcp = ev.transport == Some("tcp");
        let udp = ev.transport == Some("udp");
        if !(tcp || udp) {
            if let Some(u) = uid {
                self.judged.remove(&u);
            }
            return;
        }
        let payload = f.payload_bytes[0].saturating_add(f.payload_bytes[1]);
        let answered = f.packets[1] > 0;
        let attempt = payload == 0 || (udp && !answered);
        let ts = f.start;
        if attempt {
            // Grouped by when the attempt began; raised when the one that crosses the
            // threshold is over (its reset, or its last packet).
            self.scan(ev, src.ip, dst.ip, dst.port, ts, f.end.max(ts), out);
        }
        if payload == 0 {
            if let Some(u) = uid {
                self.judged.remove(&u);
            }
            return;
        }
        let guessed: Vec<&'static str> = match ev.protocol {
            Some(p) => vec![p],
            None => protocols_on_port(ev.transport, dst.port).collect(),
        };
        // Remote access first, so the flow's other alerts join its chain.
        // (A session known only from its flow record is stamped with its start.)
        if let Some(p) = guessed.iter().copied().find(|p| is_remote_access(p)) {
            self.remote_access(ev, p, ts, ts, out);
        } else if ev.protocol.is_none() && self.ra_ports.contains(&dst.port) {
            self.remote_access(ev, "unknown", ts, ts, out);
        }
        let judged = match (uid, ev.flow_uid) {
            (Some(u), _) => self.judged.remove(&u),
            (None, Some(u)) => !self.judged.insert(u),
            (None, None) => false,
        };
        if !judged {
            self.judge_flow(ev, src.ip, dst.ip, &guessed, out);
        }
        let flow_rules = std::mem::take(&mut self.flow_rules);
        for &ri in &flow_rules {
            let Some(rule) = self.rules.get(ri) else {
                continue;
            };
            let m = &rule.matcher;
            let proto_ok = m.protocols.is_empty()
                || guessed.iter().any(|p| m.protocols.iter().any(|q| q == p));
            let port_ok = m.ports.is_empty() || m.ports.contains(&dst.port);
            if proto_ok && port_ok {
                let mut r = Raise::new(ev, ts);
                r.protocol = guessed.first().copied();
                self.raise(ri, r, out);
            }
        }
        self.flow_rules = flow_rules;
        let proto: &'static str =
            guessed
                .first()
                .copied()
                .unwrap_or(if tcp { "tcp" } else { "udp" });
        if f.transactions == 0
            && self.baseline.is_some()
            && self.notable_pair(src.ip, dst.ip, proto)
        {
            let new = self
                .baseline
                .as_ref()
                .is_some_and(|b| !b.knows_pair(src.ip, dst.ip, proto));
            if new {
                self.baseline_alert(
                    ev,
                    Anomaly::NewTalker,
                    src.ip,
                    dst.ip,
                    proto,
                    hash_of(&(0u8, src.ip, dst.ip, proto)),
                    Vec::new(),
                    Map::new(),
                    false,
                    out,
                );
            }
        }
        if let Some(l) = self.learner.as_mut() {
            l.flow(src.ip, dst.ip, proto, ts);
        }
        if let Some(u) = uid {
            self.ra_flows.remove(&u);
        }
    }

    /// Whether a pair matters for new-talker alerts on flows without transactions: ICS
    /// and remote-access protocols, or a server in levels 0-3.5 of the policy.
    fn notable_pair(&self, client: IpAddr, server: IpAddr, proto: &str) -> bool {
        if is_ics(proto) || is_remote_access(proto) {
            return true;
        }
        match &self.policy {
            Some(p) => {
                p.zone_of(server).level <= Level::DMZ
                    && p.zone_of(client).name != p.zone_of(server).name
            }
            None => false,
        }
    }

    // ---------------------------------------------------------------------------------
    // Policy
    // ---------------------------------------------------------------------------------

    fn judge_flow(
        &mut self,
        ev: &Event,
        client: IpAddr,
        server: IpAddr,
        protocols: &[&'static str],
        out: &mut Vec<Event>,
    ) {
        let Some(policy) = self.policy.clone() else {
            return;
        };
        if self.policy_rules.is_empty() {
            return;
        }
        let candidates: Vec<Option<&str>> = if protocols.is_empty() {
            vec![None]
        } else {
            protocols.iter().map(|p| Some(*p)).collect()
        };
        let mut first: Option<(Verdict, Option<&str>)> = None;
        for p in candidates {
            let v = policy.judge_flow(FlowFacts {
                client,
                server,
                protocol: p,
                ts: ev.ts,
            });
            if v.is_allowed() {
                return;
            }
            if first.is_none() {
                first = Some((v, p));
            }
        }
        let Some((v, p)) = first else { return };
        let ts = match &ev.body {
            Body::Flow(f) => f.start,
            _ => ev.ts,
        };
        for viol in v.violations() {
            let mut r = Raise::between(ev, ts, Some(client), Some(server));
            r.protocol = p.or(ev.protocol);
            if ev.protocol.is_none() && p.is_some() {
                r.details
                    .insert("protocol_from_port".into(), Value::Bool(true));
            }
            self.policy_alert(&mut r, viol, None, out);
        }
    }

    fn policy_alert(
        &mut self,
        r: &mut Raise<'_>,
        v: &sluice_policy::Violation,
        window: Option<&str>,
        out: &mut Vec<Event>,
    ) {
        let Some(rules) = self.policy_rules.get(&v.kind).cloned() else {
            return;
        };
        r.vars.push(("violation", v.explanation.clone()));
        if let Some(c) = &v.conduit {
            r.vars.push(("conduit", c.to_string()));
            r.details
                .insert("conduit".into(), Value::String(c.to_string()));
        }
        r.details.insert(
            "violation".into(),
            Value::String(v.kind.as_str().to_string()),
        );
        r.details
            .insert("from_zone".into(), Value::String(v.from_zone.to_string()));
        r.details
            .insert("to_zone".into(), Value::String(v.to_zone.to_string()));
        r.details
            .insert("from_level".into(), json!(v.from_level.as_f64()));
        r.details
            .insert("to_level".into(), json!(v.to_level.as_f64()));
        if let Some(w) = window {
            r.details
                .insert("maintenance_window".into(), Value::String(w.to_string()));
        }
        for ri in rules {
            let mut x = Raise {
                ev: r.ev,
                ts: r.ts,
                src: r.src,
                dst: r.dst,
                protocol: r.protocol,
                function: r.function,
                function_code: r.function_code,
                record: r.record,
                details: r.details.clone(),
                vars: r.vars.clone(),
                ics_write: r.ics_write,
                chain: r.chain.clone(),
                severity: None,
            };
            if window.is_some() {
                x.severity = self.rules.get(ri).map(|rule| rule.severity.div_ceil(2));
            }
            self.raise(ri, x, out);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn envelope(
        &mut self,
        ev: &Event,
        env: &sluice_policy::Envelope,
        server: IpAddr,
        p: &PointWrite,
        function: Option<&str>,
        fc: Option<u32>,
        window: Option<&str>,
        out: &mut Vec<Event>,
    ) {
        let register = match &p.key {
            PointKey::Number { register, .. } => *register,
            PointKey::Name { index, .. } => *index,
        };
        let old = self
            .last_values
            .get(&(server, p.unit, p.table, p.address))
            .copied();
        let Some(b) = env.check(old, p.value) else {
            return;
        };
        if b.kind == sluice_policy::BreachKind::StepTooLarge
            && old.is_some_and(|o| o < env.min || o > env.max)
        {
            return;
        }
        let bound = match b.kind {
            sluice_policy::BreachKind::BelowMin => {
                format!("{} is below the minimum {}", num(b.new), num(b.min))
            }
            sluice_policy::BreachKind::AboveMax => {
                format!("{} is above the maximum {}", num(b.new), num(b.max))
            }
            sluice_policy::BreachKind::StepTooLarge => format!(
                "a change of {} is larger than the allowed step {}",
                num((b.new - old.unwrap_or(b.new)).abs()),
                b.max_step.map(num).unwrap_or_else(|| "?".into())
            ),
            sluice_policy::BreachKind::NotANumber => "the value is not a number".to_string(),
        };
        let rules = self.envelope_rules.clone();
        let client = orient(ev, ev.protocol.unwrap_or_default()).map(|(c, _)| c.ip);
        for ri in rules {
            let mut r = Raise::between(ev, ev.ts, client, Some(server));
            r.function = function;
            r.function_code = fc;
            r.ics_write = true;
            r.vars = vec![
                ("old", old.map(num).unwrap_or_else(|| "unknown".into())),
                ("new", num(b.new)),
                ("point", p.label.clone()),
                ("register", register.to_string()),
                ("unit", p.unit.to_string()),
                ("min", num(b.min)),
                ("max", num(b.max)),
                (
                    "max_step",
                    b.max_step.map(num).unwrap_or_else(|| "any".into()),
                ),
                ("bound", bound.clone()),
            ];
            let d = &mut r.details;
            d.insert("device".into(), Value::String(server.to_string()));
            d.insert("unit".into(), Value::from(p.unit));
            d.insert("table".into(), Value::String(p.table.name()));
            d.insert("register".into(), Value::from(register));
            d.insert("point".into(), Value::String(p.label.clone()));
            if let PointKey::Name { name, .. } = &p.key {
                d.insert("name".into(), Value::String(name.clone()));
            }
            d.insert("old_value".into(), old.map_or(Value::Null, |o| json!(o)));
            d.insert("new_value".into(), json!(b.new));
            d.insert("min".into(), json!(b.min));
            d.insert("max".into(), json!(b.max));
            d.insert(
                "max_step".into(),
                b.max_step.map_or(Value::Null, |x| json!(x)),
            );
            d.insert(
                "breach".into(),
                serde_json::to_value(b.kind).unwrap_or(Value::Null),
            );
            if let Some(n) = &env.name {
                d.insert("envelope".into(), Value::String(n.clone()));
            }
            if let Some(w) = window {
                d.insert("maintenance_window".into(), Value::String(w.to_string()));
                r.severity = self.rules.get(ri).map(|x| x.severity.div_ceil(2));
            }
            self.raise(ri, r, out);
        }
    }

    // ---------------------------------------------------------------------------------
    // Remote access and chains
    // ---------------------------------------------------------------------------------

    fn remote_access(
        &mut self,
        ev: &Event,
        proto: &'static str,
        start: i64,
        at: i64,
        out: &mut Vec<Event>,
    ) {
        let Some((src, dst)) = orient(ev, proto) else {
            return;
        };
        if let Some(u) = ev.flow_uid {
            if self.ra_flows.contains_key(&u) {
                return;
            }
        }
        let (client, server) = (src.ip, dst.ip);
        let (outside, crossing, level_halves) = match &self.policy {
            Some(p) => {
                let zc = p.zone_of(client);
                let zs = p.zone_of(server);
                (
                    zc.level >= Level::L4,
                    zc.name != zs.name,
                    Some(zs.level.halves()),
                )
            }
            None => {
                let out = !util::is_internal(client) && util::is_internal(server);
                (out, out, None)
            }
        };
        let fire: Vec<usize> = self
            .ra_rules
            .iter()
            .copied()
            .filter(|&ri| {
                self.rules.get(ri).is_some_and(|r| {
                    let m = &r.matcher;
                    let proto_ok = proto == "unknown" && m.ports.contains(&dst.port)
                        || m.protocols.is_empty()
                        || m.protocols.iter().any(|p| p == proto);
                    let level_ok = level_halves.is_none_or(|l| l <= m.max_level_halves);
                    let side_ok = m.from_outside.is_none_or(|o| o == outside);
                    proto_ok && level_ok && side_ok && crossing
                })
            })
            .collect();
        if fire.is_empty() {
            return;
        }
        let chain: Arc<str> = Arc::from(stable_id(
            "C",
            &[&client.to_string(), &server.to_string(), &start.to_string()],
        ));
        self.stats.chains += 1;
        if let Some(u) = ev.flow_uid {
            if self.ra_flows.len() >= self.max_state {
                self.stats.state_resets += 1;
                self.ra_flows.clear();
            }
            self.ra_flows.insert(u, chain.clone());
        }
        if self.sessions.len() >= self.max_state && !self.sessions.contains_key(&server) {
            self.stats.state_resets += 1;
            self.sessions.clear();
        }
        let list = self.sessions.entry(server).or_default();
        list.retain(|s| s.start.saturating_add(self.chain_window) >= start);
        if list.len() < 64 {
            list.push(Session {
                start,
                chain: chain.clone(),
            });
        }
        // ICS writes from the host already seen (the session was known only at its end).
        self.rechain(server, start, chain.clone(), out);
        let proto_name = if proto == "unknown" {
            protocols_on_port(ev.transport, dst.port)
                .next()
                .unwrap_or("remote access")
        } else {
            proto
        };
        for ri in fire {
            let mut r = Raise::between(ev, at, Some(client), Some(server));
            r.protocol = Some(proto_name);
            r.chain = Some(chain.clone());
            r.details.insert(
                "session_start".into(),
                Value::String(sluice_engine::time::rfc3339(start)),
            );
            r.details
                .insert("server_port".into(), Value::from(dst.port));
            if proto == "unknown" || ev.protocol.is_none() {
                r.details
                    .insert("protocol_from_port".into(), Value::Bool(true));
            }
            self.raise(ri, r, out);
        }
    }

    fn chain_for(
        &self,
        ev: &Event,
        src: Option<IpAddr>,
        ts: i64,
        ics_write: bool,
    ) -> Option<Arc<str>> {
        if let Some(c) = ev.flow_uid.and_then(|u| self.ra_flows.get(&u)) {
            return Some(c.clone());
        }
        if !ics_write {
            return None;
        }
        self.sessions
            .get(&src?)?
            .iter()
            .rev()
            .find(|s| s.start <= ts && ts <= s.start.saturating_add(self.chain_window))
            .map(|s| s.chain.clone())
    }

    fn rechain(&mut self, host: IpAddr, start: i64, chain: Arc<str>, out: &mut Vec<Event>) {
        let end = start.saturating_add(self.chain_window);
        let mut hit = Vec::new();
        for (id, a) in &self.aggs {
            if a.ics_write
                && a.src_host == Some(host)
                && a.rec.chain_id.is_none()
                && a.last_ts >= start
                && a.first_ts <= end
            {
                hit.push(*id);
            }
        }
        hit.sort_unstable();
        for id in hit {
            let live = self.live;
            let Some(mut a) = self.aggs.remove(&id) else {
                continue;
            };
            a.rec.chain_id = Some(chain.to_string());
            if a.emitted {
                a.dirty = true;
                if live {
                    self.emit(&mut a, out);
                }
            }
            self.aggs.insert(id, a);
        }
    }

    // ---------------------------------------------------------------------------------
    // Scans
    // ---------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn scan(
        &mut self,
        ev: &Event,
        src: IpAddr,
        dst: IpAddr,
        port: u16,
        ts: i64,
        at: i64,
        out: &mut Vec<Event>,
    ) {
        let rules = self.scan_rules.clone();
        for ri in rules {
            let Some(rule) = self.rules.get(ri) else {
                continue;
            };
            let (Kind::Scan(kind), Some(t)) = (rule.kind, rule.threshold.clone()) else {
                continue;
            };
            let (key, value) = match kind {
                ScanKind::Hosts => ((ri, src, None), hash_of(&dst)),
                ScanKind::Ports => ((ri, src, Some(dst)), u64::from(port)),
            };
            if self.scan_groups.len() >= self.max_state {
                self.stats.state_resets += 1;
                self.scan_groups.clear();
            }
            let g = self.scan_groups.entry(key).or_default();
            if !g.add(ts, t.window_ns, Some(value), t.count) {
                continue;
            }
            let n = g.reached(true);
            let mut r = Raise::new(ev, at);
            r.protocol = None;
            if kind == ScanKind::Hosts {
                r.dst = None;
            }
            r.vars = vec![
                ("distinct", n.to_string()),
                ("count", n.to_string()),
                ("window", util::human_duration(t.window_ns)),
            ];
            r.details.insert("distinct".into(), Value::from(n));
            r.details
                .insert("window_seconds".into(), Value::from(t.window_ns / SEC));
            self.raise(ri, r, out);
        }
    }

    // ---------------------------------------------------------------------------------
    // Baseline
    // ---------------------------------------------------------------------------------

    #[allow(clippy::too_many_arguments)]
    fn baseline_txn(
        &mut self,
        ev: &Event,
        client: IpAddr,
        server: IpAddr,
        proto: &'static str,
        fc: Option<u32>,
        function: Option<&str>,
        op: Operation,
        touches: &[Touch],
        seen: &[Seen],
        out: &mut Vec<Event>,
    ) {
        let Some(b) = &self.baseline else { return };
        let writes = matches!(op, Operation::Write | Operation::Engineering);
        if !b.knows_pair(client, server, proto) {
            let key = hash_of(&(0u8, client, server, proto));
            self.baseline_alert(
                ev,
                Anomaly::NewTalker,
                client,
                server,
                proto,
                key,
                Vec::new(),
                Map::new(),
                writes,
                out,
            );
            return;
        }
        let b = match &self.baseline {
            Some(b) => b,
            None => return,
        };
        let mut found: Vec<Found> = Vec::new();
        if let Some(c) = fc {
            if b.knows_function(client, server, proto, c) == Some(false) {
                let mut d = Map::new();
                d.insert("function_code".into(), Value::from(c));
                found.push((
                    Anomaly::NewFunction,
                    hash_of(&(1u8, client, server, proto, c)),
                    Vec::new(),
                    d,
                ));
            }
        }
        for t in touches {
            if b.knows_touch(client, server, proto, t) == Some(false) {
                let what = format!(
                    "{} {} unit {} {}",
                    t.table.name(),
                    if t.first == t.last {
                        t.first.to_string()
                    } else {
                        format!("{}-{}", t.first, t.last)
                    },
                    t.unit,
                    if t.write { "(write)" } else { "(read)" }
                );
                let mut d = Map::new();
                d.insert("table".into(), Value::String(t.table.name()));
                d.insert("unit".into(), Value::from(t.unit));
                d.insert("first".into(), Value::from(t.first));
                d.insert("last".into(), Value::from(t.last));
                d.insert(
                    "access".into(),
                    Value::String(if t.write { "write" } else { "read" }.into()),
                );
                found.push((
                    Anomaly::NewRegister,
                    hash_of(&(
                        2u8, client, server, proto, t.unit, t.table, t.write, t.first, t.last,
                    )),
                    vec![("register", what)],
                    d,
                ));
            }
        }
        for s in seen.iter().filter(|s| s.written) {
            if let Some((lo, hi)) = b.value_bounds(server, s.unit, s.table, s.address) {
                if s.value < lo || s.value > hi {
                    let mut d = Map::new();
                    d.insert("table".into(), Value::String(s.table.name()));
                    d.insert("unit".into(), Value::from(s.unit));
                    d.insert("address".into(), Value::from(s.address));
                    d.insert("value".into(), json!(s.value));
                    d.insert("learned_min".into(), json!(lo));
                    d.insert("learned_max".into(), json!(hi));
                    found.push((
                        Anomaly::ValueOutOfRange,
                        hash_of(&(
                            3u8,
                            client,
                            server,
                            s.unit,
                            s.table,
                            s.address,
                            s.value.to_bits(),
                        )),
                        vec![
                            ("value", num(s.value)),
                            (
                                "register",
                                format!("{} {} (unit {})", s.table.name(), s.address, s.unit),
                            ),
                            ("min", num(lo)),
                            ("max", num(hi)),
                        ],
                        d,
                    ));
                }
            }
        }
        // Polling periods of pure reads.
        if let (Some(c), Some(t)) = (fc, touches.first()) {
            if touches.iter().all(|t| !t.write) {
                let pkey = (c, t.unit, t.table, t.first);
                if let Some(learned) = b
                    .poll_period(client, server, proto, pkey)
                    .filter(|p| *p > 0)
                {
                    let k = hash_of(&(client, server, proto, pkey));
                    if self.polls.len() >= self.max_state && !self.polls.contains_key(&k) {
                        self.stats.state_resets += 1;
                        self.polls.clear();
                    }
                    let track = self.polls.entry(k).or_default();
                    let ts = ev.ts;
                    if track.last > 0 && ts > track.last {
                        track.intervals.push_back(ts - track.last);
                        if track.intervals.len() > 5 {
                            track.intervals.pop_front();
                        }
                    }
                    track.last = ts;
                    if track.intervals.len() >= 5 {
                        let mut v: Vec<i64> = track.intervals.iter().copied().collect();
                        v.sort_unstable();
                        let median = v.get(2).copied().unwrap_or(0);
                        let ratio = median as f64 / learned as f64;
                        if !(0.5..=1.5).contains(&ratio) {
                            track.intervals.clear();
                            let mut d = Map::new();
                            d.insert("period_ns".into(), Value::from(median));
                            d.insert("learned_period_ns".into(), Value::from(learned));
                            found.push((
                                Anomaly::PollingChange,
                                0,
                                vec![
                                    (
                                        "register",
                                        format!("{} {} (unit {})", t.table.name(), t.first, t.unit),
                                    ),
                                    ("period", format!("{:.1} s", median as f64 / 1e9)),
                                    ("learned_period", format!("{:.1} s", learned as f64 / 1e9)),
                                ],
                                d,
                            ));
                        }
                    }
                }
            }
        }
        let _ = function;
        for (a, key, vars, details) in found {
            self.baseline_alert(
                ev, a, client, server, proto, key, vars, details, writes, out,
            );
        }
    }

    /// Raises a baseline anomaly; `once_key` (non-zero) raises it at most once per run.
    #[allow(clippy::too_many_arguments)]
    fn baseline_alert(
        &mut self,
        ev: &Event,
        a: Anomaly,
        client: IpAddr,
        server: IpAddr,
        proto: &'static str,
        once_key: u64,
        vars: Vec<(&'static str, String)>,
        details: Map<String, Value>,
        ics_write: bool,
        out: &mut Vec<Event>,
    ) {
        let Some(rules) = self.baseline_rules.get(&a).cloned() else {
            return;
        };
        if once_key != 0 {
            if self.once.len() >= self.max_state {
                self.stats.state_resets += 1;
                self.once.clear();
            }
            if !self.once.insert(once_key) {
                return;
            }
        }
        let (fc, function) = match &ev.body {
            Body::Txn { record, .. } => (record.function_code(), record.function()),
            _ => (None, None),
        };
        for ri in rules {
            let mut r = Raise::new(ev, ev.ts);
            r.src = Some(client);
            r.dst = Some(server);
            r.protocol = Some(proto);
            r.function = function;
            r.function_code = fc;
            r.ics_write = ics_write;
            r.vars = vars.clone();
            r.vars.push(("anomaly", a.as_str().to_string()));
            r.details = details.clone();
            r.details
                .insert("anomaly".into(), Value::String(a.as_str().into()));
            self.raise(ri, r, out);
        }
    }

    // ---------------------------------------------------------------------------------
    // Alerts: aggregation, ids, emission
    // ---------------------------------------------------------------------------------

    fn lookup(&self, r: &Raise<'_>, name: &str) -> Option<String> {
        if let Some((_, v)) = r.vars.iter().find(|(k, _)| *k == name) {
            return Some(v.clone());
        }
        let zone = |ip: Option<IpAddr>| -> Option<(String, String)> {
            let ip = ip?;
            match self.policy.as_ref() {
                Some(p) => {
                    let z = p.zone_of(ip);
                    Some((z.name.to_string(), level_text(z.level)))
                }
                None if util::is_internal(ip) => {
                    Some(("internal network".into(), "unknown".into()))
                }
                None => Some(("Internet".into(), "unknown".into())),
            }
        };
        match name {
            "src" | "src_ip" => r.src.map(|i| i.to_string()),
            "dst" | "dst_ip" => r.dst.map(|i| i.to_string()),
            "src_port" => endpoint_of(r.ev, r.src).map(|e| e.port.to_string()),
            "dst_port" => endpoint_of(r.ev, r.dst).map(|e| e.port.to_string()),
            "src_zone" => zone(r.src).map(|z| z.0),
            "dst_zone" => zone(r.dst).map(|z| z.0),
            "src_level" => zone(r.src).map(|z| z.1),
            "dst_level" => zone(r.dst).map(|z| z.1),
            "protocol" => r.protocol.map(|p| display_name(p).to_string()),
            "function" => r.function.map(str::to_string),
            "function_code" => r.function_code.map(|c| c.to_string()),
            "count" => Some("1".into()),
            _ => {
                if let Some(path) = name.strip_prefix("fields.") {
                    let p: Vec<String> = path.split('.').map(str::to_string).collect();
                    return fields::text_at(r.record?, &p);
                }
                if let Some(path) = name.strip_prefix("details.") {
                    let p: Vec<String> = path.split('.').map(str::to_string).collect();
                    return fields::text_at(&Value::Object(r.details.clone()), &p);
                }
                None
            }
        }
    }

    fn raise(&mut self, ri: usize, r: Raise<'_>, out: &mut Vec<Event>) {
        let Some(rule) = self.rules.get(ri) else {
            return;
        };
        self.stats.matches += 1;
        let key = (ri, r.src, r.dst);
        let chain = r
            .chain
            .clone()
            .or_else(|| self.chain_for(r.ev, r.src, r.ts, r.ics_write));
        let ev_id = r.ev.id();
        if let Some(id) = self.open.get(&key).copied() {
            let window = self.window;
            let live = self.live;
            if let Some(a) = self.aggs.get_mut(&id) {
                if a.open && r.ts.saturating_sub(a.first_ts).abs() < window {
                    a.rec.count = a.rec.count.saturating_add(1);
                    a.last_ts = a.last_ts.max(r.ts);
                    if a.rec.evidence.len() < MAX_EVIDENCE && !a.rec.evidence.contains(&ev_id) {
                        a.rec.evidence.push(ev_id);
                    }
                    a.ics_write |= r.ics_write;
                    let mut rechained = false;
                    if a.rec.chain_id.is_none() {
                        if let Some(c) = &chain {
                            a.rec.chain_id = Some(c.to_string());
                            rechained = true;
                        }
                    }
                    if a.emitted {
                        a.dirty = true;
                    }
                    if rechained && live && a.emitted {
                        if let Some(mut x) = self.aggs.remove(&id) {
                            self.emit(&mut x, out);
                            self.aggs.insert(id, x);
                        }
                    }
                    return;
                }
            }
        }
        let src_s = r.src.map(|i| i.to_string()).unwrap_or_default();
        let dst_s = r.dst.map(|i| i.to_string()).unwrap_or_default();
        let id = stable_id("A", &[&rule.id, &src_s, &dst_s, &ev_id]);
        let explanation = rule.explanation.render(&|n| self.lookup(&r, n));
        let tech = rule
            .technique
            .as_deref()
            .and_then(|t| self.attack.technique(t));
        let tactic = match (&rule.tactic, tech) {
            (Some(t), _) => Some(t.clone()),
            (None, Some(t)) => t.tactics.first().cloned(),
            _ => None,
        };
        let mut asset_ids = Vec::new();
        for ip in [r.src, r.dst].into_iter().flatten() {
            let a = format!("ip:{ip}");
            if !asset_ids.contains(&a) {
                asset_ids.push(a);
            }
        }
        let mut details = r.details;
        if let Some(p) = &self.policy {
            for (k, ip) in [("src_zone", r.src), ("dst_zone", r.dst)] {
                if let Some(ip) = ip {
                    if !details.contains_key(k) {
                        details.insert(k.into(), Value::String(p.zone_of(ip).name.to_string()));
                    }
                }
            }
        }
        let severity = r.severity.unwrap_or(rule.severity).clamp(1, 100);
        let mut rec = AlertRecord {
            id,
            rule_id: rule.id.clone(),
            rule_name: rule.name.clone(),
            severity,
            technique_id: rule.technique.clone(),
            technique_name: tech.map(|t| t.name.clone()),
            tactic,
            controls: rule.controls.clone(),
            asset_ids,
            explanation,
            chain_id: chain.map(|c| c.to_string()),
            count: 1,
            evidence: vec![ev_id],
            details: Value::Object(details),
        };
        // The event's endpoint (and MAC) of each alert address, whichever side it was on.
        let side = |ip: Option<IpAddr>| -> (Option<Endpoint>, Option<[u8; 6]>) {
            match ip {
                Some(ip) if r.ev.src.is_some_and(|e| e.ip == ip) => (r.ev.src, r.ev.src_mac),
                Some(ip) if r.ev.dst.is_some_and(|e| e.ip == ip) => (r.ev.dst, r.ev.dst_mac),
                _ => (None, None),
            }
        };
        let ((src_ep, src_mac), (dst_ep, dst_mac)) = (side(r.src), side(r.dst));
        let meta = EvMeta {
            src: src_ep,
            dst: dst_ep,
            src_mac,
            dst_mac,
            transport: r.ev.transport,
            protocol: r.protocol.and_then(baseline::intern).or(r.ev.protocol),
            flow_uid: r.ev.flow_uid,
        };
        self.stats.alerts += 1;
        self.stats.max_severity = self.stats.max_severity.max(severity);
        *self.stats.by_rule.entry(rule.id.clone()).or_insert(0) += 1;
        // A transaction is proven by its last packet (the response, the end of a
        // handshake): the alert is stamped then, as an IDS stamps the packet on which
        // its rule matched; its start stays in the details.
        let at = match &r.ev.body {
            Body::Txn {
                ts_end: Some(end), ..
            } if *end > r.ts => *end,
            _ => r.ts,
        };
        if at != r.ts {
            if let Value::Object(m) = &mut rec.details {
                m.entry("started")
                    .or_insert_with(|| Value::String(sluice_engine::time::rfc3339(r.ts)));
            }
        }
        let mut a = Agg {
            first_ts: r.ts,
            last_ts: r.ts,
            at,
            rec,
            meta,
            ics_write: r.ics_write,
            src_host: r.src,
            emitted: false,
            dirty: false,
            open: true,
        };
        if self.live {
            self.emit(&mut a, out);
        }
        let n = self.next_agg;
        self.next_agg += 1;
        self.open.insert(key, n);
        self.aggs.insert(n, a);
        if !self.live && self.aggs.len() > self.max_held {
            self.spill(out);
        }
    }

    fn emit(&mut self, a: &mut Agg, out: &mut Vec<Event>) {
        let mut rec = a.rec.clone();
        if rec.count > 1 {
            if let Value::Object(m) = &mut rec.details {
                m.insert(
                    "last_seen".into(),
                    Value::String(sluice_engine::time::rfc3339(a.last_ts)),
                );
            }
        }
        out.push(Event {
            ts: a.at,
            kind: EventKind::Alert,
            flow_uid: a.meta.flow_uid,
            seq: 0,
            src: a.meta.src,
            dst: a.meta.dst,
            src_mac: a.meta.src_mac,
            dst_mac: a.meta.dst_mac,
            transport: a.meta.transport,
            protocol: a.meta.protocol,
            body: Body::Alert(Box::new(rec)),
        });
        a.emitted = true;
        a.dirty = false;
        self.stats.emitted += 1;
    }

    /// Batch mode over `max_held`: emits the oldest closed alerts.
    fn spill(&mut self, out: &mut Vec<Event>) {
        let mut closed: Vec<(i64, u64)> = self
            .aggs
            .iter()
            .filter(|(_, a)| !a.open)
            .map(|(id, a)| (a.first_ts, *id))
            .collect();
        closed.sort_unstable();
        let excess = self.aggs.len().saturating_sub(self.max_held / 2);
        for (_, id) in closed.into_iter().take(excess) {
            if let Some(mut a) = self.aggs.remove(&id) {
                if !a.emitted || a.dirty {
                    self.emit(&mut a, out);
                }
            }
        }
    }

    fn gc(&mut self, out: &mut Vec<Event>) {
        let now = self.watermark;
        let window = self.window;
        let mut closing = Vec::new();
        for (key, id) in &self.open {
            if let Some(a) = self.aggs.get(id) {
                if now.saturating_sub(a.first_ts) >= window {
                    closing.push((*key, *id));
                }
            }
        }
        for (key, id) in closing {
            self.open.remove(&key);
            if let Some(mut a) = self.aggs.remove(&id) {
                a.open = false;
                if self.live && a.dirty {
                    self.emit(&mut a, out);
                }
                self.aggs.insert(id, a);
            }
        }
        if self.live {
            // Keep closed alerts only while a late remote-access session could chain them.
            let keep = self.chain_window;
            self.aggs
                .retain(|_, a| a.open || (a.ics_write && now.saturating_sub(a.last_ts) <= keep));
        }
        // Threshold groups whose window has passed start afresh at their next
        // occurrence anyway: drop them, so state follows the traffic of one window.
        // (Swept every 30 s of capture time: a sweep visits every group.)
        if now >= self.next_sweep {
            self.next_sweep = now.saturating_add(30 * SEC);
            let rules = &self.rules;
            let expired = |ri: usize, start: i64| {
                rules
                    .get(ri)
                    .and_then(|r| r.threshold.as_ref())
                    .is_none_or(|t| now.saturating_sub(start) > t.window_ns)
            };
            self.trackers.retain(|k, g| !expired(k.0, g.start));
            self.scan_groups.retain(|k, g| !expired(k.0, g.start));
        }
        let cw = self.chain_window;
        self.sessions.retain(|_, v| {
            v.retain(|s| now.saturating_sub(s.start) <= cw.saturating_mul(2));
            !v.is_empty()
        });
    }
}

/// The (client, server) endpoints of an event: a message from the protocol's
/// registered server port (a server speaking first, an unsolicited response) is turned
/// around.
fn orient(ev: &Event, proto: &str) -> Option<(Endpoint, Endpoint)> {
    let (s, d) = (ev.src?, ev.dst?);
    if let Some(desc) = sluice_proto::registry::by_name(proto) {
        if desc.ports.contains(&s.port) && !desc.ports.contains(&d.port) {
            return Some((d, s));
        }
    }
    Some((s, d))
}

/// The endpoint of `ev` with address `ip`.
fn endpoint_of(ev: &Event, ip: Option<IpAddr>) -> Option<Endpoint> {
    let ip = ip?;
    [ev.src, ev.dst].into_iter().flatten().find(|e| e.ip == ip)
}

fn unsolicited(r: &Record) -> bool {
    match r {
        Record::Dnp3(t) => t.unsolicited || !t.request,
        Record::Modbus(t) => !t.request,
        _ => false,
    }
}

/// A number without a needless fraction (`11100`, `0.5`).
fn num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

/// The user name a record carries (never a password).
fn user_of(record: &Value) -> Option<String> {
    ["user", "username", "basic_user", "auth_user", "login"]
        .iter()
        .find_map(|k| record.get(*k).and_then(Value::as_str))
        .map(|s| s.chars().take(128).collect())
}

/// The value a thresholded rule counts distinct occurrences of.
fn distinct_value<'j>(
    ev: &Event,
    record: &Record,
    path: &[String],
    json: impl FnOnce() -> &'j Value,
) -> Option<u64> {
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let (c, s) = orient(ev, record.protocol())?;
    match (p.as_slice(), record) {
        (["source", "ip"], _) => Some(hash_of(&c.ip)),
        (["destination", "ip"], _) => Some(hash_of(&s.ip)),
        (["destination", "port"], _) => Some(u64::from(s.port)),
        (["source", "port"], _) => Some(u64::from(c.port)),
        (["function_code"], r) => r.function_code().map(u64::from),
        (["unit_id"], Record::Modbus(t)) => Some(u64::from(t.unit_id)),
        (["destination"], Record::Dnp3(t)) => Some(u64::from(t.destination)),
        _ => fields::text_at(json(), path).map(|s| hash_of(&s)),
    }
}
