//! Rules as data: TOML files (`[[rule]]` tables), embedded ones plus users' own
//! directories, loaded at run time. A user rule with the id of an embedded one replaces
//! it (`enabled = false` turns it off).
//!
//! ```toml
//! [[rule]]
//! id = "SLC-MB-002"
//! name = "Modbus restart communications or force listen only"
//! kind = "transaction"            # transaction (default) | flow | policy | envelope |
//!                                 # remote_access | scan | baseline
//! severity = 85                   # 1-100
//! technique = "T0816"             # ATT&CK for ICS
//! tactic = "Inhibit Response Function"   # optional: which of the technique's tactics
//! controls = ["IEC62443-3-3:SR 3.1", "CSF:DE.CM-01"]
//! explanation = "{src} sent {function} to {dst} ({fields.sub_function_name})"
//! [rule.match]
//! protocol = "modbus"             # or a list
//! function_codes = [8]            # numbers or "45-64" ranges
//! functions = ["diagnostics"]     # function names (case-insensitive)
//! operation = "engineering"       # read | write | engineering | other, or a list
//! fields = [{ field = "sub_function", in = [1, 4] }]      # all must hold
//! any_fields = [{ field = "user", exists = true }]        # at least one must hold
//! new_talker = true               # only from a client new to this server and protocol
//! unlisted_writer = true          # only when the policy (or baseline) does not list the writer
//! ports = [5900]                  # flow / remote_access: server ports
//! violation = "no_conduit"        # policy: the violation kind
//! anomaly = "new_talker"          # baseline: new_talker | new_function | new_register |
//!                                 #   value_out_of_range | polling_change
//! scan = "hosts"                  # scan: hosts | ports
//! max_level = 3                   # remote_access: server zone levels it covers
//! from_outside = true             # remote_access: from external / level 4+ (true) or
//!                                 #   from another zone inside the site (false)
//! [rule.threshold]                # a count (or distinct values) per group in a window
//! count = 10
//! window = "60s"
//! distinct = "unit_id"            # a record field, or source.ip / destination.ip /
//!                                 # destination.port; none: count matches
//! group_by = "pair"               # source (default) | pair | destination
//! ```
//! Condition tests: `equals`, `in`, `not_in`, `exists`, `gt`, `lt`, `contains`.

use std::path::Path;

use serde::Deserialize;
use serde_json::Value;
use sluice_policy::ViolationKind;
use sluice_proto::Operation;

use crate::fields::{Cond, Test};
use crate::template::Template;
use crate::util::parse_duration;
use crate::DetectError;

/// The rule files compiled into the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("policy.toml", include_str!("../rules/policy.toml")),
    ("modbus.toml", include_str!("../rules/modbus.toml")),
    ("dnp3.toml", include_str!("../rules/dnp3.toml")),
    ("s7comm.toml", include_str!("../rules/s7comm.toml")),
    ("enip.toml", include_str!("../rules/enip.toml")),
    ("iec104.toml", include_str!("../rules/iec104.toml")),
    ("opcua.toml", include_str!("../rules/opcua.toml")),
    ("bacnet.toml", include_str!("../rules/bacnet.toml")),
    ("envelope.toml", include_str!("../rules/envelope.toml")),
    ("remote.toml", include_str!("../rules/remote.toml")),
    (
        "credentials.toml",
        include_str!("../rules/credentials.toml"),
    ),
    ("scan.toml", include_str!("../rules/scan.toml")),
    ("baseline.toml", include_str!("../rules/baseline.toml")),
];

/// What a rule looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Protocol transactions.
    Transaction,
    /// Flows (connections), including those whose protocol is unidentified.
    Flow,
    /// A policy violation of this kind.
    Policy(ViolationKind),
    /// A written value outside a safety envelope.
    Envelope,
    /// A remote-access session into the plant.
    RemoteAccess,
    /// Host or port scans.
    Scan(ScanKind),
    /// A deviation from the learned baseline.
    Baseline(Anomaly),
}

