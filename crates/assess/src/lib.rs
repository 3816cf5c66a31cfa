//! `sluice-assess`: evidence-based governance assessment.
//!
//! Sluice already knows from the wire whether IT is separated from OT, whether remote
//! access bypasses the DMZ, which protocols run in clear text, which assets are unknown.
//! This crate combines that observed evidence (evidence rules over the store) with the
//! answers only people can give (a questionnaire), maps both to the controls of IEC
//! 62443-3-3, NIST CSF 2.0, CIS Controls v8, SP 800-53 (catalogues loaded at run time from
//! data files) or any framework dropped in as a data file, scores them, and turns the gaps
//! into a roadmap. Reports: JSON, Markdown, a self-contained HTML page with SVG charts, and
//! OSCAL assessment-results.
#![forbid(unsafe_code)]

pub mod answers;
pub mod catalog;
pub mod csv;
pub mod error;
pub mod evidence;
pub mod model;
pub mod render;
pub mod rules;
pub mod score;
pub mod store;

pub use answers::{Answers, Question};
pub use catalog::{Catalog, Control, Framework};
pub use error::{AssessError, LineError};
pub use model::{Assessment, CheckResult, ControlResult, Status};
pub use rules::{Rule, Rules};
pub use score::Settings;

use rusqlite::Connection;
use sluice_policy::Policy;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// Schema tag of the JSON output.
pub const SCHEMA: &str = "sluice.assessment/1";

/// Everything an assessment needs besides the store.
pub struct Options<'a> {
    /// The catalogues.
    pub catalog: &'a Catalog,
    /// Framework ids to assess (see [`resolve_frameworks`]).
    pub frameworks: Vec<String>,
    /// Evidence rules.
    pub rules: &'a Rules,
    /// Questions.
    pub questions: &'a [Question],
    /// Answers, if given.
    pub answers: Option<&'a Answers>,
    /// The site policy, if given.
    pub policy: Option<&'a Policy>,
    /// Scoring data.
    pub settings: &'a Settings,
    /// Input descriptions for the report (store, policy, answers, catalogue).
    pub inputs: BTreeMap<String, String>,
    /// Assessment time, ns since the epoch.
    pub now_ns: i64,
}

/// The framework ids for command-line names (`iec62443`, `csf`, `cis`, `sp800-53`, a user
/// framework's id, or `all` for every loaded one).
pub fn resolve_frameworks(catalog: &Catalog, names: &[String]) -> Result<Vec<String>, AssessError> {
    let mut out: Vec<String> = Vec::new();
    for n in names {
        for part in n.split(',').map(str::trim).filter(|s| !s.is_empty()) {
            if part.eq_ignore_ascii_case("all") {
                for f in &catalog.frameworks {
                    if !out.contains(&f.id) {
                        out.push(f.id.clone());
                    }
                }
                continue;
            }
            match catalog.framework(part) {
                Some(f) => {
                    if !out.contains(&f.id) {
                        out.push(f.id.clone());
                    }
                }
                None => {
                    let known: Vec<&str> =
                        catalog.frameworks.iter().map(|f| f.id.as_str()).collect();
                    return Err(AssessError::Usage(format!(
                        "framework {part:?} is not loaded (loaded: {}; catalogue warnings: {})",
                        if known.is_empty() {
                            "none".to_string()
                        } else {
                            known.join(", ")
                        },
                        if catalog.warnings.is_empty() {
                            "none".to_string()
                        } else {
                            catalog.warnings.join("; ")
                        }
                    )));
                }
            }
        }
    }
    if out.is_empty() {
        return Err(AssessError::Usage("no framework chosen".into()));
    }
    Ok(out)
}

/// A UUID (version 4 layout) derived from `seed`: stable for the same seed.
pub fn uuid_from(seed: &str) -> String {
    let mut a: u64 = 0xcbf2_9ce4_8422_2325;
    let mut b: u64 = 0x8422_2325_cbf2_9ce4 ^ 0x9e37_79b9_7f4a_7c15;
    for byte in seed.bytes() {
        a ^= u64::from(byte);
        a = a.wrapping_mul(0x0000_0100_0000_01b3);
        b = (b ^ u64::from(byte))
            .wrapping_mul(0x0000_0100_0000_01b3)
            .rotate_left(7);
    }
    // Final avalanche.
    let mix = |mut x: u64| {
        x ^= x >> 33;
        x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
        x ^= x >> 33;
        x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
        x ^ (x >> 33)
    };
    let (a, b) = (mix(a ^ b.rotate_left(17)), mix(b ^ a));
    let hi = (a & 0xffff_ffff_ffff_0fff) | 0x0000_0000_0000_4000;
    let lo = (b & 0x3fff_ffff_ffff_ffff) | 0x8000_0000_0000_0000;
    format!(
        "{:08x}-{:04x}-{:04x}-{:04x}-{:012x}",
        hi >> 32,
        (hi >> 16) & 0xffff,
        hi & 0xffff,
        lo >> 48,
        lo & 0xffff_ffff_ffff
    )
}

