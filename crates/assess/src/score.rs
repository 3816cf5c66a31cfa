//! Scores (IEC 62443 SL-A per zone and FR vs SL-T, CSF tier per function, CIS IG
//! coverage, per-framework coverage) and the roadmap (risk reduction per effort, phases,
//! dependencies), with weights and thresholds as data.
use crate::catalog::{Catalog, Framework, Scoring as Method};
use crate::error::{toml_error, AssessError};
use crate::model::{
    CheckResult, CisScore, ControlResult, Coverage, FrScore, FunctionScore, IgScore, Phase,
    RoadmapItem, Status, ZoneScore,
};
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::path::Path;

/// The built-in scoring data.
pub const BUILTIN: &str = include_str!("../data/scoring.toml");

/// One CSF tier threshold.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// 1-4.
    pub tier: u8,
    /// Name.
    pub name: String,
    /// Minimum score (percent).
    pub min: f64,
}

/// CSF settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CsfSettings {
    /// Tiers.
    pub tiers: Vec<Tier>,
}

/// A roadmap phase.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhaseRule {
    /// Name.
    pub name: String,
    /// Largest effort admitted.
    pub max_effort: Option<u8>,
    /// Smallest priority admitted.
    pub min_priority: Option<f64>,
}

/// Roadmap settings.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoadmapSettings {
    /// Weight of risk 1..5.
    pub risk_weights: [f64; 5],
    /// Weight of effort 1..5.
    pub effort_weights: [f64; 5],
    /// Factor for partly met checks.
    pub partial_factor: f64,
    /// Phases in order.
    pub phase: Vec<PhaseRule>,
}

/// All scoring data.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// CSF.
    pub csf: CsfSettings,
    /// Roadmap.
    pub roadmap: RoadmapSettings,
}

impl Settings {
    /// Parses scoring data.
    pub fn parse(text: &str, origin: &Path) -> Result<Settings, AssessError> {
        let s: Settings = toml::from_str(text).map_err(|e| AssessError::Data {
            path: origin.into(),
            errors: vec![toml_error(text, &e)],
        })?;
        if s.roadmap.phase.is_empty() {
            return Err(AssessError::data(
                origin,
                0,
                "roadmap needs at least one [[roadmap.phase]]",
            ));
        }
        if s.csf.tiers.is_empty() {
            return Err(AssessError::data(origin, 0, "csf.tiers is empty"));
        }
        if s.roadmap
            .effort_weights
            .iter()
            .any(|w| w.is_nan() || *w <= 0.0)
        {
            return Err(AssessError::data(
                origin,
                0,
                "effort_weights must be positive",
            ));
        }
        Ok(s)
    }

    /// The built-in settings.
    pub fn builtin() -> Result<Settings, AssessError> {
        Settings::parse(BUILTIN, Path::new("builtin:data/scoring.toml"))
    }
}

fn pct(num: f64, den: usize) -> f64 {
    if den == 0 {
        0.0
    } else {
        (num / den as f64 * 1000.0).round() / 10.0
    }
}

/// Coverage counts of one framework.
pub fn coverage(fw: &Framework, results: &HashMap<&str, &ControlResult>) -> Coverage {
    let mut c = Coverage {
        framework: fw.id.clone(),
        name: fw.name.clone(),
        ..Coverage::default()
    };
    for ctl in fw.assessable() {
        c.total += 1;
        match results.get(ctl.key.as_str()).map(|r| r.status) {
            Some(Status::Satisfied) => c.satisfied += 1,
            Some(Status::Partial) => c.partial += 1,
            Some(Status::NotSatisfied) => c.not_satisfied += 1,
            _ => {}
        }
    }
    c.assessed = c.satisfied + c.partial + c.not_satisfied;
    c.score = pct(c.satisfied as f64 + c.partial as f64 / 2.0, c.total);
    c
}

/// The status of a control in a zone (falls back to its overall status).
fn in_zone(r: Option<&&ControlResult>, zone: &str) -> Status {
    match r {
        Some(r) => r.zones.get(zone).copied().unwrap_or(r.status),
        None => Status::NotAssessed,
    }
}

