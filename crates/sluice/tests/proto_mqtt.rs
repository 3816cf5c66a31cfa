//! End to end: MQTT captures through the `sluice` binary (skipped without
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
fn mqtt_session_in_the_pipeline() {
    let Some(p) = capture("mqtt/mqtt-zeek-mqtt.pcap") else {
        return;
    };
    let ev = events(&p, "mqtt");
    let connects: Vec<_> = ev
        .iter()
        .filter(|e| e["mqtt"]["packet_type"] == 1)
        .collect();
    assert_eq!(connects.len(), 2, "{ev:#?}");
    assert_eq!(connects[0]["event"]["dataset"], "sluice.mqtt");
    assert_eq!(connects[0]["destination"]["port"], 1883);
    assert_eq!(connects[0]["mqtt"]["connect"]["protocol_name"], "MQIsdp");
    assert_eq!(connects[0]["mqtt"]["reply"]["packet_type_name"], "CONNACK");
    let sub = ev
        .iter()
        .find(|e| e["mqtt"]["packet_type"] == 8)
        .expect("SUBSCRIBE");
    assert_eq!(sub["mqtt"]["topics"][0]["topic"], "SampleTopic");
}

#[test]
fn mqtt_password_never_leaves_the_sensor() {
    let Some(p) = capture("mqtt/mqtt-sv-311-pub-userpass.pcap") else {
        return;
    };
    let ev = events(&p, "mqtt");
    let c = ev
        .iter()
        .find(|e| e["mqtt"]["packet_type"] == 1)
        .expect("CONNECT");
    assert_eq!(c["mqtt"]["connect"]["username"], "user");
    assert_eq!(c["mqtt"]["connect"]["password_present"], true);
    for e in &ev {
        assert!(!e.to_string().contains("\"pass\""), "{e}");
    }
}
