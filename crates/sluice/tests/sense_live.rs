//! `sluice sense` on the loopback interface: real Modbus/TCP exchanged over 127.0.0.1 on a
//! port that is not 502 (found by content), then SIGTERM: every buffered event is
//! written before exit and the kernel counters are reported. Needs root (or
//! CAP_NET_RAW); prints SKIP otherwise.
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

/// A read holding registers request (FC3) and its answer, framed by hand per the spec.
fn request(tid: u16) -> Vec<u8> {
    let mut v = tid.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0, 0, 6, 1, 3, 0, 5, 0, 2]);
    v
}

fn response(tid: u16) -> Vec<u8> {
    let mut v = tid.to_be_bytes().to_vec();
    v.extend_from_slice(&[0, 0, 0, 7, 1, 3, 4, 0, 100, 0, 7]);
    v
}

#[test]
fn live_capture_on_loopback_stops_cleanly_and_keeps_events() {
    if !is_root() {
        eprintln!("SKIP: live capture needs root");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let events = dir.path().join("live.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "sense",
            "--iface",
            "lo",
            "--filter",
            &format!("tcp port {port}"),
            "--db",
            dir.path().join("live.db").to_str().unwrap(),
            "--events",
            events.to_str().unwrap(),
        ])
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the capture is open.
    std::thread::sleep(Duration::from_millis(1500));
    if let Ok(Some(status)) = child.try_wait() {
        let mut err = String::new();
        child.stderr.take().unwrap().read_to_string(&mut err).ok();
        eprintln!("SKIP: sluice sense could not start ({status}): {err}");
        return;
    }
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = [0u8; 12];
        for tid in 1..=5u16 {
            s.read_exact(&mut buf).unwrap();
            s.write_all(&response(tid)).unwrap();
        }
    });
    let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut buf = [0u8; 13];
    for tid in 1..=5u16 {
        c.write_all(&request(tid)).unwrap();
        c.read_exact(&mut buf).unwrap();
    }
    drop(c);
    server.join().unwrap();
    // Every transaction is written within moments (live mode flushes per packet).
    let start = Instant::now();
    let mut seen = 0;
    while start.elapsed() < Duration::from_secs(10) {
        let text = std::fs::read_to_string(&events).unwrap_or_default();
        seen = text
            .lines()
            .filter(|l| l.contains("\"sluice.modbus\""))
            .count();
        if seen >= 4 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    // Graceful stop.
    let pid = child.id().to_string();
    Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("kernel: received"), "{err}");
    let lines: Vec<Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let modbus: Vec<&Value> = lines
        .iter()
        .filter(|e| e["event"]["dataset"] == "sluice.modbus")
        .collect();
    assert!(seen >= 4, "only {seen} transactions before the stop");
    assert_eq!(modbus.len(), 5, "all five transactions after the stop");
    assert!(modbus
        .iter()
        .all(|e| e["modbus"]["function_code"] == 3 && e["destination"]["port"] == port));
    assert_eq!(modbus[0]["modbus"]["values"], serde_json::json!([100, 7]));
    // The flow record was flushed at shutdown too.
    assert!(lines.iter().any(|e| e["event"]["dataset"] == "sluice.flow"));
    // Live, lines leave before their store commit (the store thread writes behind);
    // at exit the store holds every one of them.
    let db = dir.path().join("live.db");
    let stored = Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["events", "--db", db.to_str().unwrap(), "--format", "json"])
        .args(["--dataset", "sluice.modbus"])
        .output()
        .unwrap();
    assert!(stored.status.success());
    let stored = String::from_utf8_lossy(&stored.stdout);
    let stored: Vec<Value> = stored
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(stored.len(), 5, "{stored:?}");
    assert!(stored.iter().all(|e| e["modbus"]["function_code"] == 3));
}
