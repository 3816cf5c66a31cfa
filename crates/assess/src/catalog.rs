//! Framework catalogues, loaded at run time from data files (never shipped in the
//! repository): NIST CSF 2.0, IEC 62443-3-3 (ids and short headings only), CIS Controls v8
//! (safeguard ids only), NIST SP 800-53 rev5, the published crosswalks between them, and
//! any framework a user drops in as a `*.framework.toml` file.
//!
//! Every control has a key `PREFIX:ID` (`CSF:PR.IR-01`, `IEC62443-3-3:SR 5.1`, `CIS:6.4`,
//! `SP800-53:AC-17`), the form detection alerts carry in `sluice.controls`.
use crate::csv::Table;
use crate::error::{toml_error, AssessError, LineError};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

/// How a framework is scored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum Scoring {
    /// Security level achieved per zone and foundational requirement vs target.
    Iec62443,
    /// Tier per function from the outcomes met.
    Csf,
    /// Implementation-group coverage.
    Cis,
    /// Share of assessable controls satisfied.
    #[default]
    Coverage,
}

/// One control, requirement, outcome or safeguard.
#[derive(Debug, Clone, Serialize)]
pub struct Control {
    /// `PREFIX:ID`.
    pub key: String,
    /// The id inside the framework (`SR 5.1`, `PR.IR-01`).
    pub id: String,
    /// Short title where the source's licence allows one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// `function`, `category`, `subcategory`, `fr`, `sr`, `re`, `control`, `safeguard`, ...
    pub kind: String,
    /// The parent's id.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
    /// The top-level group (CSF function, 62443 FR, CIS control, 800-53 family).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    /// Withdrawn elements are kept but neither scored nor questioned.
    pub active: bool,
    /// Assessable (a leaf outcome/requirement, not a heading).
    pub assessable: bool,
    /// Security level (62443) or maturity level at which it applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// CIS implementation group (only when the user supplies the membership).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ig: Option<u8>,
    /// Token form of the id for OSCAL (`sr-5.1`, `pr.ir-01`).
    pub oscal_id: String,
}

/// One framework.
#[derive(Debug, Clone, Serialize)]
pub struct Framework {
    /// Short id used on the command line (`csf`, `iec62443`, `cis`, `sp800-53`).
    pub id: String,
    /// Key prefix (`CSF`, `IEC62443-3-3`, `CIS`, `SP800-53`).
    pub prefix: String,
    /// Display name.
    pub name: String,
    /// Version of the content.
    pub version: String,
    /// Where it was loaded from.
    pub source: String,
    /// What may be shown of it.
    pub licence: String,
    /// How it is scored.
    pub scoring: Scoring,
    /// Controls in source order.
    pub controls: Vec<Control>,
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl Framework {
    fn new(id: &str, prefix: &str, name: &str, version: &str, source: String) -> Framework {
        Framework {
            id: id.into(),
            prefix: prefix.into(),
            name: name.into(),
            version: version.into(),
            source,
            licence: String::new(),
            scoring: Scoring::Coverage,
            controls: Vec::new(),
            index: HashMap::new(),
        }
    }

    fn push(&mut self, mut c: Control) {
        if self.index.contains_key(&c.id) {
            return;
        }
        c.key = format!("{}:{}", self.prefix, c.id);
        if c.oscal_id.is_empty() {
            c.oscal_id = oscal_token(&self.id, &c.id);
        }
        self.index.insert(c.id.clone(), self.controls.len());
        self.controls.push(c);
    }

    /// The control with this id (exact, then case- and space-insensitive).
    pub fn control(&self, id: &str) -> Option<&Control> {
        if let Some(&i) = self.index.get(id) {
            return self.controls.get(i);
        }
        let norm = normalise_id(id);
        self.controls.iter().find(|c| normalise_id(&c.id) == norm)
    }

    /// Assessable, active controls.
    pub fn assessable(&self) -> impl Iterator<Item = &Control> {
        self.controls.iter().filter(|c| c.active && c.assessable)
    }

    /// Fills `group` (the top ancestor) and, with `leaves`, marks assessable the controls
    /// nobody names as parent.
    fn finish(&mut self, leaves: bool) {
        let parents: std::collections::HashSet<String> = self
            .controls
            .iter()
            .filter_map(|c| c.parent.clone())
            .collect();
        let parent_of: HashMap<String, Option<String>> = self
            .controls
            .iter()
            .map(|c| (c.id.clone(), c.parent.clone()))
            .collect();
        for c in &mut self.controls {
            if c.group.is_none() {
                let mut top = c.id.clone();
                let mut guard = 0;
                while let Some(Some(p)) = parent_of.get(&top) {
                    top = p.clone();
                    guard += 1;
                    if guard > 16 {
                        break;
                    }
                }
                c.group = Some(top);
            }
            if leaves {
                c.assessable = !parents.contains(&c.id);
            }
        }
    }
}

impl Control {
    fn new(id: &str, kind: &str) -> Control {
        Control {
            key: String::new(),
            id: id.to_string(),
            title: None,
            kind: kind.to_string(),
            parent: None,
            group: None,
            active: true,
            assessable: false,
            level: None,
            ig: None,
            oscal_id: String::new(),
        }
    }
}

/// A crosswalk pair between two control keys.
#[derive(Debug, Clone, Serialize)]
pub struct Mapping {
    /// One control key.
    pub a: String,
    /// The other.
    pub b: String,
    /// The publication it comes from.
    pub source: String,
}

/// All loaded frameworks and crosswalks.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Catalog {
    /// Frameworks in load order.
    pub frameworks: Vec<Framework>,
    /// Crosswalk pairs (unqualified, informative).
    pub mappings: Vec<Mapping>,
    /// Files read.
    pub files: Vec<String>,
    /// What could not be loaded and why.
    pub warnings: Vec<String>,
}

