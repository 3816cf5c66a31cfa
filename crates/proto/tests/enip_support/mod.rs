//! Helpers of the EtherNet/IP, BACnet and OPC UA conformance tests: oracle file
//! readers (Zeek logs, tshark tsv), multiset comparison with an allowlist and an
//! agreement table.
#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A file under `../shared/data/expected/`, or `None` (SKIP printed).
pub fn expected(rel: &str) -> Option<PathBuf> {
    let p = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/expected"
    ))
    .join(rel);
    if p.is_file() {
        Some(p)
    } else {
        eprintln!("SKIP: {} not found", p.display());
        None
    }
}

/// Rows of a Zeek log (comment lines skipped), split on tabs.
pub fn zeek_rows(path: &Path) -> Vec<Vec<String>> {
    std::fs::read_to_string(path)
        .expect("zeek log reads")
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split('\t').map(str::to_string).collect())
        .collect()
}

/// Rows of a tshark tsv as maps from column name to value.
pub fn tshark_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("tsv reads");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or_default().split('\t').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split('\t'))
                .map(|(k, v)| ((*k).to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// A multiset of comparison keys.
pub type Bag = BTreeMap<String, usize>;

pub fn add(bag: &mut Bag, key: impl Into<String>) {
    *bag.entry(key.into()).or_default() += 1;
}

/// Compares the oracle's and our multisets for one check and records the outcome.
pub struct Report {
    name: &'static str,
    allow: BTreeSet<String>,
    used: BTreeSet<String>,
    rows: Vec<(String, usize, usize, usize)>,
    failures: Vec<String>,
}

impl Report {
    /// Reads `tests/<name>_allowlist.txt`: lines `check|key|missing|extra  # evidence`
    /// (comments after `#` and blank lines ignored).
    pub fn new(name: &'static str) -> Report {
        let p = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests")
            .join(format!("{name}_allowlist.txt"));
        let allow = std::fs::read_to_string(p)
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('#').next().unwrap_or_default().trim().to_string())
            .filter(|l| !l.is_empty())
            .collect();
        Report {
            name,
            allow,
            used: BTreeSet::new(),
            rows: Vec::new(),
            failures: Vec::new(),
        }
    }

    /// `missing`: the oracle has more of a key than we do; `extra`: we have more.
    pub fn compare(&mut self, check: &str, ours: &Bag, theirs: &Bag) {
        let keys: BTreeSet<&String> = ours.keys().chain(theirs.keys()).collect();
        let (mut agree, mut missing, mut extra) = (0, 0, 0);
        for k in keys {
            let a = ours.get(k).copied().unwrap_or(0);
            let b = theirs.get(k).copied().unwrap_or(0);
            agree += a.min(b);
            if a == b {
                continue;
            }
            let (what, n) = if b > a {
                missing += b - a;
                ("missing", b - a)
            } else {
                extra += a - b;
                ("extra", a - b)
            };
            let line = format!("{check}|{k}|{what}|{n}");
            if self.allow.contains(&line) {
                self.used.insert(line);
            } else {
                self.failures.push(line);
            }
        }
        self.rows.push((check.to_string(), agree, missing, extra));
    }

    /// A single value check (oracle vs ours).
    pub fn equal(&mut self, check: &str, ours: &str, theirs: &str) {
        let mut a = Bag::new();
        let mut b = Bag::new();
        add(&mut a, ours);
        add(&mut b, theirs);
        self.compare(check, &a, &b);
    }

    /// Prints the agreement table and fails on unexplained or stale differences.
    pub fn finish(self) {
        println!(
            "\n{} conformance: check | agree | missing | extra",
            self.name
        );
        for (c, a, m, e) in &self.rows {
            println!("  {c:<60} {a:>7} {m:>7} {e:>7}");
        }
        // Lines of the checks this report ran that no difference needed.
        let checks: BTreeSet<&str> = self.rows.iter().map(|r| r.0.as_str()).collect();
        let stale: Vec<&String> = self
            .allow
            .difference(&self.used)
            .filter(|l| checks.contains(l.split('|').next().unwrap_or_default()))
            .collect();
        for f in &self.failures {
            println!("UNEXPLAINED: {f}");
        }
        for s in &stale {
            println!("STALE ALLOWLIST LINE: {s}");
        }
        assert!(
            self.failures.is_empty() && stale.is_empty(),
            "{} unexplained differences, {} stale allowlist lines (see above)",
            self.failures.len(),
            stale.len()
        );
    }
}
