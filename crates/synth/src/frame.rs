//! Frame building: Ethernet II (optionally 802.1Q-tagged), IPv4 / IPv6, TCP, UDP, ICMP
//! echo and ARP, each written whole into a caller-owned, reusable `Vec<u8>` with correct
//! lengths and checksums.
//!
//! Every `*_frame` function clears the buffer first and leaves exactly one frame in it,
//! padded to the Ethernet minimum of 60 bytes (frame check sequence not included), as a
//! capture on a switch port shows it.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// A 48-bit Ethernet address.
pub type Mac = [u8; 6];

/// The Ethernet broadcast address.
pub const BROADCAST: Mac = [0xff; 6];

/// EtherType of IPv4.
pub const ETHERTYPE_IPV4: u16 = 0x0800;
/// EtherType of ARP.
pub const ETHERTYPE_ARP: u16 = 0x0806;
/// EtherType of an 802.1Q tag.
pub const ETHERTYPE_VLAN: u16 = 0x8100;
/// EtherType of IPv6.
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// IP protocol number of ICMP.
pub const PROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const PROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const PROTO_UDP: u8 = 17;
/// IP protocol number (next header) of ICMPv6.
pub const PROTO_ICMPV6: u8 = 58;

/// Shortest Ethernet frame without its frame check sequence.
pub const MIN_FRAME: usize = 60;

/// TCP flag bits.
pub mod flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
}

/// Why a frame could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    #[error("source and destination addresses are of different IP versions")]
    MixedFamilies,
    #[error("{0} bytes of payload do not fit in one IP packet")]
    TooLarge(usize),
    #[error("VLAN id {0} is outside 0..=4095")]
    BadVlan(u16),
}

/// Ethernet addressing of one frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct L2 {
    pub src: Mac,
    pub dst: Mac,
    /// 802.1Q VLAN id (priority 0) when the frame is tagged.
    pub vlan: Option<u16>,
}

impl L2 {
    /// Untagged addressing from `src` to `dst`.
    pub fn new(src: Mac, dst: Mac) -> Self {
        L2 {
            src,
            dst,
            vlan: None,
        }
    }

    /// The same addressing in the other direction.
    pub fn reversed(&self) -> Self {
        L2 {
            src: self.dst,
            dst: self.src,
            vlan: self.vlan,
        }
    }
}

/// A pair of IP addresses of the same version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Addrs {
    V4 { src: Ipv4Addr, dst: Ipv4Addr },
    V6 { src: Ipv6Addr, dst: Ipv6Addr },
}

impl Addrs {
    /// Pairs two addresses; fails when one is IPv4 and the other IPv6.
    pub fn new(src: IpAddr, dst: IpAddr) -> Result<Self, FrameError> {
        match (src, dst) {
            (IpAddr::V4(src), IpAddr::V4(dst)) => Ok(Addrs::V4 { src, dst }),
            (IpAddr::V6(src), IpAddr::V6(dst)) => Ok(Addrs::V6 { src, dst }),
            _ => Err(FrameError::MixedFamilies),
        }
    }

    /// The same pair in the other direction.
    pub fn reversed(&self) -> Self {
        match *self {
            Addrs::V4 { src, dst } => Addrs::V4 { src: dst, dst: src },
            Addrs::V6 { src, dst } => Addrs::V6 { src: dst, dst: src },
        }
    }
}

/// Per-packet IP header fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpOpts {
    /// Time to live (IPv4) or hop limit (IPv6).
    pub ttl: u8,
    /// IPv4 identification (ignored for IPv6).
    pub id: u16,
    /// IPv4 "don't fragment" flag.
    pub df: bool,
    /// Differentiated services code point (6 bits).
    pub dscp: u8,
}

impl Default for IpOpts {
    fn default() -> Self {
        IpOpts {
            ttl: 64,
            id: 0,
            df: true,
            dscp: 0,
        }
    }
}

/// TCP header fields. Options are written only when the SYN flag is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TcpHeader {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    /// Flag bits, see [`flags`].
    pub flags: u8,
    pub window: u16,
    /// Maximum segment size option (SYN only).
    pub mss: Option<u16>,
    /// Window scale option (SYN only).
    pub wscale: Option<u8>,
    /// SACK-permitted option (SYN only).
    pub sack_perm: bool,
}

/// ARP operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpOp {
    Request = 1,
    Reply = 2,
}

