//! Detection wiring: the options `analyze` and `sense` share (`--rules`, `--learn`,
//! `--fail-on`, `--attack`, `--syslog`, `--eve`), the writer-thread hook that runs the
//! detector and the SIEM outputs, and the commands `alerts`, `policy` and `baseline`.
use crate::table::render;
use crate::Format;
use anyhow::{Context, Result};
use serde_json::Value;
use sluice_detect::{store as dstore, Attack, Detector, DetectorConfig, RuleSet};
use sluice_engine::event::Event;
use sluice_policy::{Observed, Policy, PolicyError, Severity};
use sluice_siem::{Outputs, SyslogConfig, SyslogSender, SyslogStats};
use sluice_store::Store;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Detection options of `analyze` and `sense`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct DetectArgs {
    /// Extra rule files: a directory of `*.toml` rule files (same format as the built-in
    /// ones; a rule with a built-in id replaces it). Repeatable.
    #[arg(long = "rules", value_name = "DIR")]
    pub rules: Vec<PathBuf>,
    /// Learn a baseline from this input and save it in the store (replacing the current one).
    #[arg(long)]
    pub learn: bool,
    /// Exit with 1 when an alert of at least this severity is raised: 1-100 or
    /// info (1), low (20), medium (40), high (70), critical (90).
    #[arg(long, value_name = "SEVERITY")]
    pub fail_on: Option<String>,
    /// ATT&CK for ICS data (default: $SLUICE_DATA/attack or ../shared/data/attack).
    #[arg(long, value_name = "DIR")]
    pub attack: Option<PathBuf>,
    /// Send alerts as CEF over syslog: udp://HOST:PORT or tcp://HOST:PORT.
    #[arg(long, value_name = "URL")]
    pub syslog: Option<String>,
    /// Write alerts as Suricata EVE JSON lines to this file.
    #[arg(long, value_name = "FILE")]
    pub eve: Option<PathBuf>,
    /// Run no detection at all (events, flows and assets only).
    #[arg(long)]
    pub no_detect: bool,
}

/// A severity threshold from its number or name.
pub fn parse_severity(s: &str) -> Result<u8> {
    let v = match s.trim().to_ascii_lowercase().as_str() {
        "info" => 1,
        "low" => 20,
        "medium" => 40,
        "high" => 70,
        "critical" => 90,
        n => n
            .parse::<u8>()
            .ok()
            .filter(|v| (1..=100).contains(v))
            .with_context(|| {
                format!("--fail-on {s:?}: expected 1-100 or info, low, medium, high, critical")
            })?,
    };
    Ok(v)
}

/// Detection running on the writer thread.
pub struct Detection {
    detector: Arc<Mutex<Detector>>,
    siem: Arc<Mutex<SiemState>>,
    fail_on: Option<u8>,
    learn: bool,
}

#[derive(Default)]
struct SiemState {
    error: Option<String>,
    syslog: Option<SyslogStats>,
}

