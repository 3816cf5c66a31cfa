//! End to end: `sluice analyze` on real S7comm / S7comm-plus captures shows the
//! parsers' events in the pipeline (detection by port and content).
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

fn of<'a>(ev: &'a [serde_json::Value], dataset: &str) -> Vec<&'a serde_json::Value> {
    ev.iter()
        .filter(|e| e["event"]["dataset"] == dataset)
        .collect()
}

#[test]
fn s7comm_snap7_events() {
    let Some(p) = capture("s7comm/s7comm-icsnpp-snap7.pcap") else {
        return;
    };
    let ev = events(&p);
    let s7 = of(&ev, "sluice.s7comm");
    assert_eq!(s7.len(), 32, "one event per job/userdata transaction");
    assert!(s7.iter().all(|e| e["network"]["protocol"] == "s7comm"
        && e["destination"]["port"] == 102
        && e["s7comm"]["function_code"].is_u64()));
    let stop = s7
        .iter()
        .find(|e| e["s7comm"]["function"] == "plc_stop")
        .unwrap();
    assert_eq!(stop["s7comm"]["function_code"], 0x29);
    assert_eq!(stop["s7comm"]["pi"]["service"], "P_PROGRAM");
    let w = s7
        .iter()
        .find(|e| e["s7comm"]["function"] == "write_var")
        .unwrap();
    assert_eq!(w["s7comm"]["items"][0]["address"], "MD16");
    let szl = s7
        .iter()
        .find(|e| e["s7comm"]["szl"]["id"] == 0x11)
        .unwrap();
    assert_eq!(
        szl["s7comm"]["szl"]["entries"][0]["text"],
        "6ES7 315-2EH14-0AB0"
    );
}

#[test]
fn s7commplus_session_events() {
    let Some(p) = capture("s7comm/s7commplus-iti-s7-1200-uploading-ob1.pcap") else {
        return;
    };
    let ev = events(&p);
    let plus = of(&ev, "sluice.s7commplus");
    assert!(!plus.is_empty());
    assert!(
        of(&ev, "sluice.s7comm").is_empty(),
        "S7comm-plus must not be taken for S7comm"
    );
    let co = plus
        .iter()
        .find(|e| e["s7commplus"]["function"] == "create_object")
        .unwrap();
    assert_eq!(co["s7commplus"]["function_code"], 0x04CA);
    assert_eq!(co["s7commplus"]["version"], 1);
    assert_eq!(co["network"]["protocol"], "s7commplus");
    assert!(plus
        .iter()
        .any(|e| e["s7commplus"]["function"] == "get_multi_variables"));
}
