use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use thiserror::Error;

/// LINKTYPE values understood by [`decode`].
pub mod linktype {
    pub const NULL: u32 = 0;
    pub const ETHERNET: u32 = 1;
    pub const RAW: u32 = 101;
    pub const LOOP: u32 = 108;
    pub const LINUX_SLL: u32 = 113;
    pub const IPV4: u32 = 228;
    pub const IPV6: u32 = 229;
    pub const LINUX_SLL2: u32 = 276;
}

/// Ethertypes of interest.
pub mod ethertype {
    pub const IPV4: u16 = 0x0800;
    pub const ARP: u16 = 0x0806;
    pub const VLAN: u16 = 0x8100;
    pub const QINQ: u16 = 0x88a8;
    pub const VLAN_9100: u16 = 0x9100;
    pub const IPV6: u16 = 0x86dd;
    pub const PROFINET: u16 = 0x8892;
    pub const GOOSE: u16 = 0x88b8;
    pub const SV: u16 = 0x88ba;
    pub const LLDP: u16 = 0x88cc;
}

/// Why a frame could not be decoded. Frames that fail are counted, never fatal.
#[derive(Debug, Error, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    #[error("unsupported link type {0}")]
    UnsupportedLinkType(u32),
    #[error("{layer} header truncated")]
    Truncated { layer: &'static str },
    #[error("bad {layer} header: {what}")]
    Malformed {
        layer: &'static str,
        what: &'static str,
    },
}

fn trunc(layer: &'static str) -> DecodeError {
    DecodeError::Truncated { layer }
}

#[inline]
fn be16(b: &[u8], at: usize) -> Option<u16> {
    let s = b.get(at..at + 2)?;
    Some(u16::from_be_bytes([s[0], s[1]]))
}

#[inline]
fn be32(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// A MAC address.
pub type Mac = [u8; 6];

/// A decoded frame.
#[derive(Clone, Debug, PartialEq)]
pub struct Decoded<'a> {
    pub src_mac: Option<Mac>,
    pub dst_mac: Option<Mac>,
    /// Outer and inner 802.1Q VLAN ids (0 when absent).
    pub vlan: [u16; 2],
    pub net: Net<'a>,
}

impl Decoded<'_> {
    /// A single number combining the VLAN tags, used in flow keys.
    pub fn vlan_key(&self) -> u32 {
        (u32::from(self.vlan[0]) << 12) | u32::from(self.vlan[1])
    }
}

/// The network layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Net<'a> {
    Ip(Ip<'a>),
    Arp(Arp),
    /// Another ethertype (GOOSE, Profinet, LLDP...) with its payload.
    Other {
        ethertype: u16,
        payload: &'a [u8],
    },
}

/// ARP (Ethernet/IPv4 only).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Arp {
    pub op: u16,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

/// Fragment information of an IP packet that is a fragment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fragment {
    /// Identification (IPv4 16-bit, IPv6 32-bit).
    pub id: u32,
    /// Offset of this fragment's payload in bytes.
    pub offset: u32,
    pub more: bool,
}

/// An IPv4 or IPv6 packet.
#[derive(Clone, Debug, PartialEq)]
pub struct Ip<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    /// Transport protocol number (after IPv6 extension headers).
    pub proto: u8,
    pub ttl: u8,
    /// Present when this packet is a fragment (not the whole datagram).
    pub fragment: Option<Fragment>,
    /// The transport layer; `Transport::Fragment` when `fragment` is set.
    pub transport: Transport<'a>,
}

/// TCP flag bits.
pub mod tcp_flags {
    pub const FIN: u8 = 0x01;
    pub const SYN: u8 = 0x02;
    pub const RST: u8 = 0x04;
    pub const PSH: u8 = 0x08;
    pub const ACK: u8 = 0x10;
    pub const URG: u8 = 0x20;
    pub const ECE: u8 = 0x40;
    pub const CWR: u8 = 0x80;
}

