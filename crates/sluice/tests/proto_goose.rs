//! End to end: GOOSE (layer 2, ethertype 0x88B8) through `sluice analyze`: state
//! changes and per-publisher summaries with MACs.
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

fn events(pcap: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["analyze"])
        .arg(pcap)
        .args(["--no-db", "--events", "-"])
        .output()
        .expect("sluice runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).expect("JSON line"))
        .collect()
}

#[test]
fn goose_state_changes_and_summaries() {
    let Some(p) = capture("iec61850-goose/goose-iti-sample-file.pcap") else {
        return;
    };
    let ev = events(&p);
    let goose: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.goose")
        .collect();
    let states: Vec<_> = goose
        .iter()
        .filter(|e| e["goose"]["kind"] == "state_change")
        .collect();
    let sums: Vec<_> = goose
        .iter()
        .filter(|e| e["goose"]["kind"] == "summary")
        .collect();
    assert_eq!(sums.len(), 3);
    assert_eq!(states.len(), 253, "one event per publisher and stNum");
    let first = states[0];
    assert_eq!(first["network"]["protocol"], "goose");
    assert_eq!(first["source"]["mac"], "0A-BB-FE-10-C9-02");
    assert_eq!(first["goose"]["gocb_ref"], "AA1C1Q01A1LD0/LLN0$GO$gcb_A");
    assert_eq!(first["goose"]["st_num"], 36705);
    assert_eq!(first["goose"]["function"], "goose");
    assert!(first["goose"]["function_code"].is_null());
    let frames: u64 = sums
        .iter()
        .map(|e| e["goose"]["frames"].as_u64().unwrap())
        .sum();
    assert_eq!(frames, 451);
}

#[test]
fn goose_sequence_anomaly() {
    let Some(p) = capture("iec61850-goose/goose-plugin-ge-f650.pcap") else {
        return;
    };
    let ev = events(&p);
    assert!(ev.iter().any(|e| e["event"]["dataset"] == "sluice.anomaly"
        && e["anomaly"]["kind"] == "goose_sqnum_regression"));
}
