//! `sluice gate`: the zero-trust Modbus/TCP gateway in front of a legacy PLC.
//!
//! - `sluice gate --config gate.toml` runs it (SIGHUP reloads, SIGINT/SIGTERM stop);
//! - `sluice gate enroll --config gate.toml --user NAME` enrols an approver and prints
//!   its `otpauth://` URI;
//! - `sluice gate approve --config gate.toml --user NAME --code CODE --registers 5
//!   [--for SECONDS]` opens an approval window on the running gate.
use anyhow::{bail, Context, Result};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct GateArgs {
    /// Gate configuration (TOML).
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Also append the gate's alert events (JSON lines) to this file.
    #[arg(long)]
    pub events: Option<PathBuf>,
    /// Worker threads.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    #[command(subcommand)]
    pub action: Option<GateAction>,
}

#[derive(clap::Subcommand)]
pub enum GateAction {
    /// Enrol an approver (TOTP) and print its otpauth:// URI for an authenticator app.
    Enroll {
        /// Gate configuration (names the state database).
        #[arg(long)]
        config: PathBuf,
        /// Approver name.
        #[arg(long)]
        user: String,
        /// Replace the secret of an approver already enrolled.
        #[arg(long)]
        force: bool,
    },
    /// Open an approval window for critical writes on the running gate.
    Approve {
        /// Gate configuration (names the control socket).
        #[arg(long)]
        config: PathBuf,
        /// Approver name.
        #[arg(long)]
        user: String,
        /// The approver's current TOTP code.
        #[arg(long)]
        code: String,
        /// Critical registers to open, e.g. `5` or `5-7,9`.
        #[arg(long)]
        registers: String,
        /// Window length in seconds (at most the registers' approval_window_s).
        #[arg(long = "for")]
        for_s: Option<u64>,
        /// Only this unit id.
        #[arg(long)]
        unit: Option<u8>,
        /// The client whose writes are approved (certificate name or plain client
        /// address); default the approver's name.
        #[arg(long)]
        client: Option<String>,
    },
}

pub fn run(args: GateArgs) -> Result<ExitCode> {
    match args.action {
        None => {
            let Some(config) = args.config else {
                bail!("sluice gate needs --config FILE (or a subcommand: enroll, approve)");
            };
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(args.threads.max(1))
                .thread_name("gate")
                .enable_all()
                .build()
                .context("tokio runtime")?;
            let opts = sluice_gate::Options {
                events: args.events,
            };
            rt.block_on(sluice_gate::serve(&config, opts))?;
            Ok(ExitCode::SUCCESS)
        }
        Some(GateAction::Enroll {
            config,
            user,
            force,
        }) => {
            let cfg = sluice_gate::Config::load(&config)?;
            let uri = sluice_gate::enroll(&cfg, &user, force)?;
            println!("{uri}");
            eprintln!(
                "approver {user:?} enrolled in {}: add the URI above to an authenticator app; it holds the secret, keep it private",
                cfg.state.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Some(GateAction::Approve {
            config,
            user,
            code,
            registers,
            for_s,
            unit,
            client,
        }) => {
            let cfg = sluice_gate::Config::load(&config)?;
            let req = sluice_gate::ApprovalRequest {
                user,
                code,
                registers,
                for_s,
                unit,
                client,
            };
            let resp = sluice_gate::approve(&cfg, &req)?;
            if resp.ok {
                println!("{}", resp.message);
                Ok(ExitCode::SUCCESS)
            } else {
                eprintln!("sluice gate: approval refused: {}", resp.message);
                Ok(ExitCode::from(1))
            }
        }
    }
}
