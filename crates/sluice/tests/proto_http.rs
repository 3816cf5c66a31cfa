//! End to end: HTTP captures through the `sluice` binary (skipped without
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
fn http_pipelined_in_the_pipeline() {
    let Some(p) = capture("http/http-zeek-pipelined-requests.pcap") else {
        return;
    };
    let ev = events(&p, "http");
    assert_eq!(ev.len(), 5, "{ev:#?}");
    assert_eq!(ev[0]["event"]["dataset"], "sluice.http");
    assert_eq!(ev[0]["http"]["request"]["method"], "GET");
    assert_eq!(ev[0]["http"]["request"]["uri"], "/style/enhanced.css");
    assert_eq!(ev[0]["http"]["request"]["host"], "www.mozilla.org");
    assert_eq!(ev[4]["http"]["trans_depth"], 5);
    assert_eq!(ev[4]["http"]["response"]["status_code"], 200);
    assert_eq!(
        ev[4]["http"]["response"]["server"],
        "Apache/2.2.3 (Red Hat)"
    );
}

#[test]
fn http_on_8080_in_the_pipeline() {
    let Some(p) = capture("http/http-zeek-smuggle-request.pcap") else {
        return;
    };
    let ev = events(&p, "http");
    assert_eq!(ev.len(), 2, "{ev:#?}");
    assert_eq!(ev[1]["http"]["request"]["uri"], "/smuggle-this");
    assert_eq!(ev[1]["destination"]["port"], 8080);
}
