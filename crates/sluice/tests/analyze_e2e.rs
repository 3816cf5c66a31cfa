//! End-to-end tests of `sluice analyze` and the query commands, on captures the project
//! makes itself (so they run on a fresh clone) and on real shared captures when present.
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn run(args: &[&str], dir: &Path) -> Output {
    sluice()
        .args(args)
        .current_dir(dir)
        .output()
        .expect("sluice runs")
}

fn scenario(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.pcap"));
    let mut f = std::fs::File::create(&p).unwrap();
    sluice_synth::scenario::write_scenario(name, 7, &mut f).unwrap();
    p
}

fn json_lines(s: &[u8]) -> Vec<Value> {
    String::from_utf8_lossy(s)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn count_of(events: &[Value], dataset: &str) -> usize {
    events
        .iter()
        .filter(|e| get(e, "event.dataset") == dataset)
        .count()
}

#[test]
fn analyze_writes_events_store_and_queries_read_them_back() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = scenario(dir.path(), "oldsmar");
    let out = run(
        &[
            "analyze",
            pcap.to_str().unwrap(),
            "--db",
            "s.db",
            "--events",
            "-",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out.stdout);
    // Every event carries the DESIGN.md envelope.
    for e in &events {
        for k in ["@timestamp", "event.kind", "event.dataset"] {
            assert!(!get(e, k).is_null(), "missing {k} in {e}");
        }
    }
    let modbus: Vec<&Value> = events
        .iter()
        .filter(|e| get(e, "event.dataset") == "sluice.modbus")
        .collect();
    assert!(modbus.len() > 100, "{} modbus events", modbus.len());
    // The Oldsmar write: register 5 set to 11100 on the PLC, by the HMI.
    let write = modbus
        .iter()
        .find(|e| {
            get(e, "modbus.function_code") == 6
                && get(e, "modbus.values").get(0) == Some(&Value::from(11100))
        })
        .expect("the FC6 write of 11100");
    assert_eq!(get(write, "modbus.address"), 5);
    assert_eq!(get(write, "destination.ip"), "10.10.1.10");
    assert_eq!(get(write, "destination.port"), 502);
    assert_eq!(get(write, "source.ip"), "10.10.2.20");
    assert_eq!(get(write, "network.protocol"), "modbus");
    assert_eq!(get(write, "network.transport"), "tcp");
    assert_eq!(get(write, "modbus.response"), true);
    // Flow records.
    let vnc = events
        .iter()
        .find(|e| get(e, "event.dataset") == "sluice.flow" && get(e, "destination.port") == 5900)
        .expect("the VNC flow");
    assert_eq!(get(vnc, "source.ip"), "203.0.113.66");
    assert!(get(vnc, "network.packets").as_u64().unwrap_or(0) > 4);
    assert!(get(vnc, "flow.history")
        .as_str()
        .unwrap_or("")
        .starts_with('S'));
    assert_eq!(get(vnc, "flow.end_reason"), "fin");
    // The summary names packets and throughput.
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("packets/s"), "{err}");

    // Queries read the store back.
    let assets = run(&["assets", "--db", "s.db", "--format", "json"], dir.path());
    assert!(assets.status.success());
    let assets = json_lines(&assets.stdout);
    let plc = assets
        .iter()
        .find(|a| a["ip"] == "10.10.1.10")
        .expect("the PLC asset");
    assert_eq!(plc["role"], "plc");
    assert_eq!(plc["mac"], "00-80-F4-0A-11-10");
    assert_eq!(
        plc["identity"]["modbus.fc43"]["vendor"],
        "Schneider Electric"
    );
    let hmi = assets.iter().find(|a| a["ip"] == "10.10.2.20").unwrap();
    assert_eq!(hmi["role"], "hmi");
    let table = run(&["assets", "--db", "s.db"], dir.path());
    let t = String::from_utf8_lossy(&table.stdout);
    assert!(t.starts_with("IP"), "{t}");
    assert!(t.contains("10.10.1.10") && t.contains("plc"), "{t}");
    let flows = run(&["flows", "--db", "s.db", "--format", "json"], dir.path());
    assert_eq!(
        json_lines(&flows.stdout).len(),
        count_of(&events, "sluice.flow")
    );
    let evs = run(
        &[
            "events",
            "--db",
            "s.db",
            "--protocol",
            "modbus",
            "--format",
            "json",
        ],
        dir.path(),
    );
    assert_eq!(json_lines(&evs.stdout).len(), modbus.len());
}

