//! The MITRE ATT&CK for ICS catalogue: technique names and tactics, read from the
//! STIX bundle MITRE publishes (`ics-attack-*.json`) or the techniques table derived
//! from it (`*-techniques.csv`), in a directory given at run time. Nothing of it is
//! compiled in: without the directory, alerts carry technique ids alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use std::borrow::Cow;

use crate::DetectError;

/// One technique.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Technique {
    /// `T0836`.
    pub id: String,
    /// `Modify Parameter`.
    pub name: String,
    /// Tactic names in the bundle's order (`Impair Process Control`).
    pub tactics: Vec<String>,
}

/// The catalogue (possibly empty).
#[derive(Debug, Clone, Default)]
pub struct Attack {
    techniques: HashMap<String, Technique>,
    source: Option<PathBuf>,
}

fn title_case(shortname: &str) -> String {
    shortname
        .split('-')
        .enumerate()
        .map(|(i, w)| {
            if i > 0 && matches!(w, "and" | "of" | "the") {
                return w.to_string();
            }
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The parts of a STIX object the catalogue reads; everything else is skipped
/// unparsed (the ICS bundle is 3.5 MB, read at every start of the sensor).
#[derive(Deserialize)]
struct StixObject<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    x_mitre_shortname: Option<Cow<'a, str>>,
    // Optional, and `null` taken as absent.
    revoked: Option<bool>,
    x_mitre_deprecated: Option<bool>,
    #[serde(borrow)]
    external_references: Option<Vec<ExternalRef<'a>>>,
    #[serde(borrow)]
    kill_chain_phases: Option<Vec<Phase<'a>>>,
}

#[derive(Deserialize)]
struct ExternalRef<'a> {
    #[serde(borrow)]
    source_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    external_id: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Phase<'a> {
    #[serde(borrow)]
    kill_chain_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    phase_name: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Bundle<'a> {
    #[serde(borrow)]
    objects: Option<Vec<StixObject<'a>>>,
}

impl StixObject<'_> {
    fn mitre_id(&self) -> Option<&str> {
        self.external_references
            .iter()
            .flatten()
            .find(|r| r.source_name.as_deref() == Some("mitre-attack"))?
            .external_id
            .as_deref()
    }

    fn retired(&self) -> bool {
        self.revoked == Some(true) || self.x_mitre_deprecated == Some(true)
    }
}

/// Splits one CSV line into fields (RFC 4180 quoting).
fn csv_fields(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            (c, _) => cur.push(c),
        }
    }
    out.push(cur);
    out
}

impl Attack {
    /// An empty catalogue: alerts carry technique ids only.
    pub fn empty() -> Attack {
        Attack::default()
    }

    /// The directory used when none is given: `$SLUICE_DATA/attack` when `SLUICE_DATA`
    /// is set, else `../shared/data/attack` (relative to the working directory); `None`
    /// when that directory does not exist.
    pub fn default_dir() -> Option<PathBuf> {
        if let Some(d) = std::env::var_os("SLUICE_DATA") {
            let p = PathBuf::from(d).join("attack");
            return p.is_dir().then_some(p);
        }
        let p = PathBuf::from("../shared/data/attack");
        p.is_dir().then_some(p)
    }

    /// Loads the newest `ics-attack-*.json` STIX bundle in `dir` (skipping revoked and
    /// deprecated objects), or, when there is none, the newest `*-techniques.csv`.
    pub fn load_dir(dir: &Path) -> Result<Attack, DetectError> {
        let io = |source| DetectError::Io {
            path: dir.to_path_buf(),
            source,
        };
        let mut jsons = Vec::new();
        let mut csvs = Vec::new();
        for entry in std::fs::read_dir(dir).map_err(io)? {
            let path = entry.map_err(io)?.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            if name.starts_with("ics-attack") && name.ends_with(".json") {
                jsons.push(path);
            } else if name.ends_with("-techniques.csv") {
                csvs.push(path);
            }
        }
        jsons.sort();
        csvs.sort();
        if let Some(p) = jsons.last() {
            return Attack::load_stix(p);
        }
        if let Some(p) = csvs.last() {
            return Attack::load_csv(p);
        }
        Err(DetectError::Attack {
            path: dir.to_path_buf(),
            message: "no ics-attack-*.json bundle or *-techniques.csv table here".into(),
        })
    }

    fn read(path: &Path) -> Result<String, DetectError> {
        std::fs::read_to_string(path).map_err(|source| DetectError::Io {
            path: path.to_path_buf(),
            source,
        })
    }

