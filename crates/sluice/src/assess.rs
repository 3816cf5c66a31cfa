//! `sluice assess`: evidence-based IEC 62443 / NIST CSF 2.0 / CIS assessment with gaps and
//! a roadmap; `--questionnaire` writes the answers template; `assess diff` / `assess list`
//! compare and list the assessments kept in the store.
use anyhow::{Context, Result};
use sluice_assess::{
    answers, catalog, render, resolve_frameworks, rules::Rules, store as astore, Answers,
    Assessment, Catalog, Options, Settings,
};
use sluice_policy::{Policy, PolicyError, Severity};
use sluice_store::Store;
use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Report formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AssessFormat {
    Html,
    Json,
    Oscal,
    Md,
}

#[derive(clap::Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct AssessArgs {
    #[command(subcommand)]
    pub cmd: Option<AssessCmd>,
    /// Frameworks: iec62443, csf, cis, sp800-53, a user framework's id, or all
    /// (comma-separated or repeated).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    pub framework: Vec<String>,
    /// The store to assess (written by `sluice analyze`).
    #[arg(long, default_value = "sluice.db")]
    pub db: PathBuf,
    /// The site policy (zones with security-level targets, conduits, envelopes).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The filled-in questionnaire (see --questionnaire).
    #[arg(long, value_name = "FILE")]
    pub answers: Option<PathBuf>,
    /// Report format.
    #[arg(long, value_enum, default_value = "md")]
    pub format: AssessFormat,
    /// Write the report (or the questionnaire) here instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Write the questionnaire template (TOML, grouped by role) instead of assessing.
    #[arg(long)]
    pub questionnaire: bool,
    /// With --questionnaire: also ask, for every control of the frameworks that no check
    /// or question covers, whether it is implemented.
    #[arg(long, requires = "questionnaire")]
    pub all_controls: bool,
    /// Framework catalogues (default: $SLUICE_DATA/frameworks or ../shared/data/frameworks).
    #[arg(long, value_name = "DIR")]
    pub frameworks: Option<PathBuf>,
    /// Extra evidence rules: a folder of *.toml (a rule with a built-in id replaces it).
    /// Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Extra questions: a TOML file of [[question]] (an id of a built-in replaces it).
    #[arg(long, value_name = "FILE")]
    pub questions: Option<PathBuf>,
    /// Scoring weights and thresholds (TOML; default: built-in).
    #[arg(long, value_name = "FILE")]
    pub scoring: Option<PathBuf>,
    /// CIS implementation-group membership (CSV id,ig), for IG1/IG2/IG3 coverage.
    #[arg(long, value_name = "FILE")]
    pub cis_ig: Option<PathBuf>,
    /// Do not keep the assessment in the store.
    #[arg(long)]
    pub no_save: bool,
}

#[derive(clap::Subcommand, Debug)]
pub enum AssessCmd {
    /// Compare two assessments: JSON files (from --format json) or ids / UUIDs in the store.
    Diff {
        /// The older assessment.
        a: String,
        /// The newer assessment.
        b: String,
        /// The store holding stored assessments.
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
        /// Output as JSON.
        #[arg(long)]
        json: bool,
    },
    /// List the assessments kept in the store, newest first.
    List {
        /// The store.
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
        /// Output as JSON lines.
        #[arg(long)]
        json: bool,
    },
}

fn write_out(path: Option<&Path>, text: &str) -> Result<()> {
    match path {
        Some(p) => {
            std::fs::write(p, text).with_context(|| format!("{}: cannot write", p.display()))
        }
        None => {
            let mut o = std::io::stdout().lock();
            match o.write_all(text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
                _ => Ok(()),
            }
        }
    }
}

fn load_policy(path: &Path) -> Result<Policy> {
    Policy::load(path).map_err(|e| match e {
        PolicyError::Invalid { diagnostics } => {
            let lines: Vec<String> = diagnostics
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .map(|d| d.to_string())
                .collect();
            anyhow::anyhow!("{}", lines.join("\n"))
        }
        other => anyhow::Error::new(other),
    })
}

