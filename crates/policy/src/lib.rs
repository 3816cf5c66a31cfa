#![forbid(unsafe_code)]
#![warn(missing_docs)]
//! The Sluice site policy: zones (Purdue levels, CIDRs), conduits (what may cross between
//! zones), safety envelopes (bounds on written values), maintenance windows and time-limited
//! exceptions, read from the `sluice.toml` format of DESIGN.md, validated with file:line:column
//! diagnostics, and used to judge every flow and ICS operation the sensor sees.
//!
//! Decisions worth knowing:
//! - An address in no zone belongs to the implicit zone `external` (level 5); zone lookup is
//!   longest-prefix match, but overlapping CIDRs of two zones are still an error in `check`.
//! - Conduits are directional: `from` holds the clients. Traffic inside one zone is allowed
//!   unless a conduit from that zone to itself lists the protocol; then it must satisfy one.
//! - `direct_enterprise_to_control` (level >= 4 or external reaching level 0-2) is reported,
//!   alongside the other violations, whenever no conduit explicitly allows the traffic; a
//!   conduit that allows it is accepted but `check` warns about it (`bypasses_dmz`).
//! - `requires_mfa` is met when either end of the flow is one of the conduit's `jump_hosts`
//!   or one of the site's `gates` (`[site] gates = [...]`, the `sluice gate` addresses).
//! - An unexpired `[[exception]]` matching the flow waives its violations (all kinds, or
//!   those listed in `violations`); the verdict is then allowed with the exception's reason.
//! - Timestamps are nanoseconds since the Unix epoch (UTC), as in the engine.

mod error;
mod judge;
mod load;
mod lpm;
mod matrix;
mod model;
/// The example policy of `DESIGN.md` ("Policy file", the Riverside Water Treatment
/// plant), verbatim: the contract every policy change must keep loading.
pub const EXAMPLE: &str = include_str!("example.toml");

pub mod protocols;
mod raw;
mod suggest;
mod time;

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ipnet::IpNet;

pub use error::{Diagnostic, DiagnosticKind, Location, PolicyError, Severity};
pub use judge::{Access, FlowFacts, IcsFacts, Verdict, Violation, ViolationKind};
pub use matrix::{Matrix, MatrixEntry, MatrixZone};
pub use model::{
    BreachKind, Conduit, Envelope, EnvelopeBreach, Exception, Level, MaintenanceWindow, Permission,
    RegisterRange, Schedule, WindowScope, WriterRule, Zone, ZoneRef, EXTERNAL,
};
pub use suggest::Observed;
pub use time::{format_rfc3339, WeeklySlot};

use lpm::{canonical, ZoneTable};
use model::ZoneKey;

/// A loaded site policy. Cheap to share (`Send + Sync`); judging allocates only when it
/// reports a violation.
#[derive(Debug, Clone)]
pub struct Policy {
    origin: PathBuf,
    site_name: Option<String>,
    gates: Vec<IpNet>,
    utc_offset_min: i64,
    zones: Vec<Zone>,
    conduits: Vec<Conduit>,
    envelopes: Vec<Envelope>,
    windows: Vec<MaintenanceWindow>,
    exceptions: Vec<Exception>,
    exception_locs: Vec<Location>,
    table: ZoneTable,
    /// Conduit indices per (from, to) zone pair; index `from * (n + 1) + to`, external = n.
    pairs: Vec<Vec<u32>>,
    external: Arc<str>,
    diagnostics: Vec<Diagnostic>,
}

pub(crate) struct Parts {
    origin: PathBuf,
    site_name: Option<String>,
    gates: Vec<IpNet>,
    utc_offset_min: i64,
    zones: Vec<Zone>,
    conduits: Vec<Conduit>,
    envelopes: Vec<Envelope>,
    windows: Vec<MaintenanceWindow>,
    exceptions: Vec<Exception>,
    exception_locs: Vec<Location>,
    table: ZoneTable,
    diagnostics: Vec<Diagnostic>,
}

