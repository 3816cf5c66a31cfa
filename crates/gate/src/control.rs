//! The local control socket (a Unix socket, owner-only): one JSON object per line in
//! each direction. `sluice gate approve` opens approval windows through it; `reload`
//! and `status` serve operators and tests.

use crate::approval::{self, now_ns, ApprovalRequest};
use crate::audit::{Action, AuditRecord, Decision, DenyKind, PeerInfo, Transport};
use crate::server::Shared;
use crate::state::StateDb;
use crate::GateError;
use serde::{Deserialize, Serialize};
use serde_json::json;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};

/// A request on the control socket.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum ControlRequest {
    /// Open an approval window with a TOTP code.
    Approve {
        user: String,
        code: String,
        registers: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        for_s: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        unit: Option<u8>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client: Option<String>,
    },
    /// Reload the configuration (as SIGHUP does).
    Reload,
    /// Counters and open approvals.
    Status,
}

/// An approval as reported.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalView {
    pub id: i64,
    pub user: String,
    pub client: String,
    pub unit: Option<u8>,
    pub table: String,
    pub registers: String,
    /// RFC 3339.
    pub expires: String,
    pub max_writes: u32,
    pub used: u32,
}

/// The answer.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ControlResponse {
    pub ok: bool,
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<serde_json::Value>,
}

impl ControlResponse {
    fn err(message: impl Into<String>) -> ControlResponse {
        ControlResponse {
            ok: false,
            message: message.into(),
            approval: None,
            status: None,
        }
    }
}

fn view(a: &crate::state::Approval) -> ApprovalView {
    ApprovalView {
        id: a.id,
        user: a.user.clone(),
        client: a.client.clone(),
        unit: a.unit,
        table: a.table.name().to_string(),
        registers: a.registers.to_string(),
        expires: sluice_engine::time::rfc3339(a.expires),
        max_writes: a.max_writes,
        used: a.used,
    }
}

/// Binds the control socket; a stale socket file is replaced, a live one (another
/// gate) is an error.
pub fn bind(path: &Path) -> Result<UnixListener, GateError> {
    let e = |message: String| GateError::Control {
        path: path.to_path_buf(),
        message,
    };
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(e("another gate is listening on it".into()));
        }
        std::fs::remove_file(path)
            .map_err(|x| e(format!("cannot remove the stale socket: {x}")))?;
    }
    let l = UnixListener::bind(path).map_err(|x| e(x.to_string()))?;
    {
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
    Ok(l)
}

