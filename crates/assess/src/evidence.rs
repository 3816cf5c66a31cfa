//! Runs the evidence rules against the store: alerts the detector wrote, flows and ICS
//! writes re-judged with the site policy, assets, and user SQL.
use crate::model::{CheckResult, Item, Observed, Status};
use crate::rules::{Rule, Source, ZoneSide};
use rusqlite::types::Value as SqlValue;
use rusqlite::Connection;
use sluice_policy::{Access, FlowFacts, IcsFacts, Policy, RegisterRange, ViolationKind};
use std::cell::OnceCell;
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::net::IpAddr;

/// Examples kept per check.
pub const MAX_ITEMS: usize = 10;
/// Alert ids kept per check.
pub const MAX_ALERT_IDS: usize = 200;
/// The zone name used when there is no policy.
pub const SITE: &str = "site";

const ICS_PROTOCOLS: &[&str] = &[
    "modbus",
    "dnp3",
    "s7comm",
    "s7commplus",
    "enip",
    "iec104",
    "bacnet",
    "opcua",
    "mms",
];

/// A conversation: flows grouped by client, server and protocol.
#[derive(Debug, Clone)]
struct Conversation {
    id: String,
    ts: i64,
    src: String,
    dst: String,
    protocol: Option<String>,
    count: u64,
    transport: Option<String>,
    port: Option<u16>,
}

impl Conversation {
    /// The protocol, or the candidates its server port suggests.
    fn candidates(&self) -> Vec<Option<String>> {
        if let Some(p) = &self.protocol {
            return vec![Some(p.clone())];
        }
        let guessed: Vec<Option<String>> = match self.port {
            Some(port) => sluice_detect::util::protocols_on_port(self.transport.as_deref(), port)
                .map(|p| Some(p.to_string()))
                .collect(),
            None => Vec::new(),
        };
        if guessed.is_empty() {
            vec![None]
        } else {
            guessed
        }
    }
}

/// Reads evidence from one store with an optional policy.
pub struct Evidence<'a> {
    conn: &'a Connection,
    policy: Option<&'a Policy>,
    tables: HashSet<String>,
    conversations: OnceCell<Vec<Conversation>>,
    /// What the store holds.
    pub observed: Observed,
    /// Problems met while querying (bad user SQL...).
    pub notes: std::cell::RefCell<Vec<String>>,
}

fn ts_string(ns: i64) -> String {
    sluice_engine::time::rfc3339(ns)
}

fn ip(s: &str) -> Option<IpAddr> {
    s.parse().ok()
}

fn is_internal(a: IpAddr) -> bool {
    match a {
        IpAddr::V4(v) => v.is_private() || v.is_link_local(),
        IpAddr::V6(v) => {
            let s = v.segments()[0];
            (s & 0xfe00) == 0xfc00 || (s & 0xffc0) == 0xfe80
        }
    }
}

fn count_of(conn: &Connection, table: &str) -> u64 {
    conn.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| {
        r.get::<_, i64>(0)
    })
    .map(|n| u64::try_from(n).unwrap_or(0))
    .unwrap_or(0)
}

impl<'a> Evidence<'a> {
    /// Opens the evidence of a store.
    pub fn new(conn: &'a Connection, policy: Option<&'a Policy>) -> Evidence<'a> {
        let mut tables = HashSet::new();
        if let Ok(mut st) =
            conn.prepare("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
        {
            if let Ok(rows) = st.query_map([], |r| r.get::<_, String>(0)) {
                tables.extend(rows.flatten());
            }
        }
        let has = |t: &str| tables.contains(t);
        let mut observed = Observed::default();
        for (t, slot) in [
            ("flows", &mut observed.flows),
            ("events", &mut observed.events),
            ("alerts", &mut observed.alerts),
            ("assets", &mut observed.assets),
            ("runs", &mut observed.runs),
        ] {
            if has(t) {
                *slot = count_of(conn, t);
            }
        }
        if has("flows") {
            if let Ok((a, b)) = conn.query_row("SELECT MIN(ts), MAX(end_ts) FROM flows", [], |r| {
                Ok((r.get::<_, Option<i64>>(0)?, r.get::<_, Option<i64>>(1)?))
            }) {
                observed.first = a.map(ts_string);
                observed.last = b.map(ts_string);
            }
        }
        Evidence {
            conn,
            policy,
            tables,
            conversations: OnceCell::new(),
            observed,
            notes: std::cell::RefCell::new(Vec::new()),
        }
    }

