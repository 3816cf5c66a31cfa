//! Captures from real protocol stacks, rewritten to the plant of the DESIGN.md example.
//!
//! [`generate`] starts real servers (pymodbus, python-snap7, TigerVNC's Xvnc, python's
//! http.server) bound to loopback addresses `127.B.X.h` that stand for the plant's hosts
//! (see [`rewrite::NetMap`]), records `lo` with tcpdump (filtered to the scenario's block
//! `127.B.0.0/16`), runs real clients on one shared timeline (pymodbus, python-snap7,
//! vncdotool, urllib, nmap; `realstack/actor.py`), stops everything it started, and
//! rewrites the capture to the plant's addresses, MACs, TTLs and ports
//! ([`rewrite::Rewriter`]). Nothing is sent anywhere but 127.0.0.0/8.
//!
//! The Python scripts are compiled into the binary and written to a private temporary
//! directory at run time. Every child process stops when its standard input closes, and
//! is killed when its handle drops, so a failing or panicking generator leaves nothing
//! running.
//!
//! Needs: a Python with pymodbus 3.16.1, python-snap7 3.3.0 and vncdotool 1.4.2 (the
//! venv `scripts/test-all` makes; `$SLUICE_REALSTACK_PYTHON` names another), tcpdump and
//! root (to capture), Xvnc (Debian `tigervnc-standalone-server`) for `oldsmar`, nmap for
//! `recon`. What is missing is reported as [`RealStackError::Missing`].

pub mod plan;
mod process;
pub mod rewrite;

use crate::scenario::hosts;
use crate::session::Host;
use process::Proc;
use rewrite::{NetMap, RewriteError, RewriteStats, Rewriter};
use serde_json::{json, Value};
use std::fmt;
use std::fs::File;
use std::io::BufWriter;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Scenarios [`generate`] knows.
pub const SCENARIOS: &[&str] = &["benign", "oldsmar", "pivot", "s7_stop", "recon"];

/// Pinned versions of the Python stacks.
pub const PYMODBUS: &str = "3.16.1";
/// python-snap7 version.
pub const SNAP7: &str = "3.3.0";
/// vncdotool version.
pub const VNCDOTOOL: &str = "1.4.2";

const SCRIPTS: &[(&str, &str)] = &[
    ("_common.py", include_str!("../../realstack/_common.py")),
    ("actor.py", include_str!("../../realstack/actor.py")),
    (
        "modbus_plc.py",
        include_str!("../../realstack/modbus_plc.py"),
    ),
    ("s7_plc.py", include_str!("../../realstack/s7_plc.py")),
    (
        "web_server.py",
        include_str!("../../realstack/web_server.py"),
    ),
    ("supervise.py", include_str!("../../realstack/supervise.py")),
];

/// Something the machine lacks to run a scenario.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// No Python with the pinned stacks.
    Python(String),
    /// No tcpdump.
    Tcpdump,
    /// Not root: tcpdump cannot capture.
    Root,
    /// No Xvnc.
    Xvnc,
    /// No nmap.
    Nmap,
}

impl fmt::Display for Missing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Missing::Python(what) => write!(f, "python3 with {what}"),
            Missing::Tcpdump => f.write_str("tcpdump"),
            Missing::Root => f.write_str("root (for tcpdump on lo)"),
            Missing::Xvnc => f.write_str("Xvnc (tigervnc-standalone-server)"),
            Missing::Nmap => f.write_str("nmap"),
        }
    }
}

/// Why a real-stack capture could not be made.
#[derive(Debug, thiserror::Error)]
pub enum RealStackError {
    /// Unknown scenario name.
    #[error("unknown real-stack scenario {0:?} (known: benign, oldsmar, pivot, s7_stop, recon)")]
    Unknown(String),
    /// A tool or package is missing.
    #[error("{0} missing (scripts/test-all installs it)")]
    Missing(Missing),
    /// A process failed.
    #[error("{0}")]
    Process(String),
    /// Files.
    #[error(transparent)]
    Io(#[from] std::io::Error),
    /// Rewriting the capture.
    #[error(transparent)]
    Rewrite(#[from] RewriteError),
}

/// Options of [`generate`].
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// The Python to use (else `$SLUICE_REALSTACK_PYTHON`, `$SLUICE_GATE_PYTHON`, the
    /// workspace's `target/gate-venv`, `python3`).
    pub python: Option<PathBuf>,
    /// Also keep the raw loopback capture here.
    pub keep_raw: Option<PathBuf>,
}

/// What [`generate`] did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The scenario.
    pub scenario: String,
    /// The loopback block used (`127.B.0.0/16`).
    pub block: u8,
    /// The rewrite.
    pub stats: RewriteStats,
    /// Wall time.
    pub elapsed: Duration,
}

