//! Assessments in the store (tables `assessments` and `assessment_controls`, created by
//! the store's migrations) for the console's compliance page, trend and diff.
use crate::error::AssessError;
use crate::model::{Assessment, Status};
use rusqlite::{params, Connection, OptionalExtension};
use serde::Serialize;
use std::collections::BTreeMap;

/// One stored assessment, without its full JSON.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Stored {
    /// Store id.
    pub id: i64,
    /// UUID.
    pub uuid: String,
    /// When made (RFC 3339).
    pub created: String,
    /// Frameworks.
    pub frameworks: String,
    /// Site.
    pub site: Option<String>,
    /// Controls assessed.
    pub assessed: i64,
    /// Satisfied.
    pub satisfied: i64,
    /// Partial.
    pub partial: i64,
    /// Not satisfied.
    pub not_satisfied: i64,
}

fn created_ns(a: &Assessment) -> i64 {
    // `created` is RFC 3339 UTC: YYYY-MM-DDTHH:MM:SS(.f)Z.
    let s = a.created.as_str();
    let num = |r: std::ops::Range<usize>| s.get(r).and_then(|x| x.parse::<i64>().ok());
    let (Some(y), Some(mo), Some(d), Some(h), Some(mi), Some(se)) = (
        num(0..4),
        num(5..7),
        num(8..10),
        num(11..13),
        num(14..16),
        num(17..19),
    ) else {
        return 0;
    };
    let days = crate::answers::days_from_civil(
        y,
        u32::try_from(mo).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    );
    let frac = s
        .get(20..)
        .map(|f| f.trim_end_matches('Z'))
        .filter(|f| !f.is_empty() && f.bytes().all(|b| b.is_ascii_digit()))
        .map(|f| {
            let mut f = f.to_string();
            f.truncate(9);
            while f.len() < 9 {
                f.push('0');
            }
            f.parse::<i64>().unwrap_or(0)
        })
        .unwrap_or(0);
    ((days * 86_400 + h * 3600 + mi * 60 + se).saturating_mul(1_000_000_000)).saturating_add(frac)
}

/// Saves an assessment; sets and returns its id.
pub fn save(conn: &Connection, a: &mut Assessment) -> Result<i64, AssessError> {
    let count = |s: Status| a.controls.iter().filter(|c| c.status == s).count() as i64;
    let (sat, part, not) = (
        count(Status::Satisfied),
        count(Status::Partial),
        count(Status::NotSatisfied),
    );
    let summary = serde_json::json!({
        "coverage": a.scores.coverage,
        "iec62443": a.scores.iec62443.iter().map(|z| serde_json::json!({
            "zone": z.zone, "sl_target": z.sl_target, "sl_achieved": z.sl_achieved,
            "frs": z.frs.iter().map(|f| (f.fr.clone(), f.sl_achieved)).collect::<BTreeMap<_, _>>(),
        })).collect::<Vec<_>>(),
        "csf": a.scores.csf.iter().map(|f| (f.function.clone(), f.tier)).collect::<BTreeMap<_, _>>(),
        "gaps": a.gaps.len(),
    });
    let tx = conn.unchecked_transaction()?;
    tx.execute(
        "INSERT INTO assessments (uuid, created, frameworks, site, assessed, satisfied, partial, not_satisfied, summary, json) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, '{}')",
        params![a.uuid, created_ns(a), a.frameworks.join(","), a.site, sat + part + not, sat, part, not, summary.to_string()],
    )?;
    let id = tx.last_insert_rowid();
    a.id = Some(id);
    let json = serde_json::to_string(a)?;
    tx.execute(
        "UPDATE assessments SET json = ?1 WHERE id = ?2",
        params![json, id],
    )?;
    {
        let mut st = tx.prepare(
            "INSERT OR REPLACE INTO assessment_controls (assessment_id, control, framework, status) VALUES (?1, ?2, ?3, ?4)",
        )?;
        for c in &a.controls {
            st.execute(params![id, c.key, c.framework, c.status.as_str()])?;
        }
    }
    tx.commit()?;
    Ok(id)
}

