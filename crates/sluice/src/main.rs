//! `sluice`: the command line.
#![forbid(unsafe_code)]

mod analyze;
mod assess;
mod demo;
mod detection;
mod gate;
mod pipeline;
mod query;
mod sense;
mod serve;
mod table;
mod user;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// Sluice: OT/IT convergence security. Sees every ICS transaction, knows every asset.
#[derive(Parser)]
#[command(name = "sluice", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// Output format of the query commands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
}

#[derive(Subcommand)]
enum Command {
    /// Analyse capture files (pcap, pcapng, optionally gzip-compressed) into the store.
    Analyze(analyze::AnalyzeArgs),
    /// Analyse live traffic on an interface until stopped (Ctrl-C / SIGTERM).
    Sense(sense::SenseArgs),
    /// List the assets in the store.
    Assets(query::QueryArgs),
    /// List the flows in the store.
    Flows(query::QueryArgs),
    /// List protocol transactions and anomalies in the store.
    Events(query::EventArgs),
    /// List the alerts in the store.
    Alerts(detection::AlertsArgs),
    /// Check a zone/conduit policy, or suggest one from the traffic in the store.
    Policy(detection::PolicyArgs),
    /// Show or diff the learned baselines in the store.
    Baseline(detection::BaselineArgs),
    /// Serve the web console and HTTP API (default 127.0.0.1:8080).
    Serve(serve::ServeArgs),
    /// Manage console users: passwords, TOTP enrolment, roles, API tokens.
    User(user::UserArgs),
    /// First run: simulated water-plant traffic with an intrusion, analysed, console served.
    Demo(demo::DemoArgs),
    /// Zero-trust Modbus/TCP gateway: TLS roles, MFA approvals, safety envelopes, audit.
    Gate(gate::GateArgs),
    /// Evidence-based IEC 62443 / NIST CSF 2.0 / CIS assessment: scores, gaps, roadmap.
    Assess(assess::AssessArgs),
}

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("SLUICE_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match cli.command {
        Command::Analyze(a) => analyze::run(a),
        Command::Sense(a) => sense::run(a),
        Command::Assets(q) => query::assets(q),
        Command::Flows(q) => query::flows(q),
        Command::Events(q) => query::events(q),
        Command::Alerts(a) => detection::alerts(a),
        Command::Policy(a) => detection::policy(a),
        Command::Baseline(a) => detection::baseline(a),
        Command::Serve(a) => serve::run(a),
        Command::User(a) => user::run(a),
        Command::Demo(a) => demo::run(a),
        Command::Gate(a) => gate::run(a),
        Command::Assess(a) => assess::run(a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("sluice: error: {e:#}");
            ExitCode::from(2)
        }
    }
}

/// The default store path.
pub fn default_db() -> PathBuf {
    PathBuf::from("sluice.db")
}