/// What detection reports at the end of a run.
pub struct Summary {
    pub alerts: u64,
    pub max_severity: u8,
    pub by_rule: Vec<(String, u64)>,
    /// Detection state tables emptied at their cap (`--memcap-mib`).
    pub state_resets: u64,
    pub baseline_saved: Option<(i64, usize)>,
    pub syslog: Option<SyslogStats>,
    pub failed: bool,
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

/// Sets detection up, or `None` with `--no-detect`. `store` (when there is one) gives
/// the baseline to compare against.
pub fn setup(
    config: Option<&Path>,
    args: &DetectArgs,
    store: Option<&Store>,
    live: bool,
    max_state: usize,
) -> Result<Option<Detection>> {
    if args.no_detect {
        if args.learn {
            anyhow::bail!("--learn needs detection: drop --no-detect");
        }
        return Ok(None);
    }
    let fail_on = args.fail_on.as_deref().map(parse_severity).transpose()?;
    if args.learn && store.is_none() {
        anyhow::bail!("--learn saves the baseline in the store: it cannot be used with --no-db");
    }
    let mut rules = RuleSet::builtin()?;
    for dir in &args.rules {
        rules.add_dir(dir)?;
    }
    let mut cfg = DetectorConfig::new(rules);
    cfg.live = live;
    cfg.learn = args.learn;
    cfg.max_state = max_state;
    if let Some(p) = config {
        cfg.policy = Some(Arc::new(load_policy(p)?));
    }
    cfg.attack = Arc::new(match &args.attack {
        Some(dir) => Attack::load_dir(dir)?,
        None => match Attack::default_dir() {
            Some(dir) => Attack::load_dir(&dir).unwrap_or_else(|e| {
                tracing::warn!("ATT&CK data not loaded ({e}): alerts carry technique ids only");
                Attack::empty()
            }),
            None => Attack::empty(),
        },
    });
    if !args.learn {
        if let Some(s) = store {
            cfg.baseline = dstore::baselines(s.conn(), 1)?
                .into_iter()
                .next()
                .map(|b| b.baseline);
        }
    }
    if let Some(s) = store {
        dstore::ensure_schema(s.conn())?;
    }
    Ok(Some(Detection {
        detector: Arc::new(Mutex::new(Detector::new(cfg))),
        siem: Arc::new(Mutex::new(SiemState::default())),
        fail_on,
        learn: args.learn,
    }))
}

impl Detection {
    /// The hook for [`crate::pipeline::Sinks::hook`]: runs the detector over each batch,
    /// appends its alerts, and hands them to the SIEM outputs.
    pub fn hook(&self, args: &DetectArgs, live: bool) -> Result<crate::pipeline::Hook> {
        let mut outputs = Outputs::default();
        if let Some(url) = &args.syslog {
            outputs.syslog = Some(SyslogSender::start(SyslogConfig::from_url(url)?)?);
        }
        if let Some(p) = &args.eve {
            outputs.open_eve(p)?;
        }
        let mut outputs = (!outputs.is_empty()).then_some(outputs);
        let det = Arc::clone(&self.detector);
        let siem = Arc::clone(&self.siem);
        let mut alerts: Vec<Event> = Vec::new();
        Ok(Box::new(move |batch: &mut Vec<Event>, last: bool| {
            alerts.clear();
            if let Ok(mut d) = det.lock() {
                for e in batch.iter() {
                    d.observe(e, &mut alerts);
                }
                if last {
                    d.finish(&mut alerts);
                }
            }
            if let Some(o) = outputs.as_mut() {
                let mut r = o.alerts(&alerts);
                if live && r.is_ok() {
                    r = o.flush();
                }
                if let Err(e) = r {
                    if let Ok(mut s) = siem.lock() {
                        s.error.get_or_insert(e.to_string());
                    }
                }
            }
            if last {
                if let Some(o) = outputs.take() {
                    let r = o.close(Duration::from_secs(5));
                    if let Ok(mut s) = siem.lock() {
                        match r {
                            Ok(st) => s.syslog = st,
                            Err(e) => {
                                s.error.get_or_insert(e.to_string());
                            }
                        }
                    }
                }
            }
            batch.append(&mut alerts);
        }))
    }