    /// Whether the store has this table or view.
    pub fn has_table(&self, t: &str) -> bool {
        self.tables.contains(t)
    }

    /// The zones results are scoped to: the policy's zones, or `site`.
    pub fn zones(&self) -> Vec<String> {
        match self.policy {
            Some(p) if !p.zones().is_empty() => {
                p.zones().iter().map(|z| z.name.to_string()).collect()
            }
            _ => vec![SITE.to_string()],
        }
    }

    fn zone_of(&self, addr: &str) -> Option<String> {
        let p = self.policy?;
        let a = ip(addr)?;
        Some(p.zone_of(a).name.to_string())
    }

    fn note(&self, s: String) {
        if let Ok(mut n) = self.notes.try_borrow_mut() {
            if !n.contains(&s) {
                n.push(s);
            }
        }
    }

    fn conversations(&self) -> &[Conversation] {
        self.conversations.get_or_init(|| {
            let mut out = Vec::new();
            if !self.has_table("flows") {
                return out;
            }
            // As the detector judges: TCP and UDP flows that carried payload; an
            // unidentified protocol is guessed from the server port.
            let sql = "SELECT MIN(id), MIN(ts), COALESCE(src_ip, ''), COALESCE(dst_ip, ''), protocol, COUNT(*), \
                              transport, CASE WHEN protocol IS NULL THEN dst_port END AS port \
                       FROM flows \
                       WHERE transport IN ('tcp', 'udp') \
                         AND COALESCE(json_extract(json, '$.flow.payload_bytes[0]'), 1) \
                           + COALESCE(json_extract(json, '$.flow.payload_bytes[1]'), 0) > 0 \
                       GROUP BY src_ip, dst_ip, protocol, transport, port ORDER BY MIN(ts)";
            let Ok(mut st) = self.conn.prepare(sql) else {
                return out;
            };
            let rows = st.query_map([], |r| {
                Ok(Conversation {
                    id: r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    ts: r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    src: r.get(2)?,
                    dst: r.get(3)?,
                    protocol: r.get(4)?,
                    count: u64::try_from(r.get::<_, i64>(5)?).unwrap_or(0),
                    transport: r.get(6)?,
                    port: r.get::<_, Option<i64>>(7)?.and_then(|p| u16::try_from(p).ok()),
                })
            });
            if let Ok(rows) = rows {
                out.extend(rows.flatten());
            }
            out
        })
    }

    /// Whether a precondition of a rule holds.
    fn requirement(&self, q: &str) -> bool {
        match q {
            "policy" => self.policy.is_some(),
            "envelopes" => self.policy.is_some_and(|p| !p.envelopes().is_empty()),
            t => t.strip_prefix("table:").is_some_and(|t| self.has_table(t)),
        }
    }

