//! Replays, on stable, what the fuzzer runs: every file of `fuzz/regressions/<target>/`
//! (inputs that once crashed a target) and the seed corpora, through the same harness
//! functions the cargo-fuzz targets call. Also checks that every parser has a target and
//! every target is wired into the fuzz workspace.
use sluice_harness::{target, targets, Kind};
use sluice_proto::registry::{FRAME_REGISTRY, REGISTRY};
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).to_path_buf()
}

fn shared() -> Option<PathBuf> {
    let p = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../../shared/data"));
    if p.join("pcaps").is_dir() {
        Some(p.to_path_buf())
    } else {
        println!("SKIP: ../shared/data not found (synthesised seeds only)");
        None
    }
}

#[test]
fn every_parser_and_transport_has_a_target() {
    for d in REGISTRY {
        for &t in d.transports {
            let want = Kind::Stream {
                protocol: d.name,
                transport: t,
            };
            assert!(
                targets().any(|x| x.kind == want),
                "no fuzz target for {} over {t:?}",
                d.name
            );
        }
    }
    for d in FRAME_REGISTRY {
        let want = Kind::Frame { protocol: d.name };
        assert!(
            targets().any(|x| x.kind == want),
            "no fuzz target for {}",
            d.name
        );
    }
    for name in [
        "capture",
        "pcapng",
        "capture_gzip",
        "reassembly",
        "engine",
        "policy",
        "gate",
    ] {
        assert!(target(name).is_some(), "{name}");
    }
}

#[test]
fn every_target_is_a_one_line_cargo_fuzz_target() {
    let fuzz = repo().join("fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).unwrap();
    let mut names: Vec<&str> = targets().map(|t| t.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), targets().count(), "duplicate target names");
    for name in &names {
        let file = fuzz.join(format!("fuzz_targets/{name}.rs"));
        let src =
            std::fs::read_to_string(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert!(
            src.contains(&format!("sluice_harness::{name}(data)")),
            "{} does not call sluice_harness::{name}",
            file.display()
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{name}\"\npath = \"fuzz_targets/{name}.rs\""
            )),
            "fuzz/Cargo.toml has no [[bin]] {name}"
        );
    }
    for e in std::fs::read_dir(fuzz.join("fuzz_targets")).unwrap() {
        let p = e.unwrap().path();
        let stem = p.file_stem().unwrap().to_string_lossy().into_owned();
        assert!(
            names.contains(&stem.as_str()),
            "{} is not a harness target",
            p.display()
        );
    }
}

#[test]
fn regression_inputs_replay_without_panic() {
    let dir = repo().join("fuzz/regressions");
    let Ok(rd) = std::fs::read_dir(&dir) else {
        println!("no {}", dir.display());
        return;
    };
    let mut n = 0;
    for e in rd {
        let d = e.unwrap().path();
        if !d.is_dir() {
            continue;
        }
        let name = d.file_name().unwrap().to_string_lossy().into_owned();
        let t = target(&name).unwrap_or_else(|| panic!("{}: no such target", d.display()));
        for f in std::fs::read_dir(&d).unwrap() {
            let f = f.unwrap().path();
            if f.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with('.'))
            {
                continue;
            }
            let bytes = std::fs::read(&f).unwrap();
            println!("replaying {}", f.display());
            (t.run)(&bytes);
            n += 1;
        }
    }
    println!("{n} regression inputs replayed");
}

#[test]
fn seed_corpora_replay_without_panic() {
    let shared = shared();
    let corpus = sluice_harness::seeds::collect(shared.as_deref());
    let mut total = 0;
    for t in targets() {
        let seeds = corpus.get(t.name);
        for s in seeds {
            (t.run)(s);
        }
        println!("{:<14} {:>4} seeds", t.name, seeds.len());
        total += seeds.len();
    }
    // The synthesised scenarios alone seed the targets of the protocols they carry.
    for name in [
        "modbus",
        "s7comm",
        "http",
        "dns",
        "tls",
        "vnc",
        "capture",
        "pcapng",
        "capture_gzip",
        "reassembly",
        "engine",
        "policy",
        "gate",
        "dns_tcp",
        "ftp",
        "telnet",
        "teamviewer",
        "anydesk",
        "sv",
    ] {
        assert!(!corpus.get(name).is_empty(), "no seeds for {name}");
    }
    if shared.is_some() {
        for name in [
            "dnp3", "enip", "iec104", "bacnet", "opcua", "mms", "mqtt", "goose",
        ] {
            assert!(!corpus.get(name).is_empty(), "no seeds for {name}");
        }
    }
    println!("{total} seeds replayed");
}
