//! The questionnaire (what traffic cannot show): questions as data, the TOML template
//! grouped by role, and the filled-in answers read back with line-numbered errors.
use crate::catalog::Catalog;
use crate::error::{line_of, toml_error, AssessError, LineError};
use crate::model::{CheckResult, Item, Role, Status};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use toml::de::{DeTable, DeValue};

/// The built-in questions.
pub const BUILTIN: &str = include_str!("../questions/questions.toml");

/// Who answers the generic per-control questions.
pub const CONTROL_ROLES: &str = include_str!("../questions/control-roles.toml");

/// How a question is answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// yes | partial | no | n/a | unknown.
    #[default]
    YesNo,
    /// The date of the last occurrence (or never / unknown).
    Date,
}

/// One question.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Unique id (the key in the answers file).
    pub id: String,
    /// Who answers.
    pub role: Role,
    /// The question.
    pub text: String,
    /// Control keys it serves.
    pub controls: Vec<String>,
    /// Answer kind.
    #[serde(default)]
    pub kind: Kind,
    /// For dates: satisfied when at most this old.
    pub max_age_days: Option<u32>,
    /// Risk reduction when fixed, 1-5.
    #[serde(default = "three")]
    pub risk: u8,
    /// Effort, 1-5.
    #[serde(default = "three")]
    pub effort: u8,
    /// Checks to fix first.
    #[serde(default)]
    pub depends: Vec<String>,
    /// What to do when the answer is no.
    #[serde(default)]
    pub remediation: String,
}

fn three() -> u8 {
    3
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct QuestionFile {
    #[serde(default)]
    question: Vec<Question>,
}

/// Parses question text (`origin` names it in errors).
pub fn parse_questions(text: &str, origin: &Path) -> Result<Vec<Question>, AssessError> {
    let f: QuestionFile = toml::from_str(text).map_err(|e| AssessError::Data {
        path: origin.into(),
        errors: vec![toml_error(text, &e)],
    })?;
    let mut errors = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for q in &f.question {
        let line = text
            .lines()
            .position(|l| l.trim_start().starts_with("id") && l.contains(&format!("\"{}\"", q.id)))
            .map(|i| i + 1)
            .unwrap_or(0);
        let mut err = |m: String| {
            errors.push(LineError {
                line,
                message: format!("question {}: {m}", q.id),
            })
        };
        if q.id.is_empty()
            || !q
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        {
            err("id must be letters, digits, _ or -".into());
        }
        if !seen.insert(q.id.clone()) {
            err("duplicate id".into());
        }
        if q.controls.is_empty() || q.controls.iter().any(|c| !c.contains(':')) {
            err("controls must be non-empty keys PREFIX:ID".into());
        }
        if q.kind == Kind::Date && q.max_age_days.is_none() {
            err("a date question needs max_age_days".into());
        }
        if !(1..=5).contains(&q.risk) || !(1..=5).contains(&q.effort) {
            err("risk and effort must be 1-5".into());
        }
    }
    if !errors.is_empty() {
        return Err(AssessError::Data {
            path: origin.into(),
            errors,
        });
    }
    Ok(f.question)
}

/// The built-in questions.
pub fn builtin() -> Result<Vec<Question>, AssessError> {
    parse_questions(BUILTIN, Path::new("builtin:questions/questions.toml"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ControlRoles {
    default: Role,
    #[serde(default)]
    groups: BTreeMap<String, Role>,
}

/// Generic questions, one per assessable control of `frameworks` that no key in `cited`
/// covers: "is this control implemented?", with the control key as id.
pub fn control_questions(
    catalog: &Catalog,
    frameworks: &[String],
    cited: &std::collections::HashSet<String>,
) -> Vec<Question> {
    let roles: ControlRoles = toml::from_str(CONTROL_ROLES).unwrap_or(ControlRoles {
        default: Role::It,
        groups: BTreeMap::new(),
    });
    let mut out = Vec::new();
    for fid in frameworks {
        let Some(fw) = catalog.framework(fid) else {
            continue;
        };
        for c in fw.assessable() {
            if cited.contains(&c.key) {
                continue;
            }
            let group = c.group.as_deref().unwrap_or("");
            let role = roles
                .groups
                .get(&format!("{}:{group}", fw.prefix))
                .or_else(|| roles.groups.get(&fw.prefix))
                .copied()
                .unwrap_or(roles.default);
            let title = c
                .title
                .as_deref()
                .map(|t| format!(" ({})", t.trim_end_matches('.')))
                .unwrap_or_default();
            out.push(Question {
                id: c.key.clone(),
                role,
                text: format!("Is {}{title} implemented across the site?", c.key),
                controls: vec![c.key.clone()],
                kind: Kind::YesNo,
                max_age_days: None,
                risk: 3,
                effort: 3,
                depends: Vec::new(),
                remediation: format!("Implement {}{title}.", c.key),
            });
        }
    }
    out
}

/// An answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// Yes.
    Yes,
    /// Partly.
    Partial,
    /// No.
    No,
    /// Does not apply.
    NotApplicable,
    /// Not known / not answered.
    Unknown,
    /// Never happened (date questions).
    Never,
    /// Days since 1970-01-01 of the last occurrence.
    Date(i64),
}

/// One answer with where it was written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// The value.
    pub value: Value,
    /// Free text (evidence reference).
    pub note: String,
    /// 1-based line of the answer.
    pub line: usize,
}

/// A filled-in questionnaire.
#[derive(Debug, Clone, Default)]
pub struct Answers {
    /// The file.
    pub path: PathBuf,
    /// By question id.
    pub answers: BTreeMap<String, Answer>,
    /// `[meta]` strings (site, answered_by, date).
    pub meta: BTreeMap<String, String>,
}

/// Days since 1970-01-01 of a proleptic Gregorian date.
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses `YYYY-MM-DD` (a time part after it is ignored).
pub fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    let d = s.get(..10)?;
    let mut it = d.split('-');
    let y: i64 = it.next()?.parse().ok()?;
    let m: u32 = it.next()?.parse().ok()?;
    let dd: u32 = it.next()?.parse().ok()?;
    if it.next().is_some()
        || !(1..=12).contains(&m)
        || !(1..=31).contains(&dd)
        || !(1900..=9999).contains(&y)
    {
        return None;
    }
    let days = days_from_civil(y, m, dd);
    // Reject 31 February and the like: the date must round-trip.
    (civil_from_days(days) == (y, m, dd)).then_some(days)
}

/// (year, month, day) of days since 1970-01-01.
pub fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = u32::try_from(doy - (153 * mp + 2) / 5 + 1).unwrap_or(1);
    let m = u32::try_from(if mp < 10 { mp + 3 } else { mp - 9 }).unwrap_or(1);
    let y = yoe + era * 400;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Today in days since 1970-01-01 (UTC).
pub fn today() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs() / 86_400).unwrap_or(0))
        .unwrap_or(0)
}

