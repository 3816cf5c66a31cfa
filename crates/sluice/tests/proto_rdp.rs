//! End to end: RDP captures through the `sluice` binary (skipped without
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
fn rdp_standard_security_in_the_pipeline() {
    let Some(p) = capture("rdp/rdp-zeek-x509.pcap") else {
        return;
    };
    let ev = events(&p, "rdp");
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert_eq!(ev[0]["event"]["dataset"], "sluice.rdp");
    assert_eq!(ev[0]["rdp"]["kind"], "negotiation");
    assert_eq!(ev[0]["rdp"]["user"], "JOHN-PC");
    assert_eq!(ev[0]["rdp"]["security_protocol"], "RDP");
    assert_eq!(ev[0]["destination"]["port"], 3389);
    assert_eq!(ev[1]["rdp"]["client"]["name"], "JOHN-PC-LAPTOP");
    assert_eq!(ev[1]["rdp"]["server"]["encryption_method"], "128bit");
}

#[test]
fn rdp_tls_switch_in_the_pipeline() {
    let Some(p) = capture("rdp/rdp-zeek-to-ssl.pcap") else {
        return;
    };
    let ev = events(&p, "rdp");
    assert_eq!(ev.len(), 2, "one negotiation per connection: {ev:#?}");
    for e in &ev {
        assert_eq!(e["rdp"]["security_protocol"], "HYBRID");
        assert_eq!(e["rdp"]["tls"], true);
        assert_eq!(e["rdp"]["cookie"], "AWAKECODI");
    }
}