    /// Runs one rule.
    pub fn evaluate(&self, rule: &Rule) -> CheckResult {
        let mut r = CheckResult {
            id: rule.id.clone(),
            source: "evidence".into(),
            title: rule.title.clone(),
            status: Status::NotAssessed,
            summary: String::new(),
            controls: rule.controls.clone(),
            count: 0,
            items: Vec::new(),
            alert_ids: Vec::new(),
            zones: BTreeMap::new(),
            risk: rule.risk,
            effort: rule.effort,
            role: rule.role,
            remediation: rule.remediation.clone(),
            depends: rule.depends.clone(),
        };
        if self.observed.flows == 0 && self.observed.events == 0 {
            r.summary = "not assessed: the store holds no traffic".into();
            return r;
        }
        let unmet: Vec<&str> = rule
            .requires
            .iter()
            .filter(|q| !self.requirement(q))
            .map(String::as_str)
            .collect();
        let mut items: Vec<Item> = Vec::new();
        let mut ran = 0;
        let mut skipped: Vec<String> = Vec::new();
        for s in &rule.evidence {
            match self.source(s, rule.zone_side) {
                Ok(mut v) => {
                    ran += 1;
                    // A flow already reported by an alert of this rule is one finding.
                    if s.policy.is_some() || s.ics_writes.is_some() || s.envelope_writes.is_some() {
                        let seen: HashSet<(Option<String>, Option<String>)> = items
                            .iter()
                            .filter(|i| i.kind == "alert")
                            .map(|i| (i.src.clone(), i.dst.clone()))
                            .collect();
                        v.retain(|i| !seen.contains(&(i.src.clone(), i.dst.clone())));
                    }
                    items.extend(v);
                }
                Err(why) => skipped.push(why),
            }
        }
        // Without findings, "satisfied" needs every source to have run.
        if ran == 0 || (items.is_empty() && (!unmet.is_empty() || !skipped.is_empty())) {
            let mut why = skipped;
            if !unmet.is_empty() {
                why.insert(0, format!("needs {}", unmet.join(", ")));
            }
            r.summary = format!("not assessed: {}", why.join("; "));
            return r;
        }
        items.sort_by(|a, b| a.ts.cmp(&b.ts));
        r.count = items.iter().map(|i| i.count).sum();
        r.status = judge(rule, &items);
        for z in self.zones() {
            let mine: Vec<Item> = items
                .iter()
                .filter(|i| {
                    i.zone
                        .as_deref()
                        .is_none_or(|iz| iz == z || zone_list(iz).contains(&z.as_str()))
                })
                .cloned()
                .collect();
            r.zones.insert(z, judge(rule, &mine));
        }
        r.alert_ids = items
            .iter()
            .filter(|i| i.kind == "alert")
            .filter_map(|i| i.id.clone())
            .take(MAX_ALERT_IDS)
            .collect();
        let kinds: BTreeMap<&str, u64> = items.iter().fold(BTreeMap::new(), |mut m, i| {
            *m.entry(i.kind.as_str()).or_default() += i.count;
            m
        });
        let what = kinds
            .iter()
            .map(|(k, n)| format!("{n} {k}{}", if *n == 1 { "" } else { "s" }))
            .collect::<Vec<_>>()
            .join(", ");
        r.summary = match r.status {
            Status::Satisfied => format!(
                "satisfied: no finding in {} flows, {} alerts, {} assets",
                self.observed.flows, self.observed.alerts, self.observed.assets
            ),
            s => {
                let rules: BTreeSet<&str> =
                    items.iter().filter_map(|i| i.rule.as_deref()).collect();
                let mut t = format!("{s}: {what}");
                if !rules.is_empty() {
                    t.push_str(&format!(
                        " ({})",
                        rules.into_iter().collect::<Vec<_>>().join(", ")
                    ));
                }
                t
            }
        };
        if !skipped.is_empty() {
            r.summary
                .push_str(&format!(" [partly assessed: {}]", skipped.join("; ")));
        }
        r.items = items.into_iter().take(MAX_ITEMS).collect();
        r
    }

    fn zone_for(
        &self,
        side: ZoneSide,
        src: &str,
        dst: &str,
        fallback: (Option<String>, Option<String>),
    ) -> Option<String> {
        let s = self.zone_of(src).or(fallback.0);
        let d = self.zone_of(dst).or(fallback.1);
        match side {
            ZoneSide::Dst => d,
            ZoneSide::Src => s,
            ZoneSide::Both => match (s, d) {
                (Some(a), Some(b)) if a != b => Some(format!("{a}|{b}")),
                (a, b) => a.or(b),
            },
        }
    }