/// Scan kinds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanKind {
    /// One source, many destination hosts.
    Hosts,
    /// One source, many ports of one host.
    Ports,
}

/// Baseline deviations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Anomaly {
    /// A client talks to a server over a protocol never seen between them.
    NewTalker,
    /// A function code never used between them.
    NewFunction,
    /// Registers (points) outside the learned ranges.
    NewRegister,
    /// A written value outside the learned range.
    ValueOutOfRange,
    /// A poll's period moved away from the learned one.
    PollingChange,
}

impl Anomaly {
    /// The snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::NewTalker => "new_talker",
            Anomaly::NewFunction => "new_function",
            Anomaly::NewRegister => "new_register",
            Anomaly::ValueOutOfRange => "value_out_of_range",
            Anomaly::PollingChange => "polling_change",
        }
    }

    fn from_name(s: &str) -> Option<Anomaly> {
        [
            Anomaly::NewTalker,
            Anomaly::NewFunction,
            Anomaly::NewRegister,
            Anomaly::ValueOutOfRange,
            Anomaly::PollingChange,
        ]
        .into_iter()
        .find(|a| a.as_str() == s)
    }
}

/// How thresholded rules group their counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GroupBy {
    /// Per source address.
    Source,
    /// Per source and destination address.
    Pair,
    /// Per destination address.
    Destination,
}

/// A count (or number of distinct values) per group within a window.
#[derive(Debug, Clone, PartialEq)]
pub struct Threshold {
    /// How many.
    pub count: u32,
    /// Within this many nanoseconds.
    pub window_ns: i64,
    /// Count distinct values of this path (`None`: count matches).
    pub distinct: Option<Vec<String>>,
    /// Grouping.
    pub group_by: GroupBy,
}

/// What a rule matches.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Match {
    /// Protocol names (lower case); empty: any.
    pub protocols: Vec<String>,
    /// Inclusive function-code ranges; empty: any.
    pub function_codes: Vec<(u32, u32)>,
    /// Function names; empty: any.
    pub functions: Vec<String>,
    /// Operations; empty: any.
    pub operations: Vec<Operation>,
    /// All must hold.
    pub fields: Vec<Cond>,
    /// One must hold (when not empty).
    pub any_fields: Vec<Cond>,
    /// Only from a new talker.
    pub new_talker: bool,
    /// Only when the writer is not listed.
    pub unlisted_writer: bool,
    /// Server ports.
    pub ports: Vec<u16>,
    /// Remote access: the highest server level covered (half levels: 3 → 6).
    pub max_level_halves: u8,
    /// Remote access: only from outside the site (external or level 4+) when true, only
    /// from inside (across zones) when false; either when absent.
    pub from_outside: Option<bool>,
}

impl Match {
    /// Whether the rule needs the record's JSON.
    pub fn needs_fields(&self) -> bool {
        !self.fields.is_empty() || !self.any_fields.is_empty()
    }

    /// Whether the rule can match records of `protocol` (it names it, or no protocol).
    pub fn protocol_matches(&self, protocol: &str) -> bool {
        self.protocols.is_empty() || self.protocols.iter().any(|p| p == protocol)
    }

    /// The other cheap tests: function code and name, operation. (The protocol is tested
    /// once per protocol, [`Match::protocol_matches`], when the detector lists the rules
    /// of each.)
    pub fn header_matches(&self, fc: Option<u32>, function: Option<&str>, op: Operation) -> bool {
        (self.function_codes.is_empty()
            || fc.is_some_and(|c| {
                self.function_codes
                    .iter()
                    .any(|(a, b)| (*a..=*b).contains(&c))
            }))
            && (self.functions.is_empty()
                || function
                    .is_some_and(|f| self.functions.iter().any(|n| n.eq_ignore_ascii_case(f))))
            && (self.operations.is_empty() || self.operations.contains(&op))
    }

