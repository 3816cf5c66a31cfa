//! The benchmark replicator: exact packet count, time order, valid checksums, distinct
//! addresses per copy, the IT/OT mix, determinism; on the real stack captures when the
//! shared data is there.
mod common;
use common::{read_all, seg, shared_data, tmp, tshark, tshark_available};
use sluice_synth::frame::verify_ipv4;
use sluice_synth::replicate::{replicate, Options};
use sluice_synth::scenario::write_scenario;
use std::collections::{BTreeSet, HashSet};
use std::path::PathBuf;

fn scenario_input(name: &str) -> PathBuf {
    let path = tmp(&format!("rep-in-{name}.pcap"));
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    write_scenario(name, 5, &mut f).unwrap();
    path
}

fn run(
    inputs: &[PathBuf],
    packets: u64,
    it_share: f64,
    out: &str,
) -> (PathBuf, Vec<(i64, Vec<u8>)>) {
    let path = tmp(out);
    let f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let opts = Options {
        packets,
        it_share,
        window_ns: 10_000_000_000,
        seed: 3,
    };
    let s = replicate(inputs, &opts, f).unwrap();
    assert_eq!(s.packets, packets);
    let frames = read_all(&path);
    assert_eq!(frames.len() as u64, packets);
    (path, frames)
}

#[test]
fn replicates_a_scenario_into_many_distinct_copies() {
    let input = scenario_input("pivot");
    let (_, frames) = run(&[input], 30_000, 0.2, "rep-pivot.pcap");
    let mut last = i64::MIN;
    let mut it = 0usize;
    let mut plc_servers = HashSet::new();
    let mut clients = HashSet::new();
    for (ts, f) in &frames {
        assert!(*ts >= last, "time order");
        last = *ts;
        if f[12..14] == [0x08, 0x00] {
            assert_eq!(verify_ipv4(f), Some(true));
        }
        let Some(s) = seg(f) else { continue };
        if s.src[..2] == [10, 20] || s.dst[..2] == [10, 20] {
            it += 1;
        }
        if s.dport == 502 {
            // Modbus servers carry the Schneider (Telemecanique) OUI, copies distinct IPs.
            assert_eq!(f[0..3], [0x00, 0x80, 0xf4]);
            assert_eq!(s.dst[0..2], [10, 64 + (s.dst[1] - 64)]);
            plc_servers.insert(s.dst);
            clients.insert(s.src);
        }
    }
    let share = it as f64 / frames.len() as f64;
    assert!((0.15..=0.25).contains(&share), "IT share {share}");
    // The pivot scenario has 2 Modbus servers; every copy gets its own addresses.
    assert!(
        plc_servers.len() >= 10,
        "{} PLC addresses",
        plc_servers.len()
    );
    assert!(clients.len() >= 10);
    assert!(plc_servers.is_disjoint(&clients));
}

#[test]
fn replication_is_deterministic() {
    let input = scenario_input("s7_stop");
    let (a, _) = run(std::slice::from_ref(&input), 5_000, 0.3, "rep-det-a.pcap");
    let (b, _) = run(&[input], 5_000, 0.3, "rep-det-b.pcap");
    assert!(std::fs::read(a).unwrap() == std::fs::read(b).unwrap());
}

#[test]
fn it_only_without_inputs() {
    let (_, frames) = run(&[], 3_000, 0.2, "rep-it.pcap");
    let ports: BTreeSet<u16> = frames
        .iter()
        .filter_map(|(_, f)| seg(f))
        .map(|s| s.sport.min(s.dport))
        .collect();
    assert_eq!(ports, BTreeSet::from([53, 80, 443]));
    let big = frames.iter().filter(|(_, f)| f.len() == 1514).count();
    assert!(
        big * 2 > frames.len(),
        "bulk traffic is mostly full-size segments"
    );
}

#[test]
fn replicates_the_real_stack_captures() {
    let Some(data) = shared_data() else { return };
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(data.join("pcaps/stacks"))
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
        .collect();
    inputs.sort();
    assert!(inputs.len() >= 6);
    let (path, frames) = run(&inputs, 60_000, 0.2, "rep-stacks.pcap");
    // The loopback originals carry offloaded checksums: every copy's are valid.
    for (_, f) in &frames {
        assert_eq!(verify_ipv4(f), Some(true));
    }
    let servers: HashSet<[u8; 4]> = frames
        .iter()
        .filter_map(|(_, f)| seg(f))
        .filter(|s| matches!(s.dport, 502 | 102 | 44818 | 2404 | 20000))
        .map(|s| s.dst)
        .collect();
    // 48 000 OT packets are about two rounds of the five TCP captures.
    assert!(servers.len() >= 10, "{} server addresses", servers.len());
    if tshark_available() {
        let bad = tshark(
            &path,
            &[
                "-Y",
                "tcp.checksum.status==0 || udp.checksum.status==0 || ip.checksum.status==0",
            ],
        );
        assert!(bad.is_empty(), "{} frames with bad checksums", bad.len());
    }
}
