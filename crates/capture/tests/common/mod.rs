//! Helpers shared by the capture tests.
#![allow(dead_code)]

use sluice_capture::{CaptureError, CaptureReader, LinkType};
use std::path::{Path, PathBuf};

/// `../shared/data` beside the repository, if present.
pub fn shared_data() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.is_dir() {
        Some(p)
    } else {
        println!("SKIP: ../shared/data not found");
        None
    }
}

/// Every `.pcap` / `.pcapng` under `dir`, sorted.
pub fn captures_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if matches!(
                p.extension().and_then(|x| x.to_str()),
                Some("pcap" | "pcapng")
            ) {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One packet, owned, for comparisons.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Owned {
    pub ts: i64,
    pub linktype: LinkType,
    pub data: Vec<u8>,
    pub orig_len: u32,
    pub interface: u32,
}

/// Reads every packet; returns them and the error that ended the read, if any.
pub fn read_all(r: &mut CaptureReader) -> (Vec<Owned>, Option<CaptureError>) {
    let mut v = Vec::new();
    loop {
        match r.next_packet() {
            Ok(Some(p)) => v.push(Owned {
                ts: p.ts,
                linktype: p.linktype,
                data: p.data.to_vec(),
                orig_len: p.orig_len,
                interface: p.interface,
            }),
            Ok(None) => return (v, None),
            Err(e) => return (v, Some(e)),
        }
    }
}

/// Reads bytes from memory.
pub fn read_bytes(
    name: &str,
    bytes: &[u8],
) -> Result<(Vec<Owned>, Option<CaptureError>), CaptureError> {
    let mut r = CaptureReader::from_reader(name, std::io::Cursor::new(bytes.to_vec()))?;
    Ok(read_all(&mut r))
}

/// `"1689619037.745414904"` (tshark `frame.time_epoch`) as nanoseconds.
pub fn epoch_ns(s: &str) -> i64 {
    let (secs, frac) = s.split_once('.').unwrap_or((s, "0"));
    let mut frac = frac.to_string();
    while frac.len() < 9 {
        frac.push('0');
    }
    secs.parse::<i64>().expect("seconds") * 1_000_000_000
        + frac[..9].parse::<i64>().expect("fraction")
}

/// gzip-compresses bytes.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    enc.write_all(bytes).expect("gzip");
    enc.finish().expect("gzip")
}

/// A unique temporary path for this test process.
pub fn temp_path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("sluice-capture-test-{}-{name}", std::process::id()))
}

/// Deterministic pseudo-random generator (xorshift64*), for test data.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// `n` packets of 0..max_len bytes with increasing timestamps (multiples of `step_ns`).
pub fn sample_packets(n: usize, max_len: usize, step_ns: i64, seed: u64) -> Vec<(i64, Vec<u8>)> {
    let mut rng = Rng(seed | 1);
    let mut ts = 1_700_000_000_000_000_000i64;
    (0..n)
        .map(|_| {
            ts += step_ns * (1 + rng.below(1000) as i64);
            let len = rng.below(max_len as u64 + 1) as usize;
            (ts, rng.bytes(len))
        })
        .collect()
}

/// Byte offsets where pcapng blocks start, and the end of the last whole block.
pub fn pcapng_block_bounds(bytes: &[u8], big_endian: bool) -> Vec<usize> {
    let mut v = vec![0usize];
    let mut at = 0usize;
    while at + 8 <= bytes.len() {
        let l: [u8; 4] = bytes[at + 4..at + 8].try_into().expect("4");
        let len = if big_endian {
            u32::from_be_bytes(l)
        } else {
            u32::from_le_bytes(l)
        } as usize;
        at += len;
        v.push(at);
    }
    v
}
