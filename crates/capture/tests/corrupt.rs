//! Damaged input: every packet before the fault is returned, then one error naming the
//! file and the offset, never a panic.
mod common;

use common::{gzip, pcapng_block_bounds, read_all, read_bytes, sample_packets, temp_path, Rng};
use sluice_capture::{
    ByteOrder, CaptureReader, ErrorKind, InterfaceOptions, LinkType, PcapNgWriter, PcapWriter,
    TsResolution,
};

fn small_pcap(order: ByteOrder) -> (Vec<u8>, Vec<usize>) {
    let pkts = sample_packets(12, 90, 1000, 5);
    let mut w = PcapWriter::with_options(
        Vec::new(),
        LinkType::ETHERNET,
        65535,
        TsResolution::Micro,
        order,
    )
    .expect("w");
    let mut bounds = vec![24];
    for (ts, d) in &pkts {
        w.write(*ts, d).expect("w");
        bounds.push(bounds.last().expect("b") + 16 + d.len());
    }
    (w.finish().expect("finish"), bounds)
}

fn small_pcapng(order: ByteOrder) -> Vec<u8> {
    let mut w = PcapNgWriter::with_byte_order(Vec::new(), order).expect("w");
    w.add_interface(LinkType::ETHERNET, 0).expect("idb");
    w.write_block(4, &[0u8; 12]).expect("nrb");
    w.add_interface_with(&InterfaceOptions {
        tsresol: 6,
        ..InterfaceOptions::new(LinkType::RAW, 0)
    })
    .expect("idb");
    let mut rng = Rng(17);
    for i in 0..10u32 {
        let n = rng.below(70) as usize;
        let d = rng.bytes(n);
        if i % 4 == 3 {
            w.write_spb(&d, d.len() as u32).expect("spb");
        } else {
            w.write_epb(i % 2, 1_000_000_000 * i64::from(i + 1), &d, d.len() as u32)
                .expect("epb");
        }
        if i == 5 {
            w.write_block(5, &[0u8; 16]).expect("isb");
        }
    }
    w.finish().expect("finish")
}

#[test]
fn pcap_cut_at_every_byte() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let (bytes, bounds) = small_pcap(order);
        assert_eq!(*bounds.last().expect("b"), bytes.len());
        for cut in 0..=bytes.len() {
            let res = read_bytes("cut.pcap", &bytes[..cut]);
            if cut < 24 {
                let e = res.expect_err("no header");
                assert_eq!(e.offset, 0);
                match (cut, &e.kind) {
                    (0, ErrorKind::Empty) => {}
                    (
                        1..=3,
                        ErrorKind::Truncated {
                            what: "file header",
                            need: 4,
                            left,
                        },
                    ) => assert_eq!(*left, cut as u64),
                    (
                        4..,
                        ErrorKind::Truncated {
                            what: "pcap file header",
                            need: 24,
                            left,
                        },
                    ) => assert_eq!(*left, cut as u64),
                    _ => panic!("cut {cut}: {e}"),
                }
                continue;
            }
            let (pkts, err) = res.expect("header whole");
            let whole = bounds.iter().filter(|&&b| b <= cut).count() - 1;
            assert_eq!(
                pkts.len(),
                whole,
                "cut {cut}: every whole record comes out first"
            );
            match err {
                None => assert!(
                    bounds.contains(&cut),
                    "cut {cut}: clean end only on a boundary"
                ),
                Some(e) => {
                    let start = bounds[whole];
                    assert_eq!(e.offset, start as u64, "cut {cut}");
                    let ErrorKind::Truncated {
                        what: "packet record",
                        need,
                        left,
                    } = e.kind
                    else {
                        panic!("cut {cut}: {e}")
                    };
                    assert_eq!(left, (cut - start) as u64);
                    let want = if cut - start < 16 {
                        16
                    } else {
                        bounds[whole + 1] - start
                    };
                    assert_eq!(need, want as u64);
                }
            }
        }
    }
}

#[test]
fn pcapng_cut_at_every_byte() {
    for order in [ByteOrder::Little, ByteOrder::Big] {
        let bytes = small_pcapng(order);
        let (all, err) = read_bytes("full", &bytes).expect("open");
        assert!(err.is_none());
        assert_eq!(all.len(), 10);
        let bounds = pcapng_block_bounds(&bytes, order == ByteOrder::Big);
        assert_eq!(*bounds.last().expect("b"), bytes.len());
        // Packet blocks are those after which one more packet is available.
        for cut in 0..=bytes.len() {
            let res = read_bytes("cut.pcapng", &bytes[..cut]);
            if cut < bounds[1] {
                assert!(res.is_err(), "cut {cut}: inside the section header");
                continue;
            }
            let (pkts, err) = res.expect("shb whole");
            let whole_blocks = bounds.iter().filter(|&&b| b <= cut).count() - 1;
            let (expect_pkts, _) =
                read_bytes("prefix", &bytes[..bounds[whole_blocks]]).expect("open");
            assert_eq!(pkts.len(), expect_pkts.len(), "cut {cut}");
            assert_eq!(
                pkts,
                all[..pkts.len()],
                "cut {cut}: same packets as the full read"
            );
            match err {
                None => assert!(bounds.contains(&cut), "cut {cut}"),
                Some(e) => {
                    assert_eq!(e.offset, bounds[whole_blocks] as u64, "cut {cut}: {e}");
                    assert!(
                        matches!(e.kind, ErrorKind::Truncated { .. }),
                        "cut {cut}: {e}"
                    );
                }
            }
        }
    }
}

