//! Test support: a Python venv with pymodbus (the real PLC and the real clients),
//! certificates made with rcgen (CA, gate, operator, viewer, expired, revoked,
//! untrusted, role-less, and a CRL), a PLC process, a gate configuration.
#![allow(dead_code)]

use rcgen::{
    date_time_ymd, BasicConstraints, CertificateParams, CertificateRevocationListParams,
    CustomExtension, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyIdMethod, KeyPair,
    KeyUsagePurpose, RevokedCertParams, SerialNumber,
};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

pub const PYMODBUS: &str = "3.16.1";

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn py_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/py")
}

fn has_pymodbus(py: &Path) -> bool {
    Command::new(py)
        .args([
            "-c",
            &format!(
                "import pymodbus, sys; sys.exit(0 if pymodbus.__version__ == '{PYMODBUS}' else 1)"
            ),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A Python with pymodbus: `$SLUICE_GATE_PYTHON`, else the venv `target/gate-venv`
/// (made here when missing, as `scripts/test-all` does). `None` (after printing a
/// SKIP line) when none can be had.
pub fn python() -> Option<PathBuf> {
    static PY: OnceLock<Option<PathBuf>> = OnceLock::new();
    let p = PY.get_or_init(|| {
        if let Ok(p) = std::env::var("SLUICE_GATE_PYTHON") {
            let p = PathBuf::from(p);
            if has_pymodbus(&p) {
                return Some(p);
            }
            eprintln!(
                "SLUICE_GATE_PYTHON={} has no pymodbus {PYMODBUS}",
                p.display()
            );
        }
        let target = workspace().join("target");
        let _ = std::fs::create_dir_all(&target);
        let venv = target.join("gate-venv");
        let py = venv.join("bin/python");
        // One test binary at a time makes the venv.
        let lock = std::fs::File::create(target.join("gate-venv.lock")).ok()?;
        lock.lock().ok()?;
        if has_pymodbus(&py) {
            return Some(py);
        }
        let ok = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .is_ok_and(|s| s.success())
            && Command::new(&py)
                .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
                .arg(format!("pymodbus=={PYMODBUS}"))
                .status()
                .is_ok_and(|s| s.success());
        (ok && has_pymodbus(&py)).then_some(py)
    });
    if p.is_none() {
        eprintln!("SKIP: python3 with pymodbus {PYMODBUS} unavailable (set SLUICE_GATE_PYTHON or run scripts/test-all)");
    }
    p.clone()
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// A pymodbus PLC process, stopped on drop.
pub struct Plc {
    child: Child,
    pub port: u16,
}

impl Plc {
    pub fn start(py: &Path) -> Plc {
        for _ in 0..5 {
            let port = free_port();
            let mut child = Command::new(py)
                .arg(py_dir().join("plc.py"))
                .arg(port.to_string())
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .expect("start plc.py");
            let out = child.stdout.take().expect("stdout");
            let mut line = String::new();
            let _ = BufReader::new(out).read_line(&mut line);
            if line.trim() == "ready" {
                return Plc { child, port };
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("the pymodbus PLC did not start");
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }
}

impl Drop for Plc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const ROLE_OID: &[u64] = &[1, 3, 6, 1, 4, 1, 50316, 802, 1];

fn utf8string(s: &str) -> Vec<u8> {
    let mut v = vec![0x0C, s.len() as u8];
    v.extend_from_slice(s.as_bytes());
    v
}

/// A client identity's files.
#[derive(Clone, Debug)]
pub struct Identity {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// Every certificate the tests need, written under a directory.
pub struct Certs {
    pub ca: PathBuf,
    pub crl: PathBuf,
    /// A later CRL that also revokes the operator (op1).
    pub crl_revoking_operator: PathBuf,
    pub gate_cert: PathBuf,
    pub gate_key: PathBuf,
    pub operator: Identity,
    pub operator2: Identity,
    pub viewer: Identity,
    pub expired: Identity,
    pub revoked: Identity,
    pub untrusted: Identity,
    pub forged: Identity,
    pub norole: Identity,
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).expect("write test file");
    p
}

impl Certs {
    pub fn make(dir: &Path) -> Certs {
        let ca_key = KeyPair::generate().unwrap();
        let mut ca = CertificateParams::default();
        ca.distinguished_name = rcgen::DistinguishedName::new();
        ca.distinguished_name
            .push(DnType::CommonName, "Sluice test CA");
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let issuer = Issuer::new(ca, ca_key);

        let leaf = |cn: &str,
                    role: Option<&str>,
                    serial: u8,
                    server: bool,
                    expired: bool,
                    issuer: &Issuer<'_, KeyPair>| {
            let key = KeyPair::generate().unwrap();
            let mut p = if server {
                CertificateParams::new(vec!["127.0.0.1".to_string(), "localhost".to_string()])
                    .unwrap()
            } else {
                CertificateParams::default()
            };
            p.distinguished_name = rcgen::DistinguishedName::new();
            p.distinguished_name.push(DnType::CommonName, cn);
            p.serial_number = Some(SerialNumber::from_slice(&[0x10, serial]));
            p.use_authority_key_identifier_extension = true;
            p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
            p.extended_key_usages = vec![if server {
                ExtendedKeyUsagePurpose::ServerAuth
            } else {
                ExtendedKeyUsagePurpose::ClientAuth
            }];
            if expired {
                p.not_before = date_time_ymd(2020, 1, 1);
                p.not_after = date_time_ymd(2021, 1, 1);
            }
            if let Some(r) = role {
                p.custom_extensions
                    .push(CustomExtension::from_oid_content(ROLE_OID, utf8string(r)));
            }
            let cert = p.signed_by(&key, issuer).unwrap();
            (cert.pem(), key.serialize_pem())
        };
        let id = |name: &str, (cert, key): (String, String)| Identity {
            cert: write(dir, &format!("{name}.pem"), &cert),
            key: write(dir, &format!("{name}.key"), &key),
        };
        let (gc, gk) = leaf("gate", None, 1, true, false, &issuer);
        let operator = id(
            "operator",
            leaf("op1", Some("operator"), 2, false, false, &issuer),
        );
        let operator2 = id(
            "operator2",
            leaf("op2", Some("Operator"), 3, false, false, &issuer),
        );
        let viewer = id(
            "viewer",
            leaf("view1", Some("viewer"), 4, false, false, &issuer),
        );
        let expired = id(
            "expired",
            leaf("old-op", Some("operator"), 5, false, true, &issuer),
        );
        let revoked = id(
            "revoked",
            leaf("lost-op", Some("operator"), 6, false, false, &issuer),
        );
        let norole = id("norole", leaf("nobody", None, 7, false, false, &issuer));

        // operators of another CA, and of a CA forging the real one's name
        let other_ca = |name: &str| {
            let mut other = CertificateParams::default();
            other.distinguished_name = rcgen::DistinguishedName::new();
            other.distinguished_name.push(DnType::CommonName, name);
            other.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            other.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
            Issuer::new(other, KeyPair::generate().unwrap())
        };
        let untrusted = id(
            "untrusted",
            leaf(
                "intruder",
                Some("operator"),
                2,
                false,
                false,
                &other_ca("Intruder CA"),
            ),
        );
        let forged = id(
            "forged",
            leaf(
                "op1",
                Some("operator"),
                2,
                false,
                false,
                &other_ca("Sluice test CA"),
            ),
        );

        let crl = |serials: &[u8], number: u8| {
            CertificateRevocationListParams {
                this_update: date_time_ymd(2025, 1, 1),
                next_update: date_time_ymd(2099, 1, 1),
                crl_number: SerialNumber::from_slice(&[number]),
                issuing_distribution_point: None,
                revoked_certs: serials
                    .iter()
                    .map(|&s| RevokedCertParams {
                        serial_number: SerialNumber::from_slice(&[0x10, s]),
                        revocation_time: date_time_ymd(2025, 1, 1),
                        reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                        invalidity_date: None,
                    })
                    .collect(),
                key_identifier_method: KeyIdMethod::Sha256,
            }
            .signed_by(&issuer)
            .unwrap()
            .pem()
            .unwrap()
        };
        let crl_revoking_operator = write(dir, "ca-2.crl", &crl(&[6, 2], 2));
        Certs {
            ca: write(dir, "ca.pem", &ca_cert.pem()),
            crl: write(dir, "ca.crl", &crl(&[6], 1)),
            crl_revoking_operator,
            gate_cert: write(dir, "gate.pem", &gc),
            gate_key: write(dir, "gate.key", &gk),
            operator,
            operator2,
            viewer,
            expired,
            revoked,
            untrusted,
            forged,
            norole,
        }
    }
}

/// The site policy with the Oldsmar envelope on the PLC's register 5.
pub fn write_policy(dir: &Path) -> PathBuf {
    write(
        dir,
        "sluice.toml",
        r#"[site]
name = "Gate test plant"

[[zone]]
name = "control"
level = 1
cidrs = ["127.0.0.0/8"]

[[envelope]]
name = "sodium hydroxide setpoint"
device = "127.0.0.1"
unit = 1
register = 5        # holding register, 0-based protocol address
min = 50
max = 200
max_step = 50
"#,
    )
}

/// The configuration contract of issue 5, with ports chosen by the OS and the PLC's
/// port; `extra` is appended.
pub fn gate_toml(certs: &Certs, plc: SocketAddr, extra: &str) -> String {
    format!(
        r#"[gate]
listen_tls = "127.0.0.1:0"
listen_plain = "127.0.0.1:0"
upstream = "{plc}"
cert = "{gc}"
key = "{gk}"
client_ca = "{ca}"
crl = "{crl}"
policy = "sluice.toml"
state = "gate.db"
audit_log = "audit.jsonl"
upstream_timeout_ms = 1500

[[plain_client]]
address = "127.0.0.1"
role = "viewer"

[[role]]
name = "operator"
units = [1]
functions = [1, 2, 3, 4, 5, 6, 15, 16, 23]
read = ["0-99"]
write = ["0-19"]

[[role]]
name = "viewer"
units = [1]
functions = [1, 2, 3, 4]
read = ["0-99"]

[[critical]]
unit = 1
registers = "5"
approval_window_s = 300
max_writes = 1
{extra}"#,
        gc = certs.gate_cert.display(),
        gk = certs.gate_key.display(),
        ca = certs.ca.display(),
        crl = certs.crl.display(),
    )
}

/// Who a client is.
#[derive(Clone, Debug)]
pub enum Who<'a> {
    Tls(&'a Identity),
    Tls12(&'a Identity),
    Plain,
    PlainFrom(&'a str),
}

/// Runs the pymodbus client against `port` (blocking).
pub fn client(py: &Path, ca: &Path, port: u16, who: Who<'_>, ops: Value) -> Value {
    let tls = |i: &Identity, v12: bool| json!({"ca": ca, "cert": i.cert, "key": i.key, "max_version": if v12 { "1.2" } else { "1.3" }});
    let (tls, source) = match who {
        Who::Tls(i) => (tls(i, false), Value::Null),
        Who::Tls12(i) => (tls(i, true), Value::Null),
        Who::Plain => (Value::Null, Value::Null),
        Who::PlainFrom(s) => (Value::Null, json!(s)),
    };
    let arg = json!({"port": port, "tls": tls, "source": source, "ops": ops, "timeout": 3});
    let out = Command::new(py)
        .arg(py_dir().join("client.py"))
        .arg(arg.to_string())
        .stderr(Stdio::inherit())
        .output()
        .expect("run client.py");
    let text = String::from_utf8_lossy(&out.stdout);
    serde_json::from_str(text.trim()).unwrap_or_else(|e| panic!("client.py printed {text:?}: {e}"))
}

/// Async wrapper of [`client`].
pub async fn client_async(py: &Path, ca: &Path, port: u16, who: Who<'_>, ops: Value) -> Value {
    let (py, ca) = (py.to_path_buf(), ca.to_path_buf());
    let who = match who {
        Who::Tls(i) => OwnedWho::Tls(i.clone(), false),
        Who::Tls12(i) => OwnedWho::Tls(i.clone(), true),
        Who::Plain => OwnedWho::Plain(None),
        Who::PlainFrom(s) => OwnedWho::Plain(Some(s.to_string())),
    };
    tokio::task::spawn_blocking(move || {
        let w = match &who {
            OwnedWho::Tls(i, false) => Who::Tls(i),
            OwnedWho::Tls(i, true) => Who::Tls12(i),
            OwnedWho::Plain(None) => Who::Plain,
            OwnedWho::Plain(Some(s)) => Who::PlainFrom(s),
        };
        client(&py, &ca, port, w, ops)
    })
    .await
    .expect("client task")
}

enum OwnedWho {
    Tls(Identity, bool),
    Plain(Option<String>),
}

/// Holding registers read straight from the PLC, bypassing the gate.
pub async fn plc_registers(py: &Path, plc: &Plc, address: u16, count: u16) -> Vec<u64> {
    let r = client_async(
        py,
        Path::new("/dev/null"),
        plc.port,
        Who::Plain,
        json!([{"op": "read_hr", "address": address, "count": count}]),
    )
    .await;
    r["results"][0]["registers"]
        .as_array()
        .unwrap_or_else(|| panic!("direct PLC read failed: {r}"))
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect()
}

/// The audit log's lines.
pub fn audit_lines(dir: &Path) -> Vec<Value> {
    std::fs::read_to_string(dir.join("audit.jsonl"))
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("audit line is JSON"))
        .collect()
}

/// The TOTP secret (raw bytes) in an otpauth URI.
pub fn secret_of(uri: &str) -> Vec<u8> {
    let b32 = uri
        .split(['?', '&'])
        .find_map(|kv| kv.strip_prefix("secret="))
        .expect("secret in the URI");
    totp_rs::Secret::try_from_base32(b32)
        .expect("base32 secret")
        .as_bytes()
        .to_vec()
}

pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

pub const WAIT: Duration = Duration::from_secs(5);