fn civil(days: i64) -> String {
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02}")
}

fn toml_str(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            c if c.is_control() => o.push_str(&format!("\\u{:04X}", c as u32)),
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn wrap(text: &str, width: usize, prefix: &str) -> String {
    let mut out = String::new();
    let mut line = String::new();
    for w in text.split_whitespace() {
        if !line.is_empty() && line.len() + 1 + w.len() > width {
            out.push_str(prefix);
            out.push_str(&line);
            out.push('\n');
            line.clear();
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(w);
    }
    if !line.is_empty() {
        out.push_str(prefix);
        out.push_str(&line);
        out.push('\n');
    }
    out
}

/// Which questions a questionnaire asks: those serving a control of `frameworks` (all
/// when empty or when no catalogue knows the prefixes).
pub fn select<'q>(
    questions: &'q [Question],
    catalog: &Catalog,
    frameworks: &[String],
) -> Vec<&'q Question> {
    if frameworks.is_empty() {
        return questions.iter().collect();
    }
    questions
        .iter()
        .filter(|q| {
            q.controls.iter().any(|k| {
                let prefix = k.split_once(':').map(|(p, _)| p).unwrap_or("");
                match catalog.framework(prefix) {
                    Some(fw) => frameworks
                        .iter()
                        .any(|f| catalog.framework(f).is_some_and(|x| x.id == fw.id)),
                    None => frameworks.iter().any(|f| f.eq_ignore_ascii_case(prefix)),
                }
            })
        })
        .collect()
}

