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

/// The memory bounds of the engine, shared by `analyze` and `sense`. What exceeds them
/// is counted in the summary's drops, never an out-of-memory.
#[derive(clap::Args, Clone, Copy, Debug)]
pub struct Limits {
    /// Cap on concurrently tracked flows (about 2 KiB each).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_flows: usize,
    /// Cap on bytes buffered for TCP reassembly, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_reassembly_mib: usize,
    /// Cap on inventoried devices (about 2.3 KiB each): new addresses beyond it are
    /// counted, not tracked.
    #[arg(long, default_value_t = 100_000)]
    pub max_assets: usize,
}

impl Limits {
    /// The engine configuration with these bounds.
    pub fn engine_config(&self) -> EngineConfig {
        let mut cfg = EngineConfig::default();
        cfg.flows.max_flows = self.max_flows.max(1);
        cfg.reassembly_bytes = self.max_reassembly_mib.max(1) << 20;
        cfg.max_assets = self.max_assets.max(1);
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
/// asset observations instead of adding to them.
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

pub fn open_events(path: &Path) -> Result<Box<dyn Write + Send>> {
    if path == Path::new("-") {
        Ok(Box::new(BufWriter::with_capacity(
            1 << 20,
            std::io::stdout(),
        )))
    } else {
        let f = File::create(path)
            .with_context(|| format!("{}: cannot create events file", path.display()))?;
        Ok(Box::new(BufWriter::with_capacity(1 << 20, f)))
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
    let events = match &args.events {
        Some(p) => Some(open_events(p)?),
        None => None,
    };
    let inputs: Vec<String> = args.pcaps.iter().map(|p| p.display().to_string()).collect();
    let key = source_key(&args.pcaps);
    let detection =
        crate::detection::setup(args.config.as_deref(), &args.detect, store.as_ref(), false)?;
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
        Some(s) => Some(s.begin_run(now_ns(), &inputs, &key)?),
        None => None,
    };

    let cfg = args.limits.engine_config();
    let mut pipe = Pipeline::new(cfg, args.workers.clamp(1, 64), sinks)?;

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
