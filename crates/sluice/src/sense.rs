//! `sluice sense`: the pipeline on a live interface (libpcap), until SIGINT/SIGTERM.
use crate::analyze::{now_ns, open_events, print_summary};
use crate::pipeline::{Finished, Pipeline, Sinks};
use anyhow::{Context, Result};
use sluice_store::Store;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

#[derive(clap::Args)]
pub struct SenseArgs {
    /// Interface to capture on (e.g. `eth0`, `lo`).
    #[arg(long)]
    pub iface: String,
    /// BPF capture filter (tcpdump syntax).
    #[arg(long)]
    pub filter: Option<String>,
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
    /// Stop after this many packets (0: until stopped).
    #[arg(long, default_value_t = 0)]
    pub count: u64,
    /// Do not put the interface in promiscuous mode.
    #[arg(long)]
    pub no_promisc: bool,
    /// Kernel capture buffer in MiB.
    #[arg(long, default_value_t = 32)]
    pub buffer_mib: i32,
    /// Bytes kept of each frame. Each frame takes a slot of this size in the kernel
    /// ring: on an interface with a large MTU (loopback: 64 KiB) a smaller value lets
    /// the same buffer hold many more frames.
    #[arg(long, default_value_t = 65_535, value_parser = clap::value_parser!(i32).range(64..=262_144))]
    pub snaplen: i32,
    #[arg(long, short)]
    pub quiet: bool,
    #[command(flatten)]
    pub limits: crate::analyze::Limits,
    #[command(flatten)]
    pub detect: crate::detection::DetectArgs,
}

pub fn run(args: SenseArgs) -> Result<ExitCode> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, Arc::clone(&stop))
            .context("cannot install the signal handler")?;
    }
    let mut cap = pcap::Capture::from_device(args.iface.as_str())
        .with_context(|| format!("{}: no such capture interface", args.iface))?
        .promisc(!args.no_promisc)
        .snaplen(args.snaplen)
        .timeout(100)
        .immediate_mode(true)
        .buffer_size(args.buffer_mib.max(1) << 20)
        .open()
        .with_context(|| {
            format!(
                "{}: cannot open for capture (needs root or CAP_NET_RAW)",
                args.iface
            )
        })?
        // Non-blocking: the loop must notice a stop request even on a silent link.
        .setnonblock()
        .with_context(|| format!("{}: cannot switch to non-blocking capture", args.iface))?;
    if let Some(f) = &args.filter {
        cap.filter(f, true)
            .with_context(|| format!("bad capture filter {f:?}"))?;
    }
    let linktype = cap.get_datalink().0 as u32;
    let store = if args.no_db {
        None
    } else {
        Some(Store::open(&args.db)?)
    };
    // Live: checkpoints run beside the writer, so no commit stalls on one; every half
    // second (bulk analysis: 100 ms), as the thread shares the cores with the capture.
    let checkpointer = match &store {
        Some(s) => Some(s.background_checkpoints(std::time::Duration::from_millis(500))?),
        None => None,
    };
    let events = match &args.events {
        Some(p) => Some(open_events(p)?),
        None => None,
    };
    let key = format!("live:{}:{}", args.iface, now_ns());
    let detection = crate::detection::setup(
        args.config.as_deref(),
        &args.detect,
        store.as_ref(),
        true,
        args.limits.caps().detect_state,
    )?;
    let mut sinks = Sinks {
        store,
        events,
        flush_each_batch: true,
        hook: match &detection {
            Some(d) => Some(d.hook(&args.detect, true)?),
            None => None,
        },
    };
    let run_id = match sinks.store.as_mut() {
        Some(s) => Some(s.begin_run(now_ns(), &[format!("iface:{}", args.iface)], &key)?),
        None => None,
    };
    let mut pipe = Pipeline::new(args.limits.engine_config(1), 1, sinks)?;
    sluice_engine::warm_up();
    if !args.quiet {
        eprintln!(
            "sluice: sensing on {} (link type {linktype}); Ctrl-C to stop",
            args.iface
        );
    }
    let started = Instant::now();
    let mut n = 0u64;
    let mut error = None;
    while !stop.load(Ordering::Relaxed) {
        match cap.next_packet() {
            Ok(p) => {
                let ts = p.header.ts.tv_sec * 1_000_000_000 + p.header.ts.tv_usec * 1_000;
                pipe.packet(ts, linktype, p.data, p.header.len);
                // Live: every event leaves at once.
                if pipe.pending_events() > 0 {
                    pipe.flush();
                }
                n += 1;
                if args.count > 0 && n >= args.count {
                    break;
                }
            }
            Err(pcap::Error::TimeoutExpired) => {
                // Live capture timestamps are the wall clock: a quiet link still ages
                // its flows.
                pipe.advance(now_ns());
                pipe.flush();
                std::thread::sleep(std::time::Duration::from_micros(500));
            }
            Err(e) => {
                error = Some(format!("{}: capture failed: {e}", args.iface));
                break;
            }
        }
    }
    let kstats = cap.stats().ok();
    let Finished {
        stats,
        assets,
        mut sinks,
    } = pipe.finish()?;
    let (received, dropped, if_dropped) =
        kstats.map_or((0, 0, 0), |s| (s.received, s.dropped, s.if_dropped));
    let detected = match &detection {
        Some(d) => Some(d.finish(sinks.store.as_mut(), &format!("iface:{}", args.iface))?),
        None => None,
    };
    if let Some(store) = sinks.store.as_mut() {
        store.put_assets(&key, &assets)?;
        if let Some(id) = run_id {
            let mut stats = serde_json::to_value(&stats).unwrap_or_default();
            if let Some(o) = stats.as_object_mut() {
                o.insert("kernel_received".into(), received.into());
                o.insert("kernel_dropped".into(), dropped.into());
                o.insert("interface_dropped".into(), if_dropped.into());
            }
            let status = if error.is_some() {
                "input_error"
            } else {
                "complete"
            };
            store.finish_run(id, now_ns(), status, &stats.to_string())?;
        }
    }
    // A last checkpoint: the database file holds everything.
    drop(checkpointer);
    if !args.quiet {
        print_summary(
            &stats,
            assets.len(),
            started.elapsed().as_secs_f64(),
            (!args.no_db).then_some(args.db.as_path()),
        );
        eprintln!(
            "  kernel: received {received}, dropped {dropped}, interface dropped {if_dropped}"
        );
        if let Some(d) = &detected {
            d.print();
        }
    }
    if let Some(e) = error {
        eprintln!("sluice: error: {e}");
        return Ok(ExitCode::from(2));
    }
    if detected.is_some_and(|d| d.failed) {
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}
