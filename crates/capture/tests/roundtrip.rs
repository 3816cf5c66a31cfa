//! Captures written by this crate's writers in every variant read back exactly
//! (no shared data needed: these run on a fresh clone).
mod common;

use common::{gzip, read_all, read_bytes, sample_packets, temp_path, Owned, Rng};
use sluice_capture::{
    ByteOrder, CaptureReader, Format, InterfaceOptions, LinkType, PcapNgWriter, PcapWriter,
    TsResolution, MAX_PACKET_LEN,
};
use std::io::Read;

fn pcap_file(res: TsResolution, order: ByteOrder, pkts: &[(i64, Vec<u8>)]) -> Vec<u8> {
    let mut w = PcapWriter::with_options(Vec::new(), LinkType::ETHERNET, 65535, res, order)
        .expect("header");
    for (ts, d) in pkts {
        w.write(*ts, d).expect("write");
    }
    w.finish().expect("finish")
}

fn expected_pcap(pkts: &[(i64, Vec<u8>)]) -> Vec<Owned> {
    pkts.iter()
        .map(|(ts, d)| Owned {
            ts: *ts,
            linktype: LinkType::ETHERNET,
            data: d.clone(),
            orig_len: d.len() as u32,
            interface: 0,
        })
        .collect()
}

#[test]
fn pcap_all_variants_round_trip() {
    // Microsecond steps so that microsecond files are exact.
    let pkts = sample_packets(600, 1600, 1000, 7);
    let cases = [
        (
            TsResolution::Micro,
            ByteOrder::Little,
            [0xd4, 0xc3, 0xb2, 0xa1],
        ),
        (
            TsResolution::Micro,
            ByteOrder::Big,
            [0xa1, 0xb2, 0xc3, 0xd4],
        ),
        (
            TsResolution::Nano,
            ByteOrder::Little,
            [0x4d, 0x3c, 0xb2, 0xa1],
        ),
        (TsResolution::Nano, ByteOrder::Big, [0xa1, 0xb2, 0x3c, 0x4d]),
    ];
    for (res, order, magic) in cases {
        let bytes = pcap_file(res, order, &pkts);
        assert_eq!(bytes[..4], magic, "{res:?} {order:?}");
        for (name, input) in [("plain", bytes.clone()), ("gzip", gzip(&bytes))] {
            let mut r =
                CaptureReader::from_reader(name, std::io::Cursor::new(input)).expect("open");
            assert_eq!(
                r.format(),
                Format::Pcap {
                    nanosecond: res == TsResolution::Nano,
                    big_endian: order == ByteOrder::Big
                }
            );
            assert_eq!(r.is_gzip(), name == "gzip");
            assert_eq!(r.linktype(), Some(LinkType::ETHERNET));
            let (got, err) = read_all(&mut r);
            assert!(err.is_none(), "{err:?}");
            assert_eq!(got, expected_pcap(&pkts), "{res:?} {order:?} {name}");
            assert_eq!(r.packets_read(), pkts.len() as u64);
        }
    }
}

#[test]
fn microsecond_pcap_rounds_down_and_nanosecond_keeps_everything() {
    let ts = 1_600_000_000_123_456_789i64;
    for (res, want) in [
        (TsResolution::Micro, 1_600_000_000_123_456_000),
        (TsResolution::Nano, ts),
    ] {
        let bytes = pcap_file(res, ByteOrder::Little, &[(ts, vec![1, 2, 3])]);
        let (got, _) = read_bytes("x", &bytes).expect("open");
        assert_eq!(got[0].ts, want);
    }
}

#[test]
fn snap_length_cuts_packets_and_keeps_wire_length() {
    let mut w = PcapWriter::new_micro(Vec::new(), LinkType::RAW, 100).expect("header");
    w.write(1_000_000_000, &[7u8; 300]).expect("write");
    w.write_packet(2_000_000_000, &[8u8; 50], 1500)
        .expect("write");
    let bytes = w.finish().expect("finish");
    let (got, err) = read_bytes("snap", &bytes).expect("open");
    assert!(err.is_none());
    assert_eq!((got[0].data.len(), got[0].orig_len), (100, 300));
    assert_eq!((got[1].data.len(), got[1].orig_len), (50, 1500));
    assert_eq!(got[1].linktype, LinkType::RAW);
}