/// The stored assessments, newest first.
pub fn list(conn: &Connection, limit: Option<u64>) -> Result<Vec<Stored>, AssessError> {
    let lim = limit.and_then(|l| i64::try_from(l).ok()).unwrap_or(-1);
    let mut st = conn.prepare(
        "SELECT id, uuid, created, frameworks, site, assessed, satisfied, partial, not_satisfied \
         FROM assessments ORDER BY id DESC LIMIT ?1",
    )?;
    let rows = st.query_map(params![lim], |r| {
        Ok(Stored {
            id: r.get(0)?,
            uuid: r.get(1)?,
            created: sluice_engine::time::rfc3339(r.get::<_, i64>(2)?),
            frameworks: r.get(3)?,
            site: r.get(4)?,
            assessed: r.get(5)?,
            satisfied: r.get(6)?,
            partial: r.get(7)?,
            not_satisfied: r.get(8)?,
        })
    })?;
    Ok(rows.collect::<Result<Vec<_>, _>>()?)
}

/// One stored assessment by id (or UUID).
pub fn load(conn: &Connection, id: &str) -> Result<Option<Assessment>, AssessError> {
    let json: Option<String> = match id.parse::<i64>() {
        Ok(n) => conn
            .query_row(
                "SELECT json FROM assessments WHERE id = ?1",
                params![n],
                |r| r.get(0),
            )
            .optional()?,
        Err(_) => conn
            .query_row(
                "SELECT json FROM assessments WHERE uuid = ?1",
                params![id],
                |r| r.get(0),
            )
            .optional()?,
    };
    json.map(|j| serde_json::from_str(&j).map_err(AssessError::from))
        .transpose()
}

/// A status change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// Control key or check id.
    pub key: String,
    /// Before (absent: not in the older assessment).
    pub from: Option<Status>,
    /// After.
    pub to: Option<Status>,
}

/// A score change.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ScoreChange {
    /// What (`coverage csf`, `SL-A control FR 5`, `tier PR`).
    pub what: String,
    /// Before.
    pub from: Option<f64>,
    /// After.
    pub to: Option<f64>,
}

/// The difference between two assessments.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Diff {
    /// Older (uuid, created).
    pub from: (String, String),
    /// Newer.
    pub to: (String, String),
    /// Scores that changed.
    pub scores: Vec<ScoreChange>,
    /// Controls whose status changed.
    pub controls: Vec<Change>,
    /// Checks whose status changed.
    pub checks: Vec<Change>,
    /// Controls that improved (became satisfied) / regressed (stopped being).
    pub improved: usize,
    /// Regressions.
    pub regressed: usize,
}

fn rank(s: Option<Status>) -> u8 {
    match s {
        Some(Status::Satisfied) => 3,
        Some(Status::Partial) => 2,
        Some(Status::NotSatisfied) => 1,
        _ => 0,
    }
}

