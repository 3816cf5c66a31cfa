//! Test support for the DNP3 tests: a minimal pcap reader, per-flow payload
//! extraction (TCP in sequence order, UDP per datagram) and a runner that feeds a
//! DNP3 parser per flow.
#![allow(dead_code)]

use sluice_proto::dnp3::state::{Dnp3Parser, Message};
use sluice_proto::dnp3::Transaction;
use sluice_proto::{Direction, Output, Parser, Record, Timestamp, Transport};
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;

/// `../shared/data` beside the repository, if present.
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIP: ../shared/data not found");
        None
    }
}

/// A DNP3 capture of the shared data set, or `None` (with a SKIP line).
pub fn capture(rel: &str) -> Option<Vec<u8>> {
    let p = shared_data()?.join("pcaps").join(rel);
    match std::fs::read(&p) {
        Ok(b) => Some(b),
        Err(e) => {
            println!("SKIP: {}: {e}", p.display());
            None
        }
    }
}

/// One captured packet.
pub struct Packet<'a> {
    pub number: usize,
    pub ts: Timestamp,
    pub data: &'a [u8],
    pub linktype: u32,
}

/// Read a classic pcap file (micro- or nanosecond, either byte order).
pub fn read_pcap(file: &[u8]) -> Vec<Packet<'_>> {
    let mut out = Vec::new();
    let Some(magic) = file.get(..4) else {
        return out;
    };
    let (be, nanos) = match magic {
        [0xd4, 0xc3, 0xb2, 0xa1] => (false, false),
        [0xa1, 0xb2, 0xc3, 0xd4] => (true, false),
        [0x4d, 0x3c, 0xb2, 0xa1] => (false, true),
        [0xa1, 0xb2, 0x3c, 0x4d] => (true, true),
        _ => panic!("not a classic pcap file"),
    };
    let rd = |b: &[u8], at: usize| -> u32 {
        let a: [u8; 4] = b[at..at + 4].try_into().unwrap();
        if be {
            u32::from_be_bytes(a)
        } else {
            u32::from_le_bytes(a)
        }
    };
    let linktype = rd(file, 20);
    let mut pos = 24;
    let mut number = 0;
    while pos + 16 <= file.len() {
        let sec = i64::from(rd(file, pos));
        let frac = i64::from(rd(file, pos + 4));
        let incl = rd(file, pos + 8) as usize;
        pos += 16;
        let Some(data) = file.get(pos..pos + incl) else {
            break;
        };
        pos += incl;
        number += 1;
        let ts = sec * 1_000_000_000 + if nanos { frac } else { frac * 1000 };
        out.push(Packet {
            number,
            ts,
            data,
            linktype,
        });
    }
    out
}

/// Layer-4 view of one packet.
pub struct L4<'a> {
    pub src: (IpAddr, u16),
    pub dst: (IpAddr, u16),
    pub tcp: bool,
    pub seq: u32,
    pub syn: bool,
    pub payload: &'a [u8],
}

/// Ethernet (with VLAN tags), Linux SLL or raw IP; IPv4 / IPv6; TCP / UDP.
pub fn l4<'a>(p: &Packet<'a>) -> Option<L4<'a>> {
    let d = p.data;
    let (mut ethertype, mut off) = match p.linktype {
        1 => (u16::from_be_bytes([*d.get(12)?, *d.get(13)?]), 14usize),
        113 => (u16::from_be_bytes([*d.get(14)?, *d.get(15)?]), 16),
        101 | 12 => (if d.first()? >> 4 == 6 { 0x86dd } else { 0x0800 }, 0),
        _ => return None,
    };
    while ethertype == 0x8100 || ethertype == 0x88a8 {
        ethertype = u16::from_be_bytes([*d.get(off + 2)?, *d.get(off + 3)?]);
        off += 4;
    }
    let ip = d.get(off..)?;
    let (src, dst, proto, l4) = match ethertype {
        0x0800 => {
            let ihl = usize::from(ip.first()? & 0x0f) * 4;
            let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
            let frag = u16::from_be_bytes([*ip.get(6)?, *ip.get(7)?]) & 0x1fff;
            if frag != 0 {
                return None;
            }
            let s: [u8; 4] = ip.get(12..16)?.try_into().ok()?;
            let t: [u8; 4] = ip.get(16..20)?.try_into().ok()?;
            let end = total.min(ip.len()).max(ihl);
            (
                IpAddr::from(s),
                IpAddr::from(t),
                *ip.get(9)?,
                ip.get(ihl..end)?,
            )
        }
        0x86dd => {
            let plen = usize::from(u16::from_be_bytes([*ip.get(4)?, *ip.get(5)?]));
            let s: [u8; 16] = ip.get(8..24)?.try_into().ok()?;
            let t: [u8; 16] = ip.get(24..40)?.try_into().ok()?;
            let end = (40 + plen).min(ip.len());
            (
                IpAddr::from(s),
                IpAddr::from(t),
                *ip.get(6)?,
                ip.get(40..end)?,
            )
        }
        _ => return None,
    };
    let sp = u16::from_be_bytes([*l4.first()?, *l4.get(1)?]);
    let dp = u16::from_be_bytes([*l4.get(2)?, *l4.get(3)?]);
    match proto {
        6 => {
            let seq = u32::from_be_bytes(l4.get(4..8)?.try_into().ok()?);
            let hl = usize::from(l4.get(12)? >> 4) * 4;
            let flags = *l4.get(13)?;
            Some(L4 {
                src: (src, sp),
                dst: (dst, dp),
                tcp: true,
                seq,
                syn: flags & 0x02 != 0,
                payload: l4.get(hl..)?,
            })
        }
        17 => Some(L4 {
            src: (src, sp),
            dst: (dst, dp),
            tcp: false,
            seq: 0,
            syn: false,
            payload: l4.get(8..)?,
        }),
        _ => None,
    }
}

