//! Reports: JSON (the model), Markdown, a self-contained HTML page with SVG charts, and an
//! OSCAL assessment-results document.
use crate::model::{Assessment, CheckResult, Status};
use crate::uuid_from;
use serde_json::{json, Value};
use std::fmt::Write as _;

/// The OSCAL version written.
pub const OSCAL_VERSION: &str = "1.2.1";

/// Pretty JSON of the assessment.
pub fn json(a: &Assessment) -> String {
    let mut s = serde_json::to_string_pretty(a).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&#39;"),
            c => o.push(c),
        }
    }
    o
}

fn md(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Satisfied => "ok",
        Status::Partial => "part",
        Status::NotSatisfied => "bad",
        Status::NotApplicable => "na",
        Status::NotAssessed => "none",
    }
}

fn title(a: &Assessment) -> String {
    match &a.site {
        Some(s) => format!("Security assessment: {s}"),
        None => "Security assessment".to_string(),
    }
}

fn sl(v: Option<u8>) -> String {
    v.map(|x| x.to_string()).unwrap_or_else(|| "-".into())
}

/// Markdown report.
pub fn markdown(a: &Assessment) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "# {}\n", title(a));
    let _ = writeln!(
        s,
        "Created {} · frameworks: {} · assessment `{}`\n",
        a.created,
        a.frameworks.join(", "),
        a.uuid
    );
    let o = &a.observed;
    let _ = writeln!(
        s,
        "Evidence: {} flows, {} events, {} alerts, {} assets{}.\n",
        o.flows,
        o.events,
        o.alerts,
        o.assets,
        match (&o.first, &o.last) {
            (Some(f), Some(l)) => format!(" observed {f} to {l}"),
            _ => String::new(),
        }
    );
    s.push_str("## Scores\n\n| framework | controls | assessed | satisfied | partial | not satisfied | score % |\n|---|---:|---:|---:|---:|---:|---:|\n");
    for c in &a.scores.coverage {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} |",
            md(&c.name),
            c.total,
            c.assessed,
            c.satisfied,
            c.partial,
            c.not_satisfied,
            c.score
        );
    }
    if !a.scores.iec62443.is_empty() {
        s.push_str("\n### IEC 62443-3-3 security levels per zone (SL-A / SL-T)\n\n| zone | SL-T |");
        let frs: Vec<String> = a
            .scores
            .iec62443
            .first()
            .map(|z| z.frs.iter().map(|f| f.fr.clone()).collect())
            .unwrap_or_default();
        for f in &frs {
            let _ = write!(s, " {f} |");
        }
        s.push_str(" SL-A |\n|---|---:|");
        for _ in &frs {
            s.push_str("---:|");
        }
        s.push_str("---:|\n");
        for z in &a.scores.iec62443 {
            let _ = write!(s, "| {} | {} |", md(&z.zone), sl(z.sl_target));
            for f in &z.frs {
                let _ = write!(s, " {} (≤{}) |", f.sl_achieved, f.sl_possible);
            }
            let _ = writeln!(s, " {} |", z.sl_achieved);
        }
        s.push_str("\nSL-A counts unassessed requirements as unmet; (≤n) is the best the failures allow.\n");
    }
    if !a.scores.csf.is_empty() {
        s.push_str("\n### NIST CSF 2.0 tiers per function\n\n| function | outcomes | met | partial | not met | score % | tier |\n|---|---:|---:|---:|---:|---:|---|\n");
        for f in &a.scores.csf {
            let _ = writeln!(
                s,
                "| {} {} | {} | {} | {} | {} | {} | {} {} |",
                f.function,
                md(f.title.as_deref().unwrap_or("")),
                f.outcomes,
                f.met,
                f.partial,
                f.not_met,
                f.score,
                f.tier,
                f.tier_name
            );
        }
    }
    if let Some(c) = &a.scores.cis {
        let _ = writeln!(
            s,
            "\n### CIS Controls v8\n\n{} safeguards, {} assessed, {} satisfied.",
            c.safeguards, c.assessed, c.satisfied
        );
        for g in &c.groups {
            let _ = writeln!(
                s,
                "- IG{}: {} of {} satisfied ({}%)",
                g.ig, g.satisfied, g.total, g.coverage
            );
        }
        let _ = writeln!(s, "\n{}", c.note);
    }
    s.push_str("\n## Checks\n\n| check | source | status | summary |\n|---|---|---|---|\n");
    for c in &a.checks {
        let _ = writeln!(
            s,
            "| {} {} | {} | {} | {} |",
            c.id,
            md(&c.title),
            c.source,
            c.status,
            md(&c.summary)
        );
    }
    s.push_str("\n## Gaps\n\n");
    if a.gaps.is_empty() {
        s.push_str("No control assessed as not met.\n");
    }
    for g in &a.gaps {
        let _ = writeln!(
            s,
            "- **{}**{} — {}: {}",
            g.control,
            g.title
                .as_deref()
                .map(|t| format!(" {}", md(t)))
                .unwrap_or_default(),
            g.status,
            md(&g.evidence.join("; "))
        );
    }
    s.push_str("\n## Roadmap\n");
    for p in &a.roadmap {
        let _ = writeln!(s, "\n### {}\n", p.name);
        if p.items.is_empty() {
            s.push_str("Nothing.\n");
        }
        for (i, it) in p.items.iter().enumerate() {
            let _ = writeln!(
                s,
                "{}. **{}** {} (risk {}, effort {}, priority {}){}: {}",
                i + 1,
                it.check,
                md(&it.title),
                it.risk,
                it.effort,
                it.priority,
                if it.after.is_empty() {
                    String::new()
                } else {
                    format!(", after {}", it.after.join(", "))
                },
                md(&it.remediation)
            );
        }
    }
    if !a.notes.is_empty() {
        s.push_str("\n## Notes\n\n");
        for n in &a.notes {
            let _ = writeln!(s, "- {}", md(n));
        }
    }
    s
}