/// The questionnaire template: TOML grouped by role, every question with its controls
/// (titles from the catalogue where the licence allows) and `answer = "unknown"`.
pub fn template(questions: &[&Question], catalog: &Catalog, site: Option<&str>) -> String {
    let mut s = String::new();
    s.push_str("# Sluice assessment questionnaire: what the network traffic cannot show.\n");
    s.push_str(
        "# Answer each question, keep the file, and pass it to `sluice assess --answers FILE`.\n",
    );
    s.push_str("#   answer = \"yes\" | \"partial\" | \"no\" | \"n/a\" | \"unknown\"\n");
    s.push_str(
        "#   date questions: answer = \"YYYY-MM-DD\" (the last time), \"never\" or \"unknown\"\n",
    );
    s.push_str("#   note = where the evidence is (document, ticket, who confirmed it)\n");
    s.push_str("# Each answer serves the controls listed above it; \"unknown\" leaves them not assessed.\n\n");
    s.push_str("[meta]\n");
    s.push_str(&format!("site = {}\n", toml_str(site.unwrap_or(""))));
    s.push_str("answered_by = \"\"\n");
    s.push_str("date = \"\"\n");
    for role in Role::ALL {
        let qs: Vec<&&Question> = questions.iter().filter(|q| q.role == role).collect();
        if qs.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "\n# {}\n# {}\n# {}\n",
            "=".repeat(78),
            role.title(),
            "=".repeat(78)
        ));
        for q in qs {
            let bare =
                q.id.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            let key = if bare { q.id.clone() } else { toml_str(&q.id) };
            s.push_str(&format!("\n[{}.{key}]\n", role.as_str()));
            s.push_str(&wrap(&q.text, 86, "# "));
            s.push_str("# Serves:\n");
            for k in &q.controls {
                let title = catalog
                    .resolve(k)
                    .and_then(|(_, c)| c.title.clone())
                    .map(|t| {
                        let t: String = t.chars().take(90).collect();
                        format!(" ({t})")
                    })
                    .unwrap_or_default();
                s.push_str(&format!("#   {k}{title}\n"));
            }
            match q.kind {
                Kind::YesNo => s.push_str("answer = \"unknown\"  # yes | partial | no | n/a | unknown\n"),
                Kind::Date => s.push_str(&format!(
                    "answer = \"unknown\"  # YYYY-MM-DD | never | unknown (satisfied when within {} days)\n",
                    q.max_age_days.unwrap_or(365)
                )),
            }
            s.push_str("note = \"\"\n");
        }
    }
    s
}

fn value_str<'a>(v: &'a DeValue<'a>) -> Option<&'a str> {
    match v {
        DeValue::String(s) => Some(s.as_ref()),
        _ => None,
    }
}

