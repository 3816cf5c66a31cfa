//! End to end: DNS captures through the `sluice` binary (skipped without
//! ../shared/data).
use std::path::{Path, PathBuf};
use std::process::Command;

fn events(path: &Path, proto: &str) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "analyze",
            path.to_str().unwrap(),
            "--no-db",
            "--events",
            "-",
        ])
        .output()
        .expect("sluice runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e.get(proto).is_some())
        .collect()
}

fn capture(rel: &str) -> Option<PathBuf> {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcaps"
    ))
    .join(rel);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("SKIP: ../shared/data not found ({})", p.display());
        None
    }
}

#[test]
fn dns_nxdomain_in_the_pipeline() {
    let Some(p) = capture("dns/dns-sv-nxdomain-soa.pcap") else {
        return;
    };
    let ev = events(&p, "dns");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    let e = &ev[0];
    assert_eq!(e["event"]["dataset"], "sluice.dns");
    assert_eq!(e["network"]["transport"], "udp");
    assert_eq!(e["destination"]["port"], 53);
    assert_eq!(e["dns"]["id"], 0x8295);
    assert_eq!(e["dns"]["query"], "dne.oisf.net");
    assert_eq!(e["dns"]["rcode_name"], "NXDOMAIN");
    assert_eq!(
        e["dns"]["authorities"][0]["soa"]["mname"],
        "ns-110.awsdns-13.com"
    );
}

#[test]
fn dns_dynamic_update_in_the_pipeline() {
    let Some(p) = capture("dns/dns-zeek-dynamic-update.pcap") else {
        return;
    };
    let ev = events(&p, "dns");
    assert_eq!(ev.len(), 2, "{ev:#?}");
    for e in &ev {
        assert_eq!(e["dns"]["opcode_name"], "dynamic-update");
        assert_eq!(e["dns"]["authorities"][2]["action"], "add");
    }
}