impl Policy {
    fn assemble(p: Parts) -> Policy {
        let n = p.zones.len() + 1;
        let mut pairs = vec![Vec::new(); n.saturating_mul(n)];
        for (ci, c) in p.conduits.iter().enumerate() {
            let (Some(from), Ok(ci)) = (c.from_key, u32::try_from(ci)) else {
                continue;
            };
            for to in &c.to_keys {
                let idx = pair_index(n, from, *to);
                if let Some(v) = pairs.get_mut(idx) {
                    v.push(ci);
                }
            }
        }
        Policy {
            origin: p.origin,
            site_name: p.site_name,
            gates: p.gates,
            utc_offset_min: p.utc_offset_min,
            zones: p.zones,
            conduits: p.conduits,
            envelopes: p.envelopes,
            windows: p.windows,
            exceptions: p.exceptions,
            exception_locs: p.exception_locs,
            table: p.table,
            pairs,
            external: Arc::from(EXTERNAL),
            diagnostics: p.diagnostics,
        }
    }

    /// Parses and validates a policy; fails on TOML/type errors and on any error that
    /// [`Policy::check`] would report (warnings are accepted). `origin` names the file in
    /// locations.
    #[allow(clippy::should_implement_trait)]
    pub fn from_str(text: &str, origin: &Path) -> Result<Policy, PolicyError> {
        let p = Policy::parse(text, origin)?;
        let diagnostics = p.check();
        if diagnostics.iter().any(|d| d.severity == Severity::Error) {
            return Err(PolicyError::Invalid { diagnostics });
        }
        Ok(p)
    }

    /// Reads and validates a policy file (see [`Policy::from_str`]).
    pub fn load(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = read(path)?;
        Policy::from_str(&text, path)
    }

    /// Parses a policy leniently: fails only when the text is not TOML of the right shape;
    /// semantic errors are kept for [`Policy::check`] and the offending parts are left out
    /// (a conduit naming an unknown zone never matches). For `sluice policy check`, which
    /// wants every diagnostic at once.
    pub fn parse(text: &str, origin: &Path) -> Result<Policy, PolicyError> {
        load::build(text, origin)
    }

    /// Reads a policy file leniently (see [`Policy::parse`]).
    pub fn parse_file(path: impl AsRef<Path>) -> Result<Policy, PolicyError> {
        let path = path.as_ref();
        let text = read(path)?;
        Policy::parse(&text, path)
    }

