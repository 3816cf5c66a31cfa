//! The fast event encoder (`Event::write_json`) writes exactly what `serde_json` writes
//! through the events' `Serialize` impls (the reference), byte for byte, for every
//! event of every bundled scenario and of every real capture in `../shared/data`.
use sluice_capture::CaptureReader;
use sluice_engine::event::Event;
use sluice_engine::{Engine, EngineConfig};
use std::path::{Path, PathBuf};

/// Every event of the capture at `path` (flow records included).
fn events_of(path: &Path) -> Vec<Event> {
    events_ending_in_parts(path, None)
}

/// As `events_of`, the flows left at the end ended `part` at a time if given.
fn events_ending_in_parts(path: &Path, part: Option<usize>) -> Vec<Event> {
    let mut engine = Engine::new(EngineConfig::default());
    let mut events = Vec::new();
    let Ok(mut r) = CaptureReader::open(path) else {
        return events;
    };
    // A corrupt tail ends the capture; the events before it still count.
    while let Ok(Some(p)) = r.next_packet() {
        engine.packet(p.ts, p.linktype.0, p.data, p.orig_len);
        events.extend(engine.take_events());
    }
    match part {
        None => engine.finish(),
        Some(n) => {
            while !engine.finish_some(n) {
                events.extend(engine.take_events());
            }
        }
    }
    events.extend(engine.take_events());
    events
}

/// Compares the two encoders on every event; returns how many were compared.
fn compare(name: &str, events: &[Event]) -> usize {
    let mut fast = Vec::new();
    let mut slow = Vec::new();
    for e in events {
        fast.clear();
        slow.clear();
        e.write_json(&mut fast);
        e.write_json_serde(&mut slow);
        assert_eq!(
            String::from_utf8_lossy(&fast),
            String::from_utf8_lossy(&slow),
            "{name}: the fast encoder differs from serde_json"
        );
        assert_eq!(e.to_json().as_bytes(), &slow[..], "{name}: to_json");
        // Valid JSON, one object.
        let v: serde_json::Value = serde_json::from_slice(&fast).unwrap();
        assert!(v.is_object());
        // The store's byte writers agree with `Display` and `write_id`.
        let mut id = Vec::new();
        e.write_id_bytes(&mut id);
        assert_eq!(
            String::from_utf8(id).unwrap(),
            e.id(),
            "{name}: write_id_bytes"
        );
        for ep in [e.src, e.dst].into_iter().flatten() {
            let mut ip = Vec::new();
            sluice_engine::write_ip(&mut ip, &ep.ip);
            assert_eq!(
                String::from_utf8(ip).unwrap(),
                ep.ip.to_string(),
                "{name}: write_ip"
            );
        }
    }
    events.len()
}

#[test]
fn fast_encoder_matches_serde_on_every_bundled_scenario() {
    let dir = tempfile::tempdir().unwrap();
    let mut total = 0;
    for name in [
        "benign",
        "vendor_day",
        "oldsmar",
        "pivot",
        "s7_stop",
        "recon",
        "demo",
    ] {
        let path = dir.path().join(format!("{name}.pcap"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        sluice_synth::scenario::write_scenario(name, 7, &mut f).unwrap();
        drop(f);
        let events = events_of(&path);
        assert!(!events.is_empty(), "{name}: no events");
        total += compare(name, &events);
    }
    assert!(total > 1000, "only {total} events compared");
}

/// Ending the flows left at the end of a capture a few at a time (as the pipeline does,
/// handing their events on between parts) emits the same events, in the same order, as
/// ending them all at once.
#[test]
fn flows_ended_in_parts_at_the_end_emit_what_ending_them_at_once_does() {
    let dir = tempfile::tempdir().unwrap();
    let mut open_at_end = 0;
    for name in ["benign", "oldsmar", "recon"] {
        let path = dir.path().join(format!("{name}.pcap"));
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
        sluice_synth::scenario::write_scenario(name, 3, &mut f).unwrap();
        drop(f);
        let at_once = events_of(&path);
        for part in [1, 7, 256] {
            let parts = events_ending_in_parts(&path, Some(part));
            assert_eq!(parts.len(), at_once.len(), "{name}, {part} at a time");
            assert!(parts == at_once, "{name}, {part} at a time: other events");
        }
        open_at_end += at_once
            .iter()
            .filter(|e| match &e.body {
                sluice_engine::event::Body::Flow(f) => f.end_reason.as_str() == "end_of_capture",
                _ => false,
            })
            .count();
    }
    assert!(
        open_at_end > 10,
        "only {open_at_end} flows left open at the end"
    );
}

fn captures(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            captures(&p, out);
        } else if p
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.contains(".pcap") || n.ends_with(".cap"))
        {
            out.push(p);
        }
    }
}

#[test]
fn fast_encoder_matches_serde_on_every_real_capture() {
    let data = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if !data.exists() {
        println!("SKIP: ../shared/data not found");
        return;
    }
    let mut files = Vec::new();
    captures(&data.join("pcaps"), &mut files);
    files.sort();
    let mut total = 0;
    let mut datasets = std::collections::BTreeSet::new();
    for f in &files {
        let events = events_of(f);
        for e in &events {
            datasets.insert(e.dataset());
        }
        total += compare(&f.display().to_string(), &events);
    }
    println!(
        "{} captures, {total} events, datasets: {datasets:?}",
        files.len()
    );
    assert!(total > 1000, "only {total} events compared");
    for d in [
        "sluice.flow",
        "sluice.modbus",
        "sluice.dnp3",
        "sluice.anomaly",
    ] {
        assert!(datasets.contains(d), "no {d} event compared");
    }
}