/// The tools found for a plan.
#[derive(Debug, Clone)]
pub struct Tools {
    /// The Python.
    pub python: PathBuf,
}

fn runs(cmd: &str, args: &[&str]) -> bool {
    Command::new(cmd)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .and_then(|l| l.split_whitespace().nth(2).map(|e| e == "0"))
        })
        .unwrap_or(false)
}

fn python_has(py: &Path, needs: &plan::Needs) -> Result<(), String> {
    let mut want = Vec::new();
    if needs.pymodbus {
        want.push(("pymodbus", PYMODBUS));
    }
    if needs.snap7 {
        want.push(("python-snap7", SNAP7));
    }
    if needs.vncdotool {
        want.push(("vncdotool", VNCDOTOOL));
    }
    let what = want
        .iter()
        .map(|(p, v)| format!("{p} {v}"))
        .collect::<Vec<_>>()
        .join(", ");
    let check = want
        .iter()
        .map(|(p, v)| format!("assert version({p:?}) == {v:?}"))
        .collect::<Vec<_>>()
        .join("; ");
    let code = format!("from importlib.metadata import version; {check}");
    if runs(&py.to_string_lossy(), &["-c", &code]) {
        Ok(())
    } else {
        Err(if what.is_empty() {
            "python3".into()
        } else {
            what
        })
    }
}

