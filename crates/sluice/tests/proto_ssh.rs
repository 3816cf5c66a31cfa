//! End to end: SSH captures through the `sluice` binary (skipped without
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
fn ssh_hassh_in_the_pipeline() {
    let Some(p) = capture("ssh/ssh-sv-hassh.pcap") else {
        return;
    };
    let ev = events(&p, "ssh");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    let s = &ev[0]["ssh"];
    assert_eq!(ev[0]["event"]["dataset"], "sluice.ssh");
    assert_eq!(ev[0]["destination"]["port"], 22);
    assert_eq!(s["client"]["software_version"], "OpenSSH_for_Windows_7.7");
    assert_eq!(s["server"]["software_version"], "OpenSSH_7.4");
    assert_eq!(
        s["client"]["hassh"]["hash"],
        "2dd6531c7e89d3c925db9214711be76a"
    );
    assert_eq!(
        s["server"]["hassh"]["hash"],
        "6832f1ce43d4397c2c0a3e2f8c94334e"
    );
}

#[test]
fn ssh_pre_banner_lines_in_the_pipeline() {
    let Some(p) = capture("ssh/ssh-zeek-server-pre-banner-data.pcap") else {
        return;
    };
    let ev = events(&p, "ssh");
    assert_eq!(ev.len(), 1, "{ev:#?}");
    assert_eq!(ev[0]["ssh"]["server"]["software_version"], "OpenSSH_9.2p1");
    assert_eq!(
        ev[0]["ssh"]["chosen"]["cipher_client_to_server"],
        "aes192-ctr"
    );
}
