//! End to end: TLS captures through the `sluice` binary (skipped without
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
fn tls_handshake_in_the_pipeline() {
    let Some(p) = capture("tls/tls-zeek-ecdhe.pcap") else {
        return;
    };
    let ev = events(&p, "tls");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    let t = &ev[0]["tls"];
    assert_eq!(ev[0]["event"]["dataset"], "sluice.tls");
    assert_eq!(t["version"], "TLSv12");
    assert_eq!(t["cipher"], "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA");
    assert_eq!(t["curve"], "secp256r1");
    assert_eq!(t["client"]["ja3_hash"], "29d8afc9e0a4d38d138ec2643966815f");
    assert_eq!(t["server"]["ja3s_hash"], "a8d2a5625ef8f3aada2fb53dad3f2921");
    assert_eq!(t["certificates"][0]["common_name"], "*.google.com");
    assert_eq!(t["established"], true);
}

#[test]
fn tls_raw_ip_capture_in_the_pipeline() {
    let Some(p) = capture("tls/tls-sv-alpn.pcap") else {
        return;
    };
    let ev = events(&p, "tls");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["tls"]["server_name"], "p130-contacts.icloud.com");
    assert_eq!(ev[0]["tls"]["client"]["alpn"][0], "h2");
    assert_eq!(ev[0]["tls"]["server"]["alpn"], "http/1.1");
}