#[test]
fn gzip_cut_anywhere_never_panics_and_keeps_a_prefix() {
    let (bytes, _) = small_pcap(ByteOrder::Little);
    let (all, _) = read_bytes("full", &bytes).expect("open");
    let gz = gzip(&bytes);
    for cut in 0..gz.len() {
        match read_bytes("cut.pcap.gz", &gz[..cut]) {
            Err(e) => assert!(
                e.to_string().starts_with("cut.pcap.gz: byte offset "),
                "{e}"
            ),
            Ok((pkts, err)) => {
                assert_eq!(pkts, all[..pkts.len()], "cut {cut}");
                let e = err.expect("a cut gzip stream ends in an error");
                assert!(e.decompressed);
                assert!(e.to_string().contains("in the decompressed stream"), "{e}");
            }
        }
    }
}

#[test]
fn error_message_names_file_offset_and_sizes() {
    // One 4083-byte packet puts the second record at offset 24 + 16 + 4083 = 4123.
    let mut w = PcapWriter::new_micro(Vec::new(), LinkType::ETHERNET, 65535).expect("w");
    w.write(1_000_000_000, &[0u8; 4083]).expect("w");
    w.write(2_000_000_000, &[0u8; 44]).expect("w");
    let bytes = w.finish().expect("finish");
    let cut = &bytes[..4123 + 17];
    let (pkts, err) = read_bytes("capture.pcap", cut).expect("open");
    assert_eq!(pkts.len(), 1);
    assert_eq!(
        err.expect("error").to_string(),
        "capture.pcap: byte offset 4123: truncated packet record (need 60 bytes, 17 left)"
    );
    let (_, err) = read_bytes("capture.pcap.gz", &gzip(cut)).expect("open");
    assert_eq!(
        err.expect("error").to_string(),
        "capture.pcap.gz: byte offset 4123 in the decompressed stream: truncated packet record (need 60 bytes, 17 left)"
    );
}

#[test]
fn packets_before_garbage_are_kept_then_one_error_then_end() {
    let (mut bytes, bounds) = small_pcap(ByteOrder::Little);
    let good_end = bounds[3];
    bytes.truncate(good_end);
    // A record claiming 100000 bytes in a file with snap length 65535.
    bytes.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
    bytes.extend_from_slice(&100_000u32.to_le_bytes());
    bytes.extend_from_slice(&100_000u32.to_le_bytes());
    bytes.extend_from_slice(&[0u8; 64]);
    let mut r = CaptureReader::from_reader("g.pcap", std::io::Cursor::new(bytes)).expect("open");
    for _ in 0..3 {
        assert!(r.next_packet().expect("good").is_some());
    }
    let e = r.next_packet().expect_err("the fault");
    assert_eq!(e.offset, good_end as u64);
    assert!(
        matches!(
            e.kind,
            ErrorKind::AbsurdLength {
                len: 100_000,
                limit: 65535,
                ..
            }
        ),
        "{e}"
    );
    assert!(e.to_string().contains("absurd record length 100000"), "{e}");
    assert!(r.next_packet().expect("finished").is_none());
    assert!(r.peek_ts().expect("finished").is_none());
}

fn pcap_header(snaplen: u32) -> Vec<u8> {
    PcapWriter::new_micro(Vec::new(), LinkType::ETHERNET, snaplen)
        .expect("w")
        .finish()
        .expect("f")
}