/// The transport layer.
#[derive(Clone, Debug, PartialEq)]
pub enum Transport<'a> {
    Tcp(Tcp<'a>),
    Udp(Udp<'a>),
    Icmp(Icmp<'a>),
    /// The fragment's bytes, to be reassembled.
    Fragment(&'a [u8]),
    Other(&'a [u8]),
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Tcp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: u8,
    pub window: u16,
    pub payload: &'a [u8],
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Udp<'a> {
    pub src_port: u16,
    pub dst_port: u16,
    pub payload: &'a [u8],
}

/// ICMP (v4 or v6, told apart by `Ip::proto`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Icmp<'a> {
    pub icmp_type: u8,
    pub code: u8,
    pub payload: &'a [u8],
}

/// IP protocol numbers.
pub mod ipproto {
    pub const ICMP: u8 = 1;
    pub const TCP: u8 = 6;
    pub const UDP: u8 = 17;
    pub const ICMPV6: u8 = 58;
}

/// Decodes one frame of the given link type.
pub fn decode(linktype: u32, frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    match linktype {
        linktype::ETHERNET => decode_ethernet(frame),
        linktype::RAW | linktype::IPV4 | linktype::IPV6 => {
            let version = frame.first().ok_or(trunc("ip"))? >> 4;
            let et = match version {
                4 => ethertype::IPV4,
                6 => ethertype::IPV6,
                _ => {
                    return Err(DecodeError::Malformed {
                        layer: "ip",
                        what: "version is neither 4 nor 6",
                    })
                }
            };
            decode_l3(None, None, [0, 0], et, frame)
        }
        linktype::NULL | linktype::LOOP => {
            let h = frame.get(..4).ok_or(trunc("loopback"))?;
            let family = if linktype == linktype::NULL {
                // Host byte order of the capturing machine: accept either.
                let le = u32::from_le_bytes([h[0], h[1], h[2], h[3]]);
                let be = u32::from_be_bytes([h[0], h[1], h[2], h[3]]);
                if le < 256 {
                    le
                } else {
                    be
                }
            } else {
                u32::from_be_bytes([h[0], h[1], h[2], h[3]])
            };
            let et = match family {
                2 => ethertype::IPV4,
                // AF_INET6 differs between BSDs: 24 (NetBSD/OpenBSD), 28 (FreeBSD), 30 (Darwin).
                24 | 28 | 30 => ethertype::IPV6,
                _ => {
                    return Err(DecodeError::Malformed {
                        layer: "loopback",
                        what: "unknown address family",
                    })
                }
            };
            decode_l3(None, None, [0, 0], et, &frame[4..])
        }
        linktype::LINUX_SLL => {
            // packet type(2) arphrd(2) addr len(2) addr(8) protocol(2)
            let proto = be16(frame, 14).ok_or(trunc("linux cooked"))?;
            let alen = be16(frame, 4).ok_or(trunc("linux cooked"))?;
            let src = if alen == 6 { mac_at(frame, 6) } else { None };
            decode_l3(src, None, [0, 0], proto, &frame[16..])
        }
        linktype::LINUX_SLL2 => {
            // protocol(2) reserved(2) ifindex(4) arphrd(2) pkttype(1) addr len(1) addr(8)
            let proto = be16(frame, 0).ok_or(trunc("linux cooked v2"))?;
            let alen = *frame.get(11).ok_or(trunc("linux cooked v2"))?;
            if frame.len() < 20 {
                return Err(trunc("linux cooked v2"));
            }
            let src = if alen == 6 { mac_at(frame, 12) } else { None };
            decode_l3(src, None, [0, 0], proto, &frame[20..])
        }
        other => Err(DecodeError::UnsupportedLinkType(other)),
    }
}

fn mac_at(b: &[u8], at: usize) -> Option<Mac> {
    let s = b.get(at..at + 6)?;
    let mut m = [0u8; 6];
    m.copy_from_slice(s);
    Some(m)
}

fn decode_ethernet(frame: &[u8]) -> Result<Decoded<'_>, DecodeError> {
    if frame.len() < 14 {
        return Err(trunc("ethernet"));
    }
    let dst = mac_at(frame, 0);
    let src = mac_at(frame, 6);
    let mut et = be16(frame, 12).ok_or(trunc("ethernet"))?;
    let mut off = 14;
    let mut vlan = [0u16; 2];
    let mut tags = 0;
    while et == ethertype::VLAN || et == ethertype::QINQ || et == ethertype::VLAN_9100 {
        let tci = be16(frame, off).ok_or(trunc("802.1q"))?;
        et = be16(frame, off + 2).ok_or(trunc("802.1q"))?;
        if tags < 2 {
            vlan[tags] = tci & 0x0fff;
        }
        tags += 1;
        off += 4;
        if tags > 8 {
            return Err(DecodeError::Malformed {
                layer: "802.1q",
                what: "too many VLAN tags",
            });
        }
    }
    if et < 0x0600 {
        // 802.3 length field (LLC/SNAP): not IP; keep it as Other.
        return Ok(Decoded {
            src_mac: src,
            dst_mac: dst,
            vlan,
            net: Net::Other {
                ethertype: et,
                payload: &frame[off..],
            },
        });
    }
    decode_l3(src, dst, vlan, et, &frame[off..])
}

fn decode_l3<'a>(
    src_mac: Option<Mac>,
    dst_mac: Option<Mac>,
    vlan: [u16; 2],
    et: u16,
    b: &'a [u8],
) -> Result<Decoded<'a>, DecodeError> {
    let net = match et {
        ethertype::IPV4 => Net::Ip(decode_ipv4(b)?),
        ethertype::IPV6 => Net::Ip(decode_ipv6(b)?),
        ethertype::ARP => Net::Arp(decode_arp(b)?),
        _ => Net::Other {
            ethertype: et,
            payload: b,
        },
    };
    Ok(Decoded {
        src_mac,
        dst_mac,
        vlan,
        net,
    })
}

