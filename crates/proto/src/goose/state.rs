//! GOOSE publishers: state-change events, sequence checks, summaries.
use super::parser::{self, GoosePdu, Header};
use super::record::{mac_string, State, Summary, Transaction, MAX_VALUES};
use crate::mms::data::{self, Budget};
use crate::{Anomaly, Direction, FrameParser, Identity, L2Frame, Output, Record, Timestamp, Txn};
use std::collections::{BTreeMap, HashMap};

/// Most publishers tracked; further ones are counted only.
pub const MAX_PUBLISHERS: usize = 1024;
/// Most anomalies reported per publisher (counters keep counting).
const MAX_ANOMALIES: u32 = 16;

struct Publisher {
    src: [u8; 6],
    dst: [u8; 6],
    appid: u16,
    gocb_ref: Option<String>,
    dat_set: Option<String>,
    go_id: Option<String>,
    conf_rev: Option<u32>,
    first_ts: Timestamp,
    last_ts: Timestamp,
    last_st: Option<u32>,
    last_sq: Option<u32>,
    /// timeAllowedtoLive of the last message, in ms.
    last_ttl: Option<u64>,
    summary: Summary,
    anomalies: u32,
}

/// The GOOSE frame parser (one per engine).
#[derive(Default)]
pub struct GooseParser {
    publishers: Vec<Publisher>,
    index: HashMap<([u8; 6], u16), Vec<usize>>,
    /// Frames of publishers beyond [`MAX_PUBLISHERS`].
    untracked: u64,
    untracked_reported: bool,
    last_ts: Timestamp,
}

fn anomaly(out: &mut Vec<Output>, ts: Timestamp, kind: &'static str, message: String) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "goose",
        kind,
        message,
        dir: Direction::ToServer,
    }));
}

/// Is `next` the successor of `prev` for a 32-bit counter that wraps to 0 or 1?
fn follows(prev: u32, next: u32) -> bool {
    next == prev.wrapping_add(1) || (prev == u32::MAX && next <= 1)
}

impl GooseParser {
    pub fn new() -> GooseParser {
        GooseParser::default()
    }

    /// Publishers seen.
    pub fn publishers(&self) -> usize {
        self.publishers.len()
    }

    fn find_or_add(
        &mut self,
        f: &L2Frame<'_>,
        hdr: &Header,
        pdu: &GoosePdu<'_>,
    ) -> Option<(usize, bool)> {
        let key = (f.src_mac, hdr.appid);
        if let Some(list) = self.index.get(&key) {
            if let Some(&i) = list.iter().find(|&&i| {
                self.publishers
                    .get(i)
                    .is_some_and(|p| p.gocb_ref == pdu.gocb_ref)
            }) {
                return Some((i, false));
            }
        }
        if self.publishers.len() >= MAX_PUBLISHERS {
            return None;
        }
        let i = self.publishers.len();
        self.publishers.push(Publisher {
            src: f.src_mac,
            dst: f.dst_mac,
            appid: hdr.appid,
            gocb_ref: pdu.gocb_ref.clone(),
            dat_set: pdu.dat_set.clone(),
            go_id: pdu.go_id.clone(),
            conf_rev: pdu.conf_rev,
            first_ts: f.ts,
            last_ts: f.ts,
            last_st: None,
            last_sq: None,
            last_ttl: None,
            summary: Summary::default(),
            anomalies: 0,
        });
        self.index.entry(key).or_default().push(i);
        Some((i, true))
    }

