//! The `unsafe` audit (docs/unsafe.md), enforced: every crate root of the workspace
//! (library, binary, `src/bin/*`) and every fuzz target carries
//! `#![forbid(unsafe_code)]`, and no Rust file anywhere in `crates/` or `fuzz/`
//! (tests, benches and build scripts included) uses `unsafe` or an attribute that is
//! unsafe in disguise (`no_mangle`, `export_name`, `link_section`).
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

const FORBID: &str = "#![forbid(unsafe_code)]";

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = e.file_name().to_string_lossy().into_owned();
        if p.is_dir() {
            if !matches!(
                name.as_str(),
                "target" | "corpus" | "artifacts" | "regressions"
            ) && !name.starts_with('.')
            {
                rs_files(&p, out);
            }
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

/// Crate roots of one workspace member: `src/lib.rs`, `src/main.rs`, `src/bin/*.rs`
/// and any `path = "..."` of a `[lib]` or `[[bin]]` in its manifest.
fn crate_roots(member: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for rel in ["src/lib.rs", "src/main.rs"] {
        let p = member.join(rel);
        if p.exists() {
            v.push(p);
        }
    }
    if let Ok(rd) = std::fs::read_dir(member.join("src/bin")) {
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().is_some_and(|x| x == "rs") {
                v.push(p);
            } else if p.join("main.rs").exists() {
                v.push(p.join("main.rs"));
            }
        }
    }
    if let Ok(m) = std::fs::read_to_string(member.join("Cargo.toml")) {
        let mut section = String::new();
        for line in m.lines() {
            let t = line.trim();
            if t.starts_with('[') {
                section = t.to_string();
            } else if (section == "[lib]" || section == "[[bin]]") && t.starts_with("path") {
                if let Some(p) = t.split('"').nth(1) {
                    let p = member.join(p);
                    if p.exists() && !v.contains(&p) {
                        v.push(p);
                    }
                }
            }
        }
    }
    v
}

#[test]
fn every_crate_root_forbids_unsafe_code() {
    let root = repo();
    let mut roots = Vec::new();
    for e in std::fs::read_dir(root.join("crates")).unwrap().flatten() {
        if e.path().join("Cargo.toml").exists() {
            roots.extend(crate_roots(&e.path()));
        }
    }
    let mut fuzz = Vec::new();
    rs_files(&root.join("fuzz/fuzz_targets"), &mut fuzz);
    roots.extend(fuzz);
    roots.sort();
    let missing: Vec<String> = roots
        .iter()
        .filter(|p| {
            !std::fs::read_to_string(p)
                .unwrap_or_default()
                .lines()
                .any(|l| l.trim() == FORBID)
        })
        .map(|p| p.strip_prefix(&root).unwrap_or(p).display().to_string())
        .collect();
    println!("{} crate roots checked", roots.len());
    assert!(
        roots.len() >= 15,
        "only {} crate roots found: is the layout still crates/*?",
        roots.len()
    );
    assert!(
        missing.is_empty(),
        "crate roots without {FORBID}: {missing:?}"
    );
}

/// Source text with comments, string and character literals blanked out.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == b'/' && next == Some(b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if c == b'/' && next == Some(b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == b'r'
            && (next == Some(b'"') || next == Some(b'#'))
            && !b
                .get(i.wrapping_sub(1))
                .is_some_and(|p| p.is_ascii_alphanumeric() || *p == b'_')
        {
            // raw string r"..." / r#"..."#
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&b'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&b'"') {
                out.push('r');
                i += 1;
                continue;
            }
            j += 1;
            loop {
                match b.get(j) {
                    None => break,
                    Some(b'"')
                        if b[j + 1..]
                            .iter()
                            .take(hashes)
                            .filter(|&&x| x == b'#')
                            .count()
                            == hashes =>
                    {
                        j += 1 + hashes;
                        break;
                    }
                    _ => j += 1,
                }
            }
            i = j;
            out.push_str("\"\"");
        } else if c == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push_str("\"\"");
        } else if c == b'\'' {
            // a char literal ('x', '\n', '\u{..}') or a lifetime ('a)
            let close = b[i + 1..].iter().take(12).position(|&x| x == b'\'');
            match close {
                Some(k) if k == 1 || b.get(i + 1) == Some(&b'\\') => {
                    i += k + 2;
                    out.push_str("' '");
                }
                _ => {
                    out.push('\'');
                    i += 1;
                }
            }
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

fn unsafe_uses(code: &str) -> Vec<&'static str> {
    let mut found = Vec::new();
    let words: Vec<&str> = code
        .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|w| !w.is_empty())
        .collect();
    if words.contains(&"unsafe") {
        found.push("unsafe");
    }
    for attr in ["no_mangle", "export_name", "link_section"] {
        if words.contains(&attr) {
            found.push(attr);
        }
    }
    found
}

#[test]
fn no_rust_file_uses_unsafe() {
    let root = repo();
    let mut files = Vec::new();
    rs_files(&root.join("crates"), &mut files);
    rs_files(&root.join("fuzz"), &mut files);
    assert!(files.len() > 50, "{} files", files.len());
    let mut bad = Vec::new();
    for f in &files {
        let src = std::fs::read_to_string(f).unwrap_or_default();
        // `forbid(unsafe_code)` names the lint, not a use.
        let code = code_only(&src).replace("unsafe_code", "");
        let uses = unsafe_uses(&code);
        if !uses.is_empty() {
            bad.push(format!(
                "{}: {uses:?}",
                f.strip_prefix(&root).unwrap_or(f).display()
            ));
        }
    }
    println!("{} Rust files scanned", files.len());
    assert!(bad.is_empty(), "unsafe code found: {bad:#?}");
}

#[test]
fn the_scanner_sees_through_comments_and_strings() {
    let src = "// unsafe in a comment\n/* unsafe { } */ let s = \"unsafe\"; let r = r#\"unsafe\"#;\nlet c = 'u'; fn f<'a>(x: &'a u8) {}";
    assert!(
        unsafe_uses(&code_only(src)).is_empty(),
        "{}",
        code_only(src)
    );
    assert_eq!(
        unsafe_uses(&code_only("fn f() { unsafe { g() } }")),
        ["unsafe"]
    );
    assert_eq!(
        unsafe_uses(&code_only("#[no_mangle] pub fn f() {}")),
        ["no_mangle"]
    );
}