#[test]
fn reanalysing_the_same_capture_adds_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = scenario(dir.path(), "benign");
    let p = pcap.to_str().unwrap();
    let rows = |what: &str| {
        let o = run(&[what, "--db", "s.db", "--format", "json"], dir.path());
        assert!(o.status.success());
        json_lines(&o.stdout)
    };
    assert!(run(&["analyze", p, "--db", "s.db", "-q"], dir.path())
        .status
        .success());
    let (a, f, e) = (rows("assets"), rows("flows"), rows("events"));
    assert!(
        a.len() > 5 && f.len() > 5 && e.len() > 50,
        "{} {} {}",
        a.len(),
        f.len(),
        e.len()
    );
    assert!(run(&["analyze", p, "--db", "s.db", "-q"], dir.path())
        .status
        .success());
    // Same rows, and asset counters not doubled.
    assert_eq!(rows("assets"), a);
    assert_eq!(rows("flows").len(), f.len());
    assert_eq!(rows("events").len(), e.len());
}

/// A capture analysed again together with another one is replaced too (its events are
/// not stored twice); a run that shares only some files with an earlier one says so.
#[test]
fn reanalysing_a_capture_with_more_files_replaces_it_and_partial_overlaps_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let a = scenario(dir.path(), "benign");
    let b = scenario(dir.path(), "recon");
    let c = scenario(dir.path(), "pivot");
    let (a, b, c) = (
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        c.to_str().unwrap(),
    );
    let events = |db: &str| {
        let o = run(&["events", "--db", db, "--format", "json"], dir.path());
        assert!(o.status.success());
        json_lines(&o.stdout).len()
    };
    let assets = |db: &str| {
        let o = run(&["assets", "--db", db, "--format", "json"], dir.path());
        assert!(o.status.success());
        json_lines(&o.stdout)
    };
    // The reference: a and b analysed together once, in a store of their own.
    assert!(run(&["analyze", a, b, "--db", "ab.db", "-q"], dir.path())
        .status
        .success());
    let both = events("ab.db");
    assert!(run(&["analyze", a, "--db", "s.db", "-q"], dir.path())
        .status
        .success());
    let only_a = events("s.db");
    assert!(only_a > 50 && only_a < both, "{only_a} {both}");
    let o = run(&["analyze", a, b, "--db", "s.db", "-q"], dir.path());
    assert!(o.status.success());
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(events("s.db"), both);
    assert_eq!(assets("s.db"), assets("ab.db"));
    // b and c: b was analysed with a, which this run does not replace.
    let o = run(&["analyze", b, c, "--db", "s.db", "-q"], dir.path());
    assert!(o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("warning: run 2 analysed") && err.contains(a) && err.contains(b),
        "{err}"
    );
    assert!(events("s.db") > both);
    // All three together replace runs 2 and 3 (no warning, no duplicate)...
    let o = run(&["analyze", a, b, c, "--db", "s.db", "-q"], dir.path());
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(
        run(&["analyze", a, b, c, "--db", "abc.db", "-q"], dir.path())
            .status
            .success()
    );
    assert_eq!(events("s.db"), events("abc.db"));
    // ...and c alone is then stored twice beside run 4; run 3 (b and c), replaced, holds
    // nothing any more and is not named.
    let o = run(&["analyze", c, "--db", "s.db", "-q"], dir.path());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("warning: run 4 analysed"), "{err}");
    assert_eq!(err.matches("warning").count(), 1, "{err}");
}

