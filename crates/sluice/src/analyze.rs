//! `sluice analyze`: captures in; flows, transactions, anomalies and assets out.
use crate::pipeline::{Finished, Pipeline, Sinks};
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_capture::{CaptureError, CaptureReader, MergedReader};
use sluice_engine::{EngineConfig, Stats};
use sluice_store::Store;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

/// The memory bounds of the analysis, shared by `analyze` and `sense`. `--memcap-mib`
/// is the budget; the caps not given explicitly are derived from it (the figures per
/// flow and per asset are measured worst cases, see README's reliability section). What
/// exceeds a cap is counted in the summary's drops, never an out-of-memory.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Limits {
    /// Memory budget in MiB for the whole process's analysis state (flows, reassembly
    /// buffers, assets, detection state; at least 128); the caps below default to
    /// shares of it.
    #[arg(long, default_value_t = 1024)]
    pub memcap_mib: usize,
    /// Cap on concurrently tracked flows, all workers together (about 2 KiB each;
    /// default: what the budget leaves after the other caps).
    #[arg(long)]
    pub max_flows: Option<usize>,
    /// Cap on bytes buffered for TCP reassembly, in MiB (default: an eighth of the
    /// budget, at most 64).
    #[arg(long)]
    pub max_reassembly_mib: Option<usize>,
    /// Cap on inventoried devices (about 2.3 KiB each; default: a quarter of the
    /// budget, at most 100,000): new addresses beyond it are counted, not tracked.
    #[arg(long)]
    pub max_assets: Option<usize>,
}

/// Resident memory of the process before any state: code, allocator, the writer's
/// queues and buffers (measured: about 40 MiB with the store).
const BASE_MIB: usize = 48;
/// The smallest budget honoured (smaller ones are raised to it).
const MIN_MEMCAP_MIB: usize = 128;
/// Worst-case bytes per tracked flow (flow entry, index, application state: 2.2 KiB
/// measured for a TCP slot in a debug build).
const FLOW_BYTES: usize = 2304;
/// Bytes per inventoried device (measured, see `crates/sluice/tests/bounds.rs`).
const ASSET_BYTES: usize = 2355;
/// Bytes per detection state entry (hash table slot and its value, generous).
const DETECT_BYTES: usize = 256;

/// Flows a worker's map has room for before it first grows, in bulk analysis.
const BULK_PRESIZED_FLOWS: usize = 4096;

/// The caps every part of the analysis keeps, all derived from [`Limits`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Caps {
    pub flows: usize,
    pub reassembly_bytes: usize,
    pub assets: usize,
    /// Entries per detection state table.
    pub detect_state: usize,
}

impl Limits {
    /// The caps: explicit ones as given, the rest shares of the memory budget.
    pub fn caps(&self) -> Caps {
        const MIB: usize = 1 << 20;
        let budget = self.memcap_mib.max(MIN_MEMCAP_MIB);
        let reassembly_mib = self
            .max_reassembly_mib
            .unwrap_or_else(|| (budget / 8).min(64))
            .max(1);
        let assets = self
            .max_assets
            .unwrap_or_else(|| (budget / 4 * MIB / ASSET_BYTES).min(100_000))
            .max(1);
        let detect_state =
            (budget / 16 * MIB / DETECT_BYTES).clamp(1024, sluice_detect::DEFAULT_MAX_STATE);
        let used = BASE_MIB * MIB
            + reassembly_mib * MIB
            + assets.saturating_mul(ASSET_BYTES)
            + detect_state.saturating_mul(DETECT_BYTES);
        let flows = self
            .max_flows
            .unwrap_or_else(|| (budget * MIB).saturating_sub(used) / FLOW_BYTES)
            .max(1);
        Caps {
            flows,
            reassembly_bytes: reassembly_mib * MIB,
            assets,
            detect_state,
        }
    }

    /// The engine configuration of one of `workers` workers: the caps are shared out,
    /// so the process as a whole keeps them.
    pub fn engine_config(&self, workers: usize) -> EngineConfig {
        let caps = self.caps();
        let n = workers.max(1);
        let mut cfg = EngineConfig::default();
        cfg.flows.max_flows = (caps.flows / n).max(1);
        cfg.flows.presized_flows = sluice_engine::PRESIZED_FLOWS / n;
        cfg.reassembly_bytes = (caps.reassembly_bytes / n).max(1 << 20);
        cfg.max_assets = (caps.assets / n).max(1);
        cfg
    }
}

#[derive(clap::Args)]
pub struct AnalyzeArgs {
    /// Capture files (pcap or pcapng, optionally gzip-compressed), read in time order.
    #[arg(required = true)]
    pub pcaps: Vec<PathBuf>,
    /// The store (SQLite) to write.
    #[arg(long, default_value = "sluice.db")]
    pub db: PathBuf,
    /// Do not write a store (events only).
    #[arg(long)]
    pub no_db: bool,
    /// Write events as JSON lines to this file (`-` for standard output).
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Site policy (zones, conduits, envelopes).
    #[arg(long)]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub limits: Limits,
    /// Engine worker threads (packets are dealt out by host pair).
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// No summary on standard error.
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub detect: crate::detection::DetectArgs,
}