    /// Loads a STIX 2.1 bundle of ATT&CK for ICS.
    pub fn load_stix(path: &Path) -> Result<Attack, DetectError> {
        let text = Attack::read(path)?;
        let bad = |message: String| DetectError::Attack {
            path: path.to_path_buf(),
            message,
        };
        let bundle: Bundle<'_> = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let objects = bundle
            .objects
            .ok_or_else(|| bad("not a STIX bundle (no \"objects\" array)".into()))?;
        let mut tactics: HashMap<&str, &str> = HashMap::new();
        for o in &objects {
            if o.kind == "x-mitre-tactic" && !o.retired() {
                if let (Some(s), Some(n)) = (&o.x_mitre_shortname, &o.name) {
                    tactics.insert(s, n);
                }
            }
        }
        let mut techniques = HashMap::new();
        for o in &objects {
            if o.kind != "attack-pattern" || o.retired() {
                continue;
            }
            let (Some(id), Some(name)) = (o.mitre_id(), o.name.as_deref()) else {
                continue;
            };
            let phases = o
                .kill_chain_phases
                .iter()
                .flatten()
                .filter(|p| {
                    p.kill_chain_name
                        .as_deref()
                        .is_none_or(|k| k.contains("ics"))
                })
                .filter_map(|p| p.phase_name.as_deref())
                .map(|s| {
                    tactics
                        .get(s)
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| title_case(s))
                })
                .collect();
            techniques.insert(
                id.to_string(),
                Technique {
                    id: id.to_string(),
                    name: name.to_string(),
                    tactics: phases,
                },
            );
        }
        if techniques.is_empty() {
            return Err(bad("the bundle holds no ATT&CK techniques".into()));
        }
        Ok(Attack {
            techniques,
            source: Some(path.to_path_buf()),
        })
    }

    /// Loads a techniques table: a header line naming `technique_id`, `name` and
    /// `tactics` (phase short names separated by `;`).
    pub fn load_csv(path: &Path) -> Result<Attack, DetectError> {
        let text = Attack::read(path)?;
        let bad = |message: String| DetectError::Attack {
            path: path.to_path_buf(),
            message,
        };
        let mut lines = text.lines();
        let header = csv_fields(lines.next().unwrap_or_default());
        let col = |n: &str| header.iter().position(|h| h.trim() == n);
        let (Some(ci), Some(cn), Some(ct)) = (col("technique_id"), col("name"), col("tactics"))
        else {
            return Err(bad("missing technique_id, name or tactics column".into()));
        };
        let mut techniques = HashMap::new();
        for line in lines.filter(|l| !l.trim().is_empty()) {
            let f = csv_fields(line);
            let (Some(id), Some(name), Some(t)) = (f.get(ci), f.get(cn), f.get(ct)) else {
                continue;
            };
            techniques.insert(
                id.clone(),
                Technique {
                    id: id.clone(),
                    name: name.clone(),
                    tactics: t
                        .split(';')
                        .filter(|s| !s.is_empty())
                        .map(title_case)
                        .collect(),
                },
            );
        }
        if techniques.is_empty() {
            return Err(bad("the table holds no techniques".into()));
        }
        Ok(Attack {
            techniques,
            source: Some(path.to_path_buf()),
        })
    }

    /// A technique by id.
    pub fn technique(&self, id: &str) -> Option<&Technique> {
        self.techniques.get(id)
    }

    /// Number of techniques.
    pub fn len(&self) -> usize {
        self.techniques.len()
    }

    /// Whether the catalogue is empty.
    pub fn is_empty(&self) -> bool {
        self.techniques.is_empty()
    }

    /// The file the catalogue came from.
    pub fn source(&self) -> Option<&Path> {
        self.source.as_deref()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A small bundle in the STIX shape: nulls are absent values, retired objects and
    /// other kill chains are left out, and a bundle with a wrongly typed field is an
    /// error naming the file and the place.
    #[test]
    fn stix_objects_with_nulls_and_retired_ones() {
        let dir = std::env::temp_dir().join(format!("sluice-stix-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("ics-attack-1.0.json");
        let bundle = r#"{"type": "bundle", "objects": [
            {"type": "x-mitre-tactic", "name": "Impair Process Control",
             "x_mitre_shortname": "impair-process-control", "revoked": null},
            {"type": "attack-pattern", "name": "Modify Parameter", "revoked": false,
             "external_references": [{"source_name": "capec", "external_id": "CAPEC-1"},
                                     {"source_name": "mitre-attack", "external_id": "T0836"}],
             "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack",
                                    "phase_name": "impair-process-control"},
                                   {"kill_chain_name": "mitre-attack", "phase_name": "x"}]},
            {"type": "attack-pattern", "name": "Old", "x_mitre_deprecated": true,
             "external_references": [{"source_name": "mitre-attack", "external_id": "T0999"}]},
            {"type": "attack-pattern", "name": "No phases", "kill_chain_phases": null,
             "external_references": [{"source_name": "mitre-attack", "external_id": "T0888"}]},
            {"type": "relationship", "source_ref": "a", "target_ref": "b"}
        ]}"#;
        std::fs::write(&path, bundle).unwrap();
        let a = Attack::load_stix(&path).unwrap();
        assert_eq!(a.len(), 2);
        let t = a.technique("T0836").unwrap();
        assert_eq!(t.name, "Modify Parameter");
        assert_eq!(t.tactics, ["Impair Process Control"]);
        assert!(a.technique("T0888").unwrap().tactics.is_empty());
        assert!(a.technique("T0999").is_none());
        std::fs::write(
            &path,
            r#"{"objects": [{"type": "attack-pattern", "revoked": "no"}]}"#,
        )
        .unwrap();
        let e = Attack::load_stix(&path).unwrap_err().to_string();
        assert!(
            e.contains("ics-attack-1.0.json") && e.contains("column"),
            "{e}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn csv_and_title_case() {
        assert_eq!(
            csv_fields(r#"T1,"Point & Tag, Identification",collection"#),
            ["T1", "Point & Tag, Identification", "collection"]
        );
        assert_eq!(title_case("command-and-control"), "Command and Control");
        assert_eq!(
            title_case("impair-process-control"),
            "Impair Process Control"
        );
    }
}
