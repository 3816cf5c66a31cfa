//! Byte-exactness against real captures: frames, Modbus ADUs and S7 PDUs taken from
//! public captures are rebuilt from their fields with this crate's builders and must come
//! out identical, checksums included.
mod common;
use common::{read_all, seg, shared_data};
use sluice_synth::app::{modbus, s7};
use sluice_synth::frame::{self, verify_ipv4, Addrs, IpOpts, TcpHeader, L2};
use std::net::{IpAddr, Ipv4Addr};

/// Rebuilds every plain IPv4 TCP/UDP frame (no IP or TCP options, no ECN) whose
/// checksums are valid; returns (rebuilt, mismatches).
fn rebuild_all(frames: &[(i64, Vec<u8>)]) -> (usize, Vec<usize>) {
    let mut ok = 0;
    let mut bad = Vec::new();
    let mut buf = Vec::new();
    for (i, (_, f)) in frames.iter().enumerate() {
        if f.len() < 34 || f[12..14] != [0x08, 0x00] || f[14] != 0x45 || f[15] & 0x03 != 0 {
            continue;
        }
        if verify_ipv4(f) != Some(true) {
            continue;
        }
        let ip = &f[14..];
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let fl = u16::from_be_bytes([ip[6], ip[7]]);
        if fl & !0x4000 != 0 || total > ip.len() {
            continue;
        }
        let l2 = L2::new(f[6..12].try_into().unwrap(), f[0..6].try_into().unwrap());
        let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
        let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
        let addrs = Addrs::new(IpAddr::V4(src), IpAddr::V4(dst)).unwrap();
        let opts = IpOpts {
            ttl: ip[8],
            id: u16::from_be_bytes([ip[4], ip[5]]),
            df: fl & 0x4000 != 0,
            dscp: ip[1] >> 2,
        };
        let l4 = &ip[20..total];
        let built = match ip[9] {
            6 => {
                let off = usize::from(l4[12] >> 4) * 4;
                let flags = l4[13];
                let ack = u32::from_be_bytes([l4[8], l4[9], l4[10], l4[11]]);
                if off != 20
                    || l4[12] & 0x0f != 0
                    || flags & 0xc0 != 0
                    || l4[18..20] != [0, 0]
                    || (flags & 0x10 == 0 && ack != 0)
                {
                    continue;
                }
                let h = TcpHeader {
                    src_port: u16::from_be_bytes([l4[0], l4[1]]),
                    dst_port: u16::from_be_bytes([l4[2], l4[3]]),
                    seq: u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]),
                    ack,
                    flags,
                    window: u16::from_be_bytes([l4[14], l4[15]]),
                    ..Default::default()
                };
                frame::tcp_frame(&mut buf, &l2, &addrs, &opts, &h, &l4[20..])
            }
            17 => frame::udp_frame(
                &mut buf,
                &l2,
                &addrs,
                &opts,
                u16::from_be_bytes([l4[0], l4[1]]),
                u16::from_be_bytes([l4[2], l4[3]]),
                &l4[8..],
            ),
            _ => continue,
        };
        built.unwrap();
        let end = 14 + total;
        if buf[..end] == f[..end] && buf[end..].iter().all(|b| *b == 0) && buf.len() == end.max(60)
        {
            ok += 1;
        } else {
            bad.push(i + 1);
        }
    }
    (ok, bad)
}