/// The zones scores are computed for: (name, level, SL-T).
pub fn zones_of(policy: Option<&Policy>) -> Vec<(String, Option<f64>, Option<u8>)> {
    match policy {
        Some(p) if !p.zones().is_empty() => p
            .zones()
            .iter()
            .map(|z| {
                (
                    z.name.to_string(),
                    Some(z.level.as_f64()),
                    z.security_level_target,
                )
            })
            .collect(),
        _ => vec![(evidence::SITE.to_string(), None, None)],
    }
}

/// Runs an assessment over a store.
pub fn assess(conn: &Connection, o: &Options<'_>) -> Result<Assessment, AssessError> {
    let ev = evidence::Evidence::new(conn, o.policy);
    let zone_names = ev.zones();
    let mut notes: Vec<String> = Vec::new();
    // 1. Checks: evidence rules, then answers.
    let mut checks: Vec<CheckResult> = o.rules.rules.iter().map(|r| ev.evaluate(r)).collect();
    let today = o.now_ns.div_euclid(86_400_000_000_000);
    for q in o.questions {
        let a = o.answers.and_then(|a| a.answers.get(&q.id));
        checks.push(answers::evaluate(q, a, today));
    }
    notes.extend(ev.notes.borrow().iter().cloned());
    // 2. Direct citations.
    let mut direct: HashMap<String, Vec<usize>> = HashMap::new();
    let mut unknown: BTreeSet<String> = BTreeSet::new();
    let mut missing_fw: BTreeSet<String> = BTreeSet::new();
    for (i, c) in checks.iter().enumerate() {
        for k in &c.controls {
            match o.catalog.canonical(k) {
                Some(ck) => direct.entry(ck).or_default().push(i),
                None => {
                    let prefix = k.split_once(':').map(|(p, _)| p).unwrap_or(k);
                    if o.catalog.framework(prefix).is_some() {
                        unknown.insert(format!("{k} (cited by {})", c.id));
                    } else {
                        missing_fw.insert(prefix.to_string());
                    }
                }
            }
        }
    }
    if !unknown.is_empty() {
        notes.push(format!(
            "controls cited but not in the catalogue: {}",
            unknown.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
    for p in &missing_fw {
        notes.push(format!(
            "checks cite {p} controls but no {p} catalogue is loaded"
        ));
    }
    // 3. Crosswalk adjacency (canonical keys, both directions).
    let mut adj: HashMap<String, BTreeSet<String>> = HashMap::new();
    for m in &o.catalog.mappings {
        let (Some(a), Some(b)) = (o.catalog.canonical(&m.a), o.catalog.canonical(&m.b)) else {
            continue;
        };
        adj.entry(a.clone()).or_default().insert(b.clone());
        adj.entry(b).or_default().insert(a);
    }
    type Decided = (Status, BTreeMap<String, Status>, Vec<String>);
    let direct_status = |key: &str| -> Option<Decided> {
        let list = direct.get(key)?;
        let status = Status::combine(list.iter().filter_map(|&i| checks.get(i)).map(|c| c.status));
        let mut zones = BTreeMap::new();
        for z in &zone_names {
            let s = Status::combine(
                list.iter()
                    .filter_map(|&i| checks.get(i))
                    .map(|c| c.zones.get(z).copied().unwrap_or(c.status)),
            );
            zones.insert(z.clone(), s);
        }
        let basis = list
            .iter()
            .filter_map(|&i| checks.get(i))
            .filter(|c| c.status.assessed() || c.status == Status::NotApplicable)
            .map(|c| c.id.clone())
            .collect();
        Some((status, zones, basis))
    };
    // 4. Every assessable control of the chosen frameworks.
    let mut controls: Vec<ControlResult> = Vec::new();
    for fid in &o.frameworks {
        let Some(fw) = o.catalog.framework(fid) else {
            continue;
        };
        for c in fw.assessable() {
            let mut r = ControlResult {
                key: c.key.clone(),
                framework: fw.id.clone(),
                id: c.id.clone(),
                title: c.title.clone(),
                group: c.group.clone(),
                level: c.level,
                oscal_id: c.oscal_id.clone(),
                status: Status::NotAssessed,
                basis: Vec::new(),
                derived_from: Vec::new(),
                zones: BTreeMap::new(),
            };
            match direct_status(&c.key) {
                Some((s, z, b)) if s != Status::NotAssessed => {
                    r.status = s;
                    r.zones = z;
                    r.basis = b;
                }
                _ => {
                    let mut from = Vec::new();
                    let mut sts = Vec::new();
                    let mut basis: Vec<String> = Vec::new();
                    let mut zs: BTreeMap<String, Vec<Status>> = BTreeMap::new();
                    for other in adj.get(&c.key).into_iter().flatten() {
                        if let Some((s, z, b)) = direct_status(other) {
                            if s.assessed() {
                                from.push(other.clone());
                                sts.push(s);
                                for id in b {
                                    if !basis.contains(&id) {
                                        basis.push(id);
                                    }
                                }
                                for (k, v) in z {
                                    zs.entry(k).or_default().push(v);
                                }
                            }
                        }
                    }
                    if !from.is_empty() {
                        r.status = Status::combine(sts);
                        r.zones = zs
                            .into_iter()
                            .map(|(k, v)| (k, Status::combine(v)))
                            .collect();
                        r.derived_from = from;
                        r.basis = basis;
                    }
                }
            }
            if fw.scoring != catalog::Scoring::Iec62443 {
                r.zones.clear();
            }
            controls.push(r);
        }
    }
    // 5. Scores, gaps, roadmap.
    let zones = zones_of(o.policy);
    let scores = score::scores(o.catalog, &o.frameworks, &controls, &zones, o.settings);
    let by_id: HashMap<&str, &CheckResult> = checks.iter().map(|c| (c.id.as_str(), c)).collect();
    let gaps = controls
        .iter()
        .filter(|c| matches!(c.status, Status::NotSatisfied | Status::Partial))
        .map(|c| {
            let failing: Vec<&CheckResult> = c
                .basis
                .iter()
                .filter_map(|id| by_id.get(id.as_str()).copied())
                .filter(|ch| matches!(ch.status, Status::NotSatisfied | Status::Partial))
                .collect();
            let mut evidence: Vec<String> = failing
                .iter()
                .map(|ch| format!("{}: {}", ch.id, ch.summary))
                .collect();
            if failing.is_empty() && !c.derived_from.is_empty() {
                evidence.push(format!("derived from {}", c.derived_from.join(", ")));
            }
            model::Gap {
                control: c.key.clone(),
                title: c.title.clone(),
                status: c.status,
                checks: failing.iter().map(|ch| ch.id.clone()).collect(),
                evidence,
            }
        })
        .collect();
    let roadmap = score::roadmap(&checks, &o.settings.roadmap);
    for w in &o.catalog.warnings {
        notes.push(format!("catalogue: {w}"));
    }
    if o.frameworks.iter().any(|f| f == "iec62443") {
        notes.push(
            "IEC 62443-3-3: ids and short headings only; the security level of each requirement comes from an UNVERIFIED table (crates/assess/data/iec62443-3-3-sl.csv) and RE numbering is unverified: check against a licensed copy. SL-A counts unassessed requirements as unmet (sl_possible ignores them).".into(),
        );
    }
    if o.frameworks.iter().any(|f| f == "csf") {
        notes.push("CSF tiers are derived from the share of outcomes met (thresholds in the scoring data): a heuristic, not NIST's definition of tiers.".into());
    }
    if o.policy.is_none() {
        notes.push("no site policy (--config): flows were not re-judged, zones are unknown and IEC 62443 scores are for the whole site".into());
    }
    if o.answers.is_none() {
        notes.push("no answers (--answers): only observed evidence counts; write the questionnaire with --questionnaire".into());
    }
    let created = sluice_engine::time::rfc3339(o.now_ns);
    // Unique per run, even for two runs in the same nanosecond of one process.
    static SERIAL: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let serial = SERIAL.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let uuid = uuid_from(&format!(
        "{}|{}|{serial}|{:?}",
        o.now_ns,
        std::process::id(),
        o.inputs
    ));
    Ok(Assessment {
        schema: SCHEMA.into(),
        uuid,
        id: None,
        created,
        site: o.policy.and_then(|p| p.site_name().map(str::to_string)),
        frameworks: o.frameworks.clone(),
        inputs: o.inputs.clone(),
        observed: ev.observed.clone(),
        checks,
        controls,
        scores,
        gaps,
        roadmap,
        notes,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuids_are_oscal_shaped() {
        let u = uuid_from("x");
        assert_eq!(u.len(), 36);
        let parts: Vec<&str> = u.split('-').collect();
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            vec![8, 4, 4, 4, 12]
        );
        assert!(parts[2].starts_with('4'));
        assert!(matches!(
            parts[3].chars().next(),
            Some('8' | '9' | 'a' | 'b')
        ));
        assert_ne!(uuid_from("x"), uuid_from("y"));
        assert_eq!(uuid_from("x"), u);
    }
}
