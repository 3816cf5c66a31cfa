//! IEC 61850-9-2 Sampled Values (ethertype 0x88BA).
//!
//! Sampled Values stream thousands of frames a second, so there is no event per
//! frame: frames are counted per publisher (source MAC and svID) and one
//! `summary` event per publisher is emitted at the end of the capture, with the
//! APPID, data set, confRev, frame and ASDU counts, the smpCnt range and its
//! discontinuities, and the synchronisation seen. `function` is `sv`; there is no
//! `function_code`.
//!
//! Anomaly kinds: `bad_length`, `malformed_sv`, `not_sav_pdu`,
//! `sv_smpcnt_regression` (smpCnt went backwards other than by wrapping: replay or
//! a second publisher with the same identity), `sv_confrev_change`,
//! `too_many_publishers`.
use crate::goose::record::{mac_string, ser_mac};
use crate::mms::ber;
use crate::{
    Anomaly, Direction, FrameParser, FrameProtocolDesc, L2Frame, Output, Record, Timestamp, Txn,
};
use serde::Serialize;
use std::collections::HashMap;

pub mod encode;
pub mod parser;

/// Most publishers tracked.
pub const MAX_PUBLISHERS: usize = 1024;
/// Most anomalies per publisher.
const MAX_ANOMALIES: u32 = 8;

fn is_false(b: &bool) -> bool {
    !*b
}

/// One Sampled Values publisher's summary. Serialised under `sv` in events.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Transaction {
    /// Always `summary`.
    pub kind: &'static str,
    /// Always `sv`.
    pub function: &'static str,
    #[serde(serialize_with = "ser_mac")]
    pub src_mac: [u8; 6],
    #[serde(serialize_with = "ser_mac")]
    pub dst_mac: [u8; 6],
    pub appid: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sv_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dat_set: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub conf_rev: Option<u32>,
    #[serde(flatten)]
    pub counters: Box<Counters>,
}

/// Counters of one publisher.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct Counters {
    pub frames: u64,
    pub asdus: u64,
    /// ASDUs per frame (noASDU) of the last frame.
    pub no_asdu: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_smp_cnt: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_smp_cnt: Option<u16>,
    /// smpCnt skipped ahead (lost samples).
    pub smp_cnt_gaps: u64,
    /// smpCnt went backwards other than by wrapping to 0.
    pub smp_cnt_regressions: u64,
    /// ASDUs with smpSynch 0 (not synchronised to a time source).
    pub unsynchronised: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smp_synch: Option<u8>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub smp_rate: Option<u16>,
    /// Octets of sample data per ASDU (last seen).
    pub sample_octets: usize,
    pub conf_rev_changes: u64,
    #[serde(skip_serializing_if = "is_false")]
    pub security: bool,
    #[serde(skip_serializing_if = "is_false")]
    pub simulation: bool,
}

impl crate::ProtoRecord for Transaction {
    fn function(&self) -> Option<&str> {
        Some(self.function)
    }
}

struct Publisher {
    /// svID as on the wire (lookup key with the source MAC).
    key: Vec<u8>,
    first_ts: Timestamp,
    last_ts: Timestamp,
    tx: Transaction,
    anomalies: u32,
}

/// The Sampled Values frame parser (one per engine).
#[derive(Default)]
pub struct SvParser {
    publishers: Vec<Publisher>,
    /// Publishers by source MAC (then matched on svID).
    index: HashMap<[u8; 6], Vec<usize>>,
    untracked: u64,
    last_ts: Timestamp,
}

fn anomaly(out: &mut Vec<Output>, ts: Timestamp, kind: &'static str, message: String) {
    out.push(Output::Anomaly(Anomaly {
        ts,
        protocol: "sv",
        kind,
        message,
        dir: Direction::ToServer,
    }));
}

impl SvParser {
    pub fn new() -> SvParser {
        SvParser::default()
    }

    /// Publishers seen.
    pub fn publishers(&self) -> usize {
        self.publishers.len()
    }
}