    /// After the pipeline finished: saves a learned baseline, reports.
    pub fn finish(&self, store: Option<&mut Store>, source: &str) -> Result<Summary> {
        let d = self
            .detector
            .lock()
            .map_err(|_| anyhow::anyhow!("the detector failed"))?;
        let st = d.stats();
        let mut baseline_saved = None;
        if self.learn {
            if let (Some(b), Some(s)) = (d.learned(), store) {
                let id = dstore::save_baseline(s.conn(), &b, crate::analyze::now_ns(), source)?;
                baseline_saved = Some((id, b.pairs.len()));
            }
        }
        let siem = self
            .siem
            .lock()
            .map_err(|_| anyhow::anyhow!("the SIEM output failed"))?;
        if let Some(e) = &siem.error {
            anyhow::bail!("SIEM output: {e}");
        }
        let mut by_rule: Vec<(String, u64)> =
            st.by_rule.iter().map(|(k, v)| (k.clone(), *v)).collect();
        by_rule.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        Ok(Summary {
            alerts: st.alerts,
            max_severity: st.max_severity,
            by_rule,
            state_resets: st.state_resets,
            baseline_saved,
            syslog: siem.syslog,
            failed: self
                .fail_on
                .is_some_and(|f| st.alerts > 0 && st.max_severity >= f),
        })
    }
}

impl Summary {
    /// Two lines for the run summary on standard error.
    pub fn print(&self) {
        let top: Vec<String> = self
            .by_rule
            .iter()
            .take(8)
            .map(|(r, n)| format!("{r} {n}"))
            .collect();
        eprintln!(
            "  alerts {}{}{}",
            self.alerts,
            if self.alerts > 0 {
                format!(" (max severity {})", self.max_severity)
            } else {
                String::new()
            },
            if top.is_empty() {
                String::new()
            } else {
                format!(": {}", top.join(", "))
            }
        );
        if self.state_resets > 0 {
            eprintln!(
                "  detection state tables reset at their cap {} times (raise --memcap-mib)",
                self.state_resets
            );
        }
        if let Some((id, pairs)) = self.baseline_saved {
            eprintln!("  baseline version {id} saved ({pairs} talker pairs)");
        }
        if let Some(s) = self.syslog {
            eprintln!(
                "  syslog: sent {}, dropped {}, reconnects {}, errors {}",
                s.sent, s.dropped, s.reconnects, s.errors
            );
        }
    }
}

// -------------------------------------------------------------------------------------
// sluice alerts
// -------------------------------------------------------------------------------------

#[derive(clap::Args)]
pub struct AlertsArgs {
    /// The store to read.
    #[arg(long, default_value = "sluice.db")]
    pub db: PathBuf,
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
    /// Only alerts of at least this severity (1-100 or info/low/medium/high/critical).
    #[arg(long)]
    pub min_severity: Option<String>,
    /// At most this many.
    #[arg(long)]
    pub limit: Option<u64>,
}

fn open_store(db: &Path) -> Result<Store> {
    if !db.exists() {
        anyhow::bail!(
            "{}: no such store (run `sluice analyze CAPTURE --db {}` first)",
            db.display(),
            db.display()
        );
    }
    Ok(Store::open(db)?)
}

fn print(s: &str) -> Result<ExitCode> {
    let mut o = std::io::stdout().lock();
    if let Err(e) = o.write_all(s.as_bytes()) {
        if e.kind() != std::io::ErrorKind::BrokenPipe {
            return Err(e.into());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn get<'a>(v: &'a Value, path: &str) -> &'a Value {
    path.split('.')
        .fold(v, |v, k| v.get(k).unwrap_or(&Value::Null))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

pub fn alerts(a: AlertsArgs) -> Result<ExitCode> {
    let store = open_store(&a.db)?;
    let min = a.min_severity.as_deref().map(parse_severity).transpose()?;
    let rows = dstore::alerts(store.conn(), min.unwrap_or(0), a.limit)?;
    if a.format == Format::Json {
        let mut s = String::new();
        for r in &rows {
            let mut j = r.json.clone();
            if let Some(o) = j.get_mut("sluice").and_then(Value::as_object_mut) {
                o.insert("acknowledged".into(), Value::Bool(r.acknowledged));
                if let Some(x) = &r.assignee {
                    o.insert("assignee".into(), Value::String(x.clone()));
                }
            }
            s.push_str(&j.to_string());
            s.push('\n');
        }
        return print(&s);
    }
    let table: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            let j = &r.json;
            let ep = |side: &str| {
                let ip = text(get(j, &format!("{side}.ip")));
                if ip.is_empty() {
                    "-".to_string()
                } else {
                    ip
                }
            };
            let mut expl = text(get(j, "sluice.explanation"));
            if expl.chars().count() > 100 {
                expl = expl.chars().take(97).collect::<String>() + "...";
            }
            let chain = text(get(j, "sluice.chain_id"));
            vec![
                text(get(j, "@timestamp")),
                text(get(j, "event.severity")),
                text(get(j, "rule.id")),
                text(get(j, "threat.technique.id")),
                format!("{} -> {}", ep("source"), ep("destination")),
                text(get(j, "event.count")),
                chain.chars().take(9).collect(),
                expl,
            ]
        })
        .collect();
    print(&render(
        &[
            "TIME",
            "SEV",
            "RULE",
            "ATT&CK",
            "SOURCE -> DESTINATION",
            "COUNT",
            "CHAIN",
            "EXPLANATION",
        ],
        &table,
    ))
}

// -------------------------------------------------------------------------------------
// sluice policy
// -------------------------------------------------------------------------------------

#[derive(clap::Args)]
pub struct PolicyArgs {
    #[command(subcommand)]
    pub command: PolicyCommand,
}

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Validate a policy file: every problem as file:line:column: severity: message.
    Check {
        /// The policy file.
        #[arg(long)]
        config: PathBuf,
    },
    /// Propose zones and conduits from the traffic in the store, as a policy file to edit.
    Suggest {
        /// The store to read.
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
        /// Write the policy here instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
}

pub fn policy(a: PolicyArgs) -> Result<ExitCode> {
    match a.command {
        PolicyCommand::Check { config } => {
            let p = match Policy::parse_file(&config) {
                Ok(p) => p,
                Err(e) => {
                    match e.location() {
                        Some(_) => eprintln!("{e}"),
                        None => eprintln!("sluice: error: {e}"),
                    }
                    if let PolicyError::Syntax { .. } = e {
                        // Already printed with its location.
                    }
                    return Ok(ExitCode::from(2));
                }
            };
            let diags = p.check();
            let errors = diags
                .iter()
                .filter(|d| d.severity == Severity::Error)
                .count();
            let warnings = diags.len() - errors;
            let mut o = std::io::stdout().lock();
            for d in &diags {
                let _ = writeln!(o, "{d}");
            }
            eprintln!(
                "{}: {} zones, {} conduits, {} envelopes: {} error{}, {} warning{}",
                config.display(),
                p.zones().len(),
                p.conduits().len(),
                p.envelopes().len(),
                errors,
                if errors == 1 { "" } else { "s" },
                warnings,
                if warnings == 1 { "" } else { "s" }
            );
            Ok(if errors > 0 {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            })
        }
        PolicyCommand::Suggest { db, output } => {
            let store = open_store(&db)?;
            let obs = dstore::observations(store.conn())?;
            if obs.is_empty() {
                anyhow::bail!(
                    "{}: no traffic in the store to suggest zones from",
                    db.display()
                );
            }
            let observed: Vec<Observed<'_>> = obs
                .iter()
                .map(|o| Observed {
                    client: o.client,
                    server: o.server,
                    protocol: o.protocol,
                    is_write: o.is_write,
                })
                .collect();
            let text = Policy::suggest(&observed);
            match output {
                Some(p) => {
                    std::fs::write(&p, &text)
                        .with_context(|| format!("{}: cannot write", p.display()))?;
                    eprintln!(
                        "sluice: suggested policy written to {} ({} conversations)",
                        p.display(),
                        obs.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                None => print(&text),
            }
        }
    }
}

// -------------------------------------------------------------------------------------
// sluice baseline
// -------------------------------------------------------------------------------------

#[derive(clap::Args)]
pub struct BaselineArgs {
    #[command(subcommand)]
    pub command: BaselineCommand,
}

#[derive(clap::Subcommand)]
pub enum BaselineCommand {
    /// Show the current (or a given) baseline version.
    Show {
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
        /// Version id (default: the newest).
        #[arg(long)]
        version: Option<i64>,
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// What changed between two baseline versions (default: the two newest).
    Diff {
        #[arg(long, default_value = "sluice.db")]
        db: PathBuf,
        /// The older version.
        #[arg(long)]
        from: Option<i64>,
        /// The newer version.
        #[arg(long)]
        to: Option<i64>,
    },
}

pub fn baseline(a: BaselineArgs) -> Result<ExitCode> {
    match a.command {
        BaselineCommand::Show {
            db,
            version,
            format,
        } => {
            let store = open_store(&db)?;
            let b = match version {
                Some(v) => dstore::baseline(store.conn(), v)?,
                None => dstore::baselines(store.conn(), 1)?.into_iter().next(),
            };
            let Some(b) = b else {
                anyhow::bail!(
                    "{}: no baseline (learn one with `sluice analyze CAPTURE --learn`)",
                    db.display()
                );
            };
            if format == Format::Json {
                return print(&(serde_json::to_string(&b.baseline)? + "\n"));
            }
            print(&format!(
                "version {} learned from {}\n{}",
                b.id,
                b.source.as_deref().unwrap_or("?"),
                b.baseline.describe()
            ))
        }
        BaselineCommand::Diff { db, from, to } => {
            let store = open_store(&db)?;
            let newest = dstore::baselines(store.conn(), 2)?;
            let pick = |v: Option<i64>, i: usize| -> Result<dstore::StoredBaseline> {
                match v {
                    Some(id) => dstore::baseline(store.conn(), id)?
                        .with_context(|| format!("{}: no baseline version {id}", db.display())),
                    None => newest.get(i).cloned().with_context(|| {
                        format!(
                            "{}: a diff needs two baseline versions (learn again with --learn)",
                            db.display()
                        )
                    }),
                }
            };
            let new = pick(to, 0)?;
            let old = pick(from, 1)?;
            let lines = new.baseline.diff(&old.baseline);
            let mut s = format!(
                "baseline {} -> {}: {} change{}\n",
                old.id,
                new.id,
                lines.len(),
                if lines.len() == 1 { "" } else { "s" }
            );
            for l in lines {
                s.push_str(&l);
                s.push('\n');
            }
            print(&s)
        }
    }
}
