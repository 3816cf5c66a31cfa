//! Several captures merged in timestamp order.
mod common;

use common::{gzip, temp_path};
use sluice_capture::{CaptureReader, ErrorKind, LinkType, MergedReader, PcapNgWriter, PcapWriter};
use std::io::Cursor;

fn pcap(pkts: &[(i64, u8)]) -> Vec<u8> {
    let mut w = PcapWriter::new(Vec::new(), LinkType::ETHERNET, 0).expect("w");
    for (ts, tag) in pkts {
        w.write(*ts, &[*tag; 3]).expect("w");
    }
    w.finish().expect("f")
}

fn reader(name: &str, bytes: Vec<u8>) -> CaptureReader {
    CaptureReader::from_reader(name, Cursor::new(bytes)).expect("open")
}

/// (file index, timestamp, tag) of everything the merge yields, and the errors met.
fn drain(m: &mut MergedReader) -> (Vec<(usize, i64, u8)>, Vec<String>) {
    let mut out = Vec::new();
    let mut errors = Vec::new();
    loop {
        match m.next_packet() {
            Ok(Some((i, p))) => out.push((i, p.ts, p.data[0])),
            Ok(None) => return (out, errors),
            Err(e) => errors.push(e.to_string()),
        }
    }
}

#[test]
fn two_files_interleave_by_time() {
    let a = pcap(&[(10, 1), (30, 2), (50, 3), (70, 4)]);
    let b = pcap(&[(20, 11), (40, 12), (60, 13), (80, 14), (90, 15)]);
    let mut m = MergedReader::new(vec![reader("a", a), reader("b", b)]);
    let (got, errors) = drain(&mut m);
    assert!(errors.is_empty());
    let ts: Vec<i64> = got.iter().map(|g| g.1).collect();
    assert_eq!(ts, vec![10, 20, 30, 40, 50, 60, 70, 80, 90]);
    let files: Vec<usize> = got.iter().map(|g| g.0).collect();
    assert_eq!(files, vec![0, 1, 0, 1, 0, 1, 0, 1, 1]);
}

#[test]
fn ties_go_to_the_first_file_and_each_file_keeps_its_order() {
    // File b goes backwards in time (40 then 15): it is not re-sorted.
    let a = pcap(&[(10, 1), (20, 2), (30, 3)]);
    let b = pcap(&[(10, 11), (40, 12), (15, 13), (30, 14)]);
    let mut m = MergedReader::new(vec![reader("a", a), reader("b", b)]);
    let (got, _) = drain(&mut m);
    let tags: Vec<u8> = got.iter().map(|g| g.2).collect();
    assert_eq!(tags, vec![1, 11, 2, 3, 12, 13, 14]);
}

#[test]
fn mixed_formats_and_compression_merge() {
    let a = pcap(&[(100, 1), (300, 2)]);
    let mut w = PcapNgWriter::new(Vec::new()).expect("w");
    w.write(200, LinkType::RAW, &[21; 3]).expect("w");
    w.write(400, LinkType::RAW, &[22; 3]).expect("w");
    let b = gzip(&w.finish().expect("f"));
    let pa = temp_path("merge-a.pcap");
    let pb = temp_path("merge-b.pcapng.gz");
    std::fs::write(&pa, &a).expect("w");
    std::fs::write(&pb, &b).expect("w");
    let mut m = MergedReader::open(&[&pa, &pb]).expect("open");
    let mut seen = Vec::new();
    while let Some((i, p)) = m.next_packet().expect("merge") {
        seen.push((i, p.ts, p.linktype));
    }
    assert_eq!(
        seen,
        vec![
            (0, 100, LinkType::ETHERNET),
            (1, 200, LinkType::RAW),
            (0, 300, LinkType::ETHERNET),
            (1, 400, LinkType::RAW)
        ]
    );
    assert_eq!(m.total_bytes(), Some((a.len() + b.len()) as u64));
    assert_eq!(m.bytes_read(), (a.len() + b.len()) as u64);
    assert_eq!(m.readers().len(), 2);
    std::fs::remove_file(&pa).ok();
    std::fs::remove_file(&pb).ok();
    assert!(matches!(
        MergedReader::open(&[std::path::Path::new("/nonexistent.pcap")])
            .map(|_| ())
            .expect_err("missing")
            .kind,
        ErrorKind::Open(_)
    ));
}

#[test]
fn a_failing_file_is_reported_once_and_the_others_go_on() {
    let a = pcap(&[(10, 1), (20, 2), (30, 3), (40, 4)]);
    let mut b = pcap(&[(15, 11), (25, 12)]);
    b.extend_from_slice(&[0u8; 7]); // a cut record after two good ones
    let c = pcap(&[(5, 21), (35, 22)]);
    let mut m = MergedReader::new(vec![
        reader("a.pcap", a),
        reader("b.pcap", b),
        reader("c.pcap", c),
    ]);
    let (got, errors) = drain(&mut m);
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].starts_with("b.pcap: byte offset "),
        "{}",
        errors[0]
    );
    let tags: Vec<u8> = got.iter().map(|g| g.2).collect();
    assert_eq!(tags, vec![21, 1, 11, 2, 12, 3, 22, 4]);
}

#[test]
fn nothing_to_merge() {
    let mut m = MergedReader::new(Vec::new());
    assert!(m.next_packet().expect("empty").is_none());
    let mut m = MergedReader::new(vec![reader("h", pcap(&[]))]);
    assert!(m.next_packet().expect("no packets").is_none());
    assert!(m.next_packet().expect("still none").is_none());
}