#[test]
fn writers_refuse_what_pcap_cannot_hold() {
    let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 0).expect("header");
    assert!(w.write(-1, &[1]).is_err(), "before 1970");
    assert!(w.write(i64::MAX, &[1]).is_err(), "after 2106");
    assert!(
        w.write(0, &vec![0u8; MAX_PACKET_LEN as usize + 1]).is_err(),
        "too long"
    );
    w.write(0, &vec![0u8; MAX_PACKET_LEN as usize])
        .expect("the maximum is fine");
    let bytes = w.finish().expect("finish");
    let (got, err) = read_bytes("max", &bytes).expect("open");
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].data.len(), MAX_PACKET_LEN as usize);
}

fn put16(order: ByteOrder, v: u16) -> [u8; 2] {
    if order == ByteOrder::Big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}
fn put32(order: ByteOrder, v: u32) -> [u8; 4] {
    if order == ByteOrder::Big {
        v.to_be_bytes()
    } else {
        v.to_le_bytes()
    }
}

/// A pcapng with four interfaces of different link types and resolutions, EPBs, SPBs,
/// an obsolete Packet Block, blocks to skip, and a second section.
fn rich_pcapng(order: ByteOrder, seed: u64) -> (Vec<u8>, Vec<Owned>) {
    let mut rng = Rng(seed);
    let mut w = PcapNgWriter::with_byte_order(Vec::new(), order).expect("shb");
    let mut exp = Vec::new();
    let eth = w
        .add_interface_with(&InterfaceOptions {
            name: Some("eth0".into()),
            ..InterfaceOptions::new(LinkType::ETHERNET, 0)
        })
        .expect("idb");
    // A Name Resolution Block and a custom block between the interfaces: skipped.
    w.write_block(4, &[0u8; 12]).expect("nrb");
    w.write_block(0x0000_0BAD, b"custom data!!")
        .expect("custom");
    let raw = w
        .add_interface_with(&InterfaceOptions {
            tsresol: 6,
            ..InterfaceOptions::new(LinkType::RAW, 1500)
        })
        .expect("idb");
    let null = w
        .add_interface_with(&InterfaceOptions {
            tsresol: 0x80 | 10,
            ..InterfaceOptions::new(LinkType::NULL, 0)
        })
        .expect("idb");
    let sll = w
        .add_interface_with(&InterfaceOptions {
            tsresol: 3,
            tsoffset: 1_000_000_000,
            ..InterfaceOptions::new(LinkType::LINUX_SLL, 64)
        })
        .expect("idb");
    assert_eq!((eth, raw, null, sll), (0, 1, 2, 3));
    let mut sec = 1_500_000_000i64;
    let mut last_ts = 0i64;
    for i in 0..250 {
        sec += 1;
        let len = rng.below(200) as usize;
        let data = rng.bytes(len);
        let (iface, ts, linktype, cap) = match i % 6 {
            0 => (
                eth,
                sec * 1_000_000_000 + rng.below(1_000_000_000) as i64,
                LinkType::ETHERNET,
                len,
            ),
            1 => (
                raw,
                sec * 1_000_000_000 + rng.below(1_000_000) as i64 * 1000,
                LinkType::RAW,
                len,
            ),
            // 2^-10 s ticks: multiples of 1953125 ns are exact.
            2 => (
                null,
                sec * 1_000_000_000 + rng.below(512) as i64 * 1_953_125,
                LinkType::NULL,
                len,
            ),
            3 => (
                sll,
                sec * 1_000_000_000 + rng.below(1000) as i64 * 1_000_000,
                LinkType::LINUX_SLL,
                len.min(64),
            ),
            4 => {
                // Simple Packet Block: interface 0, timestamp of the previous packet.
                w.write_spb(&data, len as u32).expect("spb");
                exp.push(Owned {
                    ts: last_ts,
                    linktype: LinkType::ETHERNET,
                    data,
                    orig_len: len as u32,
                    interface: 0,
                });
                continue;
            }
            _ => {
                // Obsolete Packet Block (type 2) on interface 1 (microseconds).
                let ts = sec * 1_000_000_000 + 250_000;
                let units = (ts / 1000) as u64;
                let mut body = Vec::new();
                body.extend_from_slice(&put16(order, 1));
                body.extend_from_slice(&put16(order, 0));
                body.extend_from_slice(&put32(order, (units >> 32) as u32));
                body.extend_from_slice(&put32(order, units as u32));
                body.extend_from_slice(&put32(order, len as u32));
                body.extend_from_slice(&put32(order, len as u32 + 4));
                body.extend_from_slice(&data);
                body.resize(body.len().next_multiple_of(4), 0);
                w.write_block(2, &body).expect("pb");
                exp.push(Owned {
                    ts,
                    linktype: LinkType::RAW,
                    data,
                    orig_len: len as u32 + 4,
                    interface: 1,
                });
                last_ts = ts;
                // An Interface Statistics Block and a Decryption Secrets Block: skipped.
                w.write_block(5, &[0u8; 12]).expect("isb");
                w.write_block(0x0000_000A, &[1u8; 9]).expect("dsb");
                continue;
            }
        };
        w.write_epb(iface, ts, &data, len as u32).expect("epb");
        exp.push(Owned {
            ts,
            linktype,
            data: data[..cap].to_vec(),
            orig_len: len as u32,
            interface: iface,
        });
        last_ts = ts;
    }
    // A second section: interfaces start again at 0.
    w.new_section().expect("shb");
    let wifi = w.add_interface(LinkType(105), 0).expect("idb");
    assert_eq!(wifi, 0);
    for k in 0..20 {
        let ts = 1_800_000_000_000_000_000 + k;
        let data = rng.bytes(k as usize);
        w.write(ts, LinkType(105), &data).expect("epb");
        exp.push(Owned {
            ts,
            linktype: LinkType(105),
            data,
            orig_len: k as u32,
            interface: 0,
        });
    }
    (w.finish().expect("finish"), exp)
}