impl FrameParser for SvParser {
    fn frame(&mut self, f: &L2Frame<'_>, out: &mut Vec<Output>) {
        self.last_ts = self.last_ts.max(f.ts);
        let (hdr, pdu, short) = match parser::parse(f.payload) {
            Ok(x) => x,
            Err(e) => {
                anomaly(
                    out,
                    f.ts,
                    e.kind(),
                    format!("SV frame from {}: {e}", mac_string(&f.src_mac)),
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
                    "SV length field {} exceeds the frame from {}",
                    hdr.length,
                    mac_string(&f.src_mac)
                ),
            );
        }
        let mut counted_frame: Vec<usize> = Vec::new();
        for a in &pdu.asdus {
            let raw = a.sv_id.unwrap_or_default();
            let known = self.index.get(&f.src_mac).and_then(|list| {
                list.iter()
                    .copied()
                    .find(|&i| self.publishers.get(i).is_some_and(|p| p.key == raw))
            });
            let i = match known {
                Some(i) => i,
                None => {
                    if self.publishers.len() >= MAX_PUBLISHERS {
                        if self.untracked == 0 {
                            anomaly(
                                out,
                                f.ts,
                                "too_many_publishers",
                                format!("more than {MAX_PUBLISHERS} SV publishers: further ones are not tracked"),
                            );
                        }
                        self.untracked += 1;
                        continue;
                    }
                    let i = self.publishers.len();
                    self.publishers.push(Publisher {
                        key: raw.to_vec(),
                        first_ts: f.ts,
                        last_ts: f.ts,
                        tx: Transaction {
                            kind: "summary",
                            function: "sv",
                            src_mac: f.src_mac,
                            dst_mac: f.dst_mac,
                            appid: hdr.appid,
                            sv_id: a.sv_id.map(ber::string),
                            dat_set: a.dat_set.map(ber::string),
                            conf_rev: a.conf_rev,
                            counters: Box::default(),
                        },
                        anomalies: 0,
                    });
                    self.index.entry(f.src_mac).or_default().push(i);
                    i
                }
            };
            let Some(p) = self.publishers.get_mut(i) else {
                continue;
            };
            p.last_ts = f.ts;
            let c = &mut p.tx.counters;
            if !counted_frame.contains(&i) {
                counted_frame.push(i);
                c.frames += 1;
                c.no_asdu = pdu.no_asdu.unwrap_or(0);
                c.security |= pdu.security;
                c.simulation |= hdr.simulation();
            }
            c.asdus += 1;
            c.sample_octets = a.data_len;
            if a.smp_rate.is_some() {
                c.smp_rate = a.smp_rate;
            }
            c.smp_synch = a.smp_synch.or(c.smp_synch);
            if a.smp_synch == Some(0) {
                c.unsynchronised += 1;
            }
            let mut note = None;
            if let Some(n) = a.smp_cnt {
                if let Some(last) = c.last_smp_cnt {
                    if n == last.wrapping_add(1) || n == 0 {
                        // in sequence, or wrapped at the sample rate
                    } else if n > last {
                        c.smp_cnt_gaps += 1;
                    } else {
                        c.smp_cnt_regressions += 1;
                        note = Some((
                            "sv_smpcnt_regression",
                            format!(
                                "{}: smpCnt went back from {last} to {n} (replay or duplicate publisher)",
                                String::from_utf8_lossy(a.sv_id.unwrap_or(b"?"))
                            ),
                        ));
                    }
                }
                if c.first_smp_cnt.is_none() {
                    c.first_smp_cnt = Some(n);
                }
                c.last_smp_cnt = Some(n);
            }
            if let (Some(old), Some(new)) = (p.tx.conf_rev, a.conf_rev) {
                if old != new {
                    p.tx.counters.conf_rev_changes += 1;
                    note = Some((
                        "sv_confrev_change",
                        format!(
                            "{}: confRev changed from {old} to {new}",
                            String::from_utf8_lossy(a.sv_id.unwrap_or(b"?"))
                        ),
                    ));
                    p.tx.conf_rev = Some(new);
                }
            }
            if let Some((kind, msg)) = note {
                if p.anomalies < MAX_ANOMALIES {
                    p.anomalies += 1;
                    anomaly(out, f.ts, kind, msg);
                }
            }
        }
    }

    fn finish(&mut self, _ts: Timestamp, out: &mut Vec<Output>) {
        for p in self.publishers.drain(..) {
            out.push(Output::Txn(Txn {
                ts: p.first_ts,
                ts_end: Some(p.last_ts),
                dir: Direction::ToServer,
                record: Record::Sv(Box::new(p.tx)),
            }));
        }
        self.index.clear();
        if self.untracked > 0 {
            anomaly(
                out,
                self.last_ts,
                "too_many_publishers",
                format!("{} SV ASDUs of untracked publishers", self.untracked),
            );
            self.untracked = 0;
        }
    }
}