#[test]
fn corrupt_capture_exits_2_naming_file_and_offset_and_keeps_earlier_events() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = scenario(dir.path(), "oldsmar");
    let bytes = std::fs::read(&pcap).unwrap();
    // Cut two thirds in: almost surely inside a record.
    let cut = bytes.len() * 2 / 3 + 5;
    let bad = dir.path().join("cut.pcap");
    std::fs::write(&bad, &bytes[..cut]).unwrap();
    let out = run(
        &[
            "analyze",
            bad.to_str().unwrap(),
            "--db",
            "s.db",
            "--events",
            "ev.json",
        ],
        dir.path(),
    );
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    let last = err.lines().last().unwrap_or("");
    assert!(
        last.starts_with("sluice: error: ") && last.contains("cut.pcap: byte offset "),
        "{err}"
    );
    assert!(last.contains("truncated"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    // Everything before the fault is kept, in the events file and the store.
    let events = json_lines(&std::fs::read(dir.path().join("ev.json")).unwrap());
    let modbus = count_of(&events, "sluice.modbus");
    assert!(modbus > 50, "{modbus}");
    assert!(events
        .iter()
        .any(|e| get(e, "anomaly.kind") == "corrupt_capture"));
    let o = run(
        &[
            "events",
            "--db",
            "s.db",
            "--format",
            "json",
            "--protocol",
            "modbus",
        ],
        dir.path(),
    );
    assert_eq!(json_lines(&o.stdout).len(), modbus);
}

#[test]
fn bad_inputs_get_one_line_errors_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello, not a capture\n").unwrap();
    let out = run(&["analyze", "notes.txt", "--db", "s.db"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("notes.txt: byte offset 0: not a pcap or pcapng capture"),
        "{err}"
    );
    let out = run(&["analyze", "missing.pcap"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.pcap"));
    // Querying a store that does not exist does not create one.
    let out = run(&["assets", "--db", "nope.db"], dir.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(!dir.path().join("nope.db").exists());
    // Usage errors exit 2; help exits 0 and lists the commands.
    assert_eq!(run(&["analyze"], dir.path()).status.code(), Some(2));
    let help = run(&["--help"], dir.path());
    assert!(help.status.success());
    let h = String::from_utf8_lossy(&help.stdout);
    for c in ["analyze", "sense", "assets", "flows", "events"] {
        assert!(h.contains(c), "{c} missing from --help");
        assert!(run(&[c, "--help"], dir.path()).status.success());
    }
}

#[test]
fn several_files_are_merged_in_time_order_and_gzip_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let a = scenario(dir.path(), "pivot");
    let b = scenario(dir.path(), "recon");
    let gz = dir.path().join("recon.pcap.gz");
    let zipped = Command::new("gzip")
        .arg("-k")
        .arg(&b)
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !zipped || !gz.exists() {
        eprintln!("SKIP: gzip tool not available");
        return;
    }
    let out = run(
        &[
            "analyze",
            a.to_str().unwrap(),
            gz.to_str().unwrap(),
            "--no-db",
            "--events",
            "-",
        ],
        dir.path(),
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let events = json_lines(&out.stdout);
    assert!(events.iter().any(|e| get(e, "source.ip") == "10.20.5.23"));
    // Both files' flows are there (the recon sweep opens hundreds of short flows).
    assert!(
        count_of(&events, "sluice.flow") > 500,
        "{}",
        count_of(&events, "sluice.flow")
    );
}

#[test]
fn real_modbus_and_dnp3_captures_end_to_end() {
    let data = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/pcaps"
    ));
    if !data.is_dir() {
        eprintln!("SKIP: ../shared/data not found");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("stacks/modbus.pcap", "modbus", 1000),
        ("stacks/dnp3.pcap", "dnp3", 500),
        ("modbus/modbus-sv-mixed.pcap", "modbus", 10),
        ("dnp3/dnp3-zeek-udp-select-operate.pcap", "dnp3", 2),
    ];
    for (rel, proto, min) in cases {
        let p = data.join(rel);
        let out = run(
            &[
                "analyze",
                p.to_str().unwrap(),
                "--no-db",
                "--events",
                "-",
                "-q",
            ],
            dir.path(),
        );
        assert!(
            out.status.success(),
            "{rel}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let n = count_of(&json_lines(&out.stdout), &format!("sluice.{proto}"));
        assert!(n >= min, "{rel}: {n} {proto} transactions");
    }
}

#[test]
fn two_workers_give_the_same_results_as_one() {
    let dir = tempfile::tempdir().unwrap();
    let pcap = scenario(dir.path(), "demo");
    let p = pcap.to_str().unwrap();
    let mut results = Vec::new();
    for (w, db) in [("1", "one.db"), ("2", "two.db")] {
        let out = run(
            &[
                "analyze",
                p,
                "--db",
                db,
                "--workers",
                w,
                "--events",
                "-",
                "-q",
            ],
            dir.path(),
        );
        assert!(out.status.success());
        let mut ids: Vec<String> = json_lines(&out.stdout)
            .iter()
            .map(|e| get(e, "event.id").as_str().unwrap_or("").to_owned())
            .collect();
        ids.sort();
        let assets = run(&["assets", "--db", db, "--format", "json"], dir.path());
        results.push((ids, json_lines(&assets.stdout)));
    }
    assert!(results[0].0.len() > 1000);
    assert_eq!(results[0].0, results[1].0, "same events");
    assert_eq!(results[0].1, results[1].1, "same assets");
}
