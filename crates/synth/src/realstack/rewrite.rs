//! Rewriting a loopback capture into a capture of the plant: every `127.B.X.h` address
//! becomes the plant address of its subnet (`X` names the plant's /24), every host gets
//! its own MAC address (vendor OUIs fitting its role) and TTL, the servers' stand-in
//! ports become the real ones, TCP segments larger than an Ethernet MSS are cut into
//! MSS-sized segments (and the SYN's MSS option says 1460), the IPv4 and TCP/UDP
//! checksums are recomputed (loopback captures carry partial, offloaded ones) and short
//! frames are padded to the Ethernet minimum. Timestamps are kept.
//!
//! Pure functions over bytes: never a panic, whatever the input.
use crate::frame::{fold, internet_checksum, sum_words, Mac, ETHERTYPE_IPV4, MIN_FRAME};
use crate::frame::{PROTO_TCP, PROTO_UDP};
use crate::session::Host;
use sluice_capture::{CaptureError, CaptureReader, LinkType, PcapWriter};
use std::collections::HashMap;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;

/// The MSS of a TCP connection over Ethernet (1500-byte MTU, IPv4, no options).
pub const ETHERNET_MSS: u16 = 1460;

const ETH: usize = 14;
const TCP_SYN: u8 = 0x02;
const TCP_FIN: u8 = 0x01;
const TCP_PSH: u8 = 0x08;

/// Why a capture could not be rewritten.
#[derive(Debug, thiserror::Error)]
pub enum RewriteError {
    /// Reading the raw capture failed.
    #[error(transparent)]
    Capture(#[from] CaptureError),
    /// Writing the rewritten capture failed.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// The raw capture is not Ethernet (tcpdump on Linux `lo` writes Ethernet).
    #[error("link type {0} is not Ethernet")]
    LinkType(u32),
    /// A packet carries an address outside the scenario's loopback block.
    #[error("packet {packet}: address {addr} is not in the scenario's loopback block")]
    Unmapped {
        /// 1-based packet number in the raw capture.
        packet: u64,
        /// The address.
        addr: Ipv4Addr,
    },
}

/// The scenario's loopback block `127.B.0.0/16` and which plant /24 each `127.B.X.0/24`
/// stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetMap {
    block: u8,
    /// (plant /24 prefix, X)
    nets: Vec<([u8; 3], u8)>,
}

impl NetMap {
    /// An empty map of block `127.block.0.0/16`.
    pub fn new(block: u8) -> NetMap {
        NetMap {
            block,
            nets: Vec::new(),
        }
    }

    /// The subnets of the DESIGN.md example plant: control 10.10.1/24 (X = 1),
    /// supervisory 10.10.2/24 (2), operations 10.10.3/24 (3), office 10.20.5/24 (5),
    /// DMZ 10.30.0/24 (30), and the Internet's 203.0.113/24 (113) and 198.51.100/24 (100).
    pub fn plant(block: u8) -> NetMap {
        let mut m = NetMap::new(block);
        for (net, x) in [
            ([10, 10, 1], 1),
            ([10, 10, 2], 2),
            ([10, 10, 3], 3),
            ([10, 20, 5], 5),
            ([10, 30, 0], 30),
            ([203, 0, 113], 113),
            ([198, 51, 100], 100),
        ] {
            m = m.net(net, x);
        }
        m
    }

    /// Adds plant subnet `net.0/24` as `127.B.x.0/24` (a later entry for the same `x`
    /// or `net` is ignored).
    pub fn net(mut self, net: [u8; 3], x: u8) -> NetMap {
        if !self.nets.iter().any(|(n, y)| *n == net || *y == x) {
            self.nets.push((net, x));
        }
        self
    }

    /// The second octet of the loopback block.
    pub fn block(&self) -> u8 {
        self.block
    }

    /// The loopback address standing for plant address `ip`.
    pub fn to_loopback(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        let o = ip.octets();
        let (_, x) = self.nets.iter().find(|(n, _)| n[..] == o[..3]).copied()?;
        Some(Ipv4Addr::new(127, self.block, x, o[3]))
    }