/// Horizontal bar chart: (label, value, max, class).
fn bars(rows: &[(String, f64, f64, &str, String)], width: u32) -> String {
    let row_h = 22u32;
    let label_w = 150u32;
    let h = row_h * u32::try_from(rows.len()).unwrap_or(0) + 10;
    let plot = width.saturating_sub(label_w + 60);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{h}\" role=\"img\">"
    );
    for (i, (label, v, max, class, text)) in rows.iter().enumerate() {
        let y = 5 + row_h * u32::try_from(i).unwrap_or(0);
        let frac = if *max > 0.0 {
            (v / max).clamp(0.0, 1.0)
        } else {
            0.0
        };
        let w = (f64::from(plot) * frac).round();
        let _ = write!(
            s,
            "<text x=\"0\" y=\"{ty}\" class=\"lbl\">{l}</text><rect x=\"{label_w}\" y=\"{y}\" width=\"{plot}\" height=\"16\" class=\"track\"/><rect x=\"{label_w}\" y=\"{y}\" width=\"{w}\" height=\"16\" class=\"{class}\"/><text x=\"{tx}\" y=\"{ty}\" class=\"val\">{t}</text>",
            ty = y + 12,
            l = esc(label),
            tx = label_w + plot + 6,
            t = esc(text)
        );
    }
    s.push_str("</svg>");
    s
}