/// A content fingerprint of the inputs: re-analysing the same captures replaces their
/// events and asset observations instead of adding to them.
fn source_key(paths: &[PathBuf]) -> String {
    let mut parts: Vec<String> = paths
        .iter()
        .map(|p| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            let mut feed = |b: &[u8]| {
                for x in b {
                    h ^= u64::from(*x);
                    h = h.wrapping_mul(0x0100_0000_01b3);
                }
            };
            if let Ok(mut f) = File::open(p) {
                let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                feed(&len.to_le_bytes());
                let mut buf = vec![0u8; 64 * 1024];
                if let Ok(n) = f.read(&mut buf) {
                    feed(&buf[..n]);
                }
                if len > 128 * 1024 && f.seek(SeekFrom::End(-(64 * 1024))).is_ok() {
                    if let Ok(n) = f.read(&mut buf) {
                        feed(&buf[..n]);
                    }
                }
            }
            format!("{h:016x}")
        })
        .collect();
    parts.sort();
    parts.join("+")
}

pub fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

/// The events output. The writer hands it whole batches of lines (hundreds of
/// kilobytes in bulk analysis), which a buffer smaller than they are passes straight
/// to the file: a 1 MiB buffer copied every batch once more (5 % of the writer thread).
/// Live batches (a packet's events) still gather in it until the flush after each.
pub fn open_events(path: &Path) -> Result<Box<dyn Write + Send>> {
    const BUFFER: usize = 64 << 10;
    if path == Path::new("-") {
        Ok(Box::new(BufWriter::with_capacity(
            BUFFER,
            std::io::stdout(),
        )))
    } else {
        let f = File::create(path)
            .with_context(|| format!("{}: cannot create events file", path.display()))?;
        Ok(Box::new(BufWriter::with_capacity(BUFFER, f)))
    }
}

pub fn run(args: AnalyzeArgs) -> Result<ExitCode> {
    if let Some(cfg) = &args.config {
        if !cfg.exists() {
            anyhow::bail!("{}: no such policy file", cfg.display());
        }
    }
    // Open every input first: a file that is no capture fails before any work.
    let mut readers = Vec::new();
    for p in &args.pcaps {
        readers.push(CaptureReader::open(p)?);
    }
    let mut reader = MergedReader::new(readers);
    let store = if args.no_db {
        None
    } else {
        Some(Store::open(&args.db)?)
    };
    // Checkpoints run beside the store thread: it no longer stops to copy the WAL into
    // the database and sync it (0.45 s of the 2M-packet bench run, ~9 % faster).
    let checkpointer = match &store {
        Some(s) => Some(s.background_checkpoints(std::time::Duration::from_millis(100))?),
        None => None,
    };
    let events = match &args.events {
        Some(p) => Some(open_events(p)?),
        None => None,
    };
    let inputs: Vec<String> = args.pcaps.iter().map(|p| p.display().to_string()).collect();
    let key = source_key(&args.pcaps);
    let detection = crate::detection::setup(
        args.config.as_deref(),
        &args.detect,
        store.as_ref(),
        false,
        args.limits.caps().detect_state,
    )?;
    let mut sinks = Sinks {
        store,
        events,
        flush_each_batch: false,
        hook: match &detection {
            Some(d) => Some(d.hook(&args.detect, false)?),
            None => None,
        },
    };
    let run_id = match sinks.store.as_mut() {
        Some(s) => {
            let replaced = s.replace_source(&key)?;
            for (run, earlier) in &replaced.overlapping {
                eprintln!(
                    "sluice: warning: run {run} analysed {} together with other files; the \
                     events of the files shared with this run are now stored twice in {} \
                     (analyse all of them together to replace that run)",
                    earlier.join(" "),
                    args.db.display()
                );
            }
            Some(s.begin_run(now_ns(), &inputs, &key)?)
        }
        None => None,
    };

    let workers = args.workers.clamp(1, 64);
    let mut cfg = args.limits.engine_config(workers);
    // Nothing waits on one packet here: the flow map grows as the capture needs it.
    cfg.flows.presized_flows = BULK_PRESIZED_FLOWS;
    let mut pipe = Pipeline::new(cfg, workers, sinks)?;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::with_draw_target(reader.total_bytes(), ProgressDrawTarget::stderr());
        if let Ok(style) = ProgressStyle::with_template(
            "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} {msg}",
        ) {
            b.set_style(style);
        }
        b
    };
    let started = Instant::now();
    let mut input_error: Option<CaptureError> = None;
    let mut n: u64 = 0;
    loop {
        match reader.next_packet() {
            Ok(Some((_, p))) => {
                pipe.packet(p.ts, p.linktype.0, p.data, p.orig_len);
                n += 1;
                if n.is_multiple_of(65_536) {
                    bar.set_position(reader.bytes_read());
                }
            }
            Ok(None) => break,
            Err(e) => {
                // Keep what was decoded so far; record the fault; stop reading.
                pipe.anomaly("corrupt_capture", e.to_string());
                input_error = Some(e);
                break;
            }
        }
    }
    bar.finish_and_clear();
    let Finished {
        stats,
        assets,
        mut sinks,
    } = pipe.finish()?;
    let elapsed = started.elapsed();
    if let Some(store) = sinks.store.as_mut() {
        store.put_assets(&key, &assets)?;
        let status = if input_error.is_some() {
            "input_error"
        } else {
            "complete"
        };
        if let Some(id) = run_id {
            let stats = serde_json::to_string(&stats).unwrap_or_default();
            store.finish_run(id, now_ns(), status, &stats)?;
        }
    }
    let detected = match &detection {
        Some(d) => Some(d.finish(sinks.store.as_mut(), &inputs.join(" "))?),
        None => None,
    };
    // A last checkpoint: the database file holds everything.
    drop(checkpointer);
    if !args.quiet {
        print_summary(
            &stats,
            assets.len(),
            elapsed.as_secs_f64(),
            (!args.no_db).then_some(args.db.as_path()),
        );
        if let Some(d) = &detected {
            d.print();
        }
    }
    if let Some(e) = input_error {
        eprintln!("sluice: error: {e}");
        return Ok(ExitCode::from(2));
    }
    if detected.is_some_and(|d| d.failed) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

