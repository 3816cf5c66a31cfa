//! `sluice serve`: the web console and HTTP API.
use anyhow::{Context, Result};
use sluice_console::{auth, Console, ConsoleConfig, TlsFiles};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct ServeArgs {
    /// The store (SQLite) to show.
    #[arg(long, default_value = "sluice.db")]
    pub db: PathBuf,
    /// Site policy (zones, conduits) for the Purdue map and the zone matrix.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub listen: String,
    /// TLS certificate chain (PEM); serves HTTPS with --tls-key.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
}

pub fn run(args: ServeArgs) -> Result<ExitCode> {
    let tls = match (args.tls_cert, args.tls_key) {
        (Some(cert), Some(key)) => Some(TlsFiles { cert, key }),
        _ => None,
    };
    serve(&args.db, args.config.as_deref(), &args.listen, tls, None)?;
    Ok(ExitCode::SUCCESS)
}

/// Serves the console until Ctrl-C or SIGTERM. `banner` is printed once listening.
pub fn serve(
    db: &Path,
    config: Option<&Path>,
    listen: &str,
    tls: Option<TlsFiles>,
    banner: Option<String>,
) -> Result<()> {
    if let Some(c) = config {
        if !c.exists() {
            anyhow::bail!("{}: no such policy file", c.display());
        }
    }
    let mut cfg = ConsoleConfig::new(db);
    cfg.policy = config.map(Path::to_path_buf);
    cfg.tls = tls.is_some();
    let console = Console::open(&cfg)?;
    let users = console.db().run_sync(auth::user_count)?;
    let scheme = if tls.is_some() { "https" } else { "http" };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    let db_text = db.display().to_string();
    rt.block_on(sluice_console::serve(
        console,
        listen,
        tls,
        |addr| {
            if let Some(b) = &banner {
                eprintln!("{b}");
            }
            eprintln!("sluice: console on {scheme}://{addr}/  (store {db_text}; Ctrl-C stops)");
            if users == 0 {
                eprintln!(
                    "sluice: no users yet. Create the first administrator with:\n  sluice user add NAME --role admin --db {db_text}"
                );
            }
        },
        shutdown_signal(),
    ))?;
    eprintln!("sluice: console stopped");
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(_) => std::future::pending::<()>().await,
            }
        };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {},
            _ = term => {},
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
