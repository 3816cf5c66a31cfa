//! Malformed captures: thousands of variants of real and synthesised captures
//! (truncated at every record boundary and at random offsets, bit flips in headers and
//! payloads, absurd record lengths, duplicated and reordered packets). The pipeline must
//! never panic: in-process every variant reads to the end or to a located error, and the
//! binary exits 0 or 2 with a message.
use sluice_capture::CaptureReader;
use sluice_engine::{Engine, EngineConfig};
use std::io::Cursor;
use std::path::Path;
use std::process::Command;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

/// Offsets of the pcap record headers of a little-endian classic pcap.
fn records(pcap: &[u8]) -> Vec<(usize, usize)> {
    let mut v = Vec::new();
    let mut off = 24;
    while off + 16 <= pcap.len() {
        let caplen =
            u32::from_le_bytes([pcap[off + 8], pcap[off + 9], pcap[off + 10], pcap[off + 11]])
                as usize;
        if off + 16 + caplen > pcap.len() {
            break;
        }
        v.push((off, 16 + caplen));
        off += 16 + caplen;
    }
    v
}

fn variants(base: &[u8], rng: &mut Rng, n: usize) -> Vec<Vec<u8>> {
    let recs = records(base);
    let mut out = Vec::new();
    if recs.is_empty() {
        return out;
    }
    // Truncated at every record boundary (bounded count) and inside records.
    let step = (recs.len() / 60).max(1);
    for (off, len) in recs.iter().step_by(step) {
        out.push(base[..*off].to_vec());
        out.push(base[..off + 1 + rng.below(len - 1)].to_vec());
    }
    while out.len() < n {
        let mut v = base.to_vec();
        match rng.below(6) {
            0 => {
                // Bit flips in packet headers (first 60 bytes of a few records).
                for _ in 0..1 + rng.below(8) {
                    let (off, len) = recs[rng.below(recs.len())];
                    let at = off + 16 + rng.below((len - 16).min(60));
                    v[at] ^= 1 << rng.below(8);
                }
            }
            1 => {
                // Bit flips anywhere in payloads.
                for _ in 0..1 + rng.below(32) {
                    let at = 24 + rng.below(v.len() - 24);
                    v[at] ^= 1 << rng.below(8);
                }
            }
            2 => {
                // Absurd or inconsistent record lengths.
                let (off, _) = recs[rng.below(recs.len())];
                let bad: u32 = match rng.below(4) {
                    0 => u32::MAX,
                    1 => 0x0400_0000,
                    2 => 0,
                    _ => rng.next() as u32 & 0xffff,
                };
                v[off + 8..off + 12].copy_from_slice(&bad.to_le_bytes());
                if rng.below(2) == 0 {
                    v[off + 12..off + 16].copy_from_slice(&bad.to_le_bytes());
                }
            }
            3 => {
                // Duplicated packets.
                let mut w = base[..24].to_vec();
                for (off, len) in &recs {
                    w.extend_from_slice(&base[*off..off + len]);
                    if rng.below(4) == 0 {
                        w.extend_from_slice(&base[*off..off + len]);
                    }
                }
                v = w;
            }
            4 => {
                // Reordered packets (local swaps).
                let mut order: Vec<usize> = (0..recs.len()).collect();
                for i in 0..order.len() {
                    let j = (i + rng.below(8)).min(order.len() - 1);
                    order.swap(i, j);
                }
                let mut w = base[..24].to_vec();
                for i in order {
                    let (off, len) = recs[i];
                    w.extend_from_slice(&base[off..off + len]);
                }
                v = w;
            }
            _ => {
                // Random garbage spliced in, and a broken global header sometimes.
                let at = 24 + rng.below(v.len() - 24);
                let junk: Vec<u8> = (0..1 + rng.below(64)).map(|_| rng.next() as u8).collect();
                v.splice(at..at, junk);
                if rng.below(10) == 0 {
                    v[20] ^= 0xff; // link type
                }
            }
        }
        out.push(v);
    }
    out
}

fn analyse_in_process(bytes: Vec<u8>) -> (u64, bool) {
    let mut r = match CaptureReader::from_reader("variant.pcap", Cursor::new(bytes)) {
        Ok(r) => r,
        Err(_) => return (0, true),
    };
    let mut cfg = EngineConfig::default();
    cfg.flows.max_flows = 10_000;
    cfg.reassembly_bytes = 4 << 20;
    let mut e = Engine::new(cfg);
    let mut n = 0;
    let mut failed = false;
    loop {
        match r.next_packet() {
            Ok(Some(p)) => {
                e.packet(p.ts, p.linktype.0, p.data, p.orig_len);
                let _ = e.take_events().count();
                n += 1;
            }
            Ok(None) => break,
            Err(_) => {
                failed = true;
                break;
            }
        }
        assert!(e.reassembly_bytes() <= 4 << 20);
    }
    e.finish();
    let _ = e.take_events().count();
    (n, failed)
}