/// Finds what `plan` needs.
pub fn find_tools(plan: &plan::Plan, opts: &Options) -> Result<Tools, Missing> {
    let needs = plan.needs();
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = &opts.python {
        candidates.push(p.clone());
    } else {
        for var in ["SLUICE_REALSTACK_PYTHON", "SLUICE_GATE_PYTHON"] {
            if let Some(p) = std::env::var_os(var) {
                candidates.push(PathBuf::from(p));
            }
        }
        candidates
            .push(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/gate-venv/bin/python"));
        candidates.push(PathBuf::from("python3"));
    }
    let mut last = String::new();
    let mut python = None;
    for c in candidates {
        match python_has(&c, &needs) {
            Ok(()) => {
                python = Some(c);
                break;
            }
            Err(w) => last = w,
        }
    }
    let python = python.ok_or(Missing::Python(last))?;
    if !runs("tcpdump", &["--version"]) {
        return Err(Missing::Tcpdump);
    }
    if !is_root() {
        return Err(Missing::Root);
    }
    if needs.xvnc && !runs("Xvnc", &["-version"]) {
        return Err(Missing::Xvnc);
    }
    if needs.nmap && !runs("nmap", &["--version"]) {
        return Err(Missing::Nmap);
    }
    Ok(Tools { python })
}

/// A private temporary directory holding the scripts, removed on drop.
struct WorkDir(PathBuf);

static RUNS: AtomicU32 = AtomicU32::new(0);

impl WorkDir {
    fn new(tag: &str) -> std::io::Result<WorkDir> {
        let n = RUNS.fetch_add(1, Ordering::Relaxed);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "sluice-realstack-{tag}-{}-{n}-{nanos}",
            std::process::id()
        ));
        std::fs::create_dir_all(&dir)?;
        let w = WorkDir(dir);
        for (name, text) in SCRIPTS {
            std::fs::write(w.0.join(name), text)?;
        }
        Ok(w)
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The loopback block of this run: distinct per scenario and process, so scenarios can
/// run side by side.
fn block_for(name: &str) -> u8 {
    let idx = SCENARIOS.iter().position(|s| *s == name).unwrap_or(0) as u32;
    let n = RUNS.load(Ordering::Relaxed);
    let slot = (std::process::id() % 30) * 6 + idx + n * 6;
    64 + (slot % 180) as u8
}

fn lo(nets: &NetMap, h: &Host) -> Result<Ipv4Addr, RealStackError> {
    match h.ip {
        IpAddr::V4(ip) => nets
            .to_loopback(ip)
            .ok_or_else(|| RealStackError::Process(format!("{ip} has no loopback stand-in"))),
        IpAddr::V6(ip) => Err(RealStackError::Process(format!(
            "{ip}: IPv6 hosts are not supported"
        ))),
    }
}

/// Every host of the plant, for MAC addresses and TTLs.
fn plant_hosts() -> Vec<Host> {
    let mut v = vec![
        hosts::PLC1,
        hosts::PLC2,
        hosts::S7PLC,
        hosts::ENIP_PLC,
        hosts::HMI,
        hosts::EWS,
        hosts::ROGUE,
        hosts::HISTORIAN,
        hosts::JUMP,
        hosts::RESOLVER,
        hosts::VENDOR,
        hosts::ATTACKER,
    ];
    v.extend(hosts::OFFICE);
    v.extend(hosts::WEB.iter().map(|w| w.0));
    v
}

/// The rewriting rules of the plant for loopback block `block`.
pub fn plant_rewriter(block: u8) -> Rewriter {
    let mut r = Rewriter::new(NetMap::plant(block), hosts::FIREWALL_MAC);
    for h in plant_hosts() {
        r = r.host(&h);
    }
    for (from, to) in plan::PORTS {
        r = r.port(*from, *to);
    }
    r
}

fn wait_port(addr: SocketAddr, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

fn script(work: &WorkDir, tools: &Tools, name: &str) -> Command {
    let mut c = Command::new(&tools.python);
    c.arg("-u").arg(work.0.join(name)).current_dir(&work.0);
    c
}

fn start_server(
    s: &plan::Server,
    nets: &NetMap,
    work: &WorkDir,
    tools: &Tools,
    block: u8,
) -> Result<Proc, RealStackError> {
    let addr = lo(nets, &s.host)?;
    let arg = |extra: Value| {
        let mut a = json!({"address": addr.to_string(), "port": s.port});
        if let (Value::Object(m), Value::Object(x)) = (&mut a, extra) {
            m.extend(x);
        }
        a.to_string()
    };
    let name = format!("{:?} server on {}", s.kind, s.host.ip);
    let mut p = match &s.kind {
        plan::ServerKind::Modbus {
            vendor,
            product,
            revision,
        } => {
            let mut c = script(work, tools, "modbus_plc.py");
            c.arg(arg(
                json!({"vendor": vendor, "product": product, "revision": revision}),
            ));
            Proc::spawn(&name, c)?
        }
        plan::ServerKind::S7 => {
            let mut c = script(work, tools, "s7_plc.py");
            c.arg(arg(json!({})));
            Proc::spawn(&name, c)?
        }
        plan::ServerKind::Web => {
            let mut c = script(work, tools, "web_server.py");
            c.arg(arg(json!({})));
            Proc::spawn(&name, c)?
        }
        plan::ServerKind::Vnc { desktop } => {
            // A display nobody holds (a crashed X server can leave its lock behind).
            let display = (0..8)
                .map(|i| 300 + u32::from(block) + 256 * i)
                .find(|d| !Path::new(&format!("/tmp/.X{d}-lock")).exists())
                .unwrap_or(300 + u32::from(block));
            let mut c = script(work, tools, "supervise.py");
            c.args([
                "Xvnc",
                &format!(":{display}"),
                "-interface",
                &addr.to_string(),
                "-rfbport",
                &s.port.to_string(),
                "-SecurityTypes",
                "None",
                "-geometry",
                "320x240",
                "-depth",
                "16",
                "-desktop",
                desktop,
                "-nolisten",
                "tcp",
            ]);
            let p = Proc::spawn(&name, c)?;
            if !wait_port(SocketAddr::from((addr, s.port)), Duration::from_secs(15)) {
                return Err(RealStackError::Process(format!(
                    "{name}: not listening on {addr}:{}; it printed:\n{}",
                    s.port,
                    p.log()
                )));
            }
            return Ok(p);
        }
    };
    p.wait_for("ready", Duration::from_secs(30))?;
    Ok(p)
}

fn actor_arg(a: &plan::Actor, nets: &NetMap) -> Result<String, RealStackError> {
    let control = nets
        .to_loopback(Ipv4Addr::new(10, 10, 1, 0))
        .map(|ip| {
            let o = ip.octets();
            format!("{}.{}.{}", o[0], o[1], o[2])
        })
        .unwrap_or_default();
    let steps: Vec<Value> = a
        .steps
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if let Some(Value::Array(ts)) = s.get_mut("targets") {
                for t in ts.iter_mut() {
                    if let Value::String(x) = t {
                        *x = x.replace("{control}", &control);
                    }
                }
            }
            s
        })
        .collect();
    Ok(json!({
        "kind": a.kind,
        "src": lo(nets, &a.src)?.to_string(),
        "dst": lo(nets, &a.dst)?.to_string(),
        "port": a.port,
        "steps": steps,
    })
    .to_string())
}

