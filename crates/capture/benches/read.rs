//! Reader throughput (no criterion: a plain timing harness, so the crate adds no
//! dependency). Builds a capture in the temp dir, reads it several times from the page
//! cache and prints packets/s and bytes/s for pcap, pcapng and gzip.
//!
//! `cargo bench -p sluice-capture --bench read` (size with SLUICE_BENCH_MB, default 256;
//! SLUICE_BENCH_FILE=path reads an existing capture instead).
use sluice_capture::{CaptureReader, LinkType, PcapNgWriter, PcapWriter};
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// Frame sizes typical of ICS traffic: mostly small polls and replies, some full frames.
fn frame_len(i: u64) -> usize {
    match i % 10 {
        0..=5 => 60 + (i % 7) as usize,
        6..=8 => 120 + (i % 200) as usize,
        _ => 1514,
    }
}

fn build(path: &Path, mb: u64, kind: &str) -> std::io::Result<()> {
    let target = mb << 20;
    let frame = vec![0x42u8; 1514];
    let out = BufWriter::with_capacity(1 << 20, std::fs::File::create(path)?);
    let mut written = 0u64;
    let mut i = 0u64;
    match kind {
        "pcapng" => {
            let mut w = PcapNgWriter::new(out)?;
            while written < target {
                let len = frame_len(i);
                w.write(
                    1_700_000_000_000_000_000 + i as i64 * 1000,
                    LinkType::ETHERNET,
                    &frame[..len],
                )?;
                written += 32 + len.next_multiple_of(4) as u64;
                i += 1;
            }
            w.finish()?.flush()
        }
        _ => {
            let mut w = PcapWriter::new(out, LinkType::ETHERNET, 65535)?;
            while written < target {
                let len = frame_len(i);
                w.write(1_700_000_000_000_000_000 + i as i64 * 1000, &frame[..len])?;
                written += 16 + len as u64;
                i += 1;
            }
            w.finish()?.flush()
        }
    }
}

fn gzip_file(src: &Path, dst: &Path) -> std::io::Result<()> {
    let mut enc = flate2::write::GzEncoder::new(
        BufWriter::new(std::fs::File::create(dst)?),
        flate2::Compression::fast(),
    );
    std::io::copy(&mut std::fs::File::open(src)?, &mut enc)?;
    enc.finish()?.flush()
}

fn measure(path: &Path, rounds: usize) {
    let mut best = f64::MAX;
    let (mut packets, mut bytes) = (0u64, 0u64);
    for _ in 0..rounds {
        let t = Instant::now();
        let mut r = CaptureReader::open(path).expect("open");
        let (mut n, mut sum) = (0u64, 0u64);
        while let Some(p) = r.next_packet().expect("read") {
            n += 1;
            sum = sum.wrapping_add(p.data.len() as u64 + p.ts as u64);
        }
        std::hint::black_box(sum);
        best = best.min(t.elapsed().as_secs_f64());
        packets = n;
        bytes = r.position();
    }
    println!(
        "{:<40} {:>10} packets {:>8.1} MB  best {:>7.3} s  {:>6.2} Mpackets/s  {:>6.2} GB/s (decompressed)",
        path.file_name().map_or(String::new(), |f| f.to_string_lossy().into_owned()),
        packets,
        bytes as f64 / 1e6,
        best,
        packets as f64 / best / 1e6,
        bytes as f64 / best / 1e9,
    );
}

fn main() {
    if let Ok(f) = std::env::var("SLUICE_BENCH_FILE") {
        measure(Path::new(&f), 3);
        return;
    }
    let mb: u64 = std::env::var("SLUICE_BENCH_MB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    let dir = std::env::temp_dir();
    let pcap: PathBuf = dir.join(format!("sluice-bench-{mb}.pcap"));
    let ng: PathBuf = dir.join(format!("sluice-bench-{mb}.pcapng"));
    let gz: PathBuf = dir.join(format!("sluice-bench-{mb}.pcap.gz"));
    build(&pcap, mb, "pcap").expect("build pcap");
    build(&ng, mb, "pcapng").expect("build pcapng");
    gzip_file(&pcap, &gz).expect("gzip");
    measure(&pcap, 5);
    measure(&ng, 5);
    measure(&gz, 2);
    for p in [pcap, ng, gz] {
        std::fs::remove_file(p).ok();
    }
}