fn bases() -> Vec<(String, Vec<u8>)> {
    let mut v = Vec::new();
    for name in ["oldsmar", "recon"] {
        let mut b = Vec::new();
        sluice_synth::scenario::write_scenario(name, 3, &mut b).unwrap();
        v.push((name.to_owned(), b));
    }
    let shared = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcaps"
    ));
    for rel in [
        "stacks/modbus.pcap",
        "stacks/dnp3.pcap",
        "modbus/modbus-zeek-fuzz-72.pcap",
    ] {
        let p = shared.join(rel);
        match std::fs::read(&p) {
            // The record walker here handles little-endian classic pcap only.
            Ok(b)
                if b.starts_with(&[0xd4, 0xc3, 0xb2, 0xa1])
                    || b.starts_with(&[0x4d, 0x3c, 0xb2, 0xa1]) =>
            {
                v.push((rel.to_owned(), b))
            }
            Ok(_) => {}
            Err(_) => eprintln!("SKIP: {} not found (shared data absent)", p.display()),
        }
    }
    v
}

#[test]
fn thousands_of_malformed_variants_never_panic() {
    let mut rng = Rng(0x5eed_1234_abcd_ef01);
    let (mut total, mut failed, mut packets) = (0u64, 0u64, 0u64);
    let bases = bases();
    // 1,250 variants in all, whether or not the shared captures are there.
    let per_base = 1250 / bases.len().max(1);
    for (name, base) in bases {
        // Keep the bigger real captures short so the test stays fast.
        let base = if base.len() > 60_000 {
            let recs = records(&base);
            let end = recs.get(400).map_or(base.len(), |r| r.0);
            base[..end].to_vec()
        } else {
            base
        };
        let vs = variants(&base, &mut rng, per_base);
        let (mut f, mut p) = (0, 0);
        for v in &vs {
            let (n, err) = analyse_in_process(v.clone());
            p += n;
            f += u64::from(err);
        }
        println!(
            "{name:<40} variants {:>5}  ended by a located error {f:>5}  packets {p:>8}",
            vs.len()
        );
        total += vs.len() as u64;
        failed += f;
        packets += p;
    }
    println!(
        "{total} variants, {failed} with a located capture error, {packets} packets, 0 panics"
    );
    println!(
        "MALFORMED TOTALS (in process): variants {total}, read to the end {}, ended by a located error {failed}, panics 0",
        total - failed
    );
    assert!(total >= 1000, "{total}");
}

/// Runs `sluice analyze --no-db -q` on `p`: exit status, standard error, peak resident
/// memory of the child in KiB (VmHWM sampled every 2 ms) and wall time.
fn run_binary(p: &Path) -> (std::process::ExitStatus, String, u64, f64) {
    use std::io::Read;
    let started = std::time::Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["analyze", p.to_str().unwrap(), "--no-db", "-q"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut err = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = String::new();
        err.read_to_string(&mut s).ok();
        s
    });
    let hwm = || -> Option<u64> {
        let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let l = s.lines().find(|l| l.starts_with("VmHWM:"))?;
        l.split_whitespace().nth(1)?.parse().ok()
    };
    let mut peak = 0;
    let status = loop {
        peak = peak.max(hwm().unwrap_or(0));
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    (
        status,
        reader.join().unwrap(),
        peak,
        started.elapsed().as_secs_f64(),
    )
}

#[test]
fn the_binary_exits_0_or_2_on_malformed_captures() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = Rng(42);
    let (name, base) = bases().remove(0);
    let clean = dir.path().join("clean.pcap");
    std::fs::write(&clean, &base).unwrap();
    let (st, err, clean_kib, clean_secs) = run_binary(&clean);
    assert_eq!(st.code(), Some(0), "{err}");
    let vs = variants(&base, &mut rng, 80);
    let mut codes = std::collections::BTreeMap::new();
    let (mut max_kib, mut max_secs) = (0u64, 0f64);
    for (i, v) in vs.iter().enumerate() {
        let p = dir.path().join(format!("v{i}.pcap"));
        std::fs::write(&p, v).unwrap();
        let (status, err, kib, secs) = run_binary(&p);
        let code = status.code();
        // Memory and time within a small multiple of the clean capture's.
        assert!(
            kib <= 2 * clean_kib + 16 * 1024,
            "variant {i}: {kib} KiB vs {clean_kib} KiB clean"
        );
        assert!(
            secs <= 10.0 * clean_secs + 2.0,
            "variant {i}: {secs} s vs {clean_secs} s clean"
        );
        max_kib = max_kib.max(kib);
        max_secs = max_secs.max(secs);
        assert!(!err.contains("panicked"), "variant {i} of {name}: {err}");
        assert!(
            matches!(code, Some(0) | Some(2)),
            "variant {i}: {code:?} {err}"
        );
        if code == Some(2) {
            let line = err.lines().last().unwrap_or("");
            assert!(
                line.starts_with("sluice: error: ") && line.contains("byte offset"),
                "{line}"
            );
        }
        *codes.entry(code.unwrap_or(-1)).or_insert(0) += 1;
        std::fs::remove_file(&p).ok();
    }
    println!("{} variants of {name}: exit codes {codes:?}", vs.len());
    println!(
        "MALFORMED TOTALS (binary): variants {}, exit 0: {}, exit 2: {}, other exits: 0, panics 0; peak RSS at most {:.1} MiB (clean {:.1} MiB), time at most {:.2} s (clean {:.2} s)",
        vs.len(),
        codes.get(&0).copied().unwrap_or(0),
        codes.get(&2).copied().unwrap_or(0),
        max_kib as f64 / 1024.0,
        clean_kib as f64 / 1024.0,
        max_secs,
        clean_secs
    );
}