/// What one flow's parser produced.
pub struct FlowResult {
    pub client: (IpAddr, u16),
    pub server: (IpAddr, u16),
    pub transport: Transport,
    pub outputs: Vec<Output>,
    pub messages: Vec<(usize, Message)>,
}

impl FlowResult {
    pub fn txns(&self) -> Vec<&Transaction> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Txn(t) => match &t.record {
                    Record::Dnp3(d) => Some(std::borrow::Borrow::<Transaction>::borrow(d)),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
    pub fn anomalies(&self) -> Vec<&'static str> {
        self.outputs
            .iter()
            .filter_map(|o| match o {
                Output::Anomaly(a) => Some(a.kind),
                _ => None,
            })
            .collect()
    }
}

struct FlowState {
    res: FlowResult,
    parser: Dnp3Parser,
    next_seq: [Option<u32>; 2],
}

/// (client, server, is TCP)
type FlowKey = ((IpAddr, u16), (IpAddr, u16), bool);

/// How payloads are cut before they reach the parser.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Chunking {
    /// One call per packet payload.
    Packet,
    /// One call per octet (TCP only).
    Bytes,
}

/// Run a DNP3 parser over every TCP/UDP flow of a capture that touches port 20000
/// (or carries 0x05 0x64 on another port).  Flows are returned in order of first
/// packet.
pub fn run(file: &[u8], chunking: Chunking) -> Vec<FlowResult> {
    let packets = read_pcap(file);
    let mut flows: Vec<FlowState> = Vec::new();
    let mut index: HashMap<FlowKey, usize> = HashMap::new();
    for p in &packets {
        let Some(l) = l4(p) else { continue };
        let a = (l.src, l.dst, l.tcp);
        let b = (l.dst, l.src, l.tcp);
        let (fi, dir) = if let Some(&i) = index.get(&a) {
            (i, Direction::ToServer)
        } else if let Some(&i) = index.get(&b) {
            (i, Direction::ToClient)
        } else {
            // New flow: the client sends the SYN, or to port 20000.
            let to_server = if l.tcp && l.syn {
                true
            } else {
                l.dst.1 == 20000 || l.src.1 != 20000
            };
            let (client, server) = if to_server {
                (l.src, l.dst)
            } else {
                (l.dst, l.src)
            };
            if client.1 != 20000 && server.1 != 20000 && !l.payload.starts_with(&[0x05, 0x64]) {
                continue;
            }
            let transport = if l.tcp {
                Transport::Tcp
            } else {
                Transport::Udp
            };
            let mut parser = Dnp3Parser::new(transport);
            parser.set_trace(true);
            flows.push(FlowState {
                res: FlowResult {
                    client,
                    server,
                    transport,
                    outputs: Vec::new(),
                    messages: Vec::new(),
                },
                parser,
                next_seq: [None, None],
            });
            let i = flows.len() - 1;
            index.insert((client, server, l.tcp), i);
            (
                i,
                if to_server {
                    Direction::ToServer
                } else {
                    Direction::ToClient
                },
            )
        };
        let f = &mut flows[fi];
        let di = usize::from(dir == Direction::ToClient);
        let mut payload = l.payload;
        if l.tcp {
            if l.syn {
                f.next_seq[di] = Some(l.seq.wrapping_add(1));
                continue;
            }
            if payload.is_empty() {
                continue;
            }
            let next = *f.next_seq[di].get_or_insert(l.seq);
            let off = l.seq.wrapping_sub(next) as i32;
            if off < 0 {
                let dup = off.unsigned_abs() as usize;
                if dup >= payload.len() {
                    continue;
                }
                payload = &payload[dup..];
            } else if off > 0 {
                f.parser.gap(dir, off as u64, p.ts, &mut f.res.outputs);
            }
            f.next_seq[di] = Some(
                l.seq
                    .wrapping_add(off.max(0) as u32)
                    .wrapping_add(payload.len() as u32),
            );
            match chunking {
                Chunking::Packet => f.parser.parse(dir, payload, p.ts, &mut f.res.outputs),
                Chunking::Bytes => {
                    for b in payload.chunks(1) {
                        f.parser.parse(dir, b, p.ts, &mut f.res.outputs);
                    }
                }
            }
        } else {
            f.parser.parse(dir, payload, p.ts, &mut f.res.outputs);
        }
        for m in f.parser.take_trace() {
            f.res.messages.push((p.number, m));
        }
    }
    let last_ts = packets.last().map_or(0, |p| p.ts);
    flows
        .into_iter()
        .map(|mut f| {
            f.parser.finish(last_ts, &mut f.res.outputs);
            f.res
        })
        .collect()
}

/// Every transaction of a capture, flows in order.
pub fn all_txns(flows: &[FlowResult]) -> Vec<Transaction> {
    flows
        .iter()
        .flat_map(|f| f.txns().into_iter().cloned())
        .collect()
}

/// Every anomaly kind of a capture.
pub fn all_anomalies(flows: &[FlowResult]) -> Vec<&'static str> {
    flows.iter().flat_map(|f| f.anomalies()).collect()
}

/// Every traced application message of a capture: (packet number, message).
pub fn all_messages(flows: &[FlowResult]) -> Vec<(usize, Message)> {
    let mut v: Vec<(usize, Message)> = flows
        .iter()
        .flat_map(|f| f.messages.iter().cloned())
        .collect();
    v.sort_by_key(|(n, _)| *n);
    v
}
