//! Helpers of the `assess_*` tests: scenario stores built through the binary with the
//! example policy, and a small framework catalogue the test writes itself (ids only, so
//! the tests run on a fresh clone without ../shared/data).
#![allow(dead_code)]
use serde_json::Value;
use std::path::{Path, PathBuf};

pub const SEED: u64 = 7;

#[path = "../common/mod.rs"]
mod common;
#[allow(unused_imports)] // each test binary uses its own part
pub use common::{ok, shared, sluice};

/// Writes scenario `name`, analyses it with the example policy into `<name>.db` (with
/// `extra` options, e.g. `--no-detect`); returns the store path.
pub fn analyze(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let pcap = dir.join(format!("{name}.pcap"));
    let mut f = std::fs::File::create(&pcap).unwrap();
    sluice_synth::scenario::write_scenario(name, SEED, &mut f).unwrap();
    let pol = policy(dir);
    let db = dir.join(format!(
        "{name}{}.db",
        if extra.is_empty() { "" } else { "-x" }
    ));
    let mut args = vec![
        "analyze",
        pcap.to_str().unwrap(),
        "--db",
        db.to_str().unwrap(),
        "--config",
        pol.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    ok(&sluice(dir, &args));
    db
}

pub fn policy(dir: &Path) -> PathBuf {
    let p = dir.join("sluice.toml");
    std::fs::write(&p, sluice_policy::EXAMPLE).unwrap();
    p
}

/// A small catalogue laid out like ../shared/data/frameworks: CSF 2.0 (CSV form),
/// IEC 62443-3-3 ids, CIS v8 ids with a made-up IG membership file, one user framework
/// and one crosswalk. Ids only; statements are placeholders.
pub fn catalogue(dir: &Path) -> PathBuf {
    let root = dir.join("frameworks");
    for d in [
        "nist-csf-2.0",
        "iec62443",
        "cis-controls-v8",
        "mappings",
        "custom",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    let mut csf = String::from("id,type,parent,title,statement,status_inferred\n");
    for (f, cats) in [
        ("GV", &[("GV.RR", &["GV.RR-02"][..])][..]),
        (
            "ID",
            &[
                ("ID.AM", &["ID.AM-01", "ID.AM-03", "ID.AM-08"][..]),
                ("ID.IM", &["ID.IM-02", "ID.IM-04"][..]),
            ][..],
        ),
        (
            "PR",
            &[
                ("PR.AA", &["PR.AA-01", "PR.AA-03", "PR.AA-05"][..]),
                ("PR.IR", &["PR.IR-01"][..]),
                ("PR.DS", &["PR.DS-02", "PR.DS-11"][..]),
                ("PR.AC", &["PR.AC-01"][..]),
            ][..],
        ),
        (
            "DE",
            &[
                ("DE.CM", &["DE.CM-01", "DE.CM-09"][..]),
                ("DE.AE", &["DE.AE-02"][..]),
            ][..],
        ),
        ("RS", &[("RS.MA", &["RS.MA-01"][..])][..]),
    ] {
        csf.push_str(&format!(
            "{f},function,,{f} function,test function,active\n"
        ));
        for (c, subs) in cats {
            let st = if *c == "PR.AC" { "withdrawn" } else { "active" };
            csf.push_str(&format!(
                "{c},category,{f},{c} category,test category,{st}\n"
            ));
            for s in *subs {
                csf.push_str(&format!(
                    "{s},subcategory,{c},,\"test outcome {s}, placeholder\",{st}\n"
                ));
            }
        }
    }
    std::fs::write(root.join("nist-csf-2.0/csf-2.0-core.csv"), csf).unwrap();
    let mut iec = String::from("id,level,parent,short_title\n");
    for fr in 1..=7 {
        iec.push_str(&format!("FR {fr},FR,,FR {fr}\n"));
    }
    for sr in [
        "SR 1.1",
        "SR 1.1 RE 2",
        "SR 1.3",
        "SR 1.5",
        "SR 1.7",
        "SR 1.13",
        "SR 2.1",
        "SR 2.1 RE 2",
        "SR 2.6",
        "SR 2.7",
        "SR 3.1",
        "SR 3.4",
        "SR 3.5",
        "SR 4.1",
        "SR 5.1",
        "SR 5.1 RE 1",
        "SR 5.2",
        "SR 5.2 RE 1",
        "SR 6.2",
        "SR 7.3",
        "SR 7.8",
    ] {
        let (base, _) = sr.split_once(" RE ").unwrap_or((sr, ""));
        let fr = base.trim_start_matches("SR ").split('.').next().unwrap();
        let (level, parent) = if sr.contains(" RE ") {
            ("RE", base.to_string())
        } else {
            ("SR", format!("FR {fr}"))
        };
        iec.push_str(&format!("{sr},{level},{parent},\n"));
    }
    std::fs::write(root.join("iec62443/isa-iec-62443-3-3-2013-ids.csv"), iec).unwrap();
    let mut cis = String::from("id,level,parent\n");
    let mut ig = String::from("id,ig\n");
    for (c, subs) in [
        (1, &[1, 2][..]),
        (3, &[10][..]),
        (5, &[2][..]),
        (6, &[4, 8][..]),
        (12, &[2, 4, 7][..]),
        (13, &[3, 4, 6][..]),
    ] {
        cis.push_str(&format!("{c},control,\n"));
        for s in subs {
            cis.push_str(&format!("{c}.{s},safeguard,{c}\n"));
            ig.push_str(&format!(
                "{c}.{s},{}\n",
                if *s < 4 {
                    1
                } else if *s < 8 {
                    2
                } else {
                    3
                }
            ));
        }
    }
    std::fs::write(root.join("cis-controls-v8/cis-controls-v8-ids.csv"), cis).unwrap();
    std::fs::write(root.join("cis-controls-v8/cis-controls-v8-ig.csv"), ig).unwrap();
    std::fs::write(
        root.join("mappings/csf-1.1_to_isa62443-3-3_nist-informative-refs.csv"),
        "csf11_subcategory,reference_document,reference_id,csf20_same_numbered_id,csf20_same_numbered_status,csf20_id_if_kept\n\
         ID.IM-4,ISA 62443-3-3:2013,SR 7.3,ID.IM-04,active,ID.IM-04\n",
    )
    .unwrap();
    std::fs::write(
        root.join("custom/site.framework.toml"),
        r#"[framework]
id = "site-rules"
prefix = "SITE"
name = "Site security rules"
version = "2026"

[[control]]
id = "NET-1"
title = "No remote access into the plant without the jump host"
maps_to = ["IEC62443-3-3:SR 1.13"]

[[control]]
id = "PROC-1"
title = "Chemical dosing setpoints stay inside the safe range"
maps_to = ["IEC62443-3-3:SR 3.5"]

[[control]]
id = "DOC-1"
title = "Unmapped control"
"#,
    )
    .unwrap();
    root
}

pub fn assess_json(dir: &Path, db: &Path, cat: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "assess",
        "--db",
        db.to_str().unwrap(),
        "--config",
        "sluice.toml",
        "--frameworks",
        cat.to_str().unwrap(),
        "--format",
        "json",
    ];
    args.extend_from_slice(extra);
    let out = ok(&sluice(dir, &args));
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("bad JSON ({e}): {out}"))
}

pub fn check<'a>(a: &'a Value, id: &str) -> &'a Value {
    a["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id}"))
}

pub fn control<'a>(a: &'a Value, key: &str) -> &'a Value {
    a["controls"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["key"] == key)
        .unwrap_or_else(|| panic!("no control {key}"))
}

pub fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
