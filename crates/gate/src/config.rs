//! The gate's configuration file (`gate.toml`): parsed with spans so that every
//! mistake is reported as `file:line:col: message`, then validated into [`Config`].
//!
//! ```toml
//! [gate]
//! listen_tls = "127.0.0.1:8802"
//! listen_plain = "127.0.0.1:8502"     # optional
//! upstream = "127.0.0.1:5020"         # the legacy PLC
//! cert = "gate.pem"
//! key = "gate.key"
//! client_ca = "ca.pem"
//! crl = "ca.crl"                      # optional (one file or a list)
//! policy = "sluice.toml"              # its [[envelope]] entries apply
//! state = "gate.db"                   # approvers' TOTP secrets, approvals, audit
//! audit_log = "audit.jsonl"
//!
//! [[plain_client]]
//! address = "127.0.0.1"               # an address or a CIDR
//! role = "viewer"
//!
//! [[role]]
//! name = "operator"
//! units = [1]
//! functions = [1, 2, 3, 4, 5, 6, 15, 16, 23]
//! read = ["0-99"]
//! write = ["0-19"]
//!
//! [[critical]]
//! unit = 1
//! registers = "5"
//! approval_window_s = 300
//! max_writes = 1
//! ```
//!
//! Optional `[gate]` keys beyond the contract: `device` (the PLC's address in the
//! policy's envelopes; default the upstream's address), `control` (the control socket;
//! default the state file with the extension `.sock`), `events` (alert events as JSON
//! lines), `deny_exception` (`"auto"`, `1` or `2`), `upstream_connections`,
//! `upstream_max_in_flight`, `upstream_timeout_ms`, `connect_timeout_ms`,
//! `handshake_timeout_ms`, `max_clients`, `client_max_in_flight`. `[[critical]]` may
//! name `table = "coil"` (default `"holding_register"`).

use crate::ranges::{int_span, parse_span, RangeSet};
use ipnet::IpNet;
use serde::Deserialize;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::ops::Range;
use std::path::{Path, PathBuf};
use std::time::Duration;
use toml::Spanned;

/// A configuration error with its place: `file:line:col: message` (line and column
/// 1-based; only the file when the place is unknown).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub struct ConfigError {
    pub file: PathBuf,
    /// 1-based line, 0 when unknown.
    pub line: u32,
    /// 1-based column in characters, 0 when unknown.
    pub column: u32,
    pub message: String,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: {}", self.file.display(), self.message)
        } else {
            write!(
                f,
                "{}:{}:{}: {}",
                self.file.display(),
                self.line,
                self.column,
                self.message
            )
        }
    }
}

/// A place in the configuration file, kept with values checked after parsing
/// (files to read) so that their errors point at the key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    pub line: u32,
    pub column: u32,
}

/// A path with the place in the configuration file that named it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Located {
    pub path: PathBuf,
    pub place: Place,
}

/// What a denial answers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DenyException {
    /// 01 for a function the role lacks (or no role), 02 for units, addresses and
    /// missing approvals, 03 for values outside a safety envelope.
    Auto,
    /// This exception code for every denial.
    Code(u8),
}

/// Which table a critical entry protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Table {
    HoldingRegister,
    Coil,
}

impl Table {
    pub fn name(self) -> &'static str {
        match self {
            Table::HoldingRegister => "holding_register",
            Table::Coil => "coil",
        }
    }
}

/// A role: what its holders may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    pub name: String,
    units: [u64; 4],
    functions: u128,
    pub read: RangeSet,
    pub write: RangeSet,
}

impl Role {
    /// A role allowing the given units, functions and address ranges.
    pub fn new(
        name: &str,
        units: &[u8],
        functions: &[u8],
        read: RangeSet,
        write: RangeSet,
    ) -> Role {
        let mut u = [0u64; 4];
        for &x in units {
            if let Some(w) = u.get_mut(usize::from(x / 64)) {
                *w |= 1 << (x % 64);
            }
        }
        let f = functions
            .iter()
            .filter(|&&x| x < 128)
            .fold(0u128, |acc, &x| acc | (1u128 << x));
        Role {
            name: name.to_string(),
            units: u,
            functions: f,
            read,
            write,
        }
    }

    pub fn allows_unit(&self, unit: u8) -> bool {
        self.units
            .get(usize::from(unit / 64))
            .is_some_and(|w| w & (1 << (unit % 64)) != 0)
    }

