//! `sluice gate`: a zero-trust Modbus/TCP gateway in front of a legacy PLC.
//!
//! Clients reach the gate over Modbus/TCP Security (TLS 1.2/1.3, mutual
//! authentication against a configured CA with expiry and revocation lists, the role
//! taken from the certificate's extension 1.3.6.1.4.1.50316.802.1) or, from listed
//! addresses, over plain Modbus/TCP. Each request is decided in order:
//!
//! 1. decodable and consistent (else exception 03, or 02 for an address overflow);
//! 2. the client's role allows its unit, function and address ranges (else 01 for
//!    a function, 02 otherwise, or the configured `deny_exception`);
//! 3. a write to a `[[critical]]` register needs an open approval for this client
//!    (opened with a TOTP code by an enrolled approver), which it uses up;
//! 4. every value written to a register bounded by the policy's `[[envelope]]` is
//!    within min/max and, against the PLC's current value, max_step (else 03) —
//!    even when approved;
//!
//! and then forwarded over a reused upstream connection with its own transaction
//! id. An unreachable PLC answers 0x0B. Every decision goes to the audit log, the
//! state database and, for denials, the alert outputs. SIGHUP reloads the
//! configuration without dropping connections.
#![forbid(unsafe_code)]

pub mod approval;
pub mod audit;
pub mod config;
pub mod control;
pub mod ranges;
pub mod request;
pub mod server;
pub mod state;
pub mod tls;
pub mod upstream;

pub use approval::{enroll, ApprovalRequest};
pub use config::{Config, ConfigError};
pub use control::{ControlRequest, ControlResponse};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::watch;

/// Why the gate cannot start or a command fails.
#[derive(Debug, thiserror::Error)]
pub enum GateError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("state database: {0}")]
    State(String),
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("{0}")]
    Approval(String),
    #[error("control socket {}: {message}", path.display())]
    Control { path: PathBuf, message: String },
    #[error("{0}")]
    Runtime(String),
}

/// Start-up options beyond the configuration file.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Alert events (JSON lines) besides the configuration's `events`.
    pub events: Option<PathBuf>,
}

/// A running gate.
pub struct GateHandle {
    shared: Arc<server::Shared>,
    stop: watch::Sender<bool>,
    tls_addr: Option<SocketAddr>,
    plain_addr: Option<SocketAddr>,
    control: PathBuf,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    audit_join: Option<std::thread::JoinHandle<()>>,
}

/// Starts a gate from a configuration file (within a Tokio runtime).
pub async fn start(config_path: &Path, opts: Options) -> Result<GateHandle, GateError> {
    let cfg = Config::load(config_path)?;
    let snap = server::Snapshot::load(cfg, 1)?;
    let cfg = &snap.config;
    let db = state::StateDb::open(&cfg.state)?;
    let approvals = approval::Approvals::new(db.open_approvals(approval::now_ns())?);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| GateError::Io { path, source }
    };
    let log = audit::open_append(&cfg.audit_log).map_err(io(&cfg.audit_log))?;
    let events_path = opts.events.clone().or_else(|| cfg.events.clone());
    let events = match &events_path {
        Some(p) => Some(audit::open_append(p).map_err(io(p))?),
        None => None,
    };
    let tls_listener = match cfg.listen_tls {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|source| GateError::Listen { addr: a, source })?,
        ),
        None => None,
    };
    let plain_listener = match cfg.listen_plain {
        Some(a) => Some(
            tokio::net::TcpListener::bind(a)
                .await
                .map_err(|source| GateError::Listen { addr: a, source })?,
        ),
        None => None,
    };
    let control_listener = control::bind(&cfg.control)?;
    let control_path = cfg.control.clone();
    let (audit_tx, audit_join) = audit::spawn(audit::AuditSinks {
        db,
        log,
        events,
        upstream: cfg.upstream,
    })
    .map_err(|e| GateError::Runtime(format!("audit thread: {e}")))?;
    let (stop, stop_rx) = watch::channel(false);
    let shared = Arc::new(server::Shared::new(
        snap,
        audit_tx,
        approvals,
        stop_rx,
        config_path.to_path_buf(),
    ));
    let mut tasks = Vec::new();
    let mut tls_addr = None;
    let mut plain_addr = None;
    if let Some(l) = tls_listener {
        tls_addr = l.local_addr().ok();
        tasks.push(tokio::spawn(server::accept_loop(
            l,
            shared.clone(),
            audit::Transport::Tls,
        )));
    }
    if let Some(l) = plain_listener {
        plain_addr = l.local_addr().ok();
        tasks.push(tokio::spawn(server::accept_loop(
            l,
            shared.clone(),
            audit::Transport::Plain,
        )));
    }
    tasks.push(tokio::spawn(control::serve(
        control_listener,
        shared.clone(),
    )));
    Ok(GateHandle {
        shared,
        stop,
        tls_addr,
        plain_addr,
        control: control_path,
        tasks,
        audit_join: Some(audit_join),
    })
}

