//! Detection end to end through the binary, on the project's own scenario captures with
//! the DESIGN.md example policy: the benign day, the Oldsmar intrusion (one chain), the
//! IT-to-OT pivot, the S7 CPU stop, the reconnaissance sweep; plus re-analysis, exit
//! codes, user rules, ATT&CK names, baselines, policy check / suggest and SIEM files.
mod common;

use common::{ok, shared, sluice};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// The example policy of DESIGN.md, verbatim.
const EXAMPLE_POLICY: &str = sluice_policy::EXAMPLE;

const SEED: u64 = 7;

fn scenario(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(format!("{name}.pcap"));
    let mut f = std::fs::File::create(&p).unwrap();
    sluice_synth::scenario::write_scenario(name, SEED, &mut f).unwrap();
    p
}

fn policy(dir: &Path) -> PathBuf {
    let p = dir.join("sluice.toml");
    std::fs::write(&p, EXAMPLE_POLICY).unwrap();
    p
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn s<'a>(v: &'a Value, path: &str) -> &'a str {
    get(v, path).as_str().unwrap_or("")
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON {l}: {e}")))
        .collect()
}

struct Run {
    dir: tempfile::TempDir,
    alerts: Vec<Value>,
    events: Vec<Value>,
    stderr: String,
}

/// Analyses a scenario with the example policy into a fresh store; returns the stored
/// alerts (`sluice alerts --format json`) and the event stream.
fn analyze(name: &str, extra: &[&str]) -> Run {
    let dir = tempfile::tempdir().unwrap();
    let pcap = scenario(dir.path(), name);
    let pol = policy(dir.path());
    let mut args = vec![
        "analyze",
        pcap.to_str().unwrap(),
        "--db",
        "s.db",
        "--config",
        pol.to_str().unwrap(),
        "--events",
        "events.jsonl",
    ];
    args.extend_from_slice(extra);
    let o = sluice(dir.path(), &args);
    ok(&o);
    let stderr = String::from_utf8_lossy(&o.stderr).into_owned();
    let events = lines(&std::fs::read_to_string(dir.path().join("events.jsonl")).unwrap());
    let alerts = lines(&ok(&sluice(
        dir.path(),
        &["alerts", "--db", "s.db", "--format", "json"],
    )));
    Run {
        dir,
        alerts,
        events,
        stderr,
    }
}

fn rules(alerts: &[Value]) -> BTreeSet<String> {
    alerts.iter().map(|a| s(a, "rule.id").to_string()).collect()
}

fn find<'a>(alerts: &'a [Value], rule: &str, src: &str, dst: &str) -> Option<&'a Value> {
    alerts.iter().find(|a| {
        s(a, "rule.id") == rule && s(a, "source.ip") == src && s(a, "destination.ip") == dst
    })
}

