//! Test support for the Modbus tests: a small pcap reader (Ethernet / VLAN / IPv4 /
//! IPv6 / TCP), per-flow in-order payload extraction by sequence number, and a
//! driver that feeds a flow to the Modbus parser the way the engine does.
#![allow(dead_code)]

use sluice_proto::modbus::Transaction;
use sluice_proto::{Anomaly, Direction, Output, Record, Timestamp, Txn};
use std::net::IpAddr;
use std::path::PathBuf;

/// `../shared/data` beside the repository, or `None` (after printing a SKIP line).
pub fn data_dir() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIP: ../shared/data not found");
        None
    }
}

/// A capture file under the shared data folder, or `None` (SKIP printed).
pub fn capture(rel: &str) -> Option<PathBuf> {
    let p = data_dir()?.join(rel);
    if p.is_file() {
        Some(p)
    } else {
        println!("SKIP: {} not found", p.display());
        None
    }
}

#[derive(Clone, Debug)]
pub struct Segment {
    pub ts: Timestamp,
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub seq: u32,
    pub syn: bool,
    pub payload: Vec<u8>,
}

fn u16be(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*b.get(at)?, *b.get(at + 1)?]))
}

fn u32be(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

/// TCP segments of a classic pcap file (Ethernet link type).
pub fn read_pcap(path: &std::path::Path) -> Vec<Segment> {
    let bytes = std::fs::read(path).expect("read pcap");
    let magic = bytes.get(..4).expect("pcap header");
    let (le, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (true, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (false, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (true, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (false, true),
        _ => panic!("{}: not a classic pcap", path.display()),
    };
    let rd32 = |at: usize| -> Option<u32> {
        let a: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if le {
            u32::from_le_bytes(a)
        } else {
            u32::from_be_bytes(a)
        })
    };
    assert_eq!(
        rd32(20),
        Some(1),
        "{}: link type must be Ethernet",
        path.display()
    );
    let mut out = Vec::new();
    let mut pos = 24;
    while let (Some(sec), Some(frac), Some(incl)) = (rd32(pos), rd32(pos + 4), rd32(pos + 8)) {
        let start = pos + 16;
        let end = start + incl as usize;
        let Some(frame) = bytes.get(start..end) else {
            break;
        };
        pos = end;
        let ts = i64::from(sec) * 1_000_000_000 + i64::from(frac) * if nanos { 1 } else { 1000 };
        if let Some(seg) = tcp_segment(frame, ts) {
            out.push(seg);
        }
    }
    out
}

fn tcp_segment(frame: &[u8], ts: Timestamp) -> Option<Segment> {
    let mut ethertype = u16be(frame, 12)?;
    let mut off = 14;
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        ethertype = u16be(frame, off + 2)?;
        off += 4;
    }
    let ip = frame.get(off..)?;
    let (src, dst, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16be(ip, 2)?);
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let d: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len());
            (s.into(), d.into(), *ip.get(9)?, ip.get(ihl..end)?)
        }
        0x86dd => {
            let plen = usize::from(u16be(ip, 4)?);
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let d: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            (s.into(), d.into(), *ip.get(6)?, ip.get(40..end)?)
        }
        _ => return None,
    };
    if proto != 6 {
        return None;
    }
    let sport = u16be(l4, 0)?;
    let dport = u16be(l4, 2)?;
    let seq = u32be(l4, 4)?;
    let doff = usize::from(l4.get(12)? >> 4) * 4;
    let flags = *l4.get(13)?;
    let payload = l4.get(doff..)?.to_vec();
    Some(Segment {
        ts,
        src: (src, sport),
        dst: (dst, dport),
        seq,
        syn: flags & 0x02 != 0,
        payload,
    })
}

/// What the engine would hand the parser.
#[derive(Clone, Debug)]
pub enum Event {
    Data(Direction, Vec<u8>, Timestamp),
    Gap(Direction, u64, Timestamp),
}

#[derive(Clone, Debug)]
pub struct Flow {
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub events: Vec<Event>,
    pub last_ts: Timestamp,
}

#[derive(Default)]
struct SeqState {
    next: Option<u32>,
}

