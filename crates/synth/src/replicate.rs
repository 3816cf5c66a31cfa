//! Large benchmark captures: the flows of a few real captures (OT) plus synthesised IT
//! bulk traffic, copied many times with distinct IPv4 addresses and vendor MACs per copy,
//! interleaved in time and written as a stream (the output is never held in memory).
//!
//! Each input is loaded once as a *template*. Its packets' checksums are made valid once
//! (loopback captures carry offloaded, partial checksums); every copy then only patches
//! addresses and MACs and adjusts the checksums incrementally (RFC 1624), so a copied
//! packet costs one memcpy and a few arithmetic operations.
use crate::frame::{self, Mac, ETHERTYPE_IPV4, ETHERTYPE_IPV6, PROTO_TCP, PROTO_UDP};
use crate::scenario::{self, ScenarioError, START_NS};
use crate::session::{Clock, Dir, Endpoint, Host, Rng, TcpSession, Trace, UdpFlow, MS, SEC, US};
use sluice_capture::{CaptureError, CaptureReader, LinkType, PcapWriter};
use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

/// Why replication failed.
#[derive(Debug, thiserror::Error)]
pub enum ReplicateError {
    #[error(transparent)]
    Capture(#[from] CaptureError),
    #[error("{0}: no IPv4 packet to replicate")]
    Empty(PathBuf),
    #[error("IT traffic synthesis failed: {0}")]
    Synth(#[from] ScenarioError),
    #[error("IT traffic synthesis failed: {0}")]
    Frame(#[from] crate::frame::FrameError),
    #[error("writing the output: {0}")]
    Io(#[from] io::Error),
    #[error("nothing to replicate: give input captures or a non-zero IT share")]
    NothingToDo,
}

/// What to build.
#[derive(Debug, Clone)]
pub struct Options {
    /// Packets to write.
    pub packets: u64,
    /// Share of the packets taken from synthesised IT bulk traffic (0.0..=1.0).
    pub it_share: f64,
    /// Copies start spread over this many nanoseconds.
    pub window_ns: i64,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            packets: 1_000_000,
            it_share: 0.2,
            window_ns: 60 * SEC,
            seed: 1,
        }
    }
}

/// What was written.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    pub packets: u64,
    pub bytes: u64,
    /// Copies made of the input captures and of the IT template.
    pub ot_copies: u64,
    pub it_copies: u64,
    /// Input packets that were not Ethernet/IPv4-convertible and were skipped.
    pub skipped: u64,
    pub first_ts: i64,
    pub last_ts: i64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Role {
    Client,
    Server,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Ot,
    It,
}

/// One address of a template: the original IP in one role.
#[derive(Debug, Clone, Copy)]
struct Entry {
    role: Role,
    orig: [u8; 4],
    /// Keep the original address and MAC in copies (shared Internet servers).
    keep: bool,
}

#[derive(Debug, Clone, Copy)]
struct TplPacket {
    rel_ts: i64,
    off: usize,
    len: u32,
    /// Offset of the IPv4 header, when the packet is IPv4.
    ip: Option<u16>,
    /// Offset of the transport checksum to adjust, if any; `udp` for the zero rule.
    l4_csum: Option<u16>,
    udp: bool,
    src: u16,
    dst: u16,
}

#[derive(Debug)]
struct Template {
    class: Class,
    bytes: Vec<u8>,
    packets: Vec<TplPacket>,
    entries: Vec<Entry>,
    /// OUI for the servers of this template, from its main server port.
    server_oui: [u8; 3],
}

/// PC vendors (Dell, Hewlett Packard, Lenovo, VMware) for clients.
const CLIENT_OUIS: [[u8; 3]; 4] = [
    [0x00, 0x14, 0x22],
    [0x3c, 0xd9, 0x2b],
    [0x10, 0xc5, 0x95],
    [0x00, 0x50, 0x56],
];

/// Vendor OUI for a server port: Schneider (Telemecanique) for Modbus, Siemens for S7
/// and IEC 104, Rockwell for EtherNet/IP, SEL for DNP3, Honeywell for BACnet.
fn oui_for_port(port: u16) -> [u8; 3] {
    match port {
        502 => [0x00, 0x80, 0xf4],
        102 => [0x00, 0x1b, 0x1b],
        44_818 | 2_222 => [0x00, 0x00, 0xbc],
        20_000 => [0x00, 0x30, 0xa7],
        2_404 => [0xb4, 0xb1, 0x5a],
        47_808..=47_823 => [0x00, 0x40, 0x84],
        _ => [0x00, 0x1b, 0x1b],
    }
}

struct Parsed {
    ip: usize,
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    ports: Option<(u16, u16)>,
    syn_only: bool,
    l4_csum: Option<usize>,
}

fn parse_ipv4(f: &[u8]) -> Option<Parsed> {
    let mut off = 12;
    let mut et = u16::from_be_bytes([*f.get(off)?, *f.get(off + 1)?]);
    while et == 0x8100 || et == 0x88a8 {
        off += 4;
        et = u16::from_be_bytes([*f.get(off)?, *f.get(off + 1)?]);
    }
    if et != ETHERTYPE_IPV4 {
        return None;
    }
    let ip = off + 2;
    let vihl = *f.get(ip)?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || f.len() < ip + ihl {
        return None;
    }
    let src: [u8; 4] = f.get(ip + 12..ip + 16)?.try_into().ok()?;
    let dst: [u8; 4] = f.get(ip + 16..ip + 20)?.try_into().ok()?;
    let proto = *f.get(ip + 9)?;
    let total = usize::from(u16::from_be_bytes([*f.get(ip + 2)?, *f.get(ip + 3)?]));
    let frag = u16::from_be_bytes([*f.get(ip + 6)?, *f.get(ip + 7)?]) & 0x3fff;
    let l4 = ip + ihl;
    let whole = frag == 0 && total >= ihl && f.len() >= ip + total;
    let mut ports = None;
    let mut syn_only = false;
    let mut l4_csum = None;
    if frag & 0x1fff == 0 && (proto == PROTO_TCP || proto == PROTO_UDP) {
        if let (Some(a), Some(b), Some(c), Some(d)) =
            (f.get(l4), f.get(l4 + 1), f.get(l4 + 2), f.get(l4 + 3))
        {
            ports = Some((u16::from_be_bytes([*a, *b]), u16::from_be_bytes([*c, *d])));
        }
        if proto == PROTO_TCP {
            if let Some(fl) = f.get(l4 + 13) {
                syn_only = fl & 0x12 == 0x02;
            }
        }
        let at = if proto == PROTO_TCP { l4 + 16 } else { l4 + 6 };
        if whole && f.len() >= at + 2 && total >= ihl + if proto == PROTO_TCP { 20 } else { 8 } {
            l4_csum = Some(at);
        }
    }
    Some(Parsed {
        ip,
        src,
        dst,
        proto,
        ports,
        syn_only,
        l4_csum,
    })
}

/// Turns a packet of another link type into an Ethernet frame (placeholder MACs).
fn to_ethernet(linktype: LinkType, data: &[u8], out: &mut Vec<u8>) -> bool {
    out.clear();
    let (payload, et) = match linktype {
        LinkType::ETHERNET => {
            out.extend_from_slice(data);
            return true;
        }
        LinkType::RAW | LinkType::IPV4 | LinkType::IPV6 => {
            let et = match data.first().map(|b| b >> 4) {
                Some(4) => ETHERTYPE_IPV4,
                Some(6) => ETHERTYPE_IPV6,
                _ => return false,
            };
            (data, et)
        }
        LinkType::NULL | LinkType::LOOP => {
            let Some(p) = data.get(4..) else { return false };
            let et = match p.first().map(|b| b >> 4) {
                Some(4) => ETHERTYPE_IPV4,
                Some(6) => ETHERTYPE_IPV6,
                _ => return false,
            };
            (p, et)
        }
        LinkType::LINUX_SLL => match (data.get(14..16), data.get(16..)) {
            (Some(e), Some(p)) => (p, u16::from_be_bytes([e[0], e[1]])),
            _ => return false,
        },
        LinkType::LINUX_SLL2 => match (data.get(0..2), data.get(20..)) {
            (Some(e), Some(p)) => (p, u16::from_be_bytes([e[0], e[1]])),
            _ => return false,
        },
        _ => return false,
    };
    out.extend_from_slice(&[0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1]);
    out.extend_from_slice(&et.to_be_bytes());
    out.extend_from_slice(payload);
    true
}

#[derive(Default)]
struct Builder {
    bytes: Vec<u8>,
    frames: Vec<(i64, usize, usize)>,
    skipped: u64,
}

impl Builder {
    fn push(&mut self, ts: i64, frame: &[u8]) {
        let off = self.bytes.len();
        self.bytes.extend_from_slice(frame);
        self.frames.push((ts, off, frame.len()));
    }

    /// Makes the template: roles per flow, valid checksums, offsets for rewriting.
    fn finish(mut self, class: Class) -> Option<Template> {
        self.frames.sort_by_key(|f| f.0);
        let t0 = self.frames.first()?.0;
        // Flow endpoints: a SYN without ACK names the client; otherwise the lower port
        // is the server's.
        type Ep = ([u8; 4], u16);
        let mut clients: HashMap<(u8, Ep, Ep), Ep> = HashMap::new();
        let key = |p: &Parsed| -> Option<(u8, Ep, Ep)> {
            let (sp, dp) = p.ports?;
            let a = (p.src, sp);
            let b = (p.dst, dp);
            Some(if a <= b {
                (p.proto, a, b)
            } else {
                (p.proto, b, a)
            })
        };
        for &(_, off, len) in &self.frames {
            let Some(p) = self.bytes.get(off..off + len).and_then(parse_ipv4) else {
                continue;
            };
            if p.syn_only {
                if let (Some(k), Some((sp, _))) = (key(&p), p.ports) {
                    clients.entry(k).or_insert((p.src, sp));
                }
            }
        }
        let mut entries: Vec<Entry> = Vec::new();
        let mut index: HashMap<(Role, [u8; 4]), u16> = HashMap::new();
        let mut port_votes: HashMap<u16, u64> = HashMap::new();
        let mut packets = Vec::with_capacity(self.frames.len());
        let mut entry_of = |role: Role, ip: [u8; 4], entries: &mut Vec<Entry>| -> u16 {
            *index.entry((role, ip)).or_insert_with(|| {
                let keep = class == Class::It && role == Role::Server;
                entries.push(Entry {
                    role,
                    orig: ip,
                    keep,
                });
                (entries.len() - 1) as u16
            })
        };
        for &(ts, off, len) in &self.frames {
            let Some(f) = self.bytes.get_mut(off..off + len) else {
                continue;
            };
            let parsed = parse_ipv4(f);
            let mut tp = TplPacket {
                rel_ts: ts - t0,
                off,
                len: len as u32,
                ip: None,
                l4_csum: None,
                udp: false,
                src: 0,
                dst: 0,
            };
            if let Some(p) = parsed {
                let src_is_client = match (key(&p), p.ports) {
                    (Some(k), Some((sp, dp))) => match clients.get(&k) {
                        Some(c) => *c == (p.src, sp),
                        None => sp > dp || (sp == dp && p.src >= p.dst),
                    },
                    _ => true,
                };
                if let Some((sp, dp)) = p.ports {
                    *port_votes
                        .entry(if src_is_client { dp } else { sp })
                        .or_insert(0) += 1;
                }
                let (sr, dr) = if src_is_client {
                    (Role::Client, Role::Server)
                } else {
                    (Role::Server, Role::Client)
                };
                tp.src = entry_of(sr, p.src, &mut entries);
                tp.dst = entry_of(dr, p.dst, &mut entries);
                // Valid checksums once, so copies can adjust them incrementally.
                frame::rewrite_ipv4(f, Ipv4Addr::from(p.src), Ipv4Addr::from(p.dst));
                tp.ip = u16::try_from(p.ip).ok();
                tp.l4_csum = p.l4_csum.and_then(|c| u16::try_from(c).ok());
                tp.udp = p.proto == PROTO_UDP;
                if tp.udp {
                    if let Some(c) = tp.l4_csum {
                        let c = usize::from(c);
                        if f.get(c..c + 2) == Some(&[0, 0]) {
                            tp.l4_csum = None; // no UDP checksum: keep it absent
                        }
                    }
                }
            }
            packets.push(tp);
        }
        if entries.is_empty() {
            return None;
        }
        let main_port = port_votes
            .into_iter()
            .max_by_key(|&(p, n)| (n, Reverse(p)))
            .map(|(p, _)| p)
            .unwrap_or(0);
        Some(Template {
            class,
            bytes: self.bytes,
            packets,
            entries,
            server_oui: oui_for_port(main_port),
        })
    }
}

fn load(path: &Path) -> Result<(Template, u64), ReplicateError> {
    let mut r = CaptureReader::open(path)?;
    let mut b = Builder::default();
    let mut eth = Vec::with_capacity(2048);
    while let Some(p) = r.next_packet()? {
        if to_ethernet(p.linktype, p.data, &mut eth) {
            b.push(p.ts, &eth);
        } else {
            b.skipped += 1;
        }
    }
    let skipped = b.skipped;
    let t = b
        .finish(Class::Ot)
        .ok_or_else(|| ReplicateError::Empty(path.to_path_buf()))?;
    Ok((t, skipped))
}

impl crate::session::Sink for Builder {
    fn emit(&mut self, ts_ns: i64, frame: &[u8]) {
        self.push(ts_ns, frame);
    }
}

/// The IT bulk template: office clients downloading over HTTP and TLS, with DNS.
fn it_template(seed: u64) -> Result<Template, ReplicateError> {
    let mut rng = Rng::new(seed ^ 0x0017_b01c);
    let mut trace = Trace::new();
    let fw: Mac = scenario::hosts::FIREWALL_MAC;
    let clients = [
        Host::new(
            [0x00, 0x14, 0x22, 0, 0, 1],
            IpAddr::V4(Ipv4Addr::new(10, 20, 9, 1)),
            128,
        ),
        Host::new(
            [0x3c, 0xd9, 0x2b, 0, 0, 2],
            IpAddr::V4(Ipv4Addr::new(10, 20, 9, 2)),
            128,
        ),
        Host::new(
            [0x10, 0xc5, 0x95, 0, 0, 3],
            IpAddr::V4(Ipv4Addr::new(10, 20, 9, 3)),
            128,
        ),
    ];
    let resolver = Host::new(fw, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 53)), 57);
    let sites = [
        (
            Host::new(fw, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 10)), 52),
            "www.example.com",
        ),
        (
            Host::new(fw, IpAddr::V4(Ipv4Addr::new(203, 0, 113, 40)), 50),
            "cdn.example.net",
        ),
        (
            Host::new(fw, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 120)), 55),
            "files.example.org",
        ),
    ];
    for (i, c) in clients.iter().enumerate() {
        let mut clk = Clock::new(START_NS + i as i64 * 700 * MS, rng.next_u64());
        for round in 0..3u16 {
            let (server, name) = sites[(i + usize::from(round)) % sites.len()];
            let mut dns = UdpFlow::new(
                Endpoint::new(*c, 50_000 + round * 7 + i as u16),
                Endpoint::new(resolver, 53),
                &mut rng,
            )?;
            let id = rng.next_u16();
            let mut m = Vec::new();
            crate::app::dns::query(&mut m, id, name, crate::app::dns::rtype::A)
                .map_err(ScenarioError::from)?;
            dns.send(Dir::ToServer, &m, &clk, &mut trace)?;
            clk.jitter(5 * MS, 25 * MS);
            m.clear();
            crate::app::dns::response(
                &mut m,
                id,
                name,
                crate::app::dns::rtype::A,
                &[server.ip],
                300,
            )
            .map_err(ScenarioError::from)?;
            dns.send(Dir::ToClient, &m, &clk, &mut trace)?;
            clk.jitter(300 * US, 2 * MS);
            let port = 51_000 + round * 11 + i as u16 * 3;
            let rtt = rng.range(8, 30) * MS;
            let mut s = TcpSession::new(
                Endpoint::new(*c, port),
                Endpoint::new(server, if round == 1 { 80 } else { 443 }),
                &mut rng,
            )?
            .with_rtt(rtt)
            .with_windows(64_240, 65_160);
            if round == 1 {
                s.connect(&mut clk, &mut trace)?;
                clk.jitter(100 * US, 300 * US);
                m.clear();
                crate::app::http::get(
                    &mut m,
                    name,
                    "/files/update-package.bin",
                    "Microsoft-Delivery-Optimization/10.0",
                );
                s.send(Dir::ToServer, &m, &mut clk, &mut trace)?;
                clk.advance(s.rtt_ns);
                clk.jitter(MS, 5 * MS);
                let body_len = rng.range(250_000, 450_000) as usize;
                let mut body = vec![0u8; body_len];
                rng.fill(&mut body);
                m.clear();
                crate::app::http::response(
                    &mut m,
                    200,
                    "OK",
                    "nginx/1.18.0",
                    "application/octet-stream",
                    &body,
                );
                s.send(Dir::ToClient, &m, &mut clk, &mut trace)?;
                clk.advance(s.rtt_ns);
                clk.jitter(50 * MS, 300 * MS);
                s.close(Dir::ToServer, &mut clk, &mut trace)?;
            } else {
                scenario::tls_exchange(
                    &mut s, &mut rng, name, &mut clk, &mut trace, 150_000, 400_000,
                )?;
            }
            clk.jitter(500 * MS, 2 * SEC);
        }
    }
    let mut b = Builder::default();
    for (ts, f) in trace.sorted() {
        b.push(ts, f);
    }
    b.finish(Class::It).ok_or(ReplicateError::NothingToDo)
}