#[test]
fn absurd_pcap_lengths_are_refused_not_allocated() {
    for (snaplen, caplen, limit) in [
        (0u32, 262_145u32, 262_144u64),
        (0, u32::MAX, 262_144),
        (1500, 1501, 1500),
        (65535, u32::MAX, 262_144),
    ] {
        let mut bytes = pcap_header(snaplen);
        bytes.extend_from_slice(&[0u8; 8]);
        bytes.extend_from_slice(&caplen.to_le_bytes());
        bytes.extend_from_slice(&caplen.to_le_bytes());
        let (pkts, err) = read_bytes("a.pcap", &bytes).expect("open");
        assert!(pkts.is_empty());
        let e = err.expect("error");
        assert_eq!(e.offset, 24);
        match e.kind {
            ErrorKind::AbsurdLength { len, limit: l, .. } => {
                assert_eq!((len, l), (u64::from(caplen), limit))
            }
            ref k => panic!("{k}"),
        }
    }
    // A snap length of 0 means unknown: a normal packet is fine.
    let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 0).expect("w");
    w.write(5, &[1u8; 1514]).expect("w");
    let (pkts, err) = read_bytes("z.pcap", &w.finish().expect("f")).expect("open");
    assert!(err.is_none());
    assert_eq!(pkts[0].data.len(), 1514);
}

/// A little-endian pcapng with one Ethernet interface, then `tail`.
fn ng_with(tail: &[u8]) -> Vec<u8> {
    let mut w = PcapNgWriter::new(Vec::new()).expect("w");
    w.add_interface(LinkType::ETHERNET, 0).expect("idb");
    let mut v = w.finish().expect("f");
    v.extend_from_slice(tail);
    v
}

fn block(btype: u32, len: u32, body: &[u8], trailer: u32) -> Vec<u8> {
    [
        &btype.to_le_bytes()[..],
        &len.to_le_bytes(),
        body,
        &trailer.to_le_bytes(),
    ]
    .concat()
}

fn epb_body(if_id: u32, caplen: u32, data: &[u8]) -> Vec<u8> {
    [
        &if_id.to_le_bytes()[..],
        &[0u8; 8],
        &caplen.to_le_bytes(),
        &caplen.to_le_bytes(),
        data,
    ]
    .concat()
}