    /// The field conditions on a record's JSON.
    pub fn fields_match(&self, record: &Value) -> bool {
        self.fields.iter().all(|c| c.holds(record))
            && (self.any_fields.is_empty() || self.any_fields.iter().any(|c| c.holds(record)))
    }
}

/// One rule.
#[derive(Debug, Clone)]
pub struct Rule {
    /// Stable id, e.g. `SLC-MB-002`.
    pub id: String,
    /// Short name.
    pub name: String,
    /// What it looks at.
    pub kind: Kind,
    /// 1-100.
    pub severity: u8,
    /// ATT&CK for ICS technique id.
    pub technique: Option<String>,
    /// The tactic to report when the technique has several.
    pub tactic: Option<String>,
    /// IEC 62443-3-3 SR and CSF 2.0 references.
    pub controls: Vec<String>,
    /// The explanation template.
    pub explanation: Template,
    /// The match.
    pub matcher: Match,
    /// Threshold, for sweeps and scans.
    pub threshold: Option<Threshold>,
    /// Whether it runs.
    pub enabled: bool,
    /// Where it was defined (`builtin:modbus.toml:12`, `/etc/sluice/rules/x.toml:3`).
    pub origin: String,
}

/// A set of rules, later ones replacing earlier ones with the same id.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<RawRule>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    fn into_vec(self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s],
            OneOrMany::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Code {
    Num(i64),
    Range(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    name: String,
    kind: Option<String>,
    severity: i64,
    technique: Option<String>,
    tactic: Option<String>,
    #[serde(default)]
    controls: Vec<String>,
    explanation: String,
    enabled: Option<bool>,
    #[serde(rename = "match", default)]
    matcher: RawMatch,
    threshold: Option<RawThreshold>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    protocol: Option<OneOrMany>,
    function_codes: Option<Vec<Code>>,
    functions: Option<Vec<String>>,
    operation: Option<OneOrMany>,
    #[serde(default)]
    fields: Vec<RawCond>,
    #[serde(default)]
    any_fields: Vec<RawCond>,
    new_talker: Option<bool>,
    unlisted_writer: Option<bool>,
    ports: Option<Vec<u16>>,
    violation: Option<String>,
    anomaly: Option<String>,
    scan: Option<String>,
    max_level: Option<f64>,
    from_outside: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCond {
    field: String,
    equals: Option<toml::Value>,
    #[serde(rename = "in")]
    in_: Option<Vec<toml::Value>>,
    not_in: Option<Vec<toml::Value>>,
    exists: Option<bool>,
    gt: Option<f64>,
    lt: Option<f64>,
    contains: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawThreshold {
    count: i64,
    window: Option<toml::Value>,
    distinct: Option<String>,
    group_by: Option<String>,
}

fn json_of(v: toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Array(a) => Value::Array(a.into_iter().map(json_of).collect()),
        other => Value::String(other.to_string()),
    }
}

fn path_of(s: &str) -> Vec<String> {
    s.split('.').map(|p| p.trim().to_string()).collect()
}

fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let before = text.get(..offset.min(text.len())).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let col = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (
        u32::try_from(line).unwrap_or(u32::MAX),
        u32::try_from(col).unwrap_or(u32::MAX),
    )
}

fn operation_of(s: &str) -> Option<Operation> {
    match s.to_ascii_lowercase().as_str() {
        "read" => Some(Operation::Read),
        "write" => Some(Operation::Write),
        "engineering" => Some(Operation::Engineering),
        "other" => Some(Operation::Other),
        _ => None,
    }
}

fn valid_technique(t: &str) -> bool {
    let b = t.as_bytes();
    let base = b.len() >= 5
        && b.first() == Some(&b'T')
        && b.get(1..5)
            .is_some_and(|d| d.iter().all(u8::is_ascii_digit));
    base && (b.len() == 5
        || (b.len() == 9
            && b.get(5) == Some(&b'.')
            && b.get(6..9)
                .is_some_and(|d| d.iter().all(u8::is_ascii_digit))))
}

fn convert(raw: RawRule, origin: String) -> Result<Rule, String> {
    if raw.id.trim().is_empty() || raw.id.chars().any(|c| c.is_whitespace() || c == '|') {
        return Err(format!(
            "rule id {:?} must be non-empty, without spaces or '|'",
            raw.id
        ));
    }
    if raw.name.trim().is_empty() {
        return Err(format!("rule {}: empty name", raw.id));
    }
    let severity = u8::try_from(raw.severity)
        .ok()
        .filter(|s| (1..=100).contains(s))
        .ok_or_else(|| format!("rule {}: severity {} is not in 1-100", raw.id, raw.severity))?;
    if let Some(t) = &raw.technique {
        if !valid_technique(t) {
            return Err(format!(
                "rule {}: technique {t:?} is not an ATT&CK id like T0836",
                raw.id
            ));
        }
    }
    let explanation = Template::parse(&raw.explanation)
        .map_err(|e| format!("rule {}: explanation: {e}", raw.id))?;
    let m = raw.matcher;
    let mut matcher = Match {
        protocols: m
            .protocol
            .map(OneOrMany::into_vec)
            .unwrap_or_default()
            .into_iter()
            .map(|p| p.trim().to_ascii_lowercase())
            .collect(),
        functions: m.functions.unwrap_or_default(),
        new_talker: m.new_talker.unwrap_or(false),
        unlisted_writer: m.unlisted_writer.unwrap_or(false),
        ports: m.ports.unwrap_or_default(),
        max_level_halves: 6,
        from_outside: m.from_outside,
        ..Match::default()
    };
    for c in m.function_codes.unwrap_or_default() {
        let r = match c {
            Code::Num(n) => u32::try_from(n).ok().map(|n| (n, n)),
            Code::Range(s) => s.split_once('-').and_then(|(a, b)| {
                let (a, b) = (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?);
                (a <= b).then_some((a, b))
            }),
        };
        matcher.function_codes.push(
            r.ok_or_else(|| format!("rule {}: bad function code (a number or \"a-b\")", raw.id))?,
        );
    }
    for o in m.operation.map(OneOrMany::into_vec).unwrap_or_default() {
        matcher.operations.push(operation_of(&o).ok_or_else(|| {
            format!(
                "rule {}: operation {o:?} is not read, write, engineering or other",
                raw.id
            )
        })?);
    }
    for (list, out) in [
        (m.fields, &mut matcher.fields),
        (m.any_fields, &mut matcher.any_fields),
    ] {
        for c in list {
            let mut tests = Vec::new();
            if let Some(v) = c.equals {
                tests.push(Test::Equals(json_of(v)));
            }
            if let Some(v) = c.in_ {
                tests.push(Test::In(v.into_iter().map(json_of).collect()));
            }
            if let Some(v) = c.not_in {
                tests.push(Test::NotIn(v.into_iter().map(json_of).collect()));
            }
            if let Some(v) = c.exists {
                tests.push(Test::Exists(v));
            }
            if let Some(v) = c.gt {
                tests.push(Test::Gt(v));
            }
            if let Some(v) = c.lt {
                tests.push(Test::Lt(v));
            }
            if let Some(v) = c.contains {
                tests.push(Test::Contains(v));
            }
            if tests.is_empty() || c.field.trim().is_empty() {
                return Err(format!(
                    "rule {}: condition on {:?} needs a field and a test (equals, in, not_in, exists, gt, lt, contains)",
                    raw.id, c.field
                ));
            }
            out.push(Cond {
                path: path_of(&c.field),
                tests,
            });
        }
    }
    if let Some(l) = m.max_level {
        if !(0.0..=5.0).contains(&l) || (l * 2.0).fract() != 0.0 {
            return Err(format!(
                "rule {}: max_level {l} is not a Purdue level 0-5 in halves",
                raw.id
            ));
        }
        matcher.max_level_halves = (l * 2.0) as u8;
    }
    let kind_name = raw.kind.as_deref().unwrap_or("transaction");
    let kind = match kind_name {
        "transaction" => Kind::Transaction,
        "flow" => Kind::Flow,
        "envelope" => Kind::Envelope,
        "remote_access" => Kind::RemoteAccess,
        "policy" => {
            let v = m.violation.as_deref().unwrap_or_default();
            Kind::Policy(ViolationKind::from_name(v).ok_or_else(|| {
                format!(
                    "rule {}: match.violation {v:?} is not one of {}",
                    raw.id,
                    ViolationKind::ALL.map(|k| k.as_str()).join(", ")
                )
            })?)
        }
        "scan" => Kind::Scan(match m.scan.as_deref() {
            Some("hosts") => ScanKind::Hosts,
            Some("ports") => ScanKind::Ports,
            other => return Err(format!("rule {}: match.scan {other:?} is not hosts or ports", raw.id)),
        }),
        "baseline" => {
            let a = m.anomaly.as_deref().unwrap_or_default();
            Kind::Baseline(Anomaly::from_name(a).ok_or_else(|| {
                format!(
                    "rule {}: match.anomaly {a:?} is not new_talker, new_function, new_register, value_out_of_range or polling_change",
                    raw.id
                )
            })?)
        }
        other => {
            return Err(format!(
                "rule {}: kind {other:?} is not transaction, flow, policy, envelope, remote_access, scan or baseline",
                raw.id
            ))
        }
    };
    let threshold = match raw.threshold {
        None => None,
        Some(t) => {
            let count = u32::try_from(t.count)
                .ok()
                .filter(|c| *c >= 1)
                .ok_or_else(|| format!("rule {}: threshold.count must be at least 1", raw.id))?;
            let window_ns = match t.window {
                None => 60_000_000_000,
                Some(toml::Value::Integer(s)) if s > 0 => s.saturating_mul(1_000_000_000),
                Some(toml::Value::String(s)) => parse_duration(&s).ok_or_else(|| {
                    format!(
                        "rule {}: threshold.window {s:?} is not a duration like 60s or 5m",
                        raw.id
                    )
                })?,
                Some(_) => {
                    return Err(format!(
                        "rule {}: threshold.window must be a duration",
                        raw.id
                    ))
                }
            };
            let group_by = match t.group_by.as_deref() {
                None | Some("source") => GroupBy::Source,
                Some("pair") => GroupBy::Pair,
                Some("destination") => GroupBy::Destination,
                Some(o) => {
                    return Err(format!(
                        "rule {}: threshold.group_by {o:?} is not source, pair or destination",
                        raw.id
                    ))
                }
            };
            Some(Threshold {
                count,
                window_ns,
                distinct: t.distinct.as_deref().map(path_of),
                group_by,
            })
        }
    };
    if matches!(kind, Kind::Scan(_)) && threshold.is_none() {
        return Err(format!(
            "rule {}: a scan rule needs a [rule.threshold]",
            raw.id
        ));
    }
    Ok(Rule {
        id: raw.id,
        name: raw.name,
        kind,
        severity,
        technique: raw.technique,
        tactic: raw.tactic,
        controls: raw.controls,
        explanation,
        matcher,
        threshold,
        enabled: raw.enabled.unwrap_or(true),
        origin,
    })
}

impl RuleSet {
    /// An empty set.
    pub fn empty() -> RuleSet {
        RuleSet::default()
    }

    /// The embedded rules.
    pub fn builtin() -> Result<RuleSet, DetectError> {
        let mut set = RuleSet::empty();
        for (name, text) in BUILTIN {
            set.add_text(text, &format!("builtin:{name}"))?;
        }
        Ok(set)
    }

    /// Adds the rules of one TOML text; `origin` names it in errors.
    pub fn add_text(&mut self, text: &str, origin: &str) -> Result<usize, DetectError> {
        let err = |offset: Option<usize>, message: String| {
            let (line, column) = offset.map_or((0, 0), |o| line_col(text, o));
            DetectError::Rule {
                file: origin.to_string(),
                line,
                column,
                message,
            }
        };
        let raw: RawFile = toml::from_str(text)
            .map_err(|e| err(e.span().map(|s| s.start), e.message().to_string()))?;
        let mut n = 0;
        let mut seen = std::collections::HashSet::new();
        for r in raw.rule {
            let offset = r.span().start;
            let (line, _) = line_col(text, offset);
            let rule = convert(r.into_inner(), format!("{origin}:{line}"))
                .map_err(|m| err(Some(offset), m))?;
            if !seen.insert(rule.id.clone()) {
                return Err(err(
                    Some(offset),
                    format!("rule {} is defined twice in this file", rule.id),
                ));
            }
            match self.rules.iter_mut().find(|x| x.id == rule.id) {
                Some(x) => *x = rule,
                None => self.rules.push(rule),
            }
            n += 1;
        }
        Ok(n)
    }

    /// Adds every `*.toml` file of a directory, in name order.
    pub fn add_dir(&mut self, dir: &Path) -> Result<usize, DetectError> {
        let io = |source| DetectError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .map_err(io)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml") && p.is_file())
            .collect();
        files.sort();
        let mut n = 0;
        for f in files {
            let text = std::fs::read_to_string(&f).map_err(|source| DetectError::Io {
                path: f.clone(),
                source,
            })?;
            n += self.add_text(&text, &f.display().to_string())?;
        }
        Ok(n)
    }

    /// Every rule (enabled or not), in definition order.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// A rule by id.
    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// Number of rules.
    pub fn len(&self) -> usize {
        self.rules.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_rules_load() {
        let set = RuleSet::builtin().unwrap();
        assert!(set.len() > 30, "{}", set.len());
        for k in ViolationKind::ALL {
            assert!(
                set.rules().iter().any(|r| r.kind == Kind::Policy(k)),
                "no rule for {k}"
            );
        }
        let ids: std::collections::HashSet<_> = set.rules().iter().map(|r| &r.id).collect();
        assert_eq!(ids.len(), set.len());
    }

    #[test]
    fn errors_name_line_and_column() {
        let mut s = RuleSet::empty();
        let e = s
            .add_text(
                "[[rule]]\nid = \"X-1\"\nname = \"n\"\nseverity = 500\nexplanation = \"e\"\n",
                "u.toml",
            )
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("u.toml:1:1: rule X-1: severity 500"), "{e}");
        let e = s
            .add_text("[[rule]]\nid = 3\n", "v.toml")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("v.toml:2:"), "{e}");
        let e = s
            .add_text(
                "[[rule]]\nid = \"X\"\nname = \"n\"\nseverity = 5\nexplanation = \"{what}\"\n",
                "w.toml",
            )
            .unwrap_err()
            .to_string();
        assert!(e.contains("unknown placeholder {what}"), "{e}");
    }

    #[test]
    fn user_rules_replace_builtin_ones() {
        let mut s = RuleSet::builtin().unwrap();
        let n = s.len();
        s.add_text(
            "[[rule]]\nid = \"SLC-MB-002\"\nname = \"off\"\nseverity = 1\nexplanation = \"x\"\nenabled = false\n[rule.match]\nprotocol = \"modbus\"\nfunction_codes = [8, \"20-24\"]\n",
            "mine.toml",
        )
        .unwrap();
        assert_eq!(s.len(), n);
        let r = s.get("SLC-MB-002").unwrap();
        assert!(!r.enabled);
        assert_eq!(r.matcher.function_codes, [(8, 8), (20, 24)]);
        assert_eq!(r.origin, "mine.toml:1");
    }
}