/// Generates real-stack scenario `name` into the pcap `out`.
pub fn generate(name: &str, out: &Path, opts: &Options) -> Result<Report, RealStackError> {
    let t0 = Instant::now();
    let plan = plan::build(name).ok_or_else(|| RealStackError::Unknown(name.to_string()))?;
    let tools = find_tools(&plan, opts).map_err(RealStackError::Missing)?;
    let block = block_for(name);
    let work = WorkDir::new(name)?;
    let rewriter = plant_rewriter(block);
    let nets = rewriter.nets().clone();

    // Servers first; they are probed before the capture starts.
    let mut servers = Vec::new();
    for s in &plan.servers {
        servers.push(start_server(s, &nets, &work, &tools, block)?);
    }
    // Clients load their libraries and wait for the start time.
    let mut actors = Vec::new();
    for (i, a) in plan.actors.iter().enumerate() {
        let mut c = script(&work, &tools, "actor.py");
        c.arg(actor_arg(a, &nets)?);
        actors.push(Proc::spawn(
            &format!("actor {i} ({} from {})", a.kind, a.src.ip),
            c,
        )?);
    }
    for a in &mut actors {
        a.wait_for("ready", Duration::from_secs(60))?;
    }
    // The capture.
    let raw = work.0.join("raw.pcap");
    let mut c = script(&work, &tools, "supervise.py");
    c.args(["tcpdump", "-i", "lo", "-n", "-U", "-s", "0", "-w"])
        .arg(&raw)
        .arg(nets.capture_filter());
    let mut cap = Proc::spawn("tcpdump", c)?;
    cap.wait_for("listening on", Duration::from_secs(15))?;
    std::thread::sleep(Duration::from_millis(200));
    // The timeline.
    let start = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        + 0.3;
    for a in &mut actors {
        a.send_line(&format!("{start:.6}"))?;
    }
    let budget = Duration::from_secs_f64(plan.duration + 30.0);
    let deadline = Instant::now() + budget;
    for a in &mut actors {
        a.finish(deadline.saturating_duration_since(Instant::now()))?;
    }
    // Let the last FINs and ACKs through, then stop the capture (tcpdump flushes).
    std::thread::sleep(Duration::from_millis(300));
    cap.stop(Duration::from_secs(5));
    drop(actors);
    for mut s in servers {
        s.stop(Duration::from_secs(3));
    }
    if let Some(k) = &opts.keep_raw {
        std::fs::copy(&raw, k)?;
    }
    let f = BufWriter::with_capacity(1 << 20, File::create(out)?);
    let stats = rewriter.rewrite_pcap(&raw, f)?;
    if stats.written == 0 {
        return Err(RealStackError::Process(format!(
            "tcpdump captured nothing; it printed:\n{}",
            cap.log()
        )));
    }
    Ok(Report {
        scenario: name.to_string(),
        block,
        stats,
        elapsed: t0.elapsed(),
    })
}
