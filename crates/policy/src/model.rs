//! The resolved policy: zones, conduits, envelopes, windows and exceptions.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

use ipnet::IpNet;
use serde::{Serialize, Serializer};

use crate::time::WeeklySlot;

/// A Purdue level, 0 to 5 in steps of 0.5 (3.5 is the DMZ). Stored in half levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Level(u8);

impl Level {
    /// The level of the implicit `external` zone.
    pub const EXTERNAL: Level = Level(10);
    /// The DMZ, 3.5.
    pub const DMZ: Level = Level(7);
    /// Level 2, the highest of the control levels 0-2.
    pub const L2: Level = Level(4);
    /// Level 4, the lowest enterprise level.
    pub const L4: Level = Level(8);

    /// A level from its number, if it is in 0..=5 and a multiple of 0.5.
    pub fn from_f64(v: f64) -> Option<Level> {
        if !(0.0..=5.0).contains(&v) {
            return None;
        }
        let halves = v * 2.0;
        if halves.fract() != 0.0 {
            return None;
        }
        // In 0..=10 and integral: the cast is exact.
        Some(Level(halves as u8))
    }

    /// A whole level (0..=5).
    pub fn whole(v: u8) -> Option<Level> {
        (v <= 5).then_some(Level(v * 2))
    }

    /// The level as a number (1.0, 3.5, ...).
    pub fn as_f64(self) -> f64 {
        f64::from(self.0) / 2.0
    }

    /// The level in half steps (level 3.5 is 7).
    pub fn halves(self) -> u8 {
        self.0
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0.is_multiple_of(2) {
            write!(f, "{}", self.0 / 2)
        } else {
            write!(f, "{}.5", self.0 / 2)
        }
    }
}

impl Serialize for Level {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.0.is_multiple_of(2) {
            s.serialize_u8(self.0 / 2)
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

/// A zone of the site.
#[derive(Debug, Clone, Serialize)]
pub struct Zone {
    /// Unique name.
    pub name: Arc<str>,
    /// Purdue level.
    pub level: Level,
    /// The networks of the zone (host bits cleared).
    pub cidrs: Vec<IpNet>,
    /// IEC 62443 target security level, 1-4.
    pub security_level_target: Option<u8>,
    /// Free text.
    pub description: Option<String>,
}

/// A zone as [`crate::Policy::zone_of`] returns it: a defined zone or the implicit `external`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ZoneRef<'a> {
    /// Zone name (`external` for addresses in no zone).
    pub name: &'a str,
    /// Purdue level (5 for `external`).
    pub level: Level,
    /// Index into [`crate::Policy::zones`], `None` for `external`.
    pub index: Option<usize>,
}

impl ZoneRef<'_> {
    /// Whether this is the implicit `external` zone.
    pub fn is_external(&self) -> bool {
        self.index.is_none()
    }
}

/// The name of the implicit zone of addresses that are in no zone.
pub const EXTERNAL: &str = "external";

/// What an ICS conduit lets cross.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Permission {
    /// Reads only (`access = "read"`).
    Read,
    /// Reads and writes (`access = "read-write"`).
    ReadWrite,
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Permission::Read => "read",
            Permission::ReadWrite => "read-write",
        })
    }
}

/// An inclusive range of register (or point, object) addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub struct RegisterRange {
    /// First address.
    pub first: u16,
    /// Last address (inclusive).
    pub last: u16,
}

impl RegisterRange {
    /// One register.
    pub fn single(r: u16) -> Self {
        RegisterRange { first: r, last: r }
    }

    /// `count` registers from `start` (Modbus address + quantity); `None` when `count` is 0.
    /// A range running past 65535 is cut there.
    pub fn from_start_count(start: u16, count: u16) -> Option<Self> {
        if count == 0 {
            return None;
        }
        let last = u32::from(start) + u32::from(count) - 1;
        Some(RegisterRange {
            first: start,
            last: u16::try_from(last).unwrap_or(u16::MAX),
        })
    }

    /// Whether `r` is in the range.
    pub fn contains(&self, r: u16) -> bool {
        (self.first..=self.last).contains(&r)
    }

    /// Parses `5`, `"5"` or `"0-19"`.
    pub fn parse(text: &str) -> Option<Self> {
        let t = text.trim();
        let (a, b) = match t.split_once('-') {
            Some((a, b)) => (a.trim(), b.trim()),
            None => (t, t),
        };
        let first: u16 = a.parse().ok()?;
        let last: u16 = b.parse().ok()?;
        (first <= last).then_some(RegisterRange { first, last })
    }
}

impl fmt::Display for RegisterRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// Who may write which registers through a conduit.
#[derive(Debug, Clone, Serialize)]
pub struct WriterRule {
    /// The clients allowed to write.
    pub clients: Vec<IpNet>,
    /// The registers they may write (`None`: all).
    pub registers: Option<RegisterRange>,
    /// The unit (slave) id the rule is limited to (`None`: all).
    pub unit: Option<u8>,
}

/// A zone of a conduit, resolved: a defined zone index or the implicit external zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ZoneKey {
    Defined(usize),
    External,
}