    fn state_event(
        f: &L2Frame<'_>,
        hdr: &Header,
        pdu: &GoosePdu<'_>,
        regression: bool,
    ) -> Transaction {
        let mut state = State {
            length: hdr.length,
            time_allowed_to_live: pdu.time_allowed_to_live,
            t: pdu.t.map(|t| t.rfc3339()),
            t_quality: pdu.t.map(|t| t.quality),
            simulation: pdu.simulation.or(Some(hdr.simulation()).filter(|s| *s)),
            nds_com: pdu.nds_com,
            num_dat_set_entries: pdu.num_dat_set_entries,
            st_num_regression: regression,
            ..State::default()
        };
        if let Some(all) = &pdu.all_data {
            let mut types: BTreeMap<&'static str, u32> = BTreeMap::new();
            let mut budget = Budget::new(4 * MAX_VALUES);
            for c in all.children() {
                state.data_count += 1;
                match data::decode(&c, &mut budget) {
                    Some(v) => {
                        *types.entry(v.type_name()).or_insert(0) += 1;
                        if state.values.len() < MAX_VALUES {
                            state.values.push(v);
                        } else {
                            state.truncated = true;
                        }
                    }
                    None => {
                        state.truncated = true;
                        // Types still counted from the tag alone.
                        let name = match (c.tag, c.constructed) {
                            (1, true) => "array",
                            (2, true) => "structure",
                            (3, _) => "boolean",
                            (4, _) => "bit_string",
                            (5, _) => "integer",
                            (6, _) => "unsigned",
                            (7, _) => "float",
                            (9, _) => "octet_string",
                            (10, _) => "visible_string",
                            (12, _) => "binary_time",
                            (17, _) => "utc_time",
                            _ => "unknown",
                        };
                        *types.entry(name).or_insert(0) += 1;
                    }
                }
            }
            if budget.truncated {
                state.truncated = true;
            }
            state.data_types = types;
        }
        Transaction {
            kind: "state_change",
            function: "goose",
            src_mac: f.src_mac,
            dst_mac: f.dst_mac,
            appid: hdr.appid,
            gocb_ref: pdu.gocb_ref.clone(),
            dat_set: pdu.dat_set.clone(),
            go_id: pdu.go_id.clone(),
            st_num: pdu.st_num,
            sq_num: pdu.sq_num,
            conf_rev: pdu.conf_rev,
            state: Some(Box::new(state)),
            summary: None,
        }
    }
}

