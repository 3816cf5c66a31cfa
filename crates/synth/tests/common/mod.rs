//! Helpers shared by the integration tests.
#![allow(dead_code)]
use sluice_capture::CaptureReader;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The shared data folder, or `None` (after printing a SKIP line) when it is absent.
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIP: ../shared/data not found");
        None
    }
}

/// Whether tshark can be run (prints a SKIP line when not).
pub fn tshark_available() -> bool {
    let ok = Command::new("tshark")
        .arg("--version")
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    if !ok {
        println!("SKIP: tshark not installed");
    }
    ok
}

/// A fresh path in the test scratch folder.
pub fn tmp(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("synth-tests");
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir.join(name)
}

/// All packets of a capture: (ts, bytes).
pub fn read_all(path: &Path) -> Vec<(i64, Vec<u8>)> {
    let mut r = CaptureReader::open(path).expect("open capture");
    let mut v = Vec::new();
    while let Some(p) = r.next_packet().expect("read packet") {
        v.push((p.ts, p.data.to_vec()));
    }
    v
}

/// Runs tshark on `file` with checksum validation on; returns stdout lines.
pub fn tshark(file: &Path, args: &[&str]) -> Vec<String> {
    let out = Command::new("tshark")
        .arg("-n")
        .arg("-r")
        .arg(file)
        .args([
            "-o",
            "tcp.check_checksum:TRUE",
            "-o",
            "udp.check_checksum:TRUE",
            "-o",
            "ip.check_checksum:TRUE",
        ])
        .args(args)
        .output()
        .expect("run tshark");
    assert!(
        out.status.success(),
        "tshark failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// A decoded IPv4 TCP/UDP packet (untagged Ethernet only).
#[derive(Debug, Clone)]
pub struct Seg<'a> {
    pub src: [u8; 4],
    pub dst: [u8; 4],
    pub proto: u8,
    pub sport: u16,
    pub dport: u16,
    pub tcp_flags: u8,
    pub payload: &'a [u8],
}

pub fn seg(f: &[u8]) -> Option<Seg<'_>> {
    if f.get(12..14)? != [0x08, 0x00] {
        return None;
    }
    let ip = &f[14..];
    let ihl = usize::from(ip.first()? & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([*ip.get(2)?, *ip.get(3)?]));
    let proto = *ip.get(9)?;
    let l4 = ip.get(ihl..total)?;
    let (hl, flags) = match proto {
        6 => (usize::from(l4.get(12)? >> 4) * 4, *l4.get(13)?),
        17 => (8, 0),
        _ => return None,
    };
    Some(Seg {
        src: ip.get(12..16)?.try_into().ok()?,
        dst: ip.get(16..20)?.try_into().ok()?,
        proto,
        sport: u16::from_be_bytes([l4[0], l4[1]]),
        dport: u16::from_be_bytes([l4[2], l4[3]]),
        tcp_flags: flags,
        payload: l4.get(hl..)?,
    })
}
