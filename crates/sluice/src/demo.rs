//! `sluice demo`: a newcomer's first run. Generates the simulated water plant's traffic
//! (HMIs polling PLCs, historian, engineering workstation, office, and an Oldsmar-style
//! intrusion), writes the example policy, analyses the capture into a fresh store with the
//! same code as `sluice analyze`, creates a demo user, and serves the console.
use crate::analyze::{self, AnalyzeArgs};
use anyhow::{Context, Result};
use clap::Parser;
use sluice_console::auth::{self, Role};
use sluice_console::db;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct DemoArgs {
    /// Address the console listens on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// Folder for the capture, the policy and the store (replaced if present).
    #[arg(long, default_value = "sluice-demo")]
    pub dir: PathBuf,
    /// Scenario seed (the same seed gives the same capture).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Prepare everything but do not serve (for scripts and tests).
    #[arg(long)]
    pub no_serve: bool,
}

/// The example policy of DESIGN.md (the Riverside Water Treatment plant).
pub const EXAMPLE_POLICY: &str = sluice_policy::EXAMPLE;

/// `sluice analyze` arguments, parsed the way the command line would (so that options
/// added to `analyze` keep their defaults here).
#[derive(Parser)]
struct AnalyzeCli {
    #[command(flatten)]
    args: AnalyzeArgs,
}

/// What `prepare` made.
pub struct Prepared {
    pub db: PathBuf,
    pub policy: PathBuf,
    pub user: String,
    pub password: String,
    pub secret: String,
    pub uri: String,
}

fn remove_store(db: &Path) -> Result<()> {
    for suffix in ["", "-wal", "-shm", "-journal"] {
        let mut p = db.as_os_str().to_owned();
        p.push(suffix);
        let p = PathBuf::from(p);
        if p.exists() {
            std::fs::remove_file(&p).with_context(|| format!("{}: cannot remove", p.display()))?;
        }
    }
    Ok(())
}

/// Writes the capture and the policy, analyses into a fresh store, creates the demo user.
pub fn prepare(dir: &Path, seed: u64) -> Result<Prepared> {
    std::fs::create_dir_all(dir).with_context(|| format!("{}: cannot create", dir.display()))?;
    let pcap = dir.join("water-plant.pcap");
    let policy = dir.join("sluice.toml");
    let db = dir.join("sluice.db");
    {
        let f =
            File::create(&pcap).with_context(|| format!("{}: cannot create", pcap.display()))?;
        let mut w = BufWriter::new(f);
        let n = sluice_synth::scenario::write_scenario("demo", seed, &mut w)
            .with_context(|| format!("{}: cannot write the demo capture", pcap.display()))?;
        std::io::Write::flush(&mut w)
            .with_context(|| format!("{}: cannot write", pcap.display()))?;
        eprintln!(
            "sluice demo: {} ({n} packets of simulated plant traffic)",
            pcap.display()
        );
    }
    std::fs::write(&policy, EXAMPLE_POLICY)
        .with_context(|| format!("{}: cannot write", policy.display()))?;
    remove_store(&db)?;
    let cli = AnalyzeCli::try_parse_from([
        std::ffi::OsStr::new("analyze"),
        pcap.as_os_str(),
        std::ffi::OsStr::new("--db"),
        db.as_os_str(),
        std::ffi::OsStr::new("--config"),
        policy.as_os_str(),
    ])
    .context("analyze arguments")?;
    let code = analyze::run(cli.args)?;
    // 1 means findings (when asked to fail on them): the demo has findings by design.
    if code != ExitCode::SUCCESS && code != ExitCode::from(1) {
        anyhow::bail!("{}: analysis failed", pcap.display());
    }
    let store = db::open_store(&db)?;
    let password = auth::random_hex(8)?;
    let user = "demo".to_string();
    let e = auth::add_user(store.conn(), &user, Role::Admin, &password)?;
    auth::confirm_mfa(store.conn(), &user)?;
    auth::audit(
        store.conn(),
        None,
        "cli",
        "user.add",
        "success",
        "demo (admin)",
    )?;
    Ok(Prepared {
        db,
        policy,
        user,
        password,
        secret: e.secret,
        uri: e.uri,
    })
}

pub fn run(args: DemoArgs) -> Result<ExitCode> {
    let p = prepare(&args.dir, args.seed)?;
    let code = auth::totp_code_at(&p.secret, auth::now())?;
    let qr = sluice_console::svg::qr_terminal(&p.uri).unwrap_or_default();
    let banner = format!(
        "\n{qr}\nSluice demo: the Riverside Water Treatment plant, with an Oldsmar-style intrusion.\n\
         \n  user        {}\n  password    {}\n  TOTP secret {}\n  current code {} (a new one every 30 s; scan the QR code above or the link below with an authenticator app)\n  otpauth     {}\n\
         \n  store {} · policy {}\n",
        p.user,
        p.password,
        p.secret,
        code,
        p.uri,
        p.db.display(),
        p.policy.display()
    );
    if args.no_serve {
        println!("{banner}");
        return Ok(ExitCode::SUCCESS);
    }
    crate::serve::serve(&p.db, Some(&p.policy), &args.listen, None, Some(banner))?;
    Ok(ExitCode::SUCCESS)
}
