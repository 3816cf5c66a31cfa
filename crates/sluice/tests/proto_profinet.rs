//! End to end: Profinet DCP and RT (layer 2, ethertype 0x8892) through
//! `sluice analyze`.
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
fn dcp_identify_and_set() {
    let Some(p) = capture("profinet/profinet-iti-wireshark-bug.pcap") else {
        return;
    };
    let ev = events(&p);
    let dcp: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.profinet_dcp")
        .collect();
    assert_eq!(dcp.len(), 2);
    assert_eq!(dcp[0]["network"]["protocol"], "profinet_dcp");
    assert_eq!(dcp[0]["profinet_dcp"]["function"], "identify");
    assert_eq!(dcp[0]["profinet_dcp"]["function_code"], 5);
    assert_eq!(
        dcp[0]["profinet_dcp"]["device"]["type_of_station"],
        "S7-300EC"
    );
    assert_eq!(dcp[0]["profinet_dcp"]["device"]["vendor"], "Siemens AG");
    assert_eq!(dcp[0]["profinet_dcp"]["device"]["ip"], "192.168.0.11");
    assert_eq!(dcp[1]["profinet_dcp"]["function"], "set");
    assert_eq!(
        dcp[1]["profinet_dcp"]["query"]["name_of_station"],
        "%n%n%n "
    );
}

#[test]
fn rt_summaries_per_device() {
    let Some(p) = capture("profinet/profinet-icsnpp-io-cm-mixed-1.pcap") else {
        return;
    };
    let ev = events(&p);
    let rt: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.profinet_rt")
        .collect();
    assert_eq!(rt.len(), 3, "one summary per sending device");
    let io = rt
        .iter()
        .find(|e| e["profinet_rt"]["src_mac"] == "00:09:91:43:e0:67")
        .unwrap();
    assert_eq!(io["profinet_rt"]["streams"][0]["frame_id"], 0xc002);
    assert_eq!(io["profinet_rt"]["streams"][0]["frames"], 46);
    let dcp: Vec<_> = ev
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.profinet_dcp")
        .collect();
    let answered = dcp
        .iter()
        .find(|e| e["profinet_dcp"]["response"] == true)
        .unwrap();
    assert_eq!(
        answered["profinet_dcp"]["device"]["name_of_station"],
        "versamax-pns11"
    );
}
