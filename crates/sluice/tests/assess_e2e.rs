//! `sluice assess` end to end on the project's own captures under the DESIGN.md example
//! policy: Oldsmar fails the remote-access and envelope controls with the detector's
//! alerts as evidence, the benign day passes them; the evidence does not depend on alerts
//! only (the same verdicts with detection off); the questionnaire round-trips and bad
//! answers are reported by line; assessments are kept in the store and diffed; user
//! frameworks dropped into the catalogue are scored through their mappings.
mod assess_support;

use assess_support::*;
use serde_json::Value;
use std::collections::BTreeSet;

fn alert_ids(dir: &std::path::Path, db: &std::path::Path, rule: &str) -> BTreeSet<String> {
    let out = ok(&sluice(
        dir,
        &["alerts", "--db", db.to_str().unwrap(), "--format", "json"],
    ));
    out.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|a| a["rule"]["id"] == rule)
        .map(|a| a["event"]["id"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn oldsmar_fails_remote_access_and_envelope_benign_passes() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let cat = catalogue(dir);
    let old_db = analyze(dir, "oldsmar", &[]);
    let ben_db = analyze(dir, "benign", &[]);
    let old = assess_json(dir, &old_db, &cat, &["--framework", "all"]);
    let ben = assess_json(dir, &ben_db, &cat, &["--framework", "iec62443,csf,cis"]);

    // Remote access: the detector's SLC-RA-001 alert is the evidence.
    let ra = check(&old, "EV-RA-01");
    assert_eq!(ra["status"], "not-satisfied", "{ra:#}");
    let ra_alerts = alert_ids(dir, &old_db, "SLC-RA-001");
    assert_eq!(ra_alerts.len(), 1);
    assert!(
        strings(&ra["alert_ids"])
            .iter()
            .any(|a| ra_alerts.contains(a)),
        "{ra:#}"
    );
    let item = &ra["items"][0];
    assert_eq!(item["src"], "203.0.113.66");
    assert_eq!(item["dst"], "10.10.2.20");
    assert_eq!(item["rule"], "SLC-RA-001");
    assert_eq!(ra["zones"]["supervisory"], "not-satisfied");
    assert_eq!(ra["zones"]["control"], "satisfied");
    // Envelope: the SLC-ENV-001 alert on the 11,100 ppm write.
    let env = check(&old, "EV-ENV-01");
    assert_eq!(env["status"], "not-satisfied", "{env:#}");
    let env_alerts = alert_ids(dir, &old_db, "SLC-ENV-001");
    assert_eq!(env_alerts.len(), 1);
    assert_eq!(
        strings(&env["alert_ids"]),
        env_alerts.iter().cloned().collect::<Vec<_>>()
    );
    assert!(
        env["items"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("11100"),
        "{env:#}"
    );
    assert_eq!(env["zones"]["control"], "not-satisfied");
    // The controls they support follow, with the checks as basis.
    for key in ["IEC62443-3-3:SR 1.13", "CSF:PR.AA-03", "CIS:6.4"] {
        let c = control(&old, key);
        assert_eq!(c["status"], "not-satisfied", "{c:#}");
        assert!(
            strings(&c["basis"]).contains(&"EV-RA-01".to_string()),
            "{c:#}"
        );
    }
    let sr35 = control(&old, "IEC62443-3-3:SR 3.5");
    assert_eq!(sr35["status"], "not-satisfied");
    assert_eq!(sr35["zones"]["control"], "not-satisfied");
    assert_eq!(sr35["zones"]["supervisory"], "satisfied");
    // Gaps carry the evidence; the roadmap has the fixes.
    let gap = old["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["control"] == "IEC62443-3-3:SR 1.13")
        .unwrap();
    assert!(strings(&gap["checks"]).contains(&"EV-RA-01".to_string()));
    let steps: Vec<&Value> = old["roadmap"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| p["items"].as_array().unwrap())
        .collect();
    let ra_step = steps
        .iter()
        .find(|s| s["check"] == "EV-RA-01")
        .expect("EV-RA-01 in the roadmap");
    assert_eq!(ra_step["phase"], "Quick wins (0-30 days)");
    assert!(steps.iter().any(|s| s["check"] == "EV-ENV-01"));
    // Oldsmar's SL-A in the supervisory zone: FR 1 cannot reach SL 1 with SR 1.13 failing.
    let sup = old["scores"]["iec62443"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "supervisory")
        .unwrap();
    let fr1 = sup["frs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["fr"] == "FR 1")
        .unwrap();
    assert_eq!(fr1["sl_possible"], 0);
    assert!(strings(&fr1["failing"]).contains(&"SR 1.13".to_string()));
    let ctl = old["scores"]["iec62443"]
        .as_array()
        .unwrap()
        .iter()
        .find(|z| z["zone"] == "control")
        .unwrap();
    assert_eq!(ctl["sl_target"], 3);

    // Benign: the same checks and controls pass.
    for id in [
        "EV-RA-01",
        "EV-RA-02",
        "EV-ENV-01",
        "EV-SEG-01",
        "EV-SEG-02",
        "EV-WR-01",
    ] {
        let c = check(&ben, id);
        assert_eq!(c["status"], "satisfied", "{id}: {c:#}");
        assert!(c["alert_ids"].is_null() || c["alert_ids"].as_array().unwrap().is_empty());
    }
    for key in [
        "IEC62443-3-3:SR 1.13",
        "IEC62443-3-3:SR 3.5",
        "CSF:PR.AA-03",
        "CIS:6.4",
    ] {
        assert_eq!(control(&ben, key)["status"], "satisfied", "{key}");
    }
    assert!(!ben["gaps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|g| g["control"] == "IEC62443-3-3:SR 1.13"));
    // Scores are consistent with the control list.
    for a in [&old, &ben] {
        for cov in a["scores"]["coverage"].as_array().unwrap() {
            let fw = cov["framework"].as_str().unwrap();
            let n = |st: &str| {
                a["controls"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|c| c["framework"] == fw && c["status"] == st)
                    .count()
            };
            assert_eq!(cov["satisfied"], n("satisfied"));
            assert_eq!(cov["not_satisfied"], n("not-satisfied"));
            assert_eq!(cov["partial"], n("partial"));
        }
    }
    // The withdrawn CSF subcategory is not assessed; the user framework is scored through
    // its mappings.
    assert!(old["controls"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["key"] != "CSF:PR.AC-01"));
    let net1 = control(&old, "SITE:NET-1");
    assert_eq!(net1["status"], "not-satisfied");
    assert_eq!(strings(&net1["derived_from"]), vec!["IEC62443-3-3:SR 1.13"]);
    assert_eq!(control(&old, "SITE:DOC-1")["status"], "not-assessed");
    // CIS IG coverage from the membership file of the catalogue.
    let groups = old["scores"]["cis"]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 3);
    assert_eq!(groups[2]["total"], 12);
}

#[test]
fn evidence_does_not_need_alerts() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let cat = catalogue(dir);
    let db = analyze(dir, "oldsmar", &["--no-detect"]);
    let a = assess_json(dir, &db, &cat, &["--framework", "iec62443", "--no-save"]);
    assert_eq!(a["observed"]["alerts"], 0);
    let ra = check(&a, "EV-RA-01");
    assert_eq!(ra["status"], "not-satisfied", "{ra:#}");
    assert_eq!(ra["items"][0]["kind"], "flow");
    assert_eq!(ra["items"][0]["src"], "203.0.113.66");
    let env = check(&a, "EV-ENV-01");
    assert_eq!(env["status"], "not-satisfied", "{env:#}");
    assert_eq!(env["items"][0]["kind"], "write");
    assert!(env["items"][0]["detail"]
        .as_str()
        .unwrap()
        .contains("11100"));
    assert_eq!(check(&a, "EV-SEG-01")["status"], "not-satisfied");
    // No policy: checks that need it are not assessed, not passed.
    let out = ok(&sluice(
        dir,
        &[
            "assess",
            "--db",
            db.to_str().unwrap(),
            "--frameworks",
            cat.to_str().unwrap(),
            "--format",
            "json",
            "--no-save",
        ],
    ));
    let np: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(check(&np, "EV-RA-01")["status"], "not-assessed");
    assert_eq!(check(&np, "EV-POL-01")["status"], "not-satisfied");
    assert_eq!(np["scores"]["iec62443"][0]["zone"], "site");
}

#[test]
fn questionnaire_round_trips_and_answers_count() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let cat = catalogue(dir);
    policy(dir);
    ok(&sluice(
        dir,
        &[
            "assess",
            "--questionnaire",
            "--config",
            "sluice.toml",
            "--frameworks",
            cat.to_str().unwrap(),
            "-o",
            "q.toml",
        ],
    ));
    let q = std::fs::read_to_string(dir.join("q.toml")).unwrap();
    assert!(q.contains("site = \"Riverside Water Treatment\""));
    for role in ["[ciso.ir_plan]", "[ot_engineer.backups]", "[it.mfa_remote]"] {
        assert!(q.contains(role), "{role} missing");
    }
    // Controls are listed with catalogue titles where there are some.
    assert!(q.contains("#   IEC62443-3-3:SR 7.3"));
    assert!(q.contains("#   CSF:ID.IM-04 (test outcome ID.IM-04, placeholder)"));
    // Roles appear in order ciso, ot_engineer, it.
    let (a, b, c) = (
        q.find("[ciso.").unwrap(),
        q.find("[ot_engineer.").unwrap(),
        q.find("[it.").unwrap(),
    );
    assert!(a < b && b < c);
    // --framework narrows the questions to those serving it.
    let cis_only = ok(&sluice(
        dir,
        &[
            "assess",
            "--questionnaire",
            "--framework",
            "iec62443",
            "--frameworks",
            cat.to_str().unwrap(),
        ],
    ));
    assert!(cis_only.contains("[ot_engineer.backups]") && !cis_only.contains("[ciso.roles]"));

    // Fill it in: yes, no, partial, a recent and an old date.
    let fill = |text: &str, header: &str, value: &str| -> String {
        let start = text.find(header).unwrap_or_else(|| panic!("{header}"));
        let at = start + text[start..].find("answer = \"unknown\"").unwrap();
        format!(
            "{}answer = {value}{}",
            &text[..at],
            &text[at + "answer = \"unknown\"".len()..]
        )
    };
    let today = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
        / 86_400;
    let date = |days_ago: u64| {
        let d = (today - days_ago) as i64;
        // civil from days (test-local).
        let z = d + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z.rem_euclid(146_097);
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let dd = doy - (153 * mp + 2) / 5 + 1;
        let m = if mp < 10 { mp + 3 } else { mp - 9 };
        let y = yoe + era * 400 + i64::from(m <= 2);
        format!("\"{y:04}-{m:02}-{dd:02}\"")
    };
    let mut filled = fill(&q, "[ot_engineer.backups]", "\"yes\"");
    filled = fill(&filled, "[it.mfa_remote]", "\"no\"");
    filled = fill(&filled, "[ciso.ir_plan]", "\"partial\"");
    filled = fill(&filled, "[ciso.ir_tabletop]", &date(30));
    filled = fill(&filled, "[ciso.risk_assessment]", &date(3000));
    std::fs::write(dir.join("a.toml"), &filled).unwrap();
    let db = analyze(dir, "benign", &[]);
    let a = assess_json(dir, &db, &cat, &["--answers", "a.toml", "--no-save"]);
    assert_eq!(check(&a, "backups")["status"], "satisfied");
    assert_eq!(check(&a, "mfa_remote")["status"], "not-satisfied");
    assert_eq!(check(&a, "ir_plan")["status"], "partial");
    assert_eq!(check(&a, "ir_tabletop")["status"], "satisfied");
    assert_eq!(check(&a, "risk_assessment")["status"], "not-satisfied");
    assert_eq!(check(&a, "training")["status"], "not-assessed");
    // The answer decides controls the traffic cannot: SR 7.3 from backups; SR 1.13 now
    // fails on the answer although the benign traffic passed it.
    assert_eq!(control(&a, "IEC62443-3-3:SR 7.3")["status"], "satisfied");
    let sr113 = control(&a, "IEC62443-3-3:SR 1.13");
    assert_eq!(sr113["status"], "not-satisfied");
    assert_eq!(strings(&sr113["basis"]), vec!["EV-RA-01", "mfa_remote"]);
    // A control cited directly takes its checks' status, not its crosswalk's.
    assert_eq!(control(&a, "CSF:ID.IM-04")["status"], "partial");

    // --all-controls asks about every control no check covers, keyed by the control.
    let all = ok(&sluice(
        dir,
        &[
            "assess",
            "--questionnaire",
            "--all-controls",
            "--framework",
            "iec62443",
            "--frameworks",
            cat.to_str().unwrap(),
        ],
    ));
    assert!(all.contains("[it.\"IEC62443-3-3:SR 2.7\"]"), "{all}");
    assert!(
        !all.contains("\"IEC62443-3-3:SR 1.13\"]"),
        "SR 1.13 is covered by checks"
    );
    let generic = fill(&all, "[it.\"IEC62443-3-3:SR 2.7\"]", "\"yes\"");
    std::fs::write(dir.join("g.toml"), &generic).unwrap();
    let g = assess_json(dir, &db, &cat, &["--answers", "g.toml", "--no-save"]);
    assert_eq!(check(&g, "IEC62443-3-3:SR 2.7")["status"], "satisfied");
    let sr27 = control(&g, "IEC62443-3-3:SR 2.7");
    assert_eq!(sr27["status"], "satisfied");
    assert_eq!(strings(&sr27["basis"]), vec!["IEC62443-3-3:SR 2.7"]);

    // Errors carry file and line; several are reported at once; exit code 2.
    let bad = filled
        .replacen("answer = \"yes\"  #", "answer = \"perhaps\"  #", 1)
        .replace("[it.wireless]", "[it.wireles]")
        + "\n[cfo.budget]\nanswer = \"yes\"\n";
    std::fs::write(dir.join("bad.toml"), &bad).unwrap();
    let o = sluice(
        dir,
        &[
            "assess",
            "--db",
            db.to_str().unwrap(),
            "--frameworks",
            cat.to_str().unwrap(),
            "--answers",
            "bad.toml",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    let line_of = |needle: &str| bad.lines().position(|l| l.contains(needle)).unwrap() + 1;
    assert!(
        err.contains(&format!("bad.toml:{}:", line_of("\"perhaps\""))),
        "{err}"
    );
    assert!(
        err.contains(&format!("bad.toml:{}:", line_of("[it.wireles]")))
            && err.contains("unknown question it.wireles"),
        "{err}"
    );
    assert!(
        err.contains(&format!("bad.toml:{}:", line_of("[cfo.budget]")))
            && err.contains("unknown section [cfo]"),
        "{err}"
    );
    // A syntax error too.
    std::fs::write(dir.join("syn.toml"), "[ciso.ir_plan]\nanswer = yes\n").unwrap();
    let o = sluice(
        dir,
        &[
            "assess",
            "--db",
            db.to_str().unwrap(),
            "--frameworks",
            cat.to_str().unwrap(),
            "--answers",
            "syn.toml",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("syn.toml:2:"));
}

#[test]
fn assessments_are_kept_and_diffed() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let cat = catalogue(dir);
    let db = analyze(dir, "benign", &[]);
    let first = assess_json(dir, &db, &cat, &["--framework", "iec62443"]);
    // The same store after the Oldsmar capture is analysed into it too.
    let pcap = dir.join("oldsmar.pcap");
    let mut f = std::fs::File::create(&pcap).unwrap();
    sluice_synth::scenario::write_scenario("oldsmar", SEED, &mut f).unwrap();
    ok(&sluice(
        dir,
        &[
            "analyze",
            pcap.to_str().unwrap(),
            "--db",
            db.to_str().unwrap(),
            "--config",
            "sluice.toml",
        ],
    ));
    let second = assess_json(dir, &db, &cat, &["--framework", "iec62443"]);
    assert_eq!(first["id"], 1);
    assert_eq!(second["id"], 2);
    let list = ok(&sluice(
        dir,
        &["assess", "list", "--db", db.to_str().unwrap(), "--json"],
    ));
    let rows: Vec<Value> = list
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["id"], 2);
    assert_eq!(rows[1]["uuid"], first["uuid"]);
    // Per-control rows for trend queries.
    let conn = rusqlite_like_count(&db);
    assert!(conn > 0);
    // Diff by stored ids and by files agree.
    let by_id = ok(&sluice(
        dir,
        &[
            "assess",
            "diff",
            "1",
            "2",
            "--db",
            db.to_str().unwrap(),
            "--json",
        ],
    ));
    std::fs::write(dir.join("a.json"), first.to_string()).unwrap();
    std::fs::write(dir.join("b.json"), second.to_string()).unwrap();
    let by_file = ok(&sluice(
        dir,
        &["assess", "diff", "a.json", "b.json", "--json"],
    ));
    let (d1, d2): (Value, Value) = (
        serde_json::from_str(&by_id).unwrap(),
        serde_json::from_str(&by_file).unwrap(),
    );
    assert_eq!(d1["controls"], d2["controls"]);
    let changed: Vec<&Value> = d1["controls"].as_array().unwrap().iter().collect();
    let sr113 = changed
        .iter()
        .find(|c| c["key"] == "IEC62443-3-3:SR 1.13")
        .expect("SR 1.13 changed");
    assert_eq!(sr113["from"], "satisfied");
    assert_eq!(sr113["to"], "not-satisfied");
    assert!(d1["regressed"].as_u64().unwrap() >= 2);
    assert!(d1["checks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["key"] == "EV-ENV-01"));
    let text = ok(&sluice(
        dir,
        &[
            "assess",
            "diff",
            "a.json",
            "2",
            "--db",
            db.to_str().unwrap(),
        ],
    ));
    assert!(
        text.contains("IEC62443-3-3:SR 1.13") && text.contains("satisfied -> not-satisfied"),
        "{text}"
    );
    // Unknown ids are a usage error.
    let o = sluice(
        dir,
        &["assess", "diff", "1", "99", "--db", db.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(2));
}

/// Rows of `assessment_controls` (through the CLI-independent SQLite file).
fn rusqlite_like_count(db: &std::path::Path) -> usize {
    let store = sluice_store::Store::open(db).unwrap();
    let n: i64 = store
        .conn()
        .query_row("SELECT COUNT(*) FROM assessment_controls", [], |r| r.get(0))
        .unwrap();
    usize::try_from(n).unwrap()
}

#[test]
fn usage_errors_are_one_line() {
    let t = tempfile::tempdir().unwrap();
    let dir = t.path();
    let cat = catalogue(dir);
    let o = sluice(
        dir,
        &[
            "assess",
            "--db",
            "missing.db",
            "--frameworks",
            cat.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("missing.db: no such store"));
    let o = sluice(dir, &["assess", "--db", "missing.db"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no framework catalogue"));
    let o = sluice(
        dir,
        &[
            "assess",
            "--framework",
            "nerc",
            "--frameworks",
            cat.to_str().unwrap(),
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("framework \"nerc\" is not loaded"));
    // A broken user rule names its file and line.
    std::fs::create_dir_all(dir.join("rules")).unwrap();
    std::fs::write(dir.join("rules/x.toml"), "[[rule]]\nid = \"U-1\"\ntitle = \"t\"\ncontrols = [\"CSF:PR.IR-01\"]\n[[rule.evidence]]\nbuiltin = \"nope\"\n").unwrap();
    let db = analyze(dir, "benign", &[]);
    let o = sluice(
        dir,
        &[
            "assess",
            "--db",
            db.to_str().unwrap(),
            "--frameworks",
            cat.to_str().unwrap(),
            "--rules",
            "rules",
        ],
    );
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(e.contains("x.toml:2:") && e.contains("nope"), "{e}");
    // A user rule in SQL: any Modbus write is a finding (the benign day has the HMI's).
    std::fs::write(
        dir.join("rules/x.toml"),
        "[[rule]]\nid = \"U-1\"\ntitle = \"No Modbus writes at all\"\ncontrols = [\"CSF:PR.IR-01\"]\nrisk = 2\neffort = 1\n[[rule.evidence]]\nsql = \"SELECT id, ts, src_ip, dst_ip, protocol FROM events WHERE protocol = 'modbus' AND function_code IN (5, 6, 15, 16)\"\n",
    )
    .unwrap();
    let a = assess_json(dir, &db, &cat, &["--rules", "rules", "--no-save"]);
    let u = check(&a, "U-1");
    assert_eq!(u["status"], "not-satisfied", "{u:#}");
    assert!(u["count"].as_u64().unwrap() > 0);
    assert_eq!(u["items"][0]["protocol"], "modbus");
}