/// One copy of a template: its start and the addresses it gives each template entry.
struct Copy {
    tpl: usize,
    start: i64,
    next: usize,
    /// Packets of the template this copy plays (the last copy may stop early).
    limit: usize,
    ips: Vec<[u8; 4]>,
    macs: Vec<Mac>,
}

/// Allocates distinct addresses: OT servers in 10.64.0.0/10, OT clients in
/// 10.128.0.0/10, IT clients in 10.20.0.0/16 (never .0 or .255 as last octet).
#[derive(Default)]
struct Alloc {
    ot_server: u32,
    ot_client: u32,
    it_client: u32,
}

fn slot_ip(base: u8, span: u32, k: u32) -> [u8; 4] {
    let a = k / 254;
    let b = (1 + k % 254) as u8;
    [10, base + ((a / 256) % span) as u8, (a % 256) as u8, b]
}

impl Alloc {
    fn ip(&mut self, class: Class, role: Role) -> [u8; 4] {
        match (class, role) {
            (Class::Ot, Role::Server) => {
                self.ot_server += 1;
                slot_ip(64, 64, self.ot_server - 1)
            }
            (Class::Ot, Role::Client) => {
                self.ot_client += 1;
                slot_ip(128, 64, self.ot_client - 1)
            }
            (Class::It, _) => {
                self.it_client += 1;
                slot_ip(20, 1, self.it_client - 1)
            }
        }
    }
}