    /// The plant address a loopback address stands for.
    pub fn to_plant(&self, ip: Ipv4Addr) -> Option<Ipv4Addr> {
        let o = ip.octets();
        if o[0] != 127 || o[1] != self.block {
            return None;
        }
        let (n, _) = self.nets.iter().find(|(_, x)| *x == o[2])?;
        Some(Ipv4Addr::new(n[0], n[1], n[2], o[3]))
    }

    /// The tcpdump filter of the block.
    pub fn capture_filter(&self) -> String {
        format!("net 127.{}.0.0/16", self.block)
    }
}

/// What a rewrite did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RewriteStats {
    /// Frames read.
    pub read: u64,
    /// Frames written.
    pub written: u64,
    /// Frames that were not IPv4 (left out).
    pub skipped: u64,
    /// TCP segments cut into Ethernet-sized ones.
    pub split: u64,
}

/// The rewriting rules: addresses, hosts (MAC, TTL), ports.
#[derive(Debug, Clone)]
pub struct Rewriter {
    nets: NetMap,
    hosts: HashMap<Ipv4Addr, (Mac, u8)>,
    ports: HashMap<u16, u16>,
    mss: u16,
    /// MAC of the router towards the Internet (frames of hosts outside 10/8 carry it).
    router: Mac,
}

impl Rewriter {
    /// Rules for `nets`, no hosts, no port changes, Ethernet MSS; frames of hosts
    /// beyond 10.0.0.0/8 carry `router`'s MAC address.
    pub fn new(nets: NetMap, router: Mac) -> Rewriter {
        Rewriter {
            nets,
            hosts: HashMap::new(),
            ports: HashMap::new(),
            mss: ETHERNET_MSS,
            router,
        }
    }

    /// A known host: its frames carry its MAC address and TTL.
    pub fn host(mut self, h: &Host) -> Rewriter {
        if let IpAddr::V4(ip) = h.ip {
            self.hosts.insert(ip, (h.mac, h.ttl));
        }
        self
    }

    /// TCP/UDP port `from` (a server's stand-in port) becomes `to`, on either side.
    pub fn port(mut self, from: u16, to: u16) -> Rewriter {
        self.ports.insert(from, to);
        self
    }

    /// Largest TCP payload per segment (at least 64).
    pub fn mss(mut self, mss: u16) -> Rewriter {
        self.mss = mss.max(64);
        self
    }

    /// The address map.
    pub fn nets(&self) -> &NetMap {
        &self.nets
    }

    /// MAC address and TTL of a plant address: the known host's, else the router's for
    /// hosts beyond 10/8 and a locally administered address made from the IPv4 address
    /// for the others.
    pub fn station(&self, ip: Ipv4Addr) -> (Mac, u8) {
        if let Some(h) = self.hosts.get(&ip) {
            return *h;
        }
        let o = ip.octets();
        if o[0] == 10 {
            ([0x02, 0x00, o[0], o[1], o[2], o[3]], 64)
        } else {
            (self.router, 52)
        }
    }

    fn port_of(&self, p: u16) -> u16 {
        self.ports.get(&p).copied().unwrap_or(p)
    }

