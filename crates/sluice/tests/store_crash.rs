//! Crash safety of the store: `kill -9` of `sluice analyze` while it writes leaves a
//! SQLite file that passes `PRAGMA integrity_check`; analysing the same capture again
//! into it completes, and the final rows equal those of one clean run (no duplicates).
use sluice_store::{Counts, Store};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn sluice() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
}

fn analyze(pcaps: &[PathBuf], db: &Path, policy: &Path) -> std::process::Output {
    sluice()
        .arg("analyze")
        .args(pcaps)
        .arg("--db")
        .arg(db)
        .arg("--config")
        .arg(policy)
        .arg("-q")
        .output()
        .unwrap()
}

/// Row counts of what a run produces (the `runs` table grows by one per run, so it is
/// left out of the comparison).
fn rows(db: &Path) -> Counts {
    let s = Store::open(db).unwrap();
    Counts {
        runs: 0,
        ..s.counts().unwrap()
    }
}

fn integrity(db: &Path) -> String {
    let s = Store::open(db).unwrap();
    s.conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get::<_, String>(0))
        .unwrap()
}

/// Rows written so far, read by a second connection while the writer runs (WAL).
fn rows_so_far(db: &Path) -> u64 {
    if !db.exists() {
        return 0;
    }
    match Store::open(db).and_then(|s| s.counts()) {
        Ok(c) => c.flows + c.transactions,
        Err(_) => 0,
    }
}

#[test]
fn kill_9_mid_run_leaves_a_consistent_store_and_a_rerun_adds_no_duplicates() {
    let dir = tempfile::tempdir().unwrap();
    // Twelve hours of the simulated plant (HMIs polling PLCs, historian, office traffic)
    // with a vendor's remote VNC session, which raises alerts under the example policy:
    // about 240,000 rows, several store transactions of up to 64 Ki rows (a writer
    // behind the engine commits only that often), so the kill lands between commits
    // however busy the machine is.
    let plant = dir.path().join("plant.pcap");
    let mut trace =
        sluice_synth::scenario::vendor_day(7, Duration::from_secs(12 * 3_600)).expect("scenario");
    trace
        .write_pcap(std::io::BufWriter::new(
            std::fs::File::create(&plant).unwrap(),
        ))
        .unwrap();
    let pcap = [plant];
    let policy = dir.path().join("sluice.toml");
    std::fs::write(&policy, sluice_policy::EXAMPLE).unwrap();

    // One clean run: the reference.
    let clean = dir.path().join("clean.db");
    let t = Instant::now();
    let out = analyze(&pcap, &clean, &policy);
    let clean_secs = t.elapsed().as_secs_f64();
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let reference = rows(&clean);
    assert!(
        reference.flows > 0 && reference.transactions > 0 && reference.alerts > 0,
        "{reference:?}"
    );

    // Killed while it writes.
    let db = dir.path().join("crash.db");
    let mut child = sluice()
        .arg("analyze")
        .args(&pcap)
        .arg("--db")
        .arg(&db)
        .arg("--config")
        .arg(&policy)
        .arg("-q")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while Instant::now() < deadline {
        seen = rows_so_far(&db);
        if seen > 0 || child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap(); // SIGKILL
    let status = child.wait().unwrap();
    assert!(
        status.code().is_none(),
        "the run ended before it was killed ({status}); the capture is too small"
    );
    assert!(seen > 0, "no row was written before the kill");
    assert_eq!(integrity(&db), "ok");
    let partial = rows(&db);
    println!(
        "killed after {seen} rows were visible: {partial:?} (clean run: {reference:?}, {clean_secs:.1} s)"
    );
    assert!(
        partial.flows + partial.transactions < reference.flows + reference.transactions,
        "{partial:?}"
    );

    // The re-run completes and ends with exactly the clean run's rows.
    let out = analyze(&pcap, &db, &policy);
    assert!(
        matches!(out.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(integrity(&db), "ok");
    assert_eq!(rows(&db), reference);
    let s = Store::open(&db).unwrap();
    assert_eq!(s.last_run_status().unwrap().as_deref(), Some("complete"));

    // And once more: analysing the same capture again changes nothing.
    analyze(&pcap, &db, &policy);
    assert_eq!(rows(&db), reference);
}
