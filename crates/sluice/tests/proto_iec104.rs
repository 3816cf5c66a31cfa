//! End to end: `sluice analyze` on a real IEC 60870-5-104 capture shows the
//! parser's events in the pipeline.
use std::path::{Path, PathBuf};
use std::process::Command;

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
fn iec104_diverse_events() {
    let Some(p) = capture("iec104/iec104-iti-090813-diverse.pcap") else {
        return;
    };
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("analyze")
        .arg(&p)
        .args(["--no-db", "--events", "-"])
        .output()
        .expect("sluice runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ev: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let iec: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.iec104")
        .collect();
    assert_eq!(iec.len(), 44);
    assert!(iec.iter().all(|e| e["network"]["protocol"] == "iec104"));
    let sp: Vec<_> = iec
        .iter()
        .filter(|e| e["iec104"]["function"] == "C_SE_NC_1")
        .collect();
    assert_eq!(sp.len(), 4);
    assert_eq!(sp[0]["iec104"]["function_code"], 50);
    assert_eq!(sp[0]["iec104"]["objects"][0]["ioa"], 5020);
    assert_eq!(sp[0]["iec104"]["objects"][0]["value"], 12.0);
    assert_eq!(sp[0]["destination"]["port"], 2404);
    assert!(iec
        .iter()
        .any(|e| e["iec104"]["function"] == "M_ME_NC_1" && e["iec104"]["cot_name"] == "periodic"));
}