/// RFC 1624 incremental update of a checksum when 8 bytes (two IPv4 addresses) change.
fn adjust(csum: u16, old: &[u8; 8], new: &[u8; 8]) -> u16 {
    let mut s = u32::from(!csum);
    for i in 0..4 {
        let o = u16::from_be_bytes([old[2 * i], old[2 * i + 1]]);
        let n = u16::from_be_bytes([new[2 * i], new[2 * i + 1]]);
        s += u32::from(!o) + u32::from(n);
    }
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn rd16(f: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*f.get(at)?, *f.get(at + 1)?]))
}

fn wr16(f: &mut [u8], at: usize, v: u16) {
    if let Some(d) = f.get_mut(at..at + 2) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

/// Rewrites a template packet for one copy in place.
fn apply(f: &mut [u8], p: &TplPacket, c: &Copy, entries: &[Entry]) {
    let (Some(se), Some(de)) = (
        entries.get(usize::from(p.src)),
        entries.get(usize::from(p.dst)),
    ) else {
        return;
    };
    let (Some(sip), Some(dip)) = (c.ips.get(usize::from(p.src)), c.ips.get(usize::from(p.dst)))
    else {
        return;
    };
    if let (Some(sm), Some(dm)) = (
        c.macs.get(usize::from(p.src)),
        c.macs.get(usize::from(p.dst)),
    ) {
        if let Some(d) = f.get_mut(0..6) {
            d.copy_from_slice(dm);
        }
        if let Some(d) = f.get_mut(6..12) {
            d.copy_from_slice(sm);
        }
    }
    let Some(ip) = p.ip.map(usize::from) else {
        return;
    };
    let mut old = [0u8; 8];
    old[..4].copy_from_slice(&se.orig);
    old[4..].copy_from_slice(&de.orig);
    let mut new = [0u8; 8];
    new[..4].copy_from_slice(sip);
    new[4..].copy_from_slice(dip);
    if old == new {
        return;
    }
    if let Some(d) = f.get_mut(ip + 12..ip + 20) {
        d.copy_from_slice(&new);
    } else {
        return;
    }
    if let Some(hc) = rd16(f, ip + 10) {
        wr16(f, ip + 10, adjust(hc, &old, &new));
    }
    if let Some(at) = p.l4_csum.map(usize::from) {
        if let Some(c) = rd16(f, at) {
            let mut n = adjust(c, &old, &new);
            if p.udp && n == 0 {
                n = 0xffff;
            }
            wr16(f, at, n);
        }
    }
}

fn make_copy(tpl_idx: usize, t: &Template, start: i64, alloc: &mut Alloc, rng: &mut Rng) -> Copy {
    let mut ips = Vec::with_capacity(t.entries.len());
    let mut macs = Vec::with_capacity(t.entries.len());
    for e in &t.entries {
        if e.keep {
            ips.push(e.orig);
            macs.push(scenario::hosts::FIREWALL_MAC);
            continue;
        }
        let ip = alloc.ip(t.class, e.role);
        let oui = match e.role {
            Role::Server => t.server_oui,
            Role::Client => CLIENT_OUIS[rng.below(CLIENT_OUIS.len() as u64) as usize],
        };
        macs.push([oui[0], oui[1], oui[2], ip[1], ip[2], ip[3]]);
        ips.push(ip);
    }
    Copy {
        tpl: tpl_idx,
        start,
        next: 0,
        limit: t.packets.len(),
        ips,
        macs,
    }
}

/// Replicates `inputs` (and synthesised IT traffic) into `out` as an Ethernet pcap of
/// exactly `opts.packets` packets (fewer only when there is nothing to copy).
pub fn replicate<W: Write>(
    inputs: &[PathBuf],
    opts: &Options,
    out: W,
) -> Result<Summary, ReplicateError> {
    let mut summary = Summary::default();
    let mut templates = Vec::new();
    for path in inputs {
        let (t, skipped) = load(path)?;
        summary.skipped += skipped;
        templates.push(t);
    }
    let it_share = if templates.is_empty() {
        1.0
    } else {
        opts.it_share.clamp(0.0, 1.0)
    };
    if it_share > 0.0 {
        templates.push(it_template(opts.seed)?);
    }
    if templates.is_empty() || opts.packets == 0 {
        if opts.packets == 0 {
            let w = PcapWriter::new(out, LinkType::ETHERNET, 65_535)?;
            w.finish()?;
            return Ok(summary);
        }
        return Err(ReplicateError::NothingToDo);
    }
    // Packets each template contributes, adding up to exactly `opts.packets`: the IT
    // share, the rest split among the inputs by their sizes. A template is copied as
    // often as that takes, its last copy cut short, so no mix is skewed by a cut.
    let lens: Vec<u64> = templates.iter().map(|t| t.packets.len() as u64).collect();
    let ot_total: u64 = templates
        .iter()
        .zip(&lens)
        .filter(|(t, _)| t.class == Class::Ot)
        .map(|(_, l)| *l)
        .sum();
    let it_target = if ot_total == 0 {
        opts.packets
    } else {
        (opts.packets as f64 * it_share).round() as u64
    };
    let ot_target = opts.packets - it_target.min(opts.packets);
    let mut targets: Vec<u64> = templates
        .iter()
        .zip(&lens)
        .map(|(t, l)| match t.class {
            Class::It => it_target,
            Class::Ot => {
                ((u128::from(ot_target) * u128::from(*l)) / u128::from(ot_total.max(1))) as u64
            }
        })
        .collect();
    let assigned: u64 = targets.iter().sum();
    if let Some(first_ot) = templates.iter().position(|t| t.class == Class::Ot) {
        if let Some(t) = targets.get_mut(first_ot) {
            *t += opts.packets.saturating_sub(assigned);
        }
    }
    let mut rng = Rng::new(opts.seed);
    let mut alloc = Alloc::default();
    let window = opts.window_ns.max(1);
    let mut copies: Vec<Copy> = Vec::new();
    for (i, t) in templates.iter().enumerate() {
        let len = lens.get(i).copied().unwrap_or(0);
        let target = targets.get(i).copied().unwrap_or(0);
        if len == 0 || target == 0 {
            continue;
        }
        let want = target.div_ceil(len);
        for k in 0..want {
            let start =
                START_NS + (k as i64).saturating_mul(window) / want as i64 + rng.range(0, 50 * MS);
            let mut c = make_copy(i, t, start, &mut alloc, &mut rng);
            c.limit = if k + 1 == want {
                (target - k * len) as usize
            } else {
                len as usize
            };
            copies.push(c);
        }
        match t.class {
            Class::Ot => summary.ot_copies += want,
            Class::It => summary.it_copies += want,
        }
    }
    let mut heap: BinaryHeap<Reverse<(i64, u32)>> = BinaryHeap::with_capacity(copies.len());
    for (id, c) in copies.iter().enumerate() {
        if let Some(p) = templates.get(c.tpl).and_then(|t| t.packets.first()) {
            heap.push(Reverse((c.start + p.rel_ts, id as u32)));
        }
    }
    let mut w = PcapWriter::new(out, LinkType::ETHERNET, 65_535)?;
    let mut scratch: Vec<u8> = Vec::with_capacity(65_536);
    summary.first_ts = heap.peek().map(|Reverse((t, _))| *t).unwrap_or(0);
    while summary.packets < opts.packets {
        let Some(mut top) = heap.peek_mut() else {
            break;
        };
        let Reverse((ts, id)) = *top;
        let Some(c) = copies.get_mut(id as usize) else {
            break;
        };
        let Some(t) = templates.get(c.tpl) else { break };
        let Some(p) = t.packets.get(c.next) else {
            break;
        };
        let Some(src) = t.bytes.get(p.off..p.off + p.len as usize) else {
            break;
        };
        scratch.clear();
        scratch.extend_from_slice(src);
        apply(&mut scratch, p, c, &t.entries);
        w.write(ts, &scratch)?;
        summary.packets += 1;
        summary.bytes += scratch.len() as u64;
        summary.last_ts = ts;
        c.next += 1;
        match t.packets.get(c.next).filter(|_| c.next < c.limit) {
            Some(np) => *top = Reverse((c.start + np.rel_ts, id)),
            None => {
                std::collections::binary_heap::PeekMut::pop(top);
            }
        }
    }
    w.finish()?.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{verify_ipv4, Addrs, IpOpts, TcpHeader, L2};

    #[test]
    fn incremental_checksum_matches_full() {
        let mut buf = Vec::new();
        let addrs = Addrs::new("127.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap()).unwrap();
        let tcp = TcpHeader {
            src_port: 40000,
            dst_port: 502,
            flags: 0x18,
            ..Default::default()
        };
        frame::tcp_frame(
            &mut buf,
            &L2::new([2; 6], [4; 6]),
            &addrs,
            &IpOpts::default(),
            &tcp,
            b"\0\x01\0\0\0\x06\x01\x03\0\0\0\x0a",
        )
        .unwrap();
        let p = parse_ipv4(&buf).unwrap();
        let tp = TplPacket {
            rel_ts: 0,
            off: 0,
            len: buf.len() as u32,
            ip: Some(p.ip as u16),
            l4_csum: p.l4_csum.map(|c| c as u16),
            udp: false,
            src: 0,
            dst: 1,
        };
        let entries = [
            Entry {
                role: Role::Client,
                orig: [127, 0, 0, 1],
                keep: false,
            },
            Entry {
                role: Role::Server,
                orig: [127, 0, 0, 1],
                keep: false,
            },
        ];
        let c = Copy {
            tpl: 0,
            start: 0,
            next: 0,
            limit: 1,
            ips: vec![[10, 128, 3, 7], [10, 64, 3, 7]],
            macs: vec![[1; 6], [3; 6]],
        };
        apply(&mut buf, &tp, &c, &entries);
        assert_eq!(&buf[26..34], &[10, 128, 3, 7, 10, 64, 3, 7]);
        assert_eq!(&buf[0..12], &[3, 3, 3, 3, 3, 3, 1, 1, 1, 1, 1, 1]);
        assert_eq!(verify_ipv4(&buf), Some(true));
    }

    #[test]
    fn addresses_are_distinct() {
        let mut a = Alloc::default();
        let mut seen = std::collections::HashSet::new();
        for _ in 0..100_000 {
            let ip = a.ip(Class::Ot, Role::Server);
            assert!(ip[3] != 0 && ip[3] != 255);
            assert!(seen.insert(ip));
        }
    }
}