#[test]
fn bad_pcapng_blocks() {
    let start = ng_with(&[]).len() as u64;
    type Case = (&'static str, Vec<u8>, fn(&ErrorKind) -> bool);
    let cases: Vec<Case> = vec![
        (
            "length not a multiple of 4",
            block(6, 34, &epb_body(0, 2, &[1, 2, 0, 0, 0, 0]), 34),
            |k| matches!(k, ErrorKind::BadBlock { block_type: 6, .. }),
        ),
        (
            "trailer differs",
            block(6, 36, &epb_body(0, 4, &[1, 2, 3, 4]), 40),
            |k| matches!(k, ErrorKind::BadBlock { block_type: 6, reason } if reason.contains("trailing")),
        ),
        (
            "caplen beyond block",
            block(6, 36, &epb_body(0, 9, &[1, 2, 3, 4]), 36),
            |k| matches!(k, ErrorKind::BadBlock { block_type: 6, reason } if reason.contains("overruns")),
        ),
        (
            "undefined interface",
            block(6, 36, &epb_body(3, 4, &[1, 2, 3, 4]), 36),
            |k| matches!(k, ErrorKind::BadBlock { reason, .. } if reason.contains("interface id 3")),
        ),
        (
            "absurd caplen",
            block(6, 36, &epb_body(0, 300_000, &[1, 2, 3, 4]), 36),
            |k| matches!(k, ErrorKind::AbsurdLength { len: 300_000, .. }),
        ),
        (
            "absurd block length",
            block(6, 0xFFFF_FFF0, &epb_body(0, 4, &[1, 2, 3, 4]), 36),
            |k| matches!(k, ErrorKind::AbsurdLength { .. }),
        ),
        ("too short", block(6, 8, &[], 8), |k| {
            matches!(k, ErrorKind::BadBlock { .. })
        }),
        (
            "skipped block trailer",
            block(0x0BAD, 16, &[0u8; 4], 20),
            |k| {
                matches!(
                    k,
                    ErrorKind::BadBlock {
                        block_type: 0x0BAD,
                        ..
                    }
                )
            },
        ),
        ("skipped block cut", block(0x0BAD, 64, &[0u8; 4], 64), |k| {
            matches!(k, ErrorKind::Truncated { need: 64, .. })
        }),
        (
            "bad option",
            block(1, 24, &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 40, 0], 24),
            |k| matches!(k, ErrorKind::BadBlock { block_type: 1, .. }),
        ),
        (
            "resolution too fine",
            block(
                1,
                28,
                &[1, 0, 0, 0, 0, 0, 0, 0, 9, 0, 1, 0, 20, 0, 0, 0],
                28,
            ),
            |k| matches!(k, ErrorKind::BadBlock { reason, .. } if reason.contains("if_tsresol")),
        ),
        (
            "section byte-order magic",
            block(
                0x0A0D0D0A,
                28,
                &[1, 2, 3, 4, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                28,
            ),
            |k| matches!(k, ErrorKind::BadBlock { reason, .. } if reason.contains("byte-order")),
        ),
        (
            "section version",
            block(
                0x0A0D0D0A,
                28,
                &[0x4d, 0x3c, 0x2b, 0x1a, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0],
                28,
            ),
            |k| {
                matches!(
                    k,
                    ErrorKind::UnsupportedVersion {
                        format: "pcapng",
                        major: 2,
                        minor: 0
                    }
                )
            },
        ),
    ];
    let good = block(6, 36, &epb_body(0, 4, &[9, 9, 9, 9]), 36);
    for (name, bad, check) in cases {
        let bytes = ng_with(&[good.clone(), bad].concat());
        let (pkts, err) = read_bytes("b.pcapng", &bytes).expect("open");
        assert_eq!(pkts.len(), 1, "{name}: the good packet comes first");
        assert_eq!(pkts[0].data, [9, 9, 9, 9]);
        let e = err.unwrap_or_else(|| panic!("{name}: no error"));
        assert_eq!(e.offset, start + 36, "{name}: {e}");
        assert!(check(&e.kind), "{name}: {e}");
    }
}

#[test]
fn packet_before_any_interface_is_an_error() {
    let mut w = PcapNgWriter::new(Vec::new()).expect("w");
    w.write_block(6, &epb_body(0, 0, &[])).expect("epb");
    let (pkts, err) = read_bytes("noif.pcapng", &w.finish().expect("f")).expect("open");
    assert!(pkts.is_empty());
    assert!(matches!(
        err.expect("error").kind,
        ErrorKind::BadBlock { .. }
    ));
}

#[test]
fn unsupported_pcap_version() {
    let mut bytes = pcap_header(65535);
    bytes[4] = 3;
    let e = read_bytes("v.pcap", &bytes).expect_err("version");
    assert!(
        matches!(
            e.kind,
            ErrorKind::UnsupportedVersion {
                format: "pcap",
                major: 3,
                minor: 4
            }
        ),
        "{e}"
    );
}

#[test]
fn empty_text_and_random_files() {
    let empty = temp_path("empty.pcap");
    std::fs::write(&empty, b"").expect("write");
    let e = CaptureReader::open(&empty).expect_err("empty");
    assert!(matches!(e.kind, ErrorKind::Empty));
    assert!(
        e.to_string()
            .ends_with("byte offset 0: empty file: not a capture"),
        "{e}"
    );
    std::fs::remove_file(&empty).ok();

    let text = temp_path("notes.txt");
    std::fs::write(&text, b"<html>hello, this is not a capture\n").expect("write");
    let e = CaptureReader::open(&text).expect_err("text");
    assert!(matches!(
        e.kind,
        ErrorKind::NotACapture {
            magic: [b'<', b'h', b't', b'm']
        }
    ));
    assert!(
        e.to_string()
            .ends_with("not a pcap or pcapng capture (starts with 3c 68 74 6d)"),
        "{e}"
    );
    std::fs::remove_file(&text).ok();

    let e = CaptureReader::open(std::path::Path::new("/nonexistent/x.pcap")).expect_err("missing");
    assert!(matches!(e.kind, ErrorKind::Open(_)));
    assert!(
        e.to_string()
            .starts_with("/nonexistent/x.pcap: byte offset 0: cannot open"),
        "{e}"
    );

    // gzip of nothing, gzip of text, and a corrupt gzip stream.
    let e = read_bytes("e.gz", &gzip(b"")).expect_err("empty gz");
    assert!(matches!(e.kind, ErrorKind::Empty) && e.decompressed, "{e}");
    let e = read_bytes("t.gz", &gzip(b"hello world")).expect_err("text gz");
    assert!(
        matches!(e.kind, ErrorKind::NotACapture { .. }) && e.decompressed,
        "{e}"
    );
    let mut bad = gzip(&small_pcap(ByteOrder::Little).0);
    let n = bad.len();
    bad[12..n - 8].iter_mut().for_each(|b| *b ^= 0xa5);
    if let Ok((_, err)) = read_bytes("c.gz", &bad) {
        assert!(err.is_some(), "a corrupt deflate stream ends in an error");
    }

    let mut rng = Rng(1234);
    for i in 0..300 {
        let len = rng.below(3000) as usize;
        let mut bytes = rng.bytes(len);
        // Give half of them a valid magic so they get past detection.
        let magic: &[u8] = match i % 6 {
            0 => &[0xd4, 0xc3, 0xb2, 0xa1, 2, 0],
            1 => &[0xa1, 0xb2, 0x3c, 0x4d, 0, 2],
            2 => &[0x0a, 0x0d, 0x0d, 0x0a],
            _ => &[],
        };
        let m = magic.len().min(bytes.len());
        bytes[..m].copy_from_slice(&magic[..m]);
        if let Ok(mut r) = CaptureReader::from_reader("rand", std::io::Cursor::new(bytes)) {
            let _ = read_all(&mut r);
        }
    }
}
