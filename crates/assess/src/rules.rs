//! Evidence rules as data: each automated check says what it queries in the store, which
//! controls it supports and how a count maps to satisfied / partial / not satisfied.
//! Built-in rules are `crates/assess/rules/*.toml` (embedded); a user folder adds more (a
//! rule with a built-in id replaces it).
//!
//! ```toml
//! [[rule]]
//! id = "EV-RA-01"
//! title = "Remote access into the plant passes a jump host with MFA"
//! controls = ["IEC62443-3-3:SR 1.13", "CSF:PR.AA-03", "CIS:6.4", "SP800-53:AC-17"]
//! risk = 5              # risk reduction when fixed, 1-5
//! effort = 2            # effort, 1-5
//! pass_max = 0          # at most this many findings: satisfied
//! partial_max = 2       # at most this many: partial (absent: any more fails)
//! zone_side = "dst"     # which end's zone a finding counts against: dst | src | both
//! requires = ["policy"] # policy | envelopes | table:NAME (unmet and no finding: not assessed)
//! depends = ["EV-POL-01"]
//! role = "it"
//! remediation = "..."
//! [[rule.evidence]]     # one of: alerts, policy, ics_writes, sql, builtin, envelope_writes
//! alerts = ["SLC-RA-001", "SLC-POL-008"]   # detection rule ids (`*` suffix: prefix)
//! [[rule.evidence]]
//! policy = ["remote_access_without_mfa"]   # re-judge stored flows with the policy
//! protocols = ["vnc", "rdp"]               # optional filter
//! max_level = 3                            # optional: server zone at level 3 or below
//! ```
use crate::error::{toml_error, AssessError, LineError};
use crate::model::Role;
use serde::Deserialize;
use sluice_policy::ViolationKind;
use std::path::Path;

/// The built-in rule files.
pub const BUILTIN: &[(&str, &str)] = &[
    ("network.toml", include_str!("../rules/network.toml")),
    ("access.toml", include_str!("../rules/access.toml")),
    ("process.toml", include_str!("../rules/process.toml")),
    ("inventory.toml", include_str!("../rules/inventory.toml")),
];

/// Built-in queries that need more than SQL.
pub const BUILTINS: &[&str] = &[
    "policy_defined",
    "unzoned_assets",
    "unmonitored_zones",
    "unidentified_ics_devices",
];

/// Which end of a finding its zone is taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ZoneSide {
    /// The server / destination (the zone being reached).
    #[default]
    Dst,
    /// The client / source.
    Src,
    /// Both ends.
    Both,
}

/// What one evidence source queries.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Source {
    /// Alerts with these detection rule ids (`SLC-POL-*` for a prefix).
    pub alerts: Option<Vec<String>>,
    /// Stored flows re-judged with the policy; these violation kinds count.
    pub policy: Option<Vec<String>>,
    /// Stored ICS write transactions re-judged with the policy (`judge_ics`); these
    /// violation kinds count (empty: any).
    pub ics_writes: Option<Vec<String>>,
    /// A read-only SQL query; each row is a finding. Columns by name: `id`, `ts` (ns),
    /// `src_ip`, `dst_ip`, `protocol`, `zone`, `count`, `detail`, `soft` (1: partial only).
    pub sql: Option<String>,
    /// A built-in query (see [`BUILTINS`]).
    pub builtin: Option<String>,
    /// Stored register writes (Modbus) re-checked against the policy's safety envelopes.
    pub envelope_writes: Option<bool>,
    /// Only flows / alerts of these protocols.
    #[serde(default)]
    pub protocols: Vec<String>,
    /// Only flows whose server zone is at this Purdue level or below (`policy` sources).
    pub max_level: Option<f64>,
    /// Tables the SQL needs (absent: the source is not assessed).
    #[serde(default)]
    pub tables: Vec<String>,
    /// A label for the findings of this source.
    pub label: Option<String>,
}

impl Source {
    /// The kind of source.
    pub fn kind(&self) -> &'static str {
        if self.alerts.is_some() {
            "alerts"
        } else if self.policy.is_some() {
            "policy"
        } else if self.ics_writes.is_some() {
            "ics_writes"
        } else if self.sql.is_some() {
            "sql"
        } else if self.envelope_writes.is_some() {
            "envelope_writes"
        } else {
            "builtin"
        }
    }

    /// Violation kinds of a `policy` / `ics_writes` source.
    pub fn violation_kinds(&self) -> Vec<ViolationKind> {
        self.policy
            .iter()
            .chain(self.ics_writes.iter())
            .flatten()
            .filter_map(|k| ViolationKind::from_name(k))
            .collect()
    }
}

/// One evidence rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Unique id.
    pub id: String,
    /// What it checks, as a statement that holds when satisfied.
    pub title: String,
    /// Longer explanation.
    #[serde(default)]
    pub description: String,
    /// Control keys it supports.
    pub controls: Vec<String>,
    /// What it queries.
    pub evidence: Vec<Source>,
    /// Preconditions: `policy`, `envelopes`, `table:NAME`.
    #[serde(default)]
    pub requires: Vec<String>,
    /// At most this many findings: satisfied.
    #[serde(default)]
    pub pass_max: u64,
    /// At most this many: partial.
    pub partial_max: Option<u64>,
    /// Which end's zone a finding counts against.
    #[serde(default)]
    pub zone_side: ZoneSide,
    /// Risk reduction when fixed, 1-5.
    #[serde(default = "three")]
    pub risk: u8,
    /// Effort, 1-5.
    #[serde(default = "three")]
    pub effort: u8,
    /// Checks to fix first.
    #[serde(default)]
    pub depends: Vec<String>,
    /// Who fixes.
    pub role: Option<Role>,
    /// What to do.
    #[serde(default)]
    pub remediation: String,
}