/// The built-in identities of the known frameworks: (id, prefix, aliases).
const KNOWN: &[(&str, &str, &[&str])] = &[
    (
        "csf",
        "CSF",
        &["nist-csf", "csf2", "csf-2.0", "nist-csf-2.0"],
    ),
    (
        "iec62443",
        "IEC62443-3-3",
        &[
            "iec62443",
            "62443",
            "isa62443",
            "62443-3-3",
            "isa62443-3-3",
            "iec-62443-3-3",
        ],
    ),
    ("cis", "CIS", &["cis8", "cis-v8", "cis-controls"]),
    (
        "sp800-53",
        "SP800-53",
        &["800-53", "nist-800-53", "sp800-53r5", "nist-sp800-53"],
    ),
];

/// The security-level table of IEC 62443-3-3 requirements (numbers only).
const IEC_SL: &str = include_str!("../data/iec62443-3-3-sl.csv");

/// Ids compared case- and whitespace-insensitively (`SR5.1` = `sr 5.1`).
pub fn normalise_id(id: &str) -> String {
    id.chars()
        .filter(|c| !c.is_whitespace())
        .flat_map(char::to_lowercase)
        .collect()
}

/// An id as an OSCAL token: letters, digits, `.`, `-`, `_`, starting with a letter or `_`.
pub fn oscal_token(framework: &str, id: &str) -> String {
    let mut s: String = id
        .trim()
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' || c == '_' {
                c.to_ascii_lowercase()
            } else {
                '_'
            }
        })
        .collect();
    while s.contains("__") {
        s = s.replace("__", "_");
    }
    let s = s.trim_matches('_').to_string();
    if s.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
        s
    } else {
        let fw: String = framework
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        let fw = if fw.chars().next().is_some_and(|c| c.is_ascii_alphabetic()) {
            fw
        } else {
            format!("fw_{fw}")
        };
        format!("{fw}_{s}")
    }
}

fn read(path: &Path) -> Result<String, AssessError> {
    std::fs::read_to_string(path).map_err(|e| AssessError::io(path, e))
}

/// The default catalogue folder: `$SLUICE_DATA/frameworks`, else
/// `../shared/data/frameworks` relative to the current directory, if it exists.
pub fn default_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("SLUICE_DATA") {
        let p = PathBuf::from(d).join("frameworks");
        return p.is_dir().then_some(p);
    }
    let p = PathBuf::from("../shared/data/frameworks");
    p.is_dir().then_some(p)
}

impl Catalog {
    /// An empty catalogue.
    pub fn new() -> Catalog {
        Catalog::default()
    }