/// Serves the control socket until shutdown.
pub(crate) async fn serve(listener: UnixListener, shared: Arc<Shared>) {
    let mut shutdown = shared.shutdown.clone();
    loop {
        let stream = tokio::select! {
            biased;
            _ = shutdown.changed() => break,
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!("control socket: {e}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move { connection(stream, shared).await });
    }
}

async fn connection(stream: UnixStream, shared: Arc<Shared>) {
    let (rd, mut wr) = stream.into_split();
    let mut lines = tokio::io::BufReader::new(rd.take(64 * 1024)).lines();
    while let Ok(Ok(Some(line))) =
        tokio::time::timeout(Duration::from_secs(30), lines.next_line()).await
    {
        let resp = match serde_json::from_str::<ControlRequest>(&line) {
            Ok(req) => dispatch(req, &shared).await,
            Err(e) => ControlResponse::err(format!("bad request: {e}")),
        };
        let mut text = serde_json::to_string(&resp)
            .unwrap_or_else(|_| "{\"ok\":false,\"message\":\"internal\"}".into());
        text.push('\n');
        if wr.write_all(text.as_bytes()).await.is_err() {
            return;
        }
    }
}

async fn dispatch(req: ControlRequest, shared: &Arc<Shared>) -> ControlResponse {
    match req {
        ControlRequest::Reload => match shared.reload() {
            Ok(g) => ControlResponse {
                ok: true,
                message: format!("configuration reloaded (generation {g})"),
                approval: None,
                status: None,
            },
            Err(e) => ControlResponse::err(format!("reload refused, configuration unchanged: {e}")),
        },
        ControlRequest::Status => {
            let now = now_ns();
            let open: Vec<ApprovalView> = shared
                .approvals
                .lock()
                .map(|mut a| a.open(now).iter().map(view).collect())
                .unwrap_or_default();
            let s = &shared.stats;
            ControlResponse {
                ok: true,
                message: "running".into(),
                approval: None,
                status: Some(json!({
                    "generation": shared.snapshot().generation,
                    "allowed": s.allowed.load(Ordering::Relaxed),
                    "denied": s.denied.load(Ordering::Relaxed),
                    "errors": s.errors.load(Ordering::Relaxed),
                    "connections": s.connections.load(Ordering::Relaxed),
                    "approvals": open,
                })),
            }
        }
        ControlRequest::Approve {
            user,
            code,
            registers,
            for_s,
            unit,
            client,
        } => {
            let r = ApprovalRequest {
                user,
                code,
                registers,
                for_s,
                unit,
                client,
            };
            approve(r, shared).await
        }
    }
}

async fn approve(req: ApprovalRequest, shared: &Arc<Shared>) -> ControlResponse {
    let peer = Arc::new(PeerInfo {
        addr: None,
        transport: Transport::Control,
        identity: req.user.clone(),
        role: Some("approver".into()),
        cert: None,
    });
    let audit = |decision: Decision,
                 kind: Option<DenyKind>,
                 reason: String,
                 id: Option<i64>,
                 details: Option<serde_json::Value>| AuditRecord {
        ts: now_ns(),
        peer: peer.clone(),
        action: Action::Approve,
        decision,
        kind,
        reason: Some(reason),
        request: None,
        exception: None,
        approval_id: id,
        details,
    };
    if let Err(e) = approval::check_user(&req.user) {
        return ControlResponse::err(e.to_string());
    }
    let locked = shared
        .approvals
        .lock()
        .map(|mut a| a.locked_out(&req.user))
        .unwrap_or(true);
    if locked {
        let why = format!(
            "too many wrong codes for {:?}: try again in {} minutes",
            req.user,
            approval::FAILURE_WINDOW.as_secs() / 60
        );
        shared
            .audit
            .record(audit(
                Decision::Deny,
                Some(DenyKind::ApprovalRefused),
                why.clone(),
                None,
                None,
            ))
            .await;
        return ControlResponse::err(why);
    }
    let snap = shared.snapshot();
    let now = now_ns();
    let mut a = match approval::scope(&snap.config, &req, now) {
        Ok(a) => a,
        Err(why) => {
            shared
                .audit
                .record(audit(Decision::Deny, None, why.clone(), None, None))
                .await;
            return ControlResponse::err(why);
        }
    };
    let state = snap.config.state.clone();
    let (user, code) = (req.user.clone(), req.code.clone());
    let pending = a.clone();
    let unix_s = u64::try_from(now / 1_000_000_000).unwrap_or(0);
    let result = tokio::task::spawn_blocking(move || -> Result<i64, (bool, String)> {
        let db = StateDb::open(&state).map_err(|e| (false, e.to_string()))?;
        approval::verify(&db, &user, &code, unix_s).map_err(|e| (true, e))?;
        db.insert_approval(&pending)
            .map_err(|e| (false, e.to_string()))
    })
    .await
    .unwrap_or_else(|e| Err((false, e.to_string())));
    match result {
        Ok(id) => {
            a.id = id;
            let v = view(&a);
            let details = json!({
                "client": a.client, "unit": a.unit, "table": a.table.name(),
                "registers": v.registers, "expires": v.expires, "max_writes": a.max_writes,
            });
            if let Ok(mut ap) = shared.approvals.lock() {
                ap.add(a);
            }
            let msg = format!(
                "approval {id}: {} may write {} {} until {} ({} write{})",
                v.client,
                if v.table == "coil" {
                    "coils"
                } else {
                    "registers"
                },
                v.registers,
                v.expires,
                v.max_writes,
                if v.max_writes == 1 { "" } else { "s" }
            );
            shared
                .audit
                .record(audit(
                    Decision::Allow,
                    None,
                    msg.clone(),
                    Some(id),
                    Some(details),
                ))
                .await;
            ControlResponse {
                ok: true,
                message: msg,
                approval: Some(v),
                status: None,
            }
        }
        Err((code_failure, why)) => {
            if code_failure {
                if let Ok(mut ap) = shared.approvals.lock() {
                    ap.note_failure(&req.user);
                }
            }
            let kind = code_failure.then_some(DenyKind::ApprovalRefused);
            shared
                .audit
                .record(audit(Decision::Deny, kind, why.clone(), None, None))
                .await;
            ControlResponse::err(why)
        }
    }
}

/// Sends one request to a running gate's control socket and returns its answer
/// (blocking; for the command line).
pub fn request(path: &Path, req: &ControlRequest) -> Result<ControlResponse, GateError> {
    let e = |message: String| GateError::Control {
        path: path.to_path_buf(),
        message,
    };
    let mut s = std::os::unix::net::UnixStream::connect(path).map_err(|x| {
        e(format!(
            "cannot reach the gate ({x}): is `sluice gate` running with this configuration?"
        ))
    })?;
    let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
    let mut text = serde_json::to_string(req).map_err(|x| e(x.to_string()))?;
    text.push('\n');
    s.write_all(text.as_bytes()).map_err(|x| e(x.to_string()))?;
    let mut line = String::new();
    BufReader::new(&s)
        .read_line(&mut line)
        .map_err(|x| e(x.to_string()))?;
    serde_json::from_str(&line).map_err(|x| e(format!("bad answer {line:?}: {x}")))
}

/// [`request`] without blocking the runtime.
pub async fn request_async(
    path: &Path,
    req: &ControlRequest,
) -> Result<ControlResponse, GateError> {
    let path = path.to_path_buf();
    let req = req.clone();
    tokio::task::spawn_blocking(move || request(&path, &req))
        .await
        .map_err(|e| GateError::Runtime(e.to_string()))?
}