    fn source(&self, s: &Source, side: ZoneSide) -> Result<Vec<Item>, String> {
        if let Some(ids) = &s.alerts {
            return self.alerts(ids, &s.protocols, side);
        }
        if s.policy.is_some() {
            return self.policy_flows(&s.violation_kinds(), &s.protocols, s.max_level, side);
        }
        if s.envelope_writes.is_some() {
            return self.envelope_writes(side);
        }
        if s.ics_writes.is_some() {
            return self.ics_writes(&s.violation_kinds(), side);
        }
        if let Some(q) = &s.sql {
            for t in &s.tables {
                if !self.has_table(t) {
                    return Err(format!("the store has no table {t}"));
                }
            }
            return self.sql(q, s.label.as_deref(), side);
        }
        match s.builtin.as_deref() {
            Some("policy_defined") => Ok(self.policy_defined()),
            Some("unzoned_assets") => self.unzoned_assets(),
            Some("unmonitored_zones") => self.unmonitored_zones(),
            Some("unidentified_ics_devices") => Ok(self.unidentified_ics()),
            other => Err(format!("unknown builtin {other:?}")),
        }
    }

    fn alerts(
        &self,
        ids: &[String],
        protocols: &[String],
        side: ZoneSide,
    ) -> Result<Vec<Item>, String> {
        if !self.has_table("alerts") {
            return Err("the store has no alerts table".into());
        }
        let mut conds = Vec::new();
        let mut params: Vec<String> = Vec::new();
        for id in ids {
            if let Some(p) = id.strip_suffix('*') {
                conds.push("rule_id LIKE ? ESCAPE '\\'".to_string());
                params.push(format!(
                    "{}%",
                    p.replace('\\', "\\\\")
                        .replace('%', "\\%")
                        .replace('_', "\\_")
                ));
            } else {
                conds.push("rule_id = ?".to_string());
                params.push(id.clone());
            }
        }
        if conds.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!(
            "SELECT id, ts, rule_id, rule_name, COALESCE(src_ip, ''), COALESCE(dst_ip, ''), count, json FROM alerts WHERE {} ORDER BY ts",
            conds.join(" OR ")
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| e.to_string())?;
        let rows = st
            .query_map(rusqlite::params_from_iter(params.iter()), |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, i64>(6)?,
                    r.get::<_, String>(7)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, ts, rule, name, src, dst, count, json) = row.map_err(|e| e.to_string())?;
            let v: serde_json::Value =
                serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
            let proto = v
                .pointer("/network/protocol")
                .and_then(|x| x.as_str())
                .map(str::to_string);
            if !protocols.is_empty()
                && !proto
                    .as_ref()
                    .is_some_and(|p| protocols.iter().any(|q| q.eq_ignore_ascii_case(p)))
            {
                continue;
            }
            let zs = |k: &str| {
                v.pointer(&format!("/sluice/details/{k}"))
                    .and_then(|x| x.as_str())
                    .map(str::to_string)
            };
            let zone = self.zone_for(side, &src, &dst, (zs("src_zone"), zs("dst_zone")));
            let detail = v
                .pointer("/sluice/explanation")
                .and_then(|x| x.as_str())
                .map(|e| format!("{rule} {name}: {e}"))
                .unwrap_or_else(|| format!("{rule} {name}"));
            out.push(Item {
                kind: "alert".into(),
                id: Some(id),
                ts: Some(ts_string(ts)),
                src: Some(src).filter(|s| !s.is_empty()),
                dst: Some(dst).filter(|s| !s.is_empty()),
                protocol: proto,
                rule: Some(rule),
                zone,
                count: u64::try_from(count.max(1)).unwrap_or(1),
                soft: false,
                detail,
            });
        }
        Ok(out)
    }

    fn policy_flows(
        &self,
        kinds: &[ViolationKind],
        protocols: &[String],
        max_level: Option<f64>,
        side: ZoneSide,
    ) -> Result<Vec<Item>, String> {
        let Some(p) = self.policy else {
            return Err("re-judging flows needs the site policy (--config)".into());
        };
        let mut out: Vec<Item> = Vec::new();
        for c in self.conversations() {
            let (Some(cl), Some(sv)) = (ip(&c.src), ip(&c.dst)) else {
                continue;
            };
            if max_level.is_some_and(|m| p.zone_of(sv).level.as_f64() > m) {
                continue;
            }
            if !protocols.is_empty()
                && !c
                    .candidates()
                    .iter()
                    .flatten()
                    .any(|x| protocols.iter().any(|q| q.eq_ignore_ascii_case(x)))
            {
                continue;
            }
            // Allowed when any candidate protocol is allowed; else the first verdict speaks.
            let mut first = None;
            for cand in c.candidates() {
                let v = p.judge_flow(FlowFacts {
                    client: cl,
                    server: sv,
                    protocol: cand.as_deref(),
                    ts: c.ts,
                });
                if v.is_allowed() {
                    first = None;
                    break;
                }
                if first.is_none() {
                    first = Some(v);
                }
            }
            let Some(v) = first else { continue };
            let Some(bad) = v
                .violations()
                .iter()
                .find(|x| kinds.is_empty() || kinds.contains(&x.kind))
            else {
                continue;
            };
            out.push(Item {
                kind: "flow".into(),
                id: Some(c.id.clone()),
                ts: Some(ts_string(c.ts)),
                src: Some(c.src.clone()),
                dst: Some(c.dst.clone()),
                protocol: c.protocol.clone(),
                rule: Some(format!("policy:{}", bad.kind.as_str())),
                zone: self.zone_for(side, &c.src, &c.dst, (None, None)),
                count: c.count,
                soft: false,
                detail: bad.explanation.clone(),
            });
        }
        Ok(out)
    }

    fn ics_writes(&self, kinds: &[ViolationKind], side: ZoneSide) -> Result<Vec<Item>, String> {
        let Some(p) = self.policy else {
            return Err("re-judging ICS writes needs the site policy (--config)".into());
        };
        if !self.has_table("events") {
            return Err("the store has no events table".into());
        }
        let list = ICS_PROTOCOLS
            .iter()
            .map(|p| format!("'{p}'"))
            .collect::<Vec<_>>()
            .join(",");
        let sql = format!(
            "SELECT MIN(id), MIN(ts), COALESCE(src_ip, ''), COALESCE(dst_ip, ''), protocol, function_code, \
               json_extract(json, '$.' || protocol || '.unit_id') AS unit, \
               json_extract(json, '$.' || protocol || '.address') AS addr, \
               json_extract(json, '$.' || protocol || '.quantity') AS qty, \
               json_array_length(json, '$.' || protocol || '.values') AS nv, COUNT(*) \
             FROM events WHERE kind = 'event' AND function_code IS NOT NULL AND protocol IN ({list}) \
             GROUP BY src_ip, dst_ip, protocol, function_code, unit, addr, qty, nv ORDER BY MIN(ts)"
        );
        let mut st = self.conn.prepare(&sql).map_err(|e| e.to_string())?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, Option<String>>(0)?.unwrap_or_default(),
                    r.get::<_, Option<i64>>(1)?.unwrap_or(0),
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, i64>(5)?,
                    r.get::<_, Option<i64>>(6).ok().flatten(),
                    r.get::<_, Option<i64>>(7).ok().flatten(),
                    r.get::<_, Option<i64>>(8).ok().flatten(),
                    r.get::<_, Option<i64>>(9).ok().flatten(),
                    r.get::<_, i64>(10)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in rows {
            let (id, ts, src, dst, proto, fc, unit, addr, qty, nv, n) =
                row.map_err(|e| e.to_string())?;
            let Ok(fc32) = u32::try_from(fc) else {
                continue;
            };
            if !sluice_detect::util::is_write_function(&proto, fc32) {
                continue;
            }
            let (Some(cl), Some(sv)) = (ip(&src), ip(&dst)) else {
                continue;
            };
            let registers = addr.and_then(|a| u16::try_from(a).ok()).and_then(|a| {
                let q = qty.or(nv).unwrap_or(1).clamp(1, i64::from(u16::MAX));
                RegisterRange::from_start_count(a, u16::try_from(q).unwrap_or(1))
            });
            let v = p.judge_ics(IcsFacts {
                client: cl,
                server: sv,
                protocol: &proto,
                access: Access::Write,
                unit: unit.and_then(|u| u8::try_from(u).ok()),
                registers,
                ts,
            });
            let Some(bad) = v
                .violations()
                .iter()
                .find(|x| kinds.is_empty() || kinds.contains(&x.kind))
            else {
                continue;
            };
            out.push(Item {
                kind: "ics_write".into(),
                id: Some(id),
                ts: Some(ts_string(ts)),
                src: Some(src.clone()),
                dst: Some(dst.clone()),
                protocol: Some(proto),
                rule: Some(format!("policy:{}", bad.kind.as_str())),
                zone: self.zone_for(side, &src, &dst, (None, None)),
                count: u64::try_from(n).unwrap_or(1),
                soft: false,
                detail: bad.explanation.clone(),
            });
        }
        Ok(out)
    }

    fn envelope_writes(&self, side: ZoneSide) -> Result<Vec<Item>, String> {
        let Some(p) = self.policy else {
            return Err("re-checking envelopes needs the site policy (--config)".into());
        };
        if p.envelopes().is_empty() {
            return Err("the policy defines no envelope".into());
        }
        if !self.has_table("events") {
            return Err("the store has no events table".into());
        }
        // Writes of holding registers, in time order: 6 (single) and 16 (multiple).
        let sql = "SELECT id, ts, COALESCE(src_ip, ''), COALESCE(dst_ip, ''), \
                          json_extract(json, '$.modbus.unit_id'), json_extract(json, '$.modbus.address'), \
                          json_extract(json, '$.modbus.values') \
                   FROM events WHERE protocol = 'modbus' AND kind = 'event' AND function_code IN (6, 16) ORDER BY ts";
        let mut st = self.conn.prepare(sql).map_err(|e| e.to_string())?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, i64>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, Option<i64>>(4).ok().flatten(),
                    r.get::<_, Option<i64>>(5).ok().flatten(),
                    r.get::<_, Option<String>>(6).ok().flatten(),
                ))
            })
            .map_err(|e| e.to_string())?;
        let mut last: BTreeMap<(String, u8, u16), f64> = BTreeMap::new();
        let mut out = Vec::new();
        for (id, ts, src, dst, unit, addr, values) in rows.flatten() {
            let (Some(dev), Some(unit), Some(addr)) = (
                ip(&dst),
                unit.and_then(|u| u8::try_from(u).ok()),
                addr.and_then(|a| u16::try_from(a).ok()),
            ) else {
                continue;
            };
            let vals: Vec<f64> = values
                .and_then(|v| serde_json::from_str::<Vec<serde_json::Value>>(&v).ok())
                .unwrap_or_default()
                .iter()
                .filter_map(serde_json::Value::as_f64)
                .collect();
            for (i, new) in vals.into_iter().enumerate() {
                let Some(reg) = u16::try_from(i).ok().and_then(|i| addr.checked_add(i)) else {
                    break;
                };
                let key = (dst.clone(), unit, reg);
                let old = last.insert(key, new);
                let Some(env) = p.envelope(dev, unit, reg) else {
                    continue;
                };
                let Some(b) = env.check(old, new) else {
                    continue;
                };
                out.push(Item {
                    kind: "write".into(),
                    id: Some(id.clone()),
                    ts: Some(ts_string(ts)),
                    src: Some(src.clone()),
                    dst: Some(dst.clone()),
                    protocol: Some("modbus".into()),
                    rule: Some("policy:envelope".into()),
                    zone: self.zone_for(side, &src, &dst, (None, None)),
                    count: 1,
                    soft: false,
                    detail: format!(
                        "{src} wrote {new} to register {reg} of {dst} (unit {unit}); the envelope allows {} to {}{} ({:?})",
                        b.min,
                        b.max,
                        b.max_step.map(|s| format!(", steps of at most {s}")).unwrap_or_default(),
                        b.kind
                    ),
                });
            }
        }
        Ok(out)
    }

    fn sql(&self, q: &str, label: Option<&str>, side: ZoneSide) -> Result<Vec<Item>, String> {
        let mut st = match self.conn.prepare(q) {
            Ok(s) => s,
            Err(e) => {
                let m = format!("query failed: {e}");
                self.note(m.clone());
                return Err(m);
            }
        };
        if !st.readonly() {
            return Err("the query is not read-only".into());
        }
        let names: Vec<String> = st.column_names().map(|s| s.to_ascii_lowercase()).collect();
        let col = |n: &str| names.iter().position(|x| x == n);
        let (ci, ct, cs, cd, cp, cz, cc, cdet, csoft) = (
            col("id"),
            col("ts"),
            col("src_ip"),
            col("dst_ip"),
            col("protocol"),
            col("zone"),
            col("count"),
            col("detail"),
            col("soft"),
        );
        let ncols = names.len();
        let mut rows = st.query([]).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().map_err(|e| e.to_string())? {
            let vals: Vec<SqlValue> = (0..ncols)
                .map(|i| row.get::<_, SqlValue>(i).unwrap_or(SqlValue::Null))
                .collect();
            let text = |i: Option<usize>| -> Option<String> {
                match vals.get(i?)? {
                    SqlValue::Text(s) => Some(s.clone()),
                    SqlValue::Integer(n) => Some(n.to_string()),
                    SqlValue::Real(f) => Some(f.to_string()),
                    _ => None,
                }
            };
            let int = |i: Option<usize>| -> Option<i64> {
                match vals.get(i?)? {
                    SqlValue::Integer(n) => Some(*n),
                    SqlValue::Text(s) => s.parse().ok(),
                    SqlValue::Real(f) => Some(*f as i64),
                    _ => None,
                }
            };
            let src = text(cs).unwrap_or_default();
            let dst = text(cd).unwrap_or_default();
            let zone = text(cz).or_else(|| self.zone_for(side, &src, &dst, (None, None)));
            let detail = text(cdet).unwrap_or_else(|| {
                names
                    .iter()
                    .zip(vals.iter())
                    .filter_map(|(n, v)| match v {
                        SqlValue::Text(s) => Some(format!("{n}={s}")),
                        SqlValue::Integer(x) => Some(format!("{n}={x}")),
                        SqlValue::Real(x) => Some(format!("{n}={x}")),
                        _ => None,
                    })
                    .take(6)
                    .collect::<Vec<_>>()
                    .join(" ")
            });
            out.push(Item {
                kind: label.unwrap_or("row").to_string(),
                id: text(ci),
                ts: int(ct).map(ts_string),
                src: Some(src).filter(|s| !s.is_empty()),
                dst: Some(dst).filter(|s| !s.is_empty()),
                protocol: text(cp),
                rule: None,
                zone,
                count: int(cc)
                    .and_then(|n| u64::try_from(n).ok())
                    .unwrap_or(1)
                    .max(1),
                soft: int(csoft).is_some_and(|s| s != 0),
                detail,
            });
        }
        Ok(out)
    }

    fn policy_defined(&self) -> Vec<Item> {
        let Some(p) = self.policy else {
            return vec![Item {
                kind: "policy".into(),
                count: 1,
                detail: "no site policy given (--config): zones, conduits and security-level targets are unknown".into(),
                ..Item::default()
            }];
        };
        let mut out = Vec::new();
        if p.zones().is_empty() {
            out.push(Item {
                kind: "policy".into(),
                count: 1,
                detail: "the policy defines no zone".into(),
                ..Item::default()
            });
        }
        for z in p.zones() {
            if z.security_level_target.is_none() {
                out.push(Item {
                    kind: "zone".into(),
                    id: Some(z.name.to_string()),
                    zone: Some(z.name.to_string()),
                    count: 1,
                    soft: true,
                    detail: format!("zone {} has no security_level_target", z.name),
                    ..Item::default()
                });
            }
        }
        out
    }

    fn unzoned_assets(&self) -> Result<Vec<Item>, String> {
        let Some(p) = self.policy else {
            return Err("needs the site policy (--config)".into());
        };
        if !self.has_table("assets") {
            return Err("the store has no assets table".into());
        }
        let mut st = self
            .conn
            .prepare("SELECT id, ip, COALESCE(role, ''), first_seen FROM assets ORDER BY sort_key")
            .map_err(|e| e.to_string())?;
        let rows = st
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, i64>(3)?,
                ))
            })
            .map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        for row in rows.flatten() {
            let (id, addr, role, first) = row;
            let Some(a) = ip(&addr) else { continue };
            if !is_internal(a) || !p.zone_of(a).is_external() {
                continue;
            }
            out.push(Item {
                kind: "asset".into(),
                id: Some(id),
                ts: Some(ts_string(first)),
                src: Some(addr.clone()),
                count: 1,
                detail: format!(
                    "{addr}{} is on the site network but in no zone",
                    if role.is_empty() {
                        String::new()
                    } else {
                        format!(" ({role})")
                    }
                ),
                ..Item::default()
            });
        }
        Ok(out)
    }

    fn unmonitored_zones(&self) -> Result<Vec<Item>, String> {
        let Some(p) = self.policy else {
            return Err("needs the site policy (--config)".into());
        };
        let mut seen: BTreeMap<String, u64> = BTreeMap::new();
        if self.has_table("flows") {
            let mut st = self
                .conn
                .prepare("SELECT COALESCE(src_ip, ''), COALESCE(dst_ip, ''), COUNT(*) FROM flows GROUP BY src_ip, dst_ip")
                .map_err(|e| e.to_string())?;
            let rows = st
                .query_map([], |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, String>(1)?,
                        r.get::<_, i64>(2)?,
                    ))
                })
                .map_err(|e| e.to_string())?;
            for (a, b, n) in rows.flatten() {
                for x in [a, b].iter().filter_map(|s| ip(s)) {
                    *seen.entry(p.zone_of(x).name.to_string()).or_default() +=
                        u64::try_from(n).unwrap_or(0);
                }
            }
        }
        Ok(p.zones()
            .iter()
            .filter(|z| !seen.contains_key(z.name.as_ref()))
            .map(|z| Item {
                kind: "zone".into(),
                id: Some(z.name.to_string()),
                zone: Some(z.name.to_string()),
                count: 1,
                detail: format!("no flow to or from zone {} was observed", z.name),
                ..Item::default()
            })
            .collect())
    }

    fn unidentified_ics(&self) -> Vec<Item> {
        if !self.has_table("assets") {
            return Vec::new();
        }
        let Ok(mut st) = self.conn.prepare(
            "SELECT id, ip, role, json FROM assets WHERE role IN ('plc', 'rtu', 'ied', 'controller', 'safety_controller') ORDER BY sort_key",
        ) else {
            return Vec::new();
        };
        let Ok(rows) = st.query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
            ))
        }) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (id, addr, role, json) in rows.flatten() {
            let v: serde_json::Value =
                serde_json::from_str(&json).unwrap_or(serde_json::Value::Null);
            let known = v
                .get("identity")
                .and_then(|i| i.as_object())
                .is_some_and(|o| !o.is_empty());
            if known {
                continue;
            }
            out.push(Item {
                kind: "asset".into(),
                id: Some(id),
                dst: Some(addr.clone()),
                zone: self.zone_of(&addr),
                count: 1,
                soft: true,
                detail: format!("{role} {addr}: vendor, model and firmware unknown"),
                ..Item::default()
            });
        }
        out
    }
}

fn zone_list(z: &str) -> Vec<&str> {
    z.split('|').collect()
}

/// The status of a rule over its findings.
pub fn judge(rule: &Rule, items: &[Item]) -> Status {
    let hard: u64 = items.iter().filter(|i| !i.soft).map(|i| i.count).sum();
    let soft = items.iter().any(|i| i.soft);
    if hard <= rule.pass_max {
        if soft {
            Status::Partial
        } else {
            Status::Satisfied
        }
    } else if rule.partial_max.is_some_and(|p| hard <= p) {
        Status::Partial
    } else {
        Status::NotSatisfied
    }
}