#[test]
fn pcapng_all_variants_round_trip() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let (bytes, exp) = rich_pcapng(order, 99);
        for (name, input) in [("plain", bytes.clone()), ("gzip", gzip(&bytes))] {
            let mut r =
                CaptureReader::from_reader(name, std::io::Cursor::new(input)).expect("open");
            assert_eq!(r.format(), Format::PcapNg);
            let (got, err) = read_all(&mut r);
            assert!(err.is_none(), "{order:?} {name}: {err:?}");
            assert_eq!(got.len(), exp.len());
            for (i, (g, e)) in got.iter().zip(&exp).enumerate() {
                assert_eq!(g, e, "{order:?} {name}: packet {i}");
            }
            // The reader ends in the second section with its one interface.
            assert_eq!(r.interfaces().len(), 1);
            assert_eq!(r.linktype(), Some(LinkType(105)));
        }
    }
}

#[test]
fn pcapng_sections_of_both_byte_orders_in_one_stream() {
    let (le, mut exp) = rich_pcapng(ByteOrder::Little, 1);
    let (be, exp_be) = rich_pcapng(ByteOrder::Big, 2);
    exp.extend(exp_be);
    let both = [le, be].concat();
    let (got, err) = read_bytes("both.pcapng", &both).expect("open");
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, exp);
}

#[test]
fn pcapng_interface_options_are_reported() {
    let (bytes, _) = rich_pcapng(ByteOrder::Little, 3);
    let mut r = CaptureReader::from_reader("x", std::io::Cursor::new(bytes)).expect("open");
    r.next_packet().expect("read").expect("packet");
    let ifs = r.interfaces();
    assert_eq!(ifs.len(), 4);
    assert_eq!(
        ifs.iter()
            .map(|i| (i.linktype, i.snaplen, i.tsresol, i.tsoffset))
            .collect::<Vec<_>>(),
        vec![
            (LinkType::ETHERNET, 0, 9, 0),
            (LinkType::RAW, 1500, 6, 0),
            (LinkType::NULL, 0, 0x8a, 0),
            (LinkType::LINUX_SLL, 64, 3, 1_000_000_000),
        ]
    );
}

