//! MAC vendor lookup from the IEEE registry (Debian's `ieee-data` package, or a file
//! named by `SLUICE_OUI_DIR`). Loaded once, lazily; absent data means no vendor names.
use hashbrown::HashMap;
use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Vendors by MAC prefix: 24-bit (MA-L), 28-bit (MA-M), 36-bit (MA-S).
#[derive(Debug, Default)]
pub struct OuiDb {
    l: HashMap<u32, String>,
    m: HashMap<u32, String>,
    s: HashMap<u64, String>,
}

fn default_dir() -> PathBuf {
    std::env::var_os("SLUICE_OUI_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/share/ieee-data"))
}

/// The first three fields of a registry CSV line (RFC 4180 quoting): registry,
/// assignment and organisation name. The address after them is not read. Borrowed
/// from the line unless the name has escaped quotes.
fn csv_head(line: &str) -> Option<(&str, &str, Cow<'_, str>)> {
    let (reg, rest) = line.split_once(',')?;
    let (hex, rest) = rest.split_once(',')?;
    let name = match rest.strip_prefix('"') {
        None => Cow::Borrowed(rest.split_once(',').map_or(rest, |(n, _)| n)),
        Some(quoted) => {
            // Up to the first quote not doubled.
            let mut end = None;
            let mut doubled = false;
            let mut i = 0;
            let b = quoted.as_bytes();
            while i < b.len() {
                if b[i] == b'"' {
                    if b.get(i + 1) == Some(&b'"') {
                        doubled = true;
                        i += 2;
                        continue;
                    }
                    end = Some(i);
                    break;
                }
                i += 1;
            }
            let body = quoted.get(..end.unwrap_or(quoted.len()))?;
            if doubled {
                Cow::Owned(body.replace("\"\"", "\""))
            } else {
                Cow::Borrowed(body)
            }
        }
    };
    Some((reg, hex, name))
}

/// The name with runs of white space made one space and trailing commas dropped.
fn clean_name(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for w in s.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(w);
    }
    let kept = out.trim_end_matches([',', ' ']).len();
    out.truncate(kept);
    out
}

impl OuiDb {
    /// Loads `oui.csv`, `mam.csv` and `oui36.csv` from `dir` (missing files are skipped).
    pub fn load(dir: &Path) -> OuiDb {
        let mut db = OuiDb::default();
        for file in ["oui.csv", "mam.csv", "oui36.csv"] {
            let Ok(text) = std::fs::read_to_string(dir.join(file)) else {
                continue;
            };
            for line in text.lines().skip(1) {
                let Some((reg, hex, name)) = csv_head(line) else {
                    continue;
                };
                let name = clean_name(&name);
                match (reg, hex.len()) {
                    ("MA-L", 6) => {
                        if let Ok(v) = u32::from_str_radix(hex, 16) {
                            db.l.insert(v, name);
                        }
                    }
                    ("MA-M", 7) => {
                        if let Ok(v) = u32::from_str_radix(hex, 16) {
                            db.m.insert(v, name);
                        }
                    }
                    ("MA-S", 9) => {
                        if let Ok(v) = u64::from_str_radix(hex, 16) {
                            db.s.insert(v, name);
                        }
                    }
                    _ => {}
                }
            }
        }
        db
    }