fn decode_arp(b: &[u8]) -> Result<Arp, DecodeError> {
    if b.len() < 28 {
        return Err(trunc("arp"));
    }
    if be16(b, 0) != Some(1) || be16(b, 2) != Some(ethertype::IPV4) || b[4] != 6 || b[5] != 4 {
        return Err(DecodeError::Malformed {
            layer: "arp",
            what: "not Ethernet/IPv4 ARP",
        });
    }
    let ip = |at: usize| Ipv4Addr::new(b[at], b[at + 1], b[at + 2], b[at + 3]);
    Ok(Arp {
        op: be16(b, 6).unwrap_or(0),
        sender_mac: mac_at(b, 8).unwrap_or_default(),
        sender_ip: ip(14),
        target_mac: mac_at(b, 18).unwrap_or_default(),
        target_ip: ip(24),
    })
}

/// Decodes an IPv4 header and what follows.
pub fn decode_ipv4(b: &[u8]) -> Result<Ip<'_>, DecodeError> {
    if b.len() < 20 {
        return Err(trunc("ipv4"));
    }
    if b[0] >> 4 != 4 {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            what: "version is not 4",
        });
    }
    let ihl = usize::from(b[0] & 0x0f) * 4;
    if ihl < 20 || ihl > b.len() {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            what: "header length out of range",
        });
    }
    let total = usize::from(be16(b, 2).unwrap_or(0));
    // Frames are often padded; TSO captures may show total length 0. Trust the smaller.
    let end = if total >= ihl && total <= b.len() {
        total
    } else if total == 0 {
        b.len()
    } else if total < ihl {
        return Err(DecodeError::Malformed {
            layer: "ipv4",
            what: "total length shorter than header",
        });
    } else {
        b.len() // truncated by snaplen: decode what we have
    };
    let id = u32::from(be16(b, 4).unwrap_or(0));
    let ff = be16(b, 6).unwrap_or(0);
    let more = ff & 0x2000 != 0;
    let offset = u32::from(ff & 0x1fff) * 8;
    let proto = b[9];
    let src = IpAddr::V4(Ipv4Addr::new(b[12], b[13], b[14], b[15]));
    let dst = IpAddr::V4(Ipv4Addr::new(b[16], b[17], b[18], b[19]));
    let payload = &b[ihl..end];
    let (fragment, transport) = if more || offset != 0 {
        (
            Some(Fragment { id, offset, more }),
            Transport::Fragment(payload),
        )
    } else {
        (None, decode_transport(proto, payload)?)
    };
    Ok(Ip {
        src,
        dst,
        proto,
        ttl: b[8],
        fragment,
        transport,
    })
}

