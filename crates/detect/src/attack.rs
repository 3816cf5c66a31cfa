//! The MITRE ATT&CK for ICS catalogue: technique names and tactics, read from the
//! STIX bundle MITRE publishes (`ics-attack-*.json`) or the techniques table derived
//! from it (`*-techniques.csv`), in a directory given at run time. Nothing of it is
//! compiled in: without the directory, alerts carry technique ids alone.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::Value;

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

fn mitre_id(o: &Value) -> Option<&str> {
    o.get("external_references")?
        .as_array()?
        .iter()
        .find(|r| r.get("source_name").and_then(Value::as_str) == Some("mitre-attack"))?
        .get("external_id")?
        .as_str()
}

fn retired(o: &Value) -> bool {
    o.get("revoked").and_then(Value::as_bool) == Some(true)
        || o.get("x_mitre_deprecated").and_then(Value::as_bool) == Some(true)
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
        let v: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
        let objects = v
            .get("objects")
            .and_then(Value::as_array)
            .ok_or_else(|| bad("not a STIX bundle (no \"objects\" array)".into()))?;
        let mut tactics: HashMap<&str, &str> = HashMap::new();
        for o in objects {
            if o.get("type").and_then(Value::as_str) == Some("x-mitre-tactic") && !retired(o) {
                if let (Some(s), Some(n)) = (
                    o.get("x_mitre_shortname").and_then(Value::as_str),
                    o.get("name").and_then(Value::as_str),
                ) {
                    tactics.insert(s, n);
                }
            }
        }
        let mut techniques = HashMap::new();
        for o in objects {
            if o.get("type").and_then(Value::as_str) != Some("attack-pattern") || retired(o) {
                continue;
            }
            let (Some(id), Some(name)) = (mitre_id(o), o.get("name").and_then(Value::as_str))
            else {
                continue;
            };
            let phases = o
                .get("kill_chain_phases")
                .and_then(Value::as_array)
                .map(|a| {
                    a.iter()
                        .filter(|p| {
                            p.get("kill_chain_name")
                                .and_then(Value::as_str)
                                .is_none_or(|k| k.contains("ics"))
                        })
                        .filter_map(|p| p.get("phase_name").and_then(Value::as_str))
                        .map(|s| {
                            tactics
                                .get(s)
                                .map(|n| n.to_string())
                                .unwrap_or_else(|| title_case(s))
                        })
                        .collect()
                })
                .unwrap_or_default();
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