    pub fn allows_function(&self, fc: u8) -> bool {
        fc < 128 && self.functions & (1u128 << fc) != 0
    }
}

/// A plain Modbus/TCP client allowed by address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PlainClient {
    pub net: IpNet,
    pub role: String,
}

/// Registers whose writes need an approval.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Critical {
    pub unit: u8,
    pub table: Table,
    pub registers: RangeSet,
    /// The longest approval window.
    pub window: Duration,
    /// Writes one approval allows.
    pub max_writes: u32,
}

/// TLS material.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: Located,
    pub key: Located,
    pub client_ca: Located,
    pub crls: Vec<Located>,
}

/// Tuning knobs with safe defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub upstream_connections: usize,
    pub upstream_max_in_flight: usize,
    pub upstream_timeout: Duration,
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub max_clients: usize,
    pub client_max_in_flight: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            upstream_connections: 2,
            upstream_max_in_flight: 1,
            upstream_timeout: Duration::from_millis(2000),
            connect_timeout: Duration::from_millis(1000),
            handshake_timeout: Duration::from_millis(10_000),
            max_clients: 1024,
            client_max_in_flight: 64,
        }
    }
}

/// A validated configuration (files named in it not yet read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    pub path: PathBuf,
    pub listen_tls: Option<SocketAddr>,
    pub listen_plain: Option<SocketAddr>,
    pub upstream: SocketAddr,
    /// The PLC's address in the policy's envelopes.
    pub device: IpAddr,
    pub tls: Option<TlsFiles>,
    pub policy: Option<Located>,
    pub state: PathBuf,
    pub audit_log: PathBuf,
    pub events: Option<PathBuf>,
    pub control: PathBuf,
    pub deny_exception: DenyException,
    pub limits: Limits,
    pub plain_clients: Vec<PlainClient>,
    pub roles: Vec<Role>,
    pub critical: Vec<Critical>,
}

impl Config {
    /// The role called `name` (case-insensitive).
    pub fn role(&self, name: &str) -> Option<&Role> {
        self.roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The role of a plain client at `ip` (the first matching entry), if it is listed.
    pub fn plain_role(&self, ip: IpAddr) -> Option<&str> {
        let ip = canonical(ip);
        self.plain_clients
            .iter()
            .find(|c| c.net.contains(&ip))
            .map(|c| c.role.as_str())
    }

    /// An error at a place of this file.
    pub fn error_at(&self, place: &Place, message: impl Into<String>) -> ConfigError {
        ConfigError {
            file: self.path.clone(),
            line: place.line,
            column: place.column,
            message: message.into(),
        }
    }

    /// Reads and validates a configuration file.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.to_path_buf(),
            line: 0,
            column: 0,
            message: format!("cannot read configuration: {e}"),
        })?;
        Config::parse(&text, path)
    }

    /// Validates configuration text; `path` names the file in errors and anchors
    /// relative paths.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        Parser { text, path }.parse()
    }
}