/// Compares two assessments.
pub fn diff(a: &Assessment, b: &Assessment) -> Diff {
    let mut scores = Vec::new();
    let mut push = |what: String, x: Option<f64>, y: Option<f64>| {
        if x != y {
            scores.push(ScoreChange {
                what,
                from: x,
                to: y,
            });
        }
    };
    let cov = |s: &Assessment| -> BTreeMap<String, f64> {
        s.scores
            .coverage
            .iter()
            .map(|c| (c.framework.clone(), c.score))
            .collect()
    };
    let (ca, cb) = (cov(a), cov(b));
    for k in ca
        .keys()
        .chain(cb.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        push(
            format!("coverage {k} (%)"),
            ca.get(k).copied(),
            cb.get(k).copied(),
        );
    }
    let sl = |s: &Assessment| -> BTreeMap<String, f64> {
        s.scores
            .iec62443
            .iter()
            .flat_map(|z| {
                z.frs.iter().map(move |f| {
                    (
                        format!("SL-A {} {}", z.zone, f.fr),
                        f64::from(f.sl_achieved),
                    )
                })
            })
            .collect()
    };
    let (sa, sb) = (sl(a), sl(b));
    for k in sa
        .keys()
        .chain(sb.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        push(k.clone(), sa.get(k).copied(), sb.get(k).copied());
    }
    let tier = |s: &Assessment| -> BTreeMap<String, f64> {
        s.scores
            .csf
            .iter()
            .map(|f| (format!("CSF tier {}", f.function), f64::from(f.tier)))
            .collect()
    };
    let (ta, tb) = (tier(a), tier(b));
    for k in ta
        .keys()
        .chain(tb.keys())
        .collect::<std::collections::BTreeSet<_>>()
    {
        push(k.clone(), ta.get(k).copied(), tb.get(k).copied());
    }
    let changes = |x: BTreeMap<String, Status>, y: BTreeMap<String, Status>| -> Vec<Change> {
        let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
        keys.into_iter()
            .filter_map(|k| {
                let (f, t) = (x.get(k).copied(), y.get(k).copied());
                (f != t).then(|| Change {
                    key: k.clone(),
                    from: f,
                    to: t,
                })
            })
            .collect()
    };
    let controls = changes(
        a.controls
            .iter()
            .map(|c| (c.key.clone(), c.status))
            .collect(),
        b.controls
            .iter()
            .map(|c| (c.key.clone(), c.status))
            .collect(),
    );
    let checks = changes(
        a.checks.iter().map(|c| (c.id.clone(), c.status)).collect(),
        b.checks.iter().map(|c| (c.id.clone(), c.status)).collect(),
    );
    let improved = controls
        .iter()
        .filter(|c| rank(c.to) > rank(c.from))
        .count();
    let regressed = controls
        .iter()
        .filter(|c| rank(c.to) < rank(c.from))
        .count();
    Diff {
        from: (a.uuid.clone(), a.created.clone()),
        to: (b.uuid.clone(), b.created.clone()),
        scores,
        controls,
        checks,
        improved,
        regressed,
    }
}

/// The diff as text.
pub fn diff_text(d: &Diff) -> String {
    let st = |s: Option<Status>| s.map(|x| x.as_str()).unwrap_or("absent");
    let num = |x: Option<f64>| x.map(|v| format!("{v}")).unwrap_or_else(|| "-".into());
    let mut s = format!(
        "assessment {} ({}) -> {} ({})\n{} controls improved, {} regressed\n",
        d.from.0, d.from.1, d.to.0, d.to.1, d.improved, d.regressed
    );
    if !d.scores.is_empty() {
        s.push_str("\nscores:\n");
        for c in &d.scores {
            s.push_str(&format!(
                "  {:<40} {:>6} -> {}\n",
                c.what,
                num(c.from),
                num(c.to)
            ));
        }
    }
    if !d.checks.is_empty() {
        s.push_str("\nchecks:\n");
        for c in &d.checks {
            s.push_str(&format!("  {:<24} {} -> {}\n", c.key, st(c.from), st(c.to)));
        }
    }
    if !d.controls.is_empty() {
        s.push_str("\ncontrols:\n");
        for c in &d.controls {
            s.push_str(&format!("  {:<40} {} -> {}\n", c.key, st(c.from), st(c.to)));
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_parses() {
        let mut a = Assessment {
            schema: String::new(),
            uuid: String::new(),
            id: None,
            created: "1970-01-02T00:00:01.5Z".into(),
            site: None,
            frameworks: vec![],
            inputs: BTreeMap::new(),
            observed: Default::default(),
            checks: vec![],
            controls: vec![],
            scores: Default::default(),
            gaps: vec![],
            roadmap: vec![],
            notes: vec![],
        };
        assert_eq!(created_ns(&a), 86_401_500_000_000);
        a.created = "garbage".into();
        assert_eq!(created_ns(&a), 0);
    }
}
