//! Decoding conformance against tshark: for every shared capture with a tshark field
//! dump in `expected/tshark/`, each frame's IPv4 addresses and TCP/UDP ports must be
//! what Wireshark decoded.
use sluice_capture::CaptureReader;
use sluice_decode::{decode, Net, Transport};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

fn shared() -> Option<PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    p.is_dir().then(|| p.to_path_buf())
}

fn first(field: &str) -> &str {
    field.split(',').next().unwrap_or("")
}

#[test]
fn addresses_and_ports_agree_with_tshark() {
    let Some(data) = shared() else {
        eprintln!("SKIP: ../shared/data not found; tshark conformance not run");
        return;
    };
    // Capture basename (without extension) -> path.
    let mut pcaps: HashMap<String, PathBuf> = HashMap::new();
    for dir in std::fs::read_dir(data.join("pcaps")).unwrap().flatten() {
        if let Ok(files) = std::fs::read_dir(dir.path()) {
            for f in files.flatten() {
                let p = f.path();
                if let Some(stem) = p.file_stem().and_then(|s| s.to_str()) {
                    pcaps.insert(stem.to_owned(), p.clone());
                }
            }
        }
    }
    let mut tsvs: Vec<PathBuf> = std::fs::read_dir(data.join("expected/tshark"))
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .collect();
    tsvs.sort();
    let (mut files, mut frames, mut compared, mut bad) = (0, 0u64, 0u64, Vec::new());
    println!(
        "{:<55} {:>7} {:>9} {:>9}",
        "capture", "frames", "compared", "disagree"
    );
    for tsv in tsvs {
        let stem = tsv
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("")
            .to_owned();
        let Some(pcap) = pcaps.get(&stem) else {
            continue;
        };
        let text = std::fs::read_to_string(&tsv).unwrap();
        let mut lines = text.lines();
        let header: Vec<&str> = lines.next().unwrap_or("").split('\t').collect();
        let col = |name: &str| header.iter().position(|h| *h == name);
        let (
            Some(c_src),
            Some(c_dst),
            Some(c_ts),
            Some(c_td),
            Some(c_us),
            Some(c_ud),
            Some(c_proto),
        ) = (
            col("ip.src"),
            col("ip.dst"),
            col("tcp.srcport"),
            col("tcp.dstport"),
            col("udp.srcport"),
            col("udp.dstport"),
            col("frame.protocols"),
        )
        else {
            continue;
        };
        let rows: Vec<Vec<&str>> = lines.map(|l| l.split('\t').collect()).collect();
        let mut r = CaptureReader::open(pcap).unwrap();
        let mut i = 0usize;
        let mut file_cmp = 0u64;
        let mut file_bad = 0u64;
        while let Ok(Some(p)) = r.next_packet() {
            let row = rows.get(i);
            i += 1;
            let Some(row) = row else { break };
            let get = |c: usize| first(row.get(c).copied().unwrap_or(""));
            // Tunnels and ICMP errors carry inner headers: tshark lists several; skip.
            if row.get(c_src).is_some_and(|s| s.contains(',')) || get(c_proto).contains("icmp") {
                continue;
            }
            let Ok(d) = decode(p.linktype.0, p.data) else {
                if !get(c_src).is_empty() {
                    file_bad += 1;
                    bad.push(format!(
                        "{stem} frame {i}: we failed to decode, tshark has ip {}",
                        get(c_src)
                    ));
                }
                continue;
            };
            let Net::Ip(ip) = &d.net else { continue };
            if get(c_src).is_empty() {
                continue; // IPv6 (tshark's ipv6 columns not dumped) or non-IP
            }
            file_cmp += 1;
            let (sp, dp) = match &ip.transport {
                Transport::Tcp(t) => (t.src_port.to_string(), t.dst_port.to_string()),
                Transport::Udp(u) => (u.src_port.to_string(), u.dst_port.to_string()),
                _ => (String::new(), String::new()),
            };
            let (tsp, tdp) = if !get(c_ts).is_empty() {
                (get(c_ts), get(c_td))
            } else {
                (get(c_us), get(c_ud))
            };
            let fragment = ip.fragment.is_some();
            let ok = ip.src.to_string() == get(c_src)
                && ip.dst.to_string() == get(c_dst)
                && (fragment || (sp == tsp && dp == tdp));
            if !ok {
                file_bad += 1;
                bad.push(format!(
                    "{stem} frame {i}: ours {}:{sp} > {}:{dp}, tshark {}:{tsp} > {}:{tdp}",
                    ip.src,
                    ip.dst,
                    get(c_src),
                    get(c_dst)
                ));
            }
        }
        files += 1;
        frames += i as u64;
        compared += file_cmp;
        println!("{stem:<55} {i:>7} {file_cmp:>9} {file_bad:>9}");
    }
    println!(
        "{files} captures, {frames} frames, {compared} compared, {} disagreements",
        bad.len()
    );
    assert!(
        files > 50,
        "expected the shared tshark dumps, found {files}"
    );
    assert!(
        bad.is_empty(),
        "disagreements with tshark:\n{}",
        bad.join("\n")
    );
}