fn summary(alerts: &[Value]) -> String {
    alerts
        .iter()
        .map(|a| {
            format!(
                "{} {} -> {}: {}",
                s(a, "rule.id"),
                s(a, "source.ip"),
                s(a, "destination.ip"),
                s(a, "sluice.explanation")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const VENDOR: &str = "198.51.100.77";
const JUMP: &str = "10.30.0.5";

#[test]
fn benign_day_raises_no_alert() {
    let r = analyze("benign", &[]);
    assert!(
        r.alerts.is_empty(),
        "false positives:\n{}",
        summary(&r.alerts)
    );
    // Operator setpoint writes happened and stayed silent.
    assert!(r
        .events
        .iter()
        .any(|e| s(e, "event.dataset") == "sluice.modbus" && get(e, "modbus.function_code") == 6));
}

#[test]
fn a_vendor_session_without_mfa_is_the_only_finding_of_a_vendor_day() {
    let r = analyze("vendor_day", &[]);
    // The example policy demands MFA on the vendor conduit and lists no jump host or
    // gate, so a plain VNC session cannot comply: it is reported, and only it.
    let (vendor, other): (Vec<Value>, Vec<Value>) = r
        .alerts
        .iter()
        .cloned()
        .partition(|a| s(a, "source.ip") == VENDOR && s(a, "destination.ip") == JUMP);
    assert!(other.is_empty(), "false positives:\n{}", summary(&other));
    let allowed: BTreeSet<String> = ["SLC-POL-008", "SLC-RA-003"]
        .iter()
        .map(|x| x.to_string())
        .collect();
    assert!(rules(&vendor).is_subset(&allowed), "{}", summary(&vendor));
    assert!(
        rules(&vendor).contains("SLC-POL-008"),
        "{}",
        summary(&vendor)
    );
}

#[test]
fn oldsmar_is_one_chain_from_remote_access_to_the_setpoint() {
    let r = analyze("oldsmar", &[]);
    let ra = find(&r.alerts, "SLC-RA-001", "203.0.113.66", "10.10.2.20")
        .unwrap_or_else(|| panic!("no remote-access alert:\n{}", summary(&r.alerts)));
    let breach: Vec<&Value> = r
        .alerts
        .iter()
        .filter(|a| s(a, "rule.id") == "SLC-ENV-001")
        .collect();
    assert_eq!(breach.len(), 1, "{}", summary(&r.alerts));
    let b = breach[0];
    assert_eq!(s(b, "source.ip"), "10.10.2.20");
    assert_eq!(s(b, "destination.ip"), "10.10.1.10");
    assert_eq!(get(b, "sluice.details.register"), 5);
    assert_eq!(get(b, "sluice.details.new_value").as_f64(), Some(11100.0));
    assert_eq!(get(b, "sluice.details.old_value").as_f64(), Some(100.0));
    assert_eq!(s(b, "sluice.details.breach"), "above_max");
    assert_eq!(get(b, "event.severity"), 95);
    assert!(s(b, "sluice.explanation").contains("11100"));
    // One chain: the remote access, its policy violations and the write.
    let chain = s(ra, "sluice.chain_id");
    assert!(!chain.is_empty());
    assert_eq!(s(b, "sluice.chain_id"), chain);
    for rule in ["SLC-POL-001", "SLC-POL-007"] {
        let a = find(&r.alerts, rule, "203.0.113.66", "10.10.2.20")
            .unwrap_or_else(|| panic!("no {rule}:\n{}", summary(&r.alerts)));
        assert_eq!(s(a, "sluice.chain_id"), chain, "{rule}");
    }
    // Every alert of the intrusion is in the chain; nothing else is.
    for a in &r.alerts {
        let involved = [s(a, "source.ip"), s(a, "destination.ip")].contains(&"203.0.113.66")
            || s(a, "rule.id") == "SLC-ENV-001";
        assert_eq!(s(a, "sluice.chain_id") == chain, involved, "{a}");
    }
    // The same alerts are in the event stream, as ECS alerts.
    let streamed: Vec<&Value> = r
        .events
        .iter()
        .filter(|e| s(e, "event.kind") == "alert")
        .collect();
    assert_eq!(streamed.len(), r.alerts.len());
    assert!(streamed
        .iter()
        .all(|e| s(e, "event.dataset") == "sluice.alert"
            && get(e, "event.severity").as_u64().is_some()
            && !get(e, "sluice.controls").as_array().unwrap().is_empty()));
    assert!(r.stderr.contains("alerts "), "{}", r.stderr);
}

#[test]
fn pivot_breaks_the_zone_policy() {
    let r = analyze("pivot", &[]);
    for rule in ["SLC-POL-001", "SLC-POL-007", "SLC-MB-001"] {
        let a = find(&r.alerts, rule, "10.20.5.23", "10.10.1.10")
            .unwrap_or_else(|| panic!("no {rule}:\n{}", summary(&r.alerts)));
        assert!(get(a, "sluice.asset_ids")
            .as_array()
            .unwrap()
            .contains(&Value::from("ip:10.10.1.10")));
    }
    let w = find(&r.alerts, "SLC-MB-001", "10.20.5.23", "10.10.1.10").unwrap();
    assert_eq!(get(w, "event.count"), 3, "FC5, FC15 and FC16 aggregate");
    assert_eq!(s(w, "threat.technique.id"), "T0855");
    let n = find(&r.alerts, "SLC-POL-001", "10.20.5.23", "10.10.1.10").unwrap();
    assert_eq!(s(n, "sluice.details.violation"), "no_conduit");
    assert_eq!(s(n, "sluice.details.from_zone"), "enterprise");
    assert_eq!(s(n, "sluice.details.to_zone"), "control");
    // Nothing else: the rest of the minute is the benign plant.
    let other: Vec<Value> = r
        .alerts
        .iter()
        .filter(|a| s(a, "source.ip") != "10.20.5.23")
        .cloned()
        .collect();
    assert!(other.is_empty(), "{}", summary(&other));
}

#[test]
fn s7_cpu_stop_from_an_unknown_host() {
    let r = analyze("s7_stop", &[]);
    if !r.events.iter().any(|e| {
        s(e, "network.protocol") == "s7comm"
            && s(e, "event.kind") == "event"
            && s(e, "event.dataset") == "sluice.s7comm"
    }) {
        println!("SKIP: the S7comm parser produces no transactions yet");
        return;
    }
    let a = find(&r.alerts, "SLC-S7-001", "10.10.2.99", "10.10.1.20")
        .unwrap_or_else(|| panic!("no CPU stop alert:\n{}", summary(&r.alerts)));
    assert_eq!(get(a, "event.severity"), 95);
    assert!(find(&r.alerts, "SLC-POL-004", "10.10.2.99", "10.10.1.20").is_some());
}

#[test]
fn recon_raises_scan_and_sweep_alerts() {
    let r = analyze("recon", &[]);
    let scan = r
        .alerts
        .iter()
        .find(|a| s(a, "rule.id") == "SLC-SCAN-001")
        .unwrap_or_else(|| panic!("no host scan:\n{}", summary(&r.alerts)));
    assert_eq!(s(scan, "source.ip"), "10.10.2.99");
    assert!(get(scan, "sluice.details.distinct").as_u64() >= Some(20));
    for plc in ["10.10.1.10", "10.10.1.11"] {
        assert!(
            find(&r.alerts, "SLC-MB-004", "10.10.2.99", plc).is_some(),
            "no unit id sweep on {plc}:\n{}",
            summary(&r.alerts)
        );
    }
    assert!(r
        .alerts
        .iter()
        .any(|a| s(a, "rule.id") == "SLC-MB-005" && s(a, "source.ip") == "10.10.2.99"));
    assert!(
        r.alerts.iter().all(|a| s(a, "source.ip") == "10.10.2.99"),
        "{}",
        summary(&r.alerts)
    );
}

#[test]
fn reanalysis_adds_no_duplicate_alerts_and_fail_on_sets_the_exit_code() {
    let r = analyze("oldsmar", &[]);
    let pcap = r.dir.path().join("oldsmar.pcap");
    let pol = r.dir.path().join("sluice.toml");
    let o = sluice(
        r.dir.path(),
        &[
            "analyze",
            pcap.to_str().unwrap(),
            "--db",
            "s.db",
            "--config",
            pol.to_str().unwrap(),
            "--fail-on",
            "critical",
            "-q",
        ],
    );
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let again = lines(&ok(&sluice(
        r.dir.path(),
        &["alerts", "--db", "s.db", "--format", "json"],
    )));
    let ids =
        |v: &[Value]| -> Vec<String> { v.iter().map(|a| s(a, "event.id").to_string()).collect() };
    assert_eq!(ids(&again), ids(&r.alerts));
    // Below the threshold: exit 0.
    let o = sluice(
        r.dir.path(),
        &[
            "analyze",
            pcap.to_str().unwrap(),
            "--no-db",
            "--config",
            pol.to_str().unwrap(),
            "--fail-on",
            "100",
            "-q",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let o = sluice(
        r.dir.path(),
        &[
            "analyze",
            pcap.to_str().unwrap(),
            "--no-db",
            "--fail-on",
            "extreme",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    // The table lists them.
    let t = ok(&sluice(
        r.dir.path(),
        &["alerts", "--db", "s.db", "--min-severity", "high"],
    ));
    assert!(t.contains("SLC-ENV-001") && t.contains("SLC-RA-001"), "{t}");
    assert!(!t.contains("SLC-POL-001"), "{t}");
}

#[test]
fn attack_names_come_from_the_shared_catalogue() {
    let Some(data) = shared() else {
        println!("SKIP: ../shared/data not found");
        return;
    };
    let attack = data.join("attack");
    let r = analyze("oldsmar", &["--attack", attack.to_str().unwrap()]);
    let b = r
        .alerts
        .iter()
        .find(|a| s(a, "rule.id") == "SLC-ENV-001")
        .unwrap();
    assert_eq!(s(b, "threat.technique.id"), "T0836");
    assert_eq!(s(b, "threat.technique.name"), "Modify Parameter");
    assert_eq!(s(b, "threat.tactic.name"), "Impair Process Control");
    assert_eq!(s(b, "threat.framework"), "MITRE ATT&CK for ICS");
    // Without the data: ids alone.
    let r = analyze("oldsmar", &[]);
    let b = r
        .alerts
        .iter()
        .find(|a| s(a, "rule.id") == "SLC-ENV-001")
        .unwrap();
    assert_eq!(s(b, "threat.technique.id"), "T0836");
    assert!(get(b, "threat.technique.name").is_null());
}

#[test]
fn user_rules_add_and_replace_without_recompiling() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir(&rules).unwrap();
    std::fs::write(
        rules.join("site.toml"),
        r#"
[[rule]]
id = "SITE-001"
name = "Setpoint register written"
severity = 30
technique = "T0836"
controls = ["IEC62443-3-3:SR 3.5"]
explanation = "{src} wrote {fields.values} to register {fields.address} of {dst}"
[rule.match]
protocol = "modbus"
function_codes = [6]
fields = [{ field = "address", equals = 5 }, { field = "values", gt = 1000 }]

[[rule]]
id = "SLC-ENV-001"
name = "off"
kind = "envelope"
severity = 1
explanation = "off"
enabled = false
"#,
    )
    .unwrap();
    let r = analyze("oldsmar", &["--rules", rules.to_str().unwrap()]);
    let a = r
        .alerts
        .iter()
        .find(|a| s(a, "rule.id") == "SITE-001")
        .unwrap_or_else(|| panic!("{}", summary(&r.alerts)));
    assert_eq!(
        s(a, "sluice.explanation"),
        "10.10.2.20 wrote 11100 to register 5 of 10.10.1.10"
    );
    assert!(!rules_of(&r.alerts).contains("SLC-ENV-001"));
    // The user's rule is still an ICS write after remote access: same chain.
    let ra = find(&r.alerts, "SLC-RA-001", "203.0.113.66", "10.10.2.20").unwrap();
    assert_eq!(s(a, "sluice.chain_id"), s(ra, "sluice.chain_id"));
    // A broken rule file names the file and line.
    std::fs::write(
        rules.join("zz.toml"),
        "[[rule]]\nid = \"X\"\nname = \"x\"\nseverity = 0\nexplanation = \"x\"\n",
    )
    .unwrap();
    let pcap = r.dir.path().join("oldsmar.pcap");
    let o = sluice(
        dir.path(),
        &[
            "analyze",
            pcap.to_str().unwrap(),
            "--no-db",
            "--rules",
            rules.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("zz.toml:1:1") && err.contains("severity 0"),
        "{err}"
    );
}

fn rules_of(alerts: &[Value]) -> BTreeSet<String> {
    rules(alerts)
}

#[test]
fn baseline_learn_compare_show_and_diff() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let benign = scenario(d, "benign");
    let pivot = scenario(d, "pivot");
    let b = benign.to_str().unwrap();
    let o = sluice(d, &["analyze", b, "--db", "s.db", "--learn", "--no-detect"]);
    assert_eq!(o.status.code(), Some(2), "--learn needs detection");
    let o = sluice(d, &["analyze", b, "--db", "s.db", "--learn"]);
    ok(&o);
    assert!(String::from_utf8_lossy(&o.stderr).contains("baseline version 1 saved"));
    let show = ok(&sluice(d, &["baseline", "show", "--db", "s.db"]));
    assert!(show.contains("10.10.2.20 -> 10.10.1.10 modbus"), "{show}");
    assert!(
        show.contains("poll fc 3 unit 1 holding_register 0: every 1."),
        "{show}"
    );
    // The same traffic again: nothing deviates.
    ok(&sluice(d, &["analyze", b, "--db", "s.db", "-q"]));
    let alerts = lines(&ok(&sluice(
        d,
        &["alerts", "--db", "s.db", "--format", "json"],
    )));
    let bl: Vec<Value> = alerts
        .iter()
        .filter(|a| s(a, "rule.id").starts_with("SLC-BL"))
        .cloned()
        .collect();
    assert!(bl.is_empty(), "{}", summary(&bl));
    // The pivot: a new talker writing new functions.
    ok(&sluice(
        d,
        &["analyze", pivot.to_str().unwrap(), "--db", "s.db", "-q"],
    ));
    let alerts = lines(&ok(&sluice(
        d,
        &["alerts", "--db", "s.db", "--format", "json"],
    )));
    assert!(
        find(&alerts, "SLC-BL-001", "10.20.5.23", "10.10.1.10").is_some(),
        "{}",
        summary(&alerts)
    );
    // Re-learn on the pivot and diff.
    ok(&sluice(
        d,
        &[
            "analyze",
            pivot.to_str().unwrap(),
            "--db",
            "s.db",
            "--learn",
            "-q",
        ],
    ));
    let diff = ok(&sluice(d, &["baseline", "diff", "--db", "s.db"]));
    assert!(diff.contains("baseline 1 -> 2"), "{diff}");
    assert!(
        diff.contains("+ pair 10.20.5.23 -> 10.10.1.10 modbus"),
        "{diff}"
    );
    let j = ok(&sluice(
        d,
        &[
            "baseline",
            "show",
            "--db",
            "s.db",
            "--version",
            "1",
            "--format",
            "json",
        ],
    ));
    let v: Value = serde_json::from_str(&j).unwrap();
    assert!(v["pairs"].as_array().is_some_and(|p| !p.is_empty()));
}

#[test]
fn policy_check_and_suggest() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let good = policy(d);
    let o = sluice(d, &["policy", "check", "--config", good.to_str().unwrap()]);
    ok(&o);
    let bad = d.join("bad.toml");
    std::fs::write(
        &bad,
        "[[zone]]\nname = \"a\"\nlevel = 1\ncidrs = [\"10.0.0.0/16\"]\n\n[[zone]]\nname = \"b\"\nlevel = 2\ncidrs = [\"10.0.1.0/24\"]\n\n[[conduit]]\nname = \"c\"\nfrom = \"a\"\nto = \"nowhere\"\nprotocols = [\"modbus\"]\n",
    )
    .unwrap();
    let o = sluice(d, &["policy", "check", "--config", bad.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8_lossy(&o.stdout);
    let prefix = format!("{}:", bad.display());
    let errs: Vec<&str> = out.lines().filter(|l| l.contains(": error: ")).collect();
    assert!(errs.len() >= 2, "{out}");
    for l in &errs {
        assert!(l.starts_with(&prefix), "{l}");
        let rest = &l[prefix.len()..];
        let mut it = rest.split(':');
        assert!(it.next().unwrap().parse::<u32>().is_ok(), "{l}");
        assert!(it.next().unwrap().parse::<u32>().is_ok(), "{l}");
    }
    assert!(out.contains("nowhere"), "{out}");
    let o = sluice(d, &["policy", "check", "--config", "missing.toml"]);
    assert_eq!(o.status.code(), Some(2));
    // Suggest from observed traffic, then check the suggestion.
    let pcap = scenario(d, "benign");
    ok(&sluice(
        d,
        &["analyze", pcap.to_str().unwrap(), "--db", "s.db", "-q"],
    ));
    let o = sluice(
        d,
        &["policy", "suggest", "--db", "s.db", "-o", "suggested.toml"],
    );
    ok(&o);
    let text = std::fs::read_to_string(d.join("suggested.toml")).unwrap();
    assert!(
        text.contains("[[zone]]") && text.contains("[[conduit]]"),
        "{text}"
    );
    assert!(text.contains("modbus"), "{text}");
    let o = sluice(d, &["policy", "check", "--config", "suggested.toml"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
}

#[test]
fn eve_and_syslog_outputs() {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    sock.set_read_timeout(Some(std::time::Duration::from_secs(5)))
        .unwrap();
    let url = format!("udp://{}", sock.local_addr().unwrap());
    let r = analyze("pivot", &["--eve", "eve.json", "--syslog", &url]);
    let eve = lines(&std::fs::read_to_string(r.dir.path().join("eve.json")).unwrap());
    assert_eq!(eve.len(), r.alerts.len());
    for e in &eve {
        assert_eq!(s(e, "event_type"), "alert");
        assert!(get(e, "alert.signature_id").as_u64().is_some());
        assert!(s(e, "alert.signature").starts_with("SLUICE "));
        assert!((1..=4).contains(&get(e, "alert.severity").as_u64().unwrap()));
        assert_eq!(s(e, "src_ip"), "10.20.5.23");
        assert_eq!(s(e, "dest_ip"), "10.10.1.10");
        assert!(s(e, "timestamp").ends_with("+0000"));
    }
    let mut got = Vec::new();
    let mut buf = [0u8; 65_536];
    while got.len() < r.alerts.len() {
        let n = sock.recv(&mut buf).expect("a syslog datagram");
        got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
    }
    for m in &got {
        assert!(m.starts_with('<') && m.contains(">1 "), "{m}");
        assert!(
            m.contains(" sluice ") && m.contains("CEF:0|Sluice|Sluice|"),
            "{m}"
        );
        assert!(
            m.contains("src=10.20.5.23") && m.contains("dst=10.10.1.10"),
            "{m}"
        );
    }
    assert!(got.iter().any(|m| m.contains("|SLC-POL-007|")));
}