#[test]
fn power_of_two_resolution_is_exact_on_known_units() {
    // 2^-10 s: 5.5 s is 5632 units; 2^-30: 1 unit = 0.931... ns, 2^30 units = 1 s.
    for (tsresol, units, want_ns) in [
        (0x8au8, 5632u64, 5_500_000_000i64),
        (0x9e, 1 << 30, 1_000_000_000),
        (0x9e, 3, 2),
    ] {
        let mut w = PcapNgWriter::new(Vec::new()).expect("shb");
        w.add_interface_with(&InterfaceOptions {
            tsresol,
            ..InterfaceOptions::new(LinkType::ETHERNET, 0)
        })
        .expect("idb");
        let mut body = Vec::new();
        body.extend_from_slice(&0u32.to_le_bytes());
        body.extend_from_slice(&((units >> 32) as u32).to_le_bytes());
        body.extend_from_slice(&(units as u32).to_le_bytes());
        body.extend_from_slice(&[0u8; 8]);
        w.write_block(6, &body).expect("epb");
        let (got, err) = read_bytes("p2", &w.finish().expect("finish")).expect("open");
        assert!(err.is_none(), "{err:?}");
        assert_eq!(got[0].ts, want_ns, "tsresol {tsresol:#x} units {units}");
    }
}

#[test]
fn writer_picks_one_interface_per_link_type() {
    let mut w = PcapNgWriter::new(Vec::new()).expect("shb");
    w.write(1, LinkType::ETHERNET, &[1]).expect("w");
    w.write(2, LinkType::RAW, &[2]).expect("w");
    w.write(3, LinkType::ETHERNET, &[3]).expect("w");
    let (got, _) = read_bytes("x", &w.finish().expect("finish")).expect("open");
    assert_eq!(
        got.iter()
            .map(|p| (p.interface, p.linktype))
            .collect::<Vec<_>>(),
        vec![
            (0, LinkType::ETHERNET),
            (1, LinkType::RAW),
            (0, LinkType::ETHERNET)
        ]
    );
}

/// Returns at most a few bytes per `read` call, to exercise every refill path.
struct Trickle {
    data: std::io::Cursor<Vec<u8>>,
    rng: Rng,
}

impl Read for Trickle {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = (1 + self.rng.below(13) as usize).min(buf.len());
        self.data.read(&mut buf[..n])
    }
}

#[test]
fn records_across_buffer_refills_and_odd_read_sizes() {
    // ~6 MiB of packets up to 64 KiB: many records straddle the 1 MiB block boundary.
    let pkts = sample_packets(200, 65_535, 1, 11);
    let bytes = pcap_file(TsResolution::Nano, ByteOrder::Little, &pkts);
    let exp = expected_pcap(&pkts);
    let (got, err) = read_bytes("big", &bytes).expect("open");
    assert!(err.is_none());
    assert!(got == exp, "plain, large blocks");
    let small = pcap_file(TsResolution::Nano, ByteOrder::Big, &pkts[..20]);
    let trickle = Trickle {
        data: std::io::Cursor::new(small),
        rng: Rng(5),
    };
    let mut r = CaptureReader::from_reader("trickle", trickle).expect("open");
    let (got, err) = read_all(&mut r);
    assert!(err.is_none());
    assert!(got == expected_pcap(&pkts[..20]), "a few bytes per read");
    let (ng, ng_exp) = rich_pcapng(ByteOrder::Big, 4);
    let trickle = Trickle {
        data: std::io::Cursor::new(ng),
        rng: Rng(6),
    };
    let mut r = CaptureReader::from_reader("trickle.pcapng", trickle).expect("open");
    let (got, err) = read_all(&mut r);
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, ng_exp);
}

#[test]
fn huge_unknown_blocks_are_skipped_without_loading() {
    let mut w = PcapNgWriter::new(Vec::new()).expect("shb");
    w.write(10, LinkType::ETHERNET, b"before").expect("w");
    // 40 MiB custom block: more than the buffer and than MAX_BLOCK_LEN, yet skippable.
    w.write_block(0x4000_0BAD, &vec![0x5a; 40 << 20])
        .expect("custom");
    w.write(20, LinkType::ETHERNET, b"after").expect("w");
    let bytes = w.finish().expect("finish");
    for (name, input) in [("plain", bytes.clone()), ("gzip", gzip(&bytes))] {
        let (got, err) = read_bytes(name, &input).expect("open");
        assert!(err.is_none(), "{name}: {err:?}");
        assert_eq!(
            got.iter().map(|p| p.data.clone()).collect::<Vec<_>>(),
            vec![b"before".to_vec(), b"after".to_vec()]
        );
    }
}

