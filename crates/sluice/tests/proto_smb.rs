//! End to end: SMB captures through the `sluice` binary (skipped without
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
fn smb2_login_and_files_in_the_pipeline() {
    let Some(p) = capture("smb/smb-zeek-smb2-delete-on-close.pcap") else {
        return;
    };
    let ev = events(&p, "smb");
    assert_eq!(ev.len(), 25, "{ev:#?}");
    let login = ev
        .iter()
        .find(|e| e["smb"]["login_success"] == true)
        .expect("a successful login");
    assert_eq!(login["smb"]["user"], "zeek");
    assert_eq!(login["smb"]["auth"]["domain"], "ZEEK-TEST");
    assert_eq!(login["event"]["dataset"], "sluice.smb");
    assert!(ev
        .iter()
        .any(|e| e["smb"]["file"]["name"] == "test_dir\\test_create.dat"));
}

#[test]
fn smb1_in_the_pipeline() {
    let Some(p) = capture("smb/smb-sv-named-pipe.pcap") else {
        return;
    };
    let ev = events(&p, "smb");
    assert_eq!(ev.len(), 5, "{ev:#?}");
    assert_eq!(ev[0]["smb"]["version"], "smb1");
    assert_eq!(ev[3]["smb"]["share"], "\\\\192.168.1.3\\IPC$");
}