pub fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

pub fn print_summary(st: &Stats, assets: usize, secs: f64, db: Option<&Path>) {
    let secs = secs.max(1e-6);
    let per_proto: Vec<String> = st
        .transactions
        .iter()
        .map(|(p, n)| format!("{p} {}", thousands(*n)))
        .collect();
    let drops =
        st.flows_evicted + st.reassembly_overflows + st.fragments_dropped + st.assets_dropped;
    eprintln!(
        "sluice: {} packets, {} bytes in {:.2} s ({} packets/s, {:.1} Mbit/s)",
        thousands(st.packets),
        thousands(st.bytes),
        secs,
        thousands((st.packets as f64 / secs) as u64),
        st.bytes as f64 * 8.0 / secs / 1e6
    );
    eprintln!(
        "  flows {} · transactions {}{} · anomalies {} · assets {}",
        thousands(st.flows),
        thousands(st.total_transactions()),
        if per_proto.is_empty() {
            String::new()
        } else {
            format!(" ({})", per_proto.join(", "))
        },
        thousands(st.anomalies),
        assets
    );
    eprintln!(
        "  decode errors {} · unsupported link {} · tcp gaps {} · drops {} (flows evicted {}, reassembly overflows {}, fragments {}, asset updates over cap {})",
        st.decode_errors,
        st.unsupported_link,
        st.tcp_gaps,
        drops,
        st.flows_evicted,
        st.reassembly_overflows,
        st.fragments_dropped,
        st.assets_dropped
    );
    if let Some(db) = db {
        eprintln!("  store {}", db.display());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(memcap_mib: usize) -> Limits {
        Limits {
            memcap_mib,
            max_flows: None,
            max_reassembly_mib: None,
            max_assets: None,
        }
    }

    #[test]
    fn derived_caps_fit_the_budget_and_explicit_caps_win() {
        assert_eq!(limits(64).caps(), limits(MIN_MEMCAP_MIB).caps());
        for budget in [MIN_MEMCAP_MIB, 160, 512, 1024, 4096] {
            let c = limits(budget).caps();
            let total = BASE_MIB * (1 << 20)
                + c.reassembly_bytes
                + c.assets * ASSET_BYTES
                + c.detect_state * DETECT_BYTES
                + c.flows * FLOW_BYTES;
            assert!(total <= budget << 20, "{budget}: {c:?}");
            assert!(c.flows > 1000, "{budget}: {c:?}");
        }
        let c = limits(1024).caps();
        assert_eq!((c.reassembly_bytes >> 20, c.assets), (64, 100_000));
        assert!((250_000..400_000).contains(&c.flows), "{c:?}");
        let mut l = limits(1024);
        l.max_flows = Some(7);
        l.max_assets = Some(9);
        l.max_reassembly_mib = Some(3);
        let c = l.caps();
        assert_eq!((c.flows, c.assets, c.reassembly_bytes), (7, 9, 3 << 20));
        // Workers share the caps.
        let e = limits(1024).engine_config(2);
        assert_eq!(e.flows.max_flows, limits(1024).caps().flows / 2);
        assert_eq!(e.max_assets, 50_000);
        assert_eq!(e.flows.presized_flows, sluice_engine::PRESIZED_FLOWS / 2);
    }
}