/// Reads a filled-in questionnaire; every problem is reported with its line.
pub fn parse_answers(
    text: &str,
    path: &Path,
    questions: &[Question],
) -> Result<Answers, AssessError> {
    let doc = DeTable::parse(text).map_err(|e| AssessError::Data {
        path: path.into(),
        errors: vec![toml_error(text, &e)],
    })?;
    let by_id: BTreeMap<&str, &Question> = questions.iter().map(|q| (q.id.as_str(), q)).collect();
    let mut out = Answers {
        path: path.into(),
        ..Answers::default()
    };
    let mut errors: Vec<LineError> = Vec::new();
    let line = |span: std::ops::Range<usize>| line_of(text, span.start);
    let today = today();
    for (k, v) in doc.get_ref().iter() {
        let key = k.get_ref().as_ref();
        let kl = line(k.span());
        let DeValue::Table(t) = v.get_ref() else {
            errors.push(LineError {
                line: kl,
                message: format!(
                    "`{key}` must be a table ([meta], [ciso.ID], [ot_engineer.ID], [it.ID])"
                ),
            });
            continue;
        };
        if key == "meta" {
            for (mk, mv) in t.iter() {
                match value_str(mv.get_ref()) {
                    Some(s) => {
                        out.meta.insert(mk.get_ref().to_string(), s.to_string());
                    }
                    None => errors.push(LineError {
                        line: line(mk.span()),
                        message: format!("meta.{} must be a string", mk.get_ref()),
                    }),
                }
            }
            continue;
        }
        let Some(role) = Role::from_name(key) else {
            errors.push(LineError {
                line: kl,
                message: format!(
                    "unknown section [{key}] (expected meta, ciso, ot_engineer or it)"
                ),
            });
            continue;
        };
        for (qk, qv) in t.iter() {
            let id = qk.get_ref().as_ref();
            let ql = line(qk.span());
            let Some(q) = by_id.get(id) else {
                errors.push(LineError {
                    line: ql,
                    message: format!("unknown question {key}.{id}"),
                });
                continue;
            };
            if q.role != role {
                errors.push(LineError {
                    line: ql,
                    message: format!(
                        "question {id} belongs in [{}.{id}], not [{key}.{id}]",
                        q.role.as_str()
                    ),
                });
                continue;
            }
            let DeValue::Table(entry) = qv.get_ref() else {
                errors.push(LineError {
                    line: ql,
                    message: format!("{key}.{id} must be a table with answer and note"),
                });
                continue;
            };
            let mut answer: Option<Answer> = None;
            let mut note = String::new();
            for (ek, ev) in entry.iter() {
                let el = line(ek.span());
                let vl = line(ev.span());
                match ek.get_ref().as_ref() {
                    "answer" => {
                        let raw = match ev.get_ref() {
                            DeValue::String(s) => Some(s.to_string()),
                            DeValue::Datetime(d) => Some(d.to_string()),
                            DeValue::Boolean(b) => Some(if *b { "yes" } else { "no" }.to_string()),
                            _ => None,
                        };
                        let Some(raw) = raw else {
                            errors.push(LineError {
                                line: vl,
                                message: format!("{key}.{id}.answer must be a string"),
                            });
                            continue;
                        };
                        match interpret(q, &raw, today) {
                            Ok(value) => {
                                answer = Some(Answer {
                                    value,
                                    note: String::new(),
                                    line: vl,
                                })
                            }
                            Err(m) => errors.push(LineError {
                                line: vl,
                                message: format!("{key}.{id}.answer: {m}"),
                            }),
                        }
                    }
                    "note" => match value_str(ev.get_ref()) {
                        Some(s) => note = s.to_string(),
                        None => errors.push(LineError {
                            line: vl,
                            message: format!("{key}.{id}.note must be a string"),
                        }),
                    },
                    other => errors.push(LineError {
                        line: el,
                        message: format!(
                            "{key}.{id}: unknown key {other:?} (expected answer, note)"
                        ),
                    }),
                }
            }
            match answer {
                Some(mut a) => {
                    a.note = note;
                    out.answers.insert(id.to_string(), a);
                }
                None if !errors.iter().any(|e| e.line >= ql) => {
                    errors.push(LineError {
                        line: ql,
                        message: format!("{key}.{id} has no answer"),
                    });
                }
                None => {}
            }
        }
    }
    if !errors.is_empty() {
        errors.sort_by_key(|e| e.line);
        return Err(AssessError::Data {
            path: path.into(),
            errors,
        });
    }
    Ok(out)
}

fn interpret(q: &Question, raw: &str, today: i64) -> Result<Value, String> {
    let s = raw.trim().to_ascii_lowercase();
    let common = match s.as_str() {
        "unknown" | "" | "?" => Some(Value::Unknown),
        "n/a" | "na" | "not applicable" => Some(Value::NotApplicable),
        _ => None,
    };
    if let Some(v) = common {
        return Ok(v);
    }
    match q.kind {
        Kind::YesNo => match s.as_str() {
            "yes" | "y" | "true" => Ok(Value::Yes),
            "partial" | "partly" => Ok(Value::Partial),
            "no" | "n" | "false" => Ok(Value::No),
            _ => Err(format!(
                "{raw:?} is not one of yes, partial, no, n/a, unknown"
            )),
        },
        Kind::Date => {
            if s == "never" {
                return Ok(Value::Never);
            }
            let d = parse_date(&s)
                .ok_or_else(|| format!("{raw:?} is not a date YYYY-MM-DD, never or unknown"))?;
            if d > today + 1 {
                return Err(format!("{raw:?} is in the future"));
            }
            Ok(Value::Date(d))
        }
    }
}

impl Answers {
    /// Reads and validates an answers file.
    pub fn load(path: &Path, questions: &[Question]) -> Result<Answers, AssessError> {
        let text = std::fs::read_to_string(path).map_err(|e| AssessError::io(path, e))?;
        parse_answers(&text, path, questions)
    }
}