/// Adds `data` to a running one's-complement sum (big-endian 16-bit words; an odd last
/// byte is padded with zero). Only the final [`fold`] makes it a checksum.
pub fn sum_words(mut sum: u64, data: &[u8]) -> u64 {
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut w = [0u8; 8];
        w.copy_from_slice(c);
        let v = u64::from_be_bytes(w);
        sum += (v >> 48) + ((v >> 32) & 0xffff) + ((v >> 16) & 0xffff) + (v & 0xffff);
    }
    let mut pairs = chunks.remainder().chunks_exact(2);
    for p in &mut pairs {
        sum += u64::from(u16::from_be_bytes([p[0], p[1]]));
    }
    if let [last] = pairs.remainder() {
        sum += u64::from(*last) << 8;
    }
    sum
}

/// Folds a running sum into the 16-bit one's-complement checksum.
pub fn fold(mut sum: u64) -> u16 {
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The Internet checksum (RFC 1071) of `data`.
pub fn internet_checksum(data: &[u8]) -> u16 {
    fold(sum_words(0, data))
}

fn pseudo_header_sum(addrs: &Addrs, proto: u8, len: usize) -> u64 {
    match addrs {
        Addrs::V4 { src, dst } => {
            let s = sum_words(0, &src.octets());
            let s = sum_words(s, &dst.octets());
            s + u64::from(proto) + len as u64
        }
        Addrs::V6 { src, dst } => {
            let s = sum_words(0, &src.octets());
            let s = sum_words(s, &dst.octets());
            s + u64::from(proto) + len as u64
        }
    }
}

fn put_u16(buf: &mut [u8], at: usize, v: u16) {
    if let Some(d) = buf.get_mut(at..at + 2) {
        d.copy_from_slice(&v.to_be_bytes());
    }
}

/// Appends an Ethernet II header (with its 802.1Q tag when `l2.vlan` is set).
pub fn ethernet(buf: &mut Vec<u8>, l2: &L2, ethertype: u16) -> Result<(), FrameError> {
    buf.extend_from_slice(&l2.dst);
    buf.extend_from_slice(&l2.src);
    if let Some(vid) = l2.vlan {
        if vid > 0x0fff {
            return Err(FrameError::BadVlan(vid));
        }
        buf.extend_from_slice(&ETHERTYPE_VLAN.to_be_bytes());
        buf.extend_from_slice(&vid.to_be_bytes());
    }
    buf.extend_from_slice(&ethertype.to_be_bytes());
    Ok(())
}

fn pad(buf: &mut Vec<u8>) {
    if buf.len() < MIN_FRAME {
        buf.resize(MIN_FRAME, 0);
    }
}

/// Writes Ethernet + IP headers, lets `l4` append the transport header and payload,
/// then fills in lengths and checksums. `csum_at` is the offset of the transport
/// checksum inside the transport header; `pseudo` says whether it covers a pseudo-header.
#[allow(clippy::too_many_arguments)]
fn ip_frame(
    buf: &mut Vec<u8>,
    l2: &L2,
    addrs: &Addrs,
    ip: &IpOpts,
    proto: u8,
    csum_at: usize,
    pseudo: bool,
    l4: impl FnOnce(&mut Vec<u8>),
) -> Result<(), FrameError> {
    buf.clear();
    let ethertype = match addrs {
        Addrs::V4 { .. } => ETHERTYPE_IPV4,
        Addrs::V6 { .. } => ETHERTYPE_IPV6,
    };
    ethernet(buf, l2, ethertype)?;
    let ip_start = buf.len();
    match addrs {
        Addrs::V4 { src, dst } => {
            buf.push(0x45);
            buf.push((ip.dscp & 0x3f) << 2);
            buf.extend_from_slice(&[0, 0]); // total length, below
            buf.extend_from_slice(&ip.id.to_be_bytes());
            buf.extend_from_slice(&(if ip.df { 0x4000u16 } else { 0 }).to_be_bytes());
            buf.push(ip.ttl);
            buf.push(proto);
            buf.extend_from_slice(&[0, 0]); // header checksum, below
            buf.extend_from_slice(&src.octets());
            buf.extend_from_slice(&dst.octets());
        }
        Addrs::V6 { src, dst } => {
            let first = 0x6000_0000u32 | (u32::from(ip.dscp & 0x3f) << 22);
            buf.extend_from_slice(&first.to_be_bytes());
            buf.extend_from_slice(&[0, 0]); // payload length, below
            buf.push(proto);
            buf.push(ip.ttl);
            buf.extend_from_slice(&src.octets());
            buf.extend_from_slice(&dst.octets());
        }
    }
    let l4_start = buf.len();
    l4(buf);
    let l4_len = buf.len() - l4_start;
    match addrs {
        Addrs::V4 { .. } => {
            let total = u16::try_from(l4_len + 20).map_err(|_| FrameError::TooLarge(l4_len))?;
            put_u16(buf, ip_start + 2, total);
            let csum = buf
                .get(ip_start..l4_start)
                .map(internet_checksum)
                .unwrap_or(0);
            put_u16(buf, ip_start + 10, csum);
        }
        Addrs::V6 { .. } => {
            let plen = u16::try_from(l4_len).map_err(|_| FrameError::TooLarge(l4_len))?;
            put_u16(buf, ip_start + 4, plen);
        }
    }
    let start = if pseudo {
        pseudo_header_sum(addrs, proto, l4_len)
    } else {
        0
    };
    let mut csum = buf
        .get(l4_start..)
        .map(|seg| fold(sum_words(start, seg)))
        .unwrap_or(0);
    if csum == 0 && proto == PROTO_UDP {
        csum = 0xffff; // zero means "no checksum" in UDP
    }
    put_u16(buf, l4_start + csum_at, csum);
    pad(buf);
    Ok(())
}

/// Builds one TCP segment. Options (MSS, window scale, SACK-permitted) are written only
/// on segments with SYN set.
pub fn tcp_frame(
    buf: &mut Vec<u8>,
    l2: &L2,
    addrs: &Addrs,
    ip: &IpOpts,
    tcp: &TcpHeader,
    payload: &[u8],
) -> Result<(), FrameError> {
    if payload.len() > 65_000 {
        return Err(FrameError::TooLarge(payload.len()));
    }
    ip_frame(buf, l2, addrs, ip, PROTO_TCP, 16, true, |b| {
        let mut opts = [0u8; 40];
        let mut n = 0;
        if tcp.flags & flags::SYN != 0 {
            if let Some(mss) = tcp.mss {
                opts[n..n + 4].copy_from_slice(&[2, 4, (mss >> 8) as u8, mss as u8]);
                n += 4;
            }
            if let Some(ws) = tcp.wscale {
                opts[n..n + 4].copy_from_slice(&[1, 3, 3, ws]);
                n += 4;
            }
            if tcp.sack_perm {
                opts[n..n + 4].copy_from_slice(&[1, 1, 4, 2]);
                n += 4;
            }
        }
        let data_offset = ((20 + n) / 4) as u8;
        b.extend_from_slice(&tcp.src_port.to_be_bytes());
        b.extend_from_slice(&tcp.dst_port.to_be_bytes());
        b.extend_from_slice(&tcp.seq.to_be_bytes());
        b.extend_from_slice(&tcp.ack.to_be_bytes());
        b.push(data_offset << 4);
        b.push(tcp.flags);
        b.extend_from_slice(&tcp.window.to_be_bytes());
        b.extend_from_slice(&[0, 0, 0, 0]); // checksum, urgent pointer
        b.extend_from_slice(&opts[..n]);
        b.extend_from_slice(payload);
    })
}

/// Builds one UDP datagram.
pub fn udp_frame(
    buf: &mut Vec<u8>,
    l2: &L2,
    addrs: &Addrs,
    ip: &IpOpts,
    src_port: u16,
    dst_port: u16,
    payload: &[u8],
) -> Result<(), FrameError> {
    let len = u16::try_from(payload.len() + 8).map_err(|_| FrameError::TooLarge(payload.len()))?;
    ip_frame(buf, l2, addrs, ip, PROTO_UDP, 6, true, |b| {
        b.extend_from_slice(&src_port.to_be_bytes());
        b.extend_from_slice(&dst_port.to_be_bytes());
        b.extend_from_slice(&len.to_be_bytes());
        b.extend_from_slice(&[0, 0]);
        b.extend_from_slice(payload);
    })
}

/// Builds an ICMP (IPv4) or ICMPv6 echo request or reply.
#[allow(clippy::too_many_arguments)]
pub fn icmp_echo_frame(
    buf: &mut Vec<u8>,
    l2: &L2,
    addrs: &Addrs,
    ip: &IpOpts,
    reply: bool,
    ident: u16,
    seq: u16,
    payload: &[u8],
) -> Result<(), FrameError> {
    let (proto, ty, pseudo) = match (addrs, reply) {
        (Addrs::V4 { .. }, false) => (PROTO_ICMP, 8, false),
        (Addrs::V4 { .. }, true) => (PROTO_ICMP, 0, false),
        (Addrs::V6 { .. }, false) => (PROTO_ICMPV6, 128, true),
        (Addrs::V6 { .. }, true) => (PROTO_ICMPV6, 129, true),
    };
    ip_frame(buf, l2, addrs, ip, proto, 2, pseudo, |b| {
        b.extend_from_slice(&[ty, 0, 0, 0]);
        b.extend_from_slice(&ident.to_be_bytes());
        b.extend_from_slice(&seq.to_be_bytes());
        b.extend_from_slice(payload);
    })
}

/// Builds an ARP request or reply for IPv4 over Ethernet. For a request `target_mac` is
/// normally all zeros and `l2.dst` the broadcast address.
pub fn arp_frame(
    buf: &mut Vec<u8>,
    l2: &L2,
    op: ArpOp,
    sender_mac: Mac,
    sender_ip: Ipv4Addr,
    target_mac: Mac,
    target_ip: Ipv4Addr,
) -> Result<(), FrameError> {
    buf.clear();
    ethernet(buf, l2, ETHERTYPE_ARP)?;
    buf.extend_from_slice(&[0, 1, 0x08, 0x00, 6, 4, 0, op as u8]);
    buf.extend_from_slice(&sender_mac);
    buf.extend_from_slice(&sender_ip.octets());
    buf.extend_from_slice(&target_mac);
    buf.extend_from_slice(&target_ip.octets());
    pad(buf);
    Ok(())
}

/// Where the IP packet of an Ethernet frame starts (after any 802.1Q / QinQ tags), and
/// its EtherType.
fn ip_offset(frame: &[u8]) -> Option<(usize, u16)> {
    let mut off = 12;
    loop {
        let et = u16::from_be_bytes([*frame.get(off)?, *frame.get(off + 1)?]);
        if et == ETHERTYPE_VLAN || et == 0x88a8 {
            off += 4;
            continue;
        }
        return Some((off + 2, et));
    }
}

/// Rewrites the IPv4 source and destination of an Ethernet frame, if it carries an
/// unfragmented IPv4 packet, and recomputes the IPv4 header checksum and, when the
/// whole segment was captured, the TCP/UDP checksum. Returns whether the frame was
/// IPv4. Never panics, whatever the bytes.
pub fn rewrite_ipv4(frame: &mut [u8], src: Ipv4Addr, dst: Ipv4Addr) -> bool {
    let Some((ip, ETHERTYPE_IPV4)) = ip_offset(frame) else {
        return false;
    };
    let Some(&vihl) = frame.get(ip) else {
        return false;
    };
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 || frame.len() < ip + ihl {
        return false;
    }
    frame[ip + 12..ip + 16].copy_from_slice(&src.octets());
    frame[ip + 16..ip + 20].copy_from_slice(&dst.octets());
    frame[ip + 10] = 0;
    frame[ip + 11] = 0;
    let hc = internet_checksum(&frame[ip..ip + ihl]);
    put_u16(frame, ip + 10, hc);
    let total = usize::from(u16::from_be_bytes([frame[ip + 2], frame[ip + 3]]));
    let frag = u16::from_be_bytes([frame[ip + 6], frame[ip + 7]]) & 0x3fff;
    let proto = frame[ip + 9];
    if frag != 0 || total < ihl || frame.len() < ip + total {
        return true; // a fragment or a truncated packet: leave the transport checksum
    }
    let l4 = ip + ihl;
    let l4_len = total - ihl;
    let csum_at = match proto {
        PROTO_TCP if l4_len >= 20 => 16,
        PROTO_UDP if l4_len >= 8 => 6,
        _ => return true,
    };
    if proto == PROTO_UDP && frame[l4 + 6] == 0 && frame[l4 + 7] == 0 {
        return true; // sender chose no UDP checksum
    }
    frame[l4 + csum_at] = 0;
    frame[l4 + csum_at + 1] = 0;
    let addrs = Addrs::V4 { src, dst };
    let mut c = fold(sum_words(
        pseudo_header_sum(&addrs, proto, l4_len),
        &frame[l4..l4 + l4_len],
    ));
    if c == 0 && proto == PROTO_UDP {
        c = 0xffff;
    }
    put_u16(frame, l4 + csum_at, c);
    true
}

/// Checks the IPv4 header checksum and the TCP/UDP/ICMP checksum of an Ethernet frame.
/// `None` when the frame is not a complete IPv4 packet.
pub fn verify_ipv4(frame: &[u8]) -> Option<bool> {
    let (ip, et) = ip_offset(frame)?;
    if et != ETHERTYPE_IPV4 {
        return None;
    }
    let vihl = *frame.get(ip)?;
    let ihl = usize::from(vihl & 0x0f) * 4;
    if vihl >> 4 != 4 || ihl < 20 {
        return None;
    }
    let hdr = frame.get(ip..ip + ihl)?;
    if internet_checksum(hdr) != 0 {
        return Some(false);
    }
    let total = usize::from(u16::from_be_bytes([*hdr.get(2)?, *hdr.get(3)?]));
    let proto = *hdr.get(9)?;
    let seg = frame.get(ip + ihl..ip + total.max(ihl))?;
    let src = Ipv4Addr::new(hdr[12], hdr[13], hdr[14], hdr[15]);
    let dst = Ipv4Addr::new(hdr[16], hdr[17], hdr[18], hdr[19]);
    let addrs = Addrs::V4 { src, dst };
    let ok = match proto {
        PROTO_TCP | PROTO_UDP => {
            fold(sum_words(pseudo_header_sum(&addrs, proto, seg.len()), seg)) == 0
        }
        PROTO_ICMP => internet_checksum(seg) == 0,
        _ => true,
    };
    Some(ok)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: Mac = [0x00, 0x80, 0xf4, 0x01, 0x02, 0x03];
    const B: Mac = [0x00, 0x14, 0x22, 0x0a, 0x0b, 0x0c];

    #[test]
    fn rfc1071_example_header() {
        // The IPv4 header used as the worked example in many texts: checksum 0xb861.
        let hdr = [
            0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8,
            0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7,
        ];
        assert_eq!(internet_checksum(&hdr), 0xb861);
        // Odd length: last byte padded with zero.
        assert_eq!(internet_checksum(&[0x01]), !0x0100);
    }

    #[test]
    fn modbus_request_frame_layout() {
        let mut buf = Vec::new();
        let l2 = L2::new(B, [0x00, 0x00, 0xbc, 0x01, 0x02, 0x03]);
        let addrs = Addrs::V4 {
            src: Ipv4Addr::new(10, 0, 0, 57),
            dst: Ipv4Addr::new(10, 0, 0, 3),
        };
        let ip = IpOpts {
            ttl: 128,
            id: 0x1234,
            df: true,
            dscp: 0,
        };
        let tcp = TcpHeader {
            src_port: 3000,
            dst_port: 502,
            seq: 1,
            ack: 2,
            flags: flags::PSH | flags::ACK,
            window: 64240,
            ..Default::default()
        };
        let pdu = [
            0x00, 0x01, 0x00, 0x00, 0x00, 0x06, 0x01, 0x03, 0x00, 0x00, 0x00, 0x0a,
        ];
        tcp_frame(&mut buf, &l2, &addrs, &ip, &tcp, &pdu).unwrap();
        assert_eq!(buf.len(), 14 + 20 + 20 + 12);
        assert_eq!(&buf[0..6], &[0x00, 0x00, 0xbc, 0x01, 0x02, 0x03]);
        assert_eq!(&buf[12..14], &[0x08, 0x00]);
        assert_eq!(&buf[14..20], &[0x45, 0x00, 0x00, 0x34, 0x12, 0x34]);
        assert_eq!(&buf[20..24], &[0x40, 0x00, 0x80, 0x06]);
        assert_eq!(&buf[34..38], &[0x0b, 0xb8, 0x01, 0xf6]);
        assert_eq!(buf[46], 0x50);
        assert_eq!(buf[47], 0x18);
        assert_eq!(&buf[54..], &pdu);
        assert_eq!(verify_ipv4(&buf), Some(true));
        // Header checksum computed independently.
        assert_eq!(internet_checksum(&buf[14..34]), 0);
    }

    #[test]
    fn syn_options_and_padding() {
        let mut buf = Vec::new();
        let l2 = L2 {
            src: A,
            dst: B,
            vlan: Some(101),
        };
        let addrs =
            Addrs::new("10.10.2.20".parse().unwrap(), "10.10.1.10".parse().unwrap()).unwrap();
        let tcp = TcpHeader {
            src_port: 49152,
            dst_port: 502,
            seq: 7,
            flags: flags::SYN,
            window: 64240,
            mss: Some(1460),
            wscale: Some(8),
            sack_perm: true,
            ..Default::default()
        };
        tcp_frame(&mut buf, &l2, &addrs, &IpOpts::default(), &tcp, &[]).unwrap();
        // 14 + 4 (tag) + 20 + 32
        assert_eq!(buf.len(), 70);
        assert_eq!(&buf[12..16], &[0x81, 0x00, 0x00, 101]);
        assert_eq!(buf[18 + 20 + 12], 0x80); // data offset 8 words
        assert_eq!(&buf[58..62], &[2, 4, 0x05, 0xb4]);
        assert_eq!(verify_ipv4(&buf), Some(true));
        // A bare ACK is padded to 60 bytes; padding is not covered by the checksums.
        let ack = TcpHeader {
            flags: flags::ACK,
            ..tcp
        };
        tcp_frame(
            &mut buf,
            &L2::new(A, B),
            &addrs,
            &IpOpts::default(),
            &ack,
            &[],
        )
        .unwrap();
        assert_eq!(buf.len(), 60);
        assert_eq!(verify_ipv4(&buf), Some(true));
    }

    #[test]
    fn udp_icmp_arp_and_ipv6() {
        let mut buf = Vec::new();
        let v4 = Addrs::new(
            "10.20.5.23".parse().unwrap(),
            "198.51.100.53".parse().unwrap(),
        )
        .unwrap();
        udp_frame(
            &mut buf,
            &L2::new(A, B),
            &v4,
            &IpOpts::default(),
            53000,
            53,
            b"hello",
        )
        .unwrap();
        assert_eq!(verify_ipv4(&buf), Some(true));
        icmp_echo_frame(
            &mut buf,
            &L2::new(A, B),
            &v4,
            &IpOpts::default(),
            false,
            1,
            2,
            b"x",
        )
        .unwrap();
        assert_eq!(buf[34], 8);
        assert_eq!(verify_ipv4(&buf), Some(true));
        arp_frame(
            &mut buf,
            &L2::new(A, BROADCAST),
            ArpOp::Request,
            A,
            Ipv4Addr::new(10, 10, 2, 20),
            [0; 6],
            Ipv4Addr::new(10, 10, 1, 10),
        )
        .unwrap();
        assert_eq!(buf.len(), 60);
        assert_eq!(&buf[12..22], &[0x08, 0x06, 0, 1, 8, 0, 6, 4, 0, 1]);
        let v6 = Addrs::new(
            "2001:db8::1".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
        )
        .unwrap();
        udp_frame(
            &mut buf,
            &L2::new(A, B),
            &v6,
            &IpOpts::default(),
            1,
            2,
            b"abc",
        )
        .unwrap();
        assert_eq!(&buf[12..14], &[0x86, 0xdd]);
        assert_eq!(&buf[18..20], &[0, 11]);
        // UDP checksum over pseudo-header + segment must fold to zero.
        let seg = &buf[54..];
        let s = pseudo_header_sum(&v6, PROTO_UDP, seg.len());
        assert_eq!(fold(sum_words(s, seg)), 0);
        assert_eq!(
            Addrs::new("10.0.0.1".parse().unwrap(), "::1".parse().unwrap()),
            Err(FrameError::MixedFamilies)
        );
    }

    #[test]
    fn rewrite_keeps_checksums_valid() {
        let mut buf = Vec::new();
        let addrs = Addrs::new("127.0.0.1".parse().unwrap(), "127.0.0.1".parse().unwrap()).unwrap();
        let tcp = TcpHeader {
            src_port: 40000,
            dst_port: 102,
            flags: flags::ACK | flags::PSH,
            ..Default::default()
        };
        tcp_frame(
            &mut buf,
            &L2::new(A, B),
            &addrs,
            &IpOpts::default(),
            &tcp,
            b"\x03\x00\x00\x07abc",
        )
        .unwrap();
        assert!(rewrite_ipv4(
            &mut buf,
            Ipv4Addr::new(10, 1, 2, 3),
            Ipv4Addr::new(10, 4, 5, 6)
        ));
        assert_eq!(&buf[26..34], &[10, 1, 2, 3, 10, 4, 5, 6]);
        assert_eq!(verify_ipv4(&buf), Some(true));
        let mut arp = vec![0u8; 60];
        arp[12] = 0x08;
        arp[13] = 0x06;
        assert!(!rewrite_ipv4(
            &mut arp,
            Ipv4Addr::LOCALHOST,
            Ipv4Addr::LOCALHOST
        ));
    }
}