/// IEC 62443 scores per zone: (zone name, Purdue level, SL-T).
pub fn iec62443(
    fw: &Framework,
    results: &HashMap<&str, &ControlResult>,
    zones: &[(String, Option<f64>, Option<u8>)],
) -> Vec<ZoneScore> {
    let frs: Vec<_> = fw.controls.iter().filter(|c| c.kind == "fr").collect();
    let mut out = Vec::new();
    for (zone, level, target) in zones {
        let mut frscores = Vec::new();
        for fr in &frs {
            let reqs: Vec<_> = fw
                .assessable()
                .filter(|c| c.group.as_deref() == Some(fr.id.as_str()))
                .collect();
            let status: Vec<(u8, Status, &str)> = reqs
                .iter()
                .map(|c| {
                    (
                        c.level.unwrap_or(1),
                        in_zone(results.get(c.key.as_str()), zone),
                        c.id.as_str(),
                    )
                })
                .collect();
            let ok_strict = |s: Status| matches!(s, Status::Satisfied | Status::NotApplicable);
            let ok_loose = |s: Status| {
                matches!(
                    s,
                    Status::Satisfied | Status::NotApplicable | Status::NotAssessed
                )
            };
            let level_of = |ok: &dyn Fn(Status) -> bool| -> u8 {
                let mut sl = 0;
                for l in 1..=4u8 {
                    if status
                        .iter()
                        .filter(|(lv, _, _)| *lv <= l)
                        .all(|(_, s, _)| ok(*s))
                    {
                        sl = l;
                    } else {
                        break;
                    }
                }
                sl
            };
            frscores.push(FrScore {
                fr: fr.id.clone(),
                title: fr.title.clone(),
                sl_achieved: if reqs.is_empty() {
                    0
                } else {
                    level_of(&ok_strict)
                },
                sl_possible: if reqs.is_empty() {
                    0
                } else {
                    level_of(&ok_loose)
                },
                assessed: status.iter().filter(|(_, s, _)| s.assessed()).count(),
                total: reqs.len(),
                failing: status
                    .iter()
                    .filter(|(_, s, _)| matches!(s, Status::NotSatisfied | Status::Partial))
                    .map(|(_, _, id)| (*id).to_string())
                    .collect(),
            });
        }
        let sl_achieved = frscores.iter().map(|f| f.sl_achieved).min().unwrap_or(0);
        let below_target = match target {
            Some(t) => frscores
                .iter()
                .filter(|f| f.sl_achieved < *t)
                .map(|f| f.fr.clone())
                .collect(),
            None => Vec::new(),
        };
        out.push(ZoneScore {
            zone: zone.clone(),
            level: *level,
            sl_target: *target,
            frs: frscores,
            sl_achieved,
            below_target,
        });
    }
    out
}

/// CSF tier per function.
pub fn csf(
    fw: &Framework,
    results: &HashMap<&str, &ControlResult>,
    settings: &CsfSettings,
) -> Vec<FunctionScore> {
    let mut out = Vec::new();
    for f in fw.controls.iter().filter(|c| c.kind == "function") {
        let outs: Vec<_> = fw
            .assessable()
            .filter(|c| c.group.as_deref() == Some(f.id.as_str()))
            .collect();
        let st = |c: &&crate::catalog::Control| {
            results
                .get(c.key.as_str())
                .map(|r| r.status)
                .unwrap_or(Status::NotAssessed)
        };
        let met_ids: Vec<String> = outs
            .iter()
            .filter(|c| st(c) == Status::Satisfied)
            .map(|c| c.id.clone())
            .collect();
        let partial = outs.iter().filter(|c| st(c) == Status::Partial).count();
        let not_met = outs
            .iter()
            .filter(|c| st(c) == Status::NotSatisfied)
            .count();
        let met = met_ids.len();
        let score = pct(met as f64 + partial as f64 / 2.0, outs.len());
        let tier = settings
            .tiers
            .iter()
            .filter(|t| score >= t.min)
            .max_by_key(|t| t.tier)
            .or_else(|| settings.tiers.iter().min_by_key(|t| t.tier));
        out.push(FunctionScore {
            function: f.id.clone(),
            title: f.title.clone(),
            outcomes: outs.len(),
            assessed: met + partial + not_met,
            met,
            partial,
            not_met,
            score,
            tier: tier.map(|t| t.tier).unwrap_or(1),
            tier_name: tier.map(|t| t.name.clone()).unwrap_or_default(),
            met_ids,
        });
    }
    out
}