    /// Rewrites one Ethernet frame of the raw capture into zero (not IPv4), one or more
    /// (a TCP segment cut to the MSS) frames appended to `out`. `packet` numbers errors.
    pub fn rewrite_frame(
        &self,
        frame: &[u8],
        packet: u64,
        out: &mut Vec<Vec<u8>>,
    ) -> Result<usize, RewriteError> {
        let Some(et) = frame.get(12..14) else {
            return Ok(0);
        };
        if u16::from_be_bytes([et[0], et[1]]) != ETHERTYPE_IPV4 {
            return Ok(0);
        }
        let Some(&vihl) = frame.get(ETH) else {
            return Ok(0);
        };
        let ihl = usize::from(vihl & 0x0f) * 4;
        let Some(ip) = frame.get(ETH..ETH + ihl.max(20)) else {
            return Ok(0);
        };
        if vihl >> 4 != 4 || ihl < 20 {
            return Ok(0);
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let Some(packet_bytes) = frame.get(ETH..ETH + total) else {
            return Ok(0); // cut by the snap length: cannot recompute checksums
        };
        if total < ihl {
            return Ok(0);
        }
        let src_lo = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst_lo = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let src = self.nets.to_plant(src_lo).ok_or(RewriteError::Unmapped {
            packet,
            addr: src_lo,
        })?;
        let dst = self.nets.to_plant(dst_lo).ok_or(RewriteError::Unmapped {
            packet,
            addr: dst_lo,
        })?;
        let (src_mac, ttl) = self.station(src);
        let (dst_mac, _) = self.station(dst);
        let proto = ip[9];
        let frag = u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff;
        let l4 = packet_bytes.get(ihl..).unwrap_or(&[]);
        let ip_hdr = packet_bytes.get(..ihl).unwrap_or(&[]);
        let before = out.len();
        if proto == PROTO_TCP && frag == 0 && l4.len() >= 20 {
            let doff = usize::from(l4[12] >> 4) * 4;
            if doff >= 20 && l4.len() >= doff {
                let (hdr, payload) = l4.split_at(doff);
                let mut tcp = hdr.to_vec();
                let sp = self.port_of(u16::from_be_bytes([tcp[0], tcp[1]]));
                let dp = self.port_of(u16::from_be_bytes([tcp[2], tcp[3]]));
                tcp[0..2].copy_from_slice(&sp.to_be_bytes());
                tcp[2..4].copy_from_slice(&dp.to_be_bytes());
                if tcp[13] & TCP_SYN != 0 {
                    clamp_mss(&mut tcp, self.mss);
                }
                let seq0 = u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]);
                let id0 = u16::from_be_bytes([ip[4], ip[5]]);
                let flags0 = tcp[13];
                let mss = usize::from(self.mss);
                let pieces = if payload.len() > mss {
                    payload.chunks(mss).collect::<Vec<_>>()
                } else {
                    vec![payload]
                };
                let n = pieces.len();
                let mut off = 0u32;
                for (i, chunk) in pieces.into_iter().enumerate() {
                    let last = i + 1 == n;
                    let mut t = tcp.clone();
                    t[4..8].copy_from_slice(&seq0.wrapping_add(off).to_be_bytes());
                    if !last {
                        t[13] = flags0 & !(TCP_FIN | TCP_PSH);
                    }
                    off = off.wrapping_add(u32::try_from(chunk.len()).unwrap_or(0));
                    let id = id0.wrapping_add(u16::try_from(i).unwrap_or(0));
                    out.push(build(
                        ip_hdr,
                        &[&t, chunk],
                        (src, dst),
                        (src_mac, dst_mac),
                        ttl,
                        id,
                        Some(16),
                    ));
                }
                return Ok(out.len() - before);
            }
        }
        if proto == PROTO_UDP && frag == 0 && l4.len() >= 8 {
            let mut u = l4.to_vec();
            let sp = self.port_of(u16::from_be_bytes([u[0], u[1]]));
            let dp = self.port_of(u16::from_be_bytes([u[2], u[3]]));
            u[0..2].copy_from_slice(&sp.to_be_bytes());
            u[2..4].copy_from_slice(&dp.to_be_bytes());
            let id = u16::from_be_bytes([ip[4], ip[5]]);
            out.push(build(
                ip_hdr,
                &[&u],
                (src, dst),
                (src_mac, dst_mac),
                ttl,
                id,
                Some(6),
            ));
            return Ok(1);
        }
        // ICMP, fragments, odd headers: addresses and IPv4 checksum only.
        let id = u16::from_be_bytes([ip[4], ip[5]]);
        out.push(build(
            ip_hdr,
            &[l4],
            (src, dst),
            (src_mac, dst_mac),
            ttl,
            id,
            None,
        ));
        Ok(1)
    }

    /// Rewrites capture `input` (pcap or pcapng, Ethernet) into a microsecond pcap
    /// written to `out`.
    pub fn rewrite_pcap(
        &self,
        input: &Path,
        out: impl Write,
    ) -> Result<RewriteStats, RewriteError> {
        let mut r = CaptureReader::open(input)?;
        let mut w = PcapWriter::new_micro(out, LinkType::ETHERNET, 262_144)?;
        let mut st = RewriteStats::default();
        let mut frames = Vec::new();
        while let Some(p) = r.next_packet()? {
            st.read += 1;
            if p.linktype != LinkType::ETHERNET {
                return Err(RewriteError::LinkType(p.linktype.0));
            }
            frames.clear();
            let n = self.rewrite_frame(p.data, st.read, &mut frames)?;
            if n == 0 {
                st.skipped += 1;
            }
            if n > 1 {
                st.split += 1;
            }
            for f in &frames {
                w.write(p.ts, f)?;
                st.written += 1;
            }
        }
        w.finish()?.flush()?;
        Ok(st)
    }
}

