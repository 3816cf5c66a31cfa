//! End to end: `sluice analyze` on a real OPC UA capture (open62541 client and
//! server) shows the parser's events.
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
fn open62541_session() {
    let Some(p) = capture("opcua/opcua-icsnpp-open62541-mainloop.pcap") else {
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
    let ua: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.opcua")
        .collect();
    assert_eq!(ua.len(), 35);
    assert!(ua.iter().all(|e| e["destination"]["port"] == 4840));
    let opn = ua
        .iter()
        .find(|e| e["opcua"]["message_type"] == "OPN")
        .unwrap();
    assert_eq!(opn["opcua"]["channel"]["security_none"], true);
    let w = ua
        .iter()
        .find(|e| e["opcua"]["function"] == "write")
        .unwrap();
    assert_eq!(w["opcua"]["function_code"], 673);
    assert_eq!(w["opcua"]["nodes"][0]["node_id"], "ns=1;s=the.answer");
    assert_eq!(w["opcua"]["nodes"][0]["status"], "BadNodeIdUnknown");
    let act = ua
        .iter()
        .find(|e| e["opcua"]["function"] == "activate_session")
        .unwrap();
    assert_eq!(act["opcua"]["session"]["user_name"], "user1");
    assert!(!act.to_string().contains("\"password\":"));
}