/// Splits segments into flows (server = the side on `server_port`, else the SYN's
/// receiver, else the first packet's destination) and reassembles each direction in
/// order: in-sequence data is passed on, a forward jump below 1 MiB is a gap, old
/// (retransmitted) bytes are dropped, bogus jumps are ignored. SYN payloads are
/// ignored.
pub fn flows(segments: &[Segment], server_port: u16) -> Vec<Flow> {
    type Key = ((IpAddr, u16), (IpAddr, u16));
    let mut order: Vec<Key> = Vec::new();
    let mut map: std::collections::HashMap<Key, (Flow, [SeqState; 2])> = Default::default();
    for s in segments {
        let key = if s.src <= s.dst {
            (s.src, s.dst)
        } else {
            (s.dst, s.src)
        };
        let entry = map.entry(key).or_insert_with(|| {
            order.push(key);
            let (client, server) = if s.dst.1 == server_port {
                (s.src, s.dst)
            } else if s.src.1 == server_port {
                (s.dst, s.src)
            } else {
                (s.src, s.dst)
            };
            (
                Flow {
                    client,
                    server,
                    events: Vec::new(),
                    last_ts: s.ts,
                },
                [SeqState::default(), SeqState::default()],
            )
        });
        let (flow, seqs) = entry;
        flow.last_ts = s.ts;
        let dir = if s.src == flow.client {
            Direction::ToServer
        } else {
            Direction::ToClient
        };
        let st = &mut seqs[if dir == Direction::ToServer { 0 } else { 1 }];
        if s.syn {
            st.next = Some(s.seq.wrapping_add(1));
            continue;
        }
        if s.payload.is_empty() {
            continue;
        }
        let len = s.payload.len() as u32;
        let next = *st.next.get_or_insert(s.seq);
        let diff = s.seq.wrapping_sub(next) as i32;
        if diff == 0 {
            flow.events.push(Event::Data(dir, s.payload.clone(), s.ts));
            st.next = Some(s.seq.wrapping_add(len));
        } else if diff > 0 && diff < (1 << 20) {
            flow.events.push(Event::Gap(dir, diff as u64, s.ts));
            flow.events.push(Event::Data(dir, s.payload.clone(), s.ts));
            st.next = Some(s.seq.wrapping_add(len));
        } else if diff < 0 && diff > -(1 << 20) {
            let old = diff.unsigned_abs() as usize;
            if old < s.payload.len() {
                flow.events
                    .push(Event::Data(dir, s.payload[old..].to_vec(), s.ts));
                st.next = Some(s.seq.wrapping_add(len));
            }
        }
    }
    order
        .into_iter()
        .filter_map(|k| map.remove(&k).map(|(f, _)| f))
        .collect()
}

/// Feeds a flow's events to a fresh Modbus parser in the given chunk size (0: as
/// captured) and returns everything it produced, `finish()` included.
pub fn run_flow(flow: &Flow, chunk: usize) -> Vec<Output> {
    let mut p = (sluice_proto::modbus::DESC.new_parser)(sluice_proto::Transport::Tcp);
    let mut out = Vec::new();
    for ev in &flow.events {
        match ev {
            Event::Data(dir, data, ts) => {
                if chunk == 0 {
                    p.parse(*dir, data, *ts, &mut out);
                } else {
                    for c in data.chunks(chunk) {
                        p.parse(*dir, c, *ts, &mut out);
                    }
                }
            }
            Event::Gap(dir, len, ts) => p.gap(*dir, *len, *ts, &mut out),
        }
    }
    p.finish(flow.last_ts, &mut out);
    out
}

/// All flows of a capture on port 502, parsed.
pub fn run_capture(rel: &str) -> Option<Vec<(Flow, Vec<Output>)>> {
    let path = capture(rel)?;
    let segs = read_pcap(&path);
    Some(
        flows(&segs, 502)
            .into_iter()
            .map(|f| {
                let out = run_flow(&f, 0);
                (f, out)
            })
            .collect(),
    )
}

pub fn txns(out: &[Output]) -> Vec<(&Txn, &Transaction)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Txn(t) => match &t.record {
                Record::Modbus(m) => Some((t, &**m)),
                #[allow(unreachable_patterns)]
                _ => None,
            },
            _ => None,
        })
        .collect()
}

pub fn anomalies(out: &[Output]) -> Vec<&Anomaly> {
    out.iter()
        .filter_map(|o| match o {
            Output::Anomaly(a) => Some(a),
            _ => None,
        })
        .collect()
}

/// Bytes from a hex string.
pub fn hex(s: &str) -> Vec<u8> {
    let s: String = s.chars().filter(|c| !c.is_whitespace()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}
