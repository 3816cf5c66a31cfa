//! End to end: `sluice analyze` on real BACnet/IP captures shows the parser's events.
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
fn bacpypes_write_property() {
    let Some(p) = capture("stacks/bacnet.pcap") else {
        return;
    };
    let ev = events(&p);
    let bac: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.bacnet")
        .collect();
    assert_eq!(bac.len(), 1828);
    assert!(bac.iter().all(|e| e["network"]["transport"] == "udp"));
    let w = bac
        .iter()
        .find(|e| e["bacnet"]["function"] == "write_property")
        .unwrap();
    assert_eq!(w["bacnet"]["function_code"], 15);
    assert_eq!(w["bacnet"]["object"]["type_name"], "analog-value");
    assert_eq!(w["bacnet"]["object"]["instance"], 3);
    assert_eq!(
        w["bacnet"]["properties"][0]["property_name"],
        "present-value"
    );
    assert_eq!(w["bacnet"]["properties"][0]["priority"], 8);
    assert_eq!(w["bacnet"]["response_pdu_type"], "simple_ack");
    let i_am = bac
        .iter()
        .find(|e| e["bacnet"]["function"] == "i_am")
        .unwrap();
    assert_eq!(i_am["bacnet"]["device"]["instance"], 1001);
}

#[test]
fn icsnpp_discovery_and_reinitialize() {
    let Some(p) = capture("bacnet/bacnet-icsnpp-example.pcap") else {
        return;
    };
    let ev = events(&p);
    let bac: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.bacnet")
        .collect();
    assert_eq!(
        bac.iter()
            .filter(|e| e["bacnet"]["function"] == "i_am")
            .count(),
        210
    );
    let r = bac
        .iter()
        .find(|e| e["bacnet"]["error_code"] == "password-failure")
        .unwrap();
    assert_eq!(r["bacnet"]["function"], "reinitialize_device");
    assert_eq!(r["bacnet"]["password_present"], true);
}