/// SL-A vs SL-T per FR for one zone.
fn sl_chart(z: &crate::model::ZoneScore) -> String {
    let n = u32::try_from(z.frs.len()).unwrap_or(0);
    let (w, h, top, bottom) = (60 * n + 40, 170u32, 10u32, 30u32);
    let plot_h = h - top - bottom;
    let y_of = |v: f64| f64::from(top) + f64::from(plot_h) * (1.0 - v / 4.0);
    let mut s = format!("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"SL-A per FR, zone {}\">", esc(&z.zone));
    for l in 0..=4u32 {
        let y = y_of(f64::from(l));
        let _ = write!(s, "<line x1=\"30\" x2=\"{w}\" y1=\"{y}\" y2=\"{y}\" class=\"grid\"/><text x=\"18\" y=\"{}\" class=\"val\">{l}</text>", y + 4.0);
    }
    for (i, f) in z.frs.iter().enumerate() {
        let x = 40 + 60 * u32::try_from(i).unwrap_or(0);
        let ya = y_of(f64::from(f.sl_achieved));
        let yp = y_of(f64::from(f.sl_possible));
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{yp}\" width=\"40\" height=\"{hp}\" class=\"possible\"/><rect x=\"{x}\" y=\"{ya}\" width=\"40\" height=\"{ha}\" class=\"ok\"/><text x=\"{tx}\" y=\"{ly}\" class=\"lbl\" text-anchor=\"middle\">{fr}</text>",
            hp = y_of(0.0) - yp,
            ha = y_of(0.0) - ya,
            tx = x + 20,
            ly = h - 10,
            fr = esc(&f.fr)
        );
    }
    if let Some(t) = z.sl_target {
        let y = y_of(f64::from(t));
        let _ = write!(s, "<line x1=\"30\" x2=\"{w}\" y1=\"{y}\" y2=\"{y}\" class=\"target\"/><text x=\"{}\" y=\"{}\" class=\"val\" text-anchor=\"end\">SL-T {t}</text>", w - 2, y - 3.0);
    }
    s.push_str("</svg>");
    s
}