    /// Every diagnostic, in file order, with expired exceptions judged at the current time.
    pub fn check(&self) -> Vec<Diagnostic> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .ok()
            .and_then(|d| i64::try_from(d.as_nanos()).ok())
            .unwrap_or(i64::MAX);
        self.check_at(now)
    }

    /// Every diagnostic, with expired exceptions judged at `now` (ns since the epoch).
    pub fn check_at(&self, now: i64) -> Vec<Diagnostic> {
        let mut out = self.diagnostics.clone();
        for (x, loc) in self.exceptions.iter().zip(&self.exception_locs) {
            if let Some(exp) = x.expires.filter(|_| x.is_expired_at(now)) {
                let label = match &x.name {
                    Some(n) => format!("exception \"{n}\""),
                    None => format!("exception \"{}\"", x.reason),
                };
                out.push(Diagnostic {
                    severity: Severity::Warning,
                    kind: DiagnosticKind::ExpiredException,
                    location: loc.clone(),
                    message: format!(
                        "{label} expired at {}: it no longer applies",
                        format_rfc3339(exp)
                    ),
                });
            }
        }
        out.sort_by_key(|d| (d.location.line, d.location.column));
        out
    }

    /// The file the policy came from.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// `[site] name`.
    pub fn site_name(&self) -> Option<&str> {
        self.site_name.as_deref()
    }

    /// `[site] gates`: addresses of `sluice gate` instances, which enforce MFA.
    pub fn gates(&self) -> &[IpNet] {
        &self.gates
    }

    /// The defined zones, in file order.
    pub fn zones(&self) -> &[Zone] {
        &self.zones
    }

    /// A zone by name (`None` for `external` and unknown names).
    pub fn zone(&self, name: &str) -> Option<&Zone> {
        self.zones.iter().find(|z| &*z.name == name)
    }

    /// The conduits, in file order.
    pub fn conduits(&self) -> &[Conduit] {
        &self.conduits
    }

    /// The envelopes, in file order.
    pub fn envelopes(&self) -> &[Envelope] {
        &self.envelopes
    }

    /// The maintenance windows, in file order.
    pub fn maintenance_windows(&self) -> &[MaintenanceWindow] {
        &self.windows
    }

    /// The exceptions, in file order.
    pub fn exceptions(&self) -> &[Exception] {
        &self.exceptions
    }

    fn key_of(&self, ip: IpAddr) -> ZoneKey {
        match self.table.lookup(ip) {
            Some(i) => ZoneKey::Defined(i),
            None => ZoneKey::External,
        }
    }

    fn zone_ref(&self, k: ZoneKey) -> ZoneRef<'_> {
        match k {
            ZoneKey::Defined(i) => match self.zones.get(i) {
                Some(z) => ZoneRef {
                    name: &z.name,
                    level: z.level,
                    index: Some(i),
                },
                None => self.external_ref(),
            },
            ZoneKey::External => self.external_ref(),
        }
    }

    fn zone_name(&self, k: ZoneKey) -> Arc<str> {
        match k {
            ZoneKey::Defined(i) => self
                .zones
                .get(i)
                .map(|z| z.name.clone())
                .unwrap_or_else(|| self.external.clone()),
            ZoneKey::External => self.external.clone(),
        }
    }

    fn external_ref(&self) -> ZoneRef<'_> {
        ZoneRef {
            name: EXTERNAL,
            level: Level::EXTERNAL,
            index: None,
        }
    }

    /// The zone of an address: longest-prefix match over the zones' CIDRs, or the implicit
    /// `external` zone (level 5). No allocation.
    pub fn zone_of(&self, ip: IpAddr) -> ZoneRef<'_> {
        self.zone_ref(self.key_of(ip))
    }

    fn candidates(&self, from: ZoneKey, to: ZoneKey) -> &[u32] {
        let n = self.zones.len() + 1;
        self.pairs
            .get(pair_index(n, from, to))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// The envelope bounding writes to `register` of unit `unit` on `device` (the first one
    /// in file order when several match).
    pub fn envelope(&self, device: IpAddr, unit: u8, register: u16) -> Option<&Envelope> {
        let device = canonical(device);
        self.envelopes.iter().find(|e| {
            e.device == device && e.unit.is_none_or(|u| u == unit) && e.registers.contains(register)
        })
    }

    /// The maintenance window open for `device` at `ts`, if any (site-wide windows, windows
    /// of the device's zone, and windows of the device itself).
    pub fn maintenance_window_at(&self, device: IpAddr, ts: i64) -> Option<&MaintenanceWindow> {
        let device = canonical(device);
        self.windows.iter().find(|w| {
            let applies = match &w.scope {
                WindowScope::Site => true,
                WindowScope::Zone(z) => self.zone_of(device).name == &**z,
                WindowScope::Device(d) => *d == device,
            };
            applies
                && match &w.schedule {
                    Schedule::Once { start, end } => (*start..*end).contains(&ts),
                    Schedule::Weekly(slots) => {
                        slots.iter().any(|s| s.contains(ts, self.utc_offset_min))
                    }
                }
        })
    }
}

fn pair_index(n: usize, from: ZoneKey, to: ZoneKey) -> usize {
    let k = |z: ZoneKey| match z {
        ZoneKey::Defined(i) => i,
        ZoneKey::External => n.saturating_sub(1),
    };
    k(from).saturating_mul(n).saturating_add(k(to))
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    })
}
