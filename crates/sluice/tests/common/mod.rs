//! What the binary-level tests share: running `sluice` in a directory and checking that it
//! succeeded.
#![allow(dead_code)]
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// `../shared/data` beside the repository, when present.
pub fn shared() -> Option<PathBuf> {
    let p = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    p.is_dir().then_some(p)
}

/// Runs the `sluice` binary in `dir`. No ATT&CK or framework data unless a test passes
/// it explicitly: a `../shared` beside the temporary directory must not leak in.
pub fn sluice(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(args)
        .current_dir(dir)
        .env("SLUICE_DATA", dir.join("no-such-data"))
        .output()
        .expect("sluice runs")
}

/// Asserts success (printing both streams otherwise); returns standard output.
pub fn ok(o: &Output) -> String {
    assert!(
        o.status.success(),
        "exit {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8_lossy(&o.stdout).into_owned()
}