/// A conduit: what may cross from one zone to others.
#[derive(Debug, Clone, Serialize)]
pub struct Conduit {
    /// Unique name.
    pub name: Arc<str>,
    /// The client side.
    pub from: Arc<str>,
    /// The server side(s).
    pub to: Vec<Arc<str>>,
    /// Allowed protocols, lower case.
    pub protocols: Vec<Box<str>>,
    /// ICS access; `read-write` when not given and no protocol is industrial, `read` when
    /// not given and one is (with a warning).
    pub access: Permission,
    /// The only clients allowed (`None`: any in the `from` zone).
    pub clients: Option<Vec<IpNet>>,
    /// The only servers allowed (`None`: any in the `to` zones).
    pub servers: Option<Vec<IpNet>>,
    /// Traffic must come through a jump host or a gate.
    pub requires_mfa: bool,
    /// Trusted jump hosts that enforce MFA (either end of the flow may be one).
    pub jump_hosts: Vec<IpNet>,
    /// Writers per register range (empty: any allowed client may write when access allows).
    pub writers: Vec<WriterRule>,
    /// Free text.
    pub description: Option<String>,
    #[serde(skip)]
    pub(crate) from_key: Option<ZoneKey>,
    #[serde(skip)]
    pub(crate) to_keys: Vec<ZoneKey>,
}

impl Conduit {
    /// Whether the conduit lists `protocol` (ASCII case-insensitive).
    pub fn allows_protocol(&self, protocol: &str) -> bool {
        self.protocols
            .iter()
            .any(|p| p.eq_ignore_ascii_case(protocol))
    }
}

/// Bounds on the values written to one register (or a range) of one device.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope {
    /// Optional name.
    pub name: Option<String>,
    /// The device (server) address.
    pub device: IpAddr,
    /// The unit id (`None`: any).
    pub unit: Option<u8>,
    /// The register(s), protocol addresses (0-based).
    pub registers: RegisterRange,
    /// Smallest allowed value.
    pub min: f64,
    /// Largest allowed value.
    pub max: f64,
    /// Largest allowed change from the previous value.
    pub max_step: Option<f64>,
    /// Free text.
    pub description: Option<String>,
}

/// How a written value breaks an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BreachKind {
    /// Below `min`.
    BelowMin,
    /// Above `max`.
    AboveMax,
    /// Changed by more than `max_step` from the previous value.
    StepTooLarge,
    /// NaN: no bound can hold.
    NotANumber,
}

/// A value written outside an envelope.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct EnvelopeBreach {
    /// The envelope's minimum.
    pub min: f64,
    /// The envelope's maximum.
    pub max: f64,
    /// The envelope's largest step.
    pub max_step: Option<f64>,
    /// The previous value, if known.
    pub old: Option<f64>,
    /// The written value.
    pub new: f64,
    /// Which bound broke (range before step).
    pub kind: BreachKind,
}

impl Envelope {
    /// Checks a write of `new` over `old` (the last known value, if any). Range bounds are
    /// checked first; the step only when the value is within range and `old` is known.
    pub fn check(&self, old: Option<f64>, new: f64) -> Option<EnvelopeBreach> {
        let kind = if new.is_nan() {
            Some(BreachKind::NotANumber)
        } else if new < self.min {
            Some(BreachKind::BelowMin)
        } else if new > self.max {
            Some(BreachKind::AboveMax)
        } else {
            match (old, self.max_step) {
                (Some(o), Some(step)) if !o.is_nan() && (new - o).abs() > step => {
                    Some(BreachKind::StepTooLarge)
                }
                _ => None,
            }
        };
        kind.map(|kind| EnvelopeBreach {
            min: self.min,
            max: self.max,
            max_step: self.max_step,
            old,
            new,
            kind,
        })
    }
}

/// What a maintenance window covers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum WindowScope {
    /// The whole site.
    Site,
    /// One zone (by name).
    Zone(Arc<str>),
    /// One device.
    Device(IpAddr),
}

/// When a maintenance window is open.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    /// From `start` (inclusive) to `end` (exclusive), nanoseconds since the epoch.
    Once {
        /// Opens.
        start: i64,
        /// Closes.
        end: i64,
    },
    /// Every week in these slots (site local time).
    Weekly(Vec<WeeklySlot>),
}

/// A `[[maintenance_window]]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MaintenanceWindow {
    /// Unique name.
    pub name: Arc<str>,
    /// Zone, device or site.
    pub scope: WindowScope,
    /// When.
    pub schedule: Schedule,
    /// Free text.
    pub description: Option<String>,
}

/// A `[[exception]]`: a time-limited waiver of violations matching `what`.
#[derive(Debug, Clone, Serialize)]
pub struct Exception {
    /// Optional unique name.
    pub name: Option<Arc<str>>,
    /// Why (reported on the allowed verdict).
    pub reason: Arc<str>,
    /// Expiry (exclusive), nanoseconds since the epoch; a date means the end of that day (UTC).
    pub expires: Option<i64>,
    /// Client zone (`None`: any).
    pub from: Option<Arc<str>>,
    /// Server zones (`None`: any).
    pub to: Option<Vec<Arc<str>>>,
    /// Protocols (`None`: any).
    pub protocols: Option<Vec<Box<str>>>,
    /// Clients (`None`: any).
    pub clients: Option<Vec<IpNet>>,
    /// Servers (`None`: any).
    pub servers: Option<Vec<IpNet>>,
    /// `read`: waives only reads; `read-write` or `None`: reads and writes.
    pub access: Option<Permission>,
    /// The violation kinds waived (`None`: all).
    pub violations: Option<Vec<crate::ViolationKind>>,
    #[serde(skip)]
    pub(crate) from_key: Option<ZoneKey>,
    #[serde(skip)]
    pub(crate) to_keys: Option<Vec<ZoneKey>>,
    /// False when a zone it names is unknown: it then never applies.
    #[serde(skip)]
    pub(crate) active: bool,
}

impl Exception {
    /// Whether the exception still applies at `ts`.
    pub fn is_expired_at(&self, ts: i64) -> bool {
        self.expires.is_some_and(|e| ts >= e)
    }
}

/// Whether any net in `nets` contains `ip`.
pub(crate) fn nets_contain(nets: &[IpNet], ip: IpAddr) -> bool {
    nets.iter().any(|n| n.contains(&ip))
}