#[test]
fn open_reads_files_and_gzip_files_with_stats() {
    let pkts = sample_packets(300, 1500, 1000, 21);
    let bytes = pcap_file(TsResolution::Micro, ByteOrder::Little, &pkts);
    let plain = temp_path("stats.pcap");
    let gz = temp_path("stats.pcap.gz");
    std::fs::write(&plain, &bytes).expect("write");
    let gz_bytes = gzip(&bytes);
    std::fs::write(&gz, &gz_bytes).expect("write");

    let mut r = CaptureReader::open(&plain).expect("open");
    assert_eq!(r.total_bytes(), Some(bytes.len() as u64));
    assert_eq!(r.bytes_read(), 24, "after the header");
    r.next_packet().expect("read").expect("packet");
    assert_eq!(r.bytes_read(), 24 + 16 + pkts[0].1.len() as u64);
    let (rest, err) = read_all(&mut r);
    assert!(err.is_none());
    assert_eq!(rest.len(), pkts.len() - 1);
    assert_eq!(r.bytes_read(), bytes.len() as u64);
    assert_eq!(r.path(), plain.as_path());

    let mut r = CaptureReader::open(&gz).expect("open");
    assert!(r.is_gzip());
    assert_eq!(r.total_bytes(), Some(gz_bytes.len() as u64));
    let (all, err) = read_all(&mut r);
    assert!(err.is_none());
    assert_eq!(all, expected_pcap(&pkts));
    assert_eq!(r.bytes_read(), gz_bytes.len() as u64);
    std::fs::remove_file(&plain).ok();
    std::fs::remove_file(&gz).ok();
}

#[test]
fn concatenated_gzip_members_read_as_one_stream() {
    // `cat a.gz b.gz` is valid gzip: the pcap header is in the first member only.
    let pkts = sample_packets(50, 500, 1000, 3);
    let bytes = pcap_file(TsResolution::Nano, ByteOrder::Little, &pkts);
    let cut = 24 + 16 + pkts[0].1.len() + 7;
    let two = [gzip(&bytes[..cut]), gzip(&bytes[cut..])].concat();
    let (got, err) = read_bytes("two.gz", &two).expect("open");
    assert!(err.is_none(), "{err:?}");
    assert_eq!(got, expected_pcap(&pkts));
}

/// Nanoseconds for `units` ticks of `if_tsresol` `r`, computed independently (exact rational, floor).
fn reference_ns(r: u8, units: u64) -> i128 {
    let (num, den): (u128, u128) = if r & 0x80 == 0 {
        let k = u32::from(r);
        if k <= 9 {
            (10u128.pow(9 - k), 1)
        } else {
            (1, 10u128.pow(k - 9))
        }
    } else {
        (1_000_000_000, 1u128 << (r & 0x7f))
    };
    (u128::from(units) * num / den) as i128
}

#[test]
fn every_kind_of_tsresol_reads_like_the_reference() {
    let mut rng = Rng(77);
    for r in [
        0u8, 1, 3, 6, 9, 10, 12, 15, 19, 0x80, 0x81, 0x8a, 0x94, 0x9e, 0xa0, 0xbf, 0xff,
    ] {
        let mut w = PcapNgWriter::new(Vec::new()).expect("shb");
        w.add_interface_with(&InterfaceOptions {
            tsresol: r,
            ..InterfaceOptions::new(LinkType::ETHERNET, 0)
        })
        .expect("idb");
        let units: Vec<u64> = (0..20)
            .map(|i| {
                if i == 0 {
                    0
                } else {
                    rng.next() >> (rng.below(40) as u32)
                }
            })
            .collect();
        for u in &units {
            let mut body = Vec::new();
            body.extend_from_slice(&0u32.to_le_bytes());
            body.extend_from_slice(&((u >> 32) as u32).to_le_bytes());
            body.extend_from_slice(&(*u as u32).to_le_bytes());
            body.extend_from_slice(&[0u8; 8]);
            w.write_block(6, &body).expect("epb");
        }
        let (got, err) = read_bytes("r", &w.finish().expect("finish")).expect("open");
        assert!(err.is_none(), "{r:#x}: {err:?}");
        for (p, u) in got.iter().zip(&units) {
            let want = reference_ns(r, *u).clamp(i64::MIN.into(), i64::MAX.into()) as i64;
            assert_eq!(p.ts, want, "tsresol {r:#x}, {u} units");
        }
    }
}

#[test]
fn readers_move_between_threads() {
    fn send<T: Send>() {}
    send::<CaptureReader>();
    send::<sluice_capture::MergedReader>();
    send::<sluice_capture::CaptureError>();
}
