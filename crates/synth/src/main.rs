//! `sluice-synth`: writes the project's own captures.
#![forbid(unsafe_code)]
use clap::{Parser, Subcommand};
use sluice_synth::realstack;
use sluice_synth::replicate::{self, Options};
use sluice_synth::scenario::{self, SCENARIOS};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;

#[derive(Parser)]
#[command(
    name = "sluice-synth",
    version,
    about = "Crafts Sluice's own captures: plant scenarios and large benchmark captures"
)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand)]
enum Cmd {
    /// Writes one scenario of the simulated water-treatment plant as a pcap.
    Scenario {
        /// One of: benign, oldsmar, pivot, s7_stop, recon, demo.
        name: String,
        /// Random seed: the same seed gives a byte-identical file.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Output pcap file.
        #[arg(short, long)]
        output: PathBuf,
    },
    /// Builds a large benchmark capture by replicating the flows of INPUT captures with
    /// distinct addresses, plus synthesised IT bulk traffic, interleaved in time.
    Replicate {
        /// Packets to write.
        #[arg(long)]
        packets: u64,
        /// Output pcap file.
        #[arg(short, long)]
        output: PathBuf,
        /// Share of packets from synthesised IT bulk traffic.
        #[arg(long, default_value_t = 0.2)]
        it_share: f64,
        /// Copies start spread over this many seconds.
        #[arg(long, default_value_t = 60)]
        window_secs: u32,
        /// Random seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Input captures (pcap or pcapng, optionally gzip-compressed).
        inputs: Vec<PathBuf>,
    },
    /// Plays a scenario with real protocol stacks (pymodbus, python-snap7, Xvnc +
    /// vncdotool, http.server + urllib, nmap) on loopback addresses, captures it with
    /// tcpdump and rewrites it to the plant's addresses (needs root and the stacks).
    Realstack {
        /// One of: benign, oldsmar, pivot, s7_stop, recon.
        name: String,
        /// Output pcap file.
        #[arg(short, long)]
        output: PathBuf,
        /// The Python with the stacks (default: $SLUICE_REALSTACK_PYTHON, the
        /// workspace's target/gate-venv, python3).
        #[arg(long)]
        python: Option<PathBuf>,
        /// Also keep the raw loopback capture.
        #[arg(long)]
        keep_raw: Option<PathBuf>,
    },
    /// Lists the scenario names.
    List,
}

fn create(path: &PathBuf) -> Result<BufWriter<File>, String> {
    File::create(path)
        .map(|f| BufWriter::with_capacity(1 << 22, f))
        .map_err(|e| format!("{}: cannot create: {e}", path.display()))
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.cmd {
        Cmd::List => {
            for s in SCENARIOS {
                println!("{s}");
            }
            for s in realstack::SCENARIOS {
                println!("realstack {s}");
            }
            Ok(())
        }
        Cmd::Realstack {
            name,
            output,
            python,
            keep_raw,
        } => {
            let opts = realstack::Options { python, keep_raw };
            let r = realstack::generate(&name, &output, &opts).map_err(|e| e.to_string())?;
            eprintln!(
                "{}: real-stack scenario {name}: {} packets captured on 127.{}.0.0/16, {} written ({} segments cut to the MSS) in {:.1} s",
                output.display(),
                r.stats.read,
                r.block,
                r.stats.written,
                r.stats.split,
                r.elapsed.as_secs_f64()
            );
            Ok(())
        }
        Cmd::Scenario { name, seed, output } => {
            if !SCENARIOS.contains(&name.as_str()) {
                return Err(format!(
                    "unknown scenario {name:?}; known: {}",
                    SCENARIOS.join(", ")
                ));
            }
            let mut out = create(&output)?;
            let n = scenario::write_scenario(&name, seed, &mut out)
                .and_then(|n| out.flush().map(|_| n))
                .map_err(|e| format!("{}: {e}", output.display()))?;
            eprintln!(
                "{}: scenario {name}, seed {seed}: {n} packets",
                output.display()
            );
            Ok(())
        }
        Cmd::Replicate {
            packets,
            output,
            it_share,
            window_secs,
            seed,
            inputs,
        } => {
            if !(0.0..=1.0).contains(&it_share) {
                return Err(format!("--it-share {it_share} is outside 0..1"));
            }
            let opts = Options {
                packets,
                it_share,
                window_ns: i64::from(window_secs.max(1)) * 1_000_000_000,
                seed,
            };
            let out = create(&output)?;
            let t0 = Instant::now();
            let s = replicate::replicate(&inputs, &opts, out).map_err(|e| e.to_string())?;
            let secs = t0.elapsed().as_secs_f64();
            eprintln!(
                "{}: {} packets, {} bytes ({} OT copies, {} IT copies, {} input packets skipped) in {:.1} s",
                output.display(),
                s.packets,
                s.bytes,
                s.ot_copies,
                s.it_copies,
                s.skipped,
                secs
            );
            Ok(())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sluice-synth: {e}");
            ExitCode::from(2)
        }
    }
}