    /// Loads every known file found in `dir` (see `../shared/data/frameworks/SOURCES.md`
    /// for the layout) and every `*.framework.toml` / `*.mapping.csv` in it or one level
    /// below. Missing files are warnings; malformed ones are errors.
    pub fn load_dir(dir: &Path) -> Result<Catalog, AssessError> {
        if !dir.is_dir() {
            return Err(AssessError::Usage(format!(
                "{}: no such catalogue folder (pass --frameworks DIR or set SLUICE_DATA)",
                dir.display()
            )));
        }
        let mut cat = Catalog::new();
        let p = |rel: &str| dir.join(rel);
        let csf_json = p("nist-csf-2.0/csf-2.0-core.json");
        let csf_csv = p("nist-csf-2.0/csf-2.0-core.csv");
        if csf_json.is_file() {
            cat.add_csf_json(&csf_json)?;
        } else if csf_csv.is_file() {
            cat.add_csf_csv(&csf_csv)?;
        } else {
            cat.warnings
                .push("NIST CSF 2.0 not found (nist-csf-2.0/csf-2.0-core.json)".into());
        }
        let iec = p("iec62443/isa-iec-62443-3-3-2013-ids.csv");
        if iec.is_file() {
            cat.add_iec_csv(&iec)?;
        } else {
            cat.warnings.push(
                "IEC 62443-3-3 ids not found (iec62443/isa-iec-62443-3-3-2013-ids.csv)".into(),
            );
        }
        let cis = p("cis-controls-v8/cis-controls-v8-ids.csv");
        if cis.is_file() {
            cat.add_cis_csv(&cis)?;
            let ig = p("cis-controls-v8/cis-controls-v8-ig.csv");
            if ig.is_file() {
                cat.load_cis_ig(&ig)?;
            }
        } else {
            cat.warnings.push(
                "CIS Controls v8 ids not found (cis-controls-v8/cis-controls-v8-ids.csv)".into(),
            );
        }
        let sp = p("nist-sp800-53r5/sp800-53r5-controls-index.csv");
        if sp.is_file() {
            cat.add_sp800_53_csv(&sp)?;
        } else {
            cat.warnings.push(
                "SP 800-53 index not found (nist-sp800-53r5/sp800-53r5-controls-index.csv)".into(),
            );
        }
        let olir = p("mappings/csf-2.0_to_sp800-53r5.2.0_olir.csv");
        if olir.is_file() {
            cat.add_csf_sp800_53_mapping(&olir)?;
        }
        let isa = p("mappings/csf-1.1_to_isa62443-3-3_nist-informative-refs.csv");
        if isa.is_file() {
            cat.add_csf_isa_mapping(&isa)?;
        }
        // User drop-ins: frameworks and crosswalks.
        let mut extra: Vec<PathBuf> = Vec::new();
        let mut dirs = vec![dir.to_path_buf()];
        if let Ok(rd) = std::fs::read_dir(dir) {
            for e in rd.flatten() {
                if e.path().is_dir() {
                    dirs.push(e.path());
                }
            }
        }
        for d in dirs {
            if let Ok(rd) = std::fs::read_dir(&d) {
                for e in rd.flatten() {
                    let path = e.path();
                    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    if name.ends_with(".framework.toml") || name.ends_with(".mapping.csv") {
                        extra.push(path);
                    }
                }
            }
        }
        extra.sort();
        for path in extra {
            if path.to_string_lossy().ends_with(".framework.toml") {
                cat.add_framework_file(&path)?;
            } else {
                cat.add_mapping_csv(&path)?;
            }
        }
        Ok(cat)
    }

    /// Adds a framework object (replacing one with the same id).
    pub fn add_framework(&mut self, mut fw: Framework) {
        fw.finish(false);
        self.frameworks.retain(|f| f.id != fw.id);
        self.frameworks.push(fw);
    }

    /// The framework with this id, prefix or alias (case-insensitive).
    pub fn framework(&self, name: &str) -> Option<&Framework> {
        let n = name.trim().to_ascii_lowercase();
        if let Some(f) = self
            .frameworks
            .iter()
            .find(|f| f.id.eq_ignore_ascii_case(&n) || f.prefix.eq_ignore_ascii_case(&n))
        {
            return Some(f);
        }
        let canonical = KNOWN
            .iter()
            .find(|(id, prefix, aliases)| {
                *id == n || prefix.eq_ignore_ascii_case(&n) || aliases.contains(&n.as_str())
            })
            .map(|(id, _, _)| (*id).to_string());
        let want = canonical.unwrap_or(n);
        self.frameworks
            .iter()
            .find(|f| f.id.eq_ignore_ascii_case(&want) || f.prefix.eq_ignore_ascii_case(&want))
    }