impl FrameParser for GooseParser {
    fn frame(&mut self, f: &L2Frame<'_>, out: &mut Vec<Output>) {
        self.last_ts = self.last_ts.max(f.ts);
        let (hdr, pdu, short) = match parser::parse(f.payload) {
            Ok(x) => x,
            Err(e) => {
                anomaly(
                    out,
                    f.ts,
                    e.kind(),
                    format!("GOOSE frame from {}: {e}", mac_string(&f.src_mac)),
                );
                return;
            }
        };
        if short {
            anomaly(
                out,
                f.ts,
                "bad_length",
                format!(
                    "GOOSE length field {} exceeds the {} octets of the frame from {}",
                    hdr.length,
                    f.payload.len(),
                    mac_string(&f.src_mac)
                ),
            );
        }
        if !short {
            // The goosePdu after the 8-octet header: nesting and lengths, once.
            if let Some(issue) = crate::mms::ber::check(f.payload.get(8..).unwrap_or_default()) {
                anomaly(
                    out,
                    f.ts,
                    issue.kind(),
                    format!("goosePdu from {}: {issue}", mac_string(&f.src_mac)),
                );
            }
        }
        let missing = pdu.missing();
        if !missing.is_empty() {
            anomaly(
                out,
                f.ts,
                "missing_field",
                format!(
                    "goosePdu from {} lacks mandatory {}",
                    mac_string(&f.src_mac),
                    missing.join(", ")
                ),
            );
        }
        let Some((i, new)) = self.find_or_add(f, &hdr, &pdu) else {
            self.untracked += 1;
            if !self.untracked_reported {
                self.untracked_reported = true;
                anomaly(
                    out,
                    f.ts,
                    "too_many_publishers",
                    format!(
                        "more than {MAX_PUBLISHERS} GOOSE publishers: further ones are not tracked"
                    ),
                );
            }
            return;
        };
        let Some(p) = self.publishers.get_mut(i) else {
            return;
        };
        let mut notes: Vec<(&'static str, String)> = Vec::new();
        let name = p.gocb_ref.clone().unwrap_or_else(|| mac_string(&p.src));
        // timeAllowedtoLive of the previous message
        if let Some(ttl) = p.last_ttl {
            let elapsed_ms = f.ts.saturating_sub(p.last_ts) / 1_000_000;
            if !new && elapsed_ms > 0 && elapsed_ms as u64 > ttl {
                p.summary.ttl_expired += 1;
                notes.push((
                    "goose_ttl_expired",
                    format!("{name}: {elapsed_ms} ms since the previous message, timeAllowedtoLive was {ttl} ms"),
                ));
            }
        }
        p.summary.frames += 1;
        if pdu.simulation == Some(true) || hdr.simulation() {
            p.summary.simulation_frames += 1;
        }
        let mut emit_state = new;
        let mut regression = false;
        match (p.last_st, pdu.st_num) {
            (Some(prev), Some(st)) if st != prev => {
                emit_state = true;
                p.summary.state_changes += 1;
                if st < prev && !(prev == u32::MAX && st <= 1) {
                    regression = true;
                    p.summary.st_num_regressions += 1;
                    notes.push((
                        "goose_stnum_regression",
                        format!("{name}: stNum went back from {prev} to {st} (possible replay or injection)"),
                    ));
                }
            }
            (Some(_), Some(_)) => {
                if let (Some(prev), Some(sq)) = (p.last_sq, pdu.sq_num) {
                    if sq != prev && !follows(prev, sq) {
                        if sq > prev {
                            p.summary.sq_num_gaps += 1;
                            notes.push((
                                "goose_sqnum_gap",
                                format!("{name}: sqNum jumped from {prev} to {sq} (lost messages)"),
                            ));
                        } else {
                            p.summary.sq_num_regressions += 1;
                            notes.push((
                                "goose_sqnum_regression",
                                format!("{name}: sqNum went back from {prev} to {sq} without a state change (replay or publisher restart)"),
                            ));
                        }
                    } else if sq == prev {
                        p.summary.sq_num_regressions += 1;
                        notes.push((
                            "goose_sqnum_repeat",
                            format!("{name}: sqNum {sq} repeated (duplicate or replayed message)"),
                        ));
                    }
                }
            }
            _ => {}
        }
        if p.summary.first_st_num.is_none() {
            p.summary.first_st_num = pdu.st_num;
        }
        if pdu.st_num.is_some() {
            p.summary.last_st_num = pdu.st_num;
            p.last_st = pdu.st_num;
        }
        p.last_sq = pdu.sq_num;
        p.last_ttl = pdu.time_allowed_to_live;
        p.last_ts = f.ts;
        p.dst = f.dst_mac;
        if pdu.dat_set.is_some() {
            p.dat_set = pdu.dat_set.clone();
        }
        if pdu.go_id.is_some() {
            p.go_id = pdu.go_id.clone();
        }
        if pdu.conf_rev.is_some() {
            p.conf_rev = pdu.conf_rev;
        }
        for (kind, msg) in notes {
            if p.anomalies < MAX_ANOMALIES {
                p.anomalies += 1;
                anomaly(out, f.ts, kind, msg);
            }
        }
        if emit_state {
            let tx = Self::state_event(f, &hdr, &pdu, regression);
            out.push(Output::Txn(Txn {
                ts: f.ts,
                ts_end: None,
                dir: Direction::ToServer,
                record: Record::Goose(Box::new(tx)),
            }));
        }
        if new {
            // The logical device name (before '/') names the IED.
            let name = pdu
                .gocb_ref
                .as_deref()
                .and_then(|r| r.split_once('/'))
                .map(|(ld, _)| ld.to_string())
                .filter(|s| !s.is_empty());
            out.push(Output::Identity(Identity {
                source: "goose.gocb_ref",
                mac: Some(f.src_mac),
                name,
                ..Identity::default()
            }));
        }
    }

    fn finish(&mut self, ts: Timestamp, out: &mut Vec<Output>) {
        let _ = ts;
        for p in self.publishers.drain(..) {
            let tx = Transaction {
                kind: "summary",
                function: "goose",
                src_mac: p.src,
                dst_mac: p.dst,
                appid: p.appid,
                gocb_ref: p.gocb_ref,
                dat_set: p.dat_set,
                go_id: p.go_id,
                st_num: p.last_st,
                sq_num: p.last_sq,
                conf_rev: p.conf_rev,
                state: None,
                summary: Some(Box::new(p.summary)),
            };
            out.push(Output::Txn(Txn {
                ts: p.first_ts,
                ts_end: Some(p.last_ts),
                dir: Direction::ToServer,
                record: Record::Goose(Box::new(tx)),
            }));
        }
        self.index.clear();
        if self.untracked > 0 {
            anomaly(
                out,
                self.last_ts,
                "too_many_publishers",
                format!("{} GOOSE frames of untracked publishers", self.untracked),
            );
            self.untracked = 0;
        }
    }
}
