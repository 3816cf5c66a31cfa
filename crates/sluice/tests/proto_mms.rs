//! End to end: `sluice analyze` on real MMS captures (ISO-on-TCP port 102) shows
//! the MMS parser's events in the pipeline, and S7comm captures on the same port
//! are not taken for MMS.
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
fn mms_association_identify_and_status() {
    let Some(p) = capture("iec61850-mms/mms-iti-piccolo.pcap") else {
        return;
    };
    let ev = events(&p);
    let mms = of(&ev, "sluice.mms");
    assert_eq!(mms.len(), 3);
    assert!(mms.iter().all(|e| e["network"]["protocol"] == "mms"
        && e["destination"]["port"] == 102
        && e["source"]["ip"] == "10.10.0.33"));
    assert_eq!(mms[0]["mms"]["pdu"], "initiate");
    assert_eq!(
        mms[0]["mms"]["association"]["called_ap_title"],
        "1.1.1.999.1"
    );
    assert_eq!(mms[0]["mms"]["association"]["result"], "accepted");
    let ident = mms
        .iter()
        .find(|e| e["mms"]["function"] == "identify")
        .unwrap();
    assert_eq!(ident["mms"]["function_code"], 2);
    assert_eq!(ident["mms"]["vendor"], "INFO TECH");
    assert_eq!(ident["mms"]["invoke_id"], 1);
}

#[test]
fn iccp_writes_and_iec61850_reports() {
    let Some(p) = capture("iec61850-mms/mms-iti-session-8d7c7db0.pcap") else {
        return;
    };
    let ev = events(&p);
    let mms = of(&ev, "sluice.mms");
    let w = mms
        .iter()
        .find(|e| e["mms"]["function"] == "write" && e["mms"]["invoke_id"] == 4436)
        .unwrap();
    assert_eq!(w["mms"]["function_code"], 5);
    assert_eq!(w["mms"]["variables"][0], "KIRKLAND/CITEC_TS0");
    assert_eq!(w["mms"]["results"][0], "success");
    assert!(
        mms.iter()
            .filter(|e| e["mms"]["function"] == "information_report")
            .count()
            > 100
    );
    let Some(p) = capture("iec61850-mms/iec61850-iti-sample-mms-and-goose.pcap") else {
        return;
    };
    let ev = events(&p);
    let rpt = of(&ev, "sluice.mms")
        .into_iter()
        .find(|e| e["mms"]["report"]["rpt_id"] == "AA1C1Q01A1LD0/LLN0$rcb_I02")
        .unwrap();
    assert_eq!(rpt["mms"]["report"]["entries"], 1);
    assert_eq!(rpt["source"]["port"], 102);
    // GOOSE of the same capture comes through the layer-2 path
    assert!(!of(&ev, "sluice.goose").is_empty());
}

#[test]
fn s7comm_on_port_102_is_not_mms() {
    for rel in [
        "s7comm/s7comm-icsnpp-snap7.pcap",
        "s7comm/s7commplus-iti-s7-1200-uploading-ob1.pcap",
    ] {
        let Some(p) = capture(rel) else {
            return;
        };
        assert!(of(&events(&p), "sluice.mms").is_empty(), "{rel}");
    }
}