    /// The framework and control of a key `PREFIX:ID`.
    pub fn resolve(&self, key: &str) -> Option<(&Framework, &Control)> {
        let (prefix, id) = key.split_once(':')?;
        let fw = self.framework(prefix)?;
        let c = fw.control(id.trim())?;
        Some((fw, c))
    }

    /// The canonical key of `key`, if it names a known control.
    pub fn canonical(&self, key: &str) -> Option<String> {
        self.resolve(key).map(|(_, c)| c.key.clone())
    }

    /// NIST CSF 2.0 from the derived core JSON (function → category → subcategory).
    pub fn add_csf_json(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let v: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| AssessError::data(path, e.line(), format!("not a CSF core JSON: {e}")))?;
        let mut fw = Framework::new(
            "csf",
            "CSF",
            "NIST Cybersecurity Framework",
            "2.0",
            path.display().to_string(),
        );
        fw.scoring = Scoring::Csf;
        fw.licence = "US Government work (17 USC 105); attribute NIST".into();
        let s =
            |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
        let empty = Vec::new();
        let arr = |v: &serde_json::Value, k: &str| -> Vec<serde_json::Value> {
            v.get(k)
                .and_then(|x| x.as_array())
                .cloned()
                .unwrap_or_default()
        };
        let functions = v
            .get("functions")
            .and_then(|x| x.as_array())
            .unwrap_or(&empty);
        if functions.is_empty() {
            return Err(AssessError::data(path, 0, "no `functions` array"));
        }
        for f in functions {
            let Some(fid) = s(f, "id") else { continue };
            let mut c = Control::new(&fid, "function");
            c.title = s(f, "title");
            fw.push(c);
            for cat in arr(f, "categories") {
                let Some(cid) = s(&cat, "id") else { continue };
                let mut c = Control::new(&cid, "category");
                c.title = s(&cat, "title");
                c.parent = Some(fid.clone());
                c.active = s(&cat, "status").as_deref() != Some("withdrawn");
                fw.push(c);
                for sub in arr(&cat, "subcategories") {
                    let Some(sid) = s(&sub, "id") else { continue };
                    let mut c = Control::new(&sid, "subcategory");
                    c.title = s(&sub, "statement").or_else(|| s(&sub, "title"));
                    c.parent = Some(cid.clone());
                    c.active = s(&sub, "status").as_deref() != Some("withdrawn");
                    c.assessable = true;
                    fw.push(c);
                }
            }
        }
        self.files.push(path.display().to_string());
        self.add_framework(fw);
        Ok(())
    }

    /// NIST CSF 2.0 from the derived core CSV.
    pub fn add_csf_csv(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("id") || !t.has("type") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns id,type,parent,title,statement",
            ));
        }
        let mut fw = Framework::new(
            "csf",
            "CSF",
            "NIST Cybersecurity Framework",
            "2.0",
            path.display().to_string(),
        );
        fw.scoring = Scoring::Csf;
        fw.licence = "US Government work (17 USC 105); attribute NIST".into();
        for r in &t.rows {
            let id = t.get(r, "id");
            if id.is_empty() {
                continue;
            }
            let kind = t.get(r, "type");
            let mut c = Control::new(id, kind);
            let title = t.get(r, "title");
            let st = t.get(r, "statement");
            c.title = Some(if title.is_empty() { st } else { title }.to_string())
                .filter(|s| !s.is_empty());
            c.parent = Some(t.get(r, "parent").to_string()).filter(|s| !s.is_empty());
            c.active = t.get(r, "status_inferred") != "withdrawn";
            c.assessable = kind == "subcategory";
            fw.push(c);
        }
        self.files.push(path.display().to_string());
        self.add_framework(fw);
        Ok(())
    }

    /// IEC 62443-3-3 FR/SR/RE ids and short headings, with the security level of each
    /// requirement (a `sl` column, else the embedded table, else SR 1 / SR level + RE n).
    pub fn add_iec_csv(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("id") || !t.has("level") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns id,level,parent,short_title",
            ));
        }
        let sl_table = iec_sl_table();
        let mut fw = Framework::new(
            "iec62443",
            "IEC62443-3-3",
            "ISA/IEC 62443-3-3 System security requirements and security levels",
            "2013",
            path.display().to_string(),
        );
        fw.scoring = Scoring::Iec62443;
        fw.licence =
            "ids and short headings only; requirement text is not shipped (RE titles unverified)"
                .into();
        let mut errors = Vec::new();
        for r in &t.rows {
            let id = t.get(r, "id");
            if id.is_empty() {
                continue;
            }
            let kind = t.get(r, "level").to_ascii_lowercase();
            if !matches!(kind.as_str(), "fr" | "sr" | "re") {
                errors.push(LineError {
                    line: r.line,
                    message: format!("{id}: level {kind:?} is not FR, SR or RE"),
                });
                continue;
            }
            let mut c = Control::new(id, &kind);
            c.title = Some(t.get(r, "short_title").to_string()).filter(|s| !s.is_empty());
            c.parent = Some(t.get(r, "parent").to_string()).filter(|s| !s.is_empty());
            c.assessable = kind != "fr";
            if kind != "fr" {
                let own = t
                    .get(r, "sl")
                    .parse::<u8>()
                    .ok()
                    .filter(|l| (1..=4).contains(l));
                c.level = own
                    .or_else(|| sl_table.get(id).copied())
                    .or_else(|| Some(default_sl(id, &sl_table)));
            }
            fw.push(c);
        }
        if !errors.is_empty() {
            return Err(AssessError::Data {
                path: path.into(),
                errors,
            });
        }
        // REs' group is their FR.
        let fr_of: HashMap<String, String> = fw
            .controls
            .iter()
            .filter(|c| c.kind == "sr")
            .filter_map(|c| c.parent.clone().map(|p| (c.id.clone(), p)))
            .collect();
        for c in &mut fw.controls {
            c.group = match c.kind.as_str() {
                "fr" => Some(c.id.clone()),
                "sr" => c.parent.clone(),
                _ => c.parent.as_ref().and_then(|p| fr_of.get(p).cloned()),
            };
        }
        self.files.push(path.display().to_string());
        self.add_framework(fw);
        Ok(())
    }

    /// CIS Controls v8 control and safeguard ids (no titles, no IG membership).
    pub fn add_cis_csv(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("id") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns id,level,parent",
            ));
        }
        let mut fw = Framework::new(
            "cis",
            "CIS",
            "CIS Critical Security Controls",
            "8",
            path.display().to_string(),
        );
        fw.scoring = Scoring::Cis;
        fw.licence =
            "CC BY-NC-ND 4.0: ids only; no titles, text or IG membership are shipped".into();
        for r in &t.rows {
            let id = t.get(r, "id");
            if id.is_empty() {
                continue;
            }
            let kind = match t.get(r, "level") {
                "" if id.contains('.') => "safeguard",
                "" => "control-group",
                "control" => "control-group",
                k => k,
            };
            let mut c = Control::new(id, kind);
            c.parent = Some(t.get(r, "parent").to_string()).filter(|s| !s.is_empty());
            c.assessable = kind == "safeguard";
            c.ig = t
                .get(r, "ig")
                .parse::<u8>()
                .ok()
                .filter(|g| (1..=3).contains(g));
            let title = t.get(r, "title");
            c.title = Some(title.to_string()).filter(|s| !s.is_empty());
            fw.push(c);
        }
        self.files.push(path.display().to_string());
        self.add_framework(fw);
        Ok(())
    }

    /// The implementation group of CIS safeguards (`id,ig` with ig 1-3: the group that
    /// first includes it). Only a CIS licensee may have this file; it is not shipped.
    pub fn load_cis_ig(&mut self, path: &Path) -> Result<usize, AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("id") || !t.has("ig") {
            return Err(AssessError::data(path, 1, "expected columns id,ig"));
        }
        let Some(i) = self.frameworks.iter().position(|f| f.id == "cis") else {
            return Err(AssessError::Usage(format!(
                "{}: CIS implementation groups given but no CIS catalogue is loaded",
                path.display()
            )));
        };
        let mut errors = Vec::new();
        let mut n = 0;
        let fw = &mut self.frameworks[i];
        for r in &t.rows {
            let id = t.get(r, "id");
            let ig = t.get(r, "ig").trim_start_matches(['I', 'G', 'i', 'g']);
            match (
                fw.index.get(id).copied(),
                ig.parse::<u8>().ok().filter(|g| (1..=3).contains(g)),
            ) {
                (Some(ci), Some(g)) => {
                    if let Some(c) = fw.controls.get_mut(ci) {
                        c.ig = Some(g);
                        n += 1;
                    }
                }
                (None, _) => errors.push(LineError {
                    line: r.line,
                    message: format!("unknown safeguard {id:?}"),
                }),
                (_, None) => errors.push(LineError {
                    line: r.line,
                    message: format!("ig {:?} is not 1, 2 or 3", t.get(r, "ig")),
                }),
            }
        }
        if !errors.is_empty() {
            return Err(AssessError::Data {
                path: path.into(),
                errors,
            });
        }
        self.files.push(path.display().to_string());
        Ok(n)
    }

    /// NIST SP 800-53 rev5 controls and enhancements from the derived index CSV.
    pub fn add_sp800_53_csv(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("control_id") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns control_id,oscal_id,family,title,...",
            ));
        }
        let mut fw = Framework::new(
            "sp800-53",
            "SP800-53",
            "NIST SP 800-53 Security and Privacy Controls",
            "rev5",
            path.display().to_string(),
        );
        fw.licence = "US Government work (17 USC 105); attribute NIST".into();
        let mut families: BTreeMap<String, ()> = BTreeMap::new();
        for r in &t.rows {
            let fam = t.get(r, "family");
            if !fam.is_empty() && !families.contains_key(fam) {
                families.insert(fam.to_string(), ());
                let mut c = Control::new(fam, "family");
                c.oscal_id = fam.to_ascii_lowercase();
                fw.push(c);
            }
            let id = t.get(r, "control_id");
            if id.is_empty() {
                continue;
            }
            let enh = t.get(r, "is_enhancement") == "yes";
            let mut c = Control::new(id, if enh { "enhancement" } else { "control" });
            c.title = Some(t.get(r, "title").to_string()).filter(|s| !s.is_empty());
            let parent = t.get(r, "parent");
            c.parent = Some(if parent.is_empty() { fam } else { parent }.to_string())
                .filter(|s| !s.is_empty());
            c.group = Some(fam.to_string()).filter(|s| !s.is_empty());
            c.active = t.get(r, "status_5_0_1") != "withdrawn";
            c.assessable = true;
            let oscal = t.get(r, "oscal_id");
            c.oscal_id = if oscal.is_empty() {
                String::new()
            } else {
                oscal_token("sp800-53", oscal)
            };
            fw.push(c);
        }
        self.files.push(path.display().to_string());
        self.add_framework(fw);
        Ok(())
    }

    /// NIST OLIR CSF 2.0 → SP 800-53 crosswalk (control-level rows only).
    pub fn add_csf_sp800_53_mapping(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("csf_id") || !t.has("sp800_53_id") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns csf_id,target_type,sp800_53_id",
            ));
        }
        for r in &t.rows {
            if t.get(r, "target_type") == "family" {
                continue;
            }
            self.mappings.push(Mapping {
                a: format!("CSF:{}", t.get(r, "csf_id")),
                b: format!("SP800-53:{}", t.get(r, "sp800_53_id")),
                source: "NIST OLIR CSF 2.0 to SP 800-53 Rev. 5.2.0".into(),
            });
        }
        self.files.push(path.display().to_string());
        Ok(())
    }

    /// NIST CSF 1.1 informative references to ISA 62443-3-3, for the subcategories kept
    /// under the same id in CSF 2.0.
    pub fn add_csf_isa_mapping(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("reference_id") || !t.has("csf20_id_if_kept") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns ...,reference_id,...,csf20_id_if_kept",
            ));
        }
        for r in &t.rows {
            let csf = t.get(r, "csf20_id_if_kept");
            let sr = t.get(r, "reference_id");
            if csf.is_empty() || sr.is_empty() {
                continue;
            }
            self.mappings.push(Mapping {
                a: format!("CSF:{csf}"),
                b: format!("IEC62443-3-3:{sr}"),
                source: "NIST CSF 1.1 informative references (ISA 62443-3-3:2013)".into(),
            });
        }
        self.files.push(path.display().to_string());
        Ok(())
    }

    /// A user crosswalk: CSV with columns `from,to` (control keys) and optional `source`.
    pub fn add_mapping_csv(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        let t = Table::new(&text);
        if !t.has("from") || !t.has("to") {
            return Err(AssessError::data(
                path,
                1,
                "expected columns from,to[,source] (control keys PREFIX:ID)",
            ));
        }
        for r in &t.rows {
            let (a, b) = (t.get(r, "from"), t.get(r, "to"));
            if !a.contains(':') || !b.contains(':') {
                return Err(AssessError::data(
                    path,
                    r.line,
                    "from and to must be control keys PREFIX:ID",
                ));
            }
            let src = t.get(r, "source");
            self.mappings.push(Mapping {
                a: a.into(),
                b: b.into(),
                source: if src.is_empty() {
                    path.display().to_string()
                } else {
                    src.into()
                },
            });
        }
        self.files.push(path.display().to_string());
        Ok(())
    }

    /// A framework data file (see [`FrameworkFile`]).
    pub fn add_framework_file(&mut self, path: &Path) -> Result<(), AssessError> {
        let text = read(path)?;
        self.add_framework_toml(&text, path)
    }

    /// A framework from TOML text (see [`FrameworkFile`]); `origin` names it in errors.
    pub fn add_framework_toml(&mut self, text: &str, origin: &Path) -> Result<(), AssessError> {
        let file: FrameworkFile = toml::from_str(text).map_err(|e| AssessError::Data {
            path: origin.into(),
            errors: vec![toml_error(text, &e)],
        })?;
        let h = &file.framework;
        let bad = |m: String| AssessError::data(origin, 0, m);
        if h.id.trim().is_empty() || h.id.contains(char::is_whitespace) {
            return Err(bad(format!("framework.id {:?} must be one word", h.id)));
        }
        let prefix = h
            .prefix
            .clone()
            .unwrap_or_else(|| h.id.to_ascii_uppercase());
        if prefix.contains(':') || prefix.trim().is_empty() {
            return Err(bad(format!(
                "framework.prefix {prefix:?} must be non-empty without ':'"
            )));
        }
        let mut fw = Framework::new(
            &h.id,
            &prefix,
            h.name.as_deref().unwrap_or(&h.id),
            h.version.as_deref().unwrap_or(""),
            origin.display().to_string(),
        );
        fw.scoring = h.scoring.unwrap_or_default();
        fw.licence = h.licence.clone().unwrap_or_default();
        let mut seen = std::collections::HashSet::new();
        for (i, c) in file.control.iter().enumerate() {
            if c.id.trim().is_empty() || !seen.insert(c.id.clone()) {
                return Err(bad(format!(
                    "control #{} has an empty or duplicate id {:?}",
                    i + 1,
                    c.id
                )));
            }
            if let Some(l) = c.level {
                if !(1..=4).contains(&l) {
                    return Err(bad(format!("control {}: level {l} is not 1-4", c.id)));
                }
            }
            let mut ctl = Control::new(&c.id, c.kind.as_deref().unwrap_or("control"));
            ctl.title = c.title.clone();
            ctl.parent = c.parent.clone();
            ctl.group = c.group.clone();
            ctl.level = c.level;
            ctl.ig = c.ig;
            ctl.active = c.active.unwrap_or(true);
            fw.push(ctl);
            for m in &c.maps_to {
                if !m.contains(':') {
                    return Err(bad(format!(
                        "control {}: maps_to {m:?} is not a key PREFIX:ID",
                        c.id
                    )));
                }
                self.mappings.push(Mapping {
                    a: format!("{prefix}:{}", c.id),
                    b: m.clone(),
                    source: origin.display().to_string(),
                });
            }
        }
        // Assessability: explicit flags win, else leaves.
        fw.finish(true);
        for (c, raw) in fw.controls.iter_mut().zip(file.control.iter()) {
            if let Some(a) = raw.assessable {
                c.assessable = a;
            }
        }
        for m in &file.mapping {
            self.mappings.push(Mapping {
                a: m.from.clone(),
                b: m.to.clone(),
                source: origin.display().to_string(),
            });
        }
        self.files.push(origin.display().to_string());
        self.frameworks.retain(|f| f.id != fw.id);
        self.frameworks.push(fw);
        Ok(())
    }

    /// Mapped keys of `key` (both directions), canonicalised, without duplicates.
    pub fn mapped(&self, key: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let canon = self.canonical(key).unwrap_or_else(|| key.to_string());
        for m in &self.mappings {
            let (ca, cb) = (
                self.canonical(&m.a).unwrap_or_else(|| m.a.clone()),
                self.canonical(&m.b).unwrap_or_else(|| m.b.clone()),
            );
            let other = if ca == canon {
                cb
            } else if cb == canon {
                ca
            } else {
                continue;
            };
            if !out.iter().any(|(k, _)| *k == other) {
                out.push((other, m.source.clone()));
            }
        }
        out
    }
}

