//! End to end: `sluice analyze` on real EtherNet/IP captures shows the parser's events
//! (explicit messages with their CIP part, ListIdentity, implicit I/O summaries).
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

fn events(p: &Path) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .arg("analyze")
        .arg(p)
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
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn enip_cip_example_events() {
    let Some(p) = capture("enip-cip/enip-icsnpp-cip-example.pcap") else {
        return;
    };
    let ev = events(&p);
    let enip: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.enip")
        .collect();
    // 134 SendUnitData transactions, 1 ListIdentity, 24 I/O connection summaries.
    assert_eq!(enip.len(), 159);
    assert!(enip.iter().all(|e| e["network"]["protocol"] == "enip"));
    let li = enip
        .iter()
        .find(|e| e["enip"]["function"] == "list_identity")
        .unwrap();
    assert_eq!(li["enip"]["function_code"], 0x63);
    assert_eq!(li["enip"]["identity"][0]["product_name"], "1756-ENBT/A");
    assert_eq!(li["destination"]["port"], 44818);
    let msp = enip
        .iter()
        .find(|e| e["enip"]["cip"]["service_name"] == "multiple_service_packet")
        .unwrap();
    assert_eq!(msp["enip"]["function"], "send_unit_data");
    assert_eq!(msp["enip"]["cip"]["class_name"], "message_router");
    assert_eq!(msp["enip"]["cip"]["services"].as_array().unwrap().len(), 11);
    let io: Vec<_> = enip
        .iter()
        .filter(|e| e["enip"]["function"] == "implicit_io")
        .collect();
    assert_eq!(io.len(), 24);
    assert!(io.iter().all(|e| e["network"]["transport"] == "udp"));
    assert!(io
        .iter()
        .any(|e| e["enip"]["connection_id"] == "0x004b0603" && e["enip"]["io"]["packets"] == 31));
}

#[test]
fn cpppo_tag_writes() {
    let Some(p) = capture("stacks/enip.pcap") else {
        return;
    };
    let ev = events(&p);
    let w = ev
        .iter()
        .find(|e| e["enip"]["cip"]["service_name"] == "write_tag")
        .unwrap();
    assert_eq!(w["enip"]["cip_service"], 0x4D);
    assert_eq!(w["enip"]["cip"]["tag"], "SCADA[826]");
    assert_eq!(w["enip"]["cip"]["values"][0], 19766.0);
    assert_eq!(w["enip"]["cip"]["route_path"], "port 1 link 0");
}
