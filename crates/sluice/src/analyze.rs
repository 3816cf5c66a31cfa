//! `sluice analyze`: captures in; flows, transactions, anomalies and assets out.
use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use sluice_capture::{CaptureError, CaptureReader, MergedReader};
use sluice_engine::event::Event;
use sluice_engine::{Engine, EngineConfig, Stats};
use sluice_store::Store;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::mpsc::{sync_channel, Receiver};
use std::thread;
use std::time::Instant;

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
    /// Cap on concurrently tracked flows.
    #[arg(long, default_value_t = 1_000_000)]
    pub max_flows: usize,
    /// Cap on bytes buffered for TCP reassembly, in MiB.
    #[arg(long, default_value_t = 64)]
    pub max_reassembly_mib: usize,
    /// No summary on standard error.
    #[arg(long, short)]
    pub quiet: bool,
}

/// Events handed to the writer thread per batch.
const BATCH: usize = 8192;

struct Sinks {
    store: Option<Store>,
    events: Option<Box<dyn Write + Send>>,
}

/// Writes batches: JSON lines and the store, each batch in one transaction.
fn writer_loop(rx: Receiver<Vec<Event>>, mut sinks: Sinks) -> (Sinks, Result<()>) {
    let mut result = Ok(());
    let mut json = Vec::with_capacity(BATCH);
    let mut line = Vec::with_capacity(64 * 1024);
    for batch in rx {
        if result.is_err() {
            continue; // drain so the producer never blocks
        }
        json.clear();
        json.extend(batch.iter().map(Event::to_json));
        if let Some(out) = sinks.events.as_mut() {
            line.clear();
            for j in &json {
                line.extend_from_slice(j.as_bytes());
                line.push(b'\n');
            }
            if let Err(e) = out.write_all(&line) {
                result = Err(anyhow::Error::new(e).context("writing events"));
                continue;
            }
        }
        if let Some(store) = sinks.store.as_mut() {
            if let Err(e) = store.insert_events(&batch, &json) {
                result = Err(e.into());
            }
        }
    }
    if let Some(out) = sinks.events.as_mut() {
        if let Err(e) = out.flush() {
            if result.is_ok() {
                result = Err(anyhow::Error::new(e).context("writing events"));
            }
        }
    }
    (sinks, result)
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

fn now_ns() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos() as i64)
        .unwrap_or(0)
}

fn open_events(path: &Path) -> Result<Box<dyn Write + Send>> {
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
    let mut sinks = Sinks { store, events };
    let run_id = match sinks.store.as_mut() {
        Some(s) => Some(s.begin_run(now_ns(), &inputs, &key)?),
        None => None,
    };

    let mut cfg = EngineConfig::default();
    cfg.flows.max_flows = args.max_flows.max(1);
    cfg.reassembly_bytes = args.max_reassembly_mib.max(1) << 20;
    let mut engine = Engine::new(cfg);

    let (tx, rx) = sync_channel::<Vec<Event>>(8);
    let writer = thread::Builder::new()
        .name("sluice-writer".into())
        .spawn(move || writer_loop(rx, sinks))
        .context("cannot start the writer thread")?;

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
    let mut batch: Vec<Event> = Vec::with_capacity(BATCH);
    let mut n: u64 = 0;
    loop {
        match reader.next_packet() {
            Ok(Some((_, p))) => {
                engine.packet(p.ts, p.linktype.0, p.data, p.orig_len);
                n += 1;
                if engine.pending_events() >= 256 {
                    batch.extend(engine.take_events());
                    if batch.len() >= BATCH {
                        let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
                        if tx.send(full).is_err() {
                            break;
                        }
                    }
                }
                if n % 65_536 == 0 {
                    bar.set_position(reader.bytes_read());
                }
            }
            Ok(None) => break,
            Err(e) => {
                // Keep what was decoded so far; record the fault; stop reading.
                engine.anomaly(
                    engine.stats.last_ts.unwrap_or(0),
                    "capture",
                    "corrupt_capture",
                    e.to_string(),
                );
                input_error = Some(e);
                break;
            }
        }
    }
    engine.finish();
    batch.extend(engine.take_events());
    let _ = tx.send(batch);
    drop(tx);
    bar.finish_and_clear();
    let (mut sinks, write_result) = writer
        .join()
        .map_err(|_| anyhow::anyhow!("the writer thread failed"))?;
    let elapsed = started.elapsed();
    let assets = engine.assets.snapshot();
    if let Some(store) = sinks.store.as_mut() {
        store.put_assets(&key, &assets)?;
        let status = match (&input_error, &write_result) {
            (_, Err(_)) => "write_error",
            (Some(_), _) => "input_error",
            _ => "complete",
        };
        if let Some(id) = run_id {
            let stats = serde_json::to_string(&engine.stats).unwrap_or_default();
            store.finish_run(id, now_ns(), status, &stats)?;
        }
    }
    write_result?;
    if !args.quiet {
        print_summary(&args, &engine.stats, assets.len(), elapsed.as_secs_f64());
    }
    if let Some(e) = input_error {
        eprintln!("sluice: error: {e}");
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn print_summary(args: &AnalyzeArgs, st: &Stats, assets: usize, secs: f64) {
    let secs = secs.max(1e-6);
    let per_proto: Vec<String> = st
        .transactions
        .iter()
        .map(|(p, n)| format!("{p} {}", thousands(*n)))
        .collect();
    let drops = st.flows_evicted + st.reassembly_overflows + st.fragments_dropped;
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
        "  decode errors {} · unsupported link {} · tcp gaps {} · drops {} (flows evicted {}, reassembly overflows {}, fragments {})",
        st.decode_errors,
        st.unsupported_link,
        st.tcp_gaps,
        drops,
        st.flows_evicted,
        st.reassembly_overflows,
        st.fragments_dropped
    );
    if !args.no_db {
        eprintln!("  store {}", args.db.display());
    }
}