/// A user framework: `[framework]` then `[[control]]` entries (and optional `[[mapping]]`).
///
/// ```toml
/// [framework]
/// id = "nerc-cip"            # --framework nerc-cip
/// prefix = "NERC-CIP"        # control keys are NERC-CIP:<id>
/// name = "NERC CIP"
/// version = "7"
/// scoring = "coverage"       # coverage | csf | iec62443 | cis
///
/// [[control]]
/// id = "CIP-005 R1"
/// title = "Electronic security perimeter"
/// parent = "CIP-005"         # optional
/// level = 1                  # optional security / maturity level
/// maps_to = ["CSF:PR.IR-01", "IEC62443-3-3:SR 5.2"]
/// ```
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkFile {
    /// The header.
    pub framework: FrameworkHeader,
    /// The controls.
    #[serde(default)]
    pub control: Vec<ControlEntry>,
    /// Extra crosswalk pairs.
    #[serde(default)]
    pub mapping: Vec<MappingEntry>,
}

/// `[framework]` of a framework file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FrameworkHeader {
    /// Short id (one word).
    pub id: String,
    /// Key prefix (default: the id upper-cased).
    pub prefix: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Version.
    pub version: Option<String>,
    /// Scoring method.
    pub scoring: Option<Scoring>,
    /// Licence note.
    pub licence: Option<String>,
    /// Where it comes from.
    pub source: Option<String>,
}