/// CIS safeguard and IG coverage.
pub fn cis(fw: &Framework, results: &HashMap<&str, &ControlResult>) -> CisScore {
    let st = |k: &str| {
        results
            .get(k)
            .map(|r| r.status)
            .unwrap_or(Status::NotAssessed)
    };
    let safeguards: Vec<_> = fw.assessable().collect();
    let assessed = safeguards.iter().filter(|c| st(&c.key).assessed()).count();
    let satisfied = safeguards
        .iter()
        .filter(|c| st(&c.key) == Status::Satisfied)
        .count();
    let with_ig = safeguards.iter().any(|c| c.ig.is_some());
    let mut groups = Vec::new();
    if with_ig {
        for g in 1..=3u8 {
            let members: Vec<_> = safeguards
                .iter()
                .filter(|c| c.ig.is_some_and(|x| x <= g))
                .collect();
            let sat = members
                .iter()
                .filter(|c| st(&c.key) == Status::Satisfied)
                .count();
            groups.push(IgScore {
                ig: g,
                total: members.len(),
                assessed: members.iter().filter(|c| st(&c.key).assessed()).count(),
                satisfied: sat,
                coverage: pct(sat as f64, members.len()),
            });
        }
    }
    let note = if with_ig {
        "IG coverage: safeguards satisfied by evidence or answers over the safeguards of each (cumulative) implementation group, from the membership file supplied.".to_string()
    } else {
        "CIS implementation-group membership is not shipped (CC BY-NC-ND licence): counts are over the safeguard ids the checks and answers cite. Supply the membership (cis-controls-v8/cis-controls-v8-ig.csv or --cis-ig FILE, columns id,ig) to score IG1/IG2/IG3.".to_string()
    };
    CisScore {
        safeguards: safeguards.len(),
        assessed,
        satisfied,
        groups,
        note,
    }
}

/// Which scoring a framework uses.
pub fn method(fw: &Framework) -> Method {
    fw.scoring
}