fn load_catalog(a: &AssessArgs, required: bool) -> Result<Catalog> {
    let dir = a.frameworks.clone().or_else(catalog::default_dir);
    let mut cat = match dir {
        Some(d) => Catalog::load_dir(&d)?,
        None if required => anyhow::bail!(
            "no framework catalogue: pass --frameworks DIR or set SLUICE_DATA (a folder laid out like ../shared/data/frameworks)"
        ),
        None => Catalog::new(),
    };
    if let Some(ig) = &a.cis_ig {
        cat.load_cis_ig(ig)?;
    }
    Ok(cat)
}

fn load_questions(a: &AssessArgs) -> Result<Vec<answers::Question>> {
    let mut qs = answers::builtin()?;
    if let Some(p) = &a.questions {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
        for q in answers::parse_questions(&text, p)? {
            match qs.iter_mut().find(|x| x.id == q.id) {
                Some(x) => *x = q,
                None => qs.push(q),
            }
        }
    }
    Ok(qs)
}

fn all_ids(cat: &Catalog) -> Vec<String> {
    cat.frameworks.iter().map(|f| f.id.clone()).collect()
}

/// Control keys (canonical) that built-in or user rules and questions cite.
fn cited(cat: &Catalog, questions: &[answers::Question]) -> std::collections::HashSet<String> {
    let mut keys = std::collections::HashSet::new();
    let rules = Rules::builtin().map(|r| r.rules).unwrap_or_default();
    for k in rules
        .iter()
        .flat_map(|r| r.controls.iter())
        .chain(questions.iter().flat_map(|q| q.controls.iter()))
    {
        keys.insert(cat.canonical(k).unwrap_or_else(|| k.clone()));
    }
    keys
}

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

fn read_assessment(spec: &str, db: &Path) -> Result<Assessment> {
    let p = Path::new(spec);
    if p.is_file() {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
        return serde_json::from_str(&text).with_context(|| {
            format!(
                "{}: not an assessment JSON (sluice assess --format json)",
                p.display()
            )
        });
    }
    if !db.exists() {
        anyhow::bail!(
            "{spec}: no such file, and no store {} to look it up in",
            db.display()
        );
    }
    let store = Store::open(db)?;
    astore::load(store.conn(), spec)?.with_context(|| {
        format!(
            "{spec}: no such file nor stored assessment in {}",
            db.display()
        )
    })
}