/// `[[control]]` of a framework file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ControlEntry {
    /// Id inside the framework.
    pub id: String,
    /// Title.
    pub title: Option<String>,
    /// Kind.
    pub kind: Option<String>,
    /// Parent id.
    pub parent: Option<String>,
    /// Group id.
    pub group: Option<String>,
    /// Level 1-4.
    pub level: Option<u8>,
    /// CIS-like implementation group.
    pub ig: Option<u8>,
    /// Withdrawn when false.
    pub active: Option<bool>,
    /// Override of assessability (default: leaves).
    pub assessable: Option<bool>,
    /// Equivalent controls in other frameworks.
    #[serde(default)]
    pub maps_to: Vec<String>,
}

/// `[[mapping]]` of a framework file.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MappingEntry {
    /// A control key.
    pub from: String,
    /// Another control key.
    pub to: String,
}

fn iec_sl_table() -> HashMap<String, u8> {
    let t = Table::new(
        &IEC_SL
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    t.rows
        .iter()
        .filter_map(|r| {
            let id = t.get(r, "id");
            t.get(r, "sl")
                .parse::<u8>()
                .ok()
                .map(|l| (id.to_string(), l))
        })
        .collect()
}

fn default_sl(id: &str, table: &HashMap<String, u8>) -> u8 {
    // `SR x.y RE n`: the SR's level plus n, at most 4.
    if let Some((sr, re)) = id.split_once(" RE ") {
        let base = table.get(sr).copied().unwrap_or(1);
        let n = re.trim().parse::<u8>().unwrap_or(1);
        return base.saturating_add(n).min(4);
    }
    1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens() {
        assert_eq!(oscal_token("iec62443", "SR 1.1 RE 2"), "sr_1.1_re_2");
        assert_eq!(oscal_token("cis", "4.1"), "cis_4.1");
        assert_eq!(oscal_token("csf", "PR.IR-01"), "pr.ir-01");
        assert_eq!(oscal_token("sp800-53", "ac-2.1"), "ac-2.1");
        assert_eq!(oscal_token("9x", "1"), "fw_9x_1");
    }

    #[test]
    fn sl_defaults() {
        let t = iec_sl_table();
        assert_eq!(t.get("SR 2.7"), Some(&3));
        assert_eq!(default_sl("SR 9.9 RE 2", &t), 3);
        assert_eq!(default_sl("SR 2.7 RE 3", &t), 4);
    }
}