/// The roadmap: every check not (fully) met, by priority, in phases that respect
/// dependencies.
pub fn roadmap(checks: &[CheckResult], settings: &RoadmapSettings) -> Vec<Phase> {
    let failing: Vec<&CheckResult> = checks
        .iter()
        .filter(|c| matches!(c.status, Status::NotSatisfied | Status::Partial))
        .collect();
    let ids: std::collections::HashSet<&str> = failing.iter().map(|c| c.id.as_str()).collect();
    let w = |arr: &[f64; 5], v: u8| {
        arr.get(usize::from(v.clamp(1, 5)) - 1)
            .copied()
            .unwrap_or(1.0)
    };
    let mut items: Vec<RoadmapItem> = failing
        .iter()
        .map(|c| {
            let factor = if c.status == Status::Partial {
                settings.partial_factor
            } else {
                1.0
            };
            let p =
                w(&settings.risk_weights, c.risk) * factor / w(&settings.effort_weights, c.effort);
            RoadmapItem {
                check: c.id.clone(),
                title: c.title.clone(),
                status: c.status,
                risk: c.risk,
                effort: c.effort,
                priority: (p * 100.0).round() / 100.0,
                phase: String::new(),
                after: c
                    .depends
                    .iter()
                    .filter(|d| ids.contains(d.as_str()))
                    .cloned()
                    .collect(),
                controls: c.controls.clone(),
                role: c.role,
                remediation: c.remediation.clone(),
            }
        })
        .collect();
    items.sort_by(|a, b| {
        b.priority
            .total_cmp(&a.priority)
            .then(a.check.cmp(&b.check))
    });
    let last = settings.phase.len().saturating_sub(1);
    let mut phase_of: BTreeMap<String, usize> = items
        .iter()
        .map(|it| {
            let p = settings
                .phase
                .iter()
                .position(|ph| {
                    ph.max_effort.is_none_or(|m| it.effort <= m)
                        && ph.min_priority.is_none_or(|m| it.priority >= m)
                })
                .unwrap_or(last);
            (it.check.clone(), p)
        })
        .collect();
    // Never before a dependency: iterate to a fixed point (bounded: phases only move later).
    for _ in 0..=items.len() {
        let mut changed = false;
        for it in &items {
            let dep = it
                .after
                .iter()
                .filter_map(|d| phase_of.get(d))
                .copied()
                .max();
            if let (Some(d), Some(me)) = (dep, phase_of.get(&it.check).copied()) {
                if d > me {
                    phase_of.insert(it.check.clone(), d);
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    let mut phases: Vec<Phase> = settings
        .phase
        .iter()
        .map(|p| Phase {
            name: p.name.clone(),
            items: Vec::new(),
        })
        .collect();
    for mut it in items {
        let p = phase_of.get(&it.check).copied().unwrap_or(last).min(last);
        if let Some(ph) = phases.get_mut(p) {
            it.phase = ph.name.clone();
            ph.items.push(it);
        }
    }
    // Inside a phase, a dependency comes before its dependents.
    for ph in &mut phases {
        let mut ordered: Vec<RoadmapItem> = Vec::new();
        let mut rest = std::mem::take(&mut ph.items);
        while !rest.is_empty() {
            let pos = rest
                .iter()
                .position(|it| it.after.iter().all(|d| !rest.iter().any(|r| &r.check == d)))
                .unwrap_or(0);
            ordered.push(rest.remove(pos));
        }
        ph.items = ordered;
    }
    phases
}

/// Scores of the frameworks chosen.
pub fn scores(
    catalog: &Catalog,
    chosen: &[String],
    controls: &[ControlResult],
    zones: &[(String, Option<f64>, Option<u8>)],
    settings: &Settings,
) -> crate::model::Scores {
    let results: HashMap<&str, &ControlResult> =
        controls.iter().map(|c| (c.key.as_str(), c)).collect();
    let mut s = crate::model::Scores::default();
    for id in chosen {
        let Some(fw) = catalog.framework(id) else {
            continue;
        };
        s.coverage.push(coverage(fw, &results));
        match method(fw) {
            Method::Iec62443 => s.iec62443 = iec62443(fw, &results, zones),
            Method::Csf => s.csf = csf(fw, &results, &settings.csf),
            Method::Cis => s.cis = Some(cis(fw, &results)),
            Method::Coverage => {}
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(id: &str, st: Status, risk: u8, effort: u8, depends: &[&str]) -> CheckResult {
        CheckResult {
            id: id.into(),
            source: "evidence".into(),
            title: id.into(),
            status: st,
            summary: String::new(),
            controls: vec![],
            count: 1,
            items: vec![],
            alert_ids: vec![],
            zones: BTreeMap::new(),
            risk,
            effort,
            role: None,
            remediation: String::new(),
            depends: depends.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn roadmap_phases_and_dependencies() {
        let s = Settings::builtin().unwrap();
        let checks = vec![
            check("quick", Status::NotSatisfied, 5, 1, &[]),
            check("big", Status::NotSatisfied, 5, 5, &[]),
            check("needs-big", Status::NotSatisfied, 4, 1, &["big"]),
            check("ok", Status::Satisfied, 5, 1, &[]),
            check("dep-ok", Status::NotSatisfied, 5, 1, &["ok"]),
        ];
        let r = roadmap(&checks, &s.roadmap);
        let phase = |id: &str| r.iter().position(|p| p.items.iter().any(|i| i.check == id));
        assert_eq!(phase("quick"), Some(0));
        assert_eq!(phase("dep-ok"), Some(0));
        assert_eq!(phase("big"), Some(2));
        assert_eq!(phase("needs-big"), Some(2));
        assert_eq!(phase("ok"), None);
        let last = &r[2].items;
        let pb = last.iter().position(|i| i.check == "big").unwrap();
        let pn = last.iter().position(|i| i.check == "needs-big").unwrap();
        assert!(pb < pn);
    }
}