/// The result of one question (answered or not).
pub fn evaluate(q: &Question, a: Option<&Answer>, today: i64) -> CheckResult {
    let (status, summary, item) = match a.map(|a| &a.value) {
        None | Some(Value::Unknown) => (
            Status::NotAssessed,
            "not assessed: no answer".to_string(),
            None,
        ),
        Some(Value::Yes) => (
            Status::Satisfied,
            "answered yes".into(),
            Some("yes".to_string()),
        ),
        Some(Value::Partial) => (
            Status::Partial,
            "answered partial".into(),
            Some("partial".to_string()),
        ),
        Some(Value::No) => (
            Status::NotSatisfied,
            "answered no".into(),
            Some("no".to_string()),
        ),
        Some(Value::NotApplicable) => (
            Status::NotApplicable,
            "answered not applicable".into(),
            Some("n/a".to_string()),
        ),
        Some(Value::Never) => (
            Status::NotSatisfied,
            "answered never".into(),
            Some("never".to_string()),
        ),
        Some(Value::Date(d)) => {
            let age = today - d;
            let max = i64::from(q.max_age_days.unwrap_or(365));
            let st = if age <= max {
                Status::Satisfied
            } else if age <= 2 * max {
                Status::Partial
            } else {
                Status::NotSatisfied
            };
            (
                st,
                format!(
                    "last on {} ({age} days ago; at most {max} expected)",
                    civil(*d)
                ),
                Some(civil(*d)),
            )
        }
    };
    let items = match (a, item) {
        (Some(a), Some(v)) => vec![Item {
            kind: "answer".into(),
            id: Some(q.id.clone()),
            count: 1,
            detail: if a.note.is_empty() {
                format!("{}: {v}", q.id)
            } else {
                format!("{}: {v} ({})", q.id, a.note)
            },
            ..Item::default()
        }],
        _ => Vec::new(),
    };
    CheckResult {
        id: q.id.clone(),
        source: "answer".into(),
        title: q.text.clone(),
        status,
        summary: if status.assessed() || status == Status::NotApplicable {
            format!("{status}: {summary}")
        } else {
            summary
        },
        controls: q.controls.clone(),
        count: u64::from(status == Status::NotSatisfied || status == Status::Partial),
        items,
        alert_ids: Vec::new(),
        zones: BTreeMap::new(),
        risk: q.risk,
        effort: q.effort,
        role: Some(q.role),
        remediation: q.remediation.clone(),
        depends: q.depends.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(parse_date("2021-02-05"), Some(days_from_civil(2021, 2, 5)));
        assert_eq!(parse_date("2021-02-30"), None);
        assert_eq!(parse_date("2020-02-29"), Some(days_from_civil(2020, 2, 29)));
        assert_eq!(
            parse_date("2020-12-31"),
            Some(days_from_civil(2020, 12, 31))
        );
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(civil(days_from_civil(2024, 3, 9)), "2024-03-09");
    }

    #[test]
    fn builtin_questions_parse() {
        let q = builtin().unwrap();
        assert!(q.len() >= 15);
        for r in Role::ALL {
            assert!(q.iter().any(|x| x.role == r));
        }
    }

    #[test]
    fn template_round_trip_and_errors() {
        let qs = builtin().unwrap();
        let sel: Vec<&Question> = qs.iter().collect();
        let t = template(&sel, &Catalog::new(), Some("Plant \"A\""));
        let a = parse_answers(&t, Path::new("a.toml"), &qs).unwrap();
        assert_eq!(a.answers.len(), qs.len());
        assert!(a.answers.values().all(|x| x.value == Value::Unknown));
        assert_eq!(a.meta.get("site").map(String::as_str), Some("Plant \"A\""));
        // One bad answer: reported at its line.
        let bad = t.replacen("[ciso.ir_plan]", "[ciso.ir_plan]\nanswer_x = 1", 1);
        let e = parse_answers(&bad, Path::new("a.toml"), &qs)
            .unwrap_err()
            .to_string();
        let want = bad.lines().position(|l| l.starts_with("answer_x")).unwrap() + 1;
        assert!(e.contains(&format!("a.toml:{want}:")), "{e}");
    }
}