const CSS: &str = "body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{margin-bottom:.2em}h2{border-bottom:2px solid #ddd;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;width:100%;margin:.6em 0;font-size:14px}th,td{border:1px solid #ddd;padding:4px 6px;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.n{text-align:right}.muted{color:#666;font-size:13px}
.ok{fill:#2e8b57;color:#1d6b3f}.part{fill:#e0a100;color:#9a6b00}.bad{fill:#c0392b;color:#a02b1f}.none{fill:#aaa;color:#777}.na{fill:#ccc;color:#888}
.track{fill:#eee}.possible{fill:#b7dfc6}.grid{stroke:#eee}.target{stroke:#c0392b;stroke-dasharray:4 3;stroke-width:2}
.lbl{font-size:12px;fill:#333}.val{font-size:11px;fill:#555}
span.st{font-weight:600}.zones{display:flex;flex-wrap:wrap;gap:1.5em}.zone{border:1px solid #eee;padding:.5em}
li{margin:.25em 0}code{background:#f4f4f4;padding:0 3px}";

/// The HTML report: one self-contained file (inline CSS, SVG charts, no script).
pub fn html(a: &Assessment) -> String {
    let mut s = String::new();
    let t = esc(&title(a));
    let _ = write!(s, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{t}</title><style>{CSS}</style></head><body>\n");
    let _ = writeln!(s, "<h1>{t}</h1>");
    let o = &a.observed;
    let _ = writeln!(
        s,
        "<p class=\"muted\">Created {} · frameworks {} · assessment <code id=\"assessment-uuid\">{}</code><br>Evidence: {} flows, {} events, {} alerts, {} assets{}</p>",
        esc(&a.created),
        esc(&a.frameworks.join(", ")),
        esc(&a.uuid),
        o.flows,
        o.events,
        o.alerts,
        o.assets,
        match (&o.first, &o.last) {
            (Some(f), Some(l)) => format!(", observed {} to {}", esc(f), esc(l)),
            _ => String::new(),
        }
    );
    // Summary table + chart.
    s.push_str("<h2>Scores</h2>\n<table id=\"score-table\"><thead><tr><th>framework</th><th>controls</th><th>assessed</th><th>satisfied</th><th>partial</th><th>not satisfied</th><th>score %</th></tr></thead><tbody>\n");
    for c in &a.scores.coverage {
        let _ = writeln!(
            s,
            "<tr data-framework=\"{}\"><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
            esc(&c.framework),
            esc(&c.name),
            c.total,
            c.assessed,
            c.satisfied,
            c.partial,
            c.not_satisfied,
            c.score
        );
    }
    s.push_str("</tbody></table>\n");
    let rows: Vec<(String, f64, f64, &str, String)> = a
        .scores
        .coverage
        .iter()
        .map(|c| {
            (
                c.framework.clone(),
                c.score,
                100.0,
                "ok",
                format!("{}%", c.score),
            )
        })
        .collect();
    s.push_str(&bars(&rows, 640));
    if !a.scores.iec62443.is_empty() {
        s.push_str("<h2>IEC 62443-3-3: security level achieved per zone</h2>\n<p class=\"muted\">Dark: SL-A (unassessed requirements count as unmet). Light: the best the failures allow. Dashed: SL-T from the policy.</p>\n<table id=\"sl-table\"><thead><tr><th>zone</th><th>SL-T</th>");
        if let Some(z) = a.scores.iec62443.first() {
            for f in &z.frs {
                let _ = write!(s, "<th>{}</th>", esc(&f.fr));
            }
        }
        s.push_str("<th>SL-A</th></tr></thead><tbody>\n");
        for z in &a.scores.iec62443 {
            let _ = write!(
                s,
                "<tr data-zone=\"{}\"><td>{}</td><td class=\"n\">{}</td>",
                esc(&z.zone),
                esc(&z.zone),
                sl(z.sl_target)
            );
            for f in &z.frs {
                let cls = if z.sl_target.is_some_and(|t| f.sl_achieved < t) {
                    "bad"
                } else {
                    ""
                };
                let _ = write!(
                    s,
                    "<td class=\"n {cls}\" data-fr=\"{}\">{}</td>",
                    esc(&f.fr),
                    f.sl_achieved
                );
            }
            let _ = writeln!(s, "<td class=\"n\">{}</td></tr>", z.sl_achieved);
        }
        s.push_str("</tbody></table>\n<div class=\"zones\">");
        for z in &a.scores.iec62443 {
            let _ = write!(
                s,
                "<div class=\"zone\"><b>{}</b><br>{}</div>",
                esc(&z.zone),
                sl_chart(z)
            );
        }
        s.push_str("</div>\n");
    }
    if !a.scores.csf.is_empty() {
        s.push_str("<h2>NIST CSF 2.0: tier per function</h2>\n<table id=\"csf-table\"><thead><tr><th>function</th><th>outcomes</th><th>met</th><th>partial</th><th>not met</th><th>score %</th><th>tier</th></tr></thead><tbody>\n");
        for f in &a.scores.csf {
            let _ = writeln!(
                s,
                "<tr data-function=\"{}\"><td>{} {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{} {}</td></tr>",
                esc(&f.function),
                esc(&f.function),
                esc(f.title.as_deref().unwrap_or("")),
                f.outcomes,
                f.met,
                f.partial,
                f.not_met,
                f.score,
                f.tier,
                esc(&f.tier_name)
            );
        }
        s.push_str("</tbody></table>\n");
        let rows: Vec<(String, f64, f64, &str, String)> = a
            .scores
            .csf
            .iter()
            .map(|f| {
                (
                    f.function.clone(),
                    f64::from(f.tier),
                    4.0,
                    "ok",
                    format!("tier {} {}", f.tier, f.tier_name),
                )
            })
            .collect();
        s.push_str(&bars(&rows, 640));
    }
    if let Some(c) = &a.scores.cis {
        let _ = writeln!(
            s,
            "<h2>CIS Controls v8</h2>\n<p>{} safeguards · {} assessed · {} satisfied</p>",
            c.safeguards, c.assessed, c.satisfied
        );
        if !c.groups.is_empty() {
            let rows: Vec<(String, f64, f64, &str, String)> = c
                .groups
                .iter()
                .map(|g| {
                    (
                        format!("IG{}", g.ig),
                        g.coverage,
                        100.0,
                        "ok",
                        format!("{}/{} ({}%)", g.satisfied, g.total, g.coverage),
                    )
                })
                .collect();
            s.push_str(&bars(&rows, 640));
        }
        let _ = writeln!(s, "<p class=\"muted\">{}</p>", esc(&c.note));
    }
    // Checks.
    s.push_str("<h2>Checks</h2>\n<table id=\"checks\"><thead><tr><th>check</th><th>source</th><th>status</th><th>summary and evidence</th></tr></thead><tbody>\n");
    for c in &a.checks {
        s.push_str(&check_row(c));
    }
    s.push_str("</tbody></table>\n<h2>Gaps</h2>\n");
    if a.gaps.is_empty() {
        s.push_str("<p>No control assessed as not met.</p>\n");
    } else {
        s.push_str("<table id=\"gaps\"><thead><tr><th>control</th><th>status</th><th>evidence</th></tr></thead><tbody>\n");
        for g in &a.gaps {
            let _ = writeln!(
                s,
                "<tr><td><b>{}</b> {}</td><td><span class=\"st {}\">{}</span></td><td>{}</td></tr>",
                esc(&g.control),
                esc(g.title.as_deref().unwrap_or("")),
                status_class(g.status),
                g.status,
                esc(&g.evidence.join("; "))
            );
        }
        s.push_str("</tbody></table>\n");
    }
    s.push_str("<h2>Roadmap</h2>\n");
    for p in &a.roadmap {
        let _ = writeln!(s, "<h3>{}</h3>", esc(&p.name));
        if p.items.is_empty() {
            s.push_str("<p class=\"muted\">Nothing.</p>\n");
            continue;
        }
        s.push_str("<ol>");
        for it in &p.items {
            let _ = write!(
                s,
                "<li><b>{}</b> {} <span class=\"muted\">(risk {}, effort {}, priority {}{})</span><br>{}</li>",
                esc(&it.check),
                esc(&it.title),
                it.risk,
                it.effort,
                it.priority,
                if it.after.is_empty() { String::new() } else { format!(", after {}", esc(&it.after.join(", "))) },
                esc(&it.remediation)
            );
        }
        s.push_str("</ol>\n");
    }
    if !a.notes.is_empty() {
        s.push_str("<h2>Notes</h2>\n<ul>");
        for n in &a.notes {
            let _ = write!(s, "<li class=\"muted\">{}</li>", esc(n));
        }
        s.push_str("</ul>\n");
    }
    s.push_str("<p class=\"muted\">Made by Sluice. NIST content is a US Government work; IEC 62443 ids and headings only; CIS safeguard ids only.</p>\n</body></html>\n");
    s
}

fn check_row(c: &CheckResult) -> String {
    let mut ev = String::new();
    for it in &c.items {
        let _ = write!(
            ev,
            "<li>{}{}</li>",
            it.ts
                .as_deref()
                .map(|t| format!("{} ", esc(t)))
                .unwrap_or_default(),
            esc(&it.detail)
        );
    }
    if c.items.len() < usize::try_from(c.count).unwrap_or(usize::MAX) && !c.items.is_empty() {
        let _ = write!(ev, "<li class=\"muted\">… {} in all</li>", c.count);
    }
    format!(
        "<tr data-check=\"{}\"><td><b>{}</b> {}<br><span class=\"muted\">{}</span></td><td>{}</td><td><span class=\"st {}\">{}</span></td><td>{}{}</td></tr>\n",
        esc(&c.id),
        esc(&c.id),
        esc(&c.title),
        esc(&c.controls.join(", ")),
        esc(&c.source),
        status_class(c.status),
        c.status,
        esc(&c.summary),
        if ev.is_empty() { String::new() } else { format!("<ul>{ev}</ul>") }
    )
}

/// OSCAL assessment-results (JSON): one observation per decided check, one finding per
/// assessed control with `target.status.state` satisfied / not-satisfied (partial is
/// not-satisfied with a remark).
pub fn oscal(a: &Assessment) -> String {
    let obs_uuid = |id: &str| uuid_from(&format!("{}|observation|{id}", a.uuid));
    let observations: Vec<Value> = a
        .checks
        .iter()
        .filter(|c| c.status.assessed() || c.status == Status::NotApplicable)
        .map(|c| {
            let mut o = json!({
                "uuid": obs_uuid(&c.id),
                "title": one_line(&format!("{} {}", c.id, c.title)),
                "description": nonempty(&format!("{} Status: {}.", c.summary, c.status)),
                "methods": [if c.source == "answer" { "INTERVIEW" } else { "TEST" }],
                "types": ["control-objective"],
                "collected": a.created,
            });
            let ev: Vec<Value> = c
                .items
                .iter()
                .map(|i| json!({ "description": nonempty(&i.detail) }))
                .collect();
            if !ev.is_empty() {
                o["relevant-evidence"] = Value::Array(ev);
            }
            o
        })
        .collect();
    let known: std::collections::HashSet<&str> = a
        .checks
        .iter()
        .filter(|c| c.status.assessed() || c.status == Status::NotApplicable)
        .map(|c| c.id.as_str())
        .collect();
    let assessed: Vec<&crate::model::ControlResult> =
        a.controls.iter().filter(|c| c.status.assessed()).collect();
    let findings: Vec<Value> = assessed
        .iter()
        .map(|c| {
            let state = if c.status == Status::Satisfied { "satisfied" } else { "not-satisfied" };
            let mut desc = format!("{} is {}", c.key, c.status);
            if !c.basis.is_empty() {
                desc.push_str(&format!(" (checks: {})", c.basis.join(", ")));
            }
            if !c.derived_from.is_empty() {
                desc.push_str(&format!("; derived through published crosswalks from {}", c.derived_from.join(", ")));
            }
            desc.push('.');
            let mut f = json!({
                "uuid": uuid_from(&format!("{}|finding|{}", a.uuid, c.key)),
                "title": one_line(&format!("{}{}", c.key, c.title.as_deref().map(|t| format!(" {t}")).unwrap_or_default())),
                "description": desc,
                "target": {
                    "type": "objective-id",
                    "target-id": c.oscal_id,
                    "status": { "state": state },
                },
            });
            if c.status == Status::Partial {
                f["target"]["status"]["remarks"] = json!("Partly satisfied.");
            }
            let rel: Vec<Value> = c
                .basis
                .iter()
                .filter(|b| known.contains(b.as_str()))
                .map(|b| json!({ "observation-uuid": obs_uuid(b) }))
                .collect();
            if !rel.is_empty() {
                f["related-observations"] = Value::Array(rel);
            }
            f
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let include: Vec<Value> = assessed
        .iter()
        .filter(|c| seen.insert(c.oscal_id.clone()))
        .map(|c| json!({ "control-id": c.oscal_id }))
        .collect();
    let plan = uuid_from(&format!("{}|plan", a.uuid));
    let mut result = json!({
        "uuid": uuid_from(&format!("{}|result", a.uuid)),
        "title": one_line(&title(a)),
        "description": format!(
            "Evidence-based assessment by Sluice against {}: {} observed flows, {} alerts, {} assets, and questionnaire answers.",
            a.frameworks.join(", "), a.observed.flows, a.observed.alerts, a.observed.assets
        ),
        "start": a.observed.first.clone().unwrap_or_else(|| a.created.clone()),
        "end": a.created,
        "reviewed-controls": {
            "control-selections": [ if include.is_empty() { json!({ "include-all": {} }) } else { json!({ "include-controls": include }) } ]
        },
    });
    if !observations.is_empty() {
        result["observations"] = Value::Array(observations);
    }
    if !findings.is_empty() {
        result["findings"] = Value::Array(findings);
    }
    if !a.notes.is_empty() {
        result["remarks"] = json!(a.notes.join("\n"));
    }
    let doc = json!({
        "assessment-results": {
            "uuid": a.uuid,
            "metadata": {
                "title": one_line(&title(a)),
                "last-modified": a.created,
                "version": a.created,
                "oscal-version": OSCAL_VERSION,
            },
            "import-ap": { "href": format!("#{plan}") },
            "results": [result],
            "back-matter": {
                "resources": [{
                    "uuid": plan,
                    "title": "Sluice assessment plan: evidence rules and questionnaire",
                    "description": "The automated checks (crates/assess/rules) and questions (crates/assess/questions) that produced these results.",
                }]
            }
        }
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}

fn one_line(s: &str) -> String {
    let t: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    if t.is_empty() {
        "untitled".into()
    } else {
        t
    }
}

fn nonempty(s: &str) -> String {
    if s.trim().is_empty() {
        "-".into()
    } else {
        s.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(
            esc("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        assert_eq!(one_line(" a\n b "), "a b");
        assert_eq!(md("a|b\nc"), "a\\|b c");
    }
}