impl GateHandle {
    /// The TLS listener's address (port 0 in the configuration resolved).
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.tls_addr
    }

    pub fn plain_addr(&self) -> Option<SocketAddr> {
        self.plain_addr
    }

    pub fn control_path(&self) -> &Path {
        &self.control
    }

    /// Reloads the configuration (what SIGHUP does).
    pub fn reload(&self) -> Result<u64, ConfigError> {
        self.shared.reload()
    }

    /// Waits until every decision made so far is in the audit log and database.
    pub async fn flush_audit(&self) {
        self.shared.audit.flush().await;
    }

    /// Stops listening, closes client connections, writes the rest of the audit.
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
        self.shared.audit.flush().await;
        let _ = std::fs::remove_file(&self.control);
        // The audit thread ends when the last sender (held by client tasks) is gone;
        // do not wait for stragglers.
        drop(self.audit_join.take());
    }
}

/// Runs a gate until SIGINT or SIGTERM; SIGHUP reloads the configuration.
pub async fn serve(config_path: &Path, opts: Options) -> Result<(), GateError> {
    use tokio::signal::unix::{signal, SignalKind};
    let sig = |k| signal(k).map_err(|e| GateError::Runtime(format!("signal handler: {e}")));
    let mut hup = sig(SignalKind::hangup())?;
    let mut int = sig(SignalKind::interrupt())?;
    let mut term = sig(SignalKind::terminate())?;
    let gate = start(config_path, opts).await?;
    let snap = gate.shared.snapshot();
    eprintln!(
        "sluice gate: tls {} · plain {} → PLC {} · control {} · audit {}",
        gate.tls_addr.map_or("-".into(), |a| a.to_string()),
        gate.plain_addr.map_or("-".into(), |a| a.to_string()),
        snap.config.upstream,
        gate.control.display(),
        snap.config.audit_log.display()
    );
    drop(snap);
    loop {
        tokio::select! {
            _ = hup.recv() => match gate.reload() {
                Ok(g) => eprintln!("sluice gate: configuration reloaded (generation {g})"),
                Err(e) => eprintln!("sluice gate: reload refused, configuration unchanged: {e}"),
            },
            _ = int.recv() => break,
            _ = term.recv() => break,
        }
    }
    eprintln!("sluice gate: stopping");
    gate.shutdown().await;
    Ok(())
}

/// Opens an approval window on the running gate named by the configuration.
pub fn approve(cfg: &Config, req: &ApprovalRequest) -> Result<ControlResponse, GateError> {
    control::request(
        &cfg.control,
        &ControlRequest::Approve {
            user: req.user.clone(),
            code: req.code.clone(),
            registers: req.registers.clone(),
            for_s: req.for_s,
            unit: req.unit,
            client: req.client.clone(),
        },
    )
}