    /// The process-wide database.
    pub fn global() -> &'static OuiDb {
        static DB: OnceLock<OuiDb> = OnceLock::new();
        DB.get_or_init(|| OuiDb::load(&default_dir()))
    }

    pub fn len(&self) -> usize {
        self.l.len() + self.m.len() + self.s.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The registered organisation of a MAC address (most specific block first).
    pub fn vendor(&self, mac: &[u8; 6]) -> Option<&str> {
        if mac[0] & 0x02 != 0 {
            return None; // locally administered
        }
        let v = mac.iter().fold(0u64, |a, b| (a << 8) | u64::from(*b));
        if let Some(n) = self.s.get(&(v >> 12)) {
            return Some(n);
        }
        if let Some(n) = self.m.get(&((v >> 20) as u32)) {
            return Some(n);
        }
        self.l.get(&((v >> 24) as u32)).map(String::as_str)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A field as a CSV writer puts it: quoted (quotes doubled) when it holds a comma, a
    /// quote or a line break.
    fn csv_quote(f: &str) -> String {
        if f.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", f.replace('"', "\"\""))
        } else {
            f.to_owned()
        }
    }

    proptest! {
        /// Any line: no panic. A line a CSV writer made: the registry, assignment and
        /// name come back as written, whatever follows them.
        #[test]
        fn csv_head_reads_back_what_a_csv_writer_wrote(
            junk in "\\PC*",
            reg in "[A-Z-]{1,5}",
            hex in "[0-9A-F]{6,9}",
            name in "[a-zA-Z0-9 ,.\"&()-]{0,40}",
            rest in "[a-zA-Z0-9 ,\"]{0,40}",
        ) {
            let _ = csv_head(&junk);
            let line = format!("{reg},{hex},{},{rest}", csv_quote(&name));
            let (r, h, n) = csv_head(&line).unwrap();
            prop_assert_eq!((r, h, n.as_ref()), (reg.as_str(), hex.as_str(), name.as_str()));
        }
    }

    #[test]
    fn csv_quoting() {
        let head = |l| csv_head(l).map(|(r, h, n)| (r, h, n.into_owned()));
        let f = |r, h, n: &str| Some((r, h, n.to_owned()));
        assert_eq!(
            head(r#"MA-L,0080F4,"ACME, Inc.","a ""b"" c""#),
            f("MA-L", "0080F4", "ACME, Inc.")
        );
        assert_eq!(
            head(r#"MA-L,0080F4,"The ""Best"", Ltd",x"#),
            f("MA-L", "0080F4", r#"The "Best", Ltd"#)
        );
        assert_eq!(
            head("MA-M,001B1B5,Plain Name,Street 1"),
            f("MA-M", "001B1B5", "Plain Name")
        );
        assert_eq!(head("MA-S,0050C2000,Last"), f("MA-S", "0050C2000", "Last"));
        assert_eq!(
            head(r#"MA-L,0080F4,"unterminated"#),
            f("MA-L", "0080F4", "unterminated")
        );
        assert_eq!(head("MA-L,0080F4"), None);
        assert_eq!(clean_name("  Siemens \t AG,  "), "Siemens AG");
        assert_eq!(clean_name(" , "), "");
    }

    #[test]
    fn loads_from_a_directory() {
        let dir = std::env::temp_dir().join(format!("sluice-oui-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("oui.csv"),
            "Registry,Assignment,Organization Name,Organization Address\nMA-L,001B1B,Siemens AG,Nuremberg\n",
        )
        .unwrap();
        std::fs::write(
            dir.join("mam.csv"),
            "Registry,Assignment,Organization Name,Organization Address\nMA-M,001B1B5,Special   Block,x\n",
        )
        .unwrap();
        let db = OuiDb::load(&dir);
        assert_eq!(
            db.vendor(&[0x00, 0x1b, 0x1b, 0x01, 0, 0]),
            Some("Siemens AG")
        );
        assert_eq!(
            db.vendor(&[0x00, 0x1b, 0x1b, 0x51, 0, 0]),
            Some("Special Block")
        );
        assert_eq!(db.vendor(&[0x02, 0x1b, 0x1b, 0x01, 0, 0]), None);
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn debian_registry_when_installed() {
        let db = OuiDb::global();
        if db.is_empty() {
            eprintln!("SKIP: /usr/share/ieee-data not installed (Debian package ieee-data)");
            return;
        }
        // Siemens AG holds 00:1B:1B in the IEEE registry.
        let v = db.vendor(&[0x00, 0x1b, 0x1b, 0, 0, 1]).unwrap_or("");
        assert!(v.to_lowercase().contains("siemens"), "got {v}");
    }
}
