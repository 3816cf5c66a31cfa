//! End to end: VNC through the `sluice` binary: the project's own Oldsmar scenario
//! (an intruder's VNC session with security type None into the HMI; runs on a fresh
//! clone) and a real capture (skipped without ../shared/data).
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
fn oldsmar_vnc_without_authentication() {
    let path = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("oldsmar_vnc.pcap");
    let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create"));
    sluice_synth::scenario::write_scenario("oldsmar", 1, &mut f).expect("scenario");
    drop(f);
    let ev = events(&path, "vnc");
    let hs: Vec<_> = ev
        .iter()
        .filter(|e| e["vnc"]["kind"] == "handshake")
        .collect();
    assert!(!hs.is_empty(), "no VNC handshake in the Oldsmar scenario");
    let none = hs
        .iter()
        .find(|e| e["vnc"]["auth_none"] == true)
        .expect("the intruder's session uses security type None");
    assert_eq!(none["vnc"]["security_type_name"], "None");
    assert_eq!(none["vnc"]["server_version"], "003.008");
    assert!(none["vnc"]["width"].as_u64().is_some());
    let session = ev
        .iter()
        .find(|e| e["vnc"]["kind"] == "session")
        .expect("session counts");
    assert!(
        session["vnc"]["counters"]["framebuffer_updates"]
            .as_u64()
            .unwrap()
            >= 1
    );
}

#[test]
fn vnc_capture_in_the_pipeline() {
    let Some(p) = capture("vnc/vnc-zeek-mac-to-linux.pcap") else {
        return;
    };
    let ev = events(&p, "vnc");
    let good = ev
        .iter()
        .find(|e| e["vnc"]["auth_success"] == true)
        .unwrap_or_else(|| panic!("{ev:#?}"));
    assert_eq!(
        good["vnc"]["desktop_name"],
        "root's X desktop (martin-VirtualBox:1)"
    );
    assert_eq!(good["destination"]["port"], 5901);
    assert!(ev.iter().any(|e| e["vnc"]["auth_success"] == false));
}