/// IPv4-mapped IPv6 addresses as IPv4.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    gate: Option<Spanned<RawGate>>,
    #[serde(default)]
    plain_client: Vec<Spanned<RawPlainClient>>,
    #[serde(default)]
    role: Vec<Spanned<RawRole>>,
    #[serde(default)]
    critical: Vec<Spanned<RawCritical>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum IntOrStr {
    Int(i64),
    Str(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGate {
    listen_tls: Option<Spanned<String>>,
    listen_plain: Option<Spanned<String>>,
    upstream: Option<Spanned<String>>,
    device: Option<Spanned<String>>,
    cert: Option<Spanned<String>>,
    key: Option<Spanned<String>>,
    client_ca: Option<Spanned<String>>,
    crl: Option<Spanned<toml::Value>>,
    policy: Option<Spanned<String>>,
    state: Option<Spanned<String>>,
    audit_log: Option<Spanned<String>>,
    events: Option<Spanned<String>>,
    control: Option<Spanned<String>>,
    deny_exception: Option<Spanned<IntOrStr>>,
    upstream_connections: Option<Spanned<i64>>,
    upstream_max_in_flight: Option<Spanned<i64>>,
    upstream_timeout_ms: Option<Spanned<i64>>,
    connect_timeout_ms: Option<Spanned<i64>>,
    handshake_timeout_ms: Option<Spanned<i64>>,
    max_clients: Option<Spanned<i64>>,
    client_max_in_flight: Option<Spanned<i64>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlainClient {
    address: Option<Spanned<String>>,
    role: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRole {
    name: Option<Spanned<String>>,
    units: Option<Spanned<Vec<Spanned<i64>>>>,
    functions: Option<Spanned<Vec<Spanned<i64>>>>,
    #[serde(default)]
    read: Vec<Spanned<IntOrStr>>,
    #[serde(default)]
    write: Vec<Spanned<IntOrStr>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCritical {
    unit: Option<Spanned<i64>>,
    registers: Option<Spanned<toml::Value>>,
    table: Option<Spanned<String>>,
    approval_window_s: Option<Spanned<i64>>,
    max_writes: Option<Spanned<i64>>,
}

struct Parser<'a> {
    text: &'a str,
    path: &'a Path,
}

impl Parser<'_> {
    fn place(&self, offset: usize) -> Place {
        let offset = offset.min(self.text.len());
        let before = self.text.get(..offset).unwrap_or(self.text);
        let line = before.bytes().filter(|&b| b == b'\n').count() + 1;
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let column = before.get(line_start..).map_or(0, |s| s.chars().count()) + 1;
        Place {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }

    fn err(&self, span: Range<usize>, message: impl Into<String>) -> ConfigError {
        let p = self.place(span.start);
        ConfigError {
            file: self.path.to_path_buf(),
            line: p.line,
            column: p.column,
            message: message.into(),
        }
    }

    fn resolve(&self, s: &Spanned<String>) -> Result<Located, ConfigError> {
        if s.get_ref().is_empty() {
            return Err(self.err(s.span(), "empty path"));
        }
        let p = Path::new(s.get_ref());
        let path = if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.path
                .parent()
                .map_or_else(|| p.to_path_buf(), |d| d.join(p))
        };
        Ok(Located {
            path,
            place: self.place(s.span().start),
        })
    }

    fn socket(&self, s: &Spanned<String>, what: &str) -> Result<SocketAddr, ConfigError> {
        s.get_ref().parse().map_err(|_| {
            self.err(
                s.span(),
                format!(
                    "{what} {:?} is not an address:port such as \"127.0.0.1:8802\"",
                    s.get_ref()
                ),
            )
        })
    }

    fn int_in(
        &self,
        v: &Option<Spanned<i64>>,
        key: &str,
        lo: i64,
        hi: i64,
        default: i64,
    ) -> Result<i64, ConfigError> {
        match v {
            None => Ok(default),
            Some(s) if (lo..=hi).contains(s.get_ref()) => Ok(*s.get_ref()),
            Some(s) => Err(self.err(
                s.span(),
                format!("{key} = {} is outside {lo}..={hi}", s.get_ref()),
            )),
        }
    }

    fn ranges(&self, items: &[Spanned<IntOrStr>]) -> Result<RangeSet, ConfigError> {
        let mut spans = Vec::with_capacity(items.len());
        for it in items {
            let r = match it.get_ref() {
                IntOrStr::Int(v) => int_span(*v),
                IntOrStr::Str(s) => parse_span(s),
            };
            spans.push(r.map_err(|e| self.err(it.span(), e.to_string()))?);
        }
        Ok(RangeSet::from_spans(spans))
    }

    fn parse(&self) -> Result<Config, ConfigError> {
        let raw: RawFile = toml::from_str(self.text).map_err(|e| {
            let span = e.span().unwrap_or(0..0);
            let msg = e.message().trim().to_string();
            if span == (0..0) && !self.text.is_empty() {
                ConfigError {
                    file: self.path.to_path_buf(),
                    line: 1,
                    column: 1,
                    message: msg,
                }
            } else {
                self.err(span, msg)
            }
        })?;
        let Some(gate_sp) = raw.gate else {
            return Err(ConfigError {
                file: self.path.to_path_buf(),
                line: 1,
                column: 1,
                message: "missing [gate] table".into(),
            });
        };
        let gate_span = gate_sp.span();
        let g = gate_sp.into_inner();
        let missing = |key: &str| self.err(gate_span.clone(), format!("[gate] needs {key}"));

        let listen_tls = g
            .listen_tls
            .as_ref()
            .map(|s| self.socket(s, "listen_tls"))
            .transpose()?;
        let listen_plain = g
            .listen_plain
            .as_ref()
            .map(|s| self.socket(s, "listen_plain"))
            .transpose()?;
        if listen_tls.is_none() && listen_plain.is_none() {
            return Err(missing("listen_tls or listen_plain"));
        }
        let upstream_sp = g.upstream.as_ref().ok_or_else(|| missing("upstream"))?;
        let upstream = self.socket(upstream_sp, "upstream")?;
        let device = match &g.device {
            None => canonical(upstream.ip()),
            Some(d) => canonical(d.get_ref().parse().map_err(|_| {
                self.err(
                    d.span(),
                    format!("device {:?} is not an IP address", d.get_ref()),
                )
            })?),
        };

        let tls = match listen_tls {
            None => {
                for (k, v) in [
                    ("cert", &g.cert),
                    ("key", &g.key),
                    ("client_ca", &g.client_ca),
                ] {
                    if let Some(v) = v {
                        tracing::debug!("{k} = {:?} unused without listen_tls", v.get_ref());
                    }
                }
                None
            }
            Some(_) => {
                let need = |v: &Option<Spanned<String>>, key: &str| {
                    v.as_ref()
                        .ok_or_else(|| missing(&format!("{key} (listen_tls is set)")))
                        .and_then(|s| self.resolve(s))
                };
                let crls = match &g.crl {
                    None => Vec::new(),
                    Some(c) => {
                        let names: Vec<&toml::Value> = match c.get_ref() {
                            toml::Value::Array(a) => a.iter().collect(),
                            v => vec![v],
                        };
                        let mut v = Vec::new();
                        for n in names {
                            let Some(text) = n.as_str() else {
                                return Err(
                                    self.err(c.span(), "crl must be a path or a list of paths")
                                );
                            };
                            v.push(self.resolve(&Spanned::new(c.span(), text.to_string()))?);
                        }
                        v
                    }
                };
                Some(TlsFiles {
                    cert: need(&g.cert, "cert")?,
                    key: need(&g.key, "key")?,
                    client_ca: need(&g.client_ca, "client_ca")?,
                    crls,
                })
            }
        };
        let policy = g.policy.as_ref().map(|s| self.resolve(s)).transpose()?;
        let dir_file = |name: &str| {
            self.path
                .parent()
                .map_or_else(|| PathBuf::from(name), |d| d.join(name))
        };
        let state = match &g.state {
            Some(s) => self.resolve(s)?.path,
            None => dir_file("gate.db"),
        };
        let audit_log = match &g.audit_log {
            Some(s) => self.resolve(s)?.path,
            None => dir_file("audit.jsonl"),
        };
        let events = g
            .events
            .as_ref()
            .map(|s| self.resolve(s))
            .transpose()?
            .map(|l| l.path);
        let control = match &g.control {
            Some(s) => self.resolve(s)?.path,
            None => state.with_extension("sock"),
        };
        let deny_exception = match &g.deny_exception {
            None => DenyException::Auto,
            Some(s) => match s.get_ref() {
                IntOrStr::Str(t) if t.eq_ignore_ascii_case("auto") => DenyException::Auto,
                IntOrStr::Str(t) if t.eq_ignore_ascii_case("illegal_function") => {
                    DenyException::Code(1)
                }
                IntOrStr::Str(t) if t.eq_ignore_ascii_case("illegal_data_address") => {
                    DenyException::Code(2)
                }
                IntOrStr::Int(1) => DenyException::Code(1),
                IntOrStr::Int(2) => DenyException::Code(2),
                _ => {
                    return Err(self.err(
                        s.span(),
                        "deny_exception must be \"auto\", 1 (illegal function) or 2 (illegal data address)",
                    ))
                }
            },
        };
        let d = Limits::default();
        let ms = |v: &Option<Spanned<i64>>, key: &str, default: Duration| {
            self.int_in(v, key, 1, 3_600_000, default.as_millis() as i64)
                .map(|x| Duration::from_millis(x as u64))
        };
        let limits = Limits {
            upstream_connections: self.int_in(
                &g.upstream_connections,
                "upstream_connections",
                1,
                64,
                d.upstream_connections as i64,
            )? as usize,
            upstream_max_in_flight: self.int_in(
                &g.upstream_max_in_flight,
                "upstream_max_in_flight",
                1,
                1024,
                d.upstream_max_in_flight as i64,
            )? as usize,
            upstream_timeout: ms(
                &g.upstream_timeout_ms,
                "upstream_timeout_ms",
                d.upstream_timeout,
            )?,
            connect_timeout: ms(
                &g.connect_timeout_ms,
                "connect_timeout_ms",
                d.connect_timeout,
            )?,
            handshake_timeout: ms(
                &g.handshake_timeout_ms,
                "handshake_timeout_ms",
                d.handshake_timeout,
            )?,
            max_clients: self.int_in(
                &g.max_clients,
                "max_clients",
                1,
                100_000,
                d.max_clients as i64,
            )? as usize,
            client_max_in_flight: self.int_in(
                &g.client_max_in_flight,
                "client_max_in_flight",
                1,
                4096,
                d.client_max_in_flight as i64,
            )? as usize,
        };

        // Roles.
        let mut roles: Vec<Role> = Vec::new();
        for r in &raw.role {
            let span = r.span();
            let r = r.get_ref();
            let name = r
                .name
                .as_ref()
                .ok_or_else(|| self.err(span.clone(), "[[role]] needs a name"))?;
            if name.get_ref().trim().is_empty() {
                return Err(self.err(name.span(), "empty role name"));
            }
            if roles
                .iter()
                .any(|x| x.name.eq_ignore_ascii_case(name.get_ref()))
            {
                return Err(self.err(
                    name.span(),
                    format!("role {:?} is defined twice", name.get_ref()),
                ));
            }
            let units_sp = r.units.as_ref().ok_or_else(|| {
                self.err(
                    span.clone(),
                    format!("role {:?} needs units", name.get_ref()),
                )
            })?;
            let mut units = Vec::new();
            for u in units_sp.get_ref() {
                let v = u8::try_from(*u.get_ref()).map_err(|_| {
                    self.err(u.span(), format!("unit {} is outside 0-255", u.get_ref()))
                })?;
                units.push(v);
            }
            let fns_sp = r.functions.as_ref().ok_or_else(|| {
                self.err(
                    span.clone(),
                    format!("role {:?} needs functions", name.get_ref()),
                )
            })?;
            let mut functions = Vec::new();
            for f in fns_sp.get_ref() {
                let v = u8::try_from(*f.get_ref())
                    .ok()
                    .filter(|v| (1..=127).contains(v))
                    .ok_or_else(|| {
                        self.err(
                            f.span(),
                            format!("function code {} is outside 1-127", f.get_ref()),
                        )
                    })?;
                functions.push(v);
            }
            roles.push(Role::new(
                name.get_ref().trim(),
                &units,
                &functions,
                self.ranges(&r.read)?,
                self.ranges(&r.write)?,
            ));
        }

        let mut plain_clients = Vec::new();
        for c in &raw.plain_client {
            let span = c.span();
            let c = c.get_ref();
            let addr = c
                .address
                .as_ref()
                .ok_or_else(|| self.err(span.clone(), "[[plain_client]] needs an address"))?;
            let text = addr.get_ref().trim();
            let net = match text.parse::<IpNet>() {
                Ok(n) => n.trunc(),
                Err(_) => match text.parse::<IpAddr>() {
                    Ok(ip) => IpNet::from(canonical(ip)),
                    Err(_) => {
                        return Err(self.err(
                            addr.span(),
                            format!("{text:?} is not an IP address or CIDR"),
                        ))
                    }
                },
            };
            let role = c
                .role
                .as_ref()
                .ok_or_else(|| self.err(span.clone(), "[[plain_client]] needs a role"))?;
            let Some(r) = roles
                .iter()
                .find(|r| r.name.eq_ignore_ascii_case(role.get_ref()))
            else {
                return Err(self.err(
                    role.span(),
                    format!("role {:?} is not defined by any [[role]]", role.get_ref()),
                ));
            };
            plain_clients.push(PlainClient {
                net,
                role: r.name.clone(),
            });
        }

        let mut critical = Vec::new();
        for c in &raw.critical {
            let span = c.span();
            let c = c.get_ref();
            let unit_sp = c
                .unit
                .as_ref()
                .ok_or_else(|| self.err(span.clone(), "[[critical]] needs a unit"))?;
            let unit = u8::try_from(*unit_sp.get_ref()).map_err(|_| {
                self.err(
                    unit_sp.span(),
                    format!("unit {} is outside 0-255", unit_sp.get_ref()),
                )
            })?;
            let regs_sp = c
                .registers
                .as_ref()
                .ok_or_else(|| self.err(span.clone(), "[[critical]] needs registers"))?;
            let mut spans = Vec::new();
            let items: Vec<&toml::Value> = match regs_sp.get_ref() {
                toml::Value::Array(a) => a.iter().collect(),
                v => vec![v],
            };
            if items.is_empty() {
                return Err(self.err(regs_sp.span(), "registers is empty"));
            }
            for it in items {
                let r = match it {
                    toml::Value::Integer(v) => int_span(*v).map(|s| vec![s]),
                    toml::Value::String(s) => RangeSet::parse(s).map(|r| r.spans().to_vec()),
                    _ => return Err(self.err(
                        regs_sp.span(),
                        "registers must be an address, a range such as \"5-9\", or a list of them",
                    )),
                };
                spans.extend(r.map_err(|e| self.err(regs_sp.span(), e.to_string()))?);
            }
            let table = match &c.table {
                None => Table::HoldingRegister,
                Some(t) => match t.get_ref().as_str() {
                    "holding_register" | "holding" | "register" => Table::HoldingRegister,
                    "coil" => Table::Coil,
                    _ => {
                        return Err(
                            self.err(t.span(), "table must be \"holding_register\" or \"coil\"")
                        )
                    }
                },
            };
            let window = self.int_in(&c.approval_window_s, "approval_window_s", 1, 86_400, 300)?;
            let max_writes = self.int_in(&c.max_writes, "max_writes", 1, 1_000_000, 1)?;
            critical.push(Critical {
                unit,
                table,
                registers: RangeSet::from_spans(spans),
                window: Duration::from_secs(window as u64),
                max_writes: max_writes as u32,
            });
        }

        Ok(Config {
            path: self.path.to_path_buf(),
            listen_tls,
            listen_plain,
            upstream,
            device,
            tls,
            policy,
            state,
            audit_log,
            events,
            control,
            deny_exception,
            limits,
            plain_clients,
            roles,
            critical,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const CONTRACT: &str = r#"[gate]
listen_tls = "127.0.0.1:8802"
listen_plain = "127.0.0.1:8502"     # optional
upstream = "127.0.0.1:5020"         # the legacy PLC
cert = "gate.pem"
key = "gate.key"
client_ca = "ca.pem"
crl = "ca.crl"                      # optional
policy = "sluice.toml"              # its [[envelope]] entries apply
state = "gate.db"                   # approvers' TOTP secrets, approvals, audit
audit_log = "audit.jsonl"

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
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(text, Path::new("/etc/sluice/gate.toml"))
    }

    #[test]
    fn the_contract_example_parses() {
        let c = parse(CONTRACT).unwrap();
        assert_eq!(c.listen_tls, Some("127.0.0.1:8802".parse().unwrap()));
        assert_eq!(c.listen_plain, Some("127.0.0.1:8502".parse().unwrap()));
        assert_eq!(c.upstream, "127.0.0.1:5020".parse().unwrap());
        assert_eq!(c.device, "127.0.0.1".parse::<IpAddr>().unwrap());
        let tls = c.tls.as_ref().unwrap();
        assert_eq!(tls.cert.path, Path::new("/etc/sluice/gate.pem"));
        assert_eq!(tls.cert.place, Place { line: 5, column: 8 });
        assert_eq!(tls.crls.len(), 1);
        assert_eq!(c.state, Path::new("/etc/sluice/gate.db"));
        assert_eq!(c.control, Path::new("/etc/sluice/gate.sock"));
        assert_eq!(c.audit_log, Path::new("/etc/sluice/audit.jsonl"));
        assert_eq!(c.roles.len(), 2);
        let op = c.role("Operator").unwrap();
        assert!(op.allows_unit(1) && !op.allows_unit(2));
        assert!(op.allows_function(23) && !op.allows_function(8));
        assert!(op.write.covers(0, 20) && !op.write.covers(0, 21));
        let viewer = c.role("viewer").unwrap();
        assert!(viewer.write.is_empty());
        assert_eq!(c.plain_role("127.0.0.1".parse().unwrap()), Some("viewer"));
        assert_eq!(
            c.plain_role("::ffff:127.0.0.1".parse().unwrap()),
            Some("viewer")
        );
        assert_eq!(c.plain_role("127.0.0.2".parse().unwrap()), None);
        assert_eq!(c.critical.len(), 1);
        assert_eq!(c.critical[0].registers.to_string(), "5");
        assert_eq!(c.critical[0].max_writes, 1);
        assert_eq!(c.critical[0].window, Duration::from_secs(300));
        assert_eq!(c.deny_exception, DenyException::Auto);
    }

    fn err_of(text: &str) -> String {
        parse(text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_and_column() {
        let bad = CONTRACT.replace(
            "units = [1]\nfunctions = [1, 2, 3, 4]",
            "units = [1]\nfunctions = [1, 2, 300, 4]",
        );
        assert_eq!(
            err_of(&bad),
            "/etc/sluice/gate.toml:27:20: function code 300 is outside 1-127"
        );
        let bad = CONTRACT.replace("role = \"viewer\"", "role = \"viewr\"");
        assert_eq!(
            err_of(&bad),
            "/etc/sluice/gate.toml:15:8: role \"viewr\" is not defined by any [[role]]"
        );
        let bad = CONTRACT.replace("write = [\"0-19\"]", "write = [\"19-0\"]");
        assert_eq!(
            err_of(&bad),
            "/etc/sluice/gate.toml:22:10: address range 19-0 runs backwards"
        );
        let bad = CONTRACT.replace("upstream = \"127.0.0.1:5020\"", "upstream = \"plc:502\"");
        assert!(err_of(&bad).starts_with("/etc/sluice/gate.toml:4:12: upstream \"plc:502\""));
        let bad = CONTRACT.replace("max_writes = 1", "max_writes = 0");
        assert_eq!(
            err_of(&bad),
            "/etc/sluice/gate.toml:34:14: max_writes = 0 is outside 1..=1000000"
        );
        // TOML syntax and unknown keys carry toml's own spans.
        let bad = CONTRACT.replace(
            "units = [1]\nfunctions = [1, 2, 3, 4, 5",
            "units = [1\nfunctions = [1, 2, 3, 4, 5",
        );
        assert_eq!(
            err_of(&bad),
            "/etc/sluice/gate.toml:20:1: missing comma between array elements, expected `,`"
        );
        let bad = CONTRACT.replace("audit_log =", "audit_logg =");
        let e = err_of(&bad);
        assert!(
            e.starts_with("/etc/sluice/gate.toml:11:1: unknown field `audit_logg`"),
            "{e}"
        );
        let bad = CONTRACT.replace(
            "units = [1]\nfunctions = [1, 2, 3, 4]",
            "units = [1]\nfunctions = \"all\"",
        );
        assert!(
            err_of(&bad).starts_with("/etc/sluice/gate.toml:27:13:"),
            "{}",
            err_of(&bad)
        );
        let bad = CONTRACT.replace("name = \"viewer\"", "name = \"operator\"");
        assert_eq!(
            err_of(&bad),
            "/etc/sluice/gate.toml:25:8: role \"operator\" is defined twice"
        );
        assert_eq!(
            err_of(""),
            "/etc/sluice/gate.toml:1:1: missing [gate] table"
        );
        let bad = CONTRACT.replace("cert = \"gate.pem\"\n", "");
        assert!(err_of(&bad).contains("[gate] needs cert"));
    }

    #[test]
    fn options_beyond_the_contract() {
        let text = CONTRACT
            .replace(
                "audit_log = \"audit.jsonl\"",
                "audit_log = \"audit.jsonl\"\ndevice = \"10.10.1.10\"\ndeny_exception = 2\ncontrol = \"/run/gate.sock\"\nupstream_connections = 4\ncrl = [\"a.crl\", \"b.crl\"]",
            )
            .replace("crl = \"ca.crl\"                      # optional\n", "")
            .replace("registers = \"5\"", "registers = [\"5-7\", 9]\ntable = \"coil\"");
        let c = parse(&text).unwrap();
        assert_eq!(c.device, "10.10.1.10".parse::<IpAddr>().unwrap());
        assert_eq!(c.deny_exception, DenyException::Code(2));
        assert_eq!(c.control, Path::new("/run/gate.sock"));
        assert_eq!(c.limits.upstream_connections, 4);
        assert_eq!(c.tls.unwrap().crls.len(), 2);
        assert_eq!(c.critical[0].registers.to_string(), "5-7,9");
        assert_eq!(c.critical[0].table, Table::Coil);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_text_never_panics(s in "\\PC{0,300}") {
            let _ = parse(&s);
        }

        #[test]
        fn mutated_contract_never_panics(pos in 0usize..900, ch in proptest::char::any()) {
            let mut t: Vec<char> = CONTRACT.chars().collect();
            if let Some(c) = t.get_mut(pos) { *c = ch; }
            let text: String = t.into_iter().collect();
            let _ = parse(&text);
        }
    }
}