fn new_parser() -> Box<dyn FrameParser> {
    Box::new(SvParser::new())
}

pub static DESC: FrameProtocolDesc = FrameProtocolDesc {
    name: "sv",
    ethertypes: &[0x88ba],
    new_parser,
};

#[cfg(test)]
mod tests {
    use super::encode::{encode, AsduSpec};
    use super::*;

    fn frame(p: &mut SvParser, ts: i64, src: u8, id: &str, cnt: u16, out: &mut Vec<Output>) {
        let payload = encode(
            0x4000,
            &[AsduSpec {
                sv_id: id.into(),
                smp_cnt: cnt,
                conf_rev: 1,
                smp_synch: 2,
                samples: vec![0; 64],
            }],
        );
        p.frame(
            &L2Frame {
                ts,
                src_mac: [0, 1, 2, 3, 4, src],
                dst_mac: [1, 0x0c, 0xcd, 4, 0, 1],
                vlan: 0,
                ethertype: 0x88ba,
                payload: &payload,
            },
            out,
        );
    }

    #[test]
    fn counts_per_publisher_and_summarises_at_finish() {
        let mut p = SvParser::new();
        let mut out = Vec::new();
        for i in 0..4000u16 {
            frame(&mut p, i64::from(i) * 250_000, 1, "MU01", i, &mut out);
        }
        // wrap, then a gap, then a replayed sample
        frame(&mut p, 1_000_000_000, 1, "MU01", 0, &mut out);
        frame(&mut p, 1_000_250_000, 1, "MU01", 5, &mut out);
        frame(&mut p, 1_000_500_000, 1, "MU01", 3, &mut out);
        frame(&mut p, 5, 2, "MU02", 7, &mut out);
        let anomalies: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect();
        assert_eq!(anomalies, vec!["sv_smpcnt_regression"]);
        assert!(
            !out.iter().any(|o| matches!(o, Output::Txn(_))),
            "no event per frame"
        );
        out.clear();
        p.finish(2_000_000_000, &mut out);
        let txns: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Txn(t) => match &t.record {
                    Record::Sv(s) => Some((t.ts, t.ts_end, s.clone())),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        assert_eq!(txns.len(), 2);
        let (ts, end, mu1) = &txns[0];
        assert_eq!((*ts, *end), (0, Some(1_000_500_000)));
        assert_eq!(mu1.sv_id.as_deref(), Some("MU01"));
        assert_eq!(mu1.counters.frames, 4003);
        assert_eq!(mu1.counters.smp_cnt_gaps, 1);
        assert_eq!(mu1.counters.smp_cnt_regressions, 1);
        assert_eq!(mu1.counters.first_smp_cnt, Some(0));
        assert_eq!(mu1.counters.last_smp_cnt, Some(3));
        assert_eq!(mu1.counters.sample_octets, 64);
        let json = serde_json::to_value(&**mu1).unwrap();
        assert_eq!(json["src_mac"], "00:01:02:03:04:01");
        assert_eq!(json["appid"], 0x4000);
        assert_eq!(txns[1].2.sv_id.as_deref(), Some("MU02"));
    }

    #[test]
    fn malformed_frames_are_anomalies() {
        let mut p = SvParser::new();
        let mut out = Vec::new();
        for payload in [
            &[0x40u8, 0x00][..],
            &[0x40, 0, 0, 4, 0, 0, 0, 0],
            &[0x40, 0, 0, 12, 0, 0, 0, 0, 0x61, 0x02, 0x80, 0x00],
        ] {
            p.frame(
                &L2Frame {
                    ts: 1,
                    src_mac: [0; 6],
                    dst_mac: [0; 6],
                    vlan: 0,
                    ethertype: 0x88ba,
                    payload,
                },
                &mut out,
            );
        }
        let kinds: Vec<_> = out
            .iter()
            .filter_map(|o| match o {
                Output::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect();
        assert_eq!(kinds, vec!["bad_length", "bad_length", "not_sav_pdu"]);
    }
}