/// Sets the MSS option of a SYN's TCP header to at most `mss`.
fn clamp_mss(tcp: &mut [u8], mss: u16) {
    let doff = tcp.get(12).map_or(0, |b| usize::from(b >> 4) * 4);
    let mut i = 20;
    while i < doff.min(tcp.len()) {
        let Some(&kind) = tcp.get(i) else { break };
        match kind {
            0 => break,
            1 => i += 1,
            _ => {
                let len = tcp.get(i + 1).map_or(0, |l| usize::from(*l));
                if len < 2 {
                    break;
                }
                if kind == 2 && len == 4 {
                    if let Some(v) = tcp.get_mut(i + 2..i + 4) {
                        let cur = u16::from_be_bytes([v[0], v[1]]);
                        v.copy_from_slice(&cur.min(mss).to_be_bytes());
                    }
                }
                i += len;
            }
        }
    }
}

/// One Ethernet frame: `ip_hdr` with new addresses, TTL, id, length and checksum, then
/// the transport `parts` whose checksum (at `csum_at` in the first part, when given) is
/// recomputed over the pseudo-header. Padded to the Ethernet minimum.
fn build(
    ip_hdr: &[u8],
    parts: &[&[u8]],
    (src, dst): (Ipv4Addr, Ipv4Addr),
    (src_mac, dst_mac): (Mac, Mac),
    ttl: u8,
    id: u16,
    csum_at: Option<usize>,
) -> Vec<u8> {
    let l4_len: usize = parts.iter().map(|p| p.len()).sum();
    let total = ip_hdr.len() + l4_len;
    let mut f = Vec::with_capacity((ETH + total).max(MIN_FRAME));
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&ETHERTYPE_IPV4.to_be_bytes());
    let ip = f.len();
    f.extend_from_slice(ip_hdr);
    for p in parts {
        f.extend_from_slice(p);
    }
    let ihl = ip_hdr.len();
    if let Some(h) = f.get_mut(ip..ip + ihl) {
        if h.len() >= 20 {
            h[2..4].copy_from_slice(&u16::try_from(total).unwrap_or(u16::MAX).to_be_bytes());
            h[4..6].copy_from_slice(&id.to_be_bytes());
            h[8] = ttl;
            h[10] = 0;
            h[11] = 0;
            h[12..16].copy_from_slice(&src.octets());
            h[16..20].copy_from_slice(&dst.octets());
            let c = internet_checksum(h);
            h[10..12].copy_from_slice(&c.to_be_bytes());
        }
    }
    let proto = ip_hdr.get(9).copied().unwrap_or(0);
    if let Some(at) = csum_at {
        let l4 = ip + ihl;
        if let Some(seg) = f.get_mut(l4..l4 + l4_len) {
            if let Some(c) = seg.get_mut(at..at + 2) {
                c.copy_from_slice(&[0, 0]);
            }
            let mut sum = sum_words(0, &src.octets());
            sum = sum_words(sum, &dst.octets());
            sum += u64::from(proto) + l4_len as u64;
            let mut c = fold(sum_words(sum, seg));
            if c == 0 && proto == PROTO_UDP {
                c = 0xffff;
            }
            if let Some(x) = seg.get_mut(at..at + 2) {
                x.copy_from_slice(&c.to_be_bytes());
            }
        }
    }
    if f.len() < MIN_FRAME {
        f.resize(MIN_FRAME, 0);
    }
    f
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::{tcp_frame, udp_frame, verify_ipv4, Addrs, IpOpts, TcpHeader, L2};

    const PLC: Host = Host::new(
        [0x00, 0x80, 0xf4, 0x0a, 0x11, 0x10],
        IpAddr::V4(Ipv4Addr::new(10, 10, 1, 10)),
        64,
    );
    const HMI: Host = Host::new(
        [0x00, 0x14, 0x22, 0x6b, 0x02, 0x20],
        IpAddr::V4(Ipv4Addr::new(10, 10, 2, 20)),
        128,
    );
    const ROUTER: Mac = [0xac, 0x71, 0x2e, 0x4f, 0x10, 0x01];

    fn rewriter() -> Rewriter {
        Rewriter::new(NetMap::plant(77), ROUTER)
            .host(&PLC)
            .host(&HMI)
            .port(5020, 502)
    }

    fn lo(x: u8, h: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(127, 77, x, h))
    }

    fn ipv4(f: &[u8], at: usize) -> Ipv4Addr {
        Ipv4Addr::new(f[at], f[at + 1], f[at + 2], f[at + 3])
    }

    #[test]
    fn net_map_round_trips() {
        let m = NetMap::plant(77);
        let plc = Ipv4Addr::new(10, 10, 1, 10);
        let lo = m.to_loopback(plc).unwrap();
        assert_eq!(lo, Ipv4Addr::new(127, 77, 1, 10));
        assert_eq!(m.to_plant(lo), Some(plc));
        assert_eq!(
            m.to_plant(Ipv4Addr::new(127, 77, 113, 66)),
            Some(Ipv4Addr::new(203, 0, 113, 66))
        );
        assert_eq!(m.to_plant(Ipv4Addr::new(127, 78, 1, 10)), None);
        assert_eq!(m.to_plant(Ipv4Addr::new(127, 77, 9, 10)), None);
        assert_eq!(m.to_loopback(Ipv4Addr::new(8, 8, 8, 8)), None);
        assert_eq!(m.capture_filter(), "net 127.77.0.0/16");
    }

    /// A loopback frame as tcpdump writes it: zero MACs, a broken (offloaded) checksum;
    /// a SYN carries loopback's options (MSS 65495, window scale 7, SACK permitted).
    fn loopback_tcp(flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut buf = Vec::new();
        let addrs = Addrs::new(lo(2, 20), lo(1, 10)).unwrap();
        let hdr = TcpHeader {
            src_port: 40_001,
            dst_port: 5020,
            seq: 0xffff_f000,
            ack: 7,
            flags,
            window: 512,
            mss: Some(65_495),
            wscale: Some(7),
            sack_perm: true,
        };
        let l2 = L2::new([0; 6], [0; 6]);
        tcp_frame(&mut buf, &l2, &addrs, &IpOpts::default(), &hdr, payload).unwrap();
        let tcp = 14 + usize::from(buf[14] & 0x0f) * 4;
        buf[tcp + 16] = 0xde;
        buf[tcp + 17] = 0xad;
        buf
    }

    #[test]
    fn addresses_ports_macs_ttl_and_checksums() {
        let f = loopback_tcp(0x18, b"\x00\x01\x00\x00\x00\x06\x01\x03\x00\x00\x00\x0a");
        let mut out = Vec::new();
        assert_eq!(rewriter().rewrite_frame(&f, 1, &mut out).unwrap(), 1);
        let g = &out[0];
        assert_eq!(&g[0..6], &PLC.mac);
        assert_eq!(&g[6..12], &HMI.mac);
        assert_eq!(ipv4(g, 26), Ipv4Addr::new(10, 10, 2, 20));
        assert_eq!(ipv4(g, 30), Ipv4Addr::new(10, 10, 1, 10));
        assert_eq!(g[22], 128, "the HMI's TTL");
        assert_eq!(u16::from_be_bytes([g[34], g[35]]), 40_001);
        assert_eq!(u16::from_be_bytes([g[36], g[37]]), 502);
        assert_eq!(verify_ipv4(g), Some(true));
        assert!(g.len() >= MIN_FRAME);
        // The Modbus payload is untouched.
        assert!(g.ends_with(b"\x01\x03\x00\x00\x00\x0a"));
    }

    #[test]
    fn large_segments_are_cut_to_the_mss_in_sequence() {
        let payload: Vec<u8> = (0..4000u32).map(|i| (i % 251) as u8).collect();
        let f = loopback_tcp(0x19, &payload); // PSH|ACK|FIN
        let mut out = Vec::new();
        assert_eq!(rewriter().rewrite_frame(&f, 1, &mut out).unwrap(), 3);
        let mut joined = Vec::new();
        let mut seq = 0xffff_f000u32;
        for (i, g) in out.iter().enumerate() {
            assert_eq!(verify_ipv4(g), Some(true));
            assert!(g.len() <= 1514, "an Ethernet frame");
            let tcp = 34;
            assert_eq!(
                u32::from_be_bytes([g[tcp + 4], g[tcp + 5], g[tcp + 6], g[tcp + 7]]),
                seq,
                "sequence numbers follow (and wrap)"
            );
            let flags = g[tcp + 13];
            let last = i == 2;
            assert_eq!(
                flags & (TCP_FIN | TCP_PSH) != 0,
                last,
                "FIN/PSH on the last only"
            );
            assert_eq!(flags & 0x10, 0x10, "every piece ACKs");
            let total = usize::from(u16::from_be_bytes([g[16], g[17]]));
            let body = &g[tcp + 20..14 + total];
            seq = seq.wrapping_add(body.len() as u32);
            joined.extend_from_slice(body);
        }
        assert_eq!(joined, payload);
        // IP ids increase.
        assert_eq!(
            u16::from_be_bytes([out[1][18], out[1][19]]),
            u16::from_be_bytes([out[0][18], out[0][19]]).wrapping_add(1)
        );
    }

    #[test]
    fn syn_mss_is_clamped() {
        let f = loopback_tcp(0x02, &[]);
        let mut out = Vec::new();
        rewriter().rewrite_frame(&f, 1, &mut out).unwrap();
        let g = &out[0];
        assert_eq!(&g[54..58], &[2, 4, 0x05, 0xb4], "MSS 1460");
        assert_eq!(&g[58..66], &[1, 3, 3, 7, 1, 1, 4, 2], "other options kept");
        assert_eq!(verify_ipv4(g), Some(true));
    }

    #[test]
    fn udp_and_unknown_hosts() {
        let mut buf = Vec::new();
        let addrs = Addrs::new(lo(5, 31), lo(100, 53)).unwrap();
        let l2 = L2::new([0; 6], [0; 6]);
        udp_frame(
            &mut buf,
            &l2,
            &addrs,
            &IpOpts::default(),
            53_000,
            53,
            b"\x12\x34query",
        )
        .unwrap();
        let mut out = Vec::new();
        rewriter().rewrite_frame(&buf, 1, &mut out).unwrap();
        let g = &out[0];
        assert_eq!(&g[0..6], &ROUTER, "Internet hosts sit behind the router");
        assert_eq!(
            &g[6..12],
            &[0x02, 0x00, 10, 20, 5, 31],
            "locally administered"
        );
        assert_eq!(ipv4(g, 30), Ipv4Addr::new(198, 51, 100, 53));
        assert_eq!(verify_ipv4(g), Some(true));
    }

    #[test]
    fn foreign_addresses_are_errors_and_junk_is_skipped() {
        let mut buf = Vec::new();
        let addrs = Addrs::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1)), lo(1, 10)).unwrap();
        let l2 = L2::new([0; 6], [0; 6]);
        udp_frame(&mut buf, &l2, &addrs, &IpOpts::default(), 1, 2, b"x").unwrap();
        let mut out = Vec::new();
        assert!(matches!(
            rewriter().rewrite_frame(&buf, 9, &mut out),
            Err(RewriteError::Unmapped { packet: 9, .. })
        ));
        for junk in [&[][..], &[0u8; 13][..], &[0u8; 40][..]] {
            assert_eq!(rewriter().rewrite_frame(junk, 1, &mut out).unwrap(), 0);
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..1600)) {
            let mut out = Vec::new();
            let _ = rewriter().rewrite_frame(&data, 1, &mut out);
            // With an IPv4 loopback header in front, too.
            let mut f = loopback_tcp(0x18, b"");
            f.truncate(14);
            f.extend_from_slice(&data);
            let _ = rewriter().rewrite_frame(&f, 1, &mut out);
        }
    }
}