pub fn run(a: AssessArgs) -> Result<ExitCode> {
    match &a.cmd {
        Some(AssessCmd::Diff {
            a: x,
            b: y,
            db,
            json,
        }) => {
            let (older, newer) = (read_assessment(x, db)?, read_assessment(y, db)?);
            let d = astore::diff(&older, &newer);
            let text = if *json {
                serde_json::to_string_pretty(&d)? + "\n"
            } else {
                astore::diff_text(&d)
            };
            write_out(None, &text)?;
            return Ok(ExitCode::SUCCESS);
        }
        Some(AssessCmd::List { db, json }) => {
            if !db.exists() {
                anyhow::bail!("{}: no such store", db.display());
            }
            let store = Store::open(db)?;
            let mut text = String::new();
            for s in astore::list(store.conn(), None)? {
                if *json {
                    text.push_str(&serde_json::to_string(&s)?);
                    text.push('\n');
                } else {
                    text.push_str(&format!(
                        "{:>4}  {}  {}  {:<28} assessed {:>4}  satisfied {:>4}  partial {:>3}  not satisfied {:>4}\n",
                        s.id, s.created, s.uuid, s.frameworks, s.assessed, s.satisfied, s.partial, s.not_satisfied
                    ));
                }
            }
            write_out(None, &text)?;
            return Ok(ExitCode::SUCCESS);
        }
        None => {}
    }
    let questions = load_questions(&a)?;
    if a.questionnaire {
        let cat = load_catalog(&a, false)?;
        let fws: Vec<String> = if a.framework.iter().any(|f| f.eq_ignore_ascii_case("all"))
            || cat.frameworks.is_empty()
        {
            Vec::new()
        } else {
            resolve_frameworks(&cat, &a.framework)?
        };
        let site = match &a.config {
            Some(p) => load_policy(p)?.site_name().map(str::to_string),
            None => None,
        };
        let generic = if a.all_controls {
            let chosen = if fws.is_empty() {
                all_ids(&cat)
            } else {
                fws.clone()
            };
            answers::control_questions(&cat, &chosen, &cited(&cat, &questions))
        } else {
            Vec::new()
        };
        let mut sel = answers::select(&questions, &cat, &fws);
        sel.extend(generic.iter());
        write_out(
            a.output.as_deref(),
            &answers::template(&sel, &cat, site.as_deref()),
        )?;
        if let Some(p) = &a.output {
            eprintln!(
                "sluice: questionnaire with {} questions written to {}",
                sel.len(),
                p.display()
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let cat = load_catalog(&a, true)?;
    let fws = resolve_frameworks(&cat, &a.framework)?;
    let mut rules = Rules::builtin()?;
    for d in &a.rules {
        rules.add_dir(d)?;
    }
    let settings = match &a.scoring {
        Some(p) => {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("{}: cannot read", p.display()))?;
            Settings::parse(&text, p)?
        }
        None => Settings::builtin()?,
    };
    let policy = a.config.as_deref().map(load_policy).transpose()?;
    // Answers may include the generic per-control questions (--all-controls) of any
    // loaded framework; those answered join the assessment.
    let mut questions = questions;
    let answers = match a.answers.as_deref() {
        Some(p) => {
            let generic =
                answers::control_questions(&cat, &all_ids(&cat), &cited(&cat, &questions));
            let mut all = questions.clone();
            all.extend(generic.iter().cloned());
            let ans = Answers::load(p, &all)?;
            questions.extend(
                generic
                    .into_iter()
                    .filter(|q| ans.answers.contains_key(&q.id)),
            );
            Some(ans)
        }
        None => None,
    };
    if !a.db.exists() {
        anyhow::bail!(
            "{}: no such store (run `sluice analyze CAPTURE --db {}` first)",
            a.db.display(),
            a.db.display()
        );
    }
    let store = Store::open(&a.db)?;
    let mut inputs = BTreeMap::new();
    inputs.insert("store".to_string(), a.db.display().to_string());
    if let Some(p) = &a.config {
        inputs.insert("policy".into(), p.display().to_string());
    }
    if let Some(p) = &a.answers {
        inputs.insert("answers".into(), p.display().to_string());
    }
    inputs.insert("catalogue".into(), cat.files.join(", "));
    let opts = Options {
        catalog: &cat,
        frameworks: fws,
        rules: &rules,
        questions: &questions,
        answers: answers.as_ref(),
        policy: policy.as_ref(),
        settings: &settings,
        inputs,
        now_ns: now_ns(),
    };
    let mut result = sluice_assess::assess(store.conn(), &opts)?;
    if !a.no_save {
        let id = astore::save(store.conn(), &mut result)?;
        eprintln!(
            "sluice: assessment {id} ({}) kept in {}",
            result.uuid,
            a.db.display()
        );
    }
    let text = match a.format {
        AssessFormat::Html => render::html(&result),
        AssessFormat::Json => render::json(&result),
        AssessFormat::Oscal => render::oscal(&result),
        AssessFormat::Md => render::markdown(&result),
    };
    write_out(a.output.as_deref(), &text)?;
    let gaps = result.gaps.len();
    let failing: usize = result.roadmap.iter().map(|p| p.items.len()).sum();
    eprintln!(
        "sluice: {} controls assessed, {} gaps, {} roadmap steps",
        result
            .controls
            .iter()
            .filter(|c| c.status.assessed())
            .count(),
        gaps,
        failing
    );
    Ok(ExitCode::SUCCESS)
}