fn three() -> u8 {
    3
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<Rule>,
}

/// A set of evidence rules.
#[derive(Debug, Clone, Default)]
pub struct Rules {
    /// In load order.
    pub rules: Vec<Rule>,
}

fn line_of_id(text: &str, id: &str) -> usize {
    let needle = format!("\"{id}\"");
    text.lines()
        .position(|l| l.trim_start().starts_with("id") && l.contains(&needle))
        .map(|i| i + 1)
        .unwrap_or(0)
}

/// Parses and checks rule text (`origin` names it in errors).
pub fn parse(text: &str, origin: &Path) -> Result<Vec<Rule>, AssessError> {
    let file: RuleFile = toml::from_str(text).map_err(|e| AssessError::Data {
        path: origin.into(),
        errors: vec![toml_error(text, &e)],
    })?;
    let mut errors = Vec::new();
    for r in &file.rule {
        let line = line_of_id(text, &r.id);
        let mut err = |m: String| {
            errors.push(LineError {
                line,
                message: format!("rule {}: {m}", r.id),
            })
        };
        if r.id.trim().is_empty() {
            err("empty id".into());
        }
        if r.controls.is_empty() {
            err("cites no control".into());
        }
        for c in &r.controls {
            if !c.contains(':') {
                err(format!("control {c:?} is not a key PREFIX:ID"));
            }
        }
        if r.evidence.is_empty() {
            err("has no [[rule.evidence]]".into());
        }
        if !(1..=5).contains(&r.risk) || !(1..=5).contains(&r.effort) {
            err("risk and effort must be 1-5".into());
        }
        if r.partial_max.is_some_and(|p| p < r.pass_max) {
            err("partial_max is below pass_max".into());
        }
        for q in &r.requires {
            if !(q == "policy" || q == "envelopes" || q.starts_with("table:")) {
                err(format!(
                    "requires {q:?}: expected policy, envelopes or table:NAME"
                ));
            }
        }
        for s in &r.evidence {
            let n = [
                s.alerts.is_some(),
                s.policy.is_some(),
                s.ics_writes.is_some(),
                s.sql.is_some(),
                s.builtin.is_some(),
                s.envelope_writes.is_some(),
            ]
            .iter()
            .filter(|b| **b)
            .count();
            if n != 1 {
                err("each [[rule.evidence]] needs exactly one of alerts, policy, ics_writes, sql, builtin, envelope_writes".into());
            }
            for k in s.policy.iter().chain(s.ics_writes.iter()).flatten() {
                if ViolationKind::from_name(k).is_none() {
                    let all: Vec<&str> = ViolationKind::ALL.iter().map(|k| k.as_str()).collect();
                    err(format!(
                        "unknown policy violation {k:?} (one of {})",
                        all.join(", ")
                    ));
                }
            }
            if let Some(b) = &s.builtin {
                if !BUILTINS.contains(&b.as_str()) {
                    err(format!(
                        "unknown builtin {b:?} (one of {})",
                        BUILTINS.join(", ")
                    ));
                }
            }
            if let Some(q) = &s.sql {
                let head = q.trim_start().to_ascii_lowercase();
                if !(head.starts_with("select") || head.starts_with("with")) {
                    err("sql must be a SELECT query".into());
                }
            }
        }
    }
    if !errors.is_empty() {
        return Err(AssessError::Data {
            path: origin.into(),
            errors,
        });
    }
    Ok(file.rule)
}

impl Rules {
    /// The built-in rules.
    pub fn builtin() -> Result<Rules, AssessError> {
        let mut r = Rules::default();
        for (name, text) in BUILTIN {
            for rule in parse(text, Path::new(&format!("builtin:rules/{name}")))? {
                r.insert(rule);
            }
        }
        Ok(r)
    }

    /// Adds (or replaces by id) one rule.
    pub fn insert(&mut self, rule: Rule) {
        match self.rules.iter_mut().find(|x| x.id == rule.id) {
            Some(x) => *x = rule,
            None => self.rules.push(rule),
        }
    }

    /// Adds every `*.toml` of a folder.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, AssessError> {
        let rd = std::fs::read_dir(dir).map_err(|e| AssessError::io(dir, e))?;
        let mut files: Vec<_> = rd
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        files.sort();
        let mut n = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|e| AssessError::io(&f, e))?;
            for rule in parse(&text, &f)? {
                self.insert(rule);
                n += 1;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_parse() {
        let r = Rules::builtin().unwrap();
        assert!(r.rules.len() >= 10);
    }

    #[test]
    fn errors_have_lines() {
        let text = "[[rule]]\nid = \"X\"\ntitle = \"t\"\ncontrols = [\"CSF:PR.IR-01\"]\n[[rule.evidence]]\npolicy = [\"nope\"]\n";
        let e = parse(text, Path::new("x.toml")).unwrap_err().to_string();
        assert!(e.contains("x.toml:2:") && e.contains("nope"), "{e}");
        let e = parse("[[rule]]\nid = 3\n", Path::new("y.toml"))
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("y.toml:2:"), "{e}");
    }
}
