//! `fuzz-seeds OUT_DIR [SHARED_DATA]`: writes a seed corpus per fuzz target to
//! `OUT_DIR/<target>/`, from the synthesised scenarios and, when the folder exists,
//! the real captures under `SHARED_DATA/pcaps` (default `../shared/data`).
#![forbid(unsafe_code)]
use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let mut args = std::env::args_os().skip(1);
    let Some(out) = args.next().map(PathBuf::from) else {
        eprintln!("usage: fuzz-seeds OUT_DIR [SHARED_DATA]");
        return ExitCode::from(2);
    };
    let shared = args
        .next()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("../shared/data"));
    let shared = if shared.join("pcaps").is_dir() {
        Some(shared)
    } else {
        eprintln!(
            "fuzz-seeds: {} has no pcaps/: synthesised seeds only",
            shared.display()
        );
        None
    };
    let corpus = sluice_harness::seeds::collect(shared.as_deref());
    match corpus.write(&out) {
        Ok(n) => {
            for t in sluice_harness::targets() {
                let k = corpus.get(t.name).len();
                eprintln!("  {:<14} {k:>4} seeds", t.name);
            }
            eprintln!("fuzz-seeds: {n} seeds written to {}", out.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("fuzz-seeds: {}: {e}", out.display());
            ExitCode::from(2)
        }
    }
}