#[test]
fn frames_of_real_captures_rebuild_byte_exact() {
    let Some(data) = shared_data() else { return };
    for (file, min) in [
        ("pcaps/modbus/modbus-iti-modbus-test.pcap", 1000),
        ("pcaps/s7comm/s7comm-icsnpp-snap7.pcap", 30),
        ("pcaps/http/http-sv-all-headers.pcap", 10),
        ("pcaps/dns/dns-sv-nxdomain-soa.pcap", 2),
    ] {
        let frames = read_all(&data.join(file));
        let (ok, bad) = rebuild_all(&frames);
        assert!(bad.is_empty(), "{file}: frames {bad:?} differ");
        assert!(ok >= min, "{file}: only {ok} frames rebuilt");
    }
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

#[test]
fn modbus_adus_of_a_real_capture_reencode_byte_exact() {
    let Some(data) = shared_data() else { return };
    let mut checked = std::collections::BTreeMap::new();
    let files = [
        "pcaps/modbus/modbus-iti-modbus-test.pcap",
        "pcaps/modbus/modbus-digitalbond-test-data-part1.pcap",
        "pcaps/modbus/modbus-digitalbond-test-data-part2.pcap",
        "pcaps/modbus/modbus-sv-mixed.pcap",
        "pcaps/modbus/modbus-zeek-coils-small.pcap",
    ];
    let frames: Vec<(i64, Vec<u8>)> = files.iter().flat_map(|f| read_all(&data.join(f))).collect();
    for (_, f) in &frames {
        let Some(s) = seg(f) else { continue };
        let p = s.payload;
        // One whole ADU per segment, protocol id 0 (test traffic sometimes varies it).
        if p.len() < 8 || usize::from(be16(p, 4)) + 6 != p.len() || be16(p, 2) != 0 {
            continue;
        }
        let (tid, unit, fcode, d) = (be16(p, 0), p[6], p[7], &p[8..]);
        let request = s.dport == 502;
        let bits = |bytes: &[u8], n: usize| -> Vec<bool> {
            (0..n).map(|i| bytes[i / 8] >> (i % 8) & 1 == 1).collect()
        };
        let regs = |bytes: &[u8]| -> Vec<u16> {
            bytes
                .chunks(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect()
        };
        let mut out = Vec::new();
        let (bits_v, regs_v);
        // Only ADUs whose data length is the one the specification gives (test traffic
        // holds deliberately odd ones).
        let n = d.len();
        let spec_len = match (request, fcode) {
            (true, 1..=6) | (false, 5 | 6 | 15 | 16) => 4,
            (true, 15 | 16) if n >= 5 => 5 + usize::from(d[4]),
            (false, 1..=4) if n >= 1 => 1 + usize::from(d[0]),
            (false, 0x80..=0xff) => 1,
            _ => continue,
        };
        if n != spec_len {
            continue;
        }
        let pdu = match (request, fcode) {
            (true, 1..=4) => modbus::Pdu::Read {
                fc: fcode,
                address: be16(d, 0),
                quantity: be16(d, 2),
            },
            (_, 5) => modbus::Pdu::WriteSingleCoil {
                address: be16(d, 0),
                value: d[2] == 0xff,
            },
            (_, 6) => modbus::Pdu::WriteSingleRegister {
                address: be16(d, 0),
                value: be16(d, 2),
            },
            (true, 15) => {
                bits_v = bits(&d[5..], usize::from(be16(d, 2)).min((n - 5) * 8));
                modbus::Pdu::WriteMultipleCoils {
                    address: be16(d, 0),
                    values: &bits_v,
                }
            }
            (true, 16) => {
                regs_v = regs(&d[5..]);
                modbus::Pdu::WriteMultipleRegisters {
                    address: be16(d, 0),
                    values: &regs_v,
                }
            }
            (false, 1 | 2) => {
                bits_v = bits(&d[1..], (n - 1) * 8);
                modbus::Pdu::ReadBits {
                    fc: fcode,
                    bits: &bits_v,
                }
            }
            (false, 3 | 4) => {
                regs_v = regs(&d[1..]);
                modbus::Pdu::ReadRegisters {
                    fc: fcode,
                    values: &regs_v,
                }
            }
            (false, 15 | 16) => modbus::Pdu::WriteMultipleAck {
                fc: fcode,
                address: be16(d, 0),
                quantity: be16(d, 2),
            },
            (false, 0x80..=0xff) => modbus::Pdu::Exception {
                fc: fcode & 0x7f,
                code: d[0],
            },
            _ => continue,
        };
        if modbus::encode(&mut out, tid, unit, &pdu).is_err() {
            // Out of the specification's ranges (e.g. quantity 0 in test traffic): the
            // builder refuses and appends nothing.
            assert!(out.is_empty());
            continue;
        }
        assert_eq!(out, p, "FC {fcode} request={request}");
        *checked.entry((request, fcode)).or_insert(0) += 1;
    }
    assert!(checked.len() >= 12, "function codes covered: {checked:?}");
}

#[test]
fn s7_plc_stop_and_setup_of_a_real_capture_reencode_byte_exact() {
    let Some(data) = shared_data() else { return };
    let frames = read_all(&data.join("pcaps/s7comm/s7comm-icsnpp-snap7.pcap"));
    let mut seen = 0;
    for (_, f) in &frames {
        let Some(s) = seg(f) else { continue };
        let p = s.payload;
        if p.len() < 18 || p[7] != 0x32 {
            continue;
        }
        let (rosctr, pdu_ref) = (p[8], be16(p, 11));
        let mut out = Vec::new();
        match (rosctr, p.get(17), p.get(19)) {
            (1, Some(&0x29), _) => s7::job(&mut out, pdu_ref, &s7::plc_stop_param(), &[]).unwrap(),
            (3, _, Some(&0x29)) => {
                s7::ack_data(&mut out, pdu_ref, p[17], p[18], &[0x29], &[]).unwrap()
            }
            (1, Some(&0xf0), _) => s7::job(
                &mut out,
                pdu_ref,
                &s7::setup_param(be16(p, 19), be16(p, 21), be16(p, 23)),
                &[],
            )
            .unwrap(),
            (3, _, Some(&0xf0)) => s7::ack_data(
                &mut out,
                pdu_ref,
                p[17],
                p[18],
                &s7::setup_param(be16(p, 21), be16(p, 23), be16(p, 25)),
                &[],
            )
            .unwrap(),
            _ => continue,
        }
        assert_eq!(out, p);
        seen += 1;
    }
    assert!(seen >= 4, "PLC stop and setup, job and ack: {seen}");
}