/// Decodes an IPv6 header, its extension headers and what follows.
pub fn decode_ipv6(b: &[u8]) -> Result<Ip<'_>, DecodeError> {
    if b.len() < 40 {
        return Err(trunc("ipv6"));
    }
    if b[0] >> 4 != 6 {
        return Err(DecodeError::Malformed {
            layer: "ipv6",
            what: "version is not 6",
        });
    }
    let plen = usize::from(be16(b, 4).unwrap_or(0));
    let end = if plen == 0 {
        b.len() // jumbogram or TSO: take what was captured
    } else {
        (40 + plen).min(b.len())
    };
    let mut src = [0u8; 16];
    src.copy_from_slice(&b[8..24]);
    let mut dst = [0u8; 16];
    dst.copy_from_slice(&b[24..40]);
    let mut next = b[6];
    let mut off = 40;
    let mut fragment = None;
    // Walk extension headers (bounded).
    for _ in 0..16 {
        match next {
            0 | 43 | 60 | 135 | 139 | 140 => {
                let h = b.get(off..off + 2).ok_or(trunc("ipv6 extension"))?;
                let len = (usize::from(h[1]) + 1) * 8;
                next = h[0];
                off += len;
                if off > end {
                    return Err(trunc("ipv6 extension"));
                }
            }
            44 => {
                let h = b.get(off..off + 8).ok_or(trunc("ipv6 fragment"))?;
                next = h[0];
                let fo = u16::from_be_bytes([h[2], h[3]]);
                fragment = Some(Fragment {
                    id: u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
                    offset: u32::from(fo >> 3) * 8,
                    more: fo & 1 != 0,
                });
                off += 8;
            }
            51 => {
                // Authentication header: length in 4-octet units minus 2.
                let h = b.get(off..off + 2).ok_or(trunc("ipv6 ah"))?;
                next = h[0];
                off += (usize::from(h[1]) + 2) * 4;
                if off > end {
                    return Err(trunc("ipv6 ah"));
                }
            }
            _ => break,
        }
    }
    let payload = b.get(off..end).ok_or(trunc("ipv6"))?;
    let transport = match fragment {
        // An atomic fragment (offset 0, no more) is a whole datagram.
        Some(f) if f.offset != 0 || f.more => Transport::Fragment(payload),
        _ => decode_transport(next, payload)?,
    };
    let fragment = fragment.filter(|f| f.offset != 0 || f.more);
    Ok(Ip {
        src: IpAddr::V6(Ipv6Addr::from(src)),
        dst: IpAddr::V6(Ipv6Addr::from(dst)),
        proto: next,
        ttl: b[7],
        fragment,
        transport,
    })
}

/// Decodes a transport header (`proto` is the IP protocol number).
pub fn decode_transport(proto: u8, b: &[u8]) -> Result<Transport<'_>, DecodeError> {
    match proto {
        ipproto::TCP => {
            if b.len() < 20 {
                return Err(trunc("tcp"));
            }
            let doff = usize::from(b[12] >> 4) * 4;
            if doff < 20 || doff > b.len() {
                return Err(DecodeError::Malformed {
                    layer: "tcp",
                    what: "data offset out of range",
                });
            }
            Ok(Transport::Tcp(Tcp {
                src_port: be16(b, 0).unwrap_or(0),
                dst_port: be16(b, 2).unwrap_or(0),
                seq: be32(b, 4).unwrap_or(0),
                ack: be32(b, 8).unwrap_or(0),
                flags: b[13],
                window: be16(b, 14).unwrap_or(0),
                payload: &b[doff..],
            }))
        }
        ipproto::UDP => {
            if b.len() < 8 {
                return Err(trunc("udp"));
            }
            let len = usize::from(be16(b, 4).unwrap_or(0));
            let end = if len >= 8 && len <= b.len() {
                len
            } else {
                b.len()
            };
            Ok(Transport::Udp(Udp {
                src_port: be16(b, 0).unwrap_or(0),
                dst_port: be16(b, 2).unwrap_or(0),
                payload: &b[8..end],
            }))
        }
        ipproto::ICMP | ipproto::ICMPV6 => {
            if b.len() < 4 {
                return Err(trunc("icmp"));
            }
            Ok(Transport::Icmp(Icmp {
                icmp_type: b[0],
                code: b[1],
                payload: &b[4..],
            }))
        }
        _ => Ok(Transport::Other(b)),
    }
}
